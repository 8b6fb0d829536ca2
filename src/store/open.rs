//! Opening a store file: [`KeyStore::open`], [`KeyStore::create`] and
//! [`KeyStore::open_in_memory`]; creating the file privately, writing and checking the
//! metadata (key derivation parameters, salt, passphrase verifier).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, OptionalExtension, params};

use super::options::{KdfParams, StoreOptions, check_cost, check_max};
use super::schema::{self, STATE_VERSION, db};
use super::seal::{self, Cost, Keys};
use super::transaction::Session;
use super::{Inner, Kek, KeyStore, check_passphrase, fill_busy, rows, state};
use crate::error::{Result, StoreError};

/// Purpose label and plaintext of the passphrase verifier. The label names the format: a file
/// with the store-level authenticator has a verifier under [`VERIFIER_LABEL`], one from before
/// it under [`VERIFIER_LABEL_V1`], so that a file made to look older (its authenticator
/// dropped and its version lowered, to have it adopted afresh) does not unlock as older.
const VERIFIER_LABEL: &[u8] = b"keymanager/v2/verifier";
const VERIFIER_LABEL_V1: &[u8] = b"keymanager/v1/verifier";
const VERIFIER_TEXT: &[u8] = b"keymanager passphrase check";

impl KeyStore {
    /// Opens the existing store at `path`.
    ///
    /// A missing file is [`StoreError::Missing`] and creates nothing (a mistyped path never
    /// becomes a new, empty store): make new stores with [`create`](Self::create). A wrong
    /// passphrase is [`StoreError::WrongPassphrase`] and changes nothing; a file written by a
    /// newer version is [`StoreError::SchemaTooNew`]; an empty file is
    /// [`StoreError::Uninitialised`].
    ///
    /// Blocks for one Argon2id derivation (27 ms with [`KdfParams::RECOMMENDED`] in a release
    /// build, about ten times that in a debug build) and a check of the whole state (O(entries)):
    /// see the crate docs, "Blocking and async".
    pub fn open(path: impl AsRef<Path>, passphrase: &str) -> Result<KeyStore> {
        Self::open_with(path, passphrase, &StoreOptions::default())
    }

    /// [`open`](Self::open) with options.
    pub fn open_with(
        path: impl AsRef<Path>,
        passphrase: &str,
        options: &StoreOptions,
    ) -> Result<KeyStore> {
        Self::start(Mode::Open, path.as_ref(), passphrase, options)
    }

    /// Creates a new store at `path` (mode 0600) and opens it.
    ///
    /// An existing file, store or not, is [`StoreError::AlreadyExists`] and is left as it
    /// is: open existing stores with [`open`](Self::open). An empty passphrase is refused.
    /// If creating fails after the file was made, the file is removed again.
    ///
    /// Blocks for one Argon2id derivation, as [`open`](Self::open) does.
    pub fn create(path: impl AsRef<Path>, passphrase: &str) -> Result<KeyStore> {
        Self::create_with(path, passphrase, &StoreOptions::default())
    }

    /// [`create`](Self::create) with options (the Argon2id cost of the new store is
    /// [`StoreOptions::kdf`]).
    pub fn create_with(
        path: impl AsRef<Path>,
        passphrase: &str,
        options: &StoreOptions,
    ) -> Result<KeyStore> {
        Self::start(Mode::Create, path.as_ref(), passphrase, options)
    }

    /// A new, private, temporary store, for tests; gone when the last clone is dropped.
    ///
    /// It is an ordinary store file (so it behaves exactly like one, WAL and all) in a private
    /// directory (mode 0700, a random name, created exclusively) in `/dev/shm` when that
    /// exists (memory), else in the temporary directory; the directory and its files are
    /// deleted on drop; [`path`](Self::path) is `None`. No other user can create its `-wal`
    /// or `-shm` file ahead of it (SQLite opens those without `O_EXCL`) to read the KDF
    /// parameters, salt and verifier it writes.
    pub fn open_in_memory(passphrase: &str) -> Result<KeyStore> {
        Self::open_in_memory_with(passphrase, &StoreOptions::default())
    }

    /// [`open_in_memory`](Self::open_in_memory) with options.
    pub fn open_in_memory_with(passphrase: &str, options: &StoreOptions) -> Result<KeyStore> {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        Self::start(Mode::Temporary, &base, passphrase, options)
    }

    /// Where every constructor starts: checks the options before anything touches the disk,
    /// then readies the file for `mode` and opens it. `path` is the store file, or for
    /// [`Mode::Temporary`] the directory to make the store's private directory in.
    fn start(
        mode: Mode,
        path: &Path,
        passphrase: &str,
        options: &StoreOptions,
    ) -> Result<KeyStore> {
        check_max(options.kdf.cost, &options.max_kdf)?;
        match mode {
            Mode::Open => Self::open_existing(path, passphrase, options),
            Mode::Create => Self::create_new(path, passphrase, options),
            Mode::Temporary => Self::create_temporary(path, passphrase, options),
        }
    }

    /// [`Mode::Open`]: the file must exist, and be writable.
    fn open_existing(path: &Path, passphrase: &str, options: &StoreOptions) -> Result<KeyStore> {
        match path.try_exists() {
            Ok(true) => {}
            Ok(false) => {
                return Err(StoreError::Missing {
                    path: path.to_path_buf(),
                }
                .into());
            }
            Err(e) => {
                return Err(StoreError::Io {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }
                .into());
            }
        }
        // The store writes as it opens (its `-wal` and `-shm` files, the file's mode): a file
        // system mounted read-only is told apart here ([`StoreError::ReadOnly`]), where SQLite
        // would only say that it cannot open the file. Nothing is created or written.
        if let Err(e) = std::fs::OpenOptions::new().write(true).open(path) {
            return Err(schema::io_error(path, "opening the store", &e));
        }
        Self::open_path(path.to_path_buf(), Mode::Open, passphrase, options)
    }

    /// [`Mode::Create`]: the file must not exist; it is removed again if the store cannot be
    /// made in it.
    fn create_new(path: &Path, passphrase: &str, options: &StoreOptions) -> Result<KeyStore> {
        check_passphrase(passphrase)?;
        // Companion files already there are not ours to remove (a planted one is refused).
        let ours: Vec<PathBuf> = ["-wal", "-shm"]
            .into_iter()
            .map(|suffix| companion(path, suffix))
            .filter(|p| std::fs::symlink_metadata(p).is_err())
            .collect();
        create_private_file(path)?;
        let result = Self::open_path(path.to_path_buf(), Mode::Create, passphrase, options);
        if result.is_err() {
            // Nothing half-made is left behind (no process can have used it: an open of a
            // file that is not initialised is refused).
            for file in std::iter::once(path.to_path_buf()).chain(ours) {
                let _ = std::fs::remove_file(file);
            }
        }
        result
    }

    /// [`Mode::Temporary`]: a new file in a new private directory under `base`.
    fn create_temporary(base: &Path, passphrase: &str, options: &StoreOptions) -> Result<KeyStore> {
        let dir = create_private_dir(base)?;
        let path = dir.join("store.db");
        if let Err(e) = create_private_file(&path) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Self::open_path(path, Mode::Temporary, passphrase, options)
    }

    fn open_path(
        path: PathBuf,
        mode: Mode,
        passphrase: &str,
        options: &StoreOptions,
    ) -> Result<KeyStore> {
        let busy = options.busy_timeout;
        // From here on, a failure deletes a temporary store's files.
        let temporary = (mode == Mode::Temporary).then(|| TemporaryFiles(path.clone()));
        check_companions(&path)?;
        let conn = schema::connect(&path, busy)?;
        let result = (|| {
            if mode == Mode::Open && schema::version(&conn)? == 0 {
                // Perhaps being created by another process: its write lock is waited for,
                // and ours rolled back (a commit would write the empty file's header).
                conn.execute_batch("BEGIN IMMEDIATE")
                    .map_err(db("beginning a transaction"))?;
                let version = schema::version(&conn);
                let _ = conn.execute_batch("ROLLBACK");
                if version? == 0 {
                    return Err(StoreError::Uninitialised { path: path.clone() }.into());
                }
            }
            schema::enable_wal(&conn)?;
            let mut version = schema::version(&conn)?;
            if version == 0 {
                with_write(&conn, |c| {
                    // Only a file this call created is initialised (checked above).
                    if schema::version(c)? == 0 {
                        check_passphrase(passphrase)?;
                        schema::migrate(c, 0)?;
                        init_meta(c, passphrase, options.kdf.cost)?;
                    }
                    Ok(())
                })?;
                version = schema::version(&conn)?;
            }
            let kek = unlock(&conn, passphrase, version, &options.max_kdf)?;
            if version < schema::CURRENT_VERSION {
                with_write(&conn, |c| {
                    let v = schema::version(c)?;
                    if v < schema::CURRENT_VERSION {
                        schema::migrate(c, v)?;
                        if v < schema::STATE_VERSION {
                            // From before the authenticator: the names re-encoded (each
                            // entry checked first), then the entries as they are now become
                            // its generation 0.
                            rows::reencode_legacy_names(&Session { conn: c, kek: &kek })?;
                            write_verifier(c, &kek)?;
                            state::adopt(c, &kek.keys)?;
                        }
                    }
                    Ok(())
                })?;
            }
            Ok(kek)
        })();
        let kek = result.map_err(|e| fill_busy(e, busy))?;
        restrict_files(&path)?;
        let store = KeyStore {
            inner: Arc::new(Inner {
                path,
                options: options.clone(),
                kek: RwLock::new(Arc::new(kek)),
                pool: Mutex::new(vec![conn]),
                seen: AtomicU64::new(0),
                log_full: AtomicBool::new(false),
                temporary,
            }),
        };
        // The whole state, once per open: references between rows, then the authenticator.
        let generation = store.read(|s| {
            rows::check_references(s.conn)?;
            s.check_state()
        })?;
        if generation < options.min_generation {
            return Err(StoreError::RolledBack {
                seen: options.min_generation,
                found: generation,
            }
            .into());
        }
        store.inner.observe(generation)?;
        Ok(store)
    }
}

/// How [`KeyStore::open_path`] came to the file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// An existing file, which must already be a store.
    Open,
    /// A file this call has just created, empty, to be initialised.
    Create,
    /// [`Mode::Create`] for a temporary store, whose files go when it is dropped.
    Temporary,
}

/// Deletes a temporary store's private directory (the store file's parent) and its files
/// when dropped.
pub(super) struct TemporaryFiles(PathBuf);

impl Drop for TemporaryFiles {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

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
    write_meta(conn, &kek, cost)?;
    super::state::adopt(conn, &kek.keys)
}

/// Writes the passphrase verifier of the current format (a migrated file gets it too).
fn write_verifier(conn: &Connection, kek: &Kek) -> Result<()> {
    let verifier = kek.keys.seal(VERIFIER_LABEL, &kek.salt, VERIFIER_TEXT)?;
    conn.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES ('verifier', ?1)",
        params![verifier],
    )
    .map_err(db("writing the key store metadata"))?;
    Ok(())
}

pub(super) fn write_meta(conn: &Connection, kek: &Kek, cost: Cost) -> Result<()> {
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

/// Derives the keys from the stored parameters and checks the passphrase against the verifier
/// of the file's format (`version`, its schema version).
/// A stored cost above `max` is refused before anything is derived.
pub(super) fn unlock(
    conn: &Connection,
    passphrase: &str,
    version: i64,
    max: &KdfParams,
) -> Result<Kek> {
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
    check_max(cost, max)?;
    let salt = blob("salt")?;
    if salt.len() != seal::SALT_LEN {
        return Err(StoreError::Corrupt {
            reason: format!(
                "the stored salt is {} bytes, not {}",
                salt.len(),
                seal::SALT_LEN
            ),
        }
        .into());
    }
    let verifier = blob("verifier")?;
    let keys = Keys::derive(passphrase, &salt, cost)?;
    let opens = |label: &[u8]| {
        keys.open(label, &salt, &verifier)
            .is_some_and(|text| text.as_slice() == VERIFIER_TEXT)
    };
    if version >= STATE_VERSION {
        if opens(VERIFIER_LABEL) {
            return Ok(Kek { keys, salt });
        }
    } else if opens(VERIFIER_LABEL_V1) {
        return Ok(Kek { keys, salt });
    } else if opens(VERIFIER_LABEL) {
        return Err(StoreError::StateTampered {
            entry: None,
            what: format!(
                "the file says it is schema version {version}, from before the authenticator, \
                 but was written with one: it was downgraded to drop it"
            ),
        }
        .into());
    }
    Err(StoreError::WrongPassphrase.into())
}

/// The path of the store file's companion `suffix` (`-wal`, `-shm`; `""`: the file itself).
pub(super) fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut side = path.as_os_str().to_owned();
    side.push(suffix);
    PathBuf::from(side)
}

/// Creates a new directory with a random name under `base`, mode 0700, failing if the name
/// exists (the exclusive creation of `mkdtemp`): a place no other user can create files in.
fn create_private_dir(base: &Path) -> Result<PathBuf> {
    let mut id = [0u8; 16];
    seal::random(&mut id)?;
    let dir = base.join(format!("keymanager-{}", hex::encode(id)));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(&dir).map_err(|e| StoreError::Io {
        path: dir.display().to_string(),
        reason: format!("cannot create a private temporary directory: {e}"),
    })?;
    Ok(dir)
}

/// Refuses a store whose `-wal` or `-shm` file is owned by another user than the store file:
/// SQLite opens them without `O_EXCL`, so one created ahead of time by someone else (in a
/// shared directory) would receive what the store writes, and could feed it altered pages.
fn check_companions(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(path)
            .map_err(|e| StoreError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?
            .uid();
        for suffix in ["-wal", "-shm"] {
            let side = companion(path, suffix);
            if let Ok(meta) = std::fs::symlink_metadata(&side) {
                let reason = if meta.uid() != owner {
                    Some(format!(
                        "it is owned by user {}, not by the store file's owner {owner}",
                        meta.uid()
                    ))
                } else if !meta.file_type().is_file() {
                    Some("it is not a regular file".into())
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(StoreError::Io {
                        path: side.display().to_string(),
                        reason: format!(
                            "{reason}: another user may have planted it to read or alter the \
                             store; nothing was opened; remove it if no process uses the store"
                        ),
                    }
                    .into());
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates a new store file with mode 0600, which must not exist yet
/// ([`StoreError::AlreadyExists`]), so SQLite never creates it with the process umask; SQLite
/// gives the `-wal` and `-shm` files the database's mode.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| -> crate::Error {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            StoreError::AlreadyExists {
                path: path.to_path_buf(),
            }
            .into()
        } else {
            // A full or read-only disk is typed (DiskFull, ReadOnly), as for the database.
            super::schema::io_error(path, "creating the store file", &e)
        }
    })?;
    Ok(())
}

/// Makes sure the store file and its `-wal` and `-shm` files are not readable by others
/// (a store copied or created with a loose mode is tightened when opened).
fn restrict_files(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let side = companion(path, suffix);
            if let Ok(meta) = std::fs::metadata(&side)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o600)).map_err(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_memory_store_leaves_no_file_behind() {
        let options = StoreOptions::fast_for_tests();
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

    /// Issue 13: the temporary store lives in a directory of its own, 0700 and made
    /// exclusively, so no other user can create its `-wal` or `-shm` ahead of it; two stores
    /// never share one; the directory goes with the store.
    #[test]
    #[cfg(unix)]
    fn an_in_memory_store_lives_in_a_private_directory() {
        use std::os::unix::fs::PermissionsExt;
        let options = StoreOptions::fast_for_tests();
        let a = KeyStore::open_in_memory_with("pass", &options).unwrap();
        let b = KeyStore::open_in_memory_with("pass", &options).unwrap();
        let dir = a.inner.path.parent().unwrap().to_path_buf();
        assert_ne!(Some(dir.as_path()), b.inner.path.parent());
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // Exclusive: an existing directory is never reused.
        let base = dir.parent().unwrap();
        let again = create_private_dir(base).unwrap();
        assert_ne!(again, dir);
        std::fs::remove_dir(&again).unwrap();
        drop(a);
        assert!(!dir.exists());
    }
}
