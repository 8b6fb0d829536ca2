//! The fixtures every store and TLS test uses: one passphrase, store options with the
//! cheapest key derivation the store accepts, and a pool of seeded RSA keys.

use std::path::Path;
use std::sync::OnceLock;

use keymanager::{
    CertificateRequest, DistinguishedName, KdfParams, KeyStore, PrivateKey, StoreOptions,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The passphrase of every test store (and of the `keymanager` binary's, through
/// `KEYMANAGER_PASSPHRASE`).
pub const PASSPHRASE: &str = "correct horse battery staple";

/// Store options with Argon2id at its minimum (64 KiB, one pass, one lane), so that opening a
/// test store takes microseconds, not the production second.
pub fn fast_options() -> StoreOptions {
    StoreOptions::new().kdf(KdfParams::new(64, 1, 1).unwrap())
}

/// A new in-memory store ([`PASSPHRASE`], [`fast_options`]).
pub fn memory_store() -> KeyStore {
    KeyStore::open_in_memory_with(PASSPHRASE, &fast_options()).unwrap()
}

/// The store file `dir/keys.db` ([`PASSPHRASE`], [`fast_options`]), created when missing: a
/// file, so that another process can open it.
pub fn store_in(dir: &Path) -> KeyStore {
    let path = dir.join("keys.db");
    if path.exists() {
        KeyStore::open_with(path, PASSPHRASE, &fast_options()).unwrap()
    } else {
        KeyStore::create_with(path, PASSPHRASE, &fast_options()).unwrap()
    }
}

/// A request for `CN=<cn>,O=keymanager tests,C=US` signed by `key` (no extensions: the CA
/// puts them in), PEM.
pub fn csr_pem(key: &PrivateKey, cn: &str) -> String {
    let dn = DistinguishedName::builder()
        .common_name(cn)
        .organization("keymanager tests")
        .country("US")
        .build()
        .unwrap();
    CertificateRequest::builder(dn).sign(key).unwrap().to_pem()
}

/// A request for `CN=<cn>` with `cn` also as its DNS name, signed by `key`.
pub fn request(key: &PrivateKey, cn: &str) -> CertificateRequest {
    let dn = DistinguishedName::builder()
        .common_name(cn)
        .build()
        .unwrap();
    CertificateRequest::builder(dn)
        .dns_name(cn)
        .sign(key)
        .unwrap()
}

/// How many keys the pool holds.
pub const KEYS: usize = 32;

/// Key `i` of the pool (`i < KEYS`): 2048-bit RSA, generated from seed `1000 + i` on first use
/// and kept for the rest of the test binary. Tests that need distinct keys take distinct `i`.
pub fn key(i: usize) -> PrivateKey {
    PrivateKey::from_der(key_der(i)).unwrap()
}

/// Key `i` of the pool as PKCS#8 DER.
pub fn key_der(i: usize) -> &'static [u8] {
    static POOL: [OnceLock<Vec<u8>>; KEYS] = [const { OnceLock::new() }; KEYS];
    POOL[i].get_or_init(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(1000 + i as u64);
        let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).unwrap();
        key.to_pkcs8_der().unwrap().to_vec()
    })
}

/// ECDSA key `i` of `key_type` (P-256 or P-384), from seed `2000 + i`: cheap, made each call.
pub fn ec_key(i: usize, key_type: keymanager::KeyType) -> PrivateKey {
    let mut rng = ChaCha8Rng::seed_from_u64(2000 + i as u64);
    PrivateKey::generate_with_rng(&mut rng, key_type).unwrap()
}

/// A copy of the store file `tests/data/NAME` in a new temporary directory, as `keys.db`:
/// the directory (removed on drop) and the copy's path.
pub fn data_store(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::copy(data, &path).unwrap();
    (dir, path)
}

/// The schema version the store file at `path` records (`PRAGMA user_version`).
pub fn schema_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}
