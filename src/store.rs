//! [`KeyStore`]: the server's keys, requests, certificates and bindings, in one encrypted,
//! transactional SQLite file.
//!
//! # Life of an entry
//!
//! ```text
//! create_pending / add_pending ──► Pending (sealed key + request)
//!        install_certificate   ──► Installed (sealed key + certificate chain) ──► bind
//!        renew(name)           ──► a second, Pending entry `name (renewal)`, linked to `name`;
//!                                  `name` keeps serving until the renewal's certificate is
//!                                  installed, then the renewal takes over `name` and its
//!                                  bindings, and the old entry (key and certificate) is deleted.
//! ```
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
//!           subject, DNS names, request DER, created / installed / validity times,
//!           the entry it renews, MAC
//! chain     (entry, position) → certificate DER, as received, leaf first
//! bindings  endpoint (canonical text, primary key: one entry per endpoint) → entry
//! ```
//!
//! # Example
//!
//! ```
//! use keymanager::{DistinguishedName, KdfParams, KeyStore, StoreOptions};
//!
//! # fn main() -> keymanager::Result<()> {
//! // A low key-derivation cost for the example only: keep the default in production.
//! let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1)?);
//! let store = KeyStore::open_in_memory_with("correct horse battery staple", &options)?;
//!
//! let dn: DistinguishedName = "CN=www.example.com,O=Example".parse()?;
//! let mut tx = store.begin()?;
//! let request = tx.create_pending("www", &dn, 2048)?;
//! tx.commit()?;
//! assert!(request.to_pem().starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
//!
//! // Send the request to the CA; when its certificate comes back:
//! //     let mut tx = store.begin()?;
//! //     let name = tx.install_certificate(&certificate_file_bytes)?;
//! //     tx.bind("0.0.0.0:443".parse()?, &name)?;
//! //     tx.commit()?;
//! // and, for each TLS connection:
//! //     let identity = store.resolve(local_ip, 443, sni)?;
//! let entries = store.entries()?;
//! assert_eq!(entries[0].name(), "www");
//! # Ok(())
//! # }
//! ```

pub(crate) mod acme;
mod certs;
mod health;
mod import;
mod open;
mod schema;
mod seal;
mod session;
mod snapshot;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::SysRng;
use rand::{CryptoRng, TryCryptoRng};
use rusqlite::{Connection, params};
use zeroize::Zeroizing;

use crate::certificate::Certificate;
use crate::endpoint::Endpoint;
use crate::error::{Error, InstallError, Result, StoreError};
use crate::fingerprint::Fingerprint;
use crate::key::{KeyEncryption, KeySizePolicy, PrivateKey};
use crate::name::DistinguishedName;
use crate::request::{CertificateRequest, CertificateRequestBuilder};

use open::{create_private_file, init_meta, restrict_files, unlock, with_write, write_meta};
use schema::db;
use seal::{Cost, Keys};
use session::{Session, State};

pub use health::{HealthOptions, HealthProblem, HealthReport};
pub use snapshot::{Snapshot, Watcher};

/// Longest entry name, in characters.
pub const MAX_NAME_LEN: usize = 128;

/// Suffix of the name of a renewal entry made by [`Transaction::renew`].
pub const RENEWAL_SUFFIX: &str = " (renewal)";

/// Purpose label in the associated data of a sealed private key.
const KEY_LABEL: &[u8] = b"keymanager/v1/private-key";
/// Purpose label and plaintext of the passphrase verifier.
const VERIFIER_LABEL: &[u8] = b"keymanager/v1/verifier";
const VERIFIER_TEXT: &[u8] = b"keymanager passphrase check";
/// Purpose label of an entry row's MAC.
const ROW_LABEL: &[u8] = b"keymanager/v1/entry";

/// Idle connections kept for reuse.
const POOL_SIZE: usize = 8;

// A store is shared between threads; a transaction may move to another thread.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<KeyStore>();
    send::<Transaction>();
};

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// How a store is opened: the busy timeout and, for a new store or a passphrase change, the
/// key derivation's cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    busy_timeout: Duration,
    kdf: KdfParams,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            kdf: KdfParams::RECOMMENDED,
        }
    }
}

impl StoreOptions {
    /// The defaults: a 5 s busy timeout and [`KdfParams::RECOMMENDED`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a writer waits for another writer before [`StoreError::Busy`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The Argon2id cost used when creating a store or changing its passphrase. An existing
    /// store always uses the parameters stored in it.
    pub fn kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }
}

/// Argon2id cost parameters ([RFC 9106 §3.1]).
///
/// [RFC 9106 §3.1]: https://datatracker.ietf.org/doc/html/rfc9106#section-3.1
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    cost: Cost,
}

impl KdfParams {
    /// 19 MiB of memory, 2 passes, 1 lane: OWASP's recommended Argon2id minimum.
    pub const RECOMMENDED: KdfParams = KdfParams {
        cost: Cost {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        },
    };

    /// Custom parameters: memory in KiB (at least 8 per lane, at most 4 GiB), passes (1 to
    /// 100), lanes (1 to 64). Lower costs make a stolen file cheaper to attack; use them for
    /// tests only.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self> {
        let cost = Cost {
            memory_kib,
            iterations,
            parallelism,
        };
        check_cost(cost).map_err(|reason| StoreError::InvalidOptions { reason })?;
        Ok(Self { cost })
    }

    /// Memory in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.cost.memory_kib
    }

    /// Passes over memory.
    pub fn iterations(&self) -> u32 {
        self.cost.iterations
    }

    /// Lanes.
    pub fn parallelism(&self) -> u32 {
        self.cost.parallelism
    }
}

fn check_cost(c: Cost) -> std::result::Result<(), String> {
    if !(1..=64).contains(&c.parallelism) {
        return Err(format!(
            "Argon2 lanes must be 1 to 64, not {}",
            c.parallelism
        ));
    }
    if !(1..=100).contains(&c.iterations) {
        return Err(format!(
            "Argon2 passes must be 1 to 100, not {}",
            c.iterations
        ));
    }
    if c.memory_kib < 8 * c.parallelism || c.memory_kib > 4 * 1024 * 1024 {
        return Err(format!(
            "Argon2 memory must be 8 KiB per lane to 4 GiB, not {} KiB",
            c.memory_kib
        ));
    }
    Ok(())
}

/// Options of [`Transaction::install_certificate_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// Install even if the certificate is expired or not yet valid.
    pub allow_invalid_dates: bool,
    /// The time to check validity against; `None` is now.
    pub now: Option<SystemTime>,
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

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
    /// For an [`KeyStore::open_in_memory`] store, deletes its files; declared last so that
    /// the connections above are closed first.
    temporary: Option<TemporaryFiles>,
}

/// Deletes a temporary store's files when dropped.
struct TemporaryFiles(PathBuf);

impl Drop for TemporaryFiles {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
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
    /// Opens the store at `path`, creating it (mode 0600) if it does not exist.
    ///
    /// A wrong passphrase is [`StoreError::WrongPassphrase`] and changes nothing; a file
    /// written by a newer version is [`StoreError::SchemaTooNew`].
    pub fn open(path: impl AsRef<Path>, passphrase: &str) -> Result<KeyStore> {
        Self::open_with(path, passphrase, &StoreOptions::default())
    }

    /// [`open`](Self::open) with options.
    pub fn open_with(
        path: impl AsRef<Path>,
        passphrase: &str,
        options: &StoreOptions,
    ) -> Result<KeyStore> {
        let path = path.as_ref();
        create_private_file(path, false)?;
        Self::open_path(path.to_path_buf(), false, passphrase, options)
    }

    /// A new, private, temporary store, for tests; gone when the last clone is dropped.
    ///
    /// It is an ordinary store file (so it behaves exactly like one, WAL and all) with a
    /// random name in `/dev/shm` when that exists (memory), else in the temporary directory,
    /// created 0600 and deleted on drop; [`path`](Self::path) is `None`.
    pub fn open_in_memory(passphrase: &str) -> Result<KeyStore> {
        Self::open_in_memory_with(passphrase, &StoreOptions::default())
    }

    /// [`open_in_memory`](Self::open_in_memory) with options.
    pub fn open_in_memory_with(passphrase: &str, options: &StoreOptions) -> Result<KeyStore> {
        let mut id = [0u8; 16];
        seal::random(&mut id)?;
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let path = dir.join(format!("keymanager-{}.db", hex::encode(id)));
        create_private_file(&path, true)?;
        Self::open_path(path, true, passphrase, options)
    }

    fn open_path(
        path: PathBuf,
        temporary: bool,
        passphrase: &str,
        options: &StoreOptions,
    ) -> Result<KeyStore> {
        let busy = options.busy_timeout;
        // From here on, a failure deletes a temporary store's files.
        let temporary = temporary.then(|| TemporaryFiles(path.clone()));
        let conn = schema::connect(&path, busy)?;
        let result = (|| {
            schema::enable_wal(&conn)?;
            let mut version = schema::version(&conn)?;
            if version == 0 {
                with_write(&conn, |c| {
                    // Another process may have initialised the file since we looked.
                    if schema::version(c)? == 0 {
                        check_passphrase(passphrase)?;
                        schema::migrate(c, 0)?;
                        init_meta(c, passphrase, options.kdf.cost)?;
                    }
                    Ok(())
                })?;
                version = schema::version(&conn)?;
            }
            let kek = unlock(&conn, passphrase)?;
            if version < schema::CURRENT_VERSION {
                with_write(&conn, |c| {
                    let v = schema::version(c)?;
                    if v < schema::CURRENT_VERSION {
                        schema::migrate(c, v)?;
                    }
                    Ok(())
                })?;
            }
            Ok(kek)
        })();
        let kek = result.map_err(|e| fill_busy(e, busy))?;
        restrict_files(&path)?;
        Ok(KeyStore {
            inner: Arc::new(Inner {
                path,
                options: options.clone(),
                kek: RwLock::new(Arc::new(kek)),
                pool: Mutex::new(vec![conn]),
                temporary,
            }),
        })
    }

    /// The file's path; `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.inner
            .temporary
            .is_none()
            .then_some(self.inner.path.as_path())
    }

    /// Begins a write transaction, waiting up to the busy timeout for other writers.
    pub fn begin(&self) -> Result<Transaction> {
        let conn = self.inner.take()?;
        let busy = self.inner.options.busy_timeout;
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            self.inner.give(conn);
            return Err(fill_busy(db("beginning a transaction")(e), busy));
        }
        let kek = self.inner.kek();
        let tx = Transaction {
            inner: Arc::clone(&self.inner),
            conn: Some(conn),
            kek,
        };
        tx.session()?.check_salt()?;
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

    /// Pending entries created more than `age` ago: requests the CA has not answered.
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
    pub fn check(&self, options: &HealthOptions) -> Result<HealthReport> {
        self.read(|s| health::check(s, options))
    }

    /// What to serve on a connection to `local_ip:port` that asked for `sni`: the entry bound
    /// to the host name, else to `*.` its parent, else to the address, else to the any-address
    /// of its family. `None` when nothing is bound.
    ///
    /// At most four primary-key lookups, then the one entry's integrity check, certificate
    /// parsing and key decryption: cheap, but a busy server should keep the [`Identity`] per
    /// endpoint rather than resolve on every handshake.
    pub fn resolve(
        &self,
        local_ip: IpAddr,
        port: u16,
        sni: Option<&str>,
    ) -> Result<Option<Identity>> {
        let candidates = Endpoint::candidates(local_ip, port, sni);
        self.read(|s| {
            for endpoint in &candidates {
                if let Some(id) = s.bound_entry(endpoint)? {
                    return s.identity(id).map(Some);
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
        let tx = self.begin()?;
        let conn = tx.conn()?;
        let checked = unlock(conn, old)?;
        if checked.salt != tx.kek.salt {
            return Err(StoreError::PassphraseChanged.into());
        }
        let cost = self.inner.options.kdf.cost;
        let mut salt = vec![0u8; seal::SALT_LEN];
        seal::random(&mut salt)?;
        let new_kek = Kek {
            keys: Keys::derive(new, &salt, cost)?,
            salt,
        };
        let old_session = tx.session()?;
        let ids: Vec<i64> = old_session.ids()?;
        for id in ids {
            let row = old_session.row_by_id(id)?;
            let chain = old_session.chain(id)?;
            old_session.verify(&row, &chain)?;
            let key = old_session.unseal(&row)?;
            let der = key.to_pkcs8_der()?;
            let sealed = new_kek.keys.seal(KEY_LABEL, &row.spki, &der)?;
            conn.execute(
                "UPDATE entries SET sealed_key = ?1 WHERE id = ?2",
                params![sealed, id],
            )
            .map_err(db("re-sealing a key"))?;
            let new_session = Session {
                conn,
                kek: &new_kek,
            };
            new_session.update_mac(id)?;
        }
        acme::reseal(conn, &tx.kek, &new_kek)?;
        write_meta(conn, &new_kek, cost)?;
        tx.commit()?;
        let mut guard = self
            .inner
            .kek
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = Arc::new(new_kek);
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

    fn kek(&self) -> Arc<Kek> {
        Arc::clone(
            &self
                .kek
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------------

/// A write transaction: all of its changes become visible together at [`commit`](Self::commit),
/// or not at all.
///
/// Dropping an uncommitted transaction rolls it back. While the thread is panicking, `Drop`
/// does no I/O of its own: it closes the connection, which makes SQLite discard the
/// transaction.
pub struct Transaction {
    inner: Arc<Inner>,
    conn: Option<Connection>,
    kek: Arc<Kek>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl Transaction {
    /// Generates an RSA key of `bits` bits with the operating system's random source
    /// ([`rand::rngs::SysRng`]; its failure is [`KeyError::Random`]), makes its request for
    /// `dn` (the common name also in the subjectAltName, as CAs and browsers require), and
    /// stores both as the pending entry `name`; returns the request to send to the CA. The
    /// write lock is held while the key is generated.
    ///
    /// [`KeyError::Random`]: crate::error::KeyError::Random
    pub fn create_pending(
        &mut self,
        name: &str,
        dn: &DistinguishedName,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.create_pending_from_try(
            &mut SysRng,
            name,
            CertificateRequest::builder(dn.clone()),
            bits,
        )
    }

    /// [`create_pending`](Self::create_pending) with the given random source.
    pub fn create_pending_with_rng(
        &mut self,
        rng: &mut impl CryptoRng,
        name: &str,
        dn: &DistinguishedName,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.create_pending_from_with_rng(rng, name, CertificateRequest::builder(dn.clone()), bits)
    }

    /// [`create_pending`](Self::create_pending) for a request made by `builder`: more DNS names
    /// or IP addresses in its subjectAltName, another signature hash, ...
    pub fn create_pending_from(
        &mut self,
        name: &str,
        builder: CertificateRequestBuilder,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.create_pending_from_try(&mut SysRng, name, builder, bits)
    }

    /// [`create_pending_from`](Self::create_pending_from) with the given random source.
    pub fn create_pending_from_with_rng(
        &mut self,
        rng: &mut impl CryptoRng,
        name: &str,
        builder: CertificateRequestBuilder,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.create_pending_from_try(rng, name, builder, bits)
    }

    /// [`create_pending_from`](Self::create_pending_from) with a fallible random source.
    fn create_pending_from_try<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        name: &str,
        builder: CertificateRequestBuilder,
        bits: usize,
    ) -> Result<CertificateRequest> {
        check_name(name)?;
        self.atomic(|session| {
            // Fail fast, before the (slow) key generation.
            session.check_name_free(name)?;
            let key = PrivateKey::generate_rsa_try(rng, bits, KeySizePolicy::Standard)?;
            let request = builder.sign(&key)?;
            session.insert_pending(name, &key, &request, &request.subject(), None)?;
            Ok(request)
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
                request_fingerprint: request.fingerprint().to_hex(),
                key_fingerprint: key.fingerprint().to_hex(),
            }
            .into());
        }
        request.verify()?;
        self.atomic(|session| {
            session.check_name_free(name)?;
            session.insert_pending(name, &key, request, &request.subject(), None)
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
        self.atomic(|session| import::import(session, name, key, pem_or_der, options))
    }

    /// Binds `endpoint` to the installed entry `name`. An endpoint holds one entry: unbind it
    /// first to change it. A host-name endpoint must be covered by the certificate.
    pub fn bind(&mut self, endpoint: Endpoint, name: &str) -> Result<()> {
        self.atomic(|session| session.bind(&endpoint, name))
    }

    /// Removes the binding of `endpoint`. The entry it points to is checked first: a binding
    /// changed behind the store's back is [`StoreError::Tampered`], not silently re-sealed.
    pub fn unbind(&mut self, endpoint: &Endpoint) -> Result<()> {
        self.atomic(|session| session.unbind(endpoint))
    }

    /// Starts renewing the installed entry `name`: a new key of `bits` bits and a request for
    /// the same subject and names, stored as the pending entry `name (renewal)`. `name` keeps
    /// serving; installing the renewal's certificate moves `name`'s bindings and name to it
    /// and deletes the old key and certificate.
    pub fn renew(&mut self, name: &str, bits: usize) -> Result<CertificateRequest> {
        self.renew_try(&mut SysRng, name, bits)
    }

    /// [`renew`](Self::renew) with the given random source.
    pub fn renew_with_rng(
        &mut self,
        rng: &mut impl CryptoRng,
        name: &str,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.renew_try(rng, name, bits)
    }

    /// [`renew`](Self::renew) with a fallible random source.
    fn renew_try<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        name: &str,
        bits: usize,
    ) -> Result<CertificateRequest> {
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
            session.verify(&row, &session.chain(row.id)?)?;
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
            let key = PrivateKey::generate_rsa_try(rng, bits, KeySizePolicy::Standard)?;
            let request = builder.sign(&key)?;
            let subject = request.subject();
            session.insert_pending(&renewal_name, &key, &request, &subject, Some(row.id))?;
            Ok(request)
        })
    }

    /// Removes the entry `name` and its key. Refused while it is bound
    /// ([`StoreError::StillBound`] names the endpoints). Removing an entry being renewed turns
    /// its renewal into an ordinary pending entry.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        self.atomic(|session| {
            let row = session.row_by_name(name)?;
            let endpoints = session.bindings_of(row.id)?;
            if !endpoints.is_empty() {
                return Err(StoreError::StillBound {
                    name: name.to_owned(),
                    endpoints: endpoints.iter().map(ToString::to_string).collect(),
                }
                .into());
            }
            session.delete(row.id)
        })
    }

    /// Removes the entry `name`, its key and its bindings.
    pub fn remove_with_bindings(&mut self, name: &str) -> Result<()> {
        self.atomic(|session| {
            let row = session.row_by_name(name)?;
            session
                .conn
                .execute("DELETE FROM bindings WHERE entry_id = ?1", params![row.id])
                .map_err(db("removing bindings"))?;
            session.delete(row.id)
        })
    }

    /// Every entry, as this transaction sees it.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.session()?.entries("ORDER BY e.name", params![])
    }

    /// The entry `name`, as this transaction sees it.
    pub fn entry(&self, name: &str) -> Result<Entry> {
        self.session()?.entry(name)
    }

    /// Exports an entry, as [`KeyStore::export`].
    pub fn export(&self, name: &str, password: &str) -> Result<Export> {
        self.session()?
            .export(name, password, KeyEncryption::default())
    }

    /// Makes every change of this transaction durable and visible, all at once.
    pub fn commit(mut self) -> Result<()> {
        let conn = self.conn.take().ok_or_else(finished)?;
        let result = conn.execute_batch("COMMIT").map_err(db("committing"));
        if result.is_err() {
            // Leave nothing half-done: roll back what COMMIT did not take.
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.inner.give(conn);
        result.map_err(|e| fill_busy(e, self.inner.options.busy_timeout))
    }

    /// Discards every change of this transaction.
    pub fn rollback(mut self) -> Result<()> {
        let conn = self.conn.take().ok_or_else(finished)?;
        let result = conn.execute_batch("ROLLBACK").map_err(db("rolling back"));
        self.inner.give(conn);
        result
    }

    /// Runs one operation inside a savepoint: if it fails, the transaction is left as it was
    /// before the operation, so the caller may carry on or commit what went before.
    fn atomic<T>(&mut self, op: impl FnOnce(&Session<'_>) -> Result<T>) -> Result<T> {
        let session = self.session()?;
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

    fn conn(&self) -> Result<&Connection> {
        self.conn.as_ref().ok_or_else(finished)
    }

    fn session(&self) -> Result<Session<'_>> {
        Ok(Session {
            conn: self.conn()?,
            kek: &self.kek,
        })
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if std::thread::panicking() {
                // Closing the connection discards the open transaction.
                drop(conn);
                return;
            }
            let _ = conn.execute_batch("ROLLBACK");
            self.inner.give(conn);
        }
    }
}

fn finished() -> Error {
    StoreError::Database {
        during: "using a transaction",
        reason: "the transaction has already ended".into(),
    }
    .into()
}

// ---------------------------------------------------------------------------------------------
// Reports and results
// ---------------------------------------------------------------------------------------------

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryState {
    /// A key and its request, waiting for the CA's certificate.
    Pending,
    /// A key with its certificate; can be bound and served.
    Installed,
}

/// One entry of the store, as listed by [`KeyStore::entries`]. Holds no key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    name: String,
    state: EntryState,
    subject: String,
    dns_names: Vec<String>,
    not_before: Option<SystemTime>,
    not_after: Option<SystemTime>,
    key_bits: usize,
    fingerprint: Fingerprint,
    bindings: Vec<Endpoint>,
    created: SystemTime,
    installed: Option<SystemTime>,
    renewal_of: Option<String>,
}

impl Entry {
    /// The entry's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Pending or installed.
    pub fn state(&self) -> EntryState {
        self.state
    }

    /// The certificate's subject when installed; the requested subject when pending.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The certificate's DNS names when installed; the requested ones when pending.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// Start of the certificate's validity.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.not_before
    }

    /// End of the certificate's validity.
    pub fn not_after(&self) -> Option<SystemTime> {
        self.not_after
    }

    /// The key's modulus size.
    pub fn key_bits(&self) -> usize {
        self.key_bits
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The endpoints bound to this entry.
    pub fn bindings(&self) -> &[Endpoint] {
        &self.bindings
    }

    /// When the entry was created.
    pub fn created(&self) -> SystemTime {
        self.created
    }

    /// When its certificate was installed.
    pub fn installed(&self) -> Option<SystemTime> {
        self.installed
    }

    /// For a renewal, the entry it renews.
    pub fn renewal_of(&self) -> Option<&str> {
        self.renewal_of.as_deref()
    }
}

/// What a server presents on a connection: an entry's certificate chain and private key.
pub struct Identity {
    name: String,
    chain: Vec<Certificate>,
    key: PrivateKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("chain_len", &self.chain.len())
            .field("key", &self.key)
            .finish()
    }
}

impl Identity {
    /// The entry's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }
}

/// An exported entry: its key as encrypted PKCS#8 PEM and its chain as PEM.
pub struct Export {
    key_pem: Zeroizing<String>,
    chain_pem: String,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export").finish_non_exhaustive()
    }
}

impl Export {
    /// The key, `ENCRYPTED PRIVATE KEY` PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The chain, leaf first, `CERTIFICATE` PEM blocks (empty for a pending entry).
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// Checks an entry name: 1 to [`MAX_NAME_LEN`] characters, no control characters.
fn check_name(name: &str) -> Result<()> {
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

fn secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The time `s` seconds from the epoch. Stored times were written by [`secs`] and are
/// MAC-checked before use; a value beyond what this platform's `SystemTime` holds (never
/// written by us) reads as the epoch rather than panicking.
fn time(s: i64) -> SystemTime {
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

fn join_names(names: &[String]) -> String {
    names.join("\n")
}

fn split_names(s: &str) -> Vec<String> {
    s.split('\n')
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FailingRng;

    #[test]
    fn key_store_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<KeyStore>();
        fn assert_send<T: Send>() {}
        assert_send::<Transaction>();
    }

    #[test]
    fn an_in_memory_store_leaves_no_file_behind() {
        let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1).unwrap());
        let store = KeyStore::open_in_memory_with("pass", &options).unwrap();
        assert_eq!(store.path(), None);
        let path = store.inner.path.clone();
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        store.begin().unwrap().commit().unwrap();
        let clone = store.clone();
        drop(store);
        assert!(path.exists() && wal.exists(), "alive while a clone is");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(clone);
        assert!(!path.exists() && !wal.exists());
    }

    #[test]
    fn failing_random_source_is_a_typed_error_and_stores_nothing() {
        let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1).unwrap());
        let store = KeyStore::open_in_memory_with("pass", &options).unwrap();
        let mut tx = store.begin().unwrap();
        let dn = DistinguishedName::builder()
            .common_name("www.example.com")
            .build()
            .unwrap();
        let result = tx.create_pending_from_try(
            &mut FailingRng { budget: 0 },
            "www",
            CertificateRequest::builder(dn),
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

    #[test]
    fn times_round_trip() {
        for s in [0, 1, 1_700_000_000, -5] {
            assert_eq!(secs(time(s)), s);
        }
        // The extremes do not panic, whatever the platform's range.
        let _ = (time(i64::MAX), time(i64::MIN));
    }
}
