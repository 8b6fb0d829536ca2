//! Seeded bench keys cached as PKCS#8 DER under `<target>/bench-keys/` (key generation is the
//! slow part of a bench's setup), shared by the benches that include this file.

use std::path::{Path, PathBuf};

use keymanager::{KeySizePolicy, PrivateKey};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Key `i` of `bits` bits (from seed `i`), read from the cache or made and cached.
pub fn cached_key(bits: usize, i: usize) -> PrivateKey {
    let dir = cache_dir();
    let path = dir.join(format!("rsa{bits}-seed{i}.der"));
    if let Ok(der) = std::fs::read(&path)
        && let Ok(key) = PrivateKey::from_der_with_policy(&der, KeySizePolicy::InsecureLegacy)
    {
        return key;
    }
    if i.is_multiple_of(1000) {
        eprintln!(
            "bench: generating and caching {bits}-bit keys {i}.. in {}",
            dir.display()
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
    let key = PrivateKey::generate_rsa_with_policy(&mut rng, bits, KeySizePolicy::InsecureLegacy)
        .expect("key generation");
    write_private(&path, &key.to_pkcs8_der().expect("PKCS#8"));
    key
}

/// `<target>/bench-keys/`, created if missing.
pub fn cache_dir() -> PathBuf {
    let dir = target_dir().join("bench-keys");
    std::fs::create_dir_all(&dir).expect("creating the key cache directory");
    dir
}

/// Cargo's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Writes a cached key, mode 0600 (throw-away bench keys, but still private keys).
fn write_private(path: &Path, der: &[u8]) {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).expect("creating a cached key");
    file.write_all(der).expect("writing a cached key");
}
