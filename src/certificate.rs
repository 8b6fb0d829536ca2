//! [`Certificate`]: an X.509 certificate as the CA sent it.
//!
//! SKELETON: the certificate helper completes this file (accessors, chains, PKCS#7, tests).

use der::{Decode, Encode};

use crate::encoding;
use crate::error::{CertificateError, EncodingError, Result};
use crate::fingerprint::Fingerprint;
use crate::key::PrivateKey;

/// An X.509 certificate ([RFC 5280 §4.1]); keeps the original DER bytes.
///
/// [RFC 5280 §4.1]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    parsed: x509_cert::Certificate,
    spki_der: Vec<u8>,
}

impl Certificate {
    /// Reads one certificate from DER; the bytes are kept as they are.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        encoding::check_der_len("certificate", der)?;
        let parsed = x509_cert::Certificate::from_der(der)
            .map_err(|e| EncodingError::der("certificate", e))?;
        let spki_der = parsed
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| EncodingError::der("certificate", e))?;
        Ok(Self {
            der: der.to_vec(),
            parsed,
            spki_der,
        })
    }

    /// Reads every certificate in a PEM bundle, in file order.
    pub fn chain_from_pem(pem: &str) -> Result<Vec<Self>> {
        let blocks = encoding::pem_blocks("certificate", "CERTIFICATE", pem)?;
        let certs = blocks
            .iter()
            .filter(|b| b.label == "CERTIFICATE")
            .map(|b| Self::from_der(&b.der))
            .collect::<Result<Vec<_>>>()?;
        if certs.is_empty() {
            return Err(CertificateError::NoCertificate {
                hint: "the PEM holds no `CERTIFICATE` block".into(),
            }
            .into());
        }
        Ok(certs)
    }

    /// The original DER bytes.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The subject's public key as DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of [`public_key_der`](Self::public_key_der).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_spki_der(&self.spki_der)
    }

    /// Whether this certificate is for `key`.
    pub fn matches(&self, key: &PrivateKey) -> bool {
        self.spki_der == key.public_key_der()
    }

    /// The parsed certificate, for use inside the crate.
    #[allow(dead_code)] // used by chain building
    pub(crate) fn x509(&self) -> &x509_cert::Certificate {
        &self.parsed
    }
}
