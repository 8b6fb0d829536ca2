//! [`CertificateRequestBuilder`]: the request a server sends, built from its name and signed
//! with its key.

use std::fmt;
use std::net::IpAddr;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc2985, rfc5280, rfc5912};
use der::asn1::{
    Any, BitString, Ia5String, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef,
};
use der::{Decode, Encode, Header, Length, Tag};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{self, KeyUsages as KeyUsageFlags, SubjectAltName};
use x509_cert::request::{CertReqInfo, Version};
use zeroize::Zeroizing;

use super::{CertificateRequest, SignatureHash, Signed, encode_error};
use crate::error::{EncodingError, RequestError, Result};
use crate::hostname;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::name::DistinguishedName;

/// Longest challenge password: `pkcs-9-ub-challengePassword` ([RFC 2985 §5.4.1]).
///
/// [RFC 2985 §5.4.1]: https://datatracker.ietf.org/doc/html/rfc2985#section-5.4.1
const MAX_CHALLENGE_PASSWORD_CHARS: usize = 255;

/// By-value builder for [`CertificateRequest`].
///
/// By default the request asks for a subjectAltName with the common name and every [`dns_name`](Self::dns_name) and
/// [`ip_address`](Self::ip_address), for `keyUsage` `digitalSignature` + `keyEncipherment`
/// (critical; `digitalSignature` alone for an ECDSA key, [RFC 5480 §3]) and for
/// `extKeyUsage` `serverAuth`, and is signed with SHA-256 (an ECDSA key: its curve's hash).
///
/// [RFC 5480 §3]: https://datatracker.ietf.org/doc/html/rfc5480#section-3
///
/// `Debug` never shows the challenge password.
#[derive(Clone)]
pub struct CertificateRequestBuilder {
    subject: DistinguishedName,
    dns_names: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    challenge_password: Option<Zeroizing<String>>,
    hash: SignatureHash,
    key_usages: bool,
    extensions: bool,
}

impl CertificateRequestBuilder {
    /// The builder [`CertificateRequest::builder`] starts, with the defaults above.
    pub(super) fn new(subject: DistinguishedName) -> Self {
        Self {
            subject,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            challenge_password: None,
            hash: SignatureHash::default(),
            key_usages: true,
            extensions: true,
        }
    }

    /// Adds a DNS name to the subjectAltName. Checked when signing: a host name as in
    /// [RFC 1123 §2.1], IDNs as A-labels (`xn--...`), a wildcard only as the whole leftmost
    /// label (`*.example.com`). Names equal ignoring ASCII case are requested once.
    ///
    /// [RFC 1123 §2.1]: https://datatracker.ietf.org/doc/html/rfc1123#section-2.1
    pub fn dns_name(mut self, name: impl Into<String>) -> Self {
        self.dns_names.push(name.into());
        self
    }

    /// Adds several DNS names, as [`dns_name`](Self::dns_name).
    pub fn dns_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.dns_names.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds an IP address to the subjectAltName; duplicates are requested once.
    pub fn ip_address(mut self, ip: IpAddr) -> Self {
        self.ip_addresses.push(ip);
        self
    }

    /// Sets a challenge password ([RFC 2985 §5.4.1]): 1 to 255 characters, some CAs use it to
    /// authenticate a revocation request. It is zeroized when the builder is dropped, but it
    /// is carried in clear in the request, as PKCS#10 defines.
    ///
    /// [RFC 2985 §5.4.1]: https://datatracker.ietf.org/doc/html/rfc2985#section-5.4.1
    pub fn challenge_password(mut self, password: impl Into<String>) -> Self {
        self.challenge_password = Some(Zeroizing::new(password.into()));
        self
    }

    /// Sets the hash of the RSA PKCS#1 v1.5 signature (default SHA-256). An ECDSA key signs
    /// with its curve's hash (P-256: SHA-256, P-384: SHA-384) whatever this says.
    pub fn signature_hash(mut self, hash: SignatureHash) -> Self {
        self.hash = hash;
        self
    }

    /// Does not request `keyUsage` and `extKeyUsage` (the CA chooses). With no subjectAltName
    /// either, the request has no `extensionRequest` attribute.
    pub fn without_key_usages(mut self) -> Self {
        self.key_usages = false;
        self
    }

    /// Requests no extension at all: no subjectAltName (not even the common name), no key
    /// usages; the request has no `extensionRequest` attribute. Signing fails with
    /// [`RequestError::SubjectAltNamesWithoutExtensions`] if DNS names or IP addresses were
    /// added.
    pub fn without_extensions(mut self) -> Self {
        self.extensions = false;
        self
    }

    /// Checks the names, builds the `CertificationRequestInfo` and signs it with `key`; the
    /// request's public key is `key`'s.
    ///
    /// Errors: [`RequestError::InvalidDnsName`], [`RequestError::InvalidChallengePassword`],
    /// [`RequestError::SubjectAltNamesWithoutExtensions`], or a name, key or signing error.
    pub fn sign(self, key: &PrivateKey) -> Result<CertificateRequest> {
        let public_key = SubjectPublicKeyInfoOwned::from_der(key.public_key_der())
            .map_err(|e| EncodingError::der("public key", e))?;
        let mut attributes = SetOfVec::new();
        if let Some(password) = &self.challenge_password {
            attributes
                .insert(challenge_password_attribute(password)?)
                .map_err(encode_error)?;
        }
        let extensions = self.extensions(key.algorithm())?;
        if !extensions.is_empty() {
            let value = Any::encode_from(&extensions).map_err(encode_error)?;
            attributes
                .insert(Attribute {
                    oid: rfc5912::ID_EXTENSION_REQ,
                    values: SetOfVec::try_from(vec![value]).map_err(encode_error)?,
                })
                .map_err(encode_error)?;
        }
        let info = CertReqInfo {
            version: Version::V1,
            subject: self.subject.to_x509()?,
            public_key,
            attributes,
        };
        let info_der = info.to_der().map_err(encode_error)?;
        let (algorithm, signature) = key.sign(self.hash, &info_der)?;
        let der = assemble(&info_der, &algorithm, &signature)?;
        // The parts are already in hand: keep them instead of parsing `der` back (which costs
        // as much as everything else here but the signature).
        let signed = Signed {
            der,
            info_der,
            subject: info.subject,
            spki_der: key.public_key_der().to_vec(),
            signature_algorithm: algorithm,
            signature,
        };
        let request = CertificateRequest::from_parts(signed, &info.attributes)?;
        // A faulty RSA-CRT computation would publish a signature that reveals the key: both
        // signing backends (`key/sign.rs`) check the private-key result against the public key
        // before returning it, so a second, full verification here (a fifth of an aws-lc
        // signature's time) runs in debug builds only, where every test checks it, along with
        // a round trip through the parser.
        debug_assert!(request.verify().is_ok(), "our own request does not verify");
        debug_assert!(
            CertificateRequest::from_der(&request.signed.der)
                .is_ok_and(|parsed| parsed.same_parts(&request)),
            "our own request does not parse back to itself"
        );
        Ok(request)
    }

    /// The extensions to request, in order: subjectAltName, keyUsage, extKeyUsage.
    fn extensions(&self, algorithm: KeyAlgorithm) -> Result<Vec<Extension>> {
        if !self.extensions {
            if !self.dns_names.is_empty() || !self.ip_addresses.is_empty() {
                return Err(RequestError::SubjectAltNamesWithoutExtensions {
                    count: self.dns_names.len() + self.ip_addresses.len(),
                }
                .into());
            }
            return Ok(Vec::new());
        }
        let (dns_names, ip_addresses) = self.subject_alt_names()?;
        let mut extensions = Vec::new();
        if !dns_names.is_empty() || !ip_addresses.is_empty() {
            let mut names = Vec::with_capacity(dns_names.len() + ip_addresses.len());
            for name in dns_names {
                // Host names are ASCII (checked), so they are valid IA5Strings.
                names.push(GeneralName::DnsName(
                    Ia5String::new(&name).map_err(encode_error)?,
                ));
            }
            names.extend(ip_addresses.into_iter().map(GeneralName::from));
            // RFC 5280 §4.2.1.6: critical only if the subject is empty, which ours never is.
            extensions.push(extension(
                rfc5280::ID_CE_SUBJECT_ALT_NAME,
                false,
                &SubjectAltName(names),
            )?);
        }
        if self.key_usages {
            // An ECDSA key cannot encipher: RFC 5480 §3 forbids keyEncipherment for
            // id-ecPublicKey (TLS key exchange with it is ECDHE, signed).
            let usage = match algorithm {
                KeyAlgorithm::Ecdsa => pkix::KeyUsage(KeyUsageFlags::DigitalSignature.into()),
                _ => {
                    pkix::KeyUsage(KeyUsageFlags::DigitalSignature | KeyUsageFlags::KeyEncipherment)
                }
            };
            extensions.push(extension(rfc5280::ID_CE_KEY_USAGE, true, &usage)?);
            let eku = pkix::ExtendedKeyUsage(vec![rfc5280::ID_KP_SERVER_AUTH]);
            extensions.push(extension(rfc5280::ID_CE_EXT_KEY_USAGE, false, &eku)?);
        }
        Ok(extensions)
    }

    /// The subjectAltName entries: the CN first, then the added names, each checked and
    /// deduplicated.
    fn subject_alt_names(&self) -> Result<(Vec<String>, Vec<IpAddr>)> {
        let mut dns_names: Vec<String> = Vec::new();
        let mut ip_addresses: Vec<IpAddr> = Vec::new();
        let mut add_dns = |name: &str| {
            if !dns_names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                dns_names.push(name.to_owned());
            }
        };
        // DistinguishedName checks that a CN is a host name; checked again so that a CN that
        // is not one can never produce an invalid subjectAltName.
        if let Some(cn) = self.subject.common_name()
            && hostname::check_host_name(cn, true).is_ok()
        {
            add_dns(cn);
        }
        for name in &self.dns_names {
            hostname::check_host_name(name, true).map_err(|reason| {
                RequestError::InvalidDnsName {
                    name: name.escape_debug().to_string(),
                    reason,
                }
            })?;
            add_dns(name);
        }
        for ip in &self.ip_addresses {
            if !ip_addresses.contains(ip) {
                ip_addresses.push(*ip);
            }
        }
        Ok((dns_names, ip_addresses))
    }
}

impl fmt::Debug for CertificateRequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateRequestBuilder")
            .field("subject", &self.subject)
            .field("dns_names", &self.dns_names)
            .field("ip_addresses", &self.ip_addresses)
            .field(
                "challenge_password",
                &self.challenge_password.as_ref().map(|_| "<redacted>"),
            )
            .field("hash", &self.hash)
            .field("key_usages", &self.key_usages)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// The `challengePassword` attribute: a PrintableString if the password fits one, else a
/// UTF8String ([RFC 2985 §5.4.1]).
///
/// [RFC 2985 §5.4.1]: https://datatracker.ietf.org/doc/html/rfc2985#section-5.4.1
fn challenge_password_attribute(password: &str) -> Result<Attribute> {
    let chars = password.chars().count();
    let reason = if chars == 0 {
        Some("it is empty".to_owned())
    } else if chars > MAX_CHALLENGE_PASSWORD_CHARS {
        Some(format!(
            "it has {chars} characters, the limit is {MAX_CHALLENGE_PASSWORD_CHARS}"
        ))
    } else if password.chars().any(char::is_control) {
        Some("it contains control characters".to_owned())
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(RequestError::InvalidChallengePassword { reason }.into());
    }
    let value = match PrintableStringRef::new(password) {
        Ok(printable) => Any::encode_from(&printable),
        Err(_) => Utf8StringRef::new(password).and_then(|s| Any::encode_from(&s)),
    }
    .map_err(encode_error)?;
    Ok(Attribute {
        oid: rfc2985::PKCS_9_AT_CHALLENGE_PASSWORD,
        values: SetOfVec::try_from(vec![value]).map_err(encode_error)?,
    })
}

fn extension(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(encode_error)?)
            .map_err(encode_error)?,
    })
}

/// The DER of a signed request, from the signed `CertificationRequestInfo` bytes as they are
/// (re-encoding the info would only repeat the work):
///
/// ```text
/// CertificationRequest ::= SEQUENCE {
///      certificationRequestInfo CertificationRequestInfo,
///      signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
///      signature          BIT STRING
/// }
/// ```
///
/// ([RFC 2986 §4.2](https://datatracker.ietf.org/doc/html/rfc2986#section-4.2))
fn assemble(
    info_der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    signature: &[u8],
) -> Result<Vec<u8>> {
    let algorithm_der = algorithm.to_der().map_err(encode_error)?;
    let signature_der = BitString::from_bytes(signature)
        .and_then(|bits| bits.to_der())
        .map_err(encode_error)?;
    let body = info_der.len() + algorithm_der.len() + signature_der.len();
    let length = Length::try_from(body).map_err(encode_error)?;
    let mut der = Vec::with_capacity(body + 8);
    Header::new(Tag::Sequence, length)
        .encode_to_vec(&mut der)
        .map_err(encode_error)?;
    der.extend_from_slice(info_der);
    der.extend_from_slice(&algorithm_der);
    der.extend_from_slice(&signature_der);
    Ok(der)
}
