//! [`Certificate`]: an X.509 certificate as the CA sent it, and reading certificates from the
//! forms CAs send them in (DER, PEM bundles, PKCS#7 "certs-only" files).
//!
//! A certificate is kept as the exact bytes it arrived in. It is never re-encoded: `x509-cert`
//! would, for instance, re-encode a `GeneralizedTime` date before 2050 as `UTCTime`
//! ([RFC 5280 §4.1.2.5]), which changes the to-be-signed bytes and breaks the issuer's
//! signature. The to-be-signed part and the public key are sliced out of the original bytes.
//!
//! [RFC 5280 §4.1.2.5]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.5

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::ops::Range;
use std::time::SystemTime;

use const_oid::db::rfc4519;
use der::{Decode, Tag, Tagged};
use rsa::traits::PublicKeyParts;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use self::extensions::KnownExtensions;
use self::parse::{check_count, from_pem_block, non_empty, parse_der_any, tbs_and_spki_ranges};
use crate::encoding;
use crate::error::{CertificateError, EncodingError, Result};
use crate::fingerprint::{self, Fingerprint};
use crate::hostname;
use crate::key::PrivateKey;
use crate::usage::{ExtendedKeyUsage, KeyUsages};

mod extensions;
mod parse;

/// Most certificates [`Certificate::parse_any`] reads from one input.
pub const MAX_CERTIFICATES: usize = 64;

/// An X.509 certificate ([RFC 5280 §4.1]), kept as its original DER bytes.
///
/// ```text
/// Certificate  ::=  SEQUENCE  {
///      tbsCertificate       TBSCertificate,
///      signatureAlgorithm   AlgorithmIdentifier,
///      signatureValue       BIT STRING  }
///
/// TBSCertificate  ::=  SEQUENCE  {
///      version         [0]  EXPLICIT Version DEFAULT v1,
///      serialNumber         CertificateSerialNumber,
///      signature            AlgorithmIdentifier,
///      issuer               Name,
///      validity             Validity,
///      subject              Name,
///      subjectPublicKeyInfo SubjectPublicKeyInfo,
///      issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
///      subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
///      extensions      [3]  EXPLICIT Extensions OPTIONAL }
/// ```
///
/// The issuer's signature covers the DER bytes of `tbsCertificate` exactly as they arrived
/// ([RFC 5280 §4.1.1.3]); they are sliced from the original input, never re-encoded.
///
/// The extensions this crate uses (subjectAltName, keyUsage, extKeyUsage, basicConstraints,
/// subject and authority key identifiers) are decoded when the certificate is read: a
/// certificate with one of them malformed or repeated ([RFC 5280 §4.2]) is refused, so the
/// accessors cannot fail. Two certificates are equal when their DER bytes are.
///
/// [RFC 5280 §4.1]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1
/// [RFC 5280 §4.1.1.3]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.1.3
/// [RFC 5280 §4.2]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Range<usize>,
    spki: Range<usize>,
    /// See [`Certificate::fingerprint`]: computed once, it is compared often.
    fingerprint: Fingerprint,
    parsed: x509_cert::Certificate,
    extensions: KnownExtensions,
}

impl Certificate {
    /// Reads one certificate from DER; the bytes are kept as they are.
    ///
    /// Refuses empty, oversized (over 64 KiB), truncated or malformed input, trailing bytes
    /// after the certificate, a certificate whose inner and outer signature algorithms differ
    /// ([RFC 5280 §4.1.1.2]), and malformed or repeated extensions this crate reads.
    ///
    /// [RFC 5280 §4.1.1.2]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.1.2
    pub fn from_der(der: &[u8]) -> Result<Self> {
        encoding::check_der_len("certificate", der)?;
        let parsed = x509_cert::Certificate::from_der(der)
            .map_err(|e| EncodingError::der("certificate", e))?;
        let (tbs, spki) = tbs_and_spki_ranges(der)?;
        if parsed.tbs_certificate().signature() != parsed.signature_algorithm() {
            return Err(CertificateError::Invalid {
                reason: "the signature algorithm inside the signed part differs from the one \
                         outside it (RFC 5280 §4.1.1.2): the certificate was altered; get an \
                         unmodified copy from the certificate authority"
                    .into(),
            }
            .into());
        }
        let extensions = KnownExtensions::decode(parsed.tbs_certificate())?;
        let fingerprint = Fingerprint::of_spki_der(der.get(spki.clone()).unwrap_or_default());
        Ok(Self {
            der: der.to_vec(),
            tbs,
            spki,
            fingerprint,
            parsed,
            extensions,
        })
    }

    /// Reads exactly one `CERTIFICATE` PEM block; text around it is allowed.
    ///
    /// A bundle of several certificates is refused (use [`chain_from_pem`](Self::chain_from_pem));
    /// a request or private key is refused with [`CertificateError::IsRequest`] /
    /// [`CertificateError::IsPrivateKey`].
    pub fn from_pem(pem: &str) -> Result<Self> {
        let mut certs = Self::chain_from_pem(pem)?;
        if certs.len() != 1 {
            return Err(EncodingError::MalformedPem {
                reason: format!(
                    "found {} certificates where one was expected; read a bundle with \
                     `Certificate::chain_from_pem`",
                    certs.len()
                ),
            }
            .into());
        }
        Ok(certs.remove(0))
    }

    /// Reads every certificate of a PEM bundle, in file order; text around the blocks is allowed.
    ///
    /// Accepts `CERTIFICATE` (and the legacy `X509 CERTIFICATE`) blocks, and `PKCS7` blocks
    /// holding certificates. Any other block is refused, never skipped: a private key
    /// ([`CertificateError::IsPrivateKey`]), a request ([`CertificateError::IsRequest`]) or
    /// another label ([`EncodingError::WrongPemLabel`]).
    pub fn chain_from_pem(pem: &str) -> Result<Vec<Self>> {
        let blocks = encoding::pem_blocks("certificate", "CERTIFICATE", pem)?;
        let mut certs = Vec::new();
        for block in &blocks {
            certs.extend(from_pem_block(block)?);
            check_count(certs.len())?;
        }
        non_empty(
            certs,
            "the PEM holds no certificate; pass the `CERTIFICATE` blocks your certificate \
             authority returned",
        )
    }

    /// Reads certificates in whatever form a CA sent them.
    ///
    /// ```text
    /// DER Certificate                    -> one certificate
    /// PEM text (one block or a bundle)   -> as `chain_from_pem`
    /// PKCS#7 certs-only (.p7b / .p7c),   -> the certificates of its SignedData
    ///   DER or PEM `PKCS7`
    /// ```
    ///
    /// From a PKCS#7 / CMS file, the `certificate` choices of the SignedData `certificates`
    /// field are read ([RFC 5652 §5.1], [RFC 2315 §9.1]); other choices (attribute
    /// certificates), the CRLs and the signerInfos (empty in a certs-only file) are ignored:
    /// each certificate carries its own signature, checked when a [`Chain`](crate::Chain) is
    /// built.
    ///
    /// ```text
    /// ContentInfo ::= SEQUENCE {
    ///   contentType ContentType,                 -- id-signedData 1.2.840.113549.1.7.2
    ///   content [0] EXPLICIT ANY DEFINED BY contentType }
    ///
    /// SignedData ::= SEQUENCE {
    ///   version CMSVersion,
    ///   digestAlgorithms DigestAlgorithmIdentifiers,
    ///   encapContentInfo EncapsulatedContentInfo,
    ///   certificates [0] IMPLICIT CertificateSet OPTIONAL,
    ///   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
    ///   signerInfos SignerInfos }
    ///
    /// CertificateSet ::= SET OF CertificateChoices
    /// ```
    ///
    /// The file must be DER; a BER file with indefinite lengths (written by streaming tools)
    /// is refused with how to re-encode it.
    ///
    /// A certificate request gives [`CertificateError::IsRequest`]; a private key (PKCS#8,
    /// encrypted PKCS#8, PKCS#1, SEC1, in DER or PEM) gives [`CertificateError::IsPrivateKey`],
    /// and its bytes are never echoed; a bare public key gives
    /// [`CertificateError::NoCertificate`].
    ///
    /// [RFC 5652 §5.1]: https://datatracker.ietf.org/doc/html/rfc5652#section-5.1
    /// [RFC 2315 §9.1]: https://datatracker.ietf.org/doc/html/rfc2315#section-9.1
    pub fn parse_any(input: &[u8]) -> Result<Vec<Self>> {
        if input.trim_ascii().is_empty() {
            return Err(EncodingError::Empty {
                what: "certificate",
            }
            .into());
        }
        if input.first() == Some(&0x30) {
            return parse_der_any(input);
        }
        match std::str::from_utf8(input) {
            Ok(text) => Self::chain_from_pem(text),
            Err(_) => Err(EncodingError::MalformedDer {
                what: "certificate",
                reason: "the input is neither PEM text nor DER (DER starts with byte 0x30)".into(),
            }
            .into()),
        }
    }

    /// The original DER bytes, exactly as read.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding (label `CERTIFICATE`, `\n` line endings) of the original bytes.
    pub fn to_pem(&self) -> String {
        encoding::pem_encode("CERTIFICATE", &self.der)
    }

    /// The subject name as an RFC 4514 string (most specific attribute first).
    ///
    /// Control characters and Unicode bidirectional controls (with which a hostile
    /// certificate could make its name display as another) are written as RFC 4514 hex
    /// escapes of their UTF-8 bytes (`\E2\80\AE` for U+202E), as
    /// [`CertificateRequest::subject`](crate::CertificateRequest::subject) does.
    pub fn subject(&self) -> String {
        crate::name::display_x509_name(self.subject_name())
    }

    /// The issuer name as an RFC 4514 string, escaped as [`subject`](Self::subject) is.
    pub fn issuer(&self) -> String {
        crate::name::display_x509_name(self.issuer_name())
    }

    /// The serial number's DER content octets, as encoded (sign byte included): what an ARI
    /// CertID (RFC 9773 §4.1) is made of.
    #[cfg(feature = "acme")]
    pub(crate) fn serial_der(&self) -> &[u8] {
        self.parsed.tbs_certificate().serial_number().as_bytes()
    }

    /// The serial number in upper-case hex, without a sign byte (as `openssl x509 -serial`).
    pub fn serial_hex(&self) -> String {
        let bytes = self.parsed.tbs_certificate().serial_number().as_bytes();
        let start = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len().saturating_sub(1));
        hex::encode_upper(bytes.get(start..).unwrap_or(bytes))
    }

    /// Start of the validity period ([RFC 5280 §4.1.2.5]).
    ///
    /// [RFC 5280 §4.1.2.5]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.5
    pub fn not_before(&self) -> SystemTime {
        self.parsed
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
    }

    /// End of the validity period (inclusive).
    pub fn not_after(&self) -> SystemTime {
        self.parsed
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time()
    }

    /// Checks that `t` lies within the validity period, both ends included.
    ///
    /// Fails with [`CertificateError::NotYetValid`] or [`CertificateError::Expired`].
    pub fn check_validity_at(&self, t: SystemTime) -> Result<()> {
        if t < self.not_before() {
            return Err(CertificateError::NotYetValid {
                subject: self.subject_for_message(),
                not_before: self.not_before(),
            }
            .into());
        }
        if t > self.not_after() {
            return Err(CertificateError::Expired {
                subject: self.subject_for_message(),
                not_after: self.not_after(),
            }
            .into());
        }
        Ok(())
    }

    /// The subjectAltName `dNSName` entries, as written in the certificate.
    pub fn dns_names(&self) -> Vec<String> {
        self.san_entries()
            .filter_map(|n| match n {
                GeneralName::DnsName(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The subjectAltName `iPAddress` entries (4 or 16 bytes; other lengths are skipped).
    pub fn ip_addresses(&self) -> Vec<IpAddr> {
        self.san_entries()
            .filter_map(|n| match n {
                GeneralName::IpAddress(o) => hostname::ip_from_san(o.as_bytes()),
                _ => None,
            })
            .collect()
    }

    /// Whether this certificate names `host`, as a TLS client would check it ([RFC 6125 §6.4]).
    ///
    /// An IP address matches a subjectAltName `iPAddress` only. A DNS name matches a
    /// subjectAltName `dNSName` ignoring ASCII case and one trailing dot; a wildcard `*` stands
    /// for exactly one whole leftmost label (`*.example.com` covers `www.example.com`, not
    /// `example.com` nor `a.b.example.com`). The subject's common names are consulted only
    /// when the certificate has no subjectAltName extension at all. Pass internationalised
    /// names in their A-label (`xn--`) form.
    ///
    /// [RFC 6125 §6.4]: https://datatracker.ietf.org/doc/html/rfc6125#section-6.4
    pub fn covers_host(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        if let Some(ip) = parse_ip(host) {
            return self.ip_addresses().contains(&ip);
        }
        if hostname::check_host_name(host, false).is_err() {
            return false;
        }
        let patterns = match &self.extensions.san {
            Some(_) => self.dns_names(),
            None => self.common_names(),
        };
        patterns.iter().any(|p| dns_name_matches(p, host))
    }

    /// The keyUsage extension ([RFC 5280 §4.2.1.3]), or `None` when absent.
    ///
    /// [RFC 5280 §4.2.1.3]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.3
    pub fn key_usage(&self) -> Option<KeyUsages> {
        self.extensions.key_usage
    }

    /// The extKeyUsage extension's purposes ([RFC 5280 §4.2.1.12]), in certificate order, or
    /// `None` when absent.
    ///
    /// [RFC 5280 §4.2.1.12]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.12
    pub fn extended_key_usage(&self) -> Option<&[ExtendedKeyUsage]> {
        self.extensions.extended_key_usage.as_deref()
    }

    /// Whether the certificate may authenticate a TLS server: it has no extKeyUsage, or its
    /// extKeyUsage holds `id-kp-serverAuth` (1.3.6.1.5.5.7.3.1) or `anyExtendedKeyUsage`
    /// (2.5.29.37.0).
    pub fn allows_server_auth(&self) -> bool {
        match &self.extensions.extended_key_usage {
            None => true,
            Some(purposes) => purposes.iter().any(ExtendedKeyUsage::allows_server_auth),
        }
    }

    /// Whether the basicConstraints extension says this is a CA certificate.
    pub fn is_ca(&self) -> bool {
        self.extensions
            .basic_constraints
            .as_ref()
            .is_some_and(|bc| bc.ca)
    }

    /// The subject's public key as DER `SubjectPublicKeyInfo` ([RFC 5280 §4.1.2.7]), sliced
    /// from the original bytes.
    ///
    /// ```text
    /// SubjectPublicKeyInfo  ::=  SEQUENCE  {
    ///      algorithm            AlgorithmIdentifier,
    ///      subjectPublicKey     BIT STRING  }
    /// ```
    ///
    /// [RFC 5280 §4.1.2.7]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.7
    pub fn public_key_der(&self) -> &[u8] {
        self.der.get(self.spki.clone()).unwrap_or_default()
    }

    /// The identity of the certificate's key: equal to [`PrivateKey::fingerprint`] exactly when
    /// [`matches`](Self::matches) says the certificate is for that key.
    ///
    /// It is [`Fingerprint::of_spki_der`] of [`public_key_der`](Self::public_key_der): the
    /// SHA-256 of the key's canonical `SubjectPublicKeyInfo`, so a certificate that encodes
    /// the key's modulus and exponent differently (parameters absent, or the `id-RSASSA-PSS`
    /// algorithm) still has the key's fingerprint, and a key store indexed by fingerprint
    /// finds it.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Whether this certificate is for `key`. For RSA the modulus and public exponent are
    /// decoded from both and compared as numbers, so differences in encoding do not matter;
    /// an ECDSA key matches a certificate with the same [fingerprint](Self::fingerprint) (the
    /// curve and uncompressed point, as CAs copy them from the request).
    pub fn matches(&self, key: &PrivateKey) -> bool {
        let Some(rsa) = key.rsa() else {
            return self.fingerprint == key.fingerprint();
        };
        let Some((n, e)) = fingerprint::rsa_numbers(self.public_key_der()) else {
            return false;
        };
        fingerprint::strip_zeros(&rsa.n_bytes()) == n
            && fingerprint::strip_zeros(&rsa.e_bytes()) == e
    }

    /// Whether the issuer and subject names are the same (a root, or a CA's key rollover
    /// certificate, [RFC 5280 §3.2]).
    ///
    /// [RFC 5280 §3.2]: https://datatracker.ietf.org/doc/html/rfc5280#section-3.2
    pub fn is_self_issued(&self) -> bool {
        names_match(self.issuer_name(), self.subject_name())
    }

    /// The subjectKeyIdentifier, when present.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.extensions.subject_key_id.as_deref()
    }

    /// The authorityKeyIdentifier's `keyIdentifier`, when present.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.extensions.authority_key_id.as_deref()
    }

    /// Checks that `issuer`'s key made this certificate's signature, over the original
    /// to-be-signed bytes.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Result<()> {
        let sig = self
            .parsed
            .signature()
            .as_bytes()
            .ok_or_else(|| CertificateError::Invalid {
                reason: "the signature BIT STRING has unused bits, so the certificate is corrupt; \
                         get a fresh copy from the certificate authority"
                    .into(),
            })?;
        crate::verify::verify_signature(
            issuer.public_key_der(),
            self.signature_algorithm(),
            self.tbs_der(),
            sig,
        )
    }

    /// The subject as error messages and `Debug` show it: [`subject`](Self::subject), cut
    /// after [`MAX_SHOWN_NAME`] characters, so that a certificate with a huge name cannot make
    /// an error message (which may list 64 certificates) or a log line megabytes long.
    pub(crate) fn subject_for_message(&self) -> String {
        shorten(self.subject())
    }

    /// The subject as a parsed name.
    pub(crate) fn subject_name(&self) -> &Name {
        self.parsed.tbs_certificate().subject()
    }

    /// The issuer as a parsed name.
    pub(crate) fn issuer_name(&self) -> &Name {
        self.parsed.tbs_certificate().issuer()
    }

    /// The original to-be-signed bytes.
    pub(crate) fn tbs_der(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// The outer signature algorithm.
    pub(crate) fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        self.parsed.signature_algorithm()
    }

    /// The parsed certificate, for use inside the crate.
    pub(crate) fn x509(&self) -> &x509_cert::Certificate {
        &self.parsed
    }

    fn san_entries(&self) -> impl Iterator<Item = &GeneralName> {
        self.extensions.san.iter().flatten()
    }

    fn common_names(&self) -> Vec<String> {
        self.subject_name()
            .iter()
            .filter(|atv| atv.oid == rfc4519::COMMON_NAME)
            .filter_map(|atv| directory_string(&atv.value))
            .collect()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl Hash for Certificate {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.der.hash(state);
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject_for_message())
            .field("issuer", &shorten(self.issuer()))
            .field("serial", &self.serial_hex())
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// Whether two names are the same issuer/subject: equal DER, or equal after ASCII case
/// folding and whitespace collapsing of their RFC 4514 forms (a simplified [RFC 5280 §7.1]
/// comparison, for CAs that change a string type or case between certificates).
///
/// [RFC 5280 §7.1]: https://datatracker.ietf.org/doc/html/rfc5280#section-7.1
pub(crate) fn names_match(a: &Name, b: &Name) -> bool {
    a == b || name_key(a) == name_key(b)
}

/// The form in which [`names_match`] compares names: two names match when their keys are
/// equal. Rendering a name costs time proportional to its size, so code that compares many
/// names computes each key once.
pub(crate) fn name_key(name: &Name) -> String {
    name.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// How many characters of a name error messages and `Debug` show.
pub(crate) const MAX_SHOWN_NAME: usize = 256;

/// `name` cut after [`MAX_SHOWN_NAME`] characters, saying how much was left out.
fn shorten(name: String) -> String {
    let total = name.chars().count();
    if total <= MAX_SHOWN_NAME {
        return name;
    }
    let mut out: String = name.chars().take(MAX_SHOWN_NAME).collect();
    out.push_str(&format!("... ({} more characters)", total - MAX_SHOWN_NAME));
    out
}

/// An IP literal, also in URL brackets (`[::1]`).
fn parse_ip(host: &str) -> Option<IpAddr> {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    inner.parse().ok()
}

/// [RFC 6125 §6.4.1] and §6.4.3 matching of one presented identifier against a host name that
/// is already known to be a valid, wildcard-free DNS name.
///
/// [RFC 6125 §6.4.1]: https://datatracker.ietf.org/doc/html/rfc6125#section-6.4.1
fn dns_name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    if hostname::check_host_name(pattern, true).is_err() {
        return false;
    }
    match pattern.strip_prefix("*.") {
        None => pattern.eq_ignore_ascii_case(host),
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(suffix)),
    }
}

/// The text of a DirectoryString attribute value (UTF8String, PrintableString, IA5String,
/// TeletexString taken as Latin-1-compatible ASCII).
fn directory_string(value: &der::Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(value.value()).ok().map(str::to_owned)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_wildcards_cover_exactly_one_leftmost_label() {
        assert!(dns_name_matches("www.example.com", "WWW.example.COM"));
        assert!(dns_name_matches("*.example.com", "www.example.com"));
        assert!(dns_name_matches("*.Example.com", "a.example.COM"));
        assert!(!dns_name_matches("*.example.com", "example.com"));
        assert!(!dns_name_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_name_matches("*.com", "example.com"));
        assert!(!dns_name_matches("w*.example.com", "www.example.com"));
        assert!(!dns_name_matches("www.*.com", "www.example.com"));
        assert!(!dns_name_matches("other.example.com", "www.example.com"));
    }

    #[test]
    fn ip_literals() {
        assert_eq!(parse_ip("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(parse_ip("192.0.2.1"), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(parse_ip("example.com"), None);
    }
}
