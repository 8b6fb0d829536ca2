//! Test support shared by the unit tests of several modules.

use std::fmt;
use std::sync::OnceLock;

use rand::{SeedableRng, TryCryptoRng, TryRng};
use rand_chacha::ChaCha8Rng;
use rsa::pkcs1v15::Pkcs1v15Sign;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::{Error, KeyError, Result};
use crate::key::{KeyEncryption, KeySizePolicy, PrivateKey, SignatureHash};

/// One 2048-bit key for all unit tests (key generation is the slow part), from a seeded RNG.
pub(crate) fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(1), 2048).unwrap()
    })
}

/// One 512-bit key, made through the legacy policy.
pub(crate) fn small_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::generate_rsa_with_policy(
            &mut ChaCha8Rng::seed_from_u64(2),
            512,
            KeySizePolicy::InsecureLegacy,
        )
        .unwrap()
    })
}

/// Cheap encryption parameters so that unit tests stay fast; the defaults are exercised in the
/// interop tests.
pub(crate) const FAST_PBKDF2: KeyEncryption = KeyEncryption::Pbkdf2Sha256 { iterations: 1000 };

/// Whether `signature` is `key`'s PKCS#1 v1.5 signature of `message` with `hash`, checked
/// with the `rsa` crate's verifier (verification proper lives in `verify.rs`, above keys).
pub(crate) fn rsa_crate_verifies(
    key: &PrivateKey,
    hash: SignatureHash,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let public = key.rsa().unwrap().to_public_key();
    match hash {
        SignatureHash::Sha256 => public.verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(message),
            signature,
        ),
        SignatureHash::Sha384 => public.verify(
            Pkcs1v15Sign::new::<Sha384>(),
            &Sha384::digest(message),
            signature,
        ),
        SignatureHash::Sha512 => public.verify(
            Pkcs1v15Sign::new::<Sha512>(),
            &Sha512::digest(message),
            signature,
        ),
    }
    .is_ok()
}

/// The reason of a [`KeyError::Random`]; panics on any other result.
pub(crate) fn random_reason<T: fmt::Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::Key(KeyError::Random { reason })) => reason,
        other => panic!("expected KeyError::Random, got {other:?}"),
    }
}

/// A random source that serves `budget` bytes, then fails like a broken OS source.
pub(crate) struct FailingRng {
    pub(crate) budget: usize,
}

#[derive(Debug)]
pub(crate) struct EntropyGone;

impl std::fmt::Display for EntropyGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("test entropy source is gone")
    }
}

impl core::error::Error for EntropyGone {}

impl TryRng for FailingRng {
    type Error = EntropyGone;

    fn try_next_u32(&mut self) -> core::result::Result<u32, EntropyGone> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, EntropyGone> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), EntropyGone> {
        self.budget = self.budget.checked_sub(dst.len()).ok_or(EntropyGone)?;
        dst.fill(0x5a);
        Ok(())
    }
}

impl TryCryptoRng for FailingRng {}
