//! `KeyStore::open_with` on a file holding arbitrary bytes (written to a fresh temporary
//! directory, in `/dev/shm` when there is one), passphrase `fuzz-password`: never panics and
//! never hangs. A store that opens lists its entries consistently (`entries()` agrees with
//! `entry(name)` and with a transaction's view), every installed entry exports a key that
//! decrypts to the entry's fingerprint and a chain whose leaf carries that key, and an empty
//! transaction commits.
//!
//! KDF cost: the file names its own Argon2 parameters (the store refuses more than 1 GiB or
//! 10 passes by default). Inputs asking for more than 1 MiB·pass of Argon2 are skipped (read
//! from the `meta` table as the store reads it, see `kdf_cost` below); the seed store
//! (`fuzz/seeds/store_open`) uses 8 KiB and 1 pass.
#![no_main]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use keymanager::{EntryState, KdfParams, KeyEncryption, KeyStore, PrivateKey, StoreOptions};
use libfuzzer_sys::fuzz_target;
use rusqlite::{Connection, OpenFlags, params};

/// The passphrase of the seed store.
const PASSPHRASE: &str = "fuzz-password";
/// Argon2 memory × passes (KiB) an input may ask for.
const MAX_FUZZ_ARGON2_KIB_PASSES: i64 = 1024;

fuzz_target!(|data: &[u8]| {
    let base = if Path::new("/dev/shm").is_dir() {
        Path::new("/dev/shm")
    } else {
        Path::new("/tmp")
    };
    let dir = tempfile::tempdir_in(base).expect("a temporary directory");
    let path = dir.path().join("store.db");
    std::fs::write(&path, data).expect("writing the store file");
    if kdf_cost(&path).is_some_and(|c| c > MAX_FUZZ_ARGON2_KIB_PASSES) {
        return;
    }
    let options = StoreOptions::new()
        .kdf(KdfParams::new(8, 1, 1).expect("valid KDF parameters"))
        .busy_timeout(Duration::ZERO);
    let Ok(store) = KeyStore::open_with(&path, PASSPHRASE, &options) else {
        return;
    };
    let Ok(entries) = store.entries() else {
        return;
    };
    for entry in &entries {
        assert_eq!(
            store.entry(entry.name()).ok().as_ref(),
            Some(entry),
            "entry() differs from entries()"
        );
        if entry.state() != EntryState::Installed {
            continue;
        }
        let encryption = KeyEncryption::Pbkdf2Sha256 { iterations: 1 };
        let Ok(export) = store.export_with(entry.name(), "export-password", encryption) else {
            continue;
        };
        let key = PrivateKey::from_encrypted_pem(export.key_pem(), "export-password")
            .expect("an exported key decrypts");
        assert_eq!(
            key.fingerprint(),
            entry.fingerprint(),
            "export gave another key"
        );
        let chain =
            keymanager::Certificate::chain_from_pem(export.chain_pem()).expect("exported chain");
        assert!(
            chain.first().is_some_and(|leaf| leaf.matches(&key)),
            "the chain's leaf is not the key's"
        );
    }
    for (ip, sni) in [
        ("192.0.2.10", Some("www.example.com")),
        ("2001:db8::1", None),
    ] {
        if let Ok(Some(identity)) =
            store.resolve(sni, SocketAddr::new(ip.parse().expect("an address"), 443))
        {
            let entry = entries
                .iter()
                .find(|e| e.name() == identity.name())
                .expect("a listed entry");
            assert_eq!(
                identity
                    .private_key()
                    .expect("a resolved key opens")
                    .fingerprint(),
                entry.fingerprint()
            );
        }
    }
    if let Ok(tx) = store.begin() {
        assert_eq!(
            tx.entries().ok().as_ref(),
            Some(&entries),
            "the transaction sees other entries"
        );
        let _ = tx.commit();
    }
    drop(store);
});

/// Argon2 memory (KiB) × passes, as the `meta` table gives them; `None` when they cannot be
/// read (then the store cannot read them either and refuses the file without deriving).
fn kdf_cost(path: &Path) -> Option<i64> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ok()?;
    conn.execute_batch("PRAGMA trusted_schema = OFF;").ok()?;
    // Views and triggers would run their own SQL here (an endless recursive view named `meta`
    // hung the store's `open` until it refused them): leave such files to the store.
    let active: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type IN ('view', 'trigger')",
            [],
            |r| r.get(0),
        )
        .ok()?;
    if active != 0 {
        return None;
    }
    let int = |name: &str| -> Option<i64> {
        conn.query_row(
            "SELECT value FROM meta WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .ok()
    };
    Some(int("kdf_memory_kib")?.saturating_mul(int("kdf_iterations")?))
}
