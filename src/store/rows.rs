//! The table layer: the `entries`, `chain` and `bindings` rows and the SQL that reads and
//! writes them, each row checked against its MAC and each key opened with the store's keys.
//! Everything above this file works with [`Row`]s and [`Session`] methods, never SQL text.

mod names;
mod write;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use super::schema::db;
use super::seal::Keys;
use super::slots::Slots;
use super::transaction::Session;
use crate::certificate::Certificate;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result, StoreError};
use crate::fingerprint::Fingerprint;
use crate::key::{KeyAlgorithm, KeySizePolicy, KeyType, PrivateKey};
use crate::name::DistinguishedName;
use crate::request::CertificateRequest;

pub(super) use names::{decode_names, encode_names, reencode_legacy_names};

/// The `algorithm` column of a binding (schema version 4).
pub(super) fn binding_algorithm(text: &str) -> Result<KeyAlgorithm> {
    match text {
        "rsa" => Ok(KeyAlgorithm::Rsa),
        "ecdsa" => Ok(KeyAlgorithm::Ecdsa),
        other => Err(StoreError::Corrupt {
            reason: format!(
                "a binding has the unknown algorithm `{}`",
                other.escape_debug()
            ),
        }
        .into()),
    }
}

/// Purpose label in the associated data of a sealed private key.
pub(super) const KEY_LABEL: &[u8] = b"keymanager/v1/private-key";
/// Purpose label of an entry row's MAC.
const ROW_LABEL: &[u8] = b"keymanager/v1/entry";

/// A pending entry as [`Session::pending_keys`] lists it.
pub(super) struct PendingKey {
    pub(super) name: String,
    pub(super) spki: Vec<u8>,
    pub(super) subject: String,
    pub(super) dns_names: Vec<String>,
}

/// What a new pending entry's subject and names come from.
#[derive(Clone, Copy)]
pub(super) enum Origin<'a> {
    /// The request made for its key (stored with it).
    Request(&'a CertificateRequest),
    /// The certificate of an imported key: it has no request.
    Certificate(&'a Certificate),
}

/// The `state` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Pending,
    Installed,
}

impl State {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Installed => "installed",
        }
    }
}

/// One `entries` row.
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) state: State,
    pub(super) spki: Vec<u8>,
    pub(super) key_bits: i64,
    /// The `key_type` column (schema version 4; `rsa` before).
    pub(super) key_type: KeyType,
    pub(super) sealed_key: Vec<u8>,
    pub(super) subject: String,
    /// The DNS names, decoded from [`dns_text`](Self::dns_text).
    pub(super) dns_names: Vec<String>,
    /// The `dns_names` column as stored (see [`encode_names`]): what the MAC covers.
    pub(super) dns_text: String,
    pub(super) request_der: Option<Vec<u8>>,
    pub(super) created_at: i64,
    pub(super) installed_at: Option<i64>,
    pub(super) not_before: Option<i64>,
    pub(super) not_after: Option<i64>,
    pub(super) renewal_of: Option<i64>,
    pub(super) mac: Vec<u8>,
}

/// An entry as stored and checked against its MAC: its row, certificate chain and bound
/// endpoints. A write changes it in memory as it changes the tables, then MACs what it
/// meant to write ([`Session::write_mac`]), never what it reads back.
pub(super) struct Stored {
    pub(super) row: Row,
    pub(super) chain: Vec<Vec<u8>>,
    /// The endpoints bound to it, as stored (canonical text), sorted.
    pub(super) bindings: Vec<String>,
}

const ROW_COLUMNS: &str = "e.id, e.name, e.state, e.spki_sha256, e.key_bits, e.sealed_key, \
    e.subject, e.dns_names, e.request_der, e.created_at, e.installed_at, e.not_before, \
    e.not_after, e.renewal_of, e.mac, e.key_type";

impl Row {
    pub(super) fn from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        let state: String = r.get(2)?;
        let dns: String = r.get(7)?;
        let key_bits: i64 = r.get(4)?;
        let key_type: String = r.get(15)?;
        let key_type = KeyType::from_name(&key_type, usize::try_from(key_bits).unwrap_or(0))
            .ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    15,
                    rusqlite::types::Type::Text,
                    format!("unknown key type `{}`", key_type.escape_debug()).into(),
                )
            })?;
        Ok(Row {
            id: r.get(0)?,
            name: r.get(1)?,
            state: match state.as_str() {
                "installed" => State::Installed,
                "pending" => State::Pending,
                _ => {
                    return Err(rusqlite::Error::FromSqlConversionFailure(
                        2,
                        rusqlite::types::Type::Text,
                        format!("unknown entry state `{}`", state.escape_debug()).into(),
                    ));
                }
            },
            spki: r.get(3)?,
            key_bits,
            key_type,
            sealed_key: r.get(5)?,
            subject: r.get(6)?,
            dns_names: decode_names(&dns),
            dns_text: dns,
            request_der: r.get(8)?,
            created_at: r.get(9)?,
            installed_at: r.get(10)?,
            not_before: r.get(11)?,
            not_after: r.get(12)?,
            renewal_of: r.get(13)?,
            mac: r.get(14)?,
        })
    }

    /// Everything the MAC covers, in order: all columns but the MAC and the sealed key (which
    /// is authenticated by its own AEAD tag), the number of certificates and the certificate
    /// chain, then the endpoints bound to the entry (sorted; none for an unbound entry, so the
    /// chain count keeps the framing unambiguous).
    pub(super) fn mac_parts(&self, chain: &[Vec<u8>], bindings: &[String]) -> Vec<Vec<u8>> {
        let opt = |v: Option<i64>| v.map_or_else(Vec::new, |v| v.to_be_bytes().to_vec());
        let mut parts = vec![
            ROW_LABEL.to_vec(),
            self.id.to_be_bytes().to_vec(),
            self.name.as_bytes().to_vec(),
            self.state.as_str().as_bytes().to_vec(),
            self.spki.clone(),
            self.key_bits_part(),
            self.subject.as_bytes().to_vec(),
            self.dns_text.as_bytes().to_vec(),
            self.request_der.clone().unwrap_or_default(),
            self.created_at.to_be_bytes().to_vec(),
            opt(self.installed_at),
            opt(self.not_before),
            opt(self.not_after),
            opt(self.renewal_of),
            (chain.len() as u64).to_be_bytes().to_vec(),
        ];
        parts.extend(chain.iter().cloned());
        parts.extend(bindings.iter().map(|b| b.as_bytes().to_vec()));
        parts
    }

    /// The key's size, and for a key other than RSA its type: an RSA row's MAC is what it was
    /// before ECDSA keys (8 bytes), and any other type is longer, so never mistaken for it.
    fn key_bits_part(&self) -> Vec<u8> {
        let mut part = self.key_bits.to_be_bytes().to_vec();
        if self.key_type.algorithm() != KeyAlgorithm::Rsa {
            part.extend_from_slice(self.key_type.name().as_bytes());
        }
        part
    }

    pub(super) fn fingerprint(&self) -> Fingerprint {
        let mut fp = [0u8; 32];
        if self.spki.len() == 32 {
            fp.copy_from_slice(&self.spki);
        }
        Fingerprint::from(fp)
    }

    pub(super) fn request(&self) -> Result<Option<CertificateRequest>> {
        match &self.request_der {
            None => Ok(None),
            Some(der) => CertificateRequest::from_der(der).map(Some).map_err(|_| {
                StoreError::Tampered {
                    entry: self.name.clone(),
                    what: "its stored request does not parse".into(),
                }
                .into()
            }),
        }
    }

    /// The subject that was requested, for a renewal's request.
    pub(super) fn subject_requested(
        &self,
        request: Option<&CertificateRequest>,
    ) -> Result<DistinguishedName> {
        let parsed = match request {
            Some(req) => req.distinguished_name(),
            None => self.subject.parse(),
        };
        parsed.map_err(|e: Error| {
            StoreError::WrongState {
                name: self.name.clone(),
                state: self.state.as_str().into(),
                hint: format!(
                    "its subject cannot be reused for a renewal request ({e}); make a new entry with create_pending"
                ),
            }
            .into()
        })
    }
}

impl Session<'_> {
    pub(super) fn row_by_name(&self, name: &str) -> Result<Row> {
        self.row_where("e.name = ?1", params![name])?
            .ok_or_else(|| {
                StoreError::NotFound {
                    name: name.to_owned(),
                }
                .into()
            })
    }

    pub(super) fn row_by_id(&self, id: i64) -> Result<Row> {
        self.row_where("e.id = ?1", params![id])?.ok_or_else(|| {
            StoreError::Database {
                during: "reading an entry",
                reason: format!("entry id {id} vanished"),
            }
            .into()
        })
    }

    pub(super) fn row_where(
        &self,
        condition: &str,
        p: impl rusqlite::Params,
    ) -> Result<Option<Row>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM entries e WHERE {condition}"
            ))
            .and_then(|mut st| st.query_row(p, Row::from_sql).optional())
            .map_err(db("reading an entry"))
    }

    pub(super) fn ids(&self) -> Result<Vec<i64>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM entries ORDER BY id")
            .map_err(db("listing entries"))?;
        let ids = st
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
            .map_err(db("listing entries"))?;
        Ok(ids)
    }

    pub(super) fn chain(&self, id: i64) -> Result<Vec<Vec<u8>>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT der FROM chain WHERE entry_id = ?1 ORDER BY position")
            .map_err(db("reading a certificate chain"))?;
        st.query_map(params![id], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Vec<u8>>>>())
            .map_err(db("reading a certificate chain"))
    }

    /// The endpoints bound to entry `id`, as stored, sorted: what its MAC covers.
    pub(super) fn binding_texts(&self, id: i64) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT endpoint FROM bindings WHERE entry_id = ?1 ORDER BY endpoint")
            .map_err(db("reading bindings"))?;
        st.query_map(params![id], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(db("reading bindings"))
    }

    /// Refuses the checked `row` when one of its bindings is in the slot of another algorithm
    /// than its key's. The algorithm is not under the entry's MAC (the endpoint is): one
    /// changed behind the store's back is refused, never served.
    pub(super) fn check_binding_algorithms(&self, row: &Row) -> Result<()> {
        let key = row.key_type;
        let other: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT algorithm FROM bindings WHERE entry_id = ?1 AND algorithm != ?2 LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(params![row.id, key.algorithm().name()], |r| r.get(0))
                    .optional()
            })
            .map_err(db("reading bindings"))?;
        match other {
            None => Ok(()),
            Some(text) => {
                let algorithm = binding_algorithm(&text)?;
                Err(StoreError::Tampered {
                    entry: row.name.clone(),
                    what: format!("a binding serves it as {algorithm} but its key is {key}"),
                }
                .into())
            }
        }
    }

    pub(super) fn bindings_of(&self, id: i64) -> Result<Vec<Endpoint>> {
        parse_bindings(&self.binding_texts(id)?)
    }

    /// Whether any endpoint is bound to entry `id` (one index probe; unchecked).
    pub(super) fn is_bound(&self, id: i64) -> Result<bool> {
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT 1 FROM bindings WHERE entry_id = ?1 LIMIT 1")
            .and_then(|mut st| st.query_row(params![id], |r| r.get(0)).optional())
            .map_err(db("reading bindings"))?;
        Ok(found.is_some())
    }

    /// The entries bound to `endpoint`, one per key algorithm.
    pub(super) fn bound_entries(&self, endpoint: &Endpoint) -> Result<Slots<i64>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT algorithm, entry_id FROM bindings WHERE endpoint = ?1")
            .map_err(db("looking up a binding"))?;
        let rows = st
            .query_map(params![endpoint.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(db("looking up a binding"))?;
        let mut slots = Slots::default();
        for (algorithm, id) in rows {
            slots.set(binding_algorithm(&algorithm)?, id);
        }
        Ok(slots)
    }

    pub(super) fn renewal_of(&self, id: i64) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT name FROM entries WHERE renewal_of = ?1")
            .and_then(|mut st| st.query_row(params![id], |r| r.get(0)).optional())
            .map_err(db("reading renewals"))
    }

    /// Checks the row's MAC (over the row, `chain` and the entry's bindings); on failure,
    /// tells a changed passphrase from tampering.
    pub(super) fn verify(&self, row: &Row, chain: &[Vec<u8>]) -> Result<()> {
        self.check_mac(row, chain, &self.binding_texts(row.id)?)
    }

    /// Entry `id` with its chain and bindings, checked against its MAC.
    pub(super) fn stored(&self, id: i64) -> Result<Stored> {
        let row = self.row_by_id(id)?;
        self.stored_row(row)
    }

    /// `row` with its chain and bindings, checked against its MAC.
    pub(super) fn stored_row(&self, row: Row) -> Result<Stored> {
        let chain = self.chain(row.id)?;
        let bindings = self.binding_texts(row.id)?;
        self.check_mac(&row, &chain, &bindings)?;
        Ok(Stored {
            row,
            chain,
            bindings,
        })
    }

    fn check_mac(&self, row: &Row, chain: &[Vec<u8>], bindings: &[String]) -> Result<()> {
        let parts = row.mac_parts(chain, bindings);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        if self.kek.keys.verify_mac(&refs, &row.mac) {
            return Ok(());
        }
        self.check_salt()?;
        Err(StoreError::Tampered {
            entry: row.name.clone(),
            what: "its integrity check (MAC) failed".into(),
        }
        .into())
    }

    /// The MAC of `entry` as it is in memory.
    fn mac_of(&self, entry: &Stored) -> Vec<u8> {
        let parts = entry.row.mac_parts(&entry.chain, &entry.bindings);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        self.kek.keys.mac(&refs)
    }

    /// Writes the MAC of `entry` as this operation means it to be: computed from the state in
    /// memory (checked before the change, then changed as the tables were), never from a
    /// read-back, so that rows planted beside it are not sealed into it.
    pub(super) fn write_mac(&self, entry: &mut Stored) -> Result<()> {
        let new = self.mac_of(entry);
        let old = std::mem::replace(&mut entry.row.mac, new);
        self.replace_token(entry.row.id, Some(&old), Some(&entry.row.mac))?;
        self.write(
            "writing an entry",
            "UPDATE entries SET mac = ?1 WHERE id = ?2",
            params![entry.row.mac, entry.row.id],
        )
    }

    pub(super) fn check_salt(&self) -> Result<()> {
        let salt: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT value FROM meta WHERE name = 'salt'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db("reading the key store metadata"))?;
        if salt.as_deref() != Some(self.kek.salt.as_slice()) {
            return Err(StoreError::PassphraseChanged.into());
        }
        Ok(())
    }

    /// Opens the row's sealed key; a key that does not open, or opens to another key, is
    /// [`StoreError::Tampered`].
    pub(super) fn unseal(&self, row: &Row) -> Result<PrivateKey> {
        open_sealed(&self.kek.keys, &row.fingerprint(), &row.sealed_key).or_else(|what| {
            if what == NOT_OPENED {
                self.check_salt()?;
            }
            Err(StoreError::Tampered {
                entry: row.name.clone(),
                what: what.to_owned(),
            }
            .into())
        })
    }

    /// The row of the key with fingerprint `fp` (the install lookup: one index probe).
    pub(super) fn row_by_key(&self, fp: &Fingerprint) -> Result<Option<Row>> {
        self.row_where("e.spki_sha256 = ?1", params![fp.as_bytes().as_slice()])
    }

    /// Every pending entry, by name: the candidates named when no key matches a certificate.
    pub(super) fn pending_keys(&self) -> Result<Vec<PendingKey>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT name, spki_sha256, subject, dns_names FROM entries \
                 WHERE state = 'pending' ORDER BY name",
            )
            .map_err(db("listing pending keys"))?;
        st.query_map([], |r| {
            Ok(PendingKey {
                name: r.get(0)?,
                spki: r.get(1)?,
                subject: r.get(2)?,
                dns_names: decode_names(&r.get::<_, String>(3)?),
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(db("listing pending keys"))
    }

    /// Runs one writing statement; `during` names it in a database error.
    fn write(&self, during: &'static str, sql: &str, p: impl rusqlite::Params) -> Result<()> {
        self.conn.execute(sql, p).map_err(db(during))?;
        Ok(())
    }

    /// Hands each row that `clause` selects to `f` as it is read, unchecked: one row in
    /// memory at a time, however large the store.
    pub(super) fn for_each_row(
        &self,
        clause: &str,
        p: impl rusqlite::Params,
        mut f: impl FnMut(Row) -> Result<()>,
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {ROW_COLUMNS} FROM entries e {clause}"))
            .map_err(db("listing entries"))?;
        let mut rows = st.query(p).map_err(db("listing entries"))?;
        while let Some(row) = rows.next().map_err(db("listing entries"))? {
            f(Row::from_sql(row).map_err(db("listing entries"))?)?;
        }
        Ok(())
    }
}

/// Stored endpoints (canonical text), parsed; one that does not parse is
/// [`StoreError::Corrupt`].
pub(super) fn parse_bindings(texts: &[String]) -> Result<Vec<Endpoint>> {
    texts
        .iter()
        .map(|t| {
            t.parse::<Endpoint>().map_err(|_| {
                StoreError::Corrupt {
                    reason: format!("stored binding `{}` does not parse", t.escape_debug()),
                }
                .into()
            })
        })
        .collect()
}

/// What [`open_sealed`] says of a sealed key that does not decrypt.
const NOT_OPENED: &str = "its sealed private key does not decrypt";

/// Decrypts the sealed key of the entry whose key has fingerprint `fp`: its PKCS#8 DER, or
/// `None` if it does not open (altered, or sealed for another key or under other keys).
pub(super) fn open_sealed_der(
    keys: &Keys,
    fp: &Fingerprint,
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    keys.open(KEY_LABEL, fp.as_bytes(), sealed)
}

/// Opens the sealed key of the entry whose key has fingerprint `fp`; on failure, what was
/// wrong (the entry was tampered with).
pub(super) fn open_sealed(
    keys: &Keys,
    fp: &Fingerprint,
    sealed: &[u8],
) -> std::result::Result<PrivateKey, &'static str> {
    let der = open_sealed_der(keys, fp, sealed).ok_or(NOT_OPENED)?;
    // The key's size was accepted when it was stored, possibly under the legacy policy;
    // the AEAD tag vouches that it is the key that was stored.
    let key = PrivateKey::from_der_with_policy(&der, KeySizePolicy::InsecureLegacy)
        .map_err(|_| "its private key does not parse")?;
    if key.fingerprint() != *fp {
        return Err("its private key is not the key on record");
    }
    Ok(key)
}

/// Runs `PRAGMA foreign_key_check`: a chain row, binding or renewal link that points at no
/// entry was written behind the store's back (the store's own connections enforce foreign
/// keys; another tool's do not by default). Names the first such row.
pub(super) fn check_references(conn: &rusqlite::Connection) -> Result<()> {
    let broken: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()
        .map_err(db("checking references between rows"))?;
    let Some(table) = broken else {
        return Ok(());
    };
    let named: Option<String> = conn
        .query_row(
            "SELECT 'the binding of `' || endpoint || '` points at entry id ' || entry_id \
                 FROM bindings WHERE entry_id NOT IN (SELECT id FROM entries) \
             UNION ALL SELECT 'a certificate (position ' || position || ') points at entry id ' \
                 || entry_id FROM chain WHERE entry_id NOT IN (SELECT id FROM entries) \
             UNION ALL SELECT 'entry `' || name || '` renews entry id ' || renewal_of \
                 FROM entries WHERE renewal_of NOT IN (SELECT id FROM entries) \
             LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db("checking references between rows"))?;
    Err(StoreError::Corrupt {
        reason: format!(
            "{}, which does not exist: a row was planted, or its entry deleted, behind the \
             store's back",
            named.unwrap_or_else(|| format!("a row of `{table}` points at a missing row"))
        ),
    }
    .into())
}

pub(super) fn secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The time `s` seconds from the epoch. Stored times were written by [`secs`] and are
/// MAC-checked before use; a value beyond what this platform's `SystemTime` holds (never
/// written by us) reads as the epoch rather than panicking.
pub(super) fn time(s: i64) -> SystemTime {
    if s >= 0 {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(s.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(s.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lookups on the paths whose cost must not grow with the store (install, resolve,
    /// bind) are index lookups, never table scans.
    #[test]
    fn hot_lookups_use_indexes() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("BEGIN").unwrap();
        super::super::schema::migrate(&conn, 0).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        for (sql, index) in [
            (
                format!("SELECT {ROW_COLUMNS} FROM entries e WHERE e.spki_sha256 = ?1"),
                "entries_spki_sha256",
            ),
            (
                format!("SELECT {ROW_COLUMNS} FROM entries e WHERE e.name = ?1"),
                "sqlite_autoindex_entries_1",
            ),
            (
                format!("SELECT {ROW_COLUMNS} FROM entries e WHERE e.id = ?1"),
                "INTEGER PRIMARY KEY",
            ),
            // `KeyStore::renewal_of` (issue 14).
            (
                format!("SELECT {ROW_COLUMNS} FROM entries e WHERE e.renewal_of = ?1"),
                "entries_renewal_of",
            ),
            (
                "SELECT entry_id FROM bindings WHERE endpoint = ?1".into(),
                "PRIMARY KEY",
            ),
            (
                "SELECT der FROM chain WHERE entry_id = ?1 ORDER BY position".into(),
                "PRIMARY KEY",
            ),
            (
                "SELECT endpoint FROM bindings WHERE entry_id = ?1 ORDER BY endpoint".into(),
                "bindings_entry_id",
            ),
            (
                "SELECT id FROM entries WHERE renewal_of = ?1".into(),
                "entries_renewal_of",
            ),
            // A watcher's incremental refresh (issue 17): the change log since a generation,
            // then each changed entry's MAC; the log's pruning.
            (
                "SELECT DISTINCT entry_id FROM changes WHERE generation > ?1".into(),
                "PRIMARY KEY",
            ),
            (
                "SELECT mac FROM entries WHERE id = ?1".into(),
                "INTEGER PRIMARY KEY",
            ),
            (
                "SELECT 1 FROM bindings WHERE entry_id = ?1 LIMIT 1".into(),
                "bindings_entry_id",
            ),
            (
                "DELETE FROM changes WHERE generation <= ?1".into(),
                "PRIMARY KEY",
            ),
            // The planted-rows check of every new entry (issue 13).
            (
                "SELECT count(*) FROM chain WHERE entry_id = ?1".into(),
                "PRIMARY KEY",
            ),
            (
                "SELECT count(*) FROM bindings WHERE entry_id = ?1".into(),
                "bindings_entry_id",
            ),
            (
                "SELECT count(*) FROM entries WHERE renewal_of = ?1".into(),
                "entries_renewal_of",
            ),
            (
                "SELECT name, spki_sha256 FROM entries WHERE state = 'pending' AND subject = ?1"
                    .into(),
                "entries_subject",
            ),
        ] {
            let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = st
                .query_map([0], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains(index), "{sql}: {plan}");
            assert!(!plan.starts_with("SCAN"), "{sql}: {plan}");
        }
    }

    /// Creating an entry refuses, as tampering, rows already pointing at its id (ids are
    /// random, so this is a test of the check itself, at a chosen id).
    #[test]
    fn rows_pointing_at_a_new_id_are_refused() {
        use crate::store::{KeyStore, StoreOptions};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let options = StoreOptions::fast_for_tests();
        let store = KeyStore::create_with(&path, "pass", &options).unwrap();
        let attacker = rusqlite::Connection::open(&path).unwrap();
        attacker
            .execute_batch(
                "PRAGMA foreign_keys = OFF; \
                 INSERT INTO bindings (endpoint, algorithm, entry_id) \
                 VALUES ('0.0.0.0:443', 'rsa', 42);",
            )
            .unwrap();
        let tx = store.begin().unwrap();
        let row = Row {
            id: 42,
            name: "api".into(),
            state: State::Pending,
            spki: vec![7; 32],
            key_bits: 2048,
            key_type: KeyType::Rsa { bits: 2048 },
            sealed_key: vec![1, 2, 3],
            subject: "CN=api".into(),
            dns_names: vec![],
            dns_text: String::new(),
            request_der: None,
            created_at: 0,
            installed_at: None,
            not_before: None,
            not_after: None,
            renewal_of: None,
            mac: vec![],
        };
        match tx.session().insert_pending_at(42, row, "test") {
            Err(Error::Store(StoreError::Tampered { entry, what })) => {
                assert_eq!(entry, "api");
                assert!(what.contains("id 42"), "{what}");
            }
            other => panic!("expected Tampered, got {other:?}"),
        }
    }

    #[test]
    fn times_round_trip() {
        for s in [0, 1, 1_700_000_000, -5] {
            assert_eq!(secs(time(s)), s);
        }
        // The extremes do not panic, whatever the platform's range.
        let _ = (time(i64::MAX), time(i64::MIN));
    }
}
