//! `Certificate::from_der` on arbitrary bytes and `Certificate::chain_from_pem` on the same bytes
//! as (lossy) UTF-8: never panic.
#![no_main]

use keymanager::Certificate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_der(data) {
        assert_eq!(cert.to_der(), data);
        let _ = cert.fingerprint();
    }
    let _ = Certificate::chain_from_pem(&String::from_utf8_lossy(data));
});
