//! What the store needs to know about certificates and requests.
//!
//! TEMPORARY adapter: until the certificate and request helpers land their accessors on main,
//! these read what the store needs from the parsed structures. After `git merge main` each
//! function becomes a call to the real method.

use std::time::SystemTime;

use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};

use crate::certificate::Certificate;
use crate::error::{InstallError, Result};
use crate::request::CertificateRequest;

/// Every certificate in DER or PEM input; a request is [`InstallError::IsRequest`].
pub(super) fn parse_any(bytes: &[u8]) -> Result<Vec<Certificate>> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN ")
    {
        if text.contains("CERTIFICATE REQUEST-----") && !text.contains("BEGIN CERTIFICATE-----") {
            return Err(InstallError::IsRequest.into());
        }
        return Certificate::chain_from_pem(text);
    }
    match Certificate::from_der(bytes) {
        Ok(c) => Ok(vec![c]),
        Err(e) => {
            if CertificateRequest::from_der(bytes).is_ok() {
                return Err(InstallError::IsRequest.into());
            }
            Err(e)
        }
    }
}

pub(super) fn subject(cert: &Certificate) -> String {
    cert.x509().tbs_certificate().subject().to_string()
}

pub(super) fn not_before(cert: &Certificate) -> SystemTime {
    cert.x509()
        .tbs_certificate()
        .validity()
        .not_before
        .to_system_time()
}

pub(super) fn not_after(cert: &Certificate) -> SystemTime {
    cert.x509()
        .tbs_certificate()
        .validity()
        .not_after
        .to_system_time()
}

pub(super) fn dns_names(cert: &Certificate) -> Vec<String> {
    match cert
        .x509()
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
    {
        Ok(Some((_, san))) => san
            .0
            .iter()
            .filter_map(|n| match n {
                GeneralName::DnsName(d) => Some(d.to_string().to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn covers_host(cert: &Certificate, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    dns_names(cert).iter().any(|n| {
        n == &host
            || n.strip_prefix("*.").is_some_and(|parent| {
                host.split_once('.')
                    .is_some_and(|(first, rest)| first != "*" && rest == parent)
            })
    })
}

pub(super) fn allows_server_auth(cert: &Certificate) -> bool {
    match cert
        .x509()
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
    {
        Ok(Some((_, eku))) => eku.0.iter().any(|oid| {
            *oid == const_oid::db::rfc5280::ID_KP_SERVER_AUTH
                || *oid == const_oid::db::rfc5280::ANY_EXTENDED_KEY_USAGE
        }),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// The DNS names a request asked for, lower case.
pub(super) fn request_dns_names(request: &CertificateRequest) -> Vec<String> {
    request
        .dns_names()
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect()
}

/// The subject a request asked for, in the same form as [`subject`].
pub(super) fn request_subject(request: &CertificateRequest) -> String {
    request.subject()
}

/// Puts the certificate for `fingerprint` first, the others after in input order.
pub(super) fn build_chain(
    mut certs: Vec<Certificate>,
    fingerprint: &crate::Fingerprint,
) -> Result<Vec<Certificate>> {
    if let Some(i) = certs.iter().position(|c| c.fingerprint() == *fingerprint) {
        let leaf = certs.remove(i);
        certs.insert(0, leaf);
    }
    Ok(certs)
}
