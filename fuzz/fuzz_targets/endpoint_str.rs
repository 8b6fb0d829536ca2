//! `Endpoint::from_str` on arbitrary UTF-8: never panics, and an endpoint that parses displays as
//! a string that parses back to an equal endpoint, which displays the same (canonical form).
#![no_main]

use keymanager::Endpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(endpoint) = text.parse::<Endpoint>() else {
        return;
    };
    let shown = endpoint.to_string();
    let again: Endpoint = match shown.parse() {
        Ok(again) => again,
        Err(e) => panic!("{endpoint:?} displays as {shown:?}, which does not parse: {e}"),
    };
    assert_eq!(again, endpoint, "{text:?} -> {shown:?} does not round-trip");
    assert_eq!(again.to_string(), shown, "{shown:?} is not canonical");
    assert_ne!(endpoint.port(), 0);
    let _ = (
        endpoint.host_name(),
        endpoint.ip(),
        endpoint.is_any_address(),
    );
});
