//! [`CertificateRequest`]: the PKCS#10 request that goes to a CA.
//!
//! SKELETON: the request helper completes this file (SANs, key usage, hashes, tests).

use std::net::IpAddr;

use der::asn1::BitString;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::encoding;
use crate::error::{EncodingError, RequestError, Result};
use crate::fingerprint::Fingerprint;
use crate::key::PrivateKey;
use crate::name::DistinguishedName;

/// A signed PKCS#10 certificate request ([RFC 2986]).
///
/// [RFC 2986]: https://datatracker.ietf.org/doc/html/rfc2986
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    der: Vec<u8>,
    parsed: CertReq,
    spki_der: Vec<u8>,
}

impl CertificateRequest {
    /// Starts a request for `subject`.
    pub fn builder(subject: DistinguishedName) -> CertificateRequestBuilder {
        CertificateRequestBuilder {
            subject,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
        }
    }

    /// Reads a request from DER.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        encoding::check_der_len("certificate request", der)?;
        let parsed =
            CertReq::from_der(der).map_err(|e| EncodingError::der("certificate request", e))?;
        let spki_der = parsed
            .info
            .public_key
            .to_der()
            .map_err(|e| EncodingError::der("certificate request", e))?;
        Ok(Self {
            der: der.to_vec(),
            parsed,
            spki_der,
        })
    }

    /// Reads a request from PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let block = encoding::pem_single(
            "certificate request",
            &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
            pem,
        )?;
        Self::from_der(&block.der)
    }

    /// Checks the request's self-signature.
    pub fn verify(&self) -> Result<()> {
        let info = self
            .parsed
            .info
            .to_der()
            .map_err(|e| EncodingError::der("certificate request", e))?;
        let sig = self
            .parsed
            .signature
            .as_bytes()
            .ok_or(RequestError::BadSignature)?;
        crate::signature::verify(&self.spki_der, &self.parsed.algorithm, &info, sig)
    }

    /// The DER encoding.
    pub fn to_der(&self) -> Vec<u8> {
        self.der.clone()
    }

    /// The PEM encoding, label `CERTIFICATE REQUEST`.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", self.der.clone()))
    }

    /// The requested public key as DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of [`public_key_der`](Self::public_key_der).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_spki_der(&self.spki_der)
    }
}

/// By-value builder for [`CertificateRequest`].
#[derive(Debug, Clone)]
pub struct CertificateRequestBuilder {
    subject: DistinguishedName,
    dns_names: Vec<String>,
    ip_addresses: Vec<IpAddr>,
}

impl CertificateRequestBuilder {
    /// Adds a DNS name to the subjectAltName.
    pub fn dns_name(mut self, name: impl Into<String>) -> Self {
        self.dns_names.push(name.into());
        self
    }

    /// Adds an IP address to the subjectAltName.
    pub fn ip_address(mut self, ip: IpAddr) -> Self {
        self.ip_addresses.push(ip);
        self
    }

    /// Signs the request with `key`; the request's public key is `key`'s.
    pub fn sign(self, key: &PrivateKey) -> Result<CertificateRequest> {
        let public_key = SubjectPublicKeyInfoOwned::from_der(key.public_key_der())
            .map_err(|e| EncodingError::der("public key", e))?;
        let info = CertReqInfo {
            version: Version::V1,
            subject: self.subject.to_x509()?,
            public_key,
            attributes: Default::default(),
        };
        let info_der = info.to_der().map_err(|e| RequestError::Invalid {
            reason: e.to_string(),
        })?;
        let (algorithm, sig) =
            crate::signature::sign_rsa(key, crate::signature::SignatureHash::Sha256, &info_der)?;
        let parsed = CertReq {
            info,
            algorithm,
            signature: BitString::from_bytes(&sig).map_err(|e| RequestError::Invalid {
                reason: e.to_string(),
            })?,
        };
        let der = parsed.to_der().map_err(|e| RequestError::Invalid {
            reason: e.to_string(),
        })?;
        CertificateRequest::from_der(&der)
    }
}
