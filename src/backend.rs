//! Which library performs the RSA private-key operation when a [`PrivateKey`] signs.
//!
//! The default is the pure-Rust `rsa` crate, for every key size. With the opt-in Cargo feature
//! `aws-lc-rs`, RSA PKCS#1 v1.5 signatures ([RFC 8017 §8.2]) with SHA-256, SHA-384 or SHA-512
//! by keys of 2048 bits and more are made by [aws-lc-rs] instead, six to seven times faster
//! (see `BENCHMARKS.md`); 512- and 1024-bit keys, which aws-lc refuses, keep signing with the `rsa`
//! crate. PKCS#1 v1.5 is deterministic: both backends produce the same bytes for the same key
//! and message, so the choice changes speed only.
//!
//! ```text
//! RSASSA-PKCS1-v1_5-SIGN (K, M):
//!     EM = EMSA-PKCS1-v1_5-ENCODE (M, k)     -- DigestInfo of Hash(M), padded
//!     s  = RSASP1 (K, OS2IP (EM))            -- the private-key operation
//! ```
//!
//! Both backends blind the private-key operation and check its result against the public key
//! before returning it (a faulty CRT computation would otherwise leak the key).
//!
//! aws-lc parses the key once per [`PrivateKey`], at its first signature, and keeps it next to
//! the `rsa` key; it is built from a zeroized PKCS#8 buffer, and aws-lc frees its own copy when
//! the [`PrivateKey`] is dropped (its `OPENSSL_free` zeroes every allocation before freeing
//! it). Key generation stays with the `rsa` crate: aws-lc was not faster (`BENCHMARKS.md`) and
//! cannot take the caller's random source.
//!
//! [RFC 8017 §8.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-8.2
//! [aws-lc-rs]: https://docs.rs/aws-lc-rs

#[cfg(feature = "aws-lc-rs")]
use std::sync::{Arc, OnceLock};

use crate::error::Result;
use crate::key::PrivateKey;
use crate::signature::SignatureHash;

/// The smallest modulus the aws-lc backend signs with (aws-lc refuses smaller RSA keys).
#[cfg(feature = "aws-lc-rs")]
pub(crate) const AWS_LC_MIN_BITS: usize = 2048;

/// Signs `message` with `key`, RSA PKCS#1 v1.5 with `hash`, if the optional backend handles
/// this key; `None` means "sign with the `rsa` crate".
#[cfg(feature = "aws-lc-rs")]
pub(crate) fn sign_pkcs1v15(
    key: &PrivateKey,
    hash: SignatureHash,
    message: &[u8],
) -> Option<Result<Vec<u8>>> {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512};

    use crate::error::KeyError;

    let pair = key.backend_cache().aws_lc(key)?;
    let encoding = match hash {
        SignatureHash::Sha256 => &RSA_PKCS1_SHA256,
        SignatureHash::Sha384 => &RSA_PKCS1_SHA384,
        SignatureHash::Sha512 => &RSA_PKCS1_SHA512,
    };
    let mut signature = vec![0u8; pair.public_modulus_len()];
    // aws-lc draws its blinding values from its own OS-seeded generator; it ignores this one.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    Some(
        pair.sign(encoding, &rng, message, &mut signature)
            .map(|()| signature)
            .map_err(|_| {
                KeyError::Signing {
                    reason: "aws-lc could not sign with this key".into(),
                }
                .into()
            }),
    )
}

/// Without the `aws-lc-rs` feature every key signs with the `rsa` crate.
#[cfg(not(feature = "aws-lc-rs"))]
pub(crate) fn sign_pkcs1v15(
    _key: &PrivateKey,
    _hash: SignatureHash,
    _message: &[u8],
) -> Option<Result<Vec<u8>>> {
    None
}

/// Per-key state of the optional backend: empty without the `aws-lc-rs` feature; with it, the
/// aws-lc key, parsed at the first signature.
#[derive(Default, Clone)]
pub(crate) struct Cache {
    /// `None` inside: the key is smaller than [`AWS_LC_MIN_BITS`] or aws-lc refused it.
    /// Copies made by `try_clone` share it. `PrivateKey`'s `Hash` and `Eq` never read it
    /// (fingerprint only), so keys stay sound set and map keys; `clippy.toml` tells clippy's
    /// `mutable_key_type` so (code outside this crate that puts keys in a set may need the same
    /// line with the feature on).
    #[cfg(feature = "aws-lc-rs")]
    aws_lc: Arc<OnceLock<Option<aws_lc_rs::rsa::KeyPair>>>,
}

impl Cache {
    /// The aws-lc form of `key` (the key this cache belongs to), parsed on first use.
    #[cfg(feature = "aws-lc-rs")]
    fn aws_lc(&self, key: &PrivateKey) -> Option<&aws_lc_rs::rsa::KeyPair> {
        self.aws_lc
            .get_or_init(|| {
                if key.bits() < AWS_LC_MIN_BITS {
                    return None;
                }
                // Zeroized on drop; aws-lc copies what it needs into its own (cleared) memory.
                let der = key.to_pkcs8_der().ok()?;
                aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).ok()
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit key, made once.
    fn key() -> &'static PrivateKey {
        use std::sync::OnceLock;
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            use rand::SeedableRng;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
            PrivateKey::generate_rsa_with_rng(&mut rng, 2048).unwrap()
        })
    }

    #[cfg(not(feature = "aws-lc-rs"))]
    #[test]
    fn default_build_signs_everything_with_the_rsa_crate() {
        assert!(sign_pkcs1v15(key(), SignatureHash::Sha256, b"m").is_none());
    }

    /// PKCS#1 v1.5 is deterministic: aws-lc and the `rsa` crate must produce the same bytes,
    /// and each one's signature must pass the other's verifier.
    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn aws_lc_and_rsa_crate_signatures_are_identical_and_cross_verify() {
        use aws_lc_rs::signature::{
            RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
            UnparsedPublicKey,
        };

        let message = b"certification request info";
        let spki = spki::SubjectPublicKeyInfoRef::try_from(key().public_key_der()).unwrap();
        let public = spki.subject_public_key.raw_bytes();
        for (hash, verifier) in [
            (SignatureHash::Sha256, &RSA_PKCS1_2048_8192_SHA256),
            (SignatureHash::Sha384, &RSA_PKCS1_2048_8192_SHA384),
            (SignatureHash::Sha512, &RSA_PKCS1_2048_8192_SHA512),
        ] {
            let by_aws_lc = sign_pkcs1v15(key(), hash, message).unwrap().unwrap();
            let (algorithm, by_rsa) =
                crate::signature::sign_rsa_with(&mut rand::rngs::SysRng, key(), hash, message)
                    .unwrap();
            assert_eq!(by_aws_lc, by_rsa, "{hash:?}");
            // aws-lc's signature through our (rsa crate) verifier ...
            crate::signature::verify(key().public_key_der(), &algorithm, message, &by_aws_lc)
                .unwrap();
            // ... and the rsa crate's through aws-lc's.
            UnparsedPublicKey::new(verifier, public)
                .verify(message, &by_rsa)
                .unwrap();
            // A changed message fails both ways.
            assert!(
                crate::signature::verify(key().public_key_der(), &algorithm, b"other", &by_aws_lc)
                    .is_err()
            );
            assert!(
                UnparsedPublicKey::new(verifier, public)
                    .verify(b"other", &by_rsa)
                    .is_err()
            );
        }
    }

    /// The aws-lc key is parsed once and kept; a copy of the key shares it, a key read back
    /// from its encoding parses its own.
    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn aws_lc_key_is_parsed_once_per_private_key() {
        let first = key().backend_cache().aws_lc(key()).unwrap() as *const _;
        sign_pkcs1v15(key(), SignatureHash::Sha256, b"m")
            .unwrap()
            .unwrap();
        let again = key().backend_cache().aws_lc(key()).unwrap() as *const _;
        assert_eq!(first, again);
        let copy = key().try_clone().unwrap();
        assert_eq!(
            copy.backend_cache().aws_lc(&copy).unwrap() as *const _,
            first
        );
        let reread = PrivateKey::from_der(&key().to_pkcs8_der().unwrap()).unwrap();
        assert!(reread.backend_cache().aws_lc.get().is_none());
        assert!(reread.backend_cache().aws_lc(&reread).is_some());
    }

    /// 512- and 1024-bit keys (which aws-lc refuses) still sign, with the `rsa` crate.
    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn keys_under_2048_bits_fall_back_to_the_rsa_crate() {
        use rand::SeedableRng;

        use crate::key::KeySizePolicy;

        for bits in [512, 1024] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(bits as u64);
            let small =
                PrivateKey::generate_rsa_with_policy(&mut rng, bits, KeySizePolicy::InsecureLegacy)
                    .unwrap();
            assert!(sign_pkcs1v15(&small, SignatureHash::Sha256, b"m").is_none());
            let (algorithm, signature) =
                crate::signature::sign_rsa(&small, SignatureHash::Sha256, b"m").unwrap();
            crate::signature::verify(small.public_key_der(), &algorithm, b"m", &signature).unwrap();
        }
    }
}
