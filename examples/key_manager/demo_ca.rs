//! A throw-away certificate authority for the walkthrough, made on the fly with x509-cert's
//! certificate builder: a self-signed RSA root that signs server certificates for PKCS#10
//! requests. It plays the part of the real CA the request would be sent to.
//!
//! It is a demo: the CA key lives only in memory, it checks nothing a real CA checks (domain
//! control, policy), and everything it issues is trusted only by whoever trusts its root.
//!
//! The server certificates it issues carry what RFC 5280 and the CA/Browser Forum expect of a
//! TLS server certificate:
//!
//! ```text
//! basicConstraints        CA:FALSE                                  (RFC 5280 §4.2.1.9)
//! keyUsage                digitalSignature, keyEncipherment         (§4.2.1.3)
//! extKeyUsage             serverAuth                                (§4.2.1.12)
//! subjectAltName          every DNS name and IP address requested   (§4.2.1.6)
//! subject/authorityKeyIdentifier                                    (§4.2.1.1, §4.2.1.2)
//! ```

use std::error::Error;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use const_oid::db::rfc5280::ID_KP_SERVER_AUTH;
use der::asn1::{Ia5String, OctetString};
use der::pem::LineEnding;
use der::{Decode, EncodePem};
use keymanager::CertificateRequest;
use rand::CryptoRng;
use rsa::pkcs1v15::{Signature, SigningKey};
use sha2::Sha256;
use signature::Keypair;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::builder::profile::{BuilderProfile, cabf};
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// A demo root CA: an RSA-2048 key and its self-signed certificate.
pub struct DemoCa {
    signer: SigningKey<Sha256>,
    certificate: x509_cert::Certificate,
}

impl DemoCa {
    /// The CA's name. It carries C, O and CN, as the CA/Browser Forum's root profile requires.
    /// (Its CN is not a host name, so it is parsed by x509-cert rather than built with
    /// [`keymanager::DistinguishedName`], which is made for servers' names.)
    pub const SUBJECT: &str = "CN=keymanager Demo CA,O=keymanager demo,C=US";

    /// Makes a new root CA, valid for ten years.
    pub fn new(rng: &mut impl CryptoRng) -> Result<Self, Box<dyn Error>> {
        let key = rsa::PrivateKey::new(rng, 2048)?;
        let signer = SigningKey::<Sha256>::new(key);
        let spki = SubjectPublicKeyInfoOwned::from_key(&signer.verifying_key())?;
        let profile = cabf::Root::new(false, Name::from_str(Self::SUBJECT)?)?;
        let validity = validity(Duration::from_secs(10 * 365 * 86_400))?;
        let certificate =
            CertificateBuilder::new(profile, SerialNumber::generate(rng), validity, spki)?
                .build::<_, Signature>(&signer)?;
        Ok(Self {
            signer,
            certificate,
        })
    }

    /// The CA's own certificate, PEM: what a client trusts to accept the servers it signs.
    pub fn certificate_pem(&self) -> Result<String, Box<dyn Error>> {
        Ok(self.certificate.to_pem(LineEnding::LF)?)
    }

    /// Signs `request` as a server certificate valid for `lifetime`, and returns it, PEM.
    ///
    /// Like a real CA it first checks the request's self-signature; it keeps the request's
    /// subject and its subjectAltNames and sets the usages itself.
    pub fn sign(
        &self,
        request: &CertificateRequest,
        lifetime: Duration,
        rng: &mut impl CryptoRng,
    ) -> Result<String, Box<dyn Error>> {
        request.verify()?;
        let mut names = Vec::new();
        for dns in request.dns_names() {
            names.push(GeneralName::DnsName(Ia5String::new(&dns)?));
        }
        for ip in request.ip_addresses() {
            let octets = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            names.push(GeneralName::IpAddress(OctetString::new(octets)?));
        }
        let profile = ServerProfile {
            issuer: self.certificate.tbs_certificate().subject().clone(),
            subject: request.distinguished_name()?.to_x509()?,
            names,
        };
        let spki = SubjectPublicKeyInfoOwned::from_der(request.public_key_der())?;
        let certificate = CertificateBuilder::new(
            profile,
            SerialNumber::generate(rng),
            validity(lifetime)?,
            spki,
        )?
        .build::<_, Signature>(&self.signer)?;
        Ok(certificate.to_pem(LineEnding::LF)?)
    }
}

/// From five minutes ago (clocks differ a little) to `lifetime` from now.
fn validity(lifetime: Duration) -> Result<Validity, Box<dyn Error>> {
    let now = SystemTime::now();
    Ok(Validity::new(
        Time::try_from(now - Duration::from_secs(300))?,
        Time::try_from(now + lifetime)?,
    ))
}

/// The server-certificate profile: the extensions listed in the module docs.
struct ServerProfile {
    issuer: Name,
    subject: Name,
    names: Vec<GeneralName>,
}

impl BuilderProfile for ServerProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let aki = AuthorityKeyIdentifier::try_from(issuer_spk)?;
        extensions.push(aki.to_extension(subject, &extensions)?);
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push(ski.to_extension(subject, &extensions)?);
        let constraints = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        extensions.push(constraints.to_extension(subject, &extensions)?);
        let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment);
        extensions.push(usage.to_extension(subject, &extensions)?);
        let eku = ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH]);
        extensions.push(eku.to_extension(subject, &extensions)?);
        let san = SubjectAltName(self.names.clone());
        extensions.push(san.to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}
