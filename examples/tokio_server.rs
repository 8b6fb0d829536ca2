//! An HTTPS server on tokio and hyper, HTTP/1.1 and HTTP/2, that serves the certificates bound
//! in a key store through `tls::TlsAcceptor`, and picks up what is committed while it runs
//! (a renewal, a new binding, by this process or another one) without a restart.
//!
//! ```text
//! KEYMANAGER_PASSPHRASE=... cargo run --features tokio --example tokio_server -- PORT STORE
//! ```
//!
//! It listens on `[::]:PORT`, dual-stack where the system allows it (else `0.0.0.0:PORT`):
//! each connection is resolved with its own local address, so IPv4 clients get the
//! `0.0.0.0:PORT` (or their address's) binding and IPv6 clients the `[::]:PORT` one. `PORT` may
//! be 0 for any free port. It prints `listening on https://ADDRESS`, then a line for each
//! refused handshake and each change of what it serves (`now serving generation N: ...`).
//! Each answer says which entry served it, over which HTTP version.
//!
//! What blocks (opening the store: Argon2) runs on tokio's blocking pool; handshakes are
//! answered from memory.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use keymanager::tls::{StoreResolver, TlsAcceptor};
use keymanager::{KeyStore, Snapshot, StoreOptions};
use tokio::net::TcpListener;

const USAGE: &str = "usage: tokio_server PORT STORE (the passphrase in KEYMANAGER_PASSPHRASE)";

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("tokio_server: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, path] = args.as_slice() else {
        return Err(USAGE.into());
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number (0 to 65535)\n{USAGE}"))?;
    let passphrase = zeroize::Zeroizing::new(
        std::env::var("KEYMANAGER_PASSPHRASE").map_err(|_| format!("no passphrase\n{USAGE}"))?,
    );
    // The server chooses the crypto provider; the store's resolver signs with it.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let store = KeyStore::open_async(path, &passphrase, &StoreOptions::default()).await?;
    drop(passphrase);

    let listener = match TcpListener::bind(("::", port)).await {
        Ok(listener) => listener,
        Err(_) => TcpListener::bind(("0.0.0.0", port)).await?,
    };
    let local = listener.local_addr()?;
    let resolver = StoreResolver::builder(&store, local)
        .on_miss(|sni, local| println!("refused: SNI {sni:?} on {local}: nothing bound"))
        .on_change(|_, new| println!("now serving {}", describe(new)))
        .build()?;
    println!("serving {}", describe(&resolver.snapshot()));
    let acceptor =
        TlsAcceptor::new(resolver).alpn_protocols([b"h2".to_vec(), b"http/1.1".to_vec()]);
    println!("listening on https://{local}");

    loop {
        let (tcp, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A client gets 10 s for its handshake.
            let accepted = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
            let Ok(Ok(tls)) = accepted.await else {
                return;
            };
            let (tcp, conn) = tls.get_ref();
            let local = tcp.local_addr().unwrap_or(peer);
            let sni = conn.server_name().map(str::to_owned);
            let entry = acceptor
                .resolver()
                .snapshot()
                .resolve(sni.as_deref(), local)
                .map_or_else(|| "?".to_owned(), |identity| identity.name().to_owned());
            let about = Arc::new(format!(
                "entry `{entry}` for {} on {local}",
                sni.as_deref().unwrap_or("(no SNI)")
            ));
            let service = hyper::service::service_fn(move |request: Request<_>| {
                let text = format!(
                    "hello from keymanager over {:?}: {about}\n",
                    request.version()
                );
                async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text)))) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// `generation N: name (serial S), ...`.
fn describe(snapshot: &Snapshot) -> String {
    let mut served: Vec<String> = snapshot
        .identities()
        .iter()
        .map(|identity| {
            let serial = identity
                .chain()
                .first()
                .map_or_else(String::new, |leaf| leaf.serial_hex());
            format!("{} (serial {serial})", identity.name())
        })
        .collect();
    served.sort();
    format!(
        "generation {}: {}",
        snapshot.generation(),
        if served.is_empty() {
            "nothing bound".to_owned()
        } else {
            served.join(", ")
        }
    )
}
