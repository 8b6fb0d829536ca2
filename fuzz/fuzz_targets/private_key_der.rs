//! `PrivateKey::from_der` on arbitrary bytes (RSA PKCS#1 and PKCS#8, EC SEC1 and PKCS#8):
//! never panics; a key it accepts re-encodes as PKCS#8 and reads back as the same key.
#![no_main]

use keymanager::PrivateKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(key) = PrivateKey::from_der(data) else {
        return;
    };
    let Ok(pkcs8) = key.to_pkcs8_der() else {
        return;
    };
    let again = PrivateKey::from_der(&pkcs8).expect("our own PKCS#8 encoding must read back");
    assert_eq!(again.fingerprint(), key.fingerprint());
    assert_eq!(again.bits(), key.bits());
    assert_eq!(again.key_type(), key.key_type());
});
