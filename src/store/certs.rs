//! What the store asks of certificates, in the store's terms.

use crate::certificate::Certificate;
use crate::error::Result;
use crate::request::CertificateRequest;

/// Every certificate in the input, in any form [`Certificate::parse_any`] reads; a request is
/// [`CertificateError::IsRequest`](crate::error::CertificateError::IsRequest).
pub(super) fn parse_any(bytes: &[u8]) -> Result<Vec<Certificate>> {
    Certificate::parse_any(bytes)
}

/// Whether `cert` may serve the host-name binding `host`: a host it covers, or for a
/// wildcard binding (`*.example.com`), the same wildcard among its DNS names.
pub(super) fn covers_binding(cert: &Certificate, host: &str) -> bool {
    if host.starts_with("*.") {
        return cert
            .dns_names()
            .iter()
            .any(|n| n.eq_ignore_ascii_case(host));
    }
    cert.covers_host(host)
}

/// The names `request` asked for that `cert` does not cover: DNS names (a wildcard in the
/// certificate covers them as a TLS client would see it), then IP addresses.
pub(super) fn dropped_names(request: &CertificateRequest, cert: &Certificate) -> Vec<String> {
    let mut dropped: Vec<String> = request
        .dns_names()
        .into_iter()
        .filter(|n| !covers_binding(cert, n))
        .collect();
    let ips = cert.ip_addresses();
    dropped.extend(
        request
            .ip_addresses()
            .into_iter()
            .filter(|ip| !ips.contains(ip))
            .map(|ip| ip.to_string()),
    );
    dropped
}

/// The names a certificate covers, for messages: its DNS names, then its IP addresses.
pub(super) fn certified_names(cert: &Certificate) -> Vec<String> {
    let mut names = cert.dns_names();
    names.extend(cert.ip_addresses().iter().map(ToString::to_string));
    names
}
