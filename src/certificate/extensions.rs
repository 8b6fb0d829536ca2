//! The extensions a [`Certificate`](super::Certificate) is read with, decoded once when it
//! is read ([RFC 5280 §4.2]).
//!
//! [RFC 5280 §4.2]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2

use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    self, AuthorityKeyIdentifier, BasicConstraints, SubjectAltName, SubjectKeyIdentifier,
};

use crate::error::{CertificateError, Result};
use crate::usage::{ExtendedKeyUsage, KeyUsages};

/// The extensions we use, decoded once.
#[derive(Clone, Debug, Default)]
pub(super) struct KnownExtensions {
    /// `None` when the certificate has no subjectAltName extension at all.
    pub(super) san: Option<Vec<GeneralName>>,
    pub(super) key_usage: Option<KeyUsages>,
    pub(super) extended_key_usage: Option<Vec<ExtendedKeyUsage>>,
    pub(super) basic_constraints: Option<BasicConstraints>,
    pub(super) subject_key_id: Option<Vec<u8>>,
    pub(super) authority_key_id: Option<Vec<u8>>,
}

impl KnownExtensions {
    pub(super) fn decode(tbs: &x509_cert::TbsCertificate) -> Result<Self> {
        let bad = |name: &'static str| {
            move |e: der::Error| CertificateError::Invalid {
                reason: format!(
                    "the {name} extension is malformed or repeated ({e}); ask the issuer to \
                     re-issue the certificate"
                ),
            }
        };
        let san = tbs
            .get_extension::<SubjectAltName>()
            .map_err(bad("subjectAltName"))?
            .map(|(_, v)| v.0);
        let key_usage = tbs
            .get_extension::<pkix::KeyUsage>()
            .map_err(bad("keyUsage"))?
            .map(|(_, v)| KeyUsages::from_x509(&v));
        let extended_key_usage = tbs
            .get_extension::<pkix::ExtendedKeyUsage>()
            .map_err(bad("extKeyUsage"))?
            .map(|(_, v)| v.0.into_iter().map(ExtendedKeyUsage::from_oid).collect());
        let basic_constraints = tbs
            .get_extension::<BasicConstraints>()
            .map_err(bad("basicConstraints"))?
            .map(|(_, v)| v);
        let subject_key_id = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(bad("subjectKeyIdentifier"))?
            .map(|(_, v)| v.0.as_bytes().to_vec());
        let authority_key_id = tbs
            .get_extension::<AuthorityKeyIdentifier>()
            .map_err(bad("authorityKeyIdentifier"))?
            .and_then(|(_, v)| v.key_identifier.map(|k| k.as_bytes().to_vec()));
        Ok(Self {
            san,
            key_usage,
            extended_key_usage,
            basic_constraints,
            subject_key_id,
            authority_key_id,
        })
    }
}
