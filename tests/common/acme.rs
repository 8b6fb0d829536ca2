//! The ACME client's side of the tests against pebble (feature `acme`): the account, the one
//! issuance call most tests make, the chain checked with `openssl verify`, a tokio-rustls server
//! whose certificates come from `StoreResolver` (tls-alpn-01), and what it serves.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use keymanager::acme::{
    self, AccountOptions, Acme, Dns01Provider, DnsFuture, IssueRequest, Issued, OrderRecord,
    OrderState, Solver,
};
use keymanager::tls::{ACME_TLS_ALPN, StoreResolver};
use keymanager::{Entry, EntryState, Error, KeyStore};

use crate::common::pebble::ChalltestDns;
use crate::common::pebble::Pebble;

pub fn account_options(pebble: &Pebble) -> AccountOptions {
    account_options_at(pebble, pebble.directory())
}

/// The account options for `directory`, which leads to `pebble` (itself, or a proxy in front).
pub fn account_options_at(pebble: &Pebble, directory: &str) -> AccountOptions {
    AccountOptions::new(directory)
        .contact("mailto:admin@example.test")
        .agree_to_terms(true)
        .ca_root(pebble.api_root())
        .validation_timeout(Duration::from_secs(60))
        // pebble on loopback validates and issues within milliseconds (PEBBLE_VA_NOSLEEP).
        .poll_interval(Duration::from_millis(20))
}

pub async fn account(store: &KeyStore, pebble: &Pebble) -> Acme {
    Acme::account(store, account_options(pebble)).await.unwrap()
}

/// Why `Acme::account` fails (it must).
pub async fn account_error(store: &KeyStore, options: AccountOptions) -> Error {
    Acme::account(store, options).await.unwrap_err()
}

/// The entry's chain verifies with `openssl verify` against pebble's root, for `names`.
pub fn assert_chain_verifies(store: &KeyStore, pebble: &Pebble, name: &str, names: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let export = store.export(name, "export-password").unwrap();
    let pems: Vec<String> = pem::parse_many(export.chain_pem())
        .unwrap()
        .iter()
        .map(pem::encode)
        .collect();
    assert!(
        pems.len() >= 2,
        "leaf and intermediate: {}",
        export.chain_pem()
    );
    std::fs::write(dir.path().join("leaf.pem"), &pems[0]).unwrap();
    std::fs::write(dir.path().join("chain.pem"), pems[1..].concat()).unwrap();
    std::fs::write(dir.path().join("root.pem"), pebble.root_pem()).unwrap();
    let out = openssl(
        dir.path(),
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain.pem",
            "-purpose",
            "sslserver",
            "leaf.pem",
        ],
    );
    assert!(out.contains("leaf.pem: OK"), "{out}");
    let text = openssl(
        dir.path(),
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "subjectAltName",
        ],
    );
    for n in names {
        assert!(text.contains(n), "{n} not in {text}");
    }
}

pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Issues `name` for the one DNS name `dns` through `solver`; it must succeed.
pub async fn issue(acme: &Acme, name: &str, dns: &str, solver: &Solver) -> Issued {
    acme.issue(&IssueRequest::new(name, [dns]), solver)
        .await
        .unwrap()
}

/// After a first issuance failed: the store holds the one pending entry (returned), nothing is
/// managed, and the one order record is in `state` (returned).
pub fn only_pending(store: &KeyStore, state: OrderState) -> (Entry, OrderRecord) {
    let mut entries = store.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].state(), EntryState::Pending);
    assert!(acme::managed(store).unwrap().is_empty());
    let mut orders = acme::orders(store).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].state(), state);
    (entries.remove(0), orders.remove(0))
}

/// A TLS server on 127.0.0.1:`port` (tokio-rustls) whose certificates come from the store
/// through `StoreResolver`, offering ALPN `acme-tls/1` as tls-alpn-01 needs: a connection that
/// negotiated it is closed after the handshake, others get a line of text.
pub async fn tls_server(
    store: &KeyStore,
    port: u16,
) -> (Arc<StoreResolver>, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncWriteExt;
    let local: SocketAddr = ([127, 0, 0, 1], port).into();
    let listener = tokio::net::TcpListener::bind(local).await.unwrap();
    let resolver = StoreResolver::new(store, local).unwrap();
    let mut config = crate::common::server_config()
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(sock).await {
                    if tls.get_ref().1.alpn_protocol() != Some(ACME_TLS_ALPN) {
                        let _ = tls.write_all(b"hello\n").await;
                    }
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    (resolver, task)
}

/// The SHA-256 fingerprint of the certificate `openssl s_client` is served at 127.0.0.1:`port`
/// for `sni`.
pub fn served_fingerprint(port: u16, sni: &str) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            sni,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let served = String::from_utf8_lossy(&out.stdout).into_owned();
    let pem = pem::parse(served.as_bytes()).unwrap_or_else(|e| panic!("{e}: {served}"));
    fingerprint(pem.contents())
}

pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

pub fn leaf_der(store: &KeyStore, name: &str) -> Vec<u8> {
    let export = store.export(name, "export-password").unwrap();
    pem::parse_many(export.chain_pem()).unwrap()[0]
        .contents()
        .to_vec()
}

/// A DNS provider that refuses: the order stays open at the CA, its URL recorded.
pub struct Refusing;

impl Dns01Provider for Refusing {
    fn set_txt<'a>(&'a self, _: &'a str, _: &'a str) -> DnsFuture<'a> {
        Box::pin(async { Err("the provider's API is down".into()) })
    }

    fn clear_txt<'a>(&'a self, _: &'a str) -> DnsFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// dns-01 through challtestsrv's management API, as a user's DNS provider would.
pub struct ChalltestProvider(pub ChalltestDns);

impl Dns01Provider for ChalltestProvider {
    fn set_txt<'a>(&'a self, record: &'a str, value: &'a str) -> DnsFuture<'a> {
        let (dns, record, value) = (self.0, record.to_owned(), value.to_owned());
        Box::pin(async move {
            let status = tokio::task::spawn_blocking(move || dns.set_txt(&record, &value)).await?;
            if status == 200 {
                Ok(())
            } else {
                Err(format!("challtestsrv answered {status}").into())
            }
        })
    }

    fn clear_txt<'a>(&'a self, record: &'a str) -> DnsFuture<'a> {
        let (dns, record) = (self.0, record.to_owned());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || dns.clear_txt(&record)).await?;
            Ok(())
        })
    }
}
