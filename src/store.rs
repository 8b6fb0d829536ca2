//! [`KeyStore`]: the server's keys, requests, certificates and bindings, in one encrypted,
//! transactional SQLite file.
//!
//! # Life of an entry
//!
//! ```text
//! create_pending / add_pending ──► Pending (sealed key + request)
//!        install_certificate   ──► Installed (sealed key + certificate chain) ──► bind
//!        renew(name)           ──► a second entry in state Renewal, linked to `name`
//!                                  (KeyStore::renewal_of(name) finds it); `name` keeps serving
//!                                  until the renewal's certificate is installed, then the
//!                                  renewal takes over `name` and its bindings, and the old
//!                                  entry (key and certificate) is deleted.
//! ```
//!
//! A renewal's own name is `name (renewal)` ([`RENEWAL_SUFFIX`]), a label for listings and
//! for removing it; what makes it a renewal is its link, shown by [`Entry::state`] and
//! [`Entry::renewal_of`].
//!
//! # Durability and concurrency
//!
//! The file is in WAL mode with `synchronous = FULL`: when [`Transaction::commit`] returns,
//! the change is on disk and survives a crash or power loss; a crash before that leaves no
//! trace of it. Writers take the write lock when the transaction begins (`BEGIN IMMEDIATE`),
//! so writers in this and other processes run one at a time; a writer that cannot get the lock
//! within [`StoreOptions::busy_timeout`] gets [`StoreError::Busy`]. Readers
//! ([`KeyStore::entries`], [`KeyStore::resolve`], ...) each read one consistent snapshot and
//! never wait for writers nor see a half-made change.
//!
//! A full disk is [`StoreError::DiskFull`]; a read-only file system (at open, or one that
//! turns read-only under an open store) and write permission taken away under an open store
//! are [`StoreError::ReadOnly`]: the transaction is not committed and the store keeps its last
//! committed state. After a full disk, the next write first copies the write-ahead log into
//! the file and truncates it, so that freeing space lets the store carry on. Tested with a real tmpfs, a FUSE file system that loses every write not
//! yet synced at a power cut, and `kill -9` (`tests/store/{faults,power_cut,crash}.rs`).
//!
//! # Encryption at rest
//!
//! The passphrase gives a key-encryption key through Argon2id, once per [`KeyStore::open`].
//! The Argon2 parameters and salt are stored in the file and used by every later open, so a
//! store created with weak parameters (as tests do, through [`KdfParams::new`]) stays weak
//! until [`KeyStore::change_passphrase`] re-keys it with the options it was opened with. Each
//! private key is sealed with ChaCha20-Poly1305 under a fresh random nonce, with associated
//! data naming its purpose and its key fingerprint, so a sealed key copied to another entry
//! does not open. Every entry row, its certificates and the endpoints bound to it carry an
//! HMAC-SHA256 under a key derived from the same passphrase; a changed row, certificate or
//! binding is reported as [`StoreError::Tampered`] naming the entry (so an endpoint re-pointed
//! at another entry behind the store's back is refused, not served). No private key is ever
//! written unsealed.
//!
//! # The whole state
//!
//! One record proves the set of entries: a generation, bumped by every commit that changes
//! the store ([`KeyStore::generation`]), and a keyed digest of every entry's id and MAC, under
//! a MAC; a commit updates it in O(changed entries). Opening, [`KeyStore::check`],
//! [`KeyStore::snapshot`] and a [`Watcher`]'s snapshot recompute it, so an entry deleted,
//! added, or replaced by an older copy of itself is [`StoreError::StateTampered`]. A handle
//! refuses a generation older than one it has seen ([`StoreError::RolledBack`]). A whole older
//! copy of the file, opened by a process that never saw the newer one, cannot be told apart
//! from the newest by the file alone: keep the generation elsewhere and open with
//! [`StoreOptions::min_generation`].
//!
//! # File format
//!
//! One SQLite file (mode 0600, as are its `-wal` and `-shm` files), marked with
//! `PRAGMA application_id` and versioned with `PRAGMA user_version`; an older file is
//! migrated in one transaction when opened, a newer one is refused untouched
//! ([`StoreError::SchemaTooNew`]).
//!
//! ```text
//! meta      name → value: the KDF and its parameters, the salt, the passphrase verifier
//! entries   id, unique name, state (pending | installed), SHA-256 of the key's
//!           SubjectPublicKeyInfo (unique, the install lookup), key size, sealed key,
//!           subject, DNS names (a structured list: each after a `\n`, `%` and `\n` in it
//!           escaped), request DER, created / installed / validity times,
//!           the entry it renews, MAC; the id is random (63 bits)
//! chain     (entry, position) → certificate DER, as received, leaf first
//! bindings  endpoint (canonical text, primary key: one entry per endpoint) → entry
//! state     one row: generation, digest of the set of entries, MAC
//! ```
//!
//! # Example
//!
//! ```
//! use keymanager::{CertificateRequest, DistinguishedName, KdfParams, KeyStore, StoreOptions};
//!
//! # fn main() -> keymanager::Result<()> {
//! // A low key-derivation cost for the example only: keep the default in production.
//! let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1)?);
//! let store = KeyStore::open_in_memory_with("correct horse battery staple", &options)?;
//!
//! let dn: DistinguishedName = "CN=www.example.com,O=Example".parse()?;
//! let mut tx = store.begin()?;
//! let request = tx.create_pending("www", &CertificateRequest::builder(dn), 2048)?;
//! tx.commit()?;
//! assert!(request.to_pem().starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
//!
//! // Send the request to the CA; when its certificate comes back:
//! //     let mut tx = store.begin()?;
//! //     let name = tx.install_certificate(&certificate_file_bytes)?;
//! //     tx.bind("0.0.0.0:443".parse()?, &name)?;
//! //     tx.commit()?;
//! // and, for each TLS connection:
//! //     let identity = store.resolve(sni, local_addr)?;
//! let entries = store.entries()?;
//! assert_eq!(entries[0].name(), "www");
//! # Ok(())
//! # }
//! ```

pub(crate) mod acme;
mod entry;
mod health;
mod install;
#[cfg(feature = "tokio")]
mod nonblocking;
mod open;
mod options;
mod pkcs12;
mod rows;
mod schema;
mod seal;
mod slots;
mod snapshot;
mod state;
mod transaction;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

use crate::endpoint::Endpoint;
use crate::error::{Error, Result, StoreError};
use crate::key::{KeyAlgorithm, KeyEncryption};

use open::{unlock, write_meta};
use rows::{KEY_LABEL, secs};
use schema::db;
use seal::Keys;
use transaction::Session;

pub use crate::time::format_utc;
pub use entry::{Entry, EntryState, Export, Identity};
pub use health::{HealthOptions, HealthProblem, HealthReport};
pub use options::{InstallOptions, KdfParams, StoreOptions};
pub use pkcs12::{Pkcs12Import, Pkcs12ImportOptions};
#[cfg(feature = "rustls")]
pub(crate) use slots::Slots;
pub use snapshot::{Snapshot, Watcher};
pub use transaction::Transaction;

/// Longest entry name, in characters.
pub const MAX_NAME_LEN: usize = 128;

/// Suffix of the name that [`Transaction::renew`] gives a new renewal entry. Only a label:
/// tell a renewal by [`EntryState::Renewal`] and find it with [`KeyStore::renewal_of`], never
/// by this suffix (an entry can be called `"www (renewal)"` without renewing anything).
pub const RENEWAL_SUFFIX: &str = " (renewal)";

/// Idle connections kept for reuse.
const POOL_SIZE: usize = 8;

// A store is shared between threads; a transaction may move to another thread.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<KeyStore>();
    send::<Transaction>();
};

/// An encrypted, transactional key store. Cheap to clone; clones share connections and keys,
/// and may be used from many threads.
#[derive(Clone)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    options: StoreOptions,
    kek: RwLock<Arc<Kek>>,
    pool: Mutex<Vec<Connection>>,
    /// The newest generation this handle has seen (opened, committed, checked or read a
    /// snapshot at): an older one is a rollback.
    seen: AtomicU64,
    /// Set by a commit that failed on a full disk: the next write first shrinks the
    /// write-ahead log (`transaction::reclaim_log`).
    log_full: AtomicBool,
    /// For an [`KeyStore::open_in_memory`] store, deletes its files; declared last so that
    /// the connections above are closed first.
    temporary: Option<open::TemporaryFiles>,
}

/// The keys derived from the passphrase, and the salt they were derived with.
struct Kek {
    keys: Keys,
    salt: Vec<u8>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    /// The file's path; `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.inner
            .temporary
            .is_none()
            .then_some(self.inner.path.as_path())
    }

    /// Begins a write transaction, waiting up to the busy timeout
    /// ([`StoreOptions::busy_timeout`], 5 s by default) for another writer (of this or another
    /// process) to finish; then [`StoreError::Busy`].
    ///
    /// This blocks the calling thread for as long as it waits: in async code use
    /// [`try_begin`](Self::try_begin), or `begin_async` (feature `tokio`).
    pub fn begin(&self) -> Result<Transaction> {
        self.begin_waiting(self.inner.options.busy_timeout)
    }

    /// Begins a write transaction if no other writer holds the store, without waiting:
    /// [`StoreError::Busy`] (with `waited_ms: 0`) at once otherwise.
    pub fn try_begin(&self) -> Result<Transaction> {
        self.begin_waiting(Duration::ZERO)
    }

    /// [`begin`](Self::begin), waiting up to `timeout` (instead of the store's busy timeout)
    /// for another writer.
    pub fn begin_timeout(&self, timeout: Duration) -> Result<Transaction> {
        self.begin_waiting(timeout)
    }

    fn begin_waiting(&self, busy: Duration) -> Result<Transaction> {
        let conn = self.inner.take()?;
        let usual = self.inner.options.busy_timeout;
        // After a commit failed on a full disk: shrink the write-ahead log first.
        transaction::reclaim_log(&self.inner, &conn);
        let began = (|| {
            if busy != usual {
                conn.busy_timeout(busy)
                    .map_err(db("setting the busy timeout"))?;
            }
            let began = conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(db("beginning a transaction"));
            if busy != usual {
                // Back to the store's own timeout for the transaction's statements and the
                // connection's later users (the pool).
                conn.busy_timeout(usual)
                    .map_err(db("setting the busy timeout"))?;
            }
            began
        })();
        if let Err(e) = began {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            self.inner.give(conn);
            return Err(fill_busy(e, busy));
        }
        let kek = self.inner.kek();
        let mut tx = Transaction {
            inner: Arc::clone(&self.inner),
            conn: Some(conn),
            kek,
            begun: state::StateRecord {
                generation: 0,
                digest: [0; 32],
            },
        };
        tx.session().check_salt()?;
        // The record's MAC only (O(1)); a generation older than seen is a rollback, which no
        // write may build on.
        tx.begun = tx.session().state_record()?;
        self.inner.observe(tx.begun.generation)?;
        Ok(tx)
    }

    /// Every entry, by name.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.read(|s| s.entries("ORDER BY e.name", params![]))
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Result<Entry> {
        self.read(|s| s.entry(name))
    }

    /// The renewal of the entry `name` ([`EntryState::Renewal`]: the pending entry that
    /// [`Transaction::renew`] made for it, whose certificate will take over `name`); `None`
    /// when `name` is not being renewed. [`StoreError::NotFound`] when there is no entry
    /// `name`.
    ///
    /// This is how to address a renewal: by the entry it renews, never by its name.
    pub fn renewal_of(&self, name: &str) -> Result<Option<Entry>> {
        self.read(|s| s.renewal(name))
    }

    /// Installed entries whose certificate expires within `within` from now (or has expired).
    pub fn expiring_within(&self, within: Duration) -> Result<Vec<Entry>> {
        // A window past the end of time covers every entry.
        let limit = SystemTime::now().checked_add(within).map_or(i64::MAX, secs);
        self.read(|s| {
            s.entries(
                "WHERE e.state = 'installed' AND e.not_after <= ?1 ORDER BY e.not_after",
                params![limit],
            )
        })
    }

    /// Entries waiting for a certificate ([`EntryState::Pending`] and
    /// [`EntryState::Renewal`]) created more than `age` ago: requests the CA has not answered.
    pub fn pending_older_than(&self, age: Duration) -> Result<Vec<Entry>> {
        let limit = secs(SystemTime::now().checked_sub(age).unwrap_or(UNIX_EPOCH));
        self.read(|s| {
            s.entries(
                "WHERE e.state = 'pending' AND e.created_at < ?1 ORDER BY e.created_at",
                params![limit],
            )
        })
    }

    /// The store's health: expired and expiring certificates, stale pending requests, weak
    /// keys, unbound entries, and host bindings the certificate does not cover; see
    /// [`HealthOptions`] for the windows. Reads one snapshot; a tampered entry is an error.
    ///
    /// It also checks the whole state: the store-level authenticator against every entry (an
    /// entry deleted, added or brought back behind the store's back is
    /// [`StoreError::StateTampered`]) and the generation against the newest this handle has
    /// seen ([`StoreError::RolledBack`]).
    pub fn check(&self, options: &HealthOptions) -> Result<HealthReport> {
        let (generation, report) =
            self.read(|s| Ok((s.check_state()?, health::check(s, options)?)))?;
        self.inner.observe(generation)?;
        Ok(report)
    }

    /// What to serve on a connection to `local` (the connection's local address) that asked
    /// for `sni`: the entry bound to the host name, else to `*.` its parent, else to the
    /// address, else to the any-address of its family. `None` when nothing is bound. The same
    /// arguments, in the same order, as [`Snapshot::resolve`]. On an endpoint with both an
    /// ECDSA and an RSA entry, the ECDSA one (see [`resolve_for`](Self::resolve_for) to choose
    /// per client).
    ///
    /// At most four primary-key lookups, then the one entry's integrity check, certificate
    /// parsing and key decryption: cheap, but a busy server should answer handshakes from a
    /// [`Snapshot`] (or `tls::StoreResolver`) rather than resolve on every handshake.
    pub fn resolve(&self, sni: Option<&str>, local: SocketAddr) -> Result<Option<Identity>> {
        self.resolve_for(sni, local, &[KeyAlgorithm::Ecdsa, KeyAlgorithm::Rsa])
    }

    /// [`resolve`](Self::resolve) for a client that can verify signatures of `algorithms`
    /// only (from its ClientHello's `signature_algorithms`): on an endpoint with an ECDSA and
    /// an RSA entry, the ECDSA one when `algorithms` holds ECDSA, else the RSA one, as nginx
    /// chooses. An endpoint with one entry serves it whatever the client takes.
    pub fn resolve_for(
        &self,
        sni: Option<&str>,
        local: SocketAddr,
        algorithms: &[KeyAlgorithm],
    ) -> Result<Option<Identity>> {
        let candidates = Endpoint::candidates(local.ip(), local.port(), sni);
        let ecdsa = algorithms.contains(&KeyAlgorithm::Ecdsa);
        self.read(|s| {
            for endpoint in &candidates {
                let slots = s.bound_entries(endpoint)?;
                if let Some(id) = slots.choose(|_| ecdsa) {
                    let algorithm = if slots.get(KeyAlgorithm::Ecdsa) == Some(id) {
                        KeyAlgorithm::Ecdsa
                    } else {
                        KeyAlgorithm::Rsa
                    };
                    return s.bound_identity(id, algorithm).map(Some);
                }
            }
            Ok(None)
        })
    }

    /// The entry's key as encrypted PKCS#8 PEM (under `password`) and its chain as PEM.
    ///
    /// The key is encrypted with [`KeyEncryption::default`] (PBES2, scrypt, AES-256-CBC), which
    /// `openssl pkey` reads; the entry's key never leaves the store unencrypted.
    pub fn export(&self, name: &str, password: &str) -> Result<Export> {
        self.export_with(name, password, KeyEncryption::default())
    }

    /// [`export`](Self::export) with the given key encryption.
    pub fn export_with(
        &self,
        name: &str,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<Export> {
        self.read(|s| s.export(name, password, encryption))
    }

    /// Re-keys the store: checks `old`, derives a new key-encryption key from `new` with a new
    /// salt and the cost of the options this handle was opened with, and re-seals every key and
    /// re-MACs every row in one transaction. Other open handles must be reopened.
    pub fn change_passphrase(&self, old: &str, new: &str) -> Result<()> {
        check_passphrase(new)?;
        let mut tx = self.begin()?;
        let conn = tx.conn();
        let checked = unlock(
            conn,
            old,
            schema::CURRENT_VERSION,
            &self.inner.options.max_kdf,
        )?;
        if checked.salt != tx.kek.salt {
            return Err(StoreError::PassphraseChanged.into());
        }
        let cost = self.inner.options.kdf.cost;
        let mut salt = vec![0u8; seal::SALT_LEN];
        seal::random(&mut salt)?;
        let new_kek = Arc::new(Kek {
            keys: Keys::derive(new, &salt, cost)?,
            salt,
        });
        let old_session = tx.session();
        let ids: Vec<i64> = old_session.ids()?;
        let new_session = Session {
            conn,
            kek: &new_kek,
        };
        for id in ids {
            let mut entry = old_session.stored(id)?;
            let key = old_session.unseal(&entry.row)?;
            let der = key.to_pkcs8_der()?;
            let sealed = new_kek.keys.seal(KEY_LABEL, &entry.row.spki, &der)?;
            old_session.set_sealed_key(&mut entry, sealed)?;
            new_session.write_mac(&mut entry)?;
        }
        acme::reseal(conn, &tx.kek, &new_kek)?;
        write_meta(conn, &new_kek, cost)?;
        // The digest under the new keys, from scratch (this re-MACs every entry anyway); the
        // commit bumps the generation and MACs the record with the new keys.
        let record = state::StateRecord {
            generation: tx.begun.generation,
            digest: state::digest_of_entries(conn, &new_kek.keys)?,
        };
        state::write(conn, &new_kek.keys, &record)?;
        tx.kek = Arc::clone(&new_kek);
        tx.commit()?;
        let mut guard = self
            .inner
            .kek
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = new_kek;
        Ok(())
    }

    /// Runs `f` in a read transaction on a pooled connection: one consistent snapshot.
    fn read<T>(&self, f: impl FnOnce(&Session<'_>) -> Result<T>) -> Result<T> {
        let conn = self.inner.take()?;
        let busy = self.inner.options.busy_timeout;
        let kek = self.inner.kek();
        let result = (|| {
            conn.execute_batch("BEGIN DEFERRED")
                .map_err(db("beginning a read"))?;
            let session = Session {
                conn: &conn,
                kek: &kek,
            };
            let out = f(&session);
            let end = conn.execute_batch("COMMIT").map_err(db("ending a read"));
            let out = out?;
            end?;
            Ok(out)
        })();
        self.inner.give(conn);
        result.map_err(|e| fill_busy(e, busy))
    }
}

impl Inner {
    fn take(&self) -> Result<Connection> {
        let pooled = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => schema::connect(&self.path, self.options.busy_timeout),
        }
    }

    fn give(&self, conn: Connection) {
        if !conn.is_autocommit() {
            // A transaction is still open (a failed ROLLBACK): closing rolls it back.
            return;
        }
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pool.len() < POOL_SIZE {
            pool.push(conn);
        }
    }

    /// Records that the store was seen at `generation`; one older than already seen is
    /// [`StoreError::RolledBack`].
    fn observe(&self, generation: u64) -> Result<()> {
        let seen = self.seen.fetch_max(generation, Ordering::SeqCst);
        if generation < seen {
            return Err(StoreError::RolledBack {
                seen,
                found: generation,
            }
            .into());
        }
        Ok(())
    }

    fn kek(&self) -> Arc<Kek> {
        Arc::clone(
            &self
                .kek
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Refuses an empty passphrase for a new store or a passphrase change: it would protect
/// nothing.
fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.is_empty() {
        return Err(StoreError::InvalidOptions {
            reason: "the passphrase is empty: choose one, the keys are only as safe as it is"
                .into(),
        }
        .into());
    }
    Ok(())
}

fn fill_busy(e: Error, timeout: Duration) -> Error {
    match e {
        Error::Store(StoreError::Busy { .. }) => StoreError::Busy {
            waited_ms: timeout.as_millis(),
        }
        .into(),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_store_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<KeyStore>();
        fn assert_send<T: Send>() {}
        assert_send::<Transaction>();
    }
}
