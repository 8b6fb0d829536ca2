//! What an encrypted PKCS#8 key's KDF would cost, read the way `keymanager` reads it (the same
//! `der`/`pkcs5` decoders), so that targets can skip inputs whose parameters are *allowed* by
//! the library's guard but too slow for a fuzz loop.
//!
//! The guard allows up to 10^7 PBKDF2 iterations and 256 MiB of scrypt memory: seconds per
//! input, legitimately. Such an input would turn into a libFuzzer `timeout-*` (or eat the
//! `-rss_limit_mb`), which says nothing about a bug. So a target skips an input whose
//! parameters are over [`MAX_FUZZ_PBKDF2_ITERATIONS`] / [`MAX_FUZZ_SCRYPT_WORK`] but within the
//! library's limits; parameters **over** the library's limits are still fed to it, and must be
//! refused at once (that is the guard under test).
#![allow(dead_code)]

use der::asn1::{AnyRef, OctetStringRef};
use der::{Decode, Reader};
use pkcs5::pbes2;
use spki::AlgorithmIdentifierRef;

/// PBKDF2 iterations a fuzz input may ask for (milliseconds in a fuzz build).
pub const MAX_FUZZ_PBKDF2_ITERATIONS: u32 = 20_000;
/// scrypt `128·N·r·p` bytes of work a fuzz input may ask for (4 MiB).
pub const MAX_FUZZ_SCRYPT_WORK: u128 = 4 * 1024 * 1024;

/// The KDF cost an `EncryptedPrivateKeyInfo` DER asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Cost {
    /// Not PBES2 with readable parameters: the library refuses it without deriving.
    NoKdf,
    /// Cheap enough to run in a fuzz loop.
    Cheap,
    /// Over the library's own limits ([`keymanager::key::MAX_PBKDF2_ITERATIONS`],
    /// [`keymanager::key::MAX_SCRYPT_MEMORY`], [`keymanager::key::MAX_SCRYPT_P`]): must be refused.
    OverGuard,
    /// Allowed by the library but too slow for fuzzing: skip the input.
    TooSlowToFuzz,
}

/// The cost of decrypting `der`, an `EncryptedPrivateKeyInfo`.
pub fn cost(der: &[u8]) -> Cost {
    let Ok(outer) = AnyRef::from_der(der) else {
        return Cost::NoKdf;
    };
    let Ok(algorithm) = outer.sequence(|r| {
        let algorithm = AlgorithmIdentifierRef::decode(r)?;
        let _ = r.decode::<&OctetStringRef>()?;
        Ok::<_, der::Error>(algorithm)
    }) else {
        return Cost::NoKdf;
    };
    if algorithm.oid != pbes2::PBES2_OID {
        return Cost::NoKdf;
    }
    let Some(params) = algorithm.parameters else {
        return Cost::NoKdf;
    };
    let Ok(parsed) = pbes2::Parameters::try_from(params) else {
        return Cost::NoKdf;
    };
    match parsed.kdf {
        pbes2::Kdf::Pbkdf2(p) => {
            let n = p.iteration_count;
            if n > keymanager::key::MAX_PBKDF2_ITERATIONS {
                Cost::OverGuard
            } else if n > MAX_FUZZ_PBKDF2_ITERATIONS {
                Cost::TooSlowToFuzz
            } else {
                Cost::Cheap
            }
        }
        pbes2::Kdf::Scrypt(s) => {
            let (n, r, p) = (
                u128::from(s.cost_parameter),
                u128::from(s.block_size),
                u128::from(s.parallelization),
            );
            if 128 * n * r > u128::from(keymanager::key::MAX_SCRYPT_MEMORY)
                || p > u128::from(keymanager::key::MAX_SCRYPT_P)
            {
                Cost::OverGuard
            } else if 128 * n * r * p > MAX_FUZZ_SCRYPT_WORK {
                Cost::TooSlowToFuzz
            } else {
                Cost::Cheap
            }
        }
        _ => Cost::NoKdf,
    }
}

/// The cost of the costliest `ENCRYPTED PRIVATE KEY` block in `text`, read with the `pem`
/// crate as the library reads it.
pub fn pem_cost(text: &str) -> Cost {
    let Ok(blocks) = pem::parse_many(text) else {
        return Cost::NoKdf;
    };
    let mut worst = Cost::NoKdf;
    for block in blocks {
        match cost(block.contents()) {
            Cost::TooSlowToFuzz => return Cost::TooSlowToFuzz,
            Cost::OverGuard => worst = Cost::OverGuard,
            Cost::Cheap if worst == Cost::NoKdf => worst = Cost::Cheap,
            _ => {}
        }
    }
    worst
}
