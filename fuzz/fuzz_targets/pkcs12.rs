//! `keymanager::pkcs12::read` on arbitrary bytes with the fixed password `fuzz-password` (the
//! one `fuzz/seeds.sh` protects its seeds with), legacy algorithms allowed: never panics and
//! never hangs; what reads writes back and reads again to the same keys.
//!
//! KDF cost: a file may legally ask for up to `MAX_TOTAL_ITERATIONS` (seconds of work that
//! would show up as a libFuzzer timeout without being a bug); `pkcs12::inspect` counts them
//! before any work, and files over 20 000 are skipped after checking that counting was cheap.
#![no_main]

use keymanager::pkcs12::{self, Pkcs12ExportOptions, Pkcs12ReadOptions};
use libfuzzer_sys::fuzz_target;

/// The password of the seeds.
const PASSWORD: &str = "fuzz-password";

/// Most iterations a fuzzed file may cost.
const FUZZ_ITERATIONS: u64 = 20_000;

fuzz_target!(|data: &[u8]| {
    let options = Pkcs12ReadOptions::new().allow_legacy(true);
    match pkcs12::inspect(data, &options) {
        Ok(inspection) if inspection.iterations() <= FUZZ_ITERATIONS => {}
        _ => return,
    }
    let Ok(contents) = pkcs12::read(data, PASSWORD, &options) else {
        return;
    };
    for identity in contents.identities() {
        let chain = identity.chain().certificates();
        let written = pkcs12::write(
            "fuzz",
            identity.key(),
            chain,
            PASSWORD,
            &Pkcs12ExportOptions::new().iterations(1),
        )
        .expect("writing what we read");
        let again = pkcs12::read(&written, PASSWORD, &Pkcs12ReadOptions::new())
            .expect("our own file reads back");
        assert_eq!(again.identities().len(), 1);
        assert_eq!(again.identities()[0].key(), identity.key());
        assert_eq!(again.identities()[0].chain(), identity.chain());
    }
});
