//! What Debian's pebble 2.4 lacks, ACME renewal information (ARI, RFC 9773) and refusals (rate
//! limits, forgotten orders), stood in for by a small loopback HTTPS proxy in front of a real
//! [`Pebble`]:
//!
//! - every request is forwarded to pebble unchanged, `Host` included, so pebble's JWS checks
//!   pass and the URLs it hands out (orders, authorizations, nonces) lead back to the proxy;
//! - the directory gains `"renewalInfo": "https://127.0.0.1:PORT/renewal-info"`;
//! - `GET /renewal-info/<certID>` is answered here, with the [`Answer`] the test set (a
//!   `suggestedWindow` and `Retry-After`, RFC 9773 §4.2, or a 500), and the certID recorded;
//! - each new-order request's `replaces` (read from the JWS payload, which is forwarded as
//!   signed) is recorded; pebble 2.4 ignores the field, so the proxy reflects it into the
//!   201 response, as RFC 9773 §5 requires of a server (instant-acme checks it).
//!
//! It also refuses, in pebble's place, what pebble never refuses, as the test switches it:
//!
//! - [`AriProxy::rate_limit`]: every POST to new-order or new-account is answered `429`
//!   `rateLimited` (RFC 8555 §6.7) with the test's `detail` and `Retry-After` (both forms are
//!   legal, RFC 9110 §10.2.3), not forwarded;
//! - [`AriProxy::forget`]: POSTs to an order's URL are answered as pebble answers an order it
//!   does not have (`wfe.go`, `Order`: a bare `404`).
//!
//! Both carry a fresh `Replay-Nonce`, taken from pebble's new-nonce, as every ACME answer does
//! (RFC 8555 §6.5).
//!
//! The proxy presents pebble's own API certificate ([`Pebble::api_identity`]), so the client
//! trusts it through the same `AccountOptions::ca_root`. One request per connection
//! (`Connection: close`); pebble is asked in HTTP/1.0, so its answers come unchunked.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::pebble::Pebble;

/// What `GET /renewal-info/<certID>` answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// `200` with this `suggestedWindow` (whole seconds) and `Retry-After: 21600`.
    Window {
        /// Its start.
        start: SystemTime,
        /// Its end.
        end: SystemTime,
    },
    /// `500`, a `serverInternal` problem.
    Fail,
}

/// An ACME resource [`AriProxy::rate_limit`] can refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The directory's `newAccount`.
    NewAccount,
    /// The directory's `newOrder`.
    NewOrder,
}

/// A `rateLimited` refusal: see [`AriProxy::rate_limit`].
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// The resource refused.
    pub endpoint: Endpoint,
    /// The `Retry-After` header's value, as sent: delay-seconds or an HTTP-date.
    pub retry_after: String,
    /// The problem document's `detail`.
    pub detail: String,
}

#[derive(Debug)]
struct State {
    answer: Answer,
    asked: Vec<String>,
    new_orders: Vec<Option<String>>,
    /// The directory's `newOrder`, `newAccount` and `newNonce` paths, once it was read.
    new_order_path: Option<String>,
    new_account_path: Option<String>,
    new_nonce_path: Option<String>,
    rate_limit: Option<RateLimit>,
    rate_limited: usize,
    forgotten: Vec<String>,
}

/// What the proxy answers itself instead of forwarding.
enum Refusal {
    RateLimited(RateLimit),
    Forgotten,
}

/// A running proxy; stops when dropped.
pub struct AriProxy {
    port: u16,
    directory_path: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl AriProxy {
    /// Starts the proxy in front of `pebble`, answering renewal information with `answer`.
    pub async fn start(pebble: &Pebble, answer: Answer) -> AriProxy {
        let rest = pebble
            .directory()
            .strip_prefix("https://127.0.0.1:")
            .unwrap();
        let (upstream, path) = rest.split_once('/').unwrap();
        let upstream: u16 = upstream.parse().unwrap();
        let directory_path = format!("/{path}");
        let (cert, key) = pebble.api_identity();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let server = crate::common::server_config()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(pebble.api_root()).unwrap())
            .unwrap();
        let client = crate::common::client_config()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            answer,
            asked: Vec::new(),
            new_orders: Vec::new(),
            new_order_path: None,
            new_account_path: None,
            new_nonce_path: None,
            rate_limit: None,
            rate_limited: 0,
            forgotten: Vec::new(),
        }));
        let proxy = Proxy {
            port,
            upstream,
            directory_path: directory_path.clone(),
            connector,
            state: Arc::clone(&state),
        };
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, proxy) = (acceptor.clone(), proxy.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(sock).await {
                        proxy.serve(tls).await;
                    }
                });
            }
        });
        AriProxy {
            port,
            directory_path,
            state,
            task,
        }
    }

    /// The directory URL through the proxy.
    pub fn directory(&self) -> String {
        format!("https://127.0.0.1:{}{}", self.port, self.directory_path)
    }

    /// Changes what renewal information answers from now on.
    pub fn answer(&self, answer: Answer) {
        self.state.lock().unwrap().answer = answer;
    }

    /// The certIDs renewal information was asked for, in order.
    pub fn asked(&self) -> Vec<String> {
        self.state.lock().unwrap().asked.clone()
    }

    /// Each order pebble placed (a new-order request it answered 201), its `replaces`, in
    /// order (`None`: it had none).
    pub fn new_orders(&self) -> Vec<Option<String>> {
        self.state.lock().unwrap().new_orders.clone()
    }

    /// From now on, answers every POST to `limit.endpoint` with `429`,
    /// `Content-Type: application/problem+json`, the body
    /// `{"type":"urn:ietf:params:acme:error:rateLimited","detail":..,"status":429}`, the
    /// `Retry-After` and a fresh `Replay-Nonce`, without forwarding it; `None` forwards them
    /// again.
    pub fn rate_limit(&self, limit: Option<RateLimit>) {
        self.state.lock().unwrap().rate_limit = limit;
    }

    /// How many requests [`rate_limit`](Self::rate_limit) refused.
    pub fn rate_limited(&self) -> usize {
        self.state.lock().unwrap().rate_limited
    }

    /// From now on, answers POSTs to the order `url` (through the proxy) as pebble answers an
    /// order it does not have: `404`, no body.
    pub fn forget(&self, url: &str) {
        let path = url
            .strip_prefix(&format!("https://127.0.0.1:{}", self.port))
            .unwrap_or_else(|| panic!("{url} is not through the proxy"));
        self.state.lock().unwrap().forgotten.push(path.to_owned());
    }
}

impl Drop for AriProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Proxy {
    port: u16,
    upstream: u16,
    directory_path: String,
    connector: tokio_rustls::TlsConnector,
    state: Arc<Mutex<State>>,
}

/// A response: status, headers (name, value) and body.
type Response = (u16, Vec<(String, String)>, Vec<u8>);

impl Proxy {
    async fn serve(&self, mut tls: tokio_rustls::server::TlsStream<TcpStream>) {
        let Some((head, body)) = read_request(&mut tls).await else {
            return;
        };
        let mut words = head.split_whitespace();
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let (status, mut headers, mut body) = if let Some(id) = path
            .strip_prefix("/renewal-info/")
            .filter(|_| method == "GET")
        {
            self.renewal_info(id)
        } else if let Some(refusal) = self.refusal(method, path) {
            self.refuse(refusal).await
        } else {
            let new_order = method == "POST"
                && self.state.lock().unwrap().new_order_path.as_deref() == Some(path);
            let replaces = new_order.then(|| replaces_of(&body));
            let (status, headers, mut answer) = self.forward(&head, &body).await;
            // Only the orders pebble placed: a request it refused (a `badNonce`, which it
            // answers to 5 % of requests) is sent again by the client, and counts once.
            if let (201, Some(replaces)) = (status, &replaces) {
                self.state.lock().unwrap().new_orders.push(replaces.clone());
            }
            if method == "GET" && path == self.directory_path {
                answer = self.directory(&answer);
            }
            if let (201, Some(Some(replaces))) = (status, &replaces) {
                answer = with_json_field(&answer, "replaces", replaces);
            }
            (status, headers, answer)
        };
        headers.retain(|(name, _)| {
            !["content-length", "transfer-encoding", "connection"]
                .contains(&name.to_ascii_lowercase().as_str())
        });
        if method == "HEAD" {
            body.clear();
        }
        let mut out = format!("HTTP/1.1 {status} Proxied\r\n");
        for (name, value) in &headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        let _ = tls.write_all(&bytes).await;
        let _ = tls.shutdown().await;
    }

    fn renewal_info(&self, id: &str) -> Response {
        let mut state = self.state.lock().unwrap();
        state.asked.push(id.to_owned());
        let json = vec![("Content-Type".into(), "application/json".into())];
        match state.answer {
            Answer::Window { start, end } => {
                let body = serde_json::json!({
                    "suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)}
                });
                let mut headers = json;
                headers.push(("Retry-After".into(), "21600".into()));
                (200, headers, body.to_string().into_bytes())
            }
            Answer::Fail => {
                let body = serde_json::json!({
                    "type": "urn:ietf:params:acme:error:serverInternal",
                    "detail": "renewal information is broken (test)",
                    "status": 500,
                });
                let mut headers = json;
                // With Retry-After, so the status, not a missing header, is what fails.
                headers.push(("Retry-After".into(), "60".into()));
                (500, headers, body.to_string().into_bytes())
            }
        }
    }

    /// What to answer here instead of forwarding `method` `path`, if anything.
    fn refusal(&self, method: &str, path: &str) -> Option<Refusal> {
        if method != "POST" {
            return None;
        }
        let mut state = self.state.lock().unwrap();
        if state.forgotten.iter().any(|p| p == path) {
            return Some(Refusal::Forgotten);
        }
        let limit = state.rate_limit.clone()?;
        let refused = match limit.endpoint {
            Endpoint::NewAccount => &state.new_account_path,
            Endpoint::NewOrder => &state.new_order_path,
        };
        if refused.as_deref() != Some(path) {
            return None;
        }
        state.rate_limited += 1;
        Some(Refusal::RateLimited(limit))
    }

    /// The refusal's answer, with a fresh nonce from pebble's new-nonce.
    async fn refuse(&self, refusal: Refusal) -> Response {
        let nonce_path = self.state.lock().unwrap().new_nonce_path.clone().unwrap();
        let head = format!(
            "HEAD {nonce_path} HTTP/1.1\r\nHost: 127.0.0.1:{}",
            self.port
        );
        let (status, headers, _) = self.forward(&head, &[]).await;
        let mut headers: Vec<(String, String)> = headers
            .into_iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("replay-nonce"))
            .collect();
        assert_eq!((status, headers.len()), (200, 1), "pebble's new-nonce");
        match refusal {
            Refusal::RateLimited(limit) => {
                let body = serde_json::json!({
                    "type": "urn:ietf:params:acme:error:rateLimited",
                    "detail": limit.detail,
                    "status": 429,
                });
                headers.push(("Content-Type".into(), "application/problem+json".into()));
                headers.push(("Retry-After".into(), limit.retry_after));
                (429, headers, body.to_string().into_bytes())
            }
            Refusal::Forgotten => (404, headers, Vec::new()),
        }
    }

    /// Adds `renewalInfo` and notes the paths of new-order, new-account and new-nonce.
    fn directory(&self, body: &[u8]) -> Vec<u8> {
        let mut dir: serde_json::Value = serde_json::from_slice(body).unwrap();
        let path = |field: &str| -> Option<String> {
            let url = dir[field].as_str().unwrap();
            let path = url
                .strip_prefix(&format!("https://127.0.0.1:{}", self.port))
                .unwrap_or_else(|| panic!("pebble's {field} {url} is not through the proxy"));
            Some(path.to_owned())
        };
        let (order, account, nonce) = (path("newOrder"), path("newAccount"), path("newNonce"));
        {
            let mut state = self.state.lock().unwrap();
            state.new_order_path = order;
            state.new_account_path = account;
            state.new_nonce_path = nonce;
        }
        dir["renewalInfo"] = format!("https://127.0.0.1:{}/renewal-info", self.port).into();
        dir.to_string().into_bytes()
    }

    /// The request sent on to pebble as HTTP/1.0 (headers as they came, `Host` included).
    async fn forward(&self, head: &str, body: &[u8]) -> Response {
        let sock = TcpStream::connect(("127.0.0.1", self.upstream))
            .await
            .unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let mut tls = self.connector.connect(name, sock).await.unwrap();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap();
        let (start, _version) = request_line.rsplit_once(' ').unwrap();
        let mut out = format!("{start} HTTP/1.0\r\n");
        for line in lines.filter(|l| !l.is_empty()) {
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            if name != "connection" && name != "keep-alive" {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        tls.write_all(&bytes).await.unwrap();
        let mut response = Vec::new();
        // pebble may close without close_notify: keep what was read.
        let _ = tls.read_to_end(&mut response).await;
        let split = find(&response, b"\r\n\r\n").expect("a whole response from pebble");
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        (status, headers, response[split + 4..].to_vec())
    }
}

/// One request: its head (request line and headers, as text) and its `Content-Length` body.
async fn read_request<S: AsyncReadExt + Unpin>(stream: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let split = loop {
        if let Some(at) = find(&buf, b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "the proxy reads Content-Length bodies only: {head}"
    );
    let length: usize = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.trim().parse().unwrap());
    let mut body = buf[split + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `replaces` of a new-order JWS (its base64url payload, as signed).
fn replaces_of(jws: &[u8]) -> Option<String> {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let jws: serde_json::Value = serde_json::from_slice(jws).unwrap();
    let payload = Base64UrlUnpadded::decode_vec(jws["payload"].as_str().unwrap()).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    payload["replaces"].as_str().map(str::to_owned)
}

/// `body` (a JSON object) with `field` set to `value`, unless pebble set it already.
fn with_json_field(body: &[u8], field: &str, value: &str) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(body).unwrap();
    if json.get(field).is_none() {
        json[field] = value.into();
    }
    json.to_string().into_bytes()
}

/// `t` as RFC 3339 in UTC, whole seconds (days to a civil date: H. Hinnant's algorithm).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `t` cut to whole seconds.
pub fn whole_seconds(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t.duration_since(UNIX_EPOCH).unwrap().as_secs())
}
