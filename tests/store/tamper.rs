//! Tampering with the store file: changed sealed keys, certificates, requests and columns are
//! reported as `StoreError::Tampered` naming the entry, and a changed sealed key never opens to
//! a different key.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use keymanager::error::StoreError;
use keymanager::{Error, KeyStore};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rusqlite::params;

use crate::common::ca::root_only as ca;
use crate::common::fixtures::{PASSPHRASE as PASS, fast_options as options, key, request};

/// A file store with `www` (installed, bound to 0.0.0.0:443), `api` (installed) and
/// `pending`.
fn setup(dir: &Path) -> KeyStore {
    let store = KeyStore::create_with(dir.join("keys.db"), PASS, &options()).unwrap();
    let mut tx = store.begin().unwrap();
    let www = request(&key(0), "www.example.com");
    let api = request(&key(1), "api.example.com");
    tx.add_pending("www", key(0), &www).unwrap();
    tx.add_pending("api", key(1), &api).unwrap();
    tx.add_pending("pending", key(2), &request(&key(2), "p.example.com"))
        .unwrap();
    for (req, name) in [(&www, "www.example.com"), (&api, "api.example.com")] {
        let cert = ca().sign_server(&req.to_pem(), &[name], &[]);
        tx.install_certificate(cert.as_bytes()).unwrap();
    }
    tx.bind("0.0.0.0:443".parse().unwrap(), "www").unwrap();
    tx.commit().unwrap();
    store
}

fn raw(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("keys.db")).unwrap()
}

fn blob(conn: &rusqlite::Connection, sql: &str, name: &str) -> Vec<u8> {
    conn.query_row(sql, params![name], |r| r.get(0)).unwrap()
}

fn any() -> IpAddr {
    "192.0.2.1".parse().unwrap()
}

fn assert_tampered(result: Result<impl std::fmt::Debug, Error>, entry: &str) {
    match result {
        Err(Error::Store(StoreError::Tampered { entry: e, .. })) => assert_eq!(e, entry),
        other => panic!("expected Tampered naming {entry}, got {other:?}"),
    }
}

#[test]
fn every_flipped_byte_of_a_sealed_key_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let conn = raw(dir.path());
    let sealed = blob(
        &conn,
        "SELECT sealed_key FROM entries WHERE name = ?1",
        "www",
    );
    let write = |b: &[u8]| {
        conn.execute(
            "UPDATE entries SET sealed_key = ?1 WHERE name = 'www'",
            params![b],
        )
        .unwrap();
    };
    // Every byte position, one bit each; a few positions with every bit.
    for i in 0..sealed.len() {
        let bits: &[u8] = if i % 97 == 0 {
            &[1, 2, 4, 8, 16, 32, 64, 128]
        } else {
            &[1 << (i % 8)]
        };
        for bit in bits {
            let mut bad = sealed.clone();
            bad[i] ^= bit;
            write(&bad);
            assert_tampered(store.resolve(None, SocketAddr::new(any(), 443)), "www");
        }
    }
    // Truncated and empty.
    for bad in [&sealed[..sealed.len() - 1], &sealed[..11], &[][..]] {
        write(bad);
        assert_tampered(store.resolve(None, SocketAddr::new(any(), 443)), "www");
    }
    let err = store
        .resolve(None, SocketAddr::new(any(), 443))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`www`") && err.contains("backup"), "{err}");
    write(&sealed);
    let id = store
        .resolve(None, SocketAddr::new(any(), 443))
        .unwrap()
        .unwrap();
    assert_eq!(
        id.private_key().unwrap().fingerprint(),
        key(0).fingerprint()
    );
}

#[test]
fn sealed_keys_swapped_between_entries_do_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let conn = raw(dir.path());
    let www = blob(
        &conn,
        "SELECT sealed_key FROM entries WHERE name = ?1",
        "www",
    );
    let api = blob(
        &conn,
        "SELECT sealed_key FROM entries WHERE name = ?1",
        "api",
    );
    conn.execute(
        "UPDATE entries SET sealed_key = ?1 WHERE name = 'www'",
        params![api],
    )
    .unwrap();
    conn.execute(
        "UPDATE entries SET sealed_key = ?1 WHERE name = 'api'",
        params![www],
    )
    .unwrap();
    assert_tampered(store.resolve(None, SocketAddr::new(any(), 443)), "www");
    let mut tx = store.begin().unwrap();
    tx.bind("192.0.2.9:443".parse().unwrap(), "api").unwrap();
    tx.commit().unwrap();
    assert_tampered(
        store.resolve(None, SocketAddr::new("192.0.2.9".parse().unwrap(), 443)),
        "api",
    );
}

#[test]
fn changed_certificates_requests_and_columns_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let conn = raw(dir.path());
    let flip_chain = |c: &rusqlite::Connection| {
        let der = blob(
            c,
            "SELECT der FROM chain WHERE entry_id = (SELECT id FROM entries WHERE name = ?1)",
            "www",
        );
        let mut bad = der.clone();
        bad[der.len() / 2] ^= 0x10;
        c.execute(
            "UPDATE chain SET der = ?1 WHERE entry_id = (SELECT id FROM entries WHERE name = 'www')",
            params![bad],
        )
        .unwrap();
    };
    let flip_request = |c: &rusqlite::Connection| {
        let der = blob(
            c,
            "SELECT request_der FROM entries WHERE name = ?1",
            "pending",
        );
        let mut bad = der.clone();
        bad[100] ^= 0xff;
        c.execute(
            "UPDATE entries SET request_der = ?1 WHERE name = 'pending'",
            params![bad],
        )
        .unwrap();
    };
    let sql = |statement: &'static str| {
        move |c: &rusqlite::Connection| {
            c.execute_batch(statement).unwrap();
        }
    };
    type Tamper = Box<dyn Fn(&rusqlite::Connection)>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("www", Box::new(flip_chain)),
        ("pending", Box::new(flip_request)),
        (
            "api",
            Box::new(sql(
                "UPDATE entries SET subject = 'CN=evil' WHERE name = 'api'",
            )),
        ),
        (
            "api",
            Box::new(sql(
                "UPDATE entries SET not_after = not_after + 86400 * 365 WHERE name = 'api'",
            )),
        ),
        (
            "pending",
            Box::new(sql(
                "UPDATE entries SET state = 'installed' WHERE name = 'pending'",
            )),
        ),
        (
            "www",
            Box::new(sql(
                "DELETE FROM chain WHERE entry_id = (SELECT id FROM entries WHERE name = 'www')",
            )),
        ),
    ];
    let snapshot = |c: &rusqlite::Connection| {
        c.execute_batch(
            "DROP TABLE IF EXISTS temp.e; DROP TABLE IF EXISTS temp.c; \
             CREATE TEMP TABLE e AS SELECT * FROM main.entries; \
             CREATE TEMP TABLE c AS SELECT * FROM main.chain;",
        )
        .unwrap()
    };
    let restore = |c: &rusqlite::Connection| {
        c.execute_batch(
            "DELETE FROM main.chain; DELETE FROM main.bindings; DELETE FROM main.entries; \
             INSERT INTO main.entries SELECT * FROM temp.e; \
             INSERT INTO main.chain SELECT * FROM temp.c; \
             INSERT INTO main.bindings (endpoint, entry_id) VALUES ('0.0.0.0:443', (SELECT id FROM main.entries WHERE name = 'www'));",
        )
        .unwrap()
    };
    snapshot(&conn);
    for (i, (entry, tamper)) in cases.iter().enumerate() {
        tamper(&conn);
        assert_tampered(store.entries(), entry);
        assert_tampered(store.entry(entry), entry);
        if *entry == "www" {
            assert_tampered(store.resolve(None, SocketAddr::new(any(), 443)), entry);
        }
        restore(&conn);
        assert_eq!(
            store.entries().unwrap().len(),
            3,
            "after restoring case {i}"
        );
    }
    // A certificate replaced by a valid one for another key is caught too.
    let api_cert = blob(
        &conn,
        "SELECT der FROM chain WHERE entry_id = (SELECT id FROM entries WHERE name = ?1)",
        "api",
    );
    conn.execute(
        "UPDATE chain SET der = ?1 WHERE entry_id = (SELECT id FROM entries WHERE name = 'www')",
        params![api_cert],
    )
    .unwrap();
    assert_tampered(store.resolve(None, SocketAddr::new(any(), 443)), "www");
}

#[test]
fn damaged_metadata_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(setup(dir.path()));
    let conn = raw(dir.path());
    // A flipped verifier reads as a wrong passphrase (the two cannot be told apart).
    let verifier = blob(&conn, "SELECT value FROM meta WHERE name = ?1", "verifier");
    let mut bad = verifier.clone();
    bad[20] ^= 1;
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'verifier'",
        params![bad],
    )
    .unwrap();
    assert!(matches!(
        KeyStore::open_with(dir.path().join("keys.db"), PASS, &options()),
        Err(Error::Store(StoreError::WrongPassphrase))
    ));
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'verifier'",
        params![verifier],
    )
    .unwrap();
    // Absurd stored Argon2 costs (4 TB of memory) are refused, not attempted.
    conn.execute(
        "UPDATE meta SET value = 4000000000 WHERE name = 'kdf_memory_kib'",
        [],
    )
    .unwrap();
    let err = KeyStore::open_with(dir.path().join("keys.db"), PASS, &options()).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Corrupt { .. })),
        "{err}"
    );
    conn.execute("DELETE FROM meta WHERE name = 'salt'", [])
        .unwrap();
    let err = KeyStore::open_with(dir.path().join("keys.db"), PASS, &options()).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Corrupt { .. })),
        "{err}"
    );
}

#[test]
fn a_damaged_index_is_refused_at_open() {
    // Found by the store_open fuzz target: a file whose unique index on entry names lacks
    // rows listed no entries while a binding still resolved to one. Kept as it was found.
    let (_dir, path) = crate::common::fixtures::data_store("store-index-corruption.db");
    let err = KeyStore::open_with(&path, "fuzz-password", &options()).unwrap_err();
    assert!(
        matches!(&err, Error::Store(StoreError::Corrupt { reason }) if reason.contains("integrity check")),
        "{err}"
    );

    // The same damage made by hand: an index whose entries no longer match its definition.
    let dir = tempfile::tempdir().unwrap();
    drop(setup(dir.path()));
    let conn = raw(dir.path());
    let schema_version: i64 = conn
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_schema SET sql = 'CREATE INDEX entries_subject ON entries(created_at)'
             WHERE name = 'entries_subject';
         PRAGMA schema_version = {};
         PRAGMA writable_schema = OFF;",
        schema_version + 1
    ))
    .unwrap();
    drop(conn);
    let err = KeyStore::open_with(dir.path().join("keys.db"), PASS, &options()).unwrap_err();
    assert!(
        matches!(&err, Error::Store(StoreError::Corrupt { reason }) if reason.contains("integrity check")),
        "{err}"
    );
}

#[test]
fn a_failed_operation_leaves_the_transaction_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let mut tx = store.begin().unwrap();
    tx.renew_with_rng(&mut ChaCha8Rng::seed_from_u64(1), "www", 2048)
        .unwrap();
    tx.commit().unwrap();
    // Tamper with the renewal: removing the entry it renews must not launder it.
    raw(dir.path())
        .execute(
            "UPDATE entries SET subject = 'CN=evil' WHERE name = 'www (renewal)'",
            [],
        )
        .unwrap();
    let mut tx = store.begin().unwrap();
    tx.bind("192.0.2.50:443".parse().unwrap(), "api").unwrap();
    // Deletes www's bindings, then fails on the renewal: the bindings come back.
    assert_tampered(tx.remove_with_bindings("www"), "www (renewal)");
    let www = tx.entry("www").unwrap();
    assert_eq!(www.bindings(), ["0.0.0.0:443".parse().unwrap()]);
    // What went before the failed operation is still there and commits.
    tx.commit().unwrap();
    assert_eq!(store.entry("api").unwrap().bindings().len(), 1);
    assert_tampered(store.entry("www (renewal)"), "www (renewal)");
}

/// Bindings are covered by their entry's MAC: pointing an endpoint at another entry, or adding
/// a binding row, is detected rather than serving the other entry's key.
#[test]
fn changed_bindings_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let conn = raw(dir.path());
    assert_eq!(
        store
            .resolve(None, SocketAddr::new(any(), 443))
            .unwrap()
            .unwrap()
            .name(),
        "www"
    );

    // Re-point 0.0.0.0:443 from www to api.
    conn.execute(
        "UPDATE bindings SET entry_id = (SELECT id FROM entries WHERE name = 'api') \
         WHERE endpoint = '0.0.0.0:443'",
        [],
    )
    .unwrap();
    assert_tampered(store.resolve(None, SocketAddr::new(any(), 443)), "api");
    assert!(matches!(
        store.entries(),
        Err(Error::Store(StoreError::Tampered { .. }))
    ));
    conn.execute(
        "UPDATE bindings SET entry_id = (SELECT id FROM entries WHERE name = 'www') \
         WHERE endpoint = '0.0.0.0:443'",
        [],
    )
    .unwrap();
    assert_eq!(
        store.entries().unwrap().len(),
        3,
        "restored, it verifies again"
    );

    // A binding added behind the store's back.
    conn.execute(
        "INSERT INTO bindings (endpoint, entry_id) \
         SELECT '0.0.0.0:8443', id FROM entries WHERE name = 'api'",
        [],
    )
    .unwrap();
    assert_tampered(store.resolve(None, SocketAddr::new(any(), 8443)), "api");
    assert_tampered(store.entry("api"), "api");
    // And it cannot be laundered through the store's own operations.
    let mut tx = store.begin().unwrap();
    assert_tampered(tx.unbind("0.0.0.0:8443".parse().unwrap()), "api");
    assert_tampered(tx.bind("0.0.0.0:9443".parse().unwrap(), "api"), "api");
    drop(tx);
    conn.execute("DELETE FROM bindings WHERE endpoint = '0.0.0.0:8443'", [])
        .unwrap();

    // The store's own binds, unbinds and re-keying keep the MACs right.
    let mut tx = store.begin().unwrap();
    tx.bind("0.0.0.0:8443".parse().unwrap(), "api").unwrap();
    tx.unbind("0.0.0.0:443".parse().unwrap()).unwrap();
    tx.commit().unwrap();
    store.change_passphrase(PASS, "another passphrase").unwrap();
    assert_eq!(store.entries().unwrap().len(), 3);
    assert_eq!(
        store
            .resolve(None, SocketAddr::new(any(), 8443))
            .unwrap()
            .unwrap()
            .name(),
        "api"
    );
}

/// Odd values written into the file by hand (out-of-range integers, NULLs, wrong types, bad
/// text, constraint-breaking values) are typed errors on every read path, never a panic nor a
/// silently different answer (a changed MAC already fails the store-level authenticator at
/// open).
#[test]
fn odd_values_in_columns_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    drop(setup(dir.path()));
    let clean = std::fs::read(dir.path().join("keys.db")).unwrap();
    let edits: &[&str] = &[
        "UPDATE entries SET key_bits = -1 WHERE name = 'www'",
        "UPDATE entries SET key_bits = 9223372036854775807 WHERE name = 'www'",
        "UPDATE entries SET not_after = -9223372036854775808 WHERE name = 'www'",
        "UPDATE entries SET not_after = 9223372036854775807 WHERE name = 'www'",
        "UPDATE entries SET created_at = -9223372036854775808 WHERE name = 'www'",
        "UPDATE entries SET not_before = NULL, not_after = NULL WHERE name = 'www'",
        "UPDATE entries SET renewal_of = (SELECT id FROM entries WHERE name = 'api') \
         WHERE name = 'www'",
        "UPDATE entries SET dns_names = '' WHERE name = 'www'",
        "UPDATE entries SET request_der = NULL WHERE name = 'www'",
        "UPDATE entries SET request_der = x'00' WHERE name = 'www'",
        "UPDATE entries SET sealed_key = x'' WHERE name = 'www'",
        "UPDATE entries SET mac = x'' WHERE name = 'www'",
        "UPDATE chain SET der = x'3000' \
         WHERE entry_id = (SELECT id FROM entries WHERE name = 'www')",
        "DELETE FROM chain WHERE entry_id = (SELECT id FROM entries WHERE name = 'www')",
        "UPDATE bindings SET endpoint = 'not an endpoint' WHERE endpoint = '0.0.0.0:443'",
        // Past the CHECK constraints and column types.
        "PRAGMA ignore_check_constraints = ON; \
         UPDATE entries SET state = 'bogus' WHERE name = 'www'",
        "PRAGMA ignore_check_constraints = ON; \
         UPDATE entries SET spki_sha256 = x'0102' WHERE name = 'www'",
        "PRAGMA writable_schema = ON; \
         UPDATE sqlite_schema SET sql = replace(sql, 'key_bits     INTEGER', 'key_bits     ANY') \
         WHERE name = 'entries'; \
         -- reconnect -- \
         UPDATE entries SET key_bits = 'many' WHERE name = 'www'",
        "UPDATE meta SET value = 'x' WHERE name = 'salt'",
        "UPDATE meta SET value = x'0102' WHERE name = 'salt'",
        "UPDATE meta SET value = -1 WHERE name = 'kdf_iterations'",
        "UPDATE meta SET value = 'argon2d' WHERE name = 'kdf'",
    ];
    for (i, edit) in edits.iter().enumerate() {
        let case = dir.path().join(i.to_string());
        std::fs::create_dir(&case).unwrap();
        std::fs::write(case.join("keys.db"), &clean).unwrap();
        // A schema change made through `writable_schema` shows on the next connection.
        for part in edit.split("-- reconnect --") {
            raw(&case).execute_batch(part).unwrap();
        }
        let outcome = std::panic::catch_unwind(|| -> Result<(), Error> {
            let store = KeyStore::open_with(case.join("keys.db"), PASS, &options())?;
            let _ = store.entries()?;
            let identity = store.resolve(None, SocketAddr::new(any(), 443))?;
            let _ = store.export("www", "export password")?;
            // Nothing above may have succeeded with www's row changed.
            Err(keymanager::Error::Store(StoreError::NotFound {
                name: format!("no error at all, identity {identity:?}"),
            }))
        });
        match outcome {
            Err(_) => panic!("edit {i} `{edit}`: panicked"),
            Ok(Err(Error::Store(
                StoreError::Tampered { .. }
                | StoreError::Corrupt { .. }
                | StoreError::StateTampered { .. },
            ))) => {}
            Ok(other) => panic!("edit {i} `{edit}`: expected Tampered or Corrupt, got {other:?}"),
        }
    }
}

/// `change_passphrase` re-seals every key in one transaction: when it fails part-way (here on
/// the last entry, damaged), the keys it had already re-sealed are rolled back with it and the
/// old passphrase still opens everything.
#[test]
fn a_passphrase_change_that_fails_part_way_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let conn = raw(dir.path());
    let last: String = conn
        .query_row(
            "SELECT name FROM entries ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let sealed_before: Vec<Vec<u8>> = conn
        .prepare("SELECT sealed_key FROM entries ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    conn.execute(
        "UPDATE entries SET subject = subject || 'x' WHERE name = ?1",
        params![last],
    )
    .unwrap();
    assert_tampered(store.change_passphrase(PASS, "new passphrase"), &last);
    conn.execute(
        "UPDATE entries SET subject = substr(subject, 1, length(subject) - 1) WHERE name = ?1",
        params![last],
    )
    .unwrap();
    let sealed_after: Vec<Vec<u8>> = conn
        .prepare("SELECT sealed_key FROM entries ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(sealed_before, sealed_after, "no key was re-sealed");
    drop(store);
    assert!(matches!(
        KeyStore::open_with(dir.path().join("keys.db"), "new passphrase", &options()),
        Err(Error::Store(StoreError::WrongPassphrase))
    ));
    let store = KeyStore::open_with(dir.path().join("keys.db"), PASS, &options()).unwrap();
    assert_eq!(store.entries().unwrap().len(), 3);
    let served = store
        .resolve(None, SocketAddr::new(any(), 443))
        .unwrap()
        .unwrap();
    assert_eq!(
        served.private_key().unwrap().fingerprint(),
        key(0).fingerprint()
    );
}

/// Installing a renewal moves the renewed entry's bindings and re-computes MACs: a binding
/// forged onto the renewed entry is caught first, not laundered into the renewal.
#[test]
fn a_forged_binding_is_not_laundered_by_a_renewal() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let mut tx = store.begin().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(310);
    let req = tx.renew_with_rng(&mut rng, "www", 2048).unwrap();
    tx.commit().unwrap();
    raw(dir.path())
        .execute(
            "INSERT INTO bindings (endpoint, entry_id) \
             SELECT '0.0.0.0:8443', id FROM entries WHERE name = 'www'",
            [],
        )
        .unwrap();
    let cert = ca().sign_server(&req.to_pem(), &["www.example.com"], &[]);
    let mut tx = store.begin().unwrap();
    assert_tampered(tx.install_certificate(cert.as_bytes()), "www");
}

/// Issue 13, planted rows: a binding and a certificate planted for the next entry id (as
/// `max(id) + 1` used to be) are neither adopted by the entry created next nor sealed into its
/// MAC; `check` and the next open name the planted binding.
#[test]
fn rows_planted_for_the_next_id_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let conn = raw(dir.path());
    let www_cert = blob(
        &conn,
        "SELECT der FROM chain WHERE entry_id = (SELECT id FROM entries WHERE name = ?1)",
        "www",
    );
    // As the `sqlite3` tool runs (rusqlite's bundled SQLite enforces foreign keys by default).
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute(
        "INSERT INTO bindings (endpoint, entry_id) \
         SELECT '0.0.0.0:8443', max(id) + 1 FROM entries",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO chain (entry_id, position, der) SELECT max(id) + 1, 0, ?1 FROM entries",
        params![www_cert],
    )
    .unwrap();

    // The operator creates `new`: it does not show the planted binding...
    let req = request(&key(3), "new.example.com");
    let mut tx = store.begin().unwrap();
    tx.add_pending("new", key(3), &req).unwrap();
    tx.commit().unwrap();
    assert!(store.entry("new").unwrap().bindings().is_empty());
    // ...nor serve the planted chain once installed.
    let cert = ca().sign_server(&req.to_pem(), &["new.example.com"], &[]);
    let mut tx = store.begin().unwrap();
    tx.install_certificate(cert.as_bytes()).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        store.entry("new").unwrap().state(),
        keymanager::EntryState::Installed
    );
    let served = store.export("new", "export password").unwrap();
    assert_eq!(served.chain_pem().matches("BEGIN CERTIFICATE").count(), 1);

    // check() and the next open name the planted binding.
    let corrupt_naming = |result: Result<_, Error>| match result {
        Err(Error::Store(StoreError::Corrupt { reason })) => {
            assert!(reason.contains("`0.0.0.0:8443`"), "{reason}")
        }
        other => panic!("expected Corrupt naming the binding, got {other:?}"),
    };
    corrupt_naming(store.check(&keymanager::HealthOptions::new()).map(|_| ()));
    drop(store);
    corrupt_naming(KeyStore::open_with(dir.path().join("keys.db"), PASS, &options()).map(|_| ()));
}

/// Issue 13, planted rows for an existing pending entry: install checks the chain rows stored
/// for the entry (none) instead of an empty chain, so a certificate or binding planted for it
/// is refused, naming it, rather than sealed into its new MAC and served.
#[test]
fn rows_planted_for_a_pending_entry_are_not_sealed_by_install() {
    for planted in [
        "INSERT INTO chain (entry_id, position, der) \
         SELECT id, 5, x'3082' FROM entries WHERE name = 'new'",
        "INSERT INTO bindings (endpoint, entry_id) \
         SELECT 'evil.example.com:443', id FROM entries WHERE name = 'new'",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = setup(dir.path());
        let req = request(&key(3), "new.example.com");
        let mut tx = store.begin().unwrap();
        tx.add_pending("new", key(3), &req).unwrap();
        tx.commit().unwrap();
        raw(dir.path()).execute(planted, []).unwrap();
        let cert = ca().sign_server(&req.to_pem(), &["new.example.com"], &[]);
        let mut tx = store.begin().unwrap();
        assert_tampered(tx.install_certificate(cert.as_bytes()), "new");
    }
}

/// Issue 13: a stored Argon2 cost above the caller's maximum (by default 1 GiB and 10 passes)
/// is refused before anything is derived, with a message naming the values; the same holds
/// for a cost a new store would be made with.
#[test]
fn a_huge_stored_argon2_cost_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    drop(setup(dir.path()));
    let conn = raw(dir.path());
    let path = dir.path().join("keys.db");
    let refused = |result: Result<KeyStore, Error>, memory: u32, passes: u32| {
        let e = result.unwrap_err();
        let message = e.to_string();
        match e {
            Error::Store(StoreError::KdfCostTooHigh {
                memory_kib,
                iterations,
                ..
            }) => assert_eq!((memory_kib, iterations), (memory, passes)),
            other => panic!("expected KdfCostTooHigh, got {other:?}"),
        }
        assert!(
            message.contains(&format!("{memory} KiB, {passes} passes"))
                && message.contains("max_kdf"),
            "{message}"
        );
    };
    // 4 GiB, within what the format allows: above the default maximum of 1 GiB.
    conn.execute(
        "UPDATE meta SET value = 4194304 WHERE name = 'kdf_memory_kib'",
        [],
    )
    .unwrap();
    refused(KeyStore::open_with(&path, PASS, &options()), 4_194_304, 1);
    // 11 passes: above the default 10.
    conn.execute_batch(
        "UPDATE meta SET value = 64 WHERE name = 'kdf_memory_kib'; \
         UPDATE meta SET value = 11 WHERE name = 'kdf_iterations';",
    )
    .unwrap();
    refused(KeyStore::open_with(&path, PASS, &options()), 64, 11);
    // A caller's own, lower maximum.
    conn.execute(
        "UPDATE meta SET value = 1 WHERE name = 'kdf_iterations'",
        [],
    )
    .unwrap();
    let strict = options().max_kdf(keymanager::KdfParams::new(32, 1, 1).unwrap());
    refused(KeyStore::open_with(&path, PASS, &strict), 64, 1);
    assert!(KeyStore::open_with(&path, PASS, &options()).is_ok());
    // A new store is not made with a cost its own options would refuse.
    let too_costly = options().kdf(keymanager::KdfParams::new(64, 20, 1).unwrap());
    let new = dir.path().join("new.db");
    refused(KeyStore::create_with(&new, PASS, &too_costly), 64, 20);
    assert!(!new.exists(), "refused before the file is made");
}

/// Issue 13: a `-wal` or `-shm` file that someone else made ahead of the store (SQLite opens
/// them without `O_EXCL`) is refused before the store writes anything into it: a symbolic
/// link to a file elsewhere, or (as root, which CI is) a file owned by another user.
#[test]
#[cfg(unix)]
fn companion_files_planted_by_another_user_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let capture = dir.path().join("captured");
    std::fs::write(&capture, b"").unwrap();
    let wal = dir.path().join("keys.db-wal");
    std::os::unix::fs::symlink(&capture, &wal).unwrap();
    let refused = |result: Result<KeyStore, Error>, file: &Path, why: &str| match result {
        Err(Error::Store(StoreError::Io { path, reason })) => {
            assert_eq!(Path::new(&path), file);
            assert!(reason.contains(why), "{reason}");
        }
        other => panic!(
            "expected the planted {} refused, got {other:?}",
            file.display()
        ),
    };
    refused(
        KeyStore::create_with(&path, PASS, &options()),
        &wal,
        "not a regular file",
    );
    assert_eq!(
        std::fs::read(&capture).unwrap(),
        b"",
        "nothing was written to it"
    );
    std::fs::remove_file(&wal).unwrap();

    let shm = dir.path().join("keys.db-shm");
    std::fs::write(&shm, b"").unwrap();
    match std::os::unix::fs::chown(&shm, Some(65534), Some(65534)) {
        Ok(()) => {
            refused(
                KeyStore::create_with(&path, PASS, &options()),
                &shm,
                "user 65534",
            );
            assert_eq!(
                std::fs::read(&shm).unwrap(),
                b"",
                "nothing was written to it"
            );
        }
        // Not root: only the symbolic-link case above can be made.
        Err(e) => eprintln!("skipping the other-owner case: {e}"),
    }
    std::fs::remove_file(&shm).unwrap();
    assert!(KeyStore::create_with(&path, PASS, &options()).is_ok());
}
