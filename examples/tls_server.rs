//! An HTTPS server on 127.0.0.1 that serves the certificates bound in a key store, picking up
//! changes committed while it runs (by this process or another one, such as a renewal).
//!
//! ```text
//! cargo run --features rustls --example tls_server -- PORT STORE [PASSPHRASE]
//! ```
//!
//! `PORT` may be 0 for any free port. The passphrase is read from the `KEYMANAGER_PASSPHRASE`
//! environment variable when it is not given: prefer that, since a command-line argument is
//! visible to every user of the machine (`ps`, `/proc/PID/cmdline`).
//!
//! It prints `listening on https://127.0.0.1:PORT` once it accepts connections, then serves
//! until killed, one thread per connection. Each answer says which entry served it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use keymanager::KeyStore;
use keymanager::tls::StoreResolver;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use zeroize::Zeroizing;

const USAGE: &str = "usage: tls_server PORT STORE [PASSPHRASE]\n\
    (without PASSPHRASE, the passphrase is read from KEYMANAGER_PASSPHRASE;\n\
    an argument is visible to other users in `ps`)";

fn main() {
    if let Err(e) = run() {
        eprintln!("tls_server: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Zeroized on drop, as they may hold the passphrase.
    let args = Zeroizing::new(std::env::args().skip(1).collect::<Vec<String>>());
    let (port, path, passphrase) = match args.as_slice() {
        [port, path] => (
            port,
            path,
            std::env::var("KEYMANAGER_PASSPHRASE")
                .ok()
                .map(Zeroizing::new),
        ),
        [port, path, pass] => (port, path, Some(Zeroizing::new(pass.clone()))),
        _ => return Err(USAGE.into()),
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number (0 to 65535)\n{USAGE}"))?;
    let passphrase = passphrase.ok_or_else(|| format!("no passphrase given\n{USAGE}"))?;
    if !std::path::Path::new(path).exists() {
        return Err(format!("no key store at `{path}`").into());
    }
    let store = KeyStore::open(path, &passphrase)?;
    drop(passphrase); // zeroized

    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let local = listener.local_addr()?;
    let resolver = StoreResolver::new(&store, local)?;
    println!(
        "serving {} binding(s) from {path}",
        resolver.snapshot().len()
    );
    let config = Arc::new(
        ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&resolver) as _),
    );
    println!("listening on https://{local}");

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
            if let Err(e) = answer(stream, config, &resolver, local) {
                eprintln!("{peer:?}: {e}");
            }
        });
    }
    Ok(())
}

/// One connection: the handshake, read the request head, a one-line answer.
fn answer(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    resolver: &StoreResolver,
    local: SocketAddr,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    let conn = ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
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
    let entry = resolver
        .snapshot()
        .resolve(sni.as_deref(), local)
        .map(|id| id.name().to_owned())
        .unwrap_or_default();
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
