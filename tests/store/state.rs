//! The store-level authenticator (issue 13): an entry replayed, deleted or brought back behind
//! the store's back fails `open`, `check` and `snapshot` as `StateTampered`, though each row's
//! own MAC still verifies; a whole older file is refused by a handle that has seen a newer
//! generation, and at open with `min_generation`; a store from before the authenticator
//! migrates forward (its DNS names re-encoded as a structured list), and one made to look older
//! is refused.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use keymanager::error::StoreError;
use keymanager::{Error, HealthOptions, KeyStore};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rusqlite::params;

use crate::common::ca::root_only as ca;
use crate::common::fixtures::{
    PASSPHRASE as PASS, data_store, fast_options as options, key, request, schema_version,
};
use crate::common::rollback::{copy_of, roll_back};

/// `dir/keys.db` with `www` (installed, bound to 0.0.0.0:443) and `api` (installed).
fn setup(dir: &Path) -> (KeyStore, PathBuf) {
    let path = dir.join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    let mut tx = store.begin().unwrap();
    for (i, name) in [(0, "www"), (1, "api")] {
        let req = request(&key(i), &format!("{name}.example.com"));
        tx.add_pending(name, key(i), &req).unwrap();
        let cert = ca().sign_server(&req.to_pem(), &[&format!("{name}.example.com")], &[]);
        tx.install_certificate(cert.as_bytes()).unwrap();
    }
    tx.bind("0.0.0.0:443".parse().unwrap(), "www").unwrap();
    tx.commit().unwrap();
    (store, path)
}

fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn
}

/// Keeps a copy of entry `name`'s row and chain, as they are now, in the temporary tables
/// `old_entry` and `old_chain` of `conn`, to put back later.
fn keep_old_copy(conn: &rusqlite::Connection, name: &str) {
    conn.execute(
        "CREATE TEMP TABLE old_entry AS SELECT * FROM main.entries WHERE name = ?1",
        [name],
    )
    .unwrap();
    conn.execute_batch(
        "CREATE TEMP TABLE old_chain AS SELECT * FROM main.chain \
             WHERE entry_id = (SELECT id FROM old_entry);",
    )
    .unwrap();
}

fn any() -> IpAddr {
    "192.0.2.1".parse().unwrap()
}

fn assert_state_tampered<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::Store(StoreError::StateTampered { what, .. })) => {
            assert!(what.contains("set of entries"), "{what}")
        }
        other => panic!("expected StateTampered, got {other:?}"),
    }
}

/// Every whole-state check fails on the store as it is now: `check`, `snapshot`, a watcher's
/// snapshot, and opening it again.
fn assert_every_check_fails(store: &KeyStore, path: &Path) {
    assert_state_tampered(store.check(&HealthOptions::new()));
    assert_state_tampered(store.snapshot());
    assert_state_tampered(store.watcher().unwrap().snapshot());
    assert_state_tampered(KeyStore::open_with(path, PASS, &options()));
}

#[test]
fn a_row_and_mac_replayed_after_unbind_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = setup(dir.path());
    let conn = raw(&path);
    let (id, mac): (i64, Vec<u8>) = conn
        .query_row("SELECT id, mac FROM entries WHERE name = 'www'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let mut tx = store.begin().unwrap();
    tx.unbind("0.0.0.0:443".parse().unwrap()).unwrap();
    tx.commit().unwrap();
    // The old MAC with the old binding: the row verifies on its own...
    conn.execute(
        "UPDATE entries SET mac = ?1 WHERE id = ?2",
        params![mac, id],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO bindings (endpoint, entry_id) VALUES ('0.0.0.0:443', ?1)",
        params![id],
    )
    .unwrap();
    assert_eq!(store.entry("www").unwrap().bindings().len(), 1);
    // ...but not the set of entries.
    assert_every_check_fails(&store, &path);
}

#[test]
fn a_deleted_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = setup(dir.path());
    raw(&path)
        .execute_batch(
            "DELETE FROM chain WHERE entry_id = (SELECT id FROM entries WHERE name = 'api'); \
             DELETE FROM entries WHERE name = 'api';",
        )
        .unwrap();
    // It left no row to name.
    match store.check(&HealthOptions::new()) {
        Err(Error::Store(StoreError::StateTampered { entry: None, what })) => {
            assert!(what.contains("deleted"), "{what}")
        }
        other => panic!("expected StateTampered naming no entry, got {other:?}"),
    }
    assert_every_check_fails(&store, &path);
}

#[test]
fn a_renewed_entry_brought_back_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = setup(dir.path());
    let conn = raw(&path);
    keep_old_copy(&conn, "www");
    let mut tx = store.begin().unwrap();
    let req = tx
        .renew_with_rng(&mut ChaCha8Rng::seed_from_u64(13), "www", 2048)
        .unwrap();
    let cert = ca().sign_server(&req.to_pem(), &["www.example.com"], &[]);
    tx.install_certificate(cert.as_bytes()).unwrap();
    tx.commit().unwrap();
    let renewed = store
        .resolve(None, SocketAddr::new(any(), 443))
        .unwrap()
        .unwrap();
    assert_ne!(
        renewed.private_key().unwrap().fingerprint(),
        key(0).fingerprint()
    );

    // The old key and certificate back in place of the renewal.
    conn.execute_batch(
        "DELETE FROM bindings WHERE entry_id = (SELECT id FROM entries WHERE name = 'www'); \
         DELETE FROM chain WHERE entry_id = (SELECT id FROM entries WHERE name = 'www'); \
         DELETE FROM entries WHERE name = 'www'; \
         INSERT INTO main.entries SELECT * FROM old_entry; \
         INSERT INTO main.chain SELECT * FROM old_chain; \
         INSERT INTO bindings (endpoint, entry_id) SELECT '0.0.0.0:443', id FROM old_entry;",
    )
    .unwrap();
    // Its own MAC verifies: a plain resolve serves it (the per-entry check cannot tell)...
    let served = store
        .resolve(None, SocketAddr::new(any(), 443))
        .unwrap()
        .unwrap();
    assert_eq!(
        served.private_key().unwrap().fingerprint(),
        key(0).fingerprint()
    );
    // ...the whole-state checks refuse it.
    assert_every_check_fails(&store, &path);
}

/// Issue 13, "name the entry at fault": an entry removed, then brought back beside the others
/// (its old row, MAC and chain), is named by every whole-state check: its token is exactly
/// what the set gained.
#[test]
fn an_entry_brought_back_after_removal_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = setup(dir.path());
    let conn = raw(&path);
    keep_old_copy(&conn, "api");
    let mut tx = store.begin().unwrap();
    tx.remove("api").unwrap();
    tx.commit().unwrap();
    conn.execute_batch(
        "INSERT INTO main.entries SELECT * FROM old_entry; \
         INSERT INTO main.chain SELECT * FROM old_chain;",
    )
    .unwrap();
    let named = |result: Result<_, Error>| match result {
        Err(e @ Error::Store(StoreError::StateTampered { entry: Some(_), .. })) => {
            assert!(e.to_string().contains("at entry `api`"), "{e}");
            match e {
                Error::Store(StoreError::StateTampered { entry, what }) => {
                    assert_eq!(entry.as_deref(), Some("api"));
                    assert!(what.contains("brought back"), "{what}");
                }
                _ => unreachable!(),
            }
        }
        other => panic!("expected StateTampered naming `api`, got {other:?}"),
    };
    named(store.check(&HealthOptions::new()).map(|_| ()));
    named(store.snapshot().map(|_| ()));
    named(KeyStore::open_with(&path, PASS, &options()).map(|_| ()));
}

/// An entry whose row fails its own MAC (here: another entry's MAC copied onto it, which
/// also breaks the set) is named by the whole-state check as `Tampered`, not reported as an
/// anonymous change of the set.
#[test]
fn a_row_failing_its_own_mac_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = setup(dir.path());
    let conn = raw(&path);
    conn.execute_batch(
        "UPDATE entries SET mac = (SELECT mac FROM entries WHERE name = 'api') \
         WHERE name = 'www';",
    )
    .unwrap();
    match store.check(&HealthOptions::new()) {
        Err(Error::Store(StoreError::Tampered { entry, .. })) => assert_eq!(entry, "www"),
        other => panic!("expected Tampered naming `www`, got {other:?}"),
    }
}

/// The store's generation: bumped by every commit that changes something, not by an empty
/// one, nor by a failed operation rolled back; kept across reopening.
#[test]
fn every_changing_commit_bumps_the_generation() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = setup(dir.path());
    let g0 = store.generation().unwrap();
    store.begin().unwrap().commit().unwrap();
    assert_eq!(store.generation().unwrap(), g0);
    let mut tx = store.begin().unwrap();
    assert!(tx.remove("www").is_err(), "still bound");
    tx.commit().unwrap();
    assert_eq!(store.generation().unwrap(), g0);
    let mut tx = store.begin().unwrap();
    tx.bind("0.0.0.0:8443".parse().unwrap(), "api").unwrap();
    tx.unbind("0.0.0.0:8443".parse().unwrap()).unwrap();
    tx.bind("0.0.0.0:9443".parse().unwrap(), "api").unwrap();
    tx.commit().unwrap();
    assert_eq!(store.generation().unwrap(), g0 + 1);
    store.change_passphrase(PASS, "another passphrase").unwrap();
    assert_eq!(store.generation().unwrap(), g0 + 2);
    drop(store);
    let store = KeyStore::open_with(&path, "another passphrase", &options()).unwrap();
    assert_eq!(store.generation().unwrap(), g0 + 2);
    assert!(store.check(&HealthOptions::new()).is_ok());
}

/// A whole older copy of the file put back while a watcher (in another handle, as a server
/// process has) runs: the watcher refuses it, as does the writer's handle; a fresh handle
/// cannot tell on its own, unless told the generation with `min_generation`.
#[test]
fn a_whole_file_rollback_while_a_watcher_runs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = setup(dir.path());
    let reader = KeyStore::open_with(&path, PASS, &options()).unwrap();
    let mut watcher = reader.watcher().unwrap();
    let first = watcher.snapshot().unwrap();
    assert_eq!(first.len(), 1);
    let old = copy_of(&path, "old.db");
    let old_generation = store.generation().unwrap();

    let mut tx = store.begin().unwrap();
    tx.bind("0.0.0.0:8443".parse().unwrap(), "api").unwrap();
    tx.commit().unwrap();
    let newer = store.generation().unwrap();
    assert!(watcher.changed().unwrap());
    assert_eq!(watcher.snapshot().unwrap().len(), 2);

    roll_back(&path, &old);
    assert!(watcher.changed().unwrap());
    let rolled_back = |result: Result<_, Error>| match result {
        Err(Error::Store(StoreError::RolledBack { seen, found })) => {
            assert_eq!((seen, found), (newer, old_generation));
        }
        other => panic!("expected RolledBack, got {other:?}"),
    };
    rolled_back(watcher.snapshot().map(|_| ()));
    rolled_back(reader.snapshot().map(|_| ()));
    rolled_back(store.check(&HealthOptions::new()).map(|_| ()));
    rolled_back(store.begin().map(|_| ()));
    rolled_back(store.generation().map(|_| ()));
    // What no single file proves: a handle that never saw the newer state opens it...
    let fresh = KeyStore::open_with(&path, PASS, &options()).unwrap();
    assert_eq!(fresh.generation().unwrap(), old_generation);
    // ...unless the operator kept the generation.
    rolled_back(KeyStore::open_with(&path, PASS, &options().min_generation(newer)).map(|_| ()));
    assert!(KeyStore::open_with(&path, PASS, &options().min_generation(old_generation)).is_ok());
}

/// A store written before the authenticator (schema version 1, the fuzz seed: `www`
/// installed and bound, `mail` pending) migrates forward on open, keeps its entries, and
/// starts at generation 0; made to look old again (its authenticator dropped, its version
/// lowered, to have a changed set adopted afresh), it is refused.
#[test]
fn a_store_from_before_the_authenticator_migrates_and_cannot_be_downgraded() {
    let (_dir, path) = data_store("store-v1.db");
    let version = schema_version;
    assert_eq!(version(&path), 1);
    let store = KeyStore::open_with(&path, "fuzz-password", &options()).unwrap();
    assert!(version(&path) >= 2);
    assert_eq!(store.generation().unwrap(), 0);
    let names: Vec<String> = store
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    assert_eq!(names, ["mail", "www"]);
    // Every entry of a store from before ECDSA keys is RSA, its bindings RSA's (version 4; version 5 adds the change log).
    assert_eq!(version(&path), 5);
    assert_eq!(
        store.entry("www").unwrap().key_type(),
        keymanager::KeyType::Rsa { bits: 2048 }
    );
    assert_eq!(
        store.entry("www").unwrap().dns_names(),
        ["www.example.com", "example.com"]
    );
    // Names re-encoded as a structured list (each after a newline), MAC'd again.
    let text: String = raw(&path)
        .query_row(
            "SELECT dns_names FROM entries WHERE name = 'www'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(text, "\nwww.example.com\nexample.com");
    assert_eq!(store.snapshot().unwrap().len(), 2);
    let mut tx = store.begin().unwrap();
    tx.remove("mail").unwrap();
    tx.commit().unwrap();
    assert_eq!(store.generation().unwrap(), 1);
    drop(store);

    // Downgraded: the removed entry back, the authenticator gone, version 1 again.
    let old = rusqlite::Connection::open(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store-v1.db"),
    )
    .unwrap();
    let mail: Vec<rusqlite::types::Value> = old
        .query_row("SELECT * FROM entries WHERE name = 'mail'", [], |r| {
            (0..15).map(|i| r.get(i)).collect()
        })
        .unwrap();
    let conn = raw(&path);
    conn.execute(
        "INSERT INTO entries (id, name, state, spki_sha256, key_bits, sealed_key, subject, \
         dns_names, request_der, created_at, installed_at, not_before, not_after, renewal_of, mac) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        rusqlite::params_from_iter(mail),
    )
    .unwrap();
    conn.execute_batch("DROP TABLE state; PRAGMA user_version = 1;")
        .unwrap();
    drop(conn);
    match KeyStore::open_with(&path, "fuzz-password", &options()) {
        Err(Error::Store(StoreError::StateTampered { what, .. })) => {
            assert!(what.contains("downgraded"), "{what}")
        }
        other => panic!("expected StateTampered (downgraded), got {other:?}"),
    }
}
