//! A real ACME CA on loopback: Debian's `pebble` (Let's Encrypt's test server) with
//! `pebble-challtestsrv` as its DNS, one pair per [`Pebble`], on free ports, stopped on drop.
//!
//! - The ACME API's TLS certificate is a leaf (SAN localhost + 127.0.0.1, CA:FALSE) signed by a
//!   throwaway test CA made with the `openssl` CLI; [`Pebble::api_root`] is that CA, to give to
//!   `AccountOptions::ca_root` (rustls refuses a self-signed server certificate).
//! - challtestsrv answers every A query with 127.0.0.1, so pebble's validator connects to
//!   127.0.0.1:[`http_port`](Pebble::http_port) (http-01) and :[`tls_port`](Pebble::tls_port)
//!   (tls-alpn-01) for any name; its management API sets dns-01 TXT records.
//! - `PEBBLE_VA_NOSLEEP=1` (no random validation delay), `PEBBLE_AUTHZREUSE=0` by default, and
//!   nonce rejection left at pebble's default 5% (clients must retry `badNonce`).
//! - `PEBBLE_AUTHZREUSE=0` is not "never": pebble makes a new authorization only when
//!   `rand.Intn(100) > percent`, so at 0 it still reuses a valid one 1% of the time. A test
//!   whose later order must prove control again (a renewal meant to fail its challenge) uses
//!   `AccountOptions::deactivate_authorizations`.
//!
//! If pebble is not installed this panics, saying how to install it: the ACME tests never pass
//! silently without their server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to configure beyond the defaults.
#[derive(Debug, Default, Clone)]
pub struct PebbleOptions {
    /// External account binding keys (key id → base64url HMAC key); makes EAB required.
    pub eab_keys: Vec<(String, String)>,
    /// Domains pebble refuses to issue for (`rejectedIdentifier`).
    pub blocklist: Vec<String>,
    /// The percentage of good nonces pebble refuses (`PEBBLE_WFE_NONCEREJECT`; its default,
    /// 5, when `None`).
    pub nonce_reject: Option<u8>,
    /// `PEBBLE_AUTHZREUSE`: how often (percent) pebble reuses a valid authorization in a new
    /// order; 0 when `None` (which still reuses 1% of the time: see the module docs).
    pub authz_reuse: Option<u8>,
}

/// A running pebble and challtestsrv.
pub struct Pebble {
    dir: tempfile::TempDir,
    pebble: Child,
    challtestsrv: Child,
    directory: String,
    management: u16,
    challtest_management: u16,
    http_port: u16,
    tls_port: u16,
}

impl Pebble {
    /// Starts pebble with the defaults.
    pub fn start() -> Pebble {
        Self::start_with(PebbleOptions::default())
    }

    /// Starts pebble with `options`; returns once its directory answers.
    pub fn start_with(options: PebbleOptions) -> Pebble {
        for program in ["pebble", "pebble-challtestsrv"] {
            let found = std::env::var_os("PATH").is_some_and(|paths| {
                std::env::split_paths(&paths).any(|p| p.join(program).is_file())
            });
            assert!(
                found,
                "`{program}` is not installed: the ACME tests need Debian's pebble package \
                 (`apt-get install -y pebble`, which ships pebble and pebble-challtestsrv)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        make_api_certificate(dir.path());
        let [
            listen,
            management,
            http_port,
            tls_port,
            dns,
            challtest_management,
        ] = free_ports();
        let eab: serde_json::Map<String, serde_json::Value> = options
            .eab_keys
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{listen}"),
                "managementListenAddress": format!("127.0.0.1:{management}"),
                "certificate": dir.path().join("api.pem"),
                "privateKey": dir.path().join("api.key"),
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": !options.eab_keys.is_empty(),
                "externalAccountMACKeys": eab,
                "domainBlocklist": options.blocklist,
            }
        });
        std::fs::write(dir.path().join("pebble.json"), config.to_string()).unwrap();
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
        let challtestsrv = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{challtest_management}")])
            .stdout(log("challtestsrv.log"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(dir.path().join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env(
                "PEBBLE_AUTHZREUSE",
                options.authz_reuse.unwrap_or(0).to_string(),
            )
            .envs(
                options
                    .nonce_reject
                    .map(|p| ("PEBBLE_WFE_NONCEREJECT", p.to_string())),
            )
            .stdout(log("pebble.log"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pebble = Pebble {
            directory: format!("https://127.0.0.1:{listen}/dir"),
            dir,
            pebble,
            challtestsrv,
            management,
            challtest_management,
            http_port,
            tls_port,
        };
        pebble.wait_until_up(&[listen, management, challtest_management]);
        pebble
    }

    fn wait_until_up(&self, ports: &[u16]) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for &port in ports {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "pebble did not start listening on {port}; its log:\n{}",
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The ACME directory URL.
    pub fn directory(&self) -> &str {
        &self.directory
    }

    /// The PEM file of the test CA that signed the API's TLS certificate.
    pub fn api_root(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The API's TLS certificate and its key (PEM files), signed by [`api_root`](Self::api_root):
    /// for a stand-in that answers in pebble's place (tests/common/ari_proxy.rs).
    pub fn api_identity(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join("api.pem"),
            self.dir.path().join("api.key"),
        )
    }

    /// The port pebble's validator connects to for http-01.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The port pebble's validator connects to for tls-alpn-01.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// pebble's issuing root (it changes at every start), from its management `/roots/0`.
    pub fn root_pem(&self) -> String {
        let (status, body) = https_get(&self.api_root(), self.management, "/roots/0");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// How many orders pebble created (its log's `Added order` lines).
    pub fn new_orders(&self) -> usize {
        self.log().matches("Added order").count()
    }

    /// pebble's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// challtestsrv's DNS, through its management API.
    pub fn dns(&self) -> ChalltestDns {
        ChalltestDns {
            port: self.challtest_management,
        }
    }
}

/// challtestsrv's management API: the TXT records pebble's validator sees.
#[derive(Debug, Clone, Copy)]
pub struct ChalltestDns {
    port: u16,
}

impl ChalltestDns {
    /// Sets a TXT record (`host` fully qualified, with or without the final dot); the HTTP
    /// status.
    pub fn set_txt(&self, host: &str, value: &str) -> u16 {
        let body = serde_json::json!({"host": fqdn(host), "value": value}).to_string();
        http_post(self.port, "/set-txt", &body)
    }

    /// Clears the TXT records of `host`; the HTTP status.
    pub fn clear_txt(&self, host: &str) -> u16 {
        let body = serde_json::json!({"host": fqdn(host)}).to_string();
        http_post(self.port, "/clear-txt", &body)
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in [&mut self.pebble, &mut self.challtestsrv] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn fqdn(host: &str) -> String {
    if host.ends_with('.') {
        host.to_owned()
    } else {
        format!("{host}.")
    }
}

/// Six distinct free loopback ports (bound together, then released).
fn free_ports() -> [u16; 6] {
    let listeners: Vec<TcpListener> = (0..6)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    ports.try_into().unwrap()
}

/// The API's certificate: a P-256 leaf for localhost and 127.0.0.1, signed by a test CA.
fn make_api_certificate(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=keymanager pebble API test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    run(&ca);
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend([
        "-keyout",
        "api.key",
        "-out",
        "api.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&req);
    std::fs::write(
        dir.join("api.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "api.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "2",
        "-days",
        "2",
        "-extfile",
        "api.ext",
        "-out",
        "api.pem",
    ]);
}

/// A GET over HTTPS to 127.0.0.1:`port` trusting `root`: (status, body).
fn https_get(root: &Path, port: u16, path: &str) -> (u16, String) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(root).unwrap())
        .unwrap();
    // aws-lc-rs, named: the test build's rustls has ring too (tests/common's `client_config`,
    // which this file, shared with benches/acme.rs, cannot reach).
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let sock = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    write!(
        tls,
        // HTTP/1.0: the body comes unchunked, up to the close.
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    // pebble may close without close_notify: keep what was read.
    let _ = tls.read_to_end(&mut response);
    split_response(&response)
}

/// A JSON POST over plain HTTP to 127.0.0.1:`port`: the status.
fn http_post(port: u16, path: &str, body: &str) -> u16 {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        sock,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = sock.read_to_end(&mut response);
    split_response(&response).0
}

fn split_response(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
