//! The store-level authenticator: what proves the whole state, not one entry at a time.
//!
//! ```text
//! state     one row: generation, digest, MAC
//! digest    XOR of token(id, row MAC) over every entry (see seal.rs)
//! MAC       over the generation and the digest
//! ```
//!
//! Every write of an entry's MAC replaces its token in the digest (two HMACs and one row
//! update: O(changed entries) per commit, whatever the store's size); a commit that changed
//! the digest bumps the generation and re-MACs the record. Opening, [`KeyStore::check`],
//! [`KeyStore::snapshot`] and a [`Watcher`](super::Watcher)'s snapshot recompute the digest
//! from every entry's `(id, MAC)` (one HMAC per entry, no certificate or key is read) and
//! compare: an entry deleted, added, or replaced by an older copy of itself no longer adds up.
//! Beginning a transaction checks the record's MAC only (O(1)).
//!
//! What no single file can prove: that it is the newest. A whole older copy of the file is a
//! consistent older state; only a generation kept elsewhere tells it apart: a handle refuses a
//! generation older than one it has seen ([`StoreError::RolledBack`]), and
//! [`StoreOptions::min_generation`](super::StoreOptions::min_generation) lets an operator
//! who records the generation refuse it at open.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::KeyStore;
use super::schema::db;
use super::seal::Keys;
use super::transaction::Session;
use crate::error::{Result, StoreError};

/// The change log is pruned every this many generations...
const PRUNE_EVERY: u64 = 256;
/// ... down to this many generations.
const CHANGES_KEPT: u64 = 4096;

/// Purpose label of the state record's MAC.
const STATE_LABEL: &[u8] = b"keymanager/v1/state";

/// The `state` row: the generation, the digest of the set of entries, and their MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StateRecord {
    pub(super) generation: u64,
    pub(super) digest: [u8; 32],
}

impl StateRecord {
    fn mac(&self, keys: &Keys) -> Vec<u8> {
        keys.mac(&[STATE_LABEL, &self.generation.to_be_bytes(), &self.digest])
    }
}

/// Writes the record (generation and digest, with their MAC under `keys`).
pub(super) fn write(conn: &Connection, keys: &Keys, record: &StateRecord) -> Result<()> {
    let generation = i64::try_from(record.generation).map_err(|_| StoreError::Corrupt {
        reason: "the store's generation counter is exhausted".into(),
    })?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO state (id, generation, digest, mac) VALUES (1, ?1, ?2, ?3)",
    )
    .and_then(|mut st| {
        st.execute(params![
            generation,
            record.digest.as_slice(),
            record.mac(keys)
        ])
    })
    .map_err(db("writing the store's authenticator"))?;
    Ok(())
}

/// The digest of every entry in the file, computed from scratch under `keys` (one HMAC per
/// entry).
pub(super) fn digest_of_entries(conn: &Connection, keys: &Keys) -> Result<[u8; 32]> {
    let mut st = conn
        .prepare_cached("SELECT id, mac FROM entries")
        .map_err(db("reading the entries' MACs"))?;
    let mut rows = st.query([]).map_err(db("reading the entries' MACs"))?;
    let mut digest = [0u8; 32];
    while let Some(row) = rows.next().map_err(db("reading the entries' MACs"))? {
        let id: i64 = row.get(0).map_err(db("reading the entries' MACs"))?;
        let mac: Vec<u8> = row.get(1).map_err(db("reading the entries' MACs"))?;
        xor(&mut digest, &keys.token(id, &mac));
    }
    Ok(digest)
}

/// Writes the record of a file that has none yet (a new store, or one migrated from before
/// the authenticator): the digest of the entries it holds, generation 0.
pub(super) fn adopt(conn: &Connection, keys: &Keys) -> Result<()> {
    let digest = digest_of_entries(conn, keys)?;
    write(
        conn,
        keys,
        &StateRecord {
            generation: 0,
            digest,
        },
    )
}

impl Session<'_> {
    /// The record, after checking its MAC (O(1)). A missing or altered record is
    /// [`StoreError::StateTampered`].
    pub(super) fn state_record(&self) -> Result<StateRecord> {
        let stored: Option<(i64, Vec<u8>, Vec<u8>)> = self
            .conn
            .prepare_cached("SELECT generation, digest, mac FROM state WHERE id = 1")
            .and_then(|mut st| {
                st.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(db("reading the store's authenticator"))?;
        let tampered = |what: &str| -> crate::Error {
            StoreError::StateTampered {
                entry: None,
                what: what.to_owned(),
            }
            .into()
        };
        let Some((generation, digest, mac)) = stored else {
            return Err(tampered("its record is missing"));
        };
        let record = StateRecord {
            generation: u64::try_from(generation)
                .map_err(|_| tampered("its generation is negative"))?,
            digest: digest
                .try_into()
                .map_err(|_| tampered("its digest is not 32 bytes"))?,
        };
        if !self.kek.keys.verify_mac(
            &[
                STATE_LABEL,
                &record.generation.to_be_bytes(),
                &record.digest,
            ],
            &mac,
        ) {
            self.check_salt()?;
            return Err(tampered("its record's MAC does not verify"));
        }
        Ok(record)
    }

    /// Checks the whole state: the record's MAC, then the digest against every entry's
    /// `(id, MAC)`. Returns the generation.
    pub(super) fn check_state(&self) -> Result<u64> {
        let record = self.state_record()?;
        let found = digest_of_entries(self.conn, &self.kek.keys)?;
        if found != record.digest {
            return Err(self.fault_in_set(&record.digest, &found));
        }
        Ok(record.generation)
    }

    /// The error for a set of entries that does not add up to the record's digest, naming the
    /// entry at fault when it can be found (this failure path only: O(entries), every row
    /// read):
    /// - an entry whose own row, chain or bindings fail its MAC is [`StoreError::Tampered`],
    ///   naming it;
    /// - one entry too many (planted, or brought back after it was removed) is found by its
    ///   token, which is exactly the difference between the two digests;
    /// - an entry deleted, or replaced by an older copy of itself, leaves no row to name.
    fn fault_in_set(&self, recorded: &[u8; 32], found: &[u8; 32]) -> crate::Error {
        let extra = (|| -> Result<Option<String>> {
            let mut delta = *recorded;
            xor(&mut delta, found);
            let mut extra = None;
            for id in self.ids()? {
                let entry = self.stored(id)?;
                if self.kek.keys.token(id, &entry.row.mac) == delta {
                    extra = Some(entry.row.name);
                }
            }
            Ok(extra)
        })();
        match extra {
            Err(e) => e,
            Ok(Some(name)) => StoreError::StateTampered {
                what: format!(
                    "the set of entries does not add up to its digest: entry `{name}` is not \
                     part of the set the store last wrote; it was planted, or brought back \
                     after it was removed"
                ),
                entry: Some(name),
            }
            .into(),
            Ok(None) => StoreError::StateTampered {
                entry: None,
                what: "the set of entries does not add up to its digest, though every entry's \
                       own MAC verifies: an entry was deleted, or one was replaced by an older \
                       copy of itself"
                    .into(),
            }
            .into(),
        }
    }

    /// Replaces entry `id`'s token in the digest: `old` is the MAC it had (`None` for a new
    /// entry), `new` the MAC it gets (`None` when it is deleted). O(1).
    pub(super) fn replace_token(
        &self,
        id: i64,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<()> {
        let digest: Vec<u8> = self
            .conn
            .prepare_cached("SELECT digest FROM state WHERE id = 1")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(db("reading the store's authenticator"))?;
        let mut digest: [u8; 32] = digest.try_into().map_err(|_| StoreError::StateTampered {
            entry: None,
            what: "its digest is not 32 bytes".into(),
        })?;
        for mac in [old, new].into_iter().flatten() {
            xor(&mut digest, &self.kek.keys.token(id, mac));
        }
        self.conn
            .prepare_cached("UPDATE state SET digest = ?1 WHERE id = 1")
            .and_then(|mut st| st.execute(params![digest.as_slice()]))
            .map_err(db("writing the store's authenticator"))?;
        // The change log, for incremental snapshots: this entry changes in the generation
        // this transaction will commit (the record's own, plus one).
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO changes (generation, entry_id) \
                 SELECT generation + 1, ?1 FROM state WHERE id = 1",
            )
            .and_then(|mut st| st.execute(params![id]))
            .map_err(db("writing the change log"))?;
        Ok(())
    }

    /// At commit: if the digest changed since `begun` (read when the transaction began), the
    /// next generation with its MAC. Returns the generation the commit leaves.
    pub(super) fn seal_state(&self, begun: &StateRecord) -> Result<u64> {
        let digest: Vec<u8> = self
            .conn
            .prepare_cached("SELECT digest FROM state WHERE id = 1")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(db("reading the store's authenticator"))?;
        if digest.as_slice() == begun.digest.as_slice() {
            // Nothing was written (or it was all undone): the file is as it was.
            return Ok(begun.generation);
        }
        let record = StateRecord {
            generation: begun.generation.saturating_add(1),
            digest: digest.try_into().map_err(|_| StoreError::StateTampered {
                entry: None,
                what: "its digest is not 32 bytes".into(),
            })?,
        };
        write(self.conn, &self.kek.keys, &record)?;
        self.prune_changes(record.generation)?;
        Ok(record.generation)
    }

    /// Every [`PRUNE_EVERY`] generations, drops the change log's rows older than
    /// [`CHANGES_KEPT`] generations and records where the log now starts: a snapshot older
    /// than that is read in full.
    fn prune_changes(&self, generation: u64) -> Result<()> {
        if !generation.is_multiple_of(PRUNE_EVERY) || generation <= CHANGES_KEPT {
            return Ok(());
        }
        let since = i64::try_from(generation - CHANGES_KEPT).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached("DELETE FROM changes WHERE generation <= ?1")
            .and_then(|mut st| st.execute(params![since]))
            .and_then(|_| {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO meta (name, value) VALUES ('changes_since', ?1)",
                    )
                    .and_then(|mut st| st.execute(params![since]))
            })
            .map_err(db("pruning the change log"))?;
        Ok(())
    }

    /// Checks the whole state as [`check_state`](Self::check_state) does, and returns the
    /// record with every entry's token (what a [`Watcher`](super::Watcher) keeps to check
    /// later states incrementally).
    pub(super) fn state_tokens(&self) -> Result<(StateRecord, HashMap<i64, [u8; 32]>)> {
        let record = self.state_record()?;
        let mut st = self
            .conn
            .prepare_cached("SELECT id, mac FROM entries")
            .map_err(db("reading the entries' MACs"))?;
        let mut rows = st.query([]).map_err(db("reading the entries' MACs"))?;
        let mut tokens = HashMap::new();
        let mut digest = [0u8; 32];
        while let Some(row) = rows.next().map_err(db("reading the entries' MACs"))? {
            let id: i64 = row.get(0).map_err(db("reading the entries' MACs"))?;
            let mac: Vec<u8> = row.get(1).map_err(db("reading the entries' MACs"))?;
            let token = self.kek.keys.token(id, &mac);
            xor(&mut digest, &token);
            tokens.insert(id, token);
        }
        if digest != record.digest {
            return Err(self.fault_in_set(&record.digest, &digest));
        }
        Ok((record, tokens))
    }

    /// The generation from which the change log is complete: every entry changed by a later
    /// generation has a row. Untrusted, as the log is: it only says where to look.
    pub(super) fn changes_since(&self) -> Result<u64> {
        let since: Option<i64> = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE name = 'changes_since'")
            .and_then(|mut st| st.query_row([], |r| r.get(0)).optional())
            .map_err(db("reading the change log"))?;
        Ok(since
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(u64::MAX))
    }

    /// The entries the change log names for generations after `generation`, at most `limit`
    /// of them (`None` when there are more).
    pub(super) fn changed_since(&self, generation: u64, limit: usize) -> Result<Option<Vec<i64>>> {
        let generation = i64::try_from(generation).unwrap_or(i64::MAX);
        let mut st = self
            .conn
            .prepare_cached("SELECT DISTINCT entry_id FROM changes WHERE generation > ?1")
            .map_err(db("reading the change log"))?;
        let mut rows = st
            .query(params![generation])
            .map_err(db("reading the change log"))?;
        let mut ids = Vec::new();
        while let Some(row) = rows.next().map_err(db("reading the change log"))? {
            if ids.len() == limit {
                return Ok(None);
            }
            ids.push(row.get(0).map_err(db("reading the change log"))?);
        }
        Ok(Some(ids))
    }

    /// The MAC of entry `id` as stored, unchecked; `None` when there is no such entry.
    pub(super) fn entry_mac(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.conn
            .prepare_cached("SELECT mac FROM entries WHERE id = ?1")
            .and_then(|mut st| st.query_row(params![id], |r| r.get(0)).optional())
            .map_err(db("reading an entry's MAC"))
    }

    /// Entry `id`'s token, for a MAC read from the file.
    pub(super) fn token(&self, id: i64, mac: &[u8]) -> [u8; 32] {
        self.kek.keys.token(id, mac)
    }
}

impl KeyStore {
    /// The store's generation: a counter that every commit that changes the store bumps by
    /// one. The file holds it under a MAC; read (and checked) now.
    ///
    /// A handle refuses a generation older than one it has seen
    /// ([`StoreError::RolledBack`]); an operator who records it elsewhere can refuse an older
    /// file at open with [`StoreOptions::min_generation`](super::StoreOptions::min_generation).
    pub fn generation(&self) -> Result<u64> {
        let generation = self.read(|s| Ok(s.state_record()?.generation))?;
        self.inner.observe(generation)?;
        Ok(generation)
    }
}

pub(super) fn xor(into: &mut [u8; 32], token: &[u8; 32]) {
    for (a, b) in into.iter_mut().zip(token) {
        *a ^= b;
    }
}
