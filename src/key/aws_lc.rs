//! The optional signing backend (Cargo feature `aws-lc-rs`): RSA PKCS#1 v1.5 signatures
//! ([RFC 8017 §8.2]) with SHA-256, SHA-384 or SHA-512 by keys of 2048 bits and more, made by
//! [aws-lc-rs] instead of the `rsa` crate (`key/sign.rs` chooses).
//!
//! aws-lc parses the key once per [`PrivateKey`](super::PrivateKey), at its first signature,
//! and keeps it next to the `rsa` key in a [`Cache`]; it is built from a zeroized PKCS#8
//! buffer, and aws-lc frees its own copy when the last clone of the key is dropped (its
//! `OPENSSL_free` zeroes every allocation before freeing it). aws-lc blinds the private-key
//! operation with its own OS-seeded generator. Key generation stays with the `rsa` crate:
//! aws-lc was not faster (`BENCHMARKS.md`) and cannot take the caller's random source.
//!
//! [RFC 8017 §8.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-8.2
//! [aws-lc-rs]: https://docs.rs/aws-lc-rs

use std::sync::{Arc, OnceLock};

use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512};
use zeroize::Zeroizing;

use super::SignatureHash;
use crate::error::{KeyError, Result};

/// The smallest modulus the aws-lc backend signs with (aws-lc refuses smaller RSA keys).
pub(super) const MIN_BITS: usize = 2048;

/// The aws-lc form of one key, parsed on first use and shared by the key's clones.
#[derive(Default, Clone)]
pub(super) struct Cache(Arc<OnceLock<Option<KeyPair>>>);

impl Cache {
    /// The aws-lc key, parsed at the first call from the PKCS#8 DER that `pkcs8` returns;
    /// `None` (kept) if it returns none or aws-lc refuses the key.
    pub(super) fn get_or_parse(
        &self,
        pkcs8: impl FnOnce() -> Option<Zeroizing<Vec<u8>>>,
    ) -> Option<&KeyPair> {
        self.0
            .get_or_init(|| {
                // Zeroized on drop; aws-lc copies what it needs into its own (cleared) memory.
                let der = pkcs8()?;
                KeyPair::from_pkcs8(&der).ok()
            })
            .as_ref()
    }

    /// Whether the key was parsed (or refused) already.
    #[cfg(test)]
    fn is_parsed(&self) -> bool {
        self.0.get().is_some()
    }
}

/// Signs `message` with `pair`, RSA PKCS#1 v1.5 with `hash`.
pub(super) fn sign(pair: &KeyPair, hash: SignatureHash, message: &[u8]) -> Result<Vec<u8>> {
    let encoding = match hash {
        SignatureHash::Sha256 => &RSA_PKCS1_SHA256,
        SignatureHash::Sha384 => &RSA_PKCS1_SHA384,
        SignatureHash::Sha512 => &RSA_PKCS1_SHA512,
    };
    let mut signature = vec![0u8; pair.public_modulus_len()];
    // aws-lc draws its blinding values from its own OS-seeded generator; it ignores this one.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    pair.sign(encoding, &rng, message, &mut signature)
        .map_err(|_| KeyError::Signing {
            reason: "aws-lc could not sign with this key".into(),
        })?;
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{
        RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
        UnparsedPublicKey,
    };
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::key::{KeySizePolicy, PrivateKey};
    use crate::testing::{key, rsa_crate_verifies};

    /// PKCS#1 v1.5 is deterministic: aws-lc and the `rsa` crate must produce the same bytes,
    /// and each one's signature must pass the other's verifier.
    #[test]
    fn aws_lc_and_rsa_crate_signatures_are_identical_and_cross_verify() {
        let message = b"certification request info";
        let spki = spki::SubjectPublicKeyInfoRef::try_from(key().public_key_der()).unwrap();
        let public = spki.subject_public_key.raw_bytes();
        let pair = key().aws_lc_key().unwrap();
        for (hash, verifier) in [
            (SignatureHash::Sha256, &RSA_PKCS1_2048_8192_SHA256),
            (SignatureHash::Sha384, &RSA_PKCS1_2048_8192_SHA384),
            (SignatureHash::Sha512, &RSA_PKCS1_2048_8192_SHA512),
        ] {
            let by_aws_lc = sign(pair, hash, message).unwrap();
            let (_, by_rsa) = key()
                .sign_with_rng(&mut rand::rngs::SysRng, hash, message)
                .unwrap();
            assert_eq!(by_aws_lc, by_rsa, "{hash:?}");
            // The default path takes aws-lc for this key.
            assert_eq!(key().sign(hash, message).unwrap().1, by_aws_lc, "{hash:?}");
            // aws-lc's signature through the rsa crate's verifier ...
            assert!(rsa_crate_verifies(key(), hash, message, &by_aws_lc));
            // ... and the rsa crate's through aws-lc's.
            UnparsedPublicKey::new(verifier, public)
                .verify(message, &by_rsa)
                .unwrap();
            // A changed message fails both ways.
            assert!(!rsa_crate_verifies(key(), hash, b"other", &by_aws_lc));
            assert!(
                UnparsedPublicKey::new(verifier, public)
                    .verify(b"other", &by_rsa)
                    .is_err()
            );
        }
    }

    /// The aws-lc key is parsed once and kept; a clone of the key shares it, a key read back
    /// from its encoding parses its own.
    #[test]
    fn aws_lc_key_is_parsed_once_per_private_key() {
        let first = key().aws_lc_key().unwrap() as *const _;
        key().sign(SignatureHash::Sha256, b"m").unwrap();
        let again = key().aws_lc_key().unwrap() as *const _;
        assert_eq!(first, again);
        let copy = key().clone();
        assert_eq!(copy.aws_lc_key().unwrap() as *const _, first);
        let reread = PrivateKey::from_der(&key().to_pkcs8_der().unwrap()).unwrap();
        assert!(!reread.aws_lc.is_parsed());
        assert!(reread.aws_lc_key().is_some());
        assert!(reread.aws_lc.is_parsed());
    }

    /// 512- and 1024-bit keys (which aws-lc refuses) still sign, with the `rsa` crate.
    #[test]
    fn keys_under_2048_bits_fall_back_to_the_rsa_crate() {
        for bits in [512, 1024] {
            let mut rng = ChaCha8Rng::seed_from_u64(bits as u64);
            let small =
                PrivateKey::generate_rsa_with_policy(&mut rng, bits, KeySizePolicy::InsecureLegacy)
                    .unwrap();
            assert!(small.aws_lc_key().is_none());
            let (_, signature) = small.sign(SignatureHash::Sha256, b"m").unwrap();
            assert!(rsa_crate_verifies(
                &small,
                SignatureHash::Sha256,
                b"m",
                &signature
            ));
        }
    }
}
