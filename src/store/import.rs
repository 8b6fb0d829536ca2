//! [`Transaction::import`](super::Transaction::import): a key and its certificate made
//! elsewhere (another server, another tool), stored as one installed entry.
//!
//! The key goes in as a pending entry without a request, then the certificate is installed on
//! it through the one install path, so an imported certificate passes exactly the checks an
//! answered request does: its chain links, its dates, serverAuth.

use std::time::SystemTime;

use rusqlite::params;

use crate::certificate::Certificate;
use crate::error::{InstallError, Result, StoreError};
use crate::key::PrivateKey;

use super::schema::db;
use super::session::Session;
use super::{InstallOptions, KEY_LABEL, certs, join_names, secs};

/// Stores `key` as the entry `name` and installs the certificate (with its chain) found in
/// `pem_or_der` on it. Runs inside the caller's savepoint: on error nothing is left behind.
pub(super) fn import(
    session: &Session<'_>,
    name: &str,
    key: &PrivateKey,
    pem_or_der: &[u8],
    options: InstallOptions,
) -> Result<()> {
    session.check_name_free(name)?;
    let fp = key.fingerprint();
    let certificates = certs::parse_any(pem_or_der)?;
    let Some(leaf) = certificates.iter().find(|c| c.fingerprint() == fp) else {
        return Err(no_certificate_for_key(&certificates, key));
    };
    if let Some(existing) =
        session.row_where("e.spki_sha256 = ?1", params![fp.as_bytes().as_slice()])?
    {
        return Err(StoreError::DuplicateKey {
            entry: existing.name,
            fingerprint: fp,
        }
        .into());
    }
    let der = key.to_pkcs8_der()?;
    let sealed = session.kek.keys.seal(KEY_LABEL, fp.as_bytes(), &der)?;
    session
        .conn
        .execute(
            "INSERT INTO entries (name, state, spki_sha256, key_bits, sealed_key, subject, \
             dns_names, request_der, created_at, renewal_of, mac) \
             VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, NULL, ?7, NULL, x'')",
            params![
                name,
                fp.as_bytes().as_slice(),
                key.bits() as i64,
                sealed,
                leaf.subject(),
                join_names(&leaf.dns_names()),
                secs(SystemTime::now()),
            ],
        )
        .map_err(db("storing an imported key"))?;
    session.update_mac(session.conn.last_insert_rowid())?;
    // The install finds the pending key by the certificates' keys: the one just stored.
    let installed = session.install(pem_or_der, options)?;
    if installed != name {
        return Err(no_certificate_for_key(&certificates, key));
    }
    Ok(())
}

/// The error for a certificate file that holds no certificate for the key being imported.
fn no_certificate_for_key(certificates: &[Certificate], key: &PrivateKey) -> crate::error::Error {
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
