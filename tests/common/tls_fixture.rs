//! What the TLS tests share: a store filled with certificates from the OpenSSL test CA, a
//! loopback HTTPS server answering from a [`StoreResolver`], and a rustls client that trusts
//! the CA; and the `tls_server` example run as a person runs it. The store and the keys come
//! from [`fixtures`](super::fixtures), the CA is [`ca::shared`](super::ca::shared).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keymanager::tls::StoreResolver;
use keymanager::{CertificateRequest, DistinguishedName, KeyStore, PrivateKey};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

use super::ca;
use super::fixtures::key;

/// Signs `request_pem` for these names; returns the leaf PEM and the bundle (leaf, then the
/// CA's chain) to install.
pub fn sign(request_pem: &str, dns: &[&str], ips: &[&str]) -> (String, String) {
    let leaf = ca::shared().sign_server(request_pem, dns, ips);
    let bundle = format!("{leaf}{}", ca::shared().chain_pem());
    (leaf, bundle)
}

/// Adds entry `name` with key `i`, installs a certificate for `dns` and `ips`, commits;
/// returns the leaf certificate's DER.
pub fn install(store: &KeyStore, name: &str, i: u64, dns: &[&str], ips: &[&str]) -> Vec<u8> {
    install_key(store, name, key(i as usize), dns, ips)
}

/// [`install`] with the given key (an ECDSA one, say).
pub fn install_key(
    store: &KeyStore,
    name: &str,
    key: PrivateKey,
    dns: &[&str],
    ips: &[&str],
) -> Vec<u8> {
    let dn: DistinguishedName = format!("CN={},O=keymanager tests", dns[0]).parse().unwrap();
    let mut builder = CertificateRequest::builder(dn).dns_names(dns.iter().copied());
    for ip in ips {
        builder = builder.ip_address(ip.parse::<IpAddr>().unwrap());
    }
    let request = builder.sign(&key).unwrap();
    let (leaf, bundle) = sign(&request.to_pem(), dns, ips);
    let mut tx = store.begin().unwrap();
    tx.add_pending(name, key, &request).unwrap();
    assert_eq!(tx.install_certificate(bundle.as_bytes()).unwrap(), name);
    tx.commit().unwrap();
    pem_to_der(&leaf)
}

/// One site with two certificates for `dns`: entry `ec` (ECDSA P-256, seed `seed`) and entry
/// `rsa` (pool key `seed`), both bound to `endpoint`; their leaves' DER, ECDSA's first.
pub fn dual(store: &KeyStore, seed: usize, dns: &str, endpoint: &str) -> (Vec<u8>, Vec<u8>) {
    let ec_key = super::fixtures::ec_key(seed, keymanager::KeyType::EcdsaP256);
    let ecdsa = install_key(store, "ec", ec_key, &[dns], &[]);
    let rsa = install(store, "rsa", seed as u64, &[dns], &[]);
    for name in ["ec", "rsa"] {
        bind(store, name, &[endpoint.to_owned()]);
    }
    (ecdsa, rsa)
}

pub fn bind(store: &KeyStore, name: &str, endpoints: &[String]) {
    let mut tx = store.begin().unwrap();
    for e in endpoints {
        tx.bind(e.parse().unwrap(), name).unwrap();
    }
    tx.commit().unwrap();
}

pub fn pem_to_der(pem: &str) -> Vec<u8> {
    keymanager::Certificate::from_pem(pem)
        .unwrap()
        .to_der()
        .to_vec()
}

/// A loopback listener on a free port.
pub fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// What a running test server has seen.
#[derive(Default)]
pub struct ServerStats {
    /// Handshakes that completed.
    pub ok: AtomicUsize,
    /// Connections that failed (handshake refused, or I/O).
    pub failed: AtomicUsize,
}

/// Serves HTTPS on `listener` from `resolver`, a thread per connection, until the test ends.
pub fn serve(listener: TcpListener, resolver: Arc<StoreResolver>) -> Arc<ServerStats> {
    let config = Arc::new(
        super::server_config()
            .with_no_client_auth()
            .with_cert_resolver(resolver),
    );
    let stats = Arc::new(ServerStats::default());
    let s = Arc::clone(&stats);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let config = Arc::clone(&config);
            let s = Arc::clone(&s);
            std::thread::spawn(move || match answer(stream, config) {
                Ok(()) => {
                    s.ok.fetch_add(1, Ordering::SeqCst);
                }
                Err(_) => {
                    s.failed.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    stats
}

fn answer(stream: TcpStream, config: Arc<ServerConfig>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    let conn = ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    read_head(&mut tls)?;
    tls.write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n")?;
    tls.conn.send_close_notify();
    tls.flush()?;
    tls.conn.complete_io(&mut tls.sock)?;
    Ok(())
}

/// Reads an HTTP request head, up to its blank line (at most 8 KiB).
fn read_head(r: &mut impl Read) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if r.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(())
}

/// A tokio HTTPS server answering from a [`TlsAcceptor`](keymanager::tls::TlsAcceptor) on
/// each of `listeners`: what [`serve`] does, the tokio way. Stops when dropped.
#[cfg(feature = "tokio")]
pub struct TokioServer {
    pub stats: Arc<ServerStats>,
    _runtime: tokio::runtime::Runtime,
}

/// Serves HTTPS on every listener through `acceptor`, on a runtime of two worker threads.
#[cfg(feature = "tokio")]
pub fn serve_tokio(
    listeners: Vec<TcpListener>,
    acceptor: keymanager::tls::TlsAcceptor,
) -> TokioServer {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stats = Arc::new(ServerStats::default());
    for listener in listeners {
        listener.set_nonblocking(true).unwrap();
        let (acceptor, stats) = (acceptor.clone(), Arc::clone(&stats));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, stats) = (acceptor.clone(), Arc::clone(&stats));
                tokio::spawn(async move {
                    let counter = match answer_async(&acceptor, tcp).await {
                        Ok(()) => &stats.ok,
                        Err(_) => &stats.failed,
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
    }
    TokioServer {
        stats,
        _runtime: runtime,
    }
}

#[cfg(feature = "tokio")]
async fn answer_async(
    acceptor: &keymanager::tls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.set_nodelay(true)?;
    let mut tls = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
        .await
        .map_err(std::io::Error::other)??;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if tls.read(&mut byte).await? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    tls.write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n")
        .await?;
    tls.shutdown().await
}

/// The DER of the first certificate in `text` (as `openssl s_client` prints the served one).
pub fn first_certificate_der(text: &str) -> Option<Vec<u8>> {
    let start = text.find("-----BEGIN CERTIFICATE-----")?;
    let end = text[start..].find("-----END CERTIFICATE-----")? + start;
    let block = &text[start..end + "-----END CERTIFICATE-----".len()];
    Some(pem_to_der(&format!("{block}\n")))
}

/// A rustls client configuration trusting the test CA's root, without session resumption.
pub fn client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(pem_to_der(ca::shared().root_pem())))
            .unwrap();
        let mut config = super::client_config()
            .with_root_certificates(roots)
            .with_no_client_auth();
        // Every handshake a full one, that asks the resolver: a resumed session would keep
        // the certificate of the session it resumes.
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }))
}

/// One HTTPS request to the test server on `127.0.0.1:port` for `server_name` (a DNS name is
/// sent as SNI, an IP address is not): the served leaf certificate's DER, or the error.
pub fn handshake(port: u16, server_name: &str) -> Result<Vec<u8>, String> {
    let (leaf, body) = request(port, server_name)?;
    if !body.ends_with("ok\n") {
        return Err(format!("unexpected answer {body:?}"));
    }
    Ok(leaf)
}

/// One HTTPS request to `127.0.0.1:port` for `server_name`: the served leaf certificate's
/// DER and the answer, or the error.
pub fn request(port: u16, server_name: &str) -> Result<(Vec<u8>, String), String> {
    request_to(SocketAddr::from(([127, 0, 0, 1], port)), server_name)
}

/// [`request`] to any address (`[::1]:port`, ...).
pub fn request_to(address: SocketAddr, server_name: &str) -> Result<(Vec<u8>, String), String> {
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(client_config(), name).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(address).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| sock.set_nodelay(true))
        .map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| e.to_string())?;
    }
    let leaf = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .ok_or("no peer certificate")?;
    tls.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .and_then(|()| tls.flush())
        .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    tls.read_to_end(&mut body).map_err(|e| e.to_string())?;
    Ok((leaf, String::from_utf8_lossy(&body).into_owned()))
}

/// The `tls_server` example's binary, next to this test's (`cargo test --features rustls`
/// builds the examples before running the tests); built here when a test runs alone.
pub fn example_binary() -> PathBuf {
    example_binary_named("tls_server", "rustls")
}

/// The example `name`'s binary (built with `features` when a test runs alone).
pub fn example_binary_named(name: &str, features: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("examples").join(name);
    if !binary.exists() {
        let status = super::cargo()
            .args(["build", "--example", name, "--features", features])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "cannot build the {name} example");
    }
    binary
}

/// The running example server: killed when the test ends, however it ends. `lines` gets
/// what it prints after its `listening on` line.
pub struct ExampleServer {
    child: Child,
    pub lines: mpsc::Receiver<String>,
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the example on `port` serving `store` (passphrase in `KEYMANAGER_PASSPHRASE`, as a
/// person runs it) and waits for its `listening on` line; also returns the lines it printed
/// before that one.
pub fn start_example(store: &Path, port: u16, passphrase: &str) -> (ExampleServer, Vec<String>) {
    start_example_binary(&example_binary(), store, port, passphrase)
}

/// [`start_example`] for the example whose binary is `binary`.
pub fn start_example_binary(
    binary: &Path,
    store: &Path,
    port: u16,
    passphrase: &str,
) -> (ExampleServer, Vec<String>) {
    let mut child = Command::new(binary)
        .arg(port.to_string())
        .arg(store)
        .env("KEYMANAGER_PASSPHRASE", passphrase)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    // Killed on drop from here on, a failed start included.
    let server = ExampleServer { child, lines: rx };
    let mut lines = Vec::new();
    loop {
        match server.lines.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.starts_with("listening on https://") => {
                return (server, lines);
            }
            Ok(line) => lines.push(line),
            Err(e) => panic!("the example server did not start ({e}): {lines:?}"),
        }
    }
}
