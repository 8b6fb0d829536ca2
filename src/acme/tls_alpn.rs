//! tls-alpn-01 challenge certificates (RFC 8737 §3): self-signed, for one identifier, with the
//! critical `acmeIdentifier` extension holding the SHA-256 digest of the key authorization.
//!
//! ```text
//! id-pe-acmeIdentifier OBJECT IDENTIFIER ::= { id-pe 31 }   -- 1.3.6.1.5.5.7.1.31
//! Authorization ::= OCTET STRING (SIZE (32))
//! ```
//!
//! The key is a fresh P-256 key per challenge (cheap, and never an entry's key). For an IP
//! identifier (RFC 8738 §6) the certificate names the address and the validator's SNI is the
//! address's reverse-DNS name, which is what the store files it under.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use der::Encode;
use der::asn1::{Ia5String, OctetString};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::EncodePrivateKey;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::Validity;
use zeroize::Zeroizing;

use super::Identifier;
use crate::error::{AcmeError, Result};

/// `id-pe-acmeIdentifier`.
const ACME_IDENTIFIER: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.31");
/// `id-ce-subjectAltName`.
const SUBJECT_ALT_NAME: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("2.5.29.17");

/// A challenge certificate and its key.
pub(super) struct ChallengeCertificate {
    pub(super) certificate: Vec<u8>,
    pub(super) key_pkcs8: Zeroizing<Vec<u8>>,
}

/// The SNI a validator sends for `identifier`, as the store files the challenge: the DNS name
/// in lower case, or an address's reverse-DNS name.
pub(super) fn sni_of(identifier: &Identifier) -> String {
    match identifier {
        Identifier::Dns(name) => name.to_ascii_lowercase(),
        Identifier::Ip(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        Identifier::Ip(IpAddr::V6(v6)) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            out.push_str("ip6.arpa");
            out
        }
    }
}

/// Makes the challenge certificate for `identifier` and the key authorization's `digest`.
pub(super) fn challenge_certificate(
    identifier: &Identifier,
    digest: &[u8],
) -> Result<ChallengeCertificate> {
    let fail = |what: &str, e: &dyn std::fmt::Display| -> crate::Error {
        AcmeError::Protocol {
            during: "making the tls-alpn-01 challenge certificate",
            reason: format!("{what}: {e}"),
        }
        .into()
    };
    let name = match identifier {
        Identifier::Dns(name) => GeneralName::DnsName(
            Ia5String::new(name.as_str()).map_err(|e| fail("the DNS name", &e))?,
        ),
        Identifier::Ip(ip) => GeneralName::from(*ip),
    };
    let profile = ChallengeProfile {
        name,
        digest: digest.to_vec(),
    };
    let key = SigningKey::generate_from_rng(&mut rand::rng());
    let spki = SubjectPublicKeyInfo::from_key(key.verifying_key())
        .map_err(|e| fail("the public key", &e))?;
    let mut serial = [0u8; 16];
    rand::RngExt::fill(&mut rand::rng(), &mut serial[..]);
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial).map_err(|e| fail("the serial number", &e))?;
    let validity = Validity::from_now(Duration::from_secs(7 * 24 * 3600))
        .map_err(|e| fail("the validity", &e))?;
    let builder = CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(|e| fail("the certificate", &e))?;
    let certificate = builder
        .build::<_, DerSignature>(&key)
        .map_err(|e| fail("signing", &e))?
        .to_der()
        .map_err(|e| fail("encoding", &e))?;
    let key_pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| fail("the key", &e))?
        .as_bytes()
        .to_vec();
    Ok(ChallengeCertificate {
        certificate,
        key_pkcs8: Zeroizing::new(key_pkcs8),
    })
}

/// Self-signed, subject `CN=ACME tls-alpn-01 challenge`, with exactly the identifier in its
/// subjectAltName and the critical acmeIdentifier extension.
struct ChallengeProfile {
    name: GeneralName,
    digest: Vec<u8>,
}

impl BuilderProfile for ChallengeProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        // A fixed, valid name: parsing it cannot fail; the fallback is the empty name.
        Name::from_str("CN=ACME tls-alpn-01 challenge").unwrap_or_default()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let san = SubjectAltName(vec![self.name.clone()]).to_der()?;
        let authorization = OctetString::new(self.digest.clone())?.to_der()?;
        Ok(vec![
            Extension {
                extn_id: SUBJECT_ALT_NAME,
                critical: false,
                extn_value: OctetString::new(san)?,
            },
            Extension {
                extn_id: ACME_IDENTIFIER,
                critical: true,
                extn_value: OctetString::new(authorization)?,
            },
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names_of_addresses() {
        assert_eq!(
            sni_of(&Identifier::Ip("127.0.0.1".parse().unwrap())),
            "1.0.0.127.in-addr.arpa"
        );
        let v6 = sni_of(&Identifier::Ip("2001:db8::567:89ab".parse().unwrap()));
        assert_eq!(
            v6,
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        assert_eq!(
            sni_of(&Identifier::Dns("WWW.Example.test".into())),
            "www.example.test"
        );
    }

    #[test]
    fn challenge_certificate_has_the_identifier_and_critical_digest() {
        let cert =
            challenge_certificate(&Identifier::Dns("a.example.test".into()), &[7u8; 32]).unwrap();
        let parsed = crate::Certificate::from_der(&cert.certificate).unwrap();
        assert_eq!(parsed.dns_names(), vec!["a.example.test".to_string()]);
        // The extension's value: OCTET STRING (32 bytes of 7), critical.
        let mut needle = vec![0x04, 0x22, 0x04, 0x20];
        needle.extend([7u8; 32]);
        assert!(cert.certificate.windows(needle.len()).any(|w| w == needle));
        assert!(!cert.key_pkcs8.is_empty());
    }
}
