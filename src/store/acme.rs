//! What ACME (`crate::acme`) keeps in the store: accounts, orders, challenge answers, and the
//! entries it manages. Tables from migration `V2_ACME` (schema.rs).
//!
//! ```text
//! acme_accounts    directory URL → account URL, contacts, sealed credentials (the account
//!                  key), sealed like the server keys with the directory URL as context
//! acme_orders      id, directory, entry, order URL, state, identifiers, challenge type,
//!                  created / updated, resumed count, last error
//! acme_challenges  (kind, key) → order, value, seal: http-01 token → key authorization;
//!                  tls-alpn-01 identifier → challenge certificate DER and its sealed key;
//!                  dns-01 record name → TXT value; each row sealed to its kind, key and
//!                  value, so that a planted or altered answer is refused, never served
//! acme_managed     entry name → directory, challenge type, key size, renewal time, failures,
//!                  next attempt, last error
//! ```
//!
//! Secrets (account credentials, challenge keys) are sealed (AEAD) under the store's key, and
//! challenge answers are authenticated by their seal: a planted http-01 answer would let
//! someone with write access to the file pass a CA's validation for our names. The rest
//! (orders, the managed-entry records) is not secret and not MAC-protected, nor covered by the
//! store-level authenticator (`state.rs`, entries only): changing it behind the store's back
//! can make an order fail, resume another order URL, or make a renewal come early or late;
//! never serve a wrong key for an entry (the entries keep their MACs).
//!
//! Every function here runs in the caller's transaction (a [`Transaction`]) or one read
//! ([`KeyStore::read`]), so what an ACME step writes commits together with the entry change
//! it belongs with.
#![cfg_attr(not(feature = "acme"), allow(dead_code))]

use std::time::SystemTime;

use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use super::rows::{State, secs, time};
use super::schema::db;
use super::transaction::Session;
use super::{KeyStore, Transaction};
use crate::error::{Result, StoreError};
use crate::request::CertificateRequest;

/// Purpose label of sealed ACME account credentials (context: the directory URL).
const ACCOUNT_LABEL: &[u8] = b"keymanager/v1/acme-account";
/// Purpose label of a challenge answer's seal (context: [`challenge_context`]). Every answer
/// row carries one, so that a row planted by someone with write access to the file but without
/// the passphrase is never served: an http-01 answer of theirs would otherwise let them pass a
/// CA's validation for our names with their own key. For tls-alpn-01 the sealed plaintext is
/// the challenge key; for http-01 it is empty (the seal then authenticates the answer).
const CHALLENGE_LABEL: &[u8] = b"keymanager/v2/acme-challenge";

/// What a challenge answer's seal is bound to: its kind, its key (token or identifier) and its
/// value (key authorization or certificate), each length-prefixed.
fn challenge_context(kind: &str, key: &str, value: &[u8]) -> Vec<u8> {
    let mut context = Vec::with_capacity(24 + kind.len() + key.len() + value.len());
    for part in [kind.as_bytes(), key.as_bytes(), value] {
        context.extend_from_slice(&(part.len() as u64).to_be_bytes());
        context.extend_from_slice(part);
    }
    context
}

/// The schema of these tables: appended to `schema::MIGRATIONS` as version 2.
pub(super) const V2_ACME: &str = "
CREATE TABLE acme_accounts (
    directory          TEXT    PRIMARY KEY,
    account_url        TEXT    NOT NULL,
    contact            TEXT    NOT NULL,
    sealed_credentials BLOB    NOT NULL,
    created_at         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE acme_orders (
    id          INTEGER PRIMARY KEY,
    directory   TEXT    NOT NULL,
    entry       TEXT    NOT NULL,
    url         TEXT,
    state       TEXT    NOT NULL CHECK (state IN ('placing', 'pending', 'ready', 'processing',
                                                  'valid', 'installed', 'failed', 'cancelled')),
    identifiers TEXT    NOT NULL,
    challenge   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    resumed     INTEGER NOT NULL DEFAULT 0,
    error       TEXT
) STRICT;
CREATE UNIQUE INDEX acme_orders_open ON acme_orders(entry)
    WHERE state IN ('placing', 'pending', 'ready', 'processing', 'valid');

CREATE TABLE acme_challenges (
    kind       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    order_id   INTEGER NOT NULL REFERENCES acme_orders(id) ON DELETE CASCADE,
    value      BLOB    NOT NULL,
    sealed_key BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX acme_challenges_order ON acme_challenges(order_id);

CREATE TABLE acme_managed (
    entry      TEXT    PRIMARY KEY,
    directory  TEXT    NOT NULL,
    challenge  TEXT    NOT NULL,
    key_bits   INTEGER NOT NULL,
    renew_at   INTEGER NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    retry_at   INTEGER,
    last_error TEXT
) STRICT, WITHOUT ROWID;
";

/// One `acme_orders` row.
#[derive(Debug, Clone)]
pub(crate) struct AcmeOrderRow {
    pub(crate) id: i64,
    pub(crate) directory: String,
    pub(crate) entry: String,
    pub(crate) url: Option<String>,
    pub(crate) state: String,
    pub(crate) identifiers: Vec<String>,
    pub(crate) challenge: String,
    pub(crate) created: SystemTime,
    pub(crate) updated: SystemTime,
    pub(crate) resumed: i64,
    pub(crate) error: Option<String>,
}

/// One `acme_managed` row.
#[derive(Debug, Clone)]
pub(crate) struct AcmeManagedRow {
    pub(crate) entry: String,
    pub(crate) directory: String,
    pub(crate) challenge: String,
    pub(crate) key_bits: i64,
    pub(crate) renew_at: SystemTime,
    pub(crate) failures: i64,
    pub(crate) retry_at: Option<SystemTime>,
    pub(crate) last_error: Option<String>,
}

/// A tls-alpn-01 challenge certificate and its key (PKCS#8 DER, zeroized on drop).
pub(crate) struct AcmeAlpnChallenge {
    pub(crate) certificate: Vec<u8>,
    pub(crate) key_pkcs8: Zeroizing<Vec<u8>>,
}

const ORDER_COLUMNS: &str = "id, directory, entry, url, state, identifiers, challenge, \
    created_at, updated_at, resumed, error";

fn order_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<AcmeOrderRow> {
    let identifiers: String = r.get(5)?;
    Ok(AcmeOrderRow {
        id: r.get(0)?,
        directory: r.get(1)?,
        entry: r.get(2)?,
        url: r.get(3)?,
        state: r.get(4)?,
        identifiers: identifiers
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        challenge: r.get(6)?,
        created: time(r.get(7)?),
        updated: time(r.get(8)?),
        resumed: r.get(9)?,
        error: r.get(10)?,
    })
}

fn managed_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<AcmeManagedRow> {
    Ok(AcmeManagedRow {
        entry: r.get(0)?,
        directory: r.get(1)?,
        challenge: r.get(2)?,
        key_bits: r.get(3)?,
        renew_at: time(r.get(4)?),
        failures: r.get(5)?,
        retry_at: r.get::<_, Option<i64>>(6)?.map(time),
        last_error: r.get(7)?,
    })
}

impl KeyStore {
    /// The sealed-then-opened credentials of the account for `directory`, if there is one.
    pub(crate) fn acme_account(&self, directory: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.read(|s| {
            let sealed: Option<Vec<u8>> = s
                .conn
                .prepare_cached("SELECT sealed_credentials FROM acme_accounts WHERE directory = ?1")
                .and_then(|mut st| st.query_row(params![directory], |r| r.get(0)).optional())
                .map_err(db("reading an ACME account"))?;
            match sealed {
                None => Ok(None),
                Some(sealed) => match s
                    .kek
                    .keys
                    .open(ACCOUNT_LABEL, directory.as_bytes(), &sealed)
                {
                    Some(plain) => Ok(Some(plain)),
                    None => {
                        s.check_salt()?;
                        Err(StoreError::Tampered {
                            entry: format!("ACME account for {directory}"),
                            what: "its sealed credentials do not decrypt".into(),
                        }
                        .into())
                    }
                },
            }
        })
    }

    /// The key authorization to answer the http-01 challenge `token` with. A row whose seal
    /// does not open (planted, or altered) is refused as tampering.
    pub(crate) fn acme_http01(&self, token: &str) -> Result<Option<String>> {
        self.read(|s| {
            Ok(
                challenge(s, "http-01", token)?
                    .and_then(|(value, _)| String::from_utf8(value).ok()),
            )
        })
    }

    /// The tls-alpn-01 challenge certificate and key for `identifier` (lower case).
    pub(crate) fn acme_tls_alpn(&self, identifier: &str) -> Result<Option<AcmeAlpnChallenge>> {
        self.read(|s| {
            Ok(
                challenge(s, "tls-alpn-01", identifier)?.map(|(certificate, key_pkcs8)| {
                    AcmeAlpnChallenge {
                        certificate,
                        key_pkcs8,
                    }
                }),
            )
        })
    }

    /// Every recorded order, oldest first.
    pub(crate) fn acme_orders(&self) -> Result<Vec<AcmeOrderRow>> {
        self.read(|s| {
            let mut st = s
                .conn
                .prepare_cached(&format!(
                    "SELECT {ORDER_COLUMNS} FROM acme_orders ORDER BY id"
                ))
                .map_err(db("listing ACME orders"))?;
            st.query_map([], order_from_sql)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(db("listing ACME orders"))
        })
    }

    /// Every managed entry, by name.
    pub(crate) fn acme_managed(&self) -> Result<Vec<AcmeManagedRow>> {
        self.read(|s| {
            let mut st = s
                .conn
                .prepare_cached(
                    "SELECT entry, directory, challenge, key_bits, renew_at, failures, \
                     retry_at, last_error FROM acme_managed ORDER BY entry",
                )
                .map_err(db("listing ACME entries"))?;
            st.query_map([], managed_from_sql)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(db("listing ACME entries"))
        })
    }

    /// The open order of entry `entry`, if any.
    pub(crate) fn acme_open_order(&self, entry: &str) -> Result<Option<AcmeOrderRow>> {
        self.read(|s| open_order(s, entry))
    }

    /// The DER of the leaf certificate of entry `name` (`None` when it is pending); checks
    /// the entry's MAC. [`StoreError::NotFound`] when there is no such entry.
    pub(crate) fn acme_leaf(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.read(|s| {
            let row = s.row_by_name(name)?;
            let chain = s.chain(row.id)?;
            s.verify(&row, &chain)?;
            Ok(chain.into_iter().next())
        })
    }

    /// The request of the pending entry `name` (`None` when there is no such entry; an
    /// installed one is [`StoreError::WrongState`]). Checks the entry's MAC.
    pub(crate) fn acme_pending_request(&self, name: &str) -> Result<Option<CertificateRequest>> {
        self.read(|s| {
            let Some(row) = s.row_where("e.name = ?1", params![name])? else {
                return Ok(None);
            };
            s.verify(&row, &s.chain(row.id)?)?;
            if row.state != State::Pending {
                return Err(StoreError::WrongState {
                    name: name.to_owned(),
                    state: row.state.as_str().into(),
                    hint: "it already has a certificate: renew it (acme renew) or choose another \
                           name"
                        .into(),
                }
                .into());
            }
            row.request()?.map(Some).ok_or_else(|| {
                StoreError::WrongState {
                    name: name.to_owned(),
                    state: "pending without a request".into(),
                    hint: "remove it and issue again".into(),
                }
                .into()
            })
        })
    }
}

fn open_order(s: &Session<'_>, entry: &str) -> Result<Option<AcmeOrderRow>> {
    s.conn
        .prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM acme_orders WHERE entry = ?1 AND state IN \
             ('placing', 'pending', 'ready', 'processing', 'valid')"
        ))
        .and_then(|mut st| st.query_row(params![entry], order_from_sql).optional())
        .map_err(db("reading an ACME order"))
}

impl Transaction {
    /// Stores (or replaces) the account for `directory`, its credentials sealed.
    pub(crate) fn acme_put_account(
        &mut self,
        directory: &str,
        account_url: &str,
        contact: &[String],
        credentials: &[u8],
    ) -> Result<()> {
        let s = self.session();
        let sealed = s
            .kek
            .keys
            .seal(ACCOUNT_LABEL, directory.as_bytes(), credentials)?;
        s.conn
            .execute(
                "INSERT OR REPLACE INTO acme_accounts \
                 (directory, account_url, contact, sealed_credentials, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    directory,
                    account_url,
                    contact.join("\n"),
                    sealed,
                    secs(SystemTime::now())
                ],
            )
            .map_err(db("storing an ACME account"))?;
        Ok(())
    }

    /// Records a new order (state `placing`, no URL yet) for the pending entry `entry`;
    /// returns its id.
    pub(crate) fn acme_insert_order(
        &mut self,
        directory: &str,
        entry: &str,
        identifiers: &[String],
        challenge: &str,
    ) -> Result<i64> {
        let s = self.session();
        let now = secs(SystemTime::now());
        s.conn
            .execute(
                "INSERT INTO acme_orders (directory, entry, url, state, identifiers, challenge, \
                 created_at, updated_at) VALUES (?1, ?2, NULL, 'placing', ?3, ?4, ?5, ?5)",
                params![directory, entry, identifiers.join("\n"), challenge, now],
            )
            .map_err(db("recording an ACME order"))?;
        Ok(s.conn.last_insert_rowid())
    }

    /// Updates an order's record: its URL and state (each when given) and its last error
    /// (replaced, `None` clears it); counts a resumption when `resumed`.
    pub(crate) fn acme_update_order(
        &mut self,
        id: i64,
        url: Option<&str>,
        state: Option<&str>,
        error: Option<&str>,
        resumed: bool,
    ) -> Result<()> {
        let s = self.session();
        s.conn
            .execute(
                "UPDATE acme_orders SET url = coalesce(?1, url), state = coalesce(?2, state), \
                 error = ?3, updated_at = ?4, resumed = resumed + ?5 WHERE id = ?6",
                params![
                    url,
                    state,
                    error,
                    secs(SystemTime::now()),
                    i64::from(resumed),
                    id
                ],
            )
            .map_err(db("updating an ACME order"))?;
        Ok(())
    }

    /// Closes an order: its final state and note, and its challenge answers removed.
    pub(crate) fn acme_close_order(
        &mut self,
        id: i64,
        state: &str,
        note: Option<&str>,
    ) -> Result<()> {
        self.acme_update_order(id, None, Some(state), note, false)?;
        self.acme_clear_challenges(id)
    }

    /// Sets the challenge type an order uses.
    pub(crate) fn acme_set_order_challenge(&mut self, id: i64, challenge: &str) -> Result<()> {
        self.session()
            .conn
            .execute(
                "UPDATE acme_orders SET challenge = ?1 WHERE id = ?2",
                params![challenge, id],
            )
            .map_err(db("updating an ACME order"))?;
        Ok(())
    }

    /// Stores a challenge answer for order `order_id`, replacing one for the same key, sealed
    /// to its kind, key and value; a private key (tls-alpn-01) is the sealed plaintext.
    pub(crate) fn acme_put_challenge(
        &mut self,
        order_id: i64,
        kind: &str,
        key: &str,
        value: &[u8],
        private_key: Option<&[u8]>,
    ) -> Result<()> {
        let s = self.session();
        let sealed = s.kek.keys.seal(
            CHALLENGE_LABEL,
            &challenge_context(kind, key, value),
            private_key.unwrap_or_default(),
        )?;
        s.conn
            .execute(
                "INSERT OR REPLACE INTO acme_challenges \
                 (kind, key, order_id, value, sealed_key, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![kind, key, order_id, value, sealed, secs(SystemTime::now())],
            )
            .map_err(db("storing an ACME challenge"))?;
        Ok(())
    }

    /// Deletes the challenge answers of order `order_id`.
    pub(crate) fn acme_clear_challenges(&mut self, order_id: i64) -> Result<()> {
        self.session()
            .conn
            .execute(
                "DELETE FROM acme_challenges WHERE order_id = ?1",
                params![order_id],
            )
            .map_err(db("removing ACME challenges"))?;
        Ok(())
    }

    /// Records that ACME manages entry `entry` (after its certificate was installed in this
    /// transaction): renewal at `renew_at`, no failures.
    pub(crate) fn acme_manage(
        &mut self,
        entry: &str,
        directory: &str,
        challenge: &str,
        key_bits: usize,
        renew_at: SystemTime,
    ) -> Result<()> {
        self.session()
            .conn
            .execute(
                "INSERT OR REPLACE INTO acme_managed \
                 (entry, directory, challenge, key_bits, renew_at, failures, retry_at, last_error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, NULL, NULL)",
                params![
                    entry,
                    directory,
                    challenge,
                    i64::try_from(key_bits).unwrap_or(i64::MAX),
                    secs(renew_at)
                ],
            )
            .map_err(db("recording an ACME entry"))?;
        Ok(())
    }

    /// Records a failed renewal of `entry`: the failure count, the next attempt, the error.
    pub(crate) fn acme_renewal_failed(
        &mut self,
        entry: &str,
        failures: u32,
        retry_at: SystemTime,
        error: &str,
    ) -> Result<()> {
        self.session()
            .conn
            .execute(
                "UPDATE acme_managed SET failures = ?1, retry_at = ?2, last_error = ?3 \
                 WHERE entry = ?4",
                params![i64::from(failures), secs(retry_at), error, entry],
            )
            .map_err(db("recording a failed renewal"))?;
        Ok(())
    }

    /// Sets the renewal time of `entry` (the point chosen in the CA's ARI window).
    pub(crate) fn acme_set_renew_at(&mut self, entry: &str, renew_at: SystemTime) -> Result<()> {
        self.session()
            .conn
            .execute(
                "UPDATE acme_managed SET renew_at = ?1 WHERE entry = ?2",
                params![secs(renew_at), entry],
            )
            .map_err(db("recording a renewal time"))?;
        Ok(())
    }

    /// Forgets that ACME manages `entry` (the entry was removed).
    pub(crate) fn acme_unmanage(&mut self, entry: &str) -> Result<()> {
        self.session()
            .conn
            .execute("DELETE FROM acme_managed WHERE entry = ?1", params![entry])
            .map_err(db("forgetting an ACME entry"))?;
        Ok(())
    }
}

/// A challenge answer as stored: its value, and the opened plaintext of its seal.
type ChallengeAnswer = (Vec<u8>, Zeroizing<Vec<u8>>);

/// The challenge answer of `kind` for `key`: its value and the plaintext of its seal (the
/// challenge key for tls-alpn-01, empty for http-01). A row whose seal does not open for its
/// kind, key and value (planted, or altered) is refused as tampering.
fn challenge(s: &Session<'_>, kind: &str, key: &str) -> Result<Option<ChallengeAnswer>> {
    let row: Option<(Vec<u8>, Option<Vec<u8>>)> = s
        .conn
        .prepare_cached(
            "SELECT value, sealed_key FROM acme_challenges WHERE kind = ?1 AND key = ?2",
        )
        .and_then(|mut st| {
            st.query_row(params![kind, key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db("reading an ACME challenge"))?;
    let Some((value, sealed)) = row else {
        return Ok(None);
    };
    let context = challenge_context(kind, key, &value);
    match sealed.and_then(|sealed| s.kek.keys.open(CHALLENGE_LABEL, &context, &sealed)) {
        Some(plain) => Ok(Some((value, plain))),
        None => Err(StoreError::Tampered {
            entry: format!("ACME {kind} challenge for {key}"),
            what: "its answer was not written by this store (its seal does not open)".into(),
        }
        .into()),
    }
}

/// Re-seals the ACME secrets under a new key (a passphrase change): called by
/// `KeyStore::change_passphrase` inside its transaction.
pub(super) fn reseal(
    conn: &rusqlite::Connection,
    old: &super::Kek,
    new: &super::Kek,
) -> Result<()> {
    let accounts: Vec<(String, Vec<u8>)> = {
        let mut st = conn
            .prepare("SELECT directory, sealed_credentials FROM acme_accounts")
            .map_err(db("reading ACME accounts"))?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(db("reading ACME accounts"))?
    };
    for (directory, sealed) in accounts {
        let plain = old
            .keys
            .open(ACCOUNT_LABEL, directory.as_bytes(), &sealed)
            .ok_or_else(|| StoreError::Tampered {
                entry: format!("ACME account for {directory}"),
                what: "its sealed credentials do not decrypt".into(),
            })?;
        let resealed = new.keys.seal(ACCOUNT_LABEL, directory.as_bytes(), &plain)?;
        conn.execute(
            "UPDATE acme_accounts SET sealed_credentials = ?1 WHERE directory = ?2",
            params![resealed, directory],
        )
        .map_err(db("re-sealing an ACME account"))?;
    }
    // Challenge answers live minutes: drop them rather than re-seal them (an order in flight
    // makes new ones when it is resumed).
    conn.execute("DELETE FROM acme_challenges", [])
        .map_err(db("removing ACME challenges"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    /// The store at `path`, created when missing.
    fn store_at(path: &std::path::Path, passphrase: &str) -> KeyStore {
        let options = StoreOptions::fast_for_tests();
        if path.exists() {
            KeyStore::open_with(path, passphrase, &options).unwrap()
        } else {
            KeyStore::create_with(path, passphrase, &options).unwrap()
        }
    }

    /// The account's credentials are sealed to their directory, survive a passphrase change
    /// (re-sealed with the entries), and a challenge key does not outlive it.
    #[test]
    fn accounts_are_sealed_per_directory_and_follow_a_passphrase_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let store = store_at(&path, "old passphrase");
        let mut tx = store.begin().unwrap();
        tx.acme_put_account(
            "https://ca.test/dir",
            "https://ca.test/acct/1",
            &[],
            b"{\"id\":1}",
        )
        .unwrap();
        let order = tx
            .acme_insert_order(
                "https://ca.test/dir",
                "www",
                &["www.test".into()],
                "tls-alpn-01",
            )
            .unwrap();
        tx.acme_put_challenge(order, "tls-alpn-01", "www.test", b"cert", Some(b"key"))
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(
            &store.acme_account("https://ca.test/dir").unwrap().unwrap()[..],
            b"{\"id\":1}"
        );
        assert!(
            store
                .acme_account("https://other.test/dir")
                .unwrap()
                .is_none()
        );
        let challenge = store.acme_tls_alpn("www.test").unwrap().unwrap();
        assert_eq!(&challenge.key_pkcs8[..], b"key");

        // A sealed blob moved to another directory's row does not open.
        store
            .read(|s| {
                s.conn
                    .execute(
                        "INSERT INTO acme_accounts SELECT 'https://evil.test/dir', account_url, \
                         contact, sealed_credentials, created_at FROM acme_accounts",
                        [],
                    )
                    .unwrap();
                Ok(())
            })
            .unwrap();
        assert!(matches!(
            store.acme_account("https://evil.test/dir"),
            Err(crate::Error::Store(StoreError::Tampered { .. }))
        ));
        store
            .read(|s| {
                s.conn
                    .execute(
                        "DELETE FROM acme_accounts WHERE directory = 'https://evil.test/dir'",
                        [],
                    )
                    .unwrap();
                Ok(())
            })
            .unwrap();

        store
            .change_passphrase("old passphrase", "new passphrase")
            .unwrap();
        drop(store);
        let store = store_at(&path, "new passphrase");
        assert_eq!(
            &store.acme_account("https://ca.test/dir").unwrap().unwrap()[..],
            b"{\"id\":1}"
        );
        assert!(store.acme_tls_alpn("www.test").unwrap().is_none());
    }

    /// A challenge answer planted in the file (no passphrase) is refused, not served: an
    /// http-01 answer of an attacker's would let them pass a CA's validation for our names.
    #[test]
    fn planted_or_altered_challenge_answers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_at(&dir.path().join("keys.db"), "passphrase");
        let mut tx = store.begin().unwrap();
        let order = tx
            .acme_insert_order("https://ca.test/dir", "www", &[], "http-01")
            .unwrap();
        tx.acme_put_challenge(order, "http-01", "good-token", b"good-token.thumb", None)
            .unwrap();
        tx.acme_put_challenge(order, "tls-alpn-01", "www.test", b"cert", Some(b"key"))
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(
            store.acme_http01("good-token").unwrap().as_deref(),
            Some("good-token.thumb")
        );
        let write = |sql: &str| {
            store
                .read(|s| {
                    s.conn.execute(sql, []).unwrap();
                    Ok(())
                })
                .unwrap()
        };
        // Planted without a seal, planted with another row's seal, and altered in place.
        write(&format!(
            "INSERT INTO acme_challenges (kind, key, order_id, value, sealed_key, created_at) \
             VALUES ('http-01', 'evil-token', {order}, X'6576696c', NULL, 0)"
        ));
        write(&format!(
            "INSERT INTO acme_challenges (kind, key, order_id, value, sealed_key, created_at) \
             SELECT 'http-01', 'evil-2', {order}, X'6576696c', sealed_key, 0 \
             FROM acme_challenges WHERE key = 'good-token'"
        ));
        write("UPDATE acme_challenges SET value = X'6576696c' WHERE key = 'good-token'");
        write("UPDATE acme_challenges SET value = X'6576696c' WHERE key = 'www.test'");
        for token in ["evil-token", "evil-2", "good-token"] {
            assert!(
                matches!(
                    store.acme_http01(token),
                    Err(crate::Error::Store(StoreError::Tampered { .. }))
                ),
                "{token}"
            );
        }
        assert!(matches!(
            store.acme_tls_alpn("www.test"),
            Err(crate::Error::Store(StoreError::Tampered { .. }))
        ));
        assert!(store.acme_http01("unknown").unwrap().is_none());
    }

    #[test]
    fn one_open_order_per_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_at(&dir.path().join("keys.db"), "passphrase");
        let mut tx = store.begin().unwrap();
        let first = tx
            .acme_insert_order("https://ca.test/dir", "www", &[], "http-01")
            .unwrap();
        assert!(
            tx.acme_insert_order("https://ca.test/dir", "www", &[], "http-01")
                .is_err()
        );
        tx.acme_update_order(
            first,
            Some("https://ca.test/order/1"),
            Some("failed"),
            Some("no"),
            false,
        )
        .unwrap();
        tx.acme_insert_order("https://ca.test/dir", "www", &[], "http-01")
            .unwrap();
        tx.commit().unwrap();
        let open = store.acme_open_order("www").unwrap().unwrap();
        assert_ne!(open.id, first);
        assert_eq!(store.acme_orders().unwrap().len(), 2);
    }
}
