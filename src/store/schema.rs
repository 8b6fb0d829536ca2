//! The database schema, its migrations, and how connections are set up.
//!
//! The schema version is SQLite's `PRAGMA user_version`; [`MIGRATIONS`]`[i]` takes a file
//! from version `i` to `i + 1`. All pending steps run in one `BEGIN IMMEDIATE` transaction,
//! so a crash mid-migration leaves the file at its old version. A file whose version is newer
//! than [`MIGRATIONS`]`.len()` is refused without being written to.
//!
//! `PRAGMA application_id` marks the file as a key store so that another SQLite database is
//! not mistaken for one.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError};

/// `KMG1` in ASCII: the `application_id` of a key store file.
pub(super) const APPLICATION_ID: i64 = 0x4B4D_4731;

/// Migration steps; `MIGRATIONS[i]` goes from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[V1, super::acme::V2_ACME, V3, V4, V5_CHANGES];

/// The version whose step ([`V3`]) adds the store-level authenticator: a file migrated from
/// before it gets its record written (and its passphrase verifier re-labelled) by the store,
/// which holds the keys. Renumber with the step.
pub(super) const STATE_VERSION: i64 = 3;

/// The schema version this library writes.
pub(super) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: entries, their certificate chains, bindings, and the metadata (KDF parameters,
/// salt, passphrase verifier).
const V1: &str = "
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value ANY NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE entries (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'installed')),
    spki_sha256  BLOB    NOT NULL CHECK (length(spki_sha256) = 32),
    key_bits     INTEGER NOT NULL,
    sealed_key   BLOB    NOT NULL,
    subject      TEXT    NOT NULL,
    dns_names    TEXT    NOT NULL,
    request_der  BLOB,
    created_at   INTEGER NOT NULL,
    installed_at INTEGER,
    not_before   INTEGER,
    not_after    INTEGER,
    renewal_of   INTEGER REFERENCES entries(id) ON DELETE SET NULL,
    mac          BLOB    NOT NULL
) STRICT;
CREATE UNIQUE INDEX entries_spki_sha256 ON entries(spki_sha256);
CREATE INDEX entries_subject ON entries(subject);
CREATE INDEX entries_not_after ON entries(not_after) WHERE state = 'installed';
CREATE INDEX entries_created_at ON entries(created_at) WHERE state = 'pending';
CREATE UNIQUE INDEX entries_renewal_of ON entries(renewal_of) WHERE renewal_of IS NOT NULL;

CREATE TABLE chain (
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    der      BLOB    NOT NULL,
    PRIMARY KEY (entry_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE bindings (
    endpoint TEXT    PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE RESTRICT
) STRICT, WITHOUT ROWID;
CREATE INDEX bindings_entry_id ON bindings(entry_id);
";

/// Version 3: the store-level authenticator (see `state.rs`): one row holding the generation,
/// the digest of the set of entries, and their MAC.
const V3: &str = "
CREATE TABLE state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL CHECK (generation >= 0),
    digest     BLOB    NOT NULL CHECK (length(digest) = 32),
    mac        BLOB    NOT NULL
) STRICT;
";

/// Version 4: ECDSA keys and dual bindings. An entry records its key type (every earlier
/// entry is RSA); a binding records the algorithm of its entry's key, and an endpoint holds
/// at most one entry per algorithm (an ECDSA and an RSA certificate for the same site, chosen
/// per handshake). Every existing binding is RSA's.
const V4: &str = "
ALTER TABLE entries ADD COLUMN key_type TEXT NOT NULL DEFAULT 'rsa'
    CHECK (key_type IN ('rsa', 'ecdsa-p256', 'ecdsa-p384'));

CREATE TABLE bindings_v4 (
    endpoint  TEXT    NOT NULL,
    entry_id  INTEGER NOT NULL REFERENCES entries(id) ON DELETE RESTRICT,
    algorithm TEXT    NOT NULL DEFAULT 'rsa' CHECK (algorithm IN ('rsa', 'ecdsa')),
    PRIMARY KEY (endpoint, algorithm)
) STRICT, WITHOUT ROWID;
INSERT INTO bindings_v4 (endpoint, entry_id, algorithm)
    SELECT endpoint, entry_id, 'rsa' FROM bindings;
DROP TABLE bindings;
ALTER TABLE bindings_v4 RENAME TO bindings;
CREATE INDEX bindings_entry_id ON bindings(entry_id);
";

/// Version 5: the change log (issue 17): which entries each generation changed, written in
/// the same transaction as the change, so that a [`Watcher`](super::Watcher) re-reads only
/// those (see `snapshot/refresh.rs`). The `meta` row
/// `changes_since` is the generation from which the log is complete (older rows are pruned);
/// a file migrated here starts its log at its current generation.
const V5_CHANGES: &str = "
CREATE TABLE changes (
    generation INTEGER NOT NULL,
    entry_id   INTEGER NOT NULL,
    PRIMARY KEY (generation, entry_id)
) STRICT, WITHOUT ROWID;
INSERT OR REPLACE INTO meta (name, value)
    VALUES ('changes_since', COALESCE((SELECT generation FROM state WHERE id = 1), 0));
";

/// Opens a connection with the store's settings: foreign keys on, `synchronous = FULL`
/// (every acknowledged commit is on disk before `COMMIT` returns), the busy timeout.
///
/// The file must exist: the store creates it with mode 0600 first, so that SQLite never
/// creates it with the process umask.
pub(super) fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    conn.busy_timeout(busy_timeout)
        .map_err(db("setting the busy timeout"))?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA trusted_schema = OFF;",
    )
    .map_err(db("configuring the connection"))?;
    Ok(conn)
}

/// Switches a file to write-ahead logging (persistent: done once per open).
pub(super) fn enable_wal(conn: &Connection) -> Result<()> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(db("enabling write-ahead logging"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database {
            during: "enabling write-ahead logging",
            reason: format!(
                "the journal mode stayed `{mode}`; the file system may not support WAL"
            ),
        }
        .into());
    }
    Ok(())
}

/// The file's schema version, after checking it is a key store this library can read.
pub(super) fn version(conn: &Connection) -> Result<i64> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db("reading the schema version"))?;
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(db("reading the application id"))?;
    if app != 0 && app != APPLICATION_ID {
        return Err(StoreError::Corrupt {
            reason: format!("the file is an SQLite database of another application (id {app:#x})"),
        }
        .into());
    }
    // A key store holds tables and indexes only. A view or trigger in a file from elsewhere
    // runs its own SQL inside our queries: a recursive view named `meta` hangs `open`.
    let active: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type IN ('view', 'trigger')",
            [],
            |r| r.get(0),
        )
        .map_err(db("reading the schema"))?;
    if active != 0 {
        return Err(StoreError::Corrupt {
            reason: "the file holds SQL views or triggers, which a key store never has: it \
                     was altered or is not a key store"
                .into(),
        }
        .into());
    }
    if version > CURRENT_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: CURRENT_VERSION,
        }
        .into());
    }
    if version > 0 {
        // Damage SQLite does not notice on its own: an index that lacks rows makes a listing
        // miss entries a lookup by id still finds. Reading the whole file once is cheap next
        // to the passphrase's key derivation (milliseconds at thousands of entries).
        let check: String = conn
            .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
            .map_err(db("checking the file's integrity"))?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                reason: format!(
                    "SQLite's integrity check failed ({}): the file is damaged; restore it \
                     from a backup",
                    check.trim()
                ),
            }
            .into());
        }
    }
    if version == 0 {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(db("reading the schema"))?;
        if tables != 0 {
            return Err(StoreError::Corrupt {
                reason: "the file is an SQLite database but not a key store".into(),
            }
            .into());
        }
    }
    Ok(version)
}

/// Applies the migrations from `from` to [`CURRENT_VERSION`]; the caller holds a write
/// transaction.
pub(super) fn migrate(conn: &Connection, from: i64) -> Result<()> {
    migrate_with(conn, from, MIGRATIONS)
}

fn migrate_with(conn: &Connection, from: i64, steps: &[&str]) -> Result<()> {
    let start = usize::try_from(from).unwrap_or(usize::MAX);
    for step in steps.iter().skip(start) {
        conn.execute_batch(step)
            .map_err(db("upgrading the schema"))?;
    }
    conn.execute_batch(&format!(
        "PRAGMA user_version = {}; PRAGMA application_id = {APPLICATION_ID};",
        steps.len()
    ))
    .map_err(db("upgrading the schema"))?;
    Ok(())
}

/// Maps a database error to ours; `SQLITE_BUSY`/`SQLITE_LOCKED` become [`StoreError::Busy`]
/// (the caller fills in the wait), a full disk [`StoreError::DiskFull`], a read-only file or
/// file system [`StoreError::ReadOnly`], a stored value of the wrong type or range
/// [`StoreError::Corrupt`], anything else [`StoreError::Database`].
pub(super) fn db(during: &'static str) -> impl Fn(rusqlite::Error) -> crate::Error {
    move |e| {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        {
            return StoreError::Busy { waited_ms: 0 }.into();
        }
        if let Some(fault) = storage_fault(&e, during) {
            return fault;
        }
        // A value that does not read as its column's type: the file was edited or damaged.
        if matches!(
            e,
            rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
        ) {
            return StoreError::Corrupt {
                reason: format!("while {during}, a stored value is not what it should be ({e})"),
            }
            .into();
        }
        StoreError::Database {
            during,
            reason: e.to_string(),
        }
        .into()
    }
}

/// A full disk or a read-only file or file system, from SQLite's result code (`SQLITE_FULL`,
/// `SQLITE_READONLY` and its extended codes). A write that the OS refused with `EROFS`
/// SQLite reports as a plain I/O error: a failed commit is diagnosed by
/// `transaction::diagnose`.
fn storage_fault(e: &rusqlite::Error, during: &'static str) -> Option<crate::Error> {
    let rusqlite::Error::SqliteFailure(f, _) = e else {
        return None;
    };
    match f.code {
        rusqlite::ErrorCode::DiskFull => Some(StoreError::DiskFull { during }.into()),
        rusqlite::ErrorCode::ReadOnly => Some(StoreError::ReadOnly { during }.into()),
        _ => None,
    }
}

/// The error for an OS-level failure on the store's file at `path`: a full disk or a
/// read-only file system gets its own variant (it says what to do), anything else is
/// [`StoreError::Io`].
pub(super) fn io_error(path: &Path, during: &'static str, e: &std::io::Error) -> crate::Error {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            StoreError::DiskFull { during }.into()
        }
        std::io::ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly { during }.into(),
        _ => StoreError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    fn in_transaction(conn: &Connection, f: impl FnOnce() -> Result<()>) -> Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let r = f();
        conn.execute_batch(if r.is_ok() { "COMMIT" } else { "ROLLBACK" })
            .unwrap();
        r
    }

    #[test]
    fn the_state_version_names_the_step_that_adds_the_state_table() {
        let step = usize::try_from(STATE_VERSION - 1).unwrap();
        assert!(MIGRATIONS[step].contains("CREATE TABLE state"));
    }

    #[test]
    fn migrates_a_new_file_to_the_current_version() {
        let conn = Connection::open_in_memory().unwrap();
        assert_eq!(version(&conn).unwrap(), 0);
        in_transaction(&conn, || migrate(&conn, 0)).unwrap();
        assert_eq!(version(&conn).unwrap(), CURRENT_VERSION);
        let app: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
        let index: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'entries_spki_sha256'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(index.contains("UNIQUE"), "{index}");
    }

    #[test]
    fn steps_apply_in_order_from_the_file_version_and_all_or_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        let steps = [
            "CREATE TABLE a (x);",
            "CREATE TABLE b (x);",
            "CREATE TABLE c (x);",
        ];
        in_transaction(&conn, || migrate_with(&conn, 0, &steps[..1])).unwrap();
        assert_eq!(user_version(&conn), 1);
        in_transaction(&conn, || migrate_with(&conn, 1, &steps)).unwrap();
        assert_eq!(user_version(&conn), 3);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 3);

        let failing = [
            steps[0],
            steps[1],
            steps[2],
            "CREATE TABLE d (x);",
            "NOT SQL",
        ];
        assert!(in_transaction(&conn, || migrate_with(&conn, 3, &failing)).is_err());
        assert_eq!(
            user_version(&conn),
            3,
            "a failed step leaves the old version"
        );
        let d: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'd'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(d, 0, "and none of its steps");
    }

    /// What the durability promise rests on, and what a SIGKILL test cannot see (the page
    /// cache survives a killed process, not a power loss): every connection commits with
    /// `synchronous = FULL`, in WAL mode, with foreign keys enforced.
    #[test]
    fn connections_are_durable_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        std::fs::write(&path, b"").unwrap();
        let conn = connect(&path, Duration::from_millis(10)).unwrap();
        enable_wal(&conn).unwrap();
        let pragma = |name: &str| -> i64 {
            conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(pragma("synchronous"), 2, "FULL");
        assert_eq!(pragma("foreign_keys"), 1);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn refuses_newer_and_foreign_files() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", CURRENT_VERSION + 1))
            .unwrap();
        assert!(matches!(
            version(&conn),
            Err(crate::Error::Store(StoreError::SchemaTooNew { .. }))
        ));
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA application_id = 42").unwrap();
        assert!(matches!(
            version(&conn),
            Err(crate::Error::Store(StoreError::Corrupt { .. }))
        ));
    }

    /// Regression (found writing the `store_open` fuzz target): a file whose `meta` is an
    /// endless recursive view made `KeyStore::open` hang in the first metadata query.
    #[test]
    fn refuses_files_with_views_or_triggers_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE VIEW meta(name, value) AS WITH RECURSIVE c(x) AS \
             (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT 'kdf', x FROM c WHERE x < 0; \
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(conn);
        let started = std::time::Instant::now();
        let result = crate::KeyStore::open(&path, "passphrase");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert!(
            matches!(result, Err(crate::Error::Store(StoreError::Corrupt { .. }))),
            "{result:?}"
        );

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (x); CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN SELECT 1; END;",
        )
        .unwrap();
        assert!(matches!(
            version(&conn),
            Err(crate::Error::Store(StoreError::Corrupt { .. }))
        ));
    }
}
