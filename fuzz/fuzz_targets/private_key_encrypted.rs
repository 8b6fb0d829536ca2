//! `PrivateKey::from_encrypted_der` on arbitrary bytes with the fixed password
//! `fuzz-password` (the one `fuzz/seeds.sh` encrypts its seeds with): never panics and never
//! hangs; a key that decrypts re-encrypts (PBKDF2, few iterations) and decrypts back to the
//! same key; parameters over the library's KDF guard are refused before any derivation.
//!
//! KDF cost: an input may legally ask for up to 10^7 PBKDF2 iterations or 256 MiB of scrypt,
//! seconds of work that would show up as a libFuzzer timeout without being a bug. Such inputs
//! (over 20 000 iterations or 4 MiB of scrypt work, but within the guard) are skipped: see
//! `support/kdf_cost.rs`. Run with `-timeout=10` anyway.
#![no_main]

use std::time::{Duration, Instant};

use keymanager::error::KeyError;
use keymanager::{Error, KeyEncryption, PrivateKey};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[path = "support/kdf_cost.rs"]
mod kdf_cost;

/// The password of the encrypted seeds.
const PASSWORD: &str = "fuzz-password";

fuzz_target!(|data: &[u8]| {
    let cost = kdf_cost::cost(data);
    if cost == kdf_cost::Cost::TooSlowToFuzz {
        return;
    }
    let started = Instant::now();
    let result = PrivateKey::from_encrypted_der(data, PASSWORD);
    if cost == kdf_cost::Cost::OverGuard {
        assert!(
            matches!(result, Err(Error::Key(KeyError::EncryptionRefused { .. }))),
            "parameters over the KDF guard were not refused: {result:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused, but not before deriving"
        );
    }
    let Ok(key) = result else {
        return;
    };
    assert_eq!(
        key.fingerprint(),
        keymanager::Fingerprint::of_spki_der(key.public_key_der())
    );
    let encryption = KeyEncryption::Pbkdf2Sha256 { iterations: 1 };
    let again = key
        .to_encrypted_pkcs8_der_with_rng(&mut ChaCha8Rng::seed_from_u64(0), PASSWORD, encryption)
        .expect("re-encrypting a key we read");
    let back =
        PrivateKey::from_encrypted_der(&again, PASSWORD).expect("our own encryption reads back");
    assert_eq!(back, key);
    assert!(matches!(
        PrivateKey::from_encrypted_der(&again, "not-the-password"),
        Err(Error::Key(KeyError::WrongPassword))
    ));
});
