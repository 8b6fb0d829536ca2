//! [`Transaction`]: a write transaction's lifecycle (begin, operations in savepoints,
//! commit, rollback, rollback on drop), and [`Session`], the connection-and-keys pair every
//! read and write runs on.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use rand::TryCryptoRng;
use rand::rngs::SysRng;
use rusqlite::{Connection, params};

use super::rows::{Origin, State};
use super::schema::db;
use super::state::StateRecord;
use super::{Entry, Export, Inner, InstallOptions, Kek, MAX_NAME_LEN, RENEWAL_SUFFIX, fill_busy};
use crate::endpoint::Endpoint;
use crate::error::{InstallError, Result, StoreError};
use crate::key::{KeyEncryption, KeyPolicy, KeyType, PrivateKey};
use crate::request::{CertificateRequest, CertificateRequestBuilder};

/// A write transaction: all of its changes become visible together at [`commit`](Self::commit),
/// or not at all.
///
/// Dropping an uncommitted transaction rolls it back. While the thread is panicking, `Drop`
/// does no I/O of its own: it closes the connection, which makes SQLite discard the
/// transaction.
///
/// # Do not hold it across `.await`
///
/// A transaction holds the store's write lock from [`KeyStore::begin`](super::KeyStore::begin)
/// to its commit, rollback or drop: every other writer, in this process and in others (the
/// `keymanager` command line, an ACME renewal), waits for it and then fails with
/// [`StoreError::Busy`]. Awaiting a network call, a timer or a lock while holding it stalls them
/// all for as long. Gather what the change needs first, then begin, change and commit without
/// awaiting in between (or use `begin_async` and `commit_async`, feature `tokio`, which run the
/// blocking parts on the blocking pool). Clippy catches it with this in your `clippy.toml`
/// (lint `await_holding_invalid_type`, warn by default):
///
/// ```toml
/// await-holding-invalid-types = [
///     { path = "keymanager::store::Transaction", reason = "holds the store's write lock: commit before awaiting" },
/// ]
/// ```
pub struct Transaction {
    pub(super) inner: Arc<Inner>,
    /// `Some` from [`KeyStore::begin`](super::KeyStore::begin) until `Drop` takes it back to
    /// the pool: [`commit`](Self::commit) and [`rollback`](Self::rollback) take `self` and
    /// leave it in place, so no method ever sees `None`.
    pub(super) conn: Option<Connection>,
    pub(super) kek: Arc<Kek>,
    /// The store-level authenticator's record as the transaction began (checked).
    pub(super) begun: StateRecord,
}

/// A connection inside a transaction (a read snapshot or the write transaction) with the keys
/// to check and open rows; every operation of the store runs on one.
pub(super) struct Session<'a> {
    pub(super) conn: &'a Connection,
    pub(super) kek: &'a Kek,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl Transaction {
    /// Generates an RSA key of `bits` bits with the operating system's random source
    /// ([`rand::rngs::SysRng`]; its failure is [`KeyError::Random`]), signs with it the request
    /// that `request` describes, and stores both as the pending entry `name`; returns the
    /// request to send to the CA. The write lock is held while the key is generated.
    ///
    /// `CertificateRequest::builder(dn)` alone asks for `dn` with its common name also in the
    /// subjectAltName, as CAs and browsers require; the builder adds DNS names, IP addresses,
    /// another signature hash, ... The builder is only read: keep it to try again.
    ///
    /// [`KeyError::Random`]: crate::error::KeyError::Random
    pub fn create_pending(
        &mut self,
        name: &str,
        request: &CertificateRequestBuilder,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.create_pending_with_rng(&mut SysRng, name, request, bits)
    }

    /// [`create_pending`](Self::create_pending) with the given random source; a source that
    /// fails is [`KeyError::Random`](crate::error::KeyError::Random) and stores nothing.
    pub fn create_pending_with_rng(
        &mut self,
        rng: &mut (impl TryCryptoRng + ?Sized),
        name: &str,
        request: &CertificateRequestBuilder,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.create_pending_of_type_with_rng(rng, name, request, KeyType::Rsa { bits })
    }

    /// [`create_pending`](Self::create_pending) with a key of any [`KeyType`]: RSA, or ECDSA
    /// P-256 or P-384 (whose request asks for no keyEncipherment, and is signed with the
    /// curve's hash).
    pub fn create_pending_of_type(
        &mut self,
        name: &str,
        request: &CertificateRequestBuilder,
        key_type: KeyType,
    ) -> Result<CertificateRequest> {
        self.create_pending_of_type_with_rng(&mut SysRng, name, request, key_type)
    }

    /// [`create_pending_of_type`](Self::create_pending_of_type) with the given random source;
    /// a source that fails is [`KeyError::Random`](crate::error::KeyError::Random) and stores
    /// nothing.
    pub fn create_pending_of_type_with_rng(
        &mut self,
        rng: &mut (impl TryCryptoRng + ?Sized),
        name: &str,
        request: &CertificateRequestBuilder,
        key_type: KeyType,
    ) -> Result<CertificateRequest> {
        check_name(name)?;
        self.atomic(|session| {
            // Fail fast, before the (slow) key generation.
            session.check_name_free(name)?;
            session.generate_pending(rng, name, request.clone(), key_type, None)
        })
    }

    /// Stores a key made elsewhere, with its request, as the pending entry `name`. The request
    /// must be for this key and its signature must verify.
    pub fn add_pending(
        &mut self,
        name: &str,
        key: PrivateKey,
        request: &CertificateRequest,
    ) -> Result<()> {
        check_name(name)?;
        if request.fingerprint() != key.fingerprint() {
            return Err(InstallError::RequestKeyMismatch {
                request_fingerprint: request.fingerprint(),
                key_fingerprint: key.fingerprint(),
            }
            .into());
        }
        request.verify()?;
        self.atomic(|session| {
            session.check_name_free(name)?;
            session.insert_pending(name, &key, Origin::Request(request), None)
        })
    }

    /// Installs a certificate (DER, PEM, or a PEM bundle with its chain) on the pending key
    /// it certifies; returns the entry's name. Refuses expired or not yet valid certificates,
    /// certificates without serverAuth, and certificates that dropped requested names.
    pub fn install_certificate(&mut self, pem_or_der: &[u8]) -> Result<String> {
        self.install_certificate_with(pem_or_der, InstallOptions::default())
    }

    /// [`install_certificate`](Self::install_certificate) with options.
    pub fn install_certificate_with(
        &mut self,
        pem_or_der: &[u8],
        options: InstallOptions,
    ) -> Result<String> {
        self.atomic(|session| session.install(pem_or_der, options))
    }

    /// Imports a key made elsewhere with its certificate (DER, PEM, or a PEM bundle with its
    /// chain) as the installed entry `name`, with the checks of
    /// [`install_certificate_with`](Self::install_certificate_with). A certificate file that
    /// holds no certificate for `key` is [`InstallError::KeyMismatch`].
    pub fn import(
        &mut self,
        name: &str,
        key: &PrivateKey,
        pem_or_der: &[u8],
        options: InstallOptions,
    ) -> Result<()> {
        check_name(name)?;
        self.atomic(|session| session.import(name, key, pem_or_der, options))
    }

    /// Binds `endpoint` to the installed entry `name`. An endpoint holds one entry per key
    /// algorithm: an ECDSA and an RSA one, served per handshake as the client can verify
    /// ([`KeyStore::resolve_for`](super::KeyStore::resolve_for)); unbind it first to change
    /// it. A host-name endpoint must be covered by the certificate.
    pub fn bind(&mut self, endpoint: Endpoint, name: &str) -> Result<()> {
        self.atomic(|session| session.bind(&endpoint, name))
    }

    /// Removes the binding of `endpoint` (both entries of a dual binding). The entries it
    /// points to are checked first: a binding changed behind the store's back is
    /// [`StoreError::Tampered`], not silently re-sealed.
    pub fn unbind(&mut self, endpoint: Endpoint) -> Result<()> {
        self.atomic(|session| session.unbind(&endpoint))
    }

    /// Starts renewing the installed entry `name`: a new key and a request for the same
    /// subject and names, stored as an entry in state
    /// [`EntryState::Renewal`](super::EntryState::Renewal) linked to `name` (found with
    /// [`renewal_of`](Self::renewal_of); its own name is `name (renewal)`, which must be
    /// free). The new key is RSA of
    /// `bits` bits for an RSA entry; an ECDSA entry keeps its curve (`bits` is not used:
    /// [`renew_as`](Self::renew_as) changes the key type). `name` keeps
    /// serving; installing the renewal's certificate moves `name`'s bindings and name to it
    /// and deletes the old key and certificate.
    pub fn renew(&mut self, name: &str, bits: usize) -> Result<CertificateRequest> {
        self.renew_with_rng(&mut SysRng, name, bits)
    }

    /// [`renew`](Self::renew) with the given random source.
    pub fn renew_with_rng(
        &mut self,
        rng: &mut (impl TryCryptoRng + ?Sized),
        name: &str,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.renew_named(rng, name, bits)
            .map(|(_, request)| request)
    }

    /// [`renew_with_rng`](Self::renew_with_rng), also returning the renewal entry's name.
    pub(crate) fn renew_named(
        &mut self,
        rng: &mut (impl TryCryptoRng + ?Sized),
        name: &str,
        bits: usize,
    ) -> Result<(String, CertificateRequest)> {
        self.renew_inner(rng, name, |current| match current {
            KeyType::Rsa { .. } => KeyType::Rsa { bits },
            other => other,
        })
    }

    /// [`renew`](Self::renew) with a new key of `key_type` (RSA renewed as ECDSA, or the
    /// reverse). Installing the renewal moves the bindings to it, into the slot of its
    /// algorithm: an endpoint that already holds an entry of that algorithm refuses it.
    pub fn renew_as(&mut self, name: &str, key_type: KeyType) -> Result<CertificateRequest> {
        self.renew_inner(&mut SysRng, name, |_| key_type)
            .map(|(_, request)| request)
    }

    fn renew_inner(
        &mut self,
        rng: &mut (impl TryCryptoRng + ?Sized),
        name: &str,
        key_type: impl FnOnce(KeyType) -> KeyType,
    ) -> Result<(String, CertificateRequest)> {
        self.atomic(|session| {
            let row = session.row_by_name(name)?;
            if row.state != State::Installed {
                return Err(StoreError::WrongState {
                    name: name.to_owned(),
                    state: row.state.as_str().into(),
                    hint: "only an installed entry can be renewed; install its certificate first"
                        .into(),
                }
                .into());
            }
            let row = session.stored_row(row)?.row;
            if let Some(existing) = session.renewal_of(row.id)? {
                return Err(StoreError::WrongState {
                    name: name.to_owned(),
                    state: "being renewed".into(),
                    hint: format!(
                        "its renewal `{existing}` is pending; install its certificate or remove it"
                    ),
                }
                .into());
            }
            let renewal_name = format!("{name}{RENEWAL_SUFFIX}");
            session.check_name_free(&renewal_name)?;
            // The same subject and names as the request being renewed; for an entry without one,
            // the certificate's subject and names.
            let old_request = row.request()?;
            let dn = row.subject_requested(old_request.as_ref())?;
            let mut builder = CertificateRequest::builder(dn);
            match &old_request {
                Some(req) => {
                    builder = builder.dns_names(req.dns_names());
                    for ip in req.ip_addresses() {
                        builder = builder.ip_address(ip);
                    }
                }
                None => builder = builder.dns_names(row.dns_names.clone()),
            }
            let key_type = key_type(row.key_type);
            let request =
                session.generate_pending(rng, &renewal_name, builder, key_type, Some(row.id))?;
            Ok((renewal_name, request))
        })
    }

    /// Removes the entry `name` and its key. Refused while it is bound
    /// ([`StoreError::StillBound`] names the endpoints). Removing an entry being renewed turns
    /// its renewal into an ordinary pending entry.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        self.atomic(|session| {
            let entry = session.stored_row(session.row_by_name(name)?)?;
            if !entry.bindings.is_empty() {
                return Err(StoreError::StillBound {
                    name: name.to_owned(),
                    endpoints: entry.bindings,
                }
                .into());
            }
            session.delete(entry)
        })
    }

    /// Removes the entry `name`, its key and its bindings.
    pub fn remove_with_bindings(&mut self, name: &str) -> Result<()> {
        self.atomic(|session| {
            let mut entry = session.stored_row(session.row_by_name(name)?)?;
            session.delete_bindings(&mut entry)?;
            session.delete(entry)
        })
    }

    /// Every entry, as this transaction sees it.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.session().entries("ORDER BY e.name", params![])
    }

    /// The entry `name`, as this transaction sees it.
    pub fn entry(&self, name: &str) -> Result<Entry> {
        self.session().entry(name)
    }

    /// The renewal of the entry `name`, as this transaction sees it; see
    /// [`KeyStore::renewal_of`](super::KeyStore::renewal_of).
    pub fn renewal_of(&self, name: &str) -> Result<Option<Entry>> {
        self.session().renewal(name)
    }

    /// Exports an entry, as [`KeyStore::export`](super::KeyStore::export).
    pub fn export(&self, name: &str, password: &str) -> Result<Export> {
        self.session()
            .export(name, password, KeyEncryption::default())
    }

    /// Makes every change of this transaction durable and visible, all at once.
    ///
    /// A transaction that changed the store bumps its [generation](super::KeyStore::generation).
    pub fn commit(self) -> Result<()> {
        let conn = self.conn();
        let result = self
            .session()
            .seal_state(&self.begun)
            .and_then(|generation| {
                conn.execute_batch("COMMIT").map_err(db("committing"))?;
                Ok(generation)
            });
        match result {
            Ok(generation) => {
                // Never older than what begin saw, so this cannot fail.
                let _ = self.inner.observe(generation);
                Ok(())
            }
            Err(e) => {
                // Leave nothing half-done: roll back what COMMIT did not take.
                let _ = conn.execute_batch("ROLLBACK");
                let e = diagnose(&self.inner.path, e);
                if matches!(e, crate::Error::Store(StoreError::DiskFull { .. })) {
                    self.inner.log_full.store(true, Ordering::SeqCst);
                    reclaim_log(&self.inner, conn);
                }
                // Drop gives the connection back to the pool.
                Err(fill_busy(e, self.inner.options.busy_timeout))
            }
        }
    }

    /// Discards every change of this transaction.
    pub fn rollback(self) -> Result<()> {
        self.conn()
            .execute_batch("ROLLBACK")
            .map_err(db("rolling back"))
    }

    /// Runs one operation inside a savepoint: if it fails, the transaction is left as it was
    /// before the operation, so the caller may carry on or commit what went before.
    pub(super) fn atomic<T>(&mut self, op: impl FnOnce(&Session<'_>) -> Result<T>) -> Result<T> {
        let session = self.session();
        session
            .conn
            .execute_batch("SAVEPOINT keymanager_op")
            .map_err(db("starting an operation"))?;
        match op(&session) {
            Ok(out) => {
                session
                    .conn
                    .execute_batch("RELEASE keymanager_op")
                    .map_err(db("finishing an operation"))?;
                Ok(out)
            }
            Err(e) => {
                session
                    .conn
                    .execute_batch("ROLLBACK TO keymanager_op; RELEASE keymanager_op")
                    .map_err(db("undoing a failed operation"))?;
                Err(e)
            }
        }
    }

    /// The transaction's connection.
    #[allow(clippy::expect_used)]
    pub(super) fn conn(&self) -> &Connection {
        // Only `Drop` takes the connection (see the field), and nothing runs after it.
        self.conn
            .as_ref()
            .expect("a transaction holds its connection until it is dropped")
    }

    pub(super) fn session(&self) -> Session<'_> {
        Session {
            conn: self.conn(),
            kek: &self.kek,
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if std::thread::panicking() {
            // Closing the connection discards the open transaction.
            drop(conn);
            return;
        }
        if !conn.is_autocommit() {
            // Neither committed nor rolled back.
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.inner.give(conn);
    }
}

impl Session<'_> {
    /// Generates the key of a new pending entry, signs `request` with it and stores both; the
    /// caller checked the name.
    fn generate_pending(
        &self,
        rng: &mut (impl TryCryptoRng + ?Sized),
        name: &str,
        request: CertificateRequestBuilder,
        key_type: KeyType,
        renewal_of: Option<i64>,
    ) -> Result<CertificateRequest> {
        let key = PrivateKey::generate_with_policy(rng, key_type, KeyPolicy::Standard)?;
        let request = request.sign(&key)?;
        self.insert_pending(name, &key, Origin::Request(&request), renewal_of)?;
        Ok(request)
    }
}

/// What a commit's database error really was, when SQLite cannot say: it reports a write
/// refused with `EROFS` (a file system turned read-only under an open store) or with
/// `EACCES`/`EPERM` (write permission taken away, on a file system that checks each write:
/// NFS, FUSE) as a plain "disk I/O error". Opening the `-wal` file for writing tells (SQLite
/// takes no lock on it, so opening and closing it here is safe; the store file, whose POSIX
/// locks any close in this process would drop, is never touched).
fn diagnose(path: &std::path::Path, e: crate::Error) -> crate::Error {
    let crate::Error::Store(StoreError::Database { during, .. }) = e else {
        return e;
    };
    let wal = super::open::companion(path, "-wal");
    match std::fs::OpenOptions::new().write(true).open(&wal) {
        Err(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            StoreError::ReadOnly { during }.into()
        }
        _ => e,
    }
}

/// After a commit failed on a full disk, and before every write until it works: copies the
/// write-ahead log into the store file and truncates it. SQLite does so by itself only every
/// 1000 pages of log (4 MiB); on a disk that fills up before that, the log keeps the space it
/// took, so every later commit failed too, even after the operator freed some (found by
/// `tests/store/faults.rs` on a 256 KiB tmpfs). It needs room for the pages the file gains,
/// hence the retries, and waits for other connections' readers up to the busy timeout.
pub(super) fn reclaim_log(inner: &Inner, conn: &Connection) {
    if inner.log_full.load(Ordering::SeqCst)
        && conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_ok_and(|busy| busy == 0)
    {
        inner.log_full.store(false, Ordering::SeqCst);
    }
}

/// Checks an entry name: 1 to [`MAX_NAME_LEN`] characters, no control characters.
pub(super) fn check_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("a name cannot be empty".to_string())
    } else if name.chars().count() > MAX_NAME_LEN {
        Some(format!(
            "a name is at most {MAX_NAME_LEN} characters, this one has {}",
            name.chars().count()
        ))
    } else if name.chars().any(char::is_control) {
        Some("a name cannot contain control characters (newlines, tabs, ...)".into())
    } else if name.trim() != name {
        Some("a name cannot start or end with white space".into())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidName {
            name: name.escape_debug().to_string(),
            reason,
        }
        .into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::name::DistinguishedName;
    use crate::store::{KeyStore, StoreOptions};
    use crate::testing::FailingRng;

    #[test]
    fn failing_random_source_is_a_typed_error_and_stores_nothing() {
        let options = StoreOptions::fast_for_tests();
        let store = KeyStore::open_in_memory_with("pass", &options).unwrap();
        let mut tx = store.begin().unwrap();
        let dn = DistinguishedName::builder()
            .common_name("www.example.com")
            .build()
            .unwrap();
        let result = tx.create_pending_with_rng(
            &mut FailingRng { budget: 0 },
            "www",
            &CertificateRequest::builder(dn),
            2048,
        );
        match result {
            Err(Error::Key(crate::error::KeyError::Random { reason })) => {
                assert_eq!(reason, "test entropy source is gone")
            }
            other => panic!("expected KeyError::Random, got {other:?}"),
        }
        assert!(tx.entries().unwrap().is_empty());
        tx.commit().unwrap();
        assert!(store.entries().unwrap().is_empty());
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("www").is_ok());
        assert!(check_name(&"é".repeat(128)).is_ok());
        for bad in ["", " www", "www ", "a\nb", "tab\t", "\u{7f}"] {
            assert!(
                matches!(
                    check_name(bad),
                    Err(Error::Store(StoreError::InvalidName { .. }))
                ),
                "{bad:?}"
            );
        }
        assert!(check_name(&"a".repeat(129)).is_err());
    }
}
