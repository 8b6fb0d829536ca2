//! A rustls server on the ring provider alone (no aws-lc-rs in this package's build): the
//! resolver refuses to guess a provider, then signs with the one the process installed, and a
//! rustls client (ring too) is served the bound certificate.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use keymanager::error::TlsError;
use keymanager::tls::StoreResolver;
use keymanager::{CertificateRequest, DistinguishedName, Error, KdfParams, KeyStore, StoreOptions};
use rustls::pki_types::{CertificateDer, ServerName};

// The main package's one test CA and OpenSSL runner (std only), shared rather than copied.
#[allow(dead_code)]
#[path = "../../common/ca.rs"]
mod ca;
#[allow(dead_code)]
#[path = "../../common/openssl.rs"]
mod openssl;

#[test]
fn the_resolver_signs_with_the_installed_ring_provider() {
    let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1).unwrap());
    let store = KeyStore::open_in_memory_with("passphrase", &options).unwrap();
    let dn: DistinguishedName = "CN=ring.test".parse().unwrap();
    let mut tx = store.begin().unwrap();
    let request = tx
        .create_pending("ring", &CertificateRequest::builder(dn), 2048)
        .unwrap();
    tx.commit().unwrap();
    let ca = ca::root_only();
    let leaf_pem = ca.sign_server(&request.to_pem(), &["ring.test"], &[]);
    let root_pem = ca.root_pem().to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let local = listener.local_addr().unwrap();
    let mut tx = store.begin().unwrap();
    tx.install_certificate(format!("{leaf_pem}{root_pem}").as_bytes())
        .unwrap();
    tx.bind(
        format!("ring.test:{}", local.port()).parse().unwrap(),
        "ring",
    )
    .unwrap();
    tx.commit().unwrap();

    // Nothing installed, no fallback built in: a typed error saying what to do.
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    match StoreResolver::new(&store, local) {
        Err(Error::Tls(e @ TlsError::NoCryptoProvider)) => {
            assert!(e.to_string().contains("install_default"), "{e}")
        }
        other => panic!("expected NoCryptoProvider, got {other:?}"),
    }

    rustls::crypto::ring::default_provider()
        .install_default()
        .unwrap();
    let resolver = StoreResolver::new(&store, local).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(resolver),
    );
    let server = std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        tls.write_all(b"ok").unwrap();
        tls.conn.send_close_notify();
        tls.flush().unwrap();
    });

    let mut roots = rustls::RootCertStore::empty();
    roots.add(der_of(&root_pem)).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("ring.test").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(local).unwrap());
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).unwrap();
    assert_eq!(answer, b"ok");
    let served = tls.conn.peer_certificates().unwrap()[0].to_vec();
    assert_eq!(served, der_of(&leaf_pem).to_vec());
    server.join().unwrap();
}

fn der_of(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from(
        keymanager::Certificate::from_pem(pem)
            .unwrap()
            .to_der()
            .to_vec(),
    )
}
