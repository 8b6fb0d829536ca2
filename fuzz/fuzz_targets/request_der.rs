//! `CertificateRequest::from_der` on arbitrary bytes, then `verify()` if it parsed: never
//! panics; a request that parses survives a PEM round trip unchanged.
#![no_main]

use keymanager::CertificateRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = CertificateRequest::from_der(data) else {
        return;
    };
    let _ = request.verify();
    let again = CertificateRequest::from_pem(&request.to_pem()).expect("our own PEM must read back");
    assert_eq!(again, request);
});
