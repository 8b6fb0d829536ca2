//! The install policy: which pending key a certificate goes to and what it must satisfy
//! (its chain links, its dates, serverAuth, the names that were requested), what a renewal's
//! certificate takes over, and the diagnostics when nothing matches ([`Session::no_match`]).
//!
//! [`Transaction::import`](super::Transaction::import) (a key and certificate made elsewhere)
//! goes through the same path: the key is stored as a pending entry without a request, then
//! the certificate is installed on it, so an imported certificate passes exactly the checks
//! an answered request does.

use std::time::SystemTime;

use super::InstallOptions;
use super::rows::{Origin, Row, State};
use super::transaction::Session;
use crate::certificate::Certificate;
use crate::chain::Chain;
use crate::error::{CertificateError, Error, InstallError, Result};
use crate::fingerprint::Fingerprint;
use crate::key::PrivateKey;
use crate::request::CertificateRequest;

impl Session<'_> {
    /// Installs the certificate in `bytes` (with its chain) on the pending key it certifies;
    /// returns the entry's name.
    pub(super) fn install(&self, bytes: &[u8], options: InstallOptions) -> Result<String> {
        let certs = Certificate::parse_any(bytes)?;
        // One indexed lookup per certificate in the input.
        let mut installed: Option<Row> = None;
        let mut pending: Option<Row> = None;
        for cert in &certs {
            let fp = cert.fingerprint();
            if let Some(row) = self.row_by_key(&fp)? {
                match row.state {
                    State::Pending => {
                        pending = Some(row);
                        break;
                    }
                    State::Installed => installed = installed.or(Some(row)),
                }
            }
        }
        let Some(row) = pending else {
            if let Some(row) = installed {
                return Err(InstallError::AlreadyInstalled {
                    fingerprint: row.fingerprint(),
                    entry: row.name,
                }
                .into());
            }
            return Err(self.no_match(&certs)?);
        };
        // Checked with the chain rows stored for it (none, for a pending entry): rows planted
        // for it fail here instead of being sealed into its new MAC.
        let pending = self.stored_row(row)?;
        let row = &pending.row;
        let fp = row.fingerprint();
        let chain = Chain::build(certs, &fp)?;
        let leaf = chain.leaf();
        let subject = leaf.subject();
        let now = options.now.unwrap_or_else(SystemTime::now);
        if !options.allow_invalid_dates {
            match leaf.check_validity_at(now) {
                Err(Error::Certificate(
                    CertificateError::Expired { .. } | CertificateError::NotYetValid { .. },
                )) => {
                    return Err(InstallError::InvalidDates {
                        subject,
                        not_before: leaf.not_before(),
                        not_after: leaf.not_after(),
                        now,
                    }
                    .into());
                }
                other => other?,
            }
        }
        if !leaf.allows_server_auth() {
            return Err(InstallError::NoServerAuth { subject }.into());
        }
        let dropped = match row.request()? {
            Some(req) => dropped_names(&req, leaf),
            None => Vec::new(),
        };
        if !dropped.is_empty() {
            return Err(InstallError::NamesDropped {
                entry: row.name.clone(),
                dropped,
                certified: certified_names(leaf),
            }
            .into());
        }
        let renewed = match row.renewal_of {
            // Checked before its bindings move, so that the new MAC cannot launder them.
            Some(old_id) => Some(self.stored(old_id)?),
            None => None,
        };
        if let Some(old) = &renewed {
            let endpoints: Vec<String> = self
                .bindings_of(old.row.id)?
                .iter()
                .filter(|e| e.host_name().is_some_and(|h| !covers_binding(leaf, h)))
                .map(ToString::to_string)
                .collect();
            if !endpoints.is_empty() {
                return Err(InstallError::RenewalDropsBindings {
                    entry: old.row.name.clone(),
                    endpoints,
                    certified: certified_names(leaf),
                }
                .into());
            }
        }
        // The key must still open before we tie a certificate to it.
        self.unseal(row)?;
        // A renewal takes over the bindings and the name of the entry it renews, which goes.
        let mut name = row.name.clone();
        let mut moved = Vec::new();
        let mut pending = pending;
        if let Some(mut old) = renewed {
            // Detached first, so that deleting the old entry does not find this row as its
            // renewal; its MAC is written again below.
            pending.row.renewal_of = None;
            self.unlink_renewal(pending.row.id)?;
            moved = self.move_bindings(&mut old, pending.row.id)?;
            name = old.row.name.clone();
            self.delete(old)?;
        }
        self.write_installed(pending, &name, &chain, moved)?;
        Ok(name)
    }

    /// The error for a certificate no pending key matches, with the pending keys of the same
    /// subject as candidates.
    pub(super) fn no_match(&self, certs: &[Certificate]) -> Result<Error> {
        // The server certificate is the one that is not a CA, whatever the file order.
        let Some(leaf) = certs.iter().find(|c| !c.is_ca()).or(certs.first()) else {
            return Ok(CertificateError::NoCertificate {
                hint: "the input holds no certificate".into(),
            }
            .into());
        };
        let subject = leaf.subject();
        let names: Vec<String> = leaf
            .dns_names()
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        // An error path: scanning the pending entries is fine here.
        let candidates = self
            .pending_keys()?
            .into_iter()
            .filter(|p| {
                p.subject == subject
                    || p.dns_names
                        .iter()
                        .any(|n| names.contains(&n.to_ascii_lowercase()))
            })
            .map(|p| {
                // A stored fingerprint is 32 bytes (the column is written only from a
                // `Fingerprint`, and the row's MAC covers it); anything else shows as zeros.
                let fp = <[u8; 32]>::try_from(p.spki.as_slice()).unwrap_or_default();
                (p.name, Fingerprint::from(fp))
            })
            .collect();
        Ok(InstallError::NoMatchingKey {
            subject,
            fingerprint: leaf.fingerprint(),
            candidates,
        }
        .into())
    }

    /// Stores `key` as the entry `name` and installs the certificate (with its chain) found
    /// in `pem_or_der` on it. Runs inside the caller's savepoint: on error nothing is left
    /// behind.
    pub(super) fn import(
        &self,
        name: &str,
        key: &PrivateKey,
        pem_or_der: &[u8],
        options: InstallOptions,
    ) -> Result<()> {
        self.check_name_free(name)?;
        let certificates = Certificate::parse_any(pem_or_der)?;
        let fp = key.fingerprint();
        let Some(leaf) = certificates.iter().find(|c| c.fingerprint() == fp) else {
            return Err(no_certificate_for_key(&certificates, key));
        };
        self.insert_pending(name, key, Origin::Certificate(leaf), None)?;
        // The install finds the pending key by the certificates' keys: the one just stored.
        let installed = self.install(pem_or_der, options)?;
        if installed != name {
            return Err(no_certificate_for_key(&certificates, key));
        }
        Ok(())
    }
}

/// The error for a certificate file that holds no certificate for the key being imported.
fn no_certificate_for_key(certificates: &[Certificate], key: &PrivateKey) -> Error {
    let leaf = certificates
        .iter()
        .find(|c| !c.is_ca())
        .or(certificates.first());
    InstallError::KeyMismatch {
        subject: leaf.map(Certificate::subject).unwrap_or_default(),
        certificate_fingerprint: leaf.map(Certificate::fingerprint),
        key_fingerprint: key.fingerprint(),
    }
    .into()
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
fn dropped_names(request: &CertificateRequest, cert: &Certificate) -> Vec<String> {
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
fn certified_names(cert: &Certificate) -> Vec<String> {
    let mut names = cert.dns_names();
    names.extend(cert.ip_addresses().iter().map(ToString::to_string));
    names
}
