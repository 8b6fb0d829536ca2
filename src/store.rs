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
//! does not open. Every entry row and its certificates carry an HMAC-SHA256 under a key derived
//! from the same passphrase; a changed row is reported as [`StoreError::Tampered`] naming the
//! entry. No private key is ever written unsealed.

mod certs;
mod schema;
mod seal;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::CryptoRng;
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::certificate::Certificate;
use crate::endpoint::Endpoint;
use crate::error::{EndpointError, Error, InstallError, Result, StoreError};
use crate::fingerprint::Fingerprint;
use crate::hostname;
use crate::key::{KeyEncryption, KeySizePolicy, PrivateKey};
use crate::name::DistinguishedName;
use crate::request::CertificateRequest;

use schema::db;
use seal::{Cost, Keys};

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
        restrict_side_files(&path)?;
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
        tx.check_salt()?;
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
        let limit = secs(SystemTime::now() + within);
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

    /// What to serve on a connection to `local_ip:port` that asked for `sni`: the entry bound
    /// to the host name, else to `*.` its parent, else to the address, else to the any-address
    /// of its family. `None` when nothing is bound. Decrypts only the chosen key.
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
    /// Generates an RSA key of `bits` bits with the operating system's random source, makes
    /// its request for `dn`, and stores both as the pending entry `name`; returns the request
    /// to send to the CA. When the common name is a host name, the request also names it in
    /// its subjectAltName, as CAs and browsers require.
    pub fn create_pending(
        &mut self,
        name: &str,
        dn: &DistinguishedName,
        bits: usize,
    ) -> Result<CertificateRequest> {
        self.create_pending_with_rng(&mut rand::rng(), name, dn, bits)
    }

    /// [`create_pending`](Self::create_pending) with the given random source.
    pub fn create_pending_with_rng(
        &mut self,
        rng: &mut impl CryptoRng,
        name: &str,
        dn: &DistinguishedName,
        bits: usize,
    ) -> Result<CertificateRequest> {
        check_name(name)?;
        self.session()?.check_name_free(name)?;
        let key = PrivateKey::generate_rsa_with_rng(rng, bits)?;
        let mut builder = CertificateRequest::builder(dn.clone());
        if let Some(cn) = dn.common_name()
            && hostname::check_host_name(cn, true).is_ok()
        {
            builder = builder.dns_name(cn.to_ascii_lowercase());
        }
        let request = builder.sign(&key)?;
        let subject = certs::request_subject(&request);
        self.session()?
            .insert_pending(name, &key, &request, &subject, None)?;
        Ok(request)
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
        let session = self.session()?;
        session.check_name_free(name)?;
        session.insert_pending(name, &key, request, &certs::request_subject(request), None)?;
        Ok(())
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
        self.session()?.install(pem_or_der, options)
    }

    /// Binds `endpoint` to the installed entry `name`. An endpoint holds one entry: unbind it
    /// first to change it. A host-name endpoint must be covered by the certificate.
    pub fn bind(&mut self, endpoint: Endpoint, name: &str) -> Result<()> {
        self.session()?.bind(&endpoint, name)
    }

    /// Removes the binding of `endpoint`.
    pub fn unbind(&mut self, endpoint: &Endpoint) -> Result<()> {
        let n = self
            .conn()?
            .execute(
                "DELETE FROM bindings WHERE endpoint = ?1",
                params![endpoint.to_string()],
            )
            .map_err(db("unbinding"))?;
        if n == 0 {
            return Err(EndpointError::NotBound {
                endpoint: endpoint.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// Starts renewing the installed entry `name`: a new key of `bits` bits and a request for
    /// the same subject and names, stored as the pending entry `name (renewal)`. `name` keeps
    /// serving; installing the renewal's certificate moves `name`'s bindings and name to it
    /// and deletes the old key and certificate.
    pub fn renew(&mut self, name: &str, bits: usize) -> Result<CertificateRequest> {
        self.renew_with_rng(&mut rand::rng(), name, bits)
    }

    /// [`renew`](Self::renew) with the given random source.
    pub fn renew_with_rng(
        &mut self,
        rng: &mut impl CryptoRng,
        name: &str,
        bits: usize,
    ) -> Result<CertificateRequest> {
        let session = self.session()?;
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
        let dn: DistinguishedName = row.subject_requested()?;
        let mut builder = CertificateRequest::builder(dn.clone());
        let names = match row.request()? {
            Some(req) => certs::request_dns_names(&req),
            None => Vec::new(),
        };
        let names = if names.is_empty() {
            row.dns_names.clone()
        } else {
            names
        };
        for n in names {
            builder = builder.dns_name(n);
        }
        let key = PrivateKey::generate_rsa_with_rng(rng, bits)?;
        let request = builder.sign(&key)?;
        session.insert_pending(&renewal_name, &key, &request, &row.subject, Some(row.id))?;
        Ok(request)
    }

    /// Removes the entry `name` and its key. Refused while it is bound
    /// ([`StoreError::StillBound`] names the endpoints). Removing an entry being renewed turns
    /// its renewal into an ordinary pending entry.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        let session = self.session()?;
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
    }

    /// Removes the entry `name`, its key and its bindings.
    pub fn remove_with_bindings(&mut self, name: &str) -> Result<()> {
        let session = self.session()?;
        let row = session.row_by_name(name)?;
        self.conn()?
            .execute("DELETE FROM bindings WHERE entry_id = ?1", params![row.id])
            .map_err(db("removing bindings"))?;
        session.delete(row.id)
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

    fn conn(&self) -> Result<&Connection> {
        self.conn.as_ref().ok_or_else(finished)
    }

    fn session(&self) -> Result<Session<'_>> {
        Ok(Session {
            conn: self.conn()?,
            kek: &self.kek,
        })
    }

    fn check_salt(&self) -> Result<()> {
        let salt: Vec<u8> = self
            .conn()?
            .query_row("SELECT value FROM meta WHERE name = 'salt'", [], |r| {
                r.get(0)
            })
            .map_err(db("reading the key store metadata"))?;
        if salt != self.kek.salt {
            return Err(StoreError::PassphraseChanged.into());
        }
        Ok(())
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
// Rows and queries
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Installed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Installed => "installed",
        }
    }
}

/// One `entries` row.
struct Row {
    id: i64,
    name: String,
    state: State,
    spki: Vec<u8>,
    key_bits: i64,
    sealed_key: Vec<u8>,
    subject: String,
    dns_names: Vec<String>,
    request_der: Option<Vec<u8>>,
    created_at: i64,
    installed_at: Option<i64>,
    not_before: Option<i64>,
    not_after: Option<i64>,
    renewal_of: Option<i64>,
    mac: Vec<u8>,
}

const ROW_COLUMNS: &str = "e.id, e.name, e.state, e.spki_sha256, e.key_bits, e.sealed_key, \
    e.subject, e.dns_names, e.request_der, e.created_at, e.installed_at, e.not_before, \
    e.not_after, e.renewal_of, e.mac";

impl Row {
    fn from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        let state: String = r.get(2)?;
        let dns: String = r.get(7)?;
        Ok(Row {
            id: r.get(0)?,
            name: r.get(1)?,
            state: if state == "installed" {
                State::Installed
            } else {
                State::Pending
            },
            spki: r.get(3)?,
            key_bits: r.get(4)?,
            sealed_key: r.get(5)?,
            subject: r.get(6)?,
            dns_names: split_names(&dns),
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
    /// is authenticated by its own AEAD tag), then the certificate chain.
    fn mac_parts(&self, chain: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let opt = |v: Option<i64>| v.map_or_else(Vec::new, |v| v.to_be_bytes().to_vec());
        let mut parts = vec![
            ROW_LABEL.to_vec(),
            self.id.to_be_bytes().to_vec(),
            self.name.as_bytes().to_vec(),
            self.state.as_str().as_bytes().to_vec(),
            self.spki.clone(),
            self.key_bits.to_be_bytes().to_vec(),
            self.subject.as_bytes().to_vec(),
            join_names(&self.dns_names).into_bytes(),
            self.request_der.clone().unwrap_or_default(),
            self.created_at.to_be_bytes().to_vec(),
            opt(self.installed_at),
            opt(self.not_before),
            opt(self.not_after),
            opt(self.renewal_of),
            (chain.len() as u64).to_be_bytes().to_vec(),
        ];
        parts.extend(chain.iter().cloned());
        parts
    }

    fn fingerprint(&self) -> Fingerprint {
        let mut fp = [0u8; 32];
        if self.spki.len() == 32 {
            fp.copy_from_slice(&self.spki);
        }
        Fingerprint::from(fp)
    }

    fn request(&self) -> Result<Option<CertificateRequest>> {
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
    fn subject_requested(&self) -> Result<DistinguishedName> {
        if let Some(req) = self.request()? {
            let s = certs::request_subject(&req);
            if let Ok(dn) = s.parse() {
                return Ok(dn);
            }
        }
        self.subject.parse().map_err(|e: Error| {
            StoreError::WrongState {
                name: self.name.clone(),
                state: self.state.as_str().into(),
                hint: format!("its subject cannot be reused for a renewal request: {e}"),
            }
            .into()
        })
    }
}

/// A connection inside a transaction (read or write) with the keys to check and open rows.
struct Session<'a> {
    conn: &'a Connection,
    kek: &'a Kek,
}

impl Session<'_> {
    fn row_by_name(&self, name: &str) -> Result<Row> {
        self.row_where("e.name = ?1", params![name])?
            .ok_or_else(|| {
                StoreError::NotFound {
                    name: name.to_owned(),
                }
                .into()
            })
    }

    fn row_by_id(&self, id: i64) -> Result<Row> {
        self.row_where("e.id = ?1", params![id])?.ok_or_else(|| {
            StoreError::Database {
                during: "reading an entry",
                reason: format!("entry id {id} vanished"),
            }
            .into()
        })
    }

    fn row_where(&self, condition: &str, p: impl rusqlite::Params) -> Result<Option<Row>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM entries e WHERE {condition}"
            ))
            .and_then(|mut st| st.query_row(p, Row::from_sql).optional())
            .map_err(db("reading an entry"))
    }

    fn ids(&self) -> Result<Vec<i64>> {
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

    fn chain(&self, id: i64) -> Result<Vec<Vec<u8>>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT der FROM chain WHERE entry_id = ?1 ORDER BY position")
            .map_err(db("reading a certificate chain"))?;
        st.query_map(params![id], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Vec<u8>>>>())
            .map_err(db("reading a certificate chain"))
    }

    fn bindings_of(&self, id: i64) -> Result<Vec<Endpoint>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT endpoint FROM bindings WHERE entry_id = ?1 ORDER BY endpoint")
            .map_err(db("reading bindings"))?;
        let texts = st
            .query_map(params![id], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(db("reading bindings"))?;
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

    fn bound_entry(&self, endpoint: &Endpoint) -> Result<Option<i64>> {
        self.conn
            .prepare_cached("SELECT entry_id FROM bindings WHERE endpoint = ?1")
            .and_then(|mut st| {
                st.query_row(params![endpoint.to_string()], |r| r.get(0))
                    .optional()
            })
            .map_err(db("looking up a binding"))
    }

    fn renewal_of(&self, id: i64) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT name FROM entries WHERE renewal_of = ?1")
            .and_then(|mut st| st.query_row(params![id], |r| r.get(0)).optional())
            .map_err(db("reading renewals"))
    }

    /// Checks the row's MAC; on failure, tells a changed passphrase from tampering.
    fn verify(&self, row: &Row, chain: &[Vec<u8>]) -> Result<()> {
        let parts = row.mac_parts(chain);
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

    fn update_mac(&self, id: i64) -> Result<()> {
        let row = self.row_by_id(id)?;
        let chain = self.chain(id)?;
        let parts = row.mac_parts(&chain);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let mac = self.kek.keys.mac(&refs);
        self.conn
            .execute(
                "UPDATE entries SET mac = ?1 WHERE id = ?2",
                params![mac, id],
            )
            .map_err(db("writing an entry"))?;
        Ok(())
    }

    fn check_salt(&self) -> Result<()> {
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
    fn unseal(&self, row: &Row) -> Result<PrivateKey> {
        let tampered = |what: &str| -> Error {
            StoreError::Tampered {
                entry: row.name.clone(),
                what: what.to_owned(),
            }
            .into()
        };
        let Some(der) = self.kek.keys.open(KEY_LABEL, &row.spki, &row.sealed_key) else {
            self.check_salt()?;
            return Err(tampered("its sealed private key does not decrypt"));
        };
        // The key's size was accepted when it was stored, possibly under the legacy policy;
        // the AEAD tag vouches that it is the key that was stored.
        let key = PrivateKey::from_der_with_policy(&der, KeySizePolicy::InsecureLegacy)
            .map_err(|_| tampered("its private key does not parse"))?;
        if key.fingerprint().as_bytes().as_slice() != row.spki.as_slice() {
            return Err(tampered("its private key is not the key on record"));
        }
        Ok(key)
    }

    fn check_name_free(&self, name: &str) -> Result<()> {
        let taken: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM entries WHERE name = ?1")
            .and_then(|mut st| st.query_row(params![name], |r| r.get(0)).optional())
            .map_err(db("checking a name"))?;
        if taken.is_some() {
            return Err(StoreError::NameTaken {
                name: name.to_owned(),
            }
            .into());
        }
        Ok(())
    }

    fn insert_pending(
        &self,
        name: &str,
        key: &PrivateKey,
        request: &CertificateRequest,
        subject: &str,
        renewal_of: Option<i64>,
    ) -> Result<()> {
        let fp = key.fingerprint();
        if let Some(existing) =
            self.row_where("e.spki_sha256 = ?1", params![fp.as_bytes().as_slice()])?
        {
            return Err(StoreError::DuplicateKey {
                entry: existing.name,
                fingerprint: fp.to_hex(),
            }
            .into());
        }
        let der = key.to_pkcs8_der()?;
        let sealed = self.kek.keys.seal(KEY_LABEL, fp.as_bytes(), &der)?;
        let names = join_names(&certs::request_dns_names(request));
        self.conn
            .execute(
                "INSERT INTO entries (name, state, spki_sha256, key_bits, sealed_key, subject, \
                 dns_names, request_der, created_at, renewal_of, mac) \
                 VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, x'')",
                params![
                    name,
                    fp.as_bytes().as_slice(),
                    key.bits() as i64,
                    sealed,
                    subject,
                    names,
                    request.to_der(),
                    secs(SystemTime::now()),
                    renewal_of,
                ],
            )
            .map_err(db("storing a pending key"))?;
        self.update_mac(self.conn.last_insert_rowid())
    }

    fn install(&self, bytes: &[u8], options: InstallOptions) -> Result<String> {
        let certs = certs::parse_any(bytes)?;
        // One indexed lookup per certificate in the input.
        let mut installed: Option<Row> = None;
        let mut pending: Option<Row> = None;
        for cert in &certs {
            let fp = cert.fingerprint();
            if let Some(row) =
                self.row_where("e.spki_sha256 = ?1", params![fp.as_bytes().as_slice()])?
            {
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
                    fingerprint: row.fingerprint().to_hex(),
                    entry: row.name,
                }
                .into());
            }
            return Err(self.no_match(&certs)?);
        };
        self.verify(&row, &[])?;
        let fp = row.fingerprint();
        let chain = certs::build_chain(certs, &fp)?;
        let Some(leaf) = chain.first() else {
            return Err(self.no_match(&chain)?);
        };
        let subject = certs::subject(leaf);
        let now = options.now.unwrap_or_else(SystemTime::now);
        let (nb, na) = (certs::not_before(leaf), certs::not_after(leaf));
        if !options.allow_invalid_dates {
            let problem = if now < nb {
                Some(format!("not valid before {}", format_time(nb)))
            } else if now > na {
                Some(format!("expired on {}", format_time(na)))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(InstallError::InvalidDates { subject, problem }.into());
            }
        }
        if !certs::allows_server_auth(leaf) {
            return Err(InstallError::NoServerAuth { subject }.into());
        }
        let certified = certs::dns_names(leaf);
        let requested = match row.request()? {
            Some(req) => certs::request_dns_names(&req),
            None => Vec::new(),
        };
        let dropped: Vec<String> = requested
            .into_iter()
            .filter(|n| !certs::covers_host(leaf, n))
            .collect();
        if !dropped.is_empty() {
            return Err(InstallError::NamesDropped {
                entry: row.name.clone(),
                dropped,
                certified,
            }
            .into());
        }
        // The key must still open before we tie a certificate to it.
        self.unseal(&row)?;
        self.conn
            .execute(
                "UPDATE entries SET state = 'installed', subject = ?1, dns_names = ?2, \
                 installed_at = ?3, not_before = ?4, not_after = ?5 WHERE id = ?6",
                params![
                    subject,
                    join_names(&certified),
                    secs(SystemTime::now()),
                    secs(nb),
                    secs(na),
                    row.id
                ],
            )
            .map_err(db("installing a certificate"))?;
        for (i, cert) in chain.iter().enumerate() {
            self.conn
                .execute(
                    "INSERT INTO chain (entry_id, position, der) VALUES (?1, ?2, ?3)",
                    params![row.id, i as i64, cert.to_der()],
                )
                .map_err(db("storing a certificate"))?;
        }
        let mut name = row.name.clone();
        if let Some(old_id) = row.renewal_of {
            let old = self.row_by_id(old_id)?;
            self.conn
                .execute(
                    "UPDATE bindings SET entry_id = ?1 WHERE entry_id = ?2",
                    params![row.id, old_id],
                )
                .map_err(db("moving bindings to the renewal"))?;
            self.delete(old_id)?;
            self.conn
                .execute(
                    "UPDATE entries SET name = ?1, renewal_of = NULL WHERE id = ?2",
                    params![old.name, row.id],
                )
                .map_err(db("renaming the renewal"))?;
            name = old.name;
        }
        self.update_mac(row.id)?;
        Ok(name)
    }

    /// The error for a certificate no pending key matches, with the pending keys of the same
    /// subject as candidates.
    fn no_match(&self, certs: &[Certificate]) -> Result<Error> {
        let Some(leaf) = certs.first() else {
            return Ok(crate::error::CertificateError::NoCertificate {
                hint: "the input holds no certificate".into(),
            }
            .into());
        };
        let subject = certs::subject(leaf);
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT name, spki_sha256 FROM entries \
                 WHERE state = 'pending' AND subject = ?1 ORDER BY name",
            )
            .map_err(db("listing pending keys"))?;
        let candidates = st
            .query_map(params![subject], |r| {
                Ok((r.get::<_, String>(0)?, hex::encode(r.get::<_, Vec<u8>>(1)?)))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(db("listing pending keys"))?;
        Ok(InstallError::NoMatchingKey {
            subject,
            fingerprint: leaf.fingerprint().to_hex(),
            candidates,
        }
        .into())
    }

    fn bind(&self, endpoint: &Endpoint, name: &str) -> Result<()> {
        let row = self.row_by_name(name)?;
        if row.state != State::Installed {
            return Err(EndpointError::NotInstalled {
                entry: name.to_owned(),
                state: row.state.as_str().into(),
            }
            .into());
        }
        if let Some(current) = self.bound_entry(endpoint)? {
            let current = self.row_by_id(current)?;
            return Err(EndpointError::Taken {
                endpoint: endpoint.to_string(),
                entry: current.name,
            }
            .into());
        }
        let chain = self.chain(row.id)?;
        self.verify(&row, &chain)?;
        if let Some(host) = endpoint.host_name() {
            let leaf = chain
                .first()
                .and_then(|der| Certificate::from_der(der).ok())
                .ok_or_else(|| StoreError::Tampered {
                    entry: name.to_owned(),
                    what: "its certificate does not parse".into(),
                })?;
            if !certs::covers_host(&leaf, host) {
                return Err(EndpointError::HostNotCovered {
                    entry: name.to_owned(),
                    host: host.to_owned(),
                    names: certs::dns_names(&leaf),
                }
                .into());
            }
        }
        self.conn
            .execute(
                "INSERT INTO bindings (endpoint, entry_id) VALUES (?1, ?2)",
                params![endpoint.to_string(), row.id],
            )
            .map_err(db("binding"))?;
        Ok(())
    }

    /// Deletes an entry (its chain goes with it); a renewal of it becomes an ordinary pending
    /// entry, with its MAC recomputed.
    fn delete(&self, id: i64) -> Result<()> {
        let renewal: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM entries WHERE renewal_of = ?1")
            .and_then(|mut st| st.query_row(params![id], |r| r.get(0)).optional())
            .map_err(db("reading renewals"))?;
        if let Some(renewal) = renewal {
            self.conn
                .execute(
                    "UPDATE entries SET renewal_of = NULL WHERE id = ?1",
                    params![renewal],
                )
                .map_err(db("detaching a renewal"))?;
            self.update_mac(renewal)?;
        }
        self.conn
            .execute("DELETE FROM entries WHERE id = ?1", params![id])
            .map_err(db("removing an entry"))?;
        Ok(())
    }

    fn entry(&self, name: &str) -> Result<Entry> {
        let row = self.row_by_name(name)?;
        self.to_entry(row)
    }

    fn entries(&self, clause: &str, p: impl rusqlite::Params) -> Result<Vec<Entry>> {
        let rows = {
            let mut st = self
                .conn
                .prepare_cached(&format!("SELECT {ROW_COLUMNS} FROM entries e {clause}"))
                .map_err(db("listing entries"))?;
            st.query_map(p, Row::from_sql)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Row>>>())
                .map_err(db("listing entries"))?
        };
        rows.into_iter().map(|row| self.to_entry(row)).collect()
    }

    fn to_entry(&self, row: Row) -> Result<Entry> {
        let chain = self.chain(row.id)?;
        self.verify(&row, &chain)?;
        let bindings = self.bindings_of(row.id)?;
        let renewal_of = match row.renewal_of {
            Some(id) => Some(self.row_by_id(id)?.name),
            None => None,
        };
        Ok(Entry {
            fingerprint: row.fingerprint(),
            state: match row.state {
                State::Pending => EntryState::Pending,
                State::Installed => EntryState::Installed,
            },
            key_bits: usize::try_from(row.key_bits).unwrap_or(0),
            created: time(row.created_at),
            installed: row.installed_at.map(time),
            not_before: row.not_before.map(time),
            not_after: row.not_after.map(time),
            name: row.name,
            subject: row.subject,
            dns_names: row.dns_names,
            bindings,
            renewal_of,
        })
    }

    fn identity(&self, id: i64) -> Result<Identity> {
        let row = self.row_by_id(id)?;
        let ders = self.chain(id)?;
        self.verify(&row, &ders)?;
        let chain = ders
            .iter()
            .map(|d| Certificate::from_der(d))
            .collect::<Result<Vec<_>>>()
            .map_err(|_| StoreError::Tampered {
                entry: row.name.clone(),
                what: "a stored certificate does not parse".into(),
            })?;
        if chain.first().map(Certificate::fingerprint) != Some(row.fingerprint()) {
            return Err(StoreError::Tampered {
                entry: row.name.clone(),
                what: "its certificate is not for its key".into(),
            }
            .into());
        }
        let key = self.unseal(&row)?;
        Ok(Identity {
            name: row.name,
            chain,
            key,
        })
    }

    fn export(&self, name: &str, password: &str, encryption: KeyEncryption) -> Result<Export> {
        let row = self.row_by_name(name)?;
        let ders = self.chain(row.id)?;
        self.verify(&row, &ders)?;
        let key = self.unseal(&row)?;
        let key_pem = Zeroizing::new(key.to_encrypted_pkcs8_pem_os_rng(password, encryption)?);
        let chain_pem = ders
            .into_iter()
            .map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der)))
            .collect::<String>();
        Ok(Export { key_pem, chain_pem })
    }
}

// ---------------------------------------------------------------------------------------------
// Opening helpers
// ---------------------------------------------------------------------------------------------

/// Runs `f` in a `BEGIN IMMEDIATE` transaction on `conn`, committing on success.
fn with_write(conn: &Connection, f: impl FnOnce(&Connection) -> Result<()>) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(db("beginning a transaction"))?;
    match f(conn) {
        Ok(()) => conn.execute_batch("COMMIT").map_err(db("committing")),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Writes the KDF parameters, a new salt and the passphrase verifier of a new store.
fn init_meta(conn: &Connection, passphrase: &str, cost: Cost) -> Result<()> {
    let mut salt = vec![0u8; seal::SALT_LEN];
    seal::random(&mut salt)?;
    let kek = Kek {
        keys: Keys::derive(passphrase, &salt, cost)?,
        salt,
    };
    write_meta(conn, &kek, cost)
}

fn write_meta(conn: &Connection, kek: &Kek, cost: Cost) -> Result<()> {
    let verifier = kek.keys.seal(VERIFIER_LABEL, &kek.salt, VERIFIER_TEXT)?;
    let mut st = conn
        .prepare_cached("INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)")
        .map_err(db("writing the key store metadata"))?;
    for (name, value) in [
        ("kdf", rusqlite::types::Value::Text("argon2id".into())),
        ("kdf_memory_kib", i64::from(cost.memory_kib).into()),
        ("kdf_iterations", i64::from(cost.iterations).into()),
        ("kdf_parallelism", i64::from(cost.parallelism).into()),
        ("salt", kek.salt.clone().into()),
        ("verifier", verifier.into()),
    ] {
        st.execute(params![name, value])
            .map_err(db("writing the key store metadata"))?;
    }
    Ok(())
}

/// Derives the keys from the stored parameters and checks the passphrase against the verifier.
fn unlock(conn: &Connection, passphrase: &str) -> Result<Kek> {
    let get = |name: &str| -> Result<rusqlite::types::Value> {
        conn.query_row(
            "SELECT value FROM meta WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()
        .map_err(db("reading the key store metadata"))?
        .ok_or_else(|| {
            StoreError::Corrupt {
                reason: format!("the metadata `{name}` is missing"),
            }
            .into()
        })
    };
    let int = |name: &str| -> Result<u32> {
        match get(name)? {
            rusqlite::types::Value::Integer(i) => u32::try_from(i).ok(),
            _ => None,
        }
        .ok_or_else(|| {
            StoreError::Corrupt {
                reason: format!("the metadata `{name}` is not a valid number"),
            }
            .into()
        })
    };
    let blob = |name: &str| -> Result<Vec<u8>> {
        match get(name)? {
            rusqlite::types::Value::Blob(b) => Ok(b),
            _ => Err(StoreError::Corrupt {
                reason: format!("the metadata `{name}` is not binary"),
            }
            .into()),
        }
    };
    if !matches!(get("kdf")?, rusqlite::types::Value::Text(t) if t == "argon2id") {
        return Err(StoreError::Corrupt {
            reason: "unknown key derivation function".into(),
        }
        .into());
    }
    let cost = Cost {
        memory_kib: int("kdf_memory_kib")?,
        iterations: int("kdf_iterations")?,
        parallelism: int("kdf_parallelism")?,
    };
    check_cost(cost).map_err(|reason| StoreError::Corrupt {
        reason: format!("stored key derivation parameters are out of range: {reason}"),
    })?;
    let salt = blob("salt")?;
    let verifier = blob("verifier")?;
    let keys = Keys::derive(passphrase, &salt, cost)?;
    match keys.open(VERIFIER_LABEL, &salt, &verifier) {
        Some(text) if text.as_slice() == VERIFIER_TEXT => Ok(Kek { keys, salt }),
        _ => Err(StoreError::WrongPassphrase.into()),
    }
}

/// Creates the store file with mode 0600 if it does not exist (`new`: it must not exist), so
/// SQLite never creates it with the process umask; SQLite gives the `-wal` and `-shm` files
/// the database's mode.
fn create_private_file(path: &Path, new: bool) -> Result<()> {
    let io = |e: std::io::Error| StoreError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).truncate(false);
    if new {
        options.create_new(true);
    } else {
        options.create(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io)?;
    Ok(())
}

/// Makes sure the `-wal` and `-shm` files are not readable by others.
fn restrict_side_files(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = Path::new(&side);
            if let Ok(meta) = std::fs::metadata(side)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(side, std::fs::Permissions::from_mode(0o600)).map_err(
                    |e| StoreError::Io {
                        path: side.display().to_string(),
                        reason: e.to_string(),
                    },
                )?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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

fn time(s: i64) -> SystemTime {
    if s >= 0 {
        UNIX_EPOCH + Duration::from_secs(s.unsigned_abs())
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(s.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

fn format_time(t: SystemTime) -> String {
    match der::DateTime::from_system_time(t) {
        Ok(dt) => dt.to_string(),
        Err(_) => format!("{} s after 1970", secs(t)),
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

    #[test]
    fn key_store_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<KeyStore>();
        fn assert_send<T: Send>() {}
        assert_send::<Transaction>();
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
    }
}
