//! An HTTPS server (on 127.0.0.1 unless told otherwise) that serves the certificates bound in
//! a key store, picking up changes committed while it runs (by this process or another one,
//! such as a renewal).
//!
//! ```text
//! cargo run --features rustls --example tls_server -- PORT STORE [PASSPHRASE] [--bind IP]
//! cargo run --features acme --example tls_server -- PORT STORE --acme DIRECTORY --domain NAME [--acme-root FILE]
//! ```
//!
//! `PORT` may be 0 for any free port. The passphrase is read from the `KEYMANAGER_PASSPHRASE`
//! environment variable when it is not given: prefer that, since a command-line argument is
//! visible to every user of the machine (`ps`, `/proc/PID/cmdline`).
//!
//! It listens on 127.0.0.1, or the address given with `--bind` (`0.0.0.0` for every IPv4
//! address). It prints `listening on https://ADDRESS:PORT` once it accepts connections, then
//! serves until killed, one thread per connection. Each answer says which entry served it.
//!
//! With `--acme` (feature `acme`), it gets its own certificate for `--domain` from the ACME CA
//! at `DIRECTORY` by tls-alpn-01, on its own listening port, while it serves: its
//! `StoreResolver` answers the CA's `acme-tls/1` handshakes from the store. It creates the
//! store when missing, registers an account (agreeing to the CA's terms on your behalf),
//! issues into the entry named after the domain, binds it to `DOMAIN:PORT` (SNI), prints
//! `serving the ACME certificate for DOMAIN ...`, and renews it in the background when due.
//! A store that already holds the entry, installed, is served as it is. `--acme-root FILE` is
//! the root of the ACME API's own TLS certificate, for a private or test CA (pebble); public
//! CAs need none. The CA must reach this server on port 443 for the domain: a public CA needs
//! `--bind 0.0.0.0` (or the public address) and `PORT` 443 reachable from the internet; a CA on
//! the same machine (pebble) connects to 127.0.0.1 on the port it is configured with.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use keymanager::KeyStore;
use keymanager::tls::StoreResolver;
use rustls::server::Acceptor;
use rustls::{ServerConfig, StreamOwned};
use zeroize::Zeroizing;

const USAGE: &str = "usage: tls_server PORT STORE [PASSPHRASE] [--bind IP] [--acme DIRECTORY --domain NAME [--acme-root FILE]]\n\
    (without PASSPHRASE, the passphrase is read from KEYMANAGER_PASSPHRASE;\n\
    an argument is visible to other users in `ps`)";

fn main() {
    if let Err(e) = run() {
        eprintln!("tls_server: {e}");
        std::process::exit(1);
    }
}

/// `--acme DIRECTORY --domain NAME [--acme-root FILE]`.
#[cfg_attr(not(feature = "acme"), allow(dead_code))] // refused without the feature
struct AcmeArgs {
    directory: String,
    domain: String,
    root: Option<String>,
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    // The server chooses its crypto provider; the store's resolver signs with it.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Zeroized on drop, as they may hold the passphrase.
    let args = Zeroizing::new(std::env::args().skip(1).collect::<Vec<String>>());
    let (positional, bind, acme) = split_flags(&args)?;
    let (port, path, passphrase) = match positional.as_slice() {
        [port, path] => (
            port,
            path,
            std::env::var("KEYMANAGER_PASSPHRASE")
                .ok()
                .map(Zeroizing::new),
        ),
        [port, path, pass] => (port, path, Some(Zeroizing::new((*pass).clone()))),
        _ => return Err(USAGE.into()),
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number (0 to 65535)\n{USAGE}"))?;
    let passphrase = passphrase.ok_or_else(|| format!("no passphrase given\n{USAGE}"))?;
    // With --acme the store may be new: the certificate comes from the CA.
    let exists = std::path::Path::new(path).exists();
    if acme.is_none() && !exists {
        return Err(format!("no key store at `{path}`").into());
    }
    let store = if exists {
        KeyStore::open(path, &passphrase)?
    } else {
        KeyStore::create(path, &passphrase)?
    };
    drop(passphrase); // zeroized

    let listener = TcpListener::bind((bind, port))?;
    let local = listener.local_addr()?;
    let resolver = StoreResolver::new(&store, local)?;
    println!(
        "serving {} binding(s) from {path}",
        resolver.snapshot().len()
    );
    #[allow(unused_mut)] // changed with feature `acme`
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&resolver) as _);
    #[cfg(feature = "acme")]
    if acme.is_some() {
        // The CA's tls-alpn-01 handshakes offer only `acme-tls/1`.
        config.alpn_protocols = vec![b"http/1.1".to_vec(), acme::ACME_TLS_ALPN.to_vec()];
    }
    let config = Arc::new(config);
    println!("listening on https://{local}");

    let server = {
        let resolver = Arc::clone(&resolver);
        std::thread::spawn(move || serve(listener, config, resolver))
    };
    // Without the feature, `split_flags` refused --acme.
    #[cfg(feature = "acme")]
    if let Some(acme) = acme {
        acme::get_and_serve(&store, &resolver, local, acme)?;
    }
    server.join().map_err(|_| "the server thread panicked")?;
    Ok(())
}

/// Splits `--bind IP` and `--acme DIRECTORY --domain NAME [--acme-root FILE]` from the
/// positional arguments.
fn split_flags(args: &[String]) -> Result<(Vec<&String>, IpAddr, Option<AcmeArgs>), String> {
    let mut positional = Vec::new();
    let (mut directory, mut domain, mut root, mut bind) = (None, None, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.as_str() {
            "--bind" => &mut bind,
            "--acme" => &mut directory,
            "--domain" => &mut domain,
            "--acme-root" => &mut root,
            _ => {
                positional.push(arg);
                continue;
            }
        };
        let value = it.next().ok_or(format!("{arg} needs a value\n{USAGE}"))?;
        *slot = Some(value.clone());
    }
    let acme = match (directory, domain) {
        (Some(directory), Some(domain)) => Some(AcmeArgs {
            directory,
            domain,
            root,
        }),
        (None, None) if root.is_none() => None,
        _ => return Err(format!("--acme and --domain go together\n{USAGE}")),
    };
    if acme.is_some() && cfg!(not(feature = "acme")) {
        return Err(
            "--acme needs the `acme` feature: cargo run --features acme --example tls_server"
                .into(),
        );
    }
    let bind = match bind {
        Some(ip) => ip
            .parse()
            .map_err(|_| format!("`{ip}` is not an IP address\n{USAGE}"))?,
        None => IpAddr::from([127, 0, 0, 1]),
    };
    Ok((positional, bind, acme))
}

/// Accepts connections until the process ends, one thread per connection.
fn serve(listener: TcpListener, config: Arc<ServerConfig>, resolver: Arc<StoreResolver>) {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let config = Arc::clone(&config);
        let resolver = Arc::clone(&resolver);
        std::thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            if let Err(e) = answer(stream, config, &resolver) {
                eprintln!("{peer:?}: {e}");
            }
        });
    }
}

/// One connection: the handshake, read the request head, a one-line answer.
fn answer(
    mut stream: TcpStream,
    config: Arc<ServerConfig>,
    resolver: &StoreResolver,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    // The ClientHello first, to know which entry the resolver serves this client (rustls does
    // not say which certificate it sent): the same call as the handshake's, on the same
    // snapshot unless a refresh comes in between.
    let mut acceptor = Acceptor::default();
    let accepted = loop {
        if acceptor.read_tls(&mut stream)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        match acceptor.accept() {
            Ok(Some(accepted)) => break accepted,
            Ok(None) => {}
            Err((e, mut alert)) => {
                let _ = alert.write_all(&mut stream);
                return Err(std::io::Error::other(e));
            }
        }
    };
    let hello = accepted.client_hello();
    let served = resolver.identity_for(hello.server_name(), hello.signature_schemes());
    let entry = served.map(|id| id.name().to_owned()).unwrap_or_default();
    let conn = match accepted.into_connection(config) {
        Ok(conn) => conn,
        Err((e, mut alert)) => {
            let _ = alert.write_all(&mut stream);
            return Err(std::io::Error::other(e));
        }
    };
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    // A CA's tls-alpn-01 validation: the handshake was all of it (RFC 8737 §3).
    #[cfg(feature = "acme")]
    if tls.conn.alpn_protocol() == Some(acme::ACME_TLS_ALPN) {
        tls.conn.send_close_notify();
        return tls.flush();
    }
    // The request head, up to the blank line (at most 8 KiB).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if tls.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let sni = tls.conn.server_name().map(str::to_owned);
    let body = format!(
        "hello from keymanager: entry `{entry}` for {}\n",
        sni.as_deref().unwrap_or("(no SNI)")
    );
    write!(
        tls,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    tls.conn.send_close_notify();
    tls.flush()?;
    Ok(())
}

/// `--acme`: the certificate from the CA by tls-alpn-01, bound and served, renewed when due.
#[cfg(feature = "acme")]
mod acme {
    use std::net::SocketAddr;
    use std::time::Duration;

    use keymanager::acme::{AccountOptions, Acme, IssueRequest, RenewOutcome, Solver};
    use keymanager::tls::StoreResolver;
    use keymanager::{Endpoint, EntryState, KeyStore};

    use super::AcmeArgs;

    pub use keymanager::tls::ACME_TLS_ALPN;

    /// How often the renewer asks whether the certificate is due.
    const RENEW_CHECK: Duration = Duration::from_secs(12 * 60 * 60);

    /// Gets the certificate (unless the store holds it, installed), binds it to
    /// `DOMAIN:PORT`, then renews it when due, forever.
    pub fn get_and_serve(
        store: &KeyStore,
        resolver: &StoreResolver,
        local: SocketAddr,
        args: AcmeArgs,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut options = AccountOptions::new(&args.directory).agree_to_terms(true);
        if let Some(root) = &args.root {
            options = options.ca_root(root);
        }
        let domain = args.domain;
        let acme = runtime.block_on(Acme::account(store, options))?;
        println!(
            "acme: account {} at {}",
            acme.account_url(),
            acme.directory()
        );
        let installed = store
            .entry(&domain)
            .is_ok_and(|e| e.state() == EntryState::Installed);
        if !installed {
            println!("acme: getting a certificate for {domain} by tls-alpn-01 on {local}");
            let request = IssueRequest::new(&domain, [&domain]);
            runtime.block_on(acme.issue(&request, &Solver::tls_alpn01()))?;
        }
        let endpoint: Endpoint = format!("{domain}:{}", local.port()).parse()?;
        let entry = store.entry(&domain)?;
        if !entry.bindings().contains(&endpoint) {
            let mut tx = store.begin()?;
            tx.bind(endpoint.clone(), &domain)?;
            tx.commit()?;
        }
        // Served from now on, without waiting for the resolver's next check.
        resolver.refresh()?;
        let entry = store.entry(&domain)?;
        println!(
            "serving the ACME certificate for {domain} on {endpoint} (valid until {})",
            utc(entry.not_after())
        );

        let _enter = runtime.enter();
        let _renewer =
            acme.spawn_renewer(Solver::tls_alpn01(), RENEW_CHECK, |result| match result {
                Ok(renewals) => {
                    for r in renewals {
                        match r.outcome() {
                            RenewOutcome::Renewed(issued) => println!(
                                "acme: renewed {} (valid until {})",
                                r.name(),
                                utc(Some(issued.not_after()))
                            ),
                            RenewOutcome::Failed { error, .. } => {
                                eprintln!("acme: renewing {} failed: {error}", r.name())
                            }
                            other => eprintln!("acme: renewing {}: {other:?}", r.name()),
                        }
                    }
                }
                Err(e) => eprintln!("acme: renewal check failed: {e}"),
            });
        runtime.block_on(std::future::pending::<()>());
        Ok(())
    }

    /// `t` as an RFC 3339 UTC time.
    fn utc(t: Option<std::time::SystemTime>) -> String {
        t.and_then(|t| der::DateTime::from_system_time(t).ok())
            .map_or_else(|| "-".into(), |d| d.to_string())
    }
}
