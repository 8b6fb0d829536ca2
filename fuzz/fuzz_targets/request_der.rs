//! `CertificateRequest::from_der` on arbitrary bytes: never panics; a request that parses
//! verifies the same after a DER and a PEM round trip, and re-emitted by our builder (same
//! subject and names, a fixed key) parses back, verifies and keeps its subject and names
//! (see `support/request_check.rs`).
#![no_main]

use keymanager::CertificateRequest;
use libfuzzer_sys::fuzz_target;

#[path = "support/request_check.rs"]
mod request_check;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = CertificateRequest::from_der(data) {
        request_check::check(&request);
    }
});
