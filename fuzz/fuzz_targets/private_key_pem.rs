//! `PrivateKey::from_pem` and `PrivateKey::from_encrypted_pem` (fixed password `fuzz-password`,
//! the one `fuzz/seeds.sh` encrypts its seeds with) on arbitrary UTF-8: never panic.
//!
//! An encrypted key names its own KDF parameters; `from_encrypted_pem` must refuse dangerous ones
//! before deriving anything, so this target never hangs. Run it with `-timeout=10` so that a
//! runaway KDF shows up as a `timeout-*` artifact.
#![no_main]

use keymanager::PrivateKey;
use libfuzzer_sys::fuzz_target;

/// The password of the encrypted seeds.
const PASSWORD: &str = "fuzz-password";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = PrivateKey::from_pem(text);
    if let Ok(key) = PrivateKey::from_encrypted_pem(text, PASSWORD) {
        // A key that decrypts is a key: its public half and fingerprint agree.
        assert_eq!(key.fingerprint(), keymanager::Fingerprint::of_spki_der(key.public_key_der()));
    }
});
