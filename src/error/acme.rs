//! The errors of ACME (feature `acme`): the CA refused, failed or could not be reached
//! ([`AcmeError`]).

use thiserror::Error as ThisError;

/// An ACME CA refused, failed or could not be reached (feature `acme`).
///
/// The CA's problem documents (RFC 8555 §6.7) become the variants named after them, each with
/// the CA's own `detail`; problems with no variant of their own are [`AcmeError::Problem`].
/// In every case nothing was installed: the store keeps what the call prepared (the pending
/// key and request, the order's record saying how it ended) for the next attempt, which
/// resumes the order or places a new one for the same key.
#[cfg_attr(docsrs, doc(cfg(feature = "acme")))]
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum AcmeError {
    /// The options or a request are invalid.
    #[error("invalid ACME options: {reason}")]
    InvalidOptions {
        /// What is wrong and what to do.
        reason: String,
    },
    /// The account does not exist yet and the CA's terms were not agreed to.
    #[error(
        "the ACME account for {directory} does not exist yet and creating one needs agreement to the CA's terms of service: read them, then pass agree_to_terms(true) (--agree-tos)"
    )]
    TermsNotAgreed {
        /// The directory URL.
        directory: String,
    },
    /// The CA requires an external account binding (`externalAccountRequired`).
    #[error(
        "the CA requires an external account binding: {detail}; get a key id and HMAC key from the CA's account page and pass them (--eab-kid, --eab-hmac-fd)"
    )]
    ExternalAccountRequired {
        /// The CA's detail.
        detail: String,
    },
    /// The CA does not know the account (`accountDoesNotExist`).
    #[error(
        "the CA does not know this ACME account: {detail}; it may have been deactivated: create a new one"
    )]
    AccountDoesNotExist {
        /// The CA's detail.
        detail: String,
    },
    /// The account may not do this (`unauthorized`), or a validation proved no control.
    #[error(
        "the CA refused: not authorized: {detail}; check that the names are yours and that the challenge answer is served where the CA looks"
    )]
    Unauthorized {
        /// The CA's detail.
        detail: String,
    },
    /// Too many requests (`rateLimited`).
    #[error("the CA's rate limit was hit: {detail}; {}", retry_hint(retry_after))]
    RateLimited {
        /// The CA's detail.
        detail: String,
        /// When the CA says to try again (its Retry-After), if it said.
        retry_after: Option<std::time::SystemTime>,
    },
    /// The CA refused the request (`badCSR`).
    #[error(
        "the CA refused the certificate request: {detail}; issue again with a new key (remove the pending entry first)"
    )]
    BadCsr {
        /// The CA's detail.
        detail: String,
    },
    /// The CA will not issue for an identifier (`rejectedIdentifier`).
    #[error(
        "the CA will not issue for this identifier: {detail}; drop the name from the request (the CA's policy forbids it)"
    )]
    RejectedIdentifier {
        /// The CA's detail.
        detail: String,
    },
    /// The CA does not support an identifier type (`unsupportedIdentifier`).
    #[error(
        "the CA does not support this identifier: {detail}; IP addresses need a CA that offers them (RFC 8738)"
    )]
    UnsupportedIdentifier {
        /// The CA's detail.
        detail: String,
    },
    /// A CAA record forbids this CA (`caa`).
    #[error(
        "a DNS CAA record forbids this CA from issuing: {detail}; add the CA to the domain's CAA records"
    )]
    Caa {
        /// The CA's detail.
        detail: String,
    },
    /// The CA's validator could not connect to the server answering the challenge
    /// (`connection`).
    #[error(
        "the CA could not reach the challenge answer for {identifier}: {detail}; check that the name resolves to this server and that the port (80 for http-01, 443 for tls-alpn-01) is open to the internet"
    )]
    Connection {
        /// The identifier validated.
        identifier: String,
        /// The CA's detail.
        detail: String,
    },
    /// A DNS lookup failed during validation (`dns`).
    #[error(
        "the CA's DNS lookup failed for {identifier}: {detail}; check the name's DNS records (and, for dns-01, the TXT record)"
    )]
    Dns {
        /// The identifier validated.
        identifier: String,
        /// The CA's detail.
        detail: String,
    },
    /// The challenge answer was wrong (`incorrectResponse`).
    #[error(
        "the CA got a wrong challenge answer for {identifier}: {detail}; another server may be answering for this name (a proxy, a CDN, another host)"
    )]
    IncorrectResponse {
        /// The identifier validated.
        identifier: String,
        /// The CA's detail.
        detail: String,
    },
    /// The TLS handshake of a validation failed (`tls`).
    #[error(
        "the CA's TLS validation failed for {identifier}: {detail}; for tls-alpn-01 the server must offer ALPN `acme-tls/1` (see keymanager::tls)"
    )]
    TlsValidation {
        /// The identifier validated.
        identifier: String,
        /// The CA's detail.
        detail: String,
    },
    /// The CA kept refusing our nonces (`badNonce`) after the retries.
    #[error("the CA kept refusing nonces: {detail}; try again")]
    BadNonce {
        /// The CA's detail.
        detail: String,
    },
    /// The CA failed (`serverInternal`).
    #[error("the CA failed: {detail}; try again later")]
    ServerInternal {
        /// The CA's detail.
        detail: String,
    },
    /// Another problem document.
    #[error("the CA refused ({kind}): {detail}")]
    Problem {
        /// The problem type (`urn:ietf:params:acme:error:...`).
        kind: String,
        /// The CA's detail.
        detail: String,
    },
    /// The CA offers no challenge of the chosen type for an identifier.
    #[error(
        "the CA offers no {kind} challenge for {identifier} (it offers: {}); choose one of those", offered.join(", ")
    )]
    NoChallenge {
        /// The identifier.
        identifier: String,
        /// The challenge type wanted.
        kind: &'static str,
        /// The types offered.
        offered: Vec<String>,
    },
    /// The order became invalid with no more specific problem.
    #[error("the CA's order {url} is invalid: {detail}; issue again to place a new order")]
    OrderInvalid {
        /// The order's URL.
        url: String,
        /// What the CA said.
        detail: String,
    },
    /// A wait on the CA took too long.
    #[error(
        "timed out after {} s {during}; the order stays recorded: run the same command again to resume it", waited.as_secs()
    )]
    Timeout {
        /// What we were waiting for.
        during: &'static str,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// The CA could not be reached.
    #[error(
        "cannot reach the ACME CA {during}: {reason}; check the directory URL, the network and, for a private CA, its root (--ca-root)"
    )]
    Network {
        /// What we were doing.
        during: &'static str,
        /// What failed.
        reason: String,
    },
    /// The CA answered something this client does not understand.
    #[error("unexpected answer from the ACME CA {during}: {reason}")]
    Protocol {
        /// What we were doing.
        during: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The dns-01 provider failed.
    #[error("the DNS provider could not set or clear {record}: {reason}")]
    Dns01Provider {
        /// The TXT record's name.
        record: String,
        /// The provider's error.
        reason: String,
    },
    /// The http-01 responder could not start.
    #[error("cannot answer http-01 on {address}: {reason}; choose a free address (--listen)")]
    Responder {
        /// The address.
        address: String,
        /// What the operating system said.
        reason: String,
    },
    /// The async runtime failed (a blocking task panicked or the runtime is shutting down).
    #[error("the async runtime failed: {reason}")]
    Runtime {
        /// What failed.
        reason: String,
    },
}

fn retry_hint(retry_after: &Option<std::time::SystemTime>) -> String {
    match retry_after.and_then(|t| t.duration_since(std::time::SystemTime::now()).ok()) {
        Some(wait) => format!("the CA says to retry in {} s", wait.as_secs()),
        None => "wait before retrying (Let's Encrypt allows 300 new orders per 3 hours)".into(),
    }
}
