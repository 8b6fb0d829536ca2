//! A compact demo CA for the fuzz targets, built with x509-cert's `CertificateBuilder`: a
//! self-signed root (the `cabf::Root` profile) and leaf certificates for keys made by
//! `keymanager`, signed with RSA PKCS#1 v1.5 SHA-256. Everything is deterministic but the
//! validity dates (which are relative to now).
//!
//! Not a second copy of the walkthrough's `examples/key_manager/demo_ca.rs` (which landed on
//! main while this was written): that one signs requests as valid serverAuth certificates only,
//! while the store model also needs expired, clientAuth-only and name-dropping certificates and
//! one with an extra wildcard name. The tests' CA drives the OpenSSL CLI, far too slow here.
#![allow(dead_code)] // each target uses a different subset

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use keymanager::PrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::pkcs8::DecodePrivateKey;
use sha2::Sha256;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::profile::cabf::Root;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// `id-kp-serverAuth` and `id-kp-clientAuth` (RFC 5280 §4.2.1.12).
const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

/// A root CA: its certificate (DER) and signing key.
pub struct Ca {
    pub cert_der: Vec<u8>,
    name: Name,
    signer: SigningKey<Sha256>,
}

/// What a leaf certificate is made to look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// Valid now for ten years, serverAuth, the given DNS names.
    Good,
    /// Expired in 2001.
    Expired,
    /// extKeyUsage clientAuth only.
    NoServerAuth,
}

impl Ca {
    /// A root CA named `CN=<cn>,O=Keymanager Fuzz,C=US` (the CA/B Forum profile wants C and O)
    /// whose key is `key`.
    pub fn new(key: &PrivateKey, cn: &str) -> Ca {
        let der = key.to_pkcs8_der().expect("PKCS#8 of the CA key");
        let rsa = rsa::PrivateKey::from_pkcs8_der(&der).expect("the CA key in rsa");
        let signer = SigningKey::<Sha256>::new(rsa);
        let name = Name::from_str(&format!("CN={cn},O=Keymanager Fuzz,C=US")).expect("CA name");
        let spki = SubjectPublicKeyInfoOwned::from_der(key.public_key_der()).expect("CA SPKI");
        let profile = Root::new(false, name.clone()).expect("root profile");
        let builder = CertificateBuilder::new(
            profile,
            SerialNumber::from(1u32),
            validity(Leaf::Good),
            spki,
        )
        .expect("root builder");
        let cert = builder
            .build::<_, Signature>(&signer)
            .expect("root certificate");
        Ca {
            cert_der: cert.to_der().expect("root DER"),
            name,
            signer,
        }
    }

    /// A leaf certificate for `spki_der` with subject `subject` (DER of a Name) and the given
    /// DNS names, issued by this CA.
    pub fn issue(
        &self,
        spki_der: &[u8],
        subject_der: &[u8],
        dns: &[&str],
        kind: Leaf,
        serial: u32,
    ) -> Vec<u8> {
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der).expect("leaf SPKI");
        let profile = LeafProfile {
            issuer: self.name.clone(),
            subject: Name::from_der(subject_der).expect("leaf subject"),
            dns: dns.iter().map(|d| (*d).to_owned()).collect(),
            kind,
        };
        let builder =
            CertificateBuilder::new(profile, SerialNumber::from(serial), validity(kind), spki)
                .expect("leaf builder");
        let cert = builder
            .build::<_, Signature>(&self.signer)
            .expect("leaf certificate");
        cert.to_der().expect("leaf DER")
    }
}

fn validity(kind: Leaf) -> Validity {
    match kind {
        Leaf::Expired => {
            let at = |secs: u64| {
                Time::try_from(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)).expect("time")
            };
            // 2000-01-01 to 2001-01-01.
            Validity::new(at(946_684_800), at(978_307_200))
        }
        // Starts an hour ago (a clock a little behind is fine) and lasts ten years.
        _ => {
            let now = SystemTime::now();
            Validity::new(
                Time::try_from(now - Duration::from_secs(3600)).expect("time"),
                Time::try_from(now + Duration::from_secs(10 * 365 * 86_400)).expect("time"),
            )
        }
    }
}

struct LeafProfile {
    issuer: Name,
    subject: Name,
    dns: Vec<String>,
    kind: Leaf,
}

impl BuilderProfile for LeafProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let ext =
            |oid: &str, critical: bool, value: Vec<u8>| -> x509_cert::builder::Result<Extension> {
                Ok(Extension {
                    extn_id: oid.parse().expect("extension OID"),
                    critical,
                    extn_value: OctetString::new(value)?,
                })
            };
        let san = SubjectAltName(
            self.dns
                .iter()
                .map(|d| Ia5String::new(d).map(GeneralName::DnsName))
                .collect::<der::Result<_>>()?,
        );
        let purpose = match self.kind {
            Leaf::NoServerAuth => CLIENT_AUTH,
            _ => SERVER_AUTH,
        };
        let eku = ExtendedKeyUsage(vec![purpose.parse().expect("EKU OID")]);
        Ok(vec![
            ext(
                "2.5.29.19",
                true,
                BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                }
                .to_der()?,
            )?,
            ext(
                "2.5.29.15",
                true,
                KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment).to_der()?,
            )?,
            ext("2.5.29.37", false, eku.to_der()?)?,
            ext("2.5.29.17", false, san.to_der()?)?,
        ])
    }
}
