//! The optional signing backend (Cargo feature `aws-lc-rs`): RSA PKCS#1 v1.5 signatures
//! ([RFC 8017 §8.2]) with SHA-256, SHA-384 or SHA-512 by keys of 2048 bits and more, made by
//! [aws-lc-rs] instead of the `rsa` crate, and ECDSA signatures by P-256 and P-384 keys
//! instead of the `p256` / `p384` crates (`key/sign.rs` chooses). aws-lc's ECDSA is
//! randomized (a fresh nonce from its own generator), not RFC 6979's deterministic one: both
//! are valid ECDSA, and the signature verifies the same.
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
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256,
    RSA_PKCS1_SHA384, RSA_PKCS1_SHA512,
};

use super::{KeyType, SignatureHash};
use crate::error::{KeyError, Result};

/// The smallest modulus the aws-lc backend signs with (aws-lc refuses smaller RSA keys).
pub(super) const MIN_BITS: usize = 2048;

/// A key as aws-lc holds it.
pub(super) enum Parsed {
    Rsa(KeyPair),
    Ecdsa(EcdsaKeyPair),
}

impl Parsed {
    /// The aws-lc form of the PKCS#8 key `der` of type `key_type`; `None` for a key aws-lc
    /// refuses. `der` is the caller's zeroized buffer; aws-lc copies what it needs into its
    /// own (cleared) memory.
    pub(super) fn from_pkcs8(key_type: KeyType, der: &[u8]) -> Option<Self> {
        match key_type {
            KeyType::Rsa { .. } => KeyPair::from_pkcs8(der).ok().map(Parsed::Rsa),
            KeyType::EcdsaP256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
                .ok()
                .map(Parsed::Ecdsa),
            KeyType::EcdsaP384 => EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, der)
                .ok()
                .map(Parsed::Ecdsa),
        }
    }
}

/// The aws-lc form of one key, parsed on first use and shared by the key's clones.
#[derive(Default, Clone)]
pub(super) struct Cache(Arc<OnceLock<Option<Parsed>>>);

impl Cache {
    /// The aws-lc key, parsed at the first call by `parse`; `None` (kept) if it gives none.
    pub(super) fn get_or_parse(&self, parse: impl FnOnce() -> Option<Parsed>) -> Option<&Parsed> {
        self.0.get_or_init(parse).as_ref()
    }

    /// Whether the key was parsed (or refused) already.
    #[cfg(test)]
    fn is_parsed(&self) -> bool {
        self.0.get().is_some()
    }
}

/// Signs `message` with `pair`: ECDSA with the hash of its curve, an ASN.1 `Ecdsa-Sig-Value`.
pub(super) fn sign_ecdsa(pair: &EcdsaKeyPair, message: &[u8]) -> Result<Vec<u8>> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let signature = pair.sign(&rng, message).map_err(|_| KeyError::Signing {
        reason: "aws-lc could not sign with this key".into(),
    })?;
    Ok(signature.as_ref().to_vec())
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

    /// ECDSA keys sign through aws-lc (randomized nonces: two signatures differ), with the
    /// curve's hash, and the `p256` / `p384` crates verify what it signs.
    #[test]
    fn ecdsa_keys_sign_through_aws_lc_and_verify() {
        use p256::ecdsa::signature::Verifier;
        let message = b"certification request info";
        for key_type in [KeyType::EcdsaP256, KeyType::EcdsaP384] {
            let key = PrivateKey::generate_with_rng(&mut ChaCha8Rng::seed_from_u64(15), key_type)
                .unwrap();
            assert!(matches!(key.aws_lc_parsed(), Some(Parsed::Ecdsa(_))));
            assert!(key.aws_lc_key().is_none());
            let (algorithm, first) = key.sign(SignatureHash::Sha512, message).unwrap();
            let (_, second) = key.sign(SignatureHash::Sha256, message).unwrap();
            assert_ne!(first, second, "{key_type}");
            let spki = spki::SubjectPublicKeyInfoRef::try_from(key.public_key_der()).unwrap();
            let point = spki.subject_public_key.raw_bytes();
            let verified = match key_type {
                KeyType::EcdsaP256 => {
                    assert_eq!(algorithm.oid, const_oid::db::rfc5912::ECDSA_WITH_SHA_256);
                    let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).unwrap();
                    [&first, &second].iter().all(|s| {
                        let sig = p256::ecdsa::DerSignature::from_bytes(s).unwrap();
                        public.verify(message, &sig).is_ok()
                    })
                }
                _ => {
                    assert_eq!(algorithm.oid, const_oid::db::rfc5912::ECDSA_WITH_SHA_384);
                    let public = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).unwrap();
                    [&first, &second].iter().all(|s| {
                        let sig = p384::ecdsa::DerSignature::from_bytes(s).unwrap();
                        public.verify(message, &sig).is_ok()
                    })
                }
            };
            assert!(verified, "{key_type}");
        }
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
