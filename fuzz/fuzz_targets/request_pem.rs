//! `CertificateRequest::from_pem` on arbitrary UTF-8 (explanatory text, both labels, several
//! blocks): never panics; a request that parses reads the same from the DER inside it, and
//! passes the checks of `request_der` (see `support/request_check.rs`).
#![no_main]

use keymanager::CertificateRequest;
use libfuzzer_sys::fuzz_target;

#[path = "support/request_check.rs"]
mod request_check;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = CertificateRequest::from_pem(text) else {
        return;
    };
    // The PEM accepted holds exactly one block, whose DER is the request.
    let block = pem::parse(text).expect("a PEM the library accepted");
    assert_eq!(
        block.contents(),
        request.to_der().as_slice(),
        "not the DER of the block"
    );
    request_check::check(&request);
});
