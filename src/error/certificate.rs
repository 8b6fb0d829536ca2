//! The errors of certificates: reading them and building chains ([`CertificateError`]), and
//! installing one on a pending key ([`InstallError`]).

use crate::time::format_utc;
use std::time::SystemTime;

use thiserror::Error as ThisError;

use crate::fingerprint::Fingerprint;

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

/// A certificate or chain could not be read or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum CertificateError {
    /// The input holds no certificate.
    #[error("no certificate found in the input: {hint}")]
    NoCertificate {
        /// What was found instead, and what to do.
        hint: String,
    },
    /// The certificate content is invalid.
    #[error("invalid certificate: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The input is a certificate request (CSR), not a certificate: a CSR given where a
    /// certificate was expected, be it to read or to install.
    #[error(
        "the input is a certificate request (CSR), not a certificate: send it to your certificate authority and install the certificate it returns"
    )]
    IsRequest,
    /// The input holds a private key where certificates were expected. The key is never echoed.
    #[error(
        "the input contains a private key where only certificates were expected: pass the certificate file alone, and keep the private key file secret"
    )]
    IsPrivateKey,
    /// The certificate's validity period ended before the time it was checked at.
    #[error(
        "the certificate for `{subject}` expired at {}: ask your certificate authority for a new one",
        format_utc(*not_after)
    )]
    Expired {
        /// The certificate's subject (RFC 4514, cut after 256 characters).
        subject: String,
        /// The end of the validity period (shown in RFC 3339, UTC).
        not_after: SystemTime,
    },
    /// The certificate's validity period starts after the time it was checked at.
    #[error(
        "the certificate for `{subject}` is not valid before {}: check the system clock, or wait until then",
        format_utc(*not_before)
    )]
    NotYetValid {
        /// The certificate's subject (RFC 4514, cut after 256 characters).
        subject: String,
        /// The start of the validity period (shown in RFC 3339, UTC).
        not_before: SystemTime,
    },
    /// A certificate in a chain is not signed by the certificate named as its issuer.
    #[error(
        "the chain is broken between `{child}` (serial {child_serial}) and its issuer `{issuer}` (serial {issuer_serial}): {reason}; get the matching intermediate certificates from your certificate authority"
    )]
    BrokenLink {
        /// The subject of the certificate whose signature was checked (cut after 256
        /// characters, as all subjects in these errors).
        child: String,
        /// The serial number (hex) of that certificate: CA certificates often share a subject.
        /// (`Box<str>` rather than `String` keeps [`Error`](super::Error) small.)
        child_serial: Box<str>,
        /// The subject of the certificate that should have signed it.
        issuer: String,
        /// The serial number (hex) of the certificate that should have signed it.
        issuer_serial: Box<str>,
        /// Why the link does not hold.
        reason: String,
    },
    /// No certificate in the input carries the given public key.
    #[error(
        "no certificate carries the public key with fingerprint {fingerprint}: the certificates were issued for another key; check that you picked the certificate for this key"
    )]
    NoLeaf {
        /// The SPKI fingerprint that was looked for.
        fingerprint: Fingerprint,
    },
    /// Several different certificates carry the leaf's public key, so the leaf is ambiguous.
    #[error(
        "{count} different certificates carry the public key with fingerprint {fingerprint} (serial numbers {}): pass only the one to use",
        .serials.join(", ")
    )]
    AmbiguousLeaf {
        /// The SPKI fingerprint of the leaf key.
        fingerprint: Fingerprint,
        /// How many distinct certificates carry it.
        count: usize,
        /// Their serial numbers (hex), in input order, to tell them apart.
        serials: Vec<String>,
    },
    /// Certificates that are not part of the leaf's issuer chain were passed.
    #[error(
        "these certificates are not part of the chain of `{leaf}`: `{}`; remove them, or check that the right intermediate certificates were passed",
        .subjects.join("`, `")
    )]
    NotInChain {
        /// The leaf's subject.
        leaf: String,
        /// The subjects of the certificates that do not belong to the chain.
        subjects: Vec<String>,
    },
    /// The input holds more certificates than a chain may have.
    #[error("{count} certificates is more than the limit of {limit}: pass only the server's chain")]
    TooMany {
        /// How many certificates were passed.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// Installing
// ---------------------------------------------------------------------------------------------

/// A certificate could not be installed on a pending key.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum InstallError {
    /// No pending key matches the certificate's public key.
    #[error(
        "no pending key matches the certificate for `{subject}` (key fingerprint {fingerprint}); {}",
        describe_candidates(candidates)
    )]
    NoMatchingKey {
        /// The certificate's subject.
        subject: String,
        /// The certificate's SPKI fingerprint.
        fingerprint: Fingerprint,
        /// Pending entries with the same subject or a DNS name in common, as `(name, key
        /// fingerprint)`: the CA may have certified another key than the one requested, or the
        /// request was made elsewhere.
        candidates: Vec<(String, Fingerprint)>,
    },
    /// The certificate's key already has an installed certificate.
    #[error(
        "the key of this certificate (fingerprint {fingerprint}) already has a certificate installed, in entry `{entry}`; to replace it, renew the entry and install the new certificate on the renewal"
    )]
    AlreadyInstalled {
        /// The entry holding the key.
        entry: String,
        /// The key's fingerprint.
        fingerprint: Fingerprint,
    },
    /// The certificate is expired or not yet valid (`now` is after `not_after`, or before
    /// `not_before`).
    #[error(
        "the certificate for `{subject}` is {}; install it anyway only if you know why (InstallOptions::allow_invalid_dates)",
        if now > not_after { format!("expired since {}", format_utc(*not_after)) }
        else { format!("not valid before {}", format_utc(*not_before)) }
    )]
    InvalidDates {
        /// The certificate's subject.
        subject: String,
        /// The start of its validity period.
        not_before: SystemTime,
        /// The end of its validity period (inclusive).
        not_after: SystemTime,
        /// The time it was checked at.
        now: SystemTime,
    },
    /// The CA left out names that were requested.
    #[error(
        "the certificate for entry `{entry}` does not cover requested name(s) {}: the CA dropped them; it covers {}. Ask the CA to reissue, or request again without those names",
        dropped.join(", "),
        if certified.is_empty() { "no names".to_string() } else { certified.join(", ") }
    )]
    NamesDropped {
        /// The entry.
        entry: String,
        /// The requested names the certificate does not cover.
        dropped: Vec<String>,
        /// The names the certificate does cover.
        certified: Vec<String>,
    },
    /// The certificate may not be used by a TLS server.
    #[error(
        "the certificate for `{subject}` does not allow TLS server authentication (its extendedKeyUsage lacks serverAuth, 1.3.6.1.5.5.7.3.1): ask the CA for a server certificate"
    )]
    NoServerAuth {
        /// The certificate's subject.
        subject: String,
    },
    /// A renewal's certificate does not cover host bindings of the entry it renews.
    #[error(
        "the renewal's certificate does not cover {} bound to entry `{entry}` (it covers {}): unbind them first, or ask the CA for a certificate naming them",
        endpoints.join(", "),
        if certified.is_empty() { "no names".to_string() } else { certified.join(", ") }
    )]
    RenewalDropsBindings {
        /// The entry being renewed.
        entry: String,
        /// Its host-name endpoints the new certificate does not cover.
        endpoints: Vec<String>,
        /// The names the new certificate covers.
        certified: Vec<String>,
    },
    /// A request given with a key was made for another key.
    #[error(
        "the certificate request is for key {request_fingerprint}, not for the given key {key_fingerprint}: pass the request made with this key"
    )]
    RequestKeyMismatch {
        /// The request's key fingerprint.
        request_fingerprint: Fingerprint,
        /// The key's fingerprint.
        key_fingerprint: Fingerprint,
    },
    /// A certificate given with a key (to import them together) is for another key.
    #[error(
        "the certificate for `{subject}` (key fingerprint {}) is not for the given key {key_fingerprint}: pass the certificate issued for this key, or the key this certificate was issued for",
        certificate_fingerprint.map_or_else(|| "none".to_owned(), |f| f.to_hex())
    )]
    KeyMismatch {
        /// The certificate's subject (of the leaf, when the input holds a chain).
        subject: String,
        /// The certificate's key fingerprint (`None` when the input holds no certificate).
        certificate_fingerprint: Option<Fingerprint>,
        /// The given key's fingerprint.
        key_fingerprint: Fingerprint,
    },
}

fn describe_candidates(candidates: &[(String, Fingerprint)]) -> String {
    if candidates.is_empty() {
        return "no pending key has this subject or names either: was the request made with another key store, or was its entry removed?".into();
    }
    let list: Vec<String> = candidates
        .iter()
        .map(|(name, fp)| format!("`{name}` (key {fp})"))
        .collect();
    format!(
        "pending keys for this subject or its names: {}; the CA certified a different key than any of these",
        list.join(", ")
    )
}
