//! [`CertificateRequest`]: the PKCS#10 request that goes to a CA ([RFC 2986]).
//!
//! ```text
//! CertificationRequest ::= SEQUENCE {
//!      certificationRequestInfo CertificationRequestInfo,
//!      signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
//!      signature          BIT STRING
//! }
//!
//! CertificationRequestInfo ::= SEQUENCE {
//!      version       INTEGER { v1(0) } (v1,...),
//!      subject       Name,
//!      subjectPKInfo SubjectPublicKeyInfo{{ PKInfoAlgorithms }},
//!      attributes    [0] Attributes{{ CRIAttributes }}
//! }
//! ```
//!
//! A request we build names the server in its subject and asks, in an `extensionRequest`
//! attribute ([RFC 2985 §5.4.2], [RFC 5272 §3.1]), for:
//!
//! - `subjectAltName` ([RFC 5280 §4.2.1.6]) with every DNS name and IP address of the server.
//!   The common name (a host name) is always one of them: browsers
//!   ignore the CN and match only the subjectAltName ([RFC 6125 §6.4.4]).
//! - `keyUsage` `digitalSignature` and `keyEncipherment`, critical ([RFC 5280 §4.2.1.3]): what an
//!   RSA TLS server key does.
//! - `extKeyUsage` `serverAuth` ([RFC 5280 §4.2.1.12]).
//!
//! A request without extensions has no `extensionRequest` attribute at all (not an empty one,
//! which [RFC 5272 §3.1]'s `SIZE (1..MAX)` forbids). It is signed with RSA PKCS#1 v1.5 and
//! SHA-256 (or SHA-384 / SHA-512, see [`SignatureHash`]).
//!
//! Requests from elsewhere are read from PEM or DER and their self-signature checked with RSA
//! PKCS#1 v1.5 (SHA-1/224/256/384/512), RSA-PSS or ECDSA (P-256, P-384).
//!
//! [RFC 2986]: https://datatracker.ietf.org/doc/html/rfc2986#section-4
//! [RFC 2985 §5.4.2]: https://datatracker.ietf.org/doc/html/rfc2985#section-5.4.2
//! [RFC 5272 §3.1]: https://datatracker.ietf.org/doc/html/rfc5272#section-3.1
//! [RFC 5280 §4.2.1.6]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.6
//! [RFC 5280 §4.2.1.3]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.3
//! [RFC 5280 §4.2.1.12]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.12
//! [RFC 6125 §6.4.4]: https://datatracker.ietf.org/doc/html/rfc6125#section-6.4.4

use std::fmt;
use std::net::IpAddr;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc2985, rfc5280, rfc5912};
use der::asn1::{Any, SetOfVec};
use der::{Decode, Encode, Header, Reader, SliceReader};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{DirectoryString, GeneralName};
use x509_cert::ext::pkix::{self, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use zeroize::Zeroizing;

pub use crate::key::SignatureHash;

use crate::encoding;
use crate::error::{EncodingError, Error, RequestError, Result, SignatureError};
use crate::fingerprint::Fingerprint;
use crate::hostname;
use crate::name::DistinguishedName;
use crate::usage::{ExtendedKeyUsage, KeyUsages};

mod builder;

pub use builder::CertificateRequestBuilder;

/// A signed PKCS#10 certificate request ([RFC 2986 §4]).
///
/// Build one for a key with [`CertificateRequest::builder`], or read one with
/// [`from_pem`](Self::from_pem) / [`from_der`](Self::from_der). The original DER bytes are kept
/// as they are: [`to_der`](Self::to_der) returns exactly what was read or signed.
///
/// ```text
/// CertificationRequest ::= SEQUENCE {
///      certificationRequestInfo CertificationRequestInfo,
///      signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
///      signature          BIT STRING
/// }
/// ```
///
/// `Debug` shows the subject, names and fingerprint, never the challenge password. The DER
/// encoding necessarily holds the challenge password in clear, as PKCS#10 defines.
///
/// [RFC 2986 §4]: https://datatracker.ietf.org/doc/html/rfc2986#section-4
#[derive(Clone)]
pub struct CertificateRequest {
    signed: Signed,
    attribute_oids: Vec<ObjectIdentifier>,
    extensions: Vec<RequestedExtension>,
    dns_names: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    key_usage: Option<KeyUsages>,
    extended_key_usage: Option<Vec<ExtendedKeyUsage>>,
    challenge_password: Option<Zeroizing<String>>,
}

/// A request as encoded and signed: what [`CertificateRequest::from_der`] parses and
/// [`CertificateRequestBuilder::sign`] makes; the rest of a [`CertificateRequest`] is read
/// from its attributes.
#[derive(Clone, PartialEq)]
struct Signed {
    der: Vec<u8>,
    /// The `CertificationRequestInfo` exactly as encoded in `der`: the signed bytes.
    info_der: Vec<u8>,
    subject: Name,
    spki_der: Vec<u8>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: Vec<u8>,
}

impl CertificateRequest {
    /// Starts a request for `subject`; see [`CertificateRequestBuilder`] for the defaults.
    pub fn builder(subject: DistinguishedName) -> CertificateRequestBuilder {
        CertificateRequestBuilder::new(subject)
    }

    /// Reads a request from DER (at most 64 KiB).
    ///
    /// Errors are typed: [`EncodingError::Empty`], [`EncodingError::TooLarge`],
    /// [`EncodingError::TrailingData`], [`EncodingError::MalformedDer`] (truncated or garbage),
    /// [`RequestError::WrongType`] (e.g. a certificate given where a request was expected) and
    /// [`RequestError::Invalid`] (well-formed DER whose attributes or requested extensions are
    /// malformed). The signature is not checked here: call [`verify`](Self::verify).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        encoding::check_der_len("certificate request", der)?;
        let parsed = match CertReq::from_der(der) {
            Ok(parsed) => parsed,
            Err(e) => return Err(not_a_request(der, e)),
        };
        let info_der = raw_info(der).map_err(|e| EncodingError::der("certificate request", e))?;
        let spki_der = parsed
            .info
            .public_key
            .to_der()
            .map_err(|e| EncodingError::der("certificate request", e))?;
        let signature = parsed
            .signature
            .as_bytes()
            .ok_or_else(|| RequestError::Invalid {
                reason: "the signature BIT STRING has unused bits".into(),
            })?
            .to_vec();
        let signed = Signed {
            der: der.to_vec(),
            info_der: info_der.to_vec(),
            subject: parsed.info.subject,
            spki_der,
            signature_algorithm: parsed.algorithm,
            signature,
        };
        Self::from_parts(signed, &parsed.info.attributes)
    }

    /// A request from its decoded parts; its attributes are read here. `from_der` gets the
    /// parts by parsing, `sign` has them in hand.
    fn from_parts(signed: Signed, attributes: &SetOfVec<Attribute>) -> Result<Self> {
        let mut request = Self {
            signed,
            attribute_oids: Vec::new(),
            extensions: Vec::new(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            key_usage: None,
            extended_key_usage: None,
            challenge_password: None,
        };
        request.read_attributes(attributes.iter())?;
        Ok(request)
    }

    /// Reads a request from PEM: one `CERTIFICATE REQUEST` block, or the older
    /// `NEW CERTIFICATE REQUEST` label. Explanatory text around the block is ignored
    /// ([RFC 7468 §7]). Any other label is an [`EncodingError::WrongPemLabel`] naming it.
    ///
    /// [RFC 7468 §7]: https://datatracker.ietf.org/doc/html/rfc7468#section-7
    pub fn from_pem(pem: &str) -> Result<Self> {
        let block = encoding::pem_single(
            "certificate request",
            &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
            pem,
        )?;
        Self::from_der(&block.der)
    }

    /// Checks the request's self-signature over the `CertificationRequestInfo` bytes as
    /// received, proving the requester holds the private key.
    ///
    /// Errors: [`RequestError::BadSignature`] when the request was altered or signed with
    /// another key; a [`SignatureError`] for an unsupported algorithm (naming its OID), bad
    /// algorithm parameters, or an unusable key.
    pub fn verify(&self) -> Result<()> {
        crate::verify::verify_signature(
            &self.signed.spki_der,
            &self.signed.signature_algorithm,
            &self.signed.info_der,
            &self.signed.signature,
        )
        .map_err(|e| match e {
            Error::Signature(SignatureError::Invalid) => RequestError::BadSignature.into(),
            other => other,
        })
    }

    /// The DER encoding, exactly as read or signed.
    pub fn to_der(&self) -> Vec<u8> {
        self.signed.der.clone()
    }

    /// The PEM encoding, label `CERTIFICATE REQUEST`, `\n` line endings.
    pub fn to_pem(&self) -> String {
        encoding::pem_encode("CERTIFICATE REQUEST", &self.signed.der)
    }

    /// The requested public key as DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> &[u8] {
        &self.signed.spki_der
    }

    /// SHA-256 of [`public_key_der`](Self::public_key_der): equal to the fingerprint of the
    /// private key that signed a request we built, and of the certificate the CA returns.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_spki_der(&self.signed.spki_der)
    }

    /// The subject as an [RFC 4514] string (most specific RDN first, e.g.
    /// `CN=www.example.com,O=Example,C=US`), whatever it holds: a request from elsewhere may
    /// have a subject our strict [`DistinguishedName`] refuses (e.g. `CN=My Server`).
    /// Attributes of unknown type or string type are shown as `OID=#hex`. Control characters
    /// and Unicode bidirectional controls (which a hostile requester could use to make the
    /// subject display as something else) are written as RFC 4514 hex escapes of their UTF-8
    /// bytes (`\E2\80\AE` for U+202E).
    ///
    /// [RFC 4514]: https://datatracker.ietf.org/doc/html/rfc4514#section-2
    pub fn subject(&self) -> String {
        crate::name::display_x509_name(&self.signed.subject)
    }

    /// The subject as a validated [`DistinguishedName`]: fails with a
    /// [`NameError`](crate::error::NameError) for a subject our rules refuse (e.g. a common
    /// name that is not a host name, an attribute type we do not support); use
    /// [`subject`](Self::subject) to show such a subject.
    pub fn distinguished_name(&self) -> Result<DistinguishedName> {
        DistinguishedName::try_from(&self.signed.subject)
    }

    /// The DNS names of the requested subjectAltName, in request order, as written.
    pub fn dns_names(&self) -> Vec<String> {
        self.dns_names.clone()
    }

    /// The IP addresses of the requested subjectAltName, in request order.
    pub fn ip_addresses(&self) -> Vec<IpAddr> {
        self.ip_addresses.clone()
    }

    /// The extensions asked for in the `extensionRequest` attribute, in request order; empty
    /// when there is none.
    pub fn requested_extensions(&self) -> &[RequestedExtension] {
        &self.extensions
    }

    /// The requested key usages, or `None` if no `keyUsage` extension is requested.
    pub fn key_usage(&self) -> Option<KeyUsages> {
        self.key_usage
    }

    /// The requested extended key usages, or `None` if no `extKeyUsage` extension is
    /// requested.
    pub fn extended_key_usage(&self) -> Option<&[ExtendedKeyUsage]> {
        self.extended_key_usage.as_deref()
    }

    /// The OIDs of the request's attributes, in request order, e.g. `1.2.840.113549.1.9.14`
    /// for `extensionRequest` and `1.2.840.113549.1.9.7` for `challengePassword`.
    pub fn attribute_oids(&self) -> &[ObjectIdentifier] {
        &self.attribute_oids
    }

    /// The signature algorithm's OID, e.g. `1.2.840.113549.1.1.11` for
    /// `sha256WithRSAEncryption`.
    pub fn signature_algorithm(&self) -> ObjectIdentifier {
        self.signed.signature_algorithm.oid
    }

    /// The challenge password ([RFC 2985 §5.4.1]), if the request has one.
    ///
    /// [RFC 2985 §5.4.1]: https://datatracker.ietf.org/doc/html/rfc2985#section-5.4.1
    pub fn challenge_password(&self) -> Option<&str> {
        self.challenge_password.as_ref().map(|p| p.as_str())
    }

    /// Reads the attributes we understand: `extensionRequest` and `challengePassword`.
    /// Other attributes are listed in `attribute_oids` and otherwise ignored.
    fn read_attributes<'a>(
        &mut self,
        attributes: impl Iterator<Item = &'a Attribute>,
    ) -> Result<()> {
        for attribute in attributes {
            self.attribute_oids.push(attribute.oid);
            match attribute.oid {
                rfc5912::ID_EXTENSION_REQ => {
                    let value = single_value(attribute, "extensionRequest")?;
                    let extensions: Vec<Extension> = value
                        .decode_as()
                        .map_err(|e| invalid(format!("malformed extensionRequest: {e}")))?;
                    for extension in extensions {
                        self.read_extension(extension)?;
                    }
                }
                rfc2985::PKCS_9_AT_CHALLENGE_PASSWORD => {
                    let value = single_value(attribute, "challengePassword")?;
                    let password: DirectoryString = value.decode_as().map_err(|e| {
                        invalid(format!("challengePassword is not a DirectoryString: {e}"))
                    })?;
                    self.challenge_password = Some(Zeroizing::new(password.value().into_owned()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn read_extension(&mut self, extension: Extension) -> Result<()> {
        let id = extension.extn_id;
        if self.extensions.iter().any(|e| e.oid == id) {
            return Err(invalid(format!("extension {id} is requested twice")));
        }
        let value = extension.extn_value.as_bytes();
        let malformed = |e: der::Error| invalid(format!("malformed requested extension {id}: {e}"));
        match id {
            rfc5280::ID_CE_SUBJECT_ALT_NAME => {
                let san = SubjectAltName::from_der(value).map_err(malformed)?;
                for name in san.0 {
                    match name {
                        GeneralName::DnsName(dns) => self.dns_names.push(dns.to_string()),
                        GeneralName::IpAddress(ip) => {
                            // Unlike in a certificate, an address of another length makes
                            // the request invalid.
                            let bytes = ip.as_bytes();
                            let ip = hostname::ip_from_san(bytes).ok_or_else(|| {
                                invalid(format!(
                                    "a subjectAltName IP address has {} bytes; expected 4 \
                                     (IPv4) or 16 (IPv6)",
                                    bytes.len()
                                ))
                            })?;
                            self.ip_addresses.push(ip);
                        }
                        _ => {}
                    }
                }
            }
            rfc5280::ID_CE_KEY_USAGE => {
                let usage = pkix::KeyUsage::from_der(value).map_err(malformed)?;
                self.key_usage = Some(KeyUsages::from_x509(&usage));
            }
            rfc5280::ID_CE_EXT_KEY_USAGE => {
                let usage = pkix::ExtendedKeyUsage::from_der(value).map_err(malformed)?;
                self.extended_key_usage = Some(
                    usage
                        .0
                        .into_iter()
                        .map(ExtendedKeyUsage::from_oid)
                        .collect(),
                );
            }
            _ => {}
        }
        self.extensions.push(RequestedExtension {
            oid: id,
            critical: extension.critical,
            value: value.to_vec(),
        });
        Ok(())
    }
}

impl CertificateRequest {
    /// Whether every part `sign` keeps instead of parsing is what the parser reads (checked
    /// by `debug_assert!` in `sign`, so in every test).
    fn same_parts(&self, other: &Self) -> bool {
        self.signed == other.signed
            && self.attribute_oids == other.attribute_oids
            && self.extensions == other.extensions
            && self.dns_names == other.dns_names
            && self.ip_addresses == other.ip_addresses
            && self.key_usage == other.key_usage
            && self.extended_key_usage == other.extended_key_usage
            && self.challenge_password == other.challenge_password
    }
}

impl PartialEq for CertificateRequest {
    fn eq(&self, other: &Self) -> bool {
        self.signed.der == other.signed.der
    }
}

impl Eq for CertificateRequest {}

impl fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateRequest")
            .field("subject", &self.subject())
            .field("dns_names", &self.dns_names)
            .field("ip_addresses", &self.ip_addresses)
            .field("signature_algorithm", &self.signature_algorithm())
            .field("fingerprint", &self.fingerprint())
            .field(
                "challenge_password",
                &self.challenge_password.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// One extension asked for in a request's `extensionRequest` attribute.
///
/// ```text
/// Extension  ::=  SEQUENCE  {
///      extnID      OBJECT IDENTIFIER,
///      critical    BOOLEAN DEFAULT FALSE,
///      extnValue   OCTET STRING  }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedExtension {
    oid: ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
}

impl RequestedExtension {
    /// The extension's OID, e.g. `2.5.29.17` for subjectAltName.
    pub fn oid(&self) -> ObjectIdentifier {
        self.oid
    }

    /// Whether the extension is marked critical.
    pub fn critical(&self) -> bool {
        self.critical
    }

    /// The DER of the extension value (the contents of `extnValue`).
    pub fn value(&self) -> &[u8] {
        &self.value
    }
}

/// The raw bytes of the `CertificationRequestInfo` inside a well-formed request.
fn raw_info(der: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(der)?;
    Header::decode(&mut reader)?;
    reader.tlv_bytes()
}

/// The error for DER that is not a request: says what it is if we recognise it.
fn not_a_request(der: &[u8], err: der::Error) -> Error {
    let found = if x509_cert::Certificate::from_der(der).is_ok() {
        Some("an X.509 certificate")
    } else if pkcs8::PrivateKeyInfoRef::from_der(der).is_ok() {
        Some("a PKCS#8 private key")
    } else if SubjectPublicKeyInfoOwned::from_der(der).is_ok() {
        Some("a public key (SubjectPublicKeyInfo)")
    } else {
        None
    };
    if let Some(found) = found {
        return RequestError::WrongType { found }.into();
    }
    EncodingError::der("certificate request", err).into()
}

fn single_value<'a>(attribute: &'a Attribute, name: &str) -> Result<&'a Any> {
    let mut values = attribute.values.iter();
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        _ => Err(invalid(format!(
            "the {name} attribute must have exactly one value, it has {}",
            attribute.values.len()
        ))),
    }
}

fn invalid(reason: String) -> Error {
    RequestError::Invalid { reason }.into()
}

fn encode_error(e: der::Error) -> Error {
    invalid(format!("cannot encode the request: {e}"))
}

#[cfg(test)]
mod tests {
    use der::asn1::{BitString, OctetString, Utf8StringRef};
    use x509_cert::request::{CertReqInfo, Version};

    use super::*;
    use crate::testing::key;
    use crate::usage::KeyUsage;

    fn dn(cn: &str) -> DistinguishedName {
        DistinguishedName::builder()
            .country("US")
            .organization("Example")
            .common_name(cn)
            .build()
            .unwrap()
    }

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn request() -> CertificateRequest {
        CertificateRequest::builder(dn("www.example.com"))
            .dns_name("example.com")
            .dns_name("WWW.EXAMPLE.COM")
            .dns_name("*.example.com")
            .dns_name("Example.Com")
            .ip_address(v4("192.0.2.10"))
            .ip_address(v4("2001:db8::1"))
            .ip_address(v4("192.0.2.10"))
            .sign(key())
            .unwrap()
    }

    #[test]
    fn default_request_asks_for_server_extensions() {
        let req = request();
        req.verify().unwrap();
        assert_eq!(req.subject(), "CN=www.example.com,O=Example,C=US");
        assert_eq!(req.distinguished_name().unwrap(), dn("www.example.com"));
        assert_eq!(
            req.dns_names(),
            ["www.example.com", "example.com", "*.example.com"]
        );
        assert_eq!(req.ip_addresses(), [v4("192.0.2.10"), v4("2001:db8::1")]);
        assert_eq!(
            req.key_usage().map(KeyUsages::to_vec),
            Some(vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment])
        );
        assert_eq!(
            req.extended_key_usage(),
            Some(&[ExtendedKeyUsage::ServerAuth][..])
        );
        let exts: Vec<(ObjectIdentifier, bool)> = req
            .requested_extensions()
            .iter()
            .map(|e| (e.oid(), e.critical()))
            .collect();
        assert_eq!(
            exts,
            [
                (rfc5280::ID_CE_SUBJECT_ALT_NAME, false),
                (rfc5280::ID_CE_KEY_USAGE, true),
                (rfc5280::ID_CE_EXT_KEY_USAGE, false)
            ]
        );
        assert_eq!(req.attribute_oids(), [rfc5912::ID_EXTENSION_REQ]);
        assert_eq!(
            req.signature_algorithm(),
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION
        );
        assert_eq!(req.challenge_password(), None);
        assert_eq!(req.fingerprint(), key().fingerprint());
        assert_eq!(req.public_key_der(), key().public_key_der());
    }

    #[test]
    fn round_trips_through_der_and_pem() {
        let req = request();
        let from_der = CertificateRequest::from_der(&req.to_der()).unwrap();
        assert_eq!(from_der, req);
        assert_eq!(from_der.to_der(), req.to_der());
        let pem = req.to_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
        assert!(!pem.contains('\r'), "PEM is written with LF line endings");
        let from_pem = CertificateRequest::from_pem(&pem).unwrap();
        assert_eq!(from_pem.to_der(), req.to_der());
        assert_eq!(from_pem.dns_names(), req.dns_names());
        from_pem.verify().unwrap();
    }

    #[test]
    fn signature_hashes() {
        for (hash, oid) in [
            (SignatureHash::Sha256, rfc5912::SHA_256_WITH_RSA_ENCRYPTION),
            (SignatureHash::Sha384, rfc5912::SHA_384_WITH_RSA_ENCRYPTION),
            (SignatureHash::Sha512, rfc5912::SHA_512_WITH_RSA_ENCRYPTION),
        ] {
            let req = CertificateRequest::builder(dn("www.example.com"))
                .signature_hash(hash)
                .sign(key())
                .unwrap();
            assert_eq!(req.signature_algorithm(), oid);
            req.verify().unwrap();
        }
    }

    #[test]
    fn common_name_is_always_a_subject_alt_name() {
        let req = CertificateRequest::builder(dn("host.example.org"))
            .sign(key())
            .unwrap();
        assert_eq!(req.dns_names(), ["host.example.org"]);
        // Also when other names are added, and only once whatever the case.
        let req = CertificateRequest::builder(dn("intranet"))
            .dns_name("www.example.org")
            .dns_name("INTRANET")
            .ip_address(v4("192.0.2.7"))
            .sign(key())
            .unwrap();
        assert_eq!(req.dns_names(), ["intranet", "www.example.org"]);
        assert_eq!(req.ip_addresses(), [v4("192.0.2.7")]);
    }

    #[test]
    fn without_extensions_has_no_extension_request() {
        let req = CertificateRequest::builder(dn("www.example.com"))
            .without_extensions()
            .sign(key())
            .unwrap();
        req.verify().unwrap();
        assert!(req.attribute_oids().is_empty());
        assert!(req.requested_extensions().is_empty());
        assert!(req.dns_names().is_empty());
        assert_eq!(req.key_usage(), None);
        // The attributes field is the empty [0] IMPLICIT SET: A0 00, and no extensionRequest OID.
        let ext_req_oid = rfc5912::ID_EXTENSION_REQ.to_der().unwrap();
        assert!(!contains(&req.to_der(), &ext_req_oid));
        assert!(req.signed.info_der.ends_with(&[0xa0, 0x00]));

        let err = CertificateRequest::builder(dn("www.example.com"))
            .dns_name("example.com")
            .without_extensions()
            .sign(key())
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Request(RequestError::SubjectAltNamesWithoutExtensions { count: 1 })
        ));
    }

    #[test]
    fn no_names_and_no_usages_means_no_extension_request() {
        let subject = DistinguishedName::builder()
            .organization("Example")
            .build()
            .unwrap();
        let req = CertificateRequest::builder(subject.clone())
            .without_key_usages()
            .sign(key())
            .unwrap();
        assert!(req.attribute_oids().is_empty());
        // With usages but no names: keyUsage and extKeyUsage only.
        let req = CertificateRequest::builder(subject).sign(key()).unwrap();
        let oids: Vec<_> = req.requested_extensions().iter().map(|e| e.oid()).collect();
        assert_eq!(
            oids,
            [rfc5280::ID_CE_KEY_USAGE, rfc5280::ID_CE_EXT_KEY_USAGE]
        );
        // Names but no usages: subjectAltName only.
        let req = CertificateRequest::builder(dn("www.example.com"))
            .without_key_usages()
            .sign(key())
            .unwrap();
        let oids: Vec<_> = req.requested_extensions().iter().map(|e| e.oid()).collect();
        assert_eq!(oids, [rfc5280::ID_CE_SUBJECT_ALT_NAME]);
        assert_eq!(req.key_usage(), None);
        assert_eq!(req.extended_key_usage(), None);
    }

    #[test]
    fn bad_dns_names_are_typed() {
        for bad in [
            "bad name",
            "a..b",
            "-x.example",
            "x.example.",
            "www.*.example.com",
            "bücher.de",
            "",
            // A browser reads these as IPv4 addresses: use `ip_address`.
            "1234",
            "192.0.2.1",
            "0x7f000001",
        ] {
            let err = CertificateRequest::builder(dn("www.example.com"))
                .dns_name(bad)
                .sign(key())
                .unwrap_err();
            assert!(
                matches!(err, Error::Request(RequestError::InvalidDnsName { .. })),
                "{bad:?}: {err:?}"
            );
        }
        let err = CertificateRequest::builder(dn("www.example.com"))
            .dns_name("evil\nname")
            .sign(key())
            .unwrap_err();
        assert!(err.to_string().contains("evil\\nname"), "{err}");
    }

    #[test]
    fn challenge_password_round_trips_and_stays_out_of_debug() {
        for password in ["s3cret pass", "pässwörd_with_ütf8!"] {
            let builder =
                CertificateRequest::builder(dn("www.example.com")).challenge_password(password);
            assert!(!format!("{builder:?}").contains(password));
            let req = builder.sign(key()).unwrap();
            req.verify().unwrap();
            assert_eq!(req.challenge_password(), Some(password));
            assert!(!format!("{req:?}").contains(password));
            assert_eq!(
                req.attribute_oids(),
                [
                    rfc2985::PKCS_9_AT_CHALLENGE_PASSWORD,
                    rfc5912::ID_EXTENSION_REQ
                ]
            );
            let again = CertificateRequest::from_der(&req.to_der()).unwrap();
            assert_eq!(again.challenge_password(), Some(password));
        }
        for bad in [String::new(), "x".repeat(256), "a\u{7}b".into()] {
            let err = CertificateRequest::builder(dn("www.example.com"))
                .challenge_password(bad.clone())
                .sign(key())
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Request(RequestError::InvalidChallengePassword { .. })
                ),
                "{err:?}"
            );
            if !bad.is_empty() {
                assert!(!err.to_string().contains(&bad));
            }
        }
    }

    #[test]
    fn tampered_subject_fails_verification() {
        let req = request();
        let mut der = req.to_der();
        let at = find(&der, b"Example").unwrap();
        der[at] ^= 0x20; // "example"
        let tampered = CertificateRequest::from_der(&der).unwrap();
        assert_eq!(tampered.subject(), "CN=www.example.com,O=example,C=US");
        assert!(matches!(
            tampered.verify(),
            Err(Error::Request(RequestError::BadSignature))
        ));
    }

    #[test]
    fn tampered_signature_fails_verification() {
        let mut der = request().to_der();
        let last = der.len() - 1;
        der[last] ^= 0x01;
        assert!(matches!(
            CertificateRequest::from_der(&der).unwrap().verify(),
            Err(Error::Request(RequestError::BadSignature))
        ));
    }

    #[test]
    fn unsupported_signature_algorithm_names_the_oid() {
        let mut der = request().to_der();
        // sha256WithRSAEncryption (…01 01 0B) becomes md5WithRSAEncryption (…01 01 04).
        let oid = rfc5912::SHA_256_WITH_RSA_ENCRYPTION.to_der().unwrap();
        let at = find(&der, &oid).unwrap();
        der[at + oid.len() - 1] = 0x04;
        let err = CertificateRequest::from_der(&der)
            .unwrap()
            .verify()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Signature(SignatureError::UnsupportedAlgorithm { .. })
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("1.2.840.113549.1.1.4"), "{err}");
    }

    #[test]
    fn malformed_input_is_typed() {
        let der = request().to_der();
        let encoding = |r: Result<CertificateRequest>| match r {
            Err(Error::Encoding(e)) => e,
            other => panic!("expected an encoding error, got {other:?}"),
        };
        assert!(matches!(
            encoding(CertificateRequest::from_der(&[])),
            EncodingError::Empty { .. }
        ));
        assert!(matches!(
            encoding(CertificateRequest::from_der(&der[..der.len() - 10])),
            EncodingError::MalformedDer { .. }
        ));
        assert!(matches!(
            encoding(CertificateRequest::from_der(b"this is not DER at all")),
            EncodingError::MalformedDer { .. }
        ));
        let mut trailing = der.clone();
        trailing.extend_from_slice(&[0, 0, 0]);
        assert!(matches!(
            encoding(CertificateRequest::from_der(&trailing)),
            EncodingError::TrailingData { extra: 3, .. }
        ));
        let huge = vec![0x30; encoding::MAX_DER_LEN + 1];
        assert!(matches!(
            encoding(CertificateRequest::from_der(&huge)),
            EncodingError::TooLarge { .. }
        ));
        assert!(matches!(
            encoding(CertificateRequest::from_pem("no pem here")),
            EncodingError::NoPemBlock { .. }
        ));
        let key_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![1, 2, 3]));
        assert!(matches!(
            encoding(CertificateRequest::from_pem(&key_pem)),
            EncodingError::WrongPemLabel { found, .. } if found == "PRIVATE KEY"
        ));
        let wrong_type = |r: Result<CertificateRequest>| match r {
            Err(Error::Request(RequestError::WrongType { found })) => found,
            other => panic!("expected WrongType, got {other:?}"),
        };
        let key_der = key().to_pkcs8_der().unwrap();
        assert!(wrong_type(CertificateRequest::from_der(&key_der)).contains("private key"));
        assert!(
            wrong_type(CertificateRequest::from_der(key().public_key_der())).contains("public key")
        );
        let two = format!("{}{}", request().to_pem(), request().to_pem());
        assert!(matches!(
            encoding(CertificateRequest::from_pem(&two)),
            EncodingError::MalformedPem { .. }
        ));
    }

    #[test]
    fn new_certificate_request_label_and_surrounding_text() {
        let req = request();
        let old = pem::encode(&pem::Pem::new("NEW CERTIFICATE REQUEST", req.to_der()));
        let text = format!("Request for www.example.com\n\n{old}\nThanks!\n");
        let parsed = CertificateRequest::from_pem(&text).unwrap();
        assert_eq!(parsed.to_der(), req.to_der());
        parsed.verify().unwrap();
    }

    /// A request signed by our key with the given attributes, built by hand.
    fn with_attributes(attributes: Vec<Attribute>) -> Result<CertificateRequest> {
        let info = CertReqInfo {
            version: Version::V1,
            subject: dn("www.example.com").to_x509().unwrap(),
            public_key: SubjectPublicKeyInfoOwned::from_der(key().public_key_der()).unwrap(),
            attributes: SetOfVec::try_from(attributes).unwrap(),
        };
        let (algorithm, sig) = key()
            .sign(SignatureHash::Sha256, &info.to_der().unwrap())
            .unwrap();
        let der = CertReq {
            info,
            algorithm,
            signature: BitString::from_bytes(&sig).unwrap(),
        }
        .to_der()
        .unwrap();
        CertificateRequest::from_der(&der)
    }

    fn extension_request(extensions: &[Extension]) -> Attribute {
        Attribute {
            oid: rfc5912::ID_EXTENSION_REQ,
            values: SetOfVec::try_from(vec![Any::encode_from(&extensions.to_vec()).unwrap()])
                .unwrap(),
        }
    }

    fn raw_extension(oid: ObjectIdentifier, value: &[u8]) -> Extension {
        Extension {
            extn_id: oid,
            critical: false,
            extn_value: OctetString::new(value).unwrap(),
        }
    }

    #[test]
    fn foreign_attributes_are_tolerated_or_refused_with_reasons() {
        // An empty extensionRequest (as x509-cert's RequestBuilder writes) and an unknown
        // attribute are accepted.
        let unstructured = Attribute {
            oid: rfc2985::PKCS_9_AT_UNSTRUCTURED_NAME,
            values: SetOfVec::try_from(vec![
                Any::encode_from(&Utf8StringRef::new("hello").unwrap()).unwrap(),
            ])
            .unwrap(),
        };
        let req = with_attributes(vec![extension_request(&[]), unstructured]).unwrap();
        req.verify().unwrap();
        assert!(req.requested_extensions().is_empty());
        assert_eq!(req.attribute_oids().len(), 2);
        // An unknown extension is listed, with its value.
        let unknown = ObjectIdentifier::new_unwrap("1.2.3.4");
        let other = raw_extension(unknown, &[0x05, 0x00]);
        let req = with_attributes(vec![extension_request(&[other])]).unwrap();
        assert_eq!(req.requested_extensions()[0].oid(), unknown);
        assert_eq!(req.requested_extensions()[0].value(), [0x05, 0x00]);

        let invalid = |r: Result<CertificateRequest>| match r {
            Err(Error::Request(RequestError::Invalid { reason })) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        };
        // An extension requested twice.
        let ku = raw_extension(rfc5280::ID_CE_KEY_USAGE, &[0x03, 0x02, 0x05, 0xa0]);
        let reason = invalid(with_attributes(vec![extension_request(&[ku.clone(), ku])]));
        assert!(reason.contains("2.5.29.15"), "{reason}");
        // A subjectAltName IP address of 5 bytes.
        let bad_ip = raw_extension(
            rfc5280::ID_CE_SUBJECT_ALT_NAME,
            &[0x30, 0x07, 0x87, 0x05, 192, 0, 2, 1, 0],
        );
        let reason = invalid(with_attributes(vec![extension_request(&[bad_ip])]));
        assert!(reason.contains("5 bytes"), "{reason}");
        // A malformed subjectAltName.
        let garbage = raw_extension(rfc5280::ID_CE_SUBJECT_ALT_NAME, b"garbage");
        invalid(with_attributes(vec![extension_request(&[garbage])]));
        // An extensionRequest that is not a SEQUENCE OF Extension.
        let not_extensions = Attribute {
            oid: rfc5912::ID_EXTENSION_REQ,
            values: SetOfVec::try_from(vec![Any::encode_from(&7u8).unwrap()]).unwrap(),
        };
        invalid(with_attributes(vec![not_extensions]));
        // A challengePassword with two values.
        let two = Attribute {
            oid: rfc2985::PKCS_9_AT_CHALLENGE_PASSWORD,
            values: SetOfVec::try_from(vec![
                Any::encode_from(&Utf8StringRef::new("a").unwrap()).unwrap(),
                Any::encode_from(&Utf8StringRef::new("b").unwrap()).unwrap(),
            ])
            .unwrap(),
        };
        let reason = invalid(with_attributes(vec![two]));
        assert!(reason.contains("exactly one value"), "{reason}");
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        find(haystack, needle).is_some()
    }
}
