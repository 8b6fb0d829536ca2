//! Whole-file rollback, as an attacker with write access to the store does it: keep a copy of
//! the file, later put its content back. Done through SQLite (so that running readers see it
//! as a commit, as they would see the file replaced between two of their reads), with foreign
//! keys off, as the `sqlite3` tool runs.

use std::path::{Path, PathBuf};

/// The tables of a store file, parents first.
const TABLES: [&str; 5] = ["meta", "state", "entries", "chain", "bindings"];

/// A copy of the store file at `path`, as it is now, beside it.
pub fn copy_of(path: &Path, name: &str) -> PathBuf {
    let copy = path.with_file_name(name);
    rusqlite::Connection::open(path)
        .unwrap()
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    copy
}

/// Puts the content of `copy` back into the store file at `path`, in one transaction.
pub fn roll_back(path: &Path, copy: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute("ATTACH ?1 AS old", [copy.to_str().unwrap()])
        .unwrap();
    let mut sql = String::from("BEGIN IMMEDIATE;");
    for table in TABLES.iter().rev() {
        sql.push_str(&format!("DELETE FROM main.{table};"));
    }
    for table in TABLES {
        sql.push_str(&format!(
            "INSERT INTO main.{table} SELECT * FROM old.{table};"
        ));
    }
    sql.push_str("COMMIT;");
    conn.execute_batch(&sql).unwrap();
}
