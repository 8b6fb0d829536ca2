//! `PrivateKey::from_pem` and `PrivateKey::from_encrypted_pem` (fixed password `fuzz-password`,
//! the one `fuzz/seeds.sh` encrypts its seeds with) on arbitrary UTF-8: never panic; a plain key
//! that parses reads back the same from its PKCS#8 PEM; a key that decrypts has a public half
//! that matches its fingerprint.
//!
//! An encrypted key names its own KDF parameters; `from_encrypted_pem` must refuse dangerous ones
//! before deriving anything, so this target never hangs. Parameters the guard allows but that
//! take seconds (over 20 000 PBKDF2 iterations, over 4 MiB of scrypt work) are skipped, see
//! `support/kdf_cost.rs`; run with `-timeout=10` so that a runaway KDF still shows up as a
//! `timeout-*` artifact.
#![no_main]

use keymanager::PrivateKey;
use libfuzzer_sys::fuzz_target;

#[path = "support/kdf_cost.rs"]
mod kdf_cost;

/// The password of the encrypted seeds.
const PASSWORD: &str = "fuzz-password";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = PrivateKey::from_pem(text) {
        let pem = key.to_pkcs8_pem().expect("PKCS#8 PEM of a key we read");
        assert_eq!(
            PrivateKey::from_pem(&pem).expect("our own PEM reads back"),
            key
        );
    }
    if kdf_cost::pem_cost(text) == kdf_cost::Cost::TooSlowToFuzz {
        return;
    }
    if let Ok(key) = PrivateKey::from_encrypted_pem(text, PASSWORD) {
        // A key that decrypts is a key: its public half and fingerprint agree.
        assert_eq!(
            key.fingerprint(),
            keymanager::Fingerprint::of_spki_der(key.public_key_der())
        );
    }
});
