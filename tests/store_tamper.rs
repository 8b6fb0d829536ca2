//! Tampering with the store file: changed sealed keys, certificates, requests and columns are
//! reported as `StoreError::Tampered` naming the entry, and a changed sealed key never opens to
//! a different key.

#[path = "common/openssl_ca.rs"]
mod openssl_ca;

use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use keymanager::error::StoreError;
use keymanager::{
    CertificateRequest, DistinguishedName, Error, KdfParams, KeyStore, PrivateKey, StoreOptions,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rusqlite::params;

const PASS: &str = "tamper test passphrase";

fn options() -> StoreOptions {
    StoreOptions::new().kdf(KdfParams::new(64, 1, 1).unwrap())
}

fn key(i: u64) -> PrivateKey {
    static KEYS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..3u64)
            .map(|n| {
                let mut rng = ChaCha8Rng::seed_from_u64(300 + n);
                let k = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).unwrap();
                k.to_pkcs8_der().unwrap().to_vec()
            })
            .collect()
    });
    PrivateKey::from_der(&keys[i as usize]).unwrap()
}

fn request(key: &PrivateKey, cn: &str) -> CertificateRequest {
    let dn = DistinguishedName::builder()
        .common_name(cn)
        .build()
        .unwrap();
    CertificateRequest::builder(dn)
        .dns_name(cn)
        .sign(key)
        .unwrap()
}

fn ca() -> &'static openssl_ca::OpensslCa {
    static CA: OnceLock<openssl_ca::OpensslCa> = OnceLock::new();
    CA.get_or_init(|| openssl_ca::OpensslCa::new("Tamper Test CA"))
}

/// A file store with `www` (installed, bound to 0.0.0.0:443), `api` (installed) and
/// `pending`.
fn setup(dir: &Path) -> KeyStore {
    let store = KeyStore::open_with(dir.join("keys.db"), PASS, &options()).unwrap();
    let mut tx = store.begin().unwrap();
    let www = request(&key(0), "www.example.com");
    let api = request(&key(1), "api.example.com");
    tx.add_pending("www", key(0), &www).unwrap();
    tx.add_pending("api", key(1), &api).unwrap();
    tx.add_pending("pending", key(2), &request(&key(2), "p.example.com"))
        .unwrap();
    for (req, name) in [(&www, "www.example.com"), (&api, "api.example.com")] {
        let cert = ca().sign_server(&req.to_pem(), &[name]);
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
            assert_tampered(store.resolve(any(), 443, None), "www");
        }
    }
    // Truncated and empty.
    for bad in [&sealed[..sealed.len() - 1], &sealed[..11], &[][..]] {
        write(bad);
        assert_tampered(store.resolve(any(), 443, None), "www");
    }
    let err = store.resolve(any(), 443, None).unwrap_err().to_string();
    assert!(err.contains("`www`") && err.contains("backup"), "{err}");
    write(&sealed);
    let id = store.resolve(any(), 443, None).unwrap().unwrap();
    assert_eq!(id.private_key().fingerprint(), key(0).fingerprint());
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
    assert_tampered(store.resolve(any(), 443, None), "www");
    let mut tx = store.begin().unwrap();
    tx.bind("192.0.2.9:443".parse().unwrap(), "api").unwrap();
    tx.commit().unwrap();
    assert_tampered(
        store.resolve("192.0.2.9".parse().unwrap(), 443, None),
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
             INSERT INTO main.bindings VALUES ('0.0.0.0:443', (SELECT id FROM main.entries WHERE name = 'www'));",
        )
        .unwrap()
    };
    snapshot(&conn);
    for (i, (entry, tamper)) in cases.iter().enumerate() {
        tamper(&conn);
        assert_tampered(store.entries(), entry);
        assert_tampered(store.entry(entry), entry);
        if *entry == "www" {
            assert_tampered(store.resolve(any(), 443, None), entry);
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
    assert_tampered(store.resolve(any(), 443, None), "www");
}

#[test]
fn damaged_metadata_is_refused_quickly() {
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
    // Absurd stored Argon2 costs are refused before any work is done.
    conn.execute(
        "UPDATE meta SET value = 4000000000 WHERE name = 'kdf_memory_kib'",
        [],
    )
    .unwrap();
    let start = Instant::now();
    let err = KeyStore::open_with(dir.path().join("keys.db"), PASS, &options()).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Corrupt { .. })),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    conn.execute("DELETE FROM meta WHERE name = 'salt'", [])
        .unwrap();
    let err = KeyStore::open_with(dir.path().join("keys.db"), PASS, &options()).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Corrupt { .. })),
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
