//! Challenges: the [`Solver`] that says how, the http-01 answers (a function for a router and
//! a small standalone responder), the dns-01 provider trait. tls-alpn-01 certificates are in
//! `tls_alpn.rs` and are served by `tls::StoreResolver`.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::error::{AcmeError, Result};
use crate::store::KeyStore;

/// The path prefix of http-01 answers (RFC 8555 §8.3): `/.well-known/acme-challenge/<token>`.
pub const HTTP01_PATH: &str = "/.well-known/acme-challenge/";

/// A challenge type (RFC 8555 §8, RFC 8737).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeKind {
    /// `http-01`: the CA fetches `http://<name>/.well-known/acme-challenge/<token>` on port 80.
    Http01,
    /// `tls-alpn-01`: the CA connects to port 443 with ALPN `acme-tls/1` and checks a
    /// self-signed challenge certificate; `tls::StoreResolver` answers it.
    TlsAlpn01,
    /// `dns-01`: a TXT record at `_acme-challenge.<name>`, set through a [`Dns01Provider`].
    /// The only type that can validate wildcard names.
    Dns01,
}

impl ChallengeKind {
    /// The name ACME gives it: `http-01`, `tls-alpn-01`, `dns-01`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
            ChallengeKind::Dns01 => "dns-01",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<ChallengeKind> {
        Some(match s {
            "http-01" => ChallengeKind::Http01,
            "tls-alpn-01" => ChallengeKind::TlsAlpn01,
            "dns-01" => ChallengeKind::Dns01,
            _ => return None,
        })
    }

    pub(crate) fn to_instant(self) -> instant_acme::ChallengeType {
        match self {
            ChallengeKind::Http01 => instant_acme::ChallengeType::Http01,
            ChallengeKind::TlsAlpn01 => instant_acme::ChallengeType::TlsAlpn01,
            ChallengeKind::Dns01 => instant_acme::ChallengeType::Dns01,
        }
    }
}

impl fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChallengeKind {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        ChallengeKind::parse(s).ok_or_else(|| {
            AcmeError::InvalidOptions {
                reason: format!(
                    "unknown challenge type `{}`: use http-01, tls-alpn-01 or dns-01",
                    s.escape_debug()
                ),
            }
            .into()
        })
    }
}

/// How the challenges of an order are answered.
///
/// - [`Solver::http01`]: the answers are written to the store; serve them with
///   [`http01_response`] from your HTTP router on port 80, or with an [`Http01Responder`].
/// - [`Solver::tls_alpn01`]: the challenge certificates are written to the store;
///   `tls::StoreResolver` serves them to handshakes offering ALPN `acme-tls/1` (the server's
///   `ServerConfig` must list that protocol: see `keymanager::tls::ACME_TLS_ALPN`).
/// - [`Solver::dns01`]: the TXT records go through your [`Dns01Provider`].
///
/// In each case the answer is committed (or the provider has returned) before the CA is told
/// to validate: http-01 and tls-alpn-01 answers are read from the store at the moment the CA
/// asks, so any process sharing the store file can answer.
#[derive(Clone)]
pub struct Solver {
    pub(crate) kind: ChallengeKind,
    pub(crate) dns: Option<Arc<dyn Dns01Provider>>,
}

impl fmt::Debug for Solver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Solver")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Solver {
    /// http-01, answered from the store.
    pub fn http01() -> Solver {
        Solver {
            kind: ChallengeKind::Http01,
            dns: None,
        }
    }

    /// tls-alpn-01, answered by `tls::StoreResolver` from the store.
    pub fn tls_alpn01() -> Solver {
        Solver {
            kind: ChallengeKind::TlsAlpn01,
            dns: None,
        }
    }

    /// dns-01, through `provider`.
    pub fn dns01(provider: impl Dns01Provider + 'static) -> Solver {
        Solver {
            kind: ChallengeKind::Dns01,
            dns: Some(Arc::new(provider)),
        }
    }

    /// The challenge type.
    pub fn kind(&self) -> ChallengeKind {
        self.kind
    }
}

/// The future a [`Dns01Provider`] returns.
pub type DnsFuture<'a> = Pin<
    Box<
        dyn Future<Output = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>>
            + Send
            + 'a,
    >,
>;

/// Sets and clears the TXT records of dns-01 challenges at your DNS provider.
///
/// `record` is the record's fully qualified name without a trailing dot
/// (`_acme-challenge.www.example.com`), `value` the TXT value. [`set_txt`](Self::set_txt)
/// must return only once the record is visible to the CA's resolvers (wait for your
/// provider's propagation); the CA is told to validate right after.
///
/// ```
/// use keymanager::acme::{Dns01Provider, DnsFuture};
///
/// struct Logger;
/// impl Dns01Provider for Logger {
///     fn set_txt<'a>(&'a self, record: &'a str, value: &'a str) -> DnsFuture<'a> {
///         Box::pin(async move {
///             println!("set {record} TXT {value}");
///             Ok(())
///         })
///     }
///     fn clear_txt<'a>(&'a self, record: &'a str) -> DnsFuture<'a> {
///         Box::pin(async move {
///             println!("clear {record}");
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait Dns01Provider: Send + Sync {
    /// Publishes `value` as a TXT record at `record` (adding to any there).
    fn set_txt<'a>(&'a self, record: &'a str, value: &'a str) -> DnsFuture<'a>;

    /// Removes the TXT records this provider set at `record`.
    fn clear_txt<'a>(&'a self, record: &'a str) -> DnsFuture<'a>;
}

/// The answer to the http-01 challenge `token` (the last segment of the request path
/// `/.well-known/acme-challenge/<token>`): the key authorization to send as the body,
/// `Content-Type: application/octet-stream` or `text/plain`, or `None` for a 404. Reads the
/// store (one indexed row, microseconds); call it from your HTTP router for port 80.
pub fn http01_response(store: &KeyStore, token: &str) -> Result<Option<String>> {
    if !is_token(token) {
        return Ok(None);
    }
    store.acme_http01(token)
}

/// A token as RFC 8555 §8.3 makes them: base64url, at least 128 bits of entropy.
fn is_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 256
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A small HTTP server answering `GET /.well-known/acme-challenge/<token>` from the store,
/// for when nothing else listens on port 80 (the command line). Everything else is a 404.
/// Each connection gets one answer and is closed; a request must arrive within 10 s and fit
/// in 8 KiB. Stops when dropped.
pub struct Http01Responder {
    server: Server,
}

impl fmt::Debug for Http01Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http01Responder")
            .field("local", &self.server.local)
            .finish_non_exhaustive()
    }
}

/// Longest wait for a request's head (http-01) or a handshake (tls-alpn-01).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head read.
const MAX_REQUEST: usize = 8 * 1024;

impl Http01Responder {
    /// Binds `address` and starts answering (a tokio task; call inside a runtime).
    pub async fn bind(store: &KeyStore, address: SocketAddr) -> Result<Http01Responder> {
        let store = store.clone();
        let server = Server::bind(address, move |stream| answer(store.clone(), stream)).await?;
        Ok(Http01Responder { server })
    }

    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local
    }
}

/// A listening socket and the task that accepts on it, giving each connection to a handler
/// bounded by [`REQUEST_TIMEOUT`]; stops when dropped.
struct Server {
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    async fn bind<F, Fut>(address: SocketAddr, handle: F) -> Result<Server>
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
    {
        let fail = |e: std::io::Error| AcmeError::Responder {
            address: address.to_string(),
            reason: e.to_string(),
        };
        let listener = TcpListener::bind(address).await.map_err(fail)?;
        let local = listener.local_addr().map_err(fail)?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors and the like: pause rather than spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let connection = handle(stream);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(REQUEST_TIMEOUT, connection).await;
                });
            }
        });
        Ok(Server { local, task })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request head and answers it.
async fn answer(store: KeyStore, mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_ascii_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let token = target.strip_prefix(HTTP01_PATH).map(str::to_owned);
    let body = match (method, token) {
        ("GET" | "HEAD", Some(token)) => {
            // A store read is synchronous: off the async threads.
            tokio::task::spawn_blocking(move || http01_response(&store, &token))
                .await
                .ok()
                .and_then(|r| r.ok())
                .flatten()
        }
        _ => None,
    };
    let response = match body {
        Some(body) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            body.len(),
            if method == "HEAD" { "" } else { &body }
        ),
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// A small TLS server answering tls-alpn-01 challenges (RFC 8737) from the store, for when no
/// server of yours listens on port 443 with `tls::StoreResolver` (the command line): it offers
/// only ALPN `acme-tls/1`, serves the challenge certificate the store holds for the SNI, and
/// closes each connection after the handshake (10 s at most). Stops when dropped.
pub struct TlsAlpn01Responder {
    server: Server,
}

impl fmt::Debug for TlsAlpn01Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAlpn01Responder")
            .field("local", &self.server.local)
            .finish_non_exhaustive()
    }
}

/// Serves the store's challenge certificates, and nothing else.
#[derive(Debug)]
struct ChallengesOnly {
    store: KeyStore,
}

impl rustls::server::ResolvesServerCert for ChallengesOnly {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if !crate::tls::acme::offers_acme_tls(&hello) {
            return None;
        }
        crate::tls::acme::challenge_key(&self.store, &hello, &|_| {})
    }
}

impl TlsAlpn01Responder {
    /// Binds `address` and starts answering (a tokio task; call inside a runtime).
    pub async fn bind(store: &KeyStore, address: SocketAddr) -> Result<TlsAlpn01Responder> {
        let mut config = crate::tls::server_config_builder()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(ChallengesOnly {
                store: store.clone(),
            }));
        config.alpn_protocols = vec![crate::tls::ACME_TLS_ALPN.to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        // The handshake is the answer (the certificate is read from the store during it);
        // then close.
        let server = Server::bind(address, move |stream| {
            let accept = acceptor.accept(stream);
            async move {
                if let Ok(mut tls) = accept.await {
                    let _ = tls.shutdown().await;
                }
            }
        })
        .await?;
        Ok(TlsAlpn01Responder { server })
    }

    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local
    }
}

/// Decodes base64url, padded or not; `None` if it is not.
pub(crate) fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Left-over bits must be zero padding of fewer than 6 bits.
    (bits < 6 && acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_decodes_padded_and_not() {
        assert_eq!(base64url_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64url_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64url_decode("-_8").unwrap(), [0xfb, 0xff]);
        assert!(base64url_decode("a b").is_none());
        assert!(
            base64url_decode("aGVsbG9").is_none(),
            "non-zero trailing bits"
        );
    }

    #[test]
    fn tokens_are_base64url_only() {
        assert!(is_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        for bad in ["", "../etc/passwd", "a b", "a%2e", &"a".repeat(257)] {
            assert!(!is_token(bad), "{bad}");
        }
    }

    #[test]
    fn challenge_kinds_round_trip() {
        for kind in [
            ChallengeKind::Http01,
            ChallengeKind::TlsAlpn01,
            ChallengeKind::Dns01,
        ] {
            assert_eq!(kind.as_str().parse::<ChallengeKind>().unwrap(), kind);
        }
        assert!("http-02".parse::<ChallengeKind>().is_err());
    }
}
