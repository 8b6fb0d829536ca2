//! `PrivateKey::from_pem` on arbitrary UTF-8: never panics.
//!
//! TODO(encrypted keys): also call `PrivateKey::from_encrypted_pem` with a fixed password once
//! it lands in src/key.rs; it must refuse dangerous KDF parameters quickly, so this target
//! never hangs (run with `-timeout=5` to catch a runaway KDF).
#![no_main]

use keymanager::PrivateKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = PrivateKey::from_pem(text);
});
