//! The crate's one error type, [`Error`], and its sub-enums, one per concern.
//!
//! Every message says what was wrong and what the caller can do about it. No message ever
//! contains key material or a password. Errors of the crates we build on (`der`, `rsa`,
//! `rusqlite`, ...) are turned into these types and do not leak into the public API.
//!
//! A payload a caller may branch on is typed: a key is a [`Fingerprint`](crate::Fingerprint),
//! a time a [`SystemTime`](std::time::SystemTime), an algorithm or attribute type an
//! [`ObjectIdentifier`]. The message shows them as text (a fingerprint in hex, a time in RFC
//! 3339 UTC, an OID by name and number).

use const_oid::ObjectIdentifier;
use thiserror::Error as ThisError;

use crate::oid;

#[cfg(feature = "acme")]
mod acme;
mod certificate;
mod key;
mod name;
mod pkcs12;
mod store;

#[cfg(feature = "acme")]
pub use acme::AcmeError;
pub use certificate::{CertificateError, InstallError};
pub use key::KeyError;
pub use name::NameError;
pub use pkcs12::Pkcs12Error;
pub use store::StoreError;

/// The result type of every fallible function in this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in `keymanager`, grouped by concern.
///
/// Match on the variant to learn the concern, then on the sub-enum for the detail. The enums are
/// `#[non_exhaustive]`: new failure cases may be added in minor releases.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// Malformed PEM or DER input: truncated, trailing data, wrong label, oversized.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// A private key could not be made, read or written.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A distinguished name was invalid.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A certificate request could not be made, read or verified.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A signature could not be checked, or did not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A certificate or chain could not be read or did not verify.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// A certificate could not be installed on a pending key.
    #[error(transparent)]
    Install(#[from] InstallError),
    /// An endpoint or binding was invalid.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The key store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An identity could not be served over TLS.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// An ACME CA refused, failed or could not be reached (feature `acme`).
    #[cfg(feature = "acme")]
    #[cfg_attr(docsrs, doc(cfg(feature = "acme")))]
    #[error(transparent)]
    Acme(#[from] AcmeError),
    /// A PKCS#12 file could not be read or written.
    #[error(transparent)]
    Pkcs12(#[from] Pkcs12Error),
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Malformed PEM or DER input.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum EncodingError {
    /// No `-----BEGIN ...-----` line was found.
    #[error(
        "no PEM block found: expected a `-----BEGIN {expected}-----` line; check that the input is PEM text, not DER or another format"
    )]
    NoPemBlock {
        /// The label(s) that were expected.
        expected: String,
    },
    /// The PEM block has a label this function does not accept.
    #[error("PEM label `{found}` is not accepted here: expected {expected}")]
    WrongPemLabel {
        /// The label found in the input.
        found: String,
        /// The label(s) that were expected.
        expected: String,
    },
    /// The PEM block is malformed (bad base64, missing END line, mismatched labels).
    #[error("malformed PEM: {reason}; re-export the file or check it was not cut or edited")]
    MalformedPem {
        /// What was wrong.
        reason: String,
    },
    /// The DER input is malformed.
    #[error("malformed DER in {what}: {reason}; the data is truncated, corrupted or not a {what}")]
    MalformedDer {
        /// What we were trying to decode.
        what: &'static str,
        /// The decoder's description of the problem (never contains secret bytes).
        reason: String,
    },
    /// A textual value (such as a hex fingerprint) is malformed.
    #[error("malformed {what}: {reason}")]
    MalformedText {
        /// What we were trying to parse.
        what: &'static str,
        /// What was wrong and what is expected.
        reason: String,
    },
    /// The DER input is followed by extra bytes.
    #[error("{what} is followed by {extra} bytes of trailing data; pass exactly one DER object")]
    TrailingData {
        /// What was decoded.
        what: &'static str,
        /// How many bytes followed it.
        extra: usize,
    },
    /// The input exceeds the size limit for its kind.
    #[error(
        "{what} input is {len} bytes, over the {limit}-byte limit; this is not a plausible {what}"
    )]
    TooLarge {
        /// What was decoded.
        what: &'static str,
        /// The input length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is empty.
    #[error("empty input where a {what} was expected; check the file or buffer passed in")]
    Empty {
        /// What was expected.
        what: &'static str,
    },
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// A certificate request could not be made, read or verified.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum RequestError {
    /// The request's self-signature does not verify.
    #[error(
        "the certificate request's signature does not verify: it was altered or signed with another key"
    )]
    BadSignature,
    /// The request content is invalid.
    #[error(
        "invalid certificate request: {reason}; the request cannot be used as it is, have it made again"
    )]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The input is another kind of object, not a certificate request.
    #[error("this is {found}, not a certificate request (PKCS#10); pass the request file")]
    WrongType {
        /// What the input is.
        found: &'static str,
    },
    /// A DNS name for the subjectAltName is not a valid host name.
    #[error("invalid DNS name `{name}` for the certificate request: {reason}")]
    InvalidDnsName {
        /// The name, with control characters escaped.
        name: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The challenge password cannot be used (the message never contains it).
    #[error("invalid challenge password: {reason}; use 1 to 255 printable characters")]
    InvalidChallengePassword {
        /// What is wrong.
        reason: String,
    },
    /// DNS names or IP addresses were given for a request built without extensions.
    #[error(
        "{count} subjectAltName entries were given but the request was built without extensions; drop `without_extensions()` or the names"
    )]
    SubjectAltNamesWithoutExtensions {
        /// How many names and addresses were given.
        count: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

/// A signature could not be checked, or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature algorithm is not supported.
    #[error(
        "unsupported signature algorithm {}: supported are RSA PKCS#1 v1.5 (SHA-1/224/256/384/512), RSA-PSS and ECDSA P-256/P-384",
        oid::describe(oid)
    )]
    UnsupportedAlgorithm {
        /// The algorithm's OID.
        oid: ObjectIdentifier,
    },
    /// The signature algorithm's parameters are malformed or unsupported.
    #[error("bad signature algorithm parameters: {reason}")]
    BadParameters {
        /// What is wrong.
        reason: String,
    },
    /// The signer's public key cannot be used.
    #[error("the signer's public key cannot be used: {reason}")]
    BadKey {
        /// What is wrong.
        reason: String,
    },
    /// The signer's key is on an elliptic curve we do not support.
    #[error(
        "unsupported elliptic curve {}: ECDSA signatures are checked on P-256 (1.2.840.10045.3.1.7) and P-384 (1.3.132.0.34)",
        oid::describe(oid)
    )]
    UnsupportedCurve {
        /// The curve's OID.
        oid: ObjectIdentifier,
    },
    /// The signature does not verify.
    #[error(
        "signature does not verify: the signed data was altered, or it was signed by another key"
    )]
    Invalid,
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

/// Accepted endpoint forms, quoted by parse errors.
const ENDPOINT_FORMS: &str = "accepted forms: `0.0.0.0:443` or `[::]:443` (any address), `192.0.2.10:443` or `[2001:db8::1]:443` (one address), `www.example.com:443` or `*.example.com:443` (TLS SNI host name)";

/// An endpoint or binding was invalid.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum EndpointError {
    /// The endpoint string could not be parsed.
    #[error("invalid endpoint `{input}`: {reason}; {ENDPOINT_FORMS}")]
    Syntax {
        /// The input.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// Port 0 is not a port a server listens on.
    #[error(
        "invalid endpoint `{input}`: port 0 is not allowed, give the port the server listens on (e.g. 443)"
    )]
    PortZero {
        /// The input.
        input: String,
    },
    /// The endpoint is already bound to an entry of the same key algorithm (an endpoint holds
    /// one RSA and one ECDSA entry).
    #[error(
        "endpoint {endpoint} is already bound to entry `{entry}`, whose key is of the same algorithm (an endpoint serves one RSA and one ECDSA entry); unbind it first"
    )]
    Taken {
        /// The endpoint.
        endpoint: String,
        /// The entry bound to it.
        entry: String,
    },
    /// Nothing is bound to the endpoint.
    #[error(
        "nothing is bound to endpoint {endpoint}; the bound endpoints are listed by KeyStore::entries"
    )]
    NotBound {
        /// The endpoint.
        endpoint: String,
    },
    /// Only entries with an installed certificate can be bound.
    #[error(
        "entry `{entry}` is {state}, not installed: a key without a certificate cannot serve; install its certificate first"
    )]
    NotInstalled {
        /// The entry.
        entry: String,
        /// Its state.
        state: String,
    },
    /// A host-name endpoint is not covered by the entry's certificate.
    #[error(
        "entry `{entry}`'s certificate does not cover host `{host}` (it covers {}); bind a host it names",
        if names.is_empty() { "no DNS names".to_string() } else { names.join(", ") }
    )]
    HostNotCovered {
        /// The entry.
        entry: String,
        /// The host name.
        host: String,
        /// The certificate's DNS names.
        names: Vec<String>,
    },
}

// ---------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------

/// An identity could not be served over TLS (feature `rustls`).
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum TlsError {
    /// The TLS library refused an entry's key or certificate chain.
    #[error(
        "entry `{entry}` cannot be served over TLS: {reason}; handshakes that resolve to it fail until it is replaced (renew it with a key of at least 2048 bits)"
    )]
    Unusable {
        /// The entry.
        entry: String,
        /// What the TLS library said.
        reason: String,
    },
    /// A warning, through the resolver's error hook: the store binds nothing on the port the
    /// resolver serves, so every handshake there is refused until something is bound.
    #[error(
        "the key store binds nothing on port {} (the resolver for {local}; {bindings} binding(s) on other ports): every handshake there is refused until an entry is bound, e.g. to `0.0.0.0:{}`, `[::]:{}` or `HOST:{}`",
        local.port(), local.port(), local.port(), local.port()
    )]
    NothingBound {
        /// The address the resolver was made for.
        local: std::net::SocketAddr,
        /// How many bindings the store has (on other ports).
        bindings: usize,
    },
    /// No rustls crypto provider is installed in the process, and this build has no fallback.
    #[error(
        "no rustls CryptoProvider is installed in this process and keymanager was built without a fallback: call rustls::crypto::CryptoProvider::install_default (with ring's or aws-lc-rs's default_provider()) at the start of main, before building the resolver, or enable keymanager's feature `aws-lc-rs`"
    )]
    NoCryptoProvider,
    /// The resolver's options are invalid.
    #[error("invalid TLS resolver options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// The resolver's refresh thread could not be started.
    #[error(
        "cannot start the TLS resolver's refresh thread: {reason}; raise the process's thread limit, or build the resolver without a background thread and call refresh yourself"
    )]
    Thread {
        /// What the operating system said.
        reason: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Conversions used inside the crate
// ---------------------------------------------------------------------------------------------

impl From<crate::fingerprint::ParseFingerprintError> for Error {
    fn from(_: crate::fingerprint::ParseFingerprintError) -> Self {
        EncodingError::MalformedText {
            what: "SHA-256 fingerprint",
            reason: crate::fingerprint::ParseFingerprintError::REASON.into(),
        }
        .into()
    }
}

impl EncodingError {
    /// Turns a `der` decoding error into ours, saying what we were decoding.
    pub(crate) fn der(what: &'static str, err: der::Error) -> Self {
        match err.kind() {
            der::ErrorKind::TrailingData { remaining, .. } => EncodingError::TrailingData {
                what,
                extra: usize::try_from(u32::from(remaining)).unwrap_or(usize::MAX),
            },
            _ => EncodingError::MalformedDer {
                what,
                reason: err.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample of messages whose detail comes from elsewhere: each still ends with what to do.
    #[test]
    fn messages_say_what_to_do() {
        let cases: [(Error, &str); 6] = [
            (
                EncodingError::Empty {
                    what: "private key",
                }
                .into(),
                "check the file",
            ),
            (
                KeyError::Generation {
                    reason: "rng failure".into(),
                }
                .into(),
                "random source",
            ),
            (
                KeyError::Signing {
                    reason: "internal".into(),
                }
                .into(),
                "re-import",
            ),
            (
                RequestError::Invalid {
                    reason: "extension 2.5.29.17 is requested twice".into(),
                }
                .into(),
                "have it made again",
            ),
            (KeyError::WrongPassword.into(), "wrong password"),
            (
                KeyError::Random {
                    reason: "getrandom failed".into(),
                }
                .into(),
                "retry",
            ),
        ];
        for (error, advice) in cases {
            let message = error.to_string();
            assert!(message.contains(advice), "{message}");
        }
    }
}
