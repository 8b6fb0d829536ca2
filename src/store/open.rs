//! Opening a store file: creating it privately, writing and checking the metadata (key
//! derivation parameters, salt, passphrase verifier).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::Kek;
use super::options::{KdfParams, check_cost, check_max};
use super::schema::{STATE_VERSION, db};
use super::seal::{self, Cost, Keys};
use crate::error::{Result, StoreError};

/// Purpose label and plaintext of the passphrase verifier. The label names the format: a file
/// with the store-level authenticator has a verifier under [`VERIFIER_LABEL`], one from before
/// it under [`VERIFIER_LABEL_V1`], so that a file made to look older (its authenticator
/// dropped and its version lowered, to have it adopted afresh) does not unlock as older.
const VERIFIER_LABEL: &[u8] = b"keymanager/v2/verifier";
const VERIFIER_LABEL_V1: &[u8] = b"keymanager/v1/verifier";
const VERIFIER_TEXT: &[u8] = b"keymanager passphrase check";

/// Runs `f` in a `BEGIN IMMEDIATE` transaction on `conn`, committing on success.
pub(super) fn with_write(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<()>,
) -> Result<()> {
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
pub(super) fn init_meta(conn: &Connection, passphrase: &str, cost: Cost) -> Result<()> {
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
pub(super) fn write_verifier(conn: &Connection, kek: &Kek) -> Result<()> {
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

/// Creates a new directory with a random name under `base`, mode 0700, failing if the name
/// exists (the exclusive creation of `mkdtemp`): a place no other user can create files in.
pub(super) fn create_private_dir(base: &Path) -> Result<std::path::PathBuf> {
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
pub(super) fn check_companions(path: &Path) -> Result<()> {
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
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = Path::new(&side);
            if let Ok(meta) = std::fs::symlink_metadata(side) {
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
pub(super) fn create_private_file(path: &Path) -> Result<()> {
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
pub(super) fn restrict_files(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
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
