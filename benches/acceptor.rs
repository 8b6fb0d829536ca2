//! Issue 14: what the per-connection `tls::TlsAcceptor` costs, side by side in one run with a
//! static `rustls::ServerConfig` serving the same key through tokio-rustls's plain acceptor
//! (goal: at least 0.95x its handshakes per second), and how long after a commit the first
//! handshake gets the new certificate (default refresh interval, 1 s).
//!
//! Run: `cargo bench --features tokio --bench acceptor` (add `-- --quick` for a short run).
//! Each iteration is one full TLS 1.3 handshake over loopback (client and server in one tokio
//! runtime, aws-lc-rs on both sides, no resumption), so the two are measured the same way;
//! handshakes per second are the inverse of the times. Needs the `openssl` CLI (the CA).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use keymanager::tls::{StoreResolver, TlsAcceptor};
use keymanager::{CertificateRequest, DistinguishedName, KdfParams, KeyStore, StoreOptions};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::net::{TcpListener, TcpStream};

// The tests' one CA and OpenSSL runner, as benches/acme.rs shares pebble's driver.
#[allow(dead_code)]
#[path = "../tests/common/ca.rs"]
mod ca;
#[allow(dead_code)]
#[path = "../tests/common/openssl.rs"]
mod openssl;

criterion_group!(benches, handshakes, reload);
criterion_main!(benches);

const HOST: &str = "www.bench.test";

/// The store (entries `www` and `next`, both for [`HOST`]), the CA's root, and `www`'s key
/// and chain as DER for the static config.
struct Setup {
    store: KeyStore,
    root: CertificateDer<'static>,
    key_der: Vec<u8>,
    chain: Vec<CertificateDer<'static>>,
}

fn setup() -> Setup {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let ca = ca::root_only();
    let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1).expect("kdf"));
    let store = KeyStore::open_in_memory_with("bench passphrase", &options).expect("store");
    for name in ["www", "next"] {
        let dn: DistinguishedName = format!("CN={HOST}").parse().expect("dn");
        let mut tx = store.begin().expect("begin");
        let request = tx
            .create_pending(name, &CertificateRequest::builder(dn), 2048)
            .expect("pending");
        tx.commit().expect("commit");
        let leaf = ca.sign_server(&request.to_pem(), &[HOST], &[]);
        let mut tx = store.begin().expect("begin");
        tx.install_certificate(format!("{leaf}{}", ca.root_pem()).as_bytes())
            .expect("install");
        tx.commit().expect("commit");
    }
    let export = store.export("www", "x").expect("export");
    let key = keymanager::PrivateKey::from_encrypted_pem(export.key_pem(), "x").expect("key");
    let chain = keymanager::Certificate::chain_from_pem(export.chain_pem())
        .expect("chain")
        .iter()
        .map(|c| CertificateDer::from(c.to_der().to_vec()))
        .collect();
    let root = CertificateDer::from(
        keymanager::Certificate::from_pem(ca.root_pem())
            .expect("root")
            .to_der()
            .to_vec(),
    );
    Setup {
        store,
        root,
        key_der: key.to_pkcs8_der().expect("der").to_vec(),
        chain,
    }
}

fn handshakes(c: &mut Criterion) {
    let s = setup();
    let runtime = runtime();
    let client = client(&s.root);

    // The static config: one certificate, tokio-rustls's own acceptor.
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            s.chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(s.key_der.clone())),
        )
        .expect("config");
    let plain = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let static_addr = runtime.block_on(serve(move |tcp| {
        let plain = plain.clone();
        async move { plain.accept(tcp).await.map(drop) }
    }));

    // The store's acceptor, on a listener whose port the store binds.
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut tx = s.store.begin().expect("begin");
    tx.bind(format!("0.0.0.0:{port}").parse().expect("endpoint"), "www")
        .expect("bind");
    tx.commit().expect("commit");
    let resolver =
        StoreResolver::new(&s.store, listener.local_addr().expect("addr")).expect("resolver");
    let acceptor = TlsAcceptor::new(resolver);
    let store_addr = runtime.block_on(serve_on(listener, move |tcp| {
        let acceptor = acceptor.clone();
        async move { acceptor.accept(tcp).await.map(drop) }
    }));

    let mut group = c.benchmark_group("acceptor/handshake");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (name, addr) in [
        ("static_server_config", static_addr),
        ("per_connection", store_addr),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(handshake(&client, addr)));
        });
    }
    group.finish();
}

/// Commit, then handshake until the new certificate is served: the time from the commit's
/// start to the first handshake that gets it (the default 1 s refresh interval).
fn reload(c: &mut Criterion) {
    let s = setup();
    let runtime = runtime();
    let client = client(&s.root);
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let local = listener.local_addr().expect("addr");
    let endpoint = format!("0.0.0.0:{}", local.port());
    let mut tx = s.store.begin().expect("begin");
    tx.bind(endpoint.parse().expect("endpoint"), "www")
        .expect("bind");
    tx.commit().expect("commit");
    let acceptor = TlsAcceptor::new(StoreResolver::new(&s.store, local).expect("resolver"));
    let addr = runtime.block_on(serve_on(listener, move |tcp| {
        let acceptor = acceptor.clone();
        async move { acceptor.accept(tcp).await.map(drop) }
    }));
    let mut serving = "www";
    let mut group = c.benchmark_group("acceptor/reload");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100));
    group.bench_function("commit_to_first_new_handshake", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let before = runtime.block_on(handshake(&client, addr));
                let next = if serving == "www" { "next" } else { "www" };
                let started = Instant::now();
                let mut tx = s.store.begin().expect("begin");
                tx.unbind(endpoint.parse().expect("endpoint"))
                    .expect("unbind");
                tx.bind(endpoint.parse().expect("endpoint"), next)
                    .expect("bind");
                tx.commit().expect("commit");
                while runtime.block_on(handshake(&client, addr)) == before {}
                total += started.elapsed();
                serving = next;
            }
            total
        });
    });
    group.finish();
}

/// Two worker threads, as the machine has two CPUs.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// One full handshake to `addr`: the served leaf.
async fn handshake(client: &tokio_rustls::TlsConnector, addr: SocketAddr) -> Vec<u8> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let name = ServerName::try_from(HOST).expect("name");
    let tls = client.connect(name, tcp).await.expect("handshake");
    tls.get_ref().1.peer_certificates().expect("certificates")[0].to_vec()
}

fn client(root: &CertificateDer<'static>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).expect("root");
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn serve<F, Fut>(accept: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    serve_on(
        TcpListener::bind("127.0.0.1:0").await.expect("bind"),
        accept,
    )
    .await
}

/// Accepts on `listener` forever, each connection in a task of its own.
async fn serve_on<F, Fut>(listener: TcpListener, accept: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(accept(tcp));
        }
    });
    addr
}
