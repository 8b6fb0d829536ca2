//! `DistinguishedName::from_str` on arbitrary UTF-8: never panics, and a name that parses
//! displays as a string that parses back to an equal name (round trip).
#![no_main]

use keymanager::DistinguishedName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(name) = text.parse::<DistinguishedName>() else {
        return;
    };
    let shown = name.to_string();
    let again: DistinguishedName = match shown.parse() {
        Ok(again) => again,
        Err(e) => panic!("{name:?} displays as {shown:?}, which does not parse: {e}"),
    };
    assert_eq!(again, name, "{text:?} -> {shown:?} does not round-trip");
    let _ = name.to_x509();
});
