//! Signing with a [`PrivateKey`]: RSASSA-PKCS1-v1_5 ([RFC 8017 §8.2]) with the
//! [`SignatureHash`] asked for, and which library performs the private-key operation.
//!
//! ```text
//! RSASSA-PKCS1-v1_5-SIGN (K, M):
//!     EM = EMSA-PKCS1-v1_5-ENCODE (M, k)     -- DigestInfo of Hash(M), padded
//!     s  = RSASP1 (K, OS2IP (EM))            -- the private-key operation
//! ```
//!
//! The default is the pure-Rust `rsa` crate, for every key size. With the opt-in Cargo feature
//! `aws-lc-rs`, keys of 2048 bits and more sign with aws-lc-rs instead (`key/aws_lc.rs`), six
//! to seven times faster (see `BENCHMARKS.md`); 512- and 1024-bit keys, which aws-lc refuses,
//! keep signing with the `rsa` crate. PKCS#1 v1.5 is deterministic: both backends produce the
//! same bytes for the same key and message, so the choice changes speed only. Both blind the
//! private-key operation and check its result against the public key before returning it (a
//! faulty CRT computation would otherwise leak the key).
//!
//! [RFC 8017 §8.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-8.2

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use rand::TryCryptoRng;
use rand::rngs::SysRng;
use rsa::pkcs1v15::Pkcs1v15Sign;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;

use super::{PrivateKey, Recording};
use crate::error::{KeyError, Result};

/// The hash of an RSA PKCS#1 v1.5 signature this crate makes (requests, test certificates):
/// RSASSA-PKCS1-v1_5 ([RFC 8017 §8.2]) with the algorithm identifiers of [RFC 4055 §5], whose
/// parameters are `NULL`:
///
/// ```text
/// sha256WithRSAEncryption  OBJECT IDENTIFIER  ::=  { pkcs-1 11 }
/// sha384WithRSAEncryption  OBJECT IDENTIFIER  ::=  { pkcs-1 12 }
/// sha512WithRSAEncryption  OBJECT IDENTIFIER  ::=  { pkcs-1 13 }
/// ```
///
/// SHA-256 is the default and what every CA accepts; SHA-384 and SHA-512 are for policies that
/// require them.
///
/// [RFC 8017 §8.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-8.2
/// [RFC 4055 §5]: https://datatracker.ietf.org/doc/html/rfc4055#section-5
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignatureHash {
    /// SHA-256: `sha256WithRSAEncryption` (1.2.840.113549.1.1.11).
    #[default]
    Sha256,
    /// SHA-384: `sha384WithRSAEncryption` (1.2.840.113549.1.1.12).
    Sha384,
    /// SHA-512: `sha512WithRSAEncryption` (1.2.840.113549.1.1.13).
    Sha512,
}

impl SignatureHash {
    /// The OID of RSA PKCS#1 v1.5 with this hash.
    pub(crate) fn rsa_pkcs1v15_oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            Self::Sha384 => rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
            Self::Sha512 => rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
        }
    }

    /// The `AlgorithmIdentifier` of RSA PKCS#1 v1.5 with this hash, `NULL` parameters.
    fn rsa_pkcs1v15_algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.rsa_pkcs1v15_oid(),
            parameters: Some(der::asn1::Null.into()),
        }
    }
}

impl PrivateKey {
    /// Signs `message`, RSA PKCS#1 v1.5 with `hash` ([RFC 8017 §8.2]); returns the
    /// `AlgorithmIdentifier` (with `NULL` parameters, [RFC 4055 §5]) and the signature.
    ///
    /// With the `rsa` crate, the private-key operation is blinded with randomness from the
    /// operating system's random source ([`rand::rngs::SysRng`]); if it fails, this is
    /// [`KeyError::Random`]. With feature `aws-lc-rs`, keys aws-lc takes sign there instead.
    ///
    /// [RFC 8017 §8.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-8.2
    /// [RFC 4055 §5]: https://datatracker.ietf.org/doc/html/rfc4055#section-5
    ///
    /// An ECDSA key signs with the hash of its curve whatever `hash` says (P-256 with
    /// SHA-256, P-384 with SHA-384, [RFC 5480 §4]): deterministically ([RFC 6979]) with the
    /// `p256` / `p384` crates, or with aws-lc (randomized nonces) under feature `aws-lc-rs`.
    ///
    /// [RFC 5480 §4]: https://datatracker.ietf.org/doc/html/rfc5480#section-4
    /// [RFC 6979]: https://datatracker.ietf.org/doc/html/rfc6979
    pub(crate) fn sign(
        &self,
        hash: SignatureHash,
        message: &[u8],
    ) -> Result<(AlgorithmIdentifierOwned, Vec<u8>)> {
        if let Some(ec) = self.ec() {
            #[cfg(feature = "aws-lc-rs")]
            if let Some(super::aws_lc::Parsed::Ecdsa(pair)) = self.aws_lc_parsed() {
                let signature = super::aws_lc::sign_ecdsa(pair, message)?;
                return Ok((ec.signature_algorithm(), signature));
            }
            return ec.sign(message);
        }
        check_digest_fits(self.bits(), hash)?;
        #[cfg(feature = "aws-lc-rs")]
        if let Some(pair) = self.aws_lc_key() {
            let signature = super::aws_lc::sign(pair, hash, message)?;
            return Ok((hash.rsa_pkcs1v15_algorithm(), signature));
        }
        self.sign_with_rng(&mut SysRng, hash, message)
    }

    /// [`sign`](Self::sign) with the `rsa` crate whatever the features, blinding randomness
    /// from `rng`; its failure is [`KeyError::Random`].
    pub(crate) fn sign_with_rng(
        &self,
        rng: &mut (impl TryCryptoRng + ?Sized),
        hash: SignatureHash,
        message: &[u8],
    ) -> Result<(AlgorithmIdentifierOwned, Vec<u8>)> {
        let Some(rsa) = self.rsa() else {
            // ECDSA here is deterministic (RFC 6979): no randomness to take.
            return self.sign(hash, message);
        };
        let mut rng = Recording::new(rng);
        let signed = match hash {
            SignatureHash::Sha256 => rsa.sign_with_rng(
                &mut rng,
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(message),
            ),
            SignatureHash::Sha384 => rsa.sign_with_rng(
                &mut rng,
                Pkcs1v15Sign::new::<Sha384>(),
                &Sha384::digest(message),
            ),
            SignatureHash::Sha512 => rsa.sign_with_rng(
                &mut rng,
                Pkcs1v15Sign::new::<Sha512>(),
                &Sha512::digest(message),
            ),
        };
        let signature =
            signed.map_err(|e| rng.error_or(e, |reason| KeyError::Signing { reason }))?;
        Ok((hash.rsa_pkcs1v15_algorithm(), signature))
    }

    /// The aws-lc form of this key, parsed at the first call and kept (clones share it);
    /// `None` for a key aws-lc does not take (under 2048 bits), which signs with the `rsa`
    /// crate. Built from a zeroized PKCS#8 buffer.
    #[cfg(feature = "aws-lc-rs")]
    pub(super) fn aws_lc_key(&self) -> Option<&aws_lc_rs::rsa::KeyPair> {
        match self.aws_lc_parsed()? {
            super::aws_lc::Parsed::Rsa(pair) => Some(pair),
            super::aws_lc::Parsed::Ecdsa(_) => None,
        }
    }

    /// The aws-lc form of this key (RSA or ECDSA), parsed at the first call and kept; `None`
    /// for an RSA key under 2048 bits, which aws-lc refuses.
    #[cfg(feature = "aws-lc-rs")]
    pub(super) fn aws_lc_parsed(&self) -> Option<&super::aws_lc::Parsed> {
        self.aws_lc.get_or_parse(|| {
            let key_type = self.key_type();
            if self.rsa().is_some() && self.bits() < super::aws_lc::MIN_BITS {
                return None;
            }
            // Zeroized on drop.
            let der = self.to_pkcs8_der().ok()?;
            super::aws_lc::Parsed::from_pkcs8(key_type, &der)
        })
    }
}

/// PKCS#1 v1.5 puts `DigestInfo` (19 bytes of header + the digest) and at least 11 bytes of
/// padding in the modulus ([RFC 8017 §9.2](https://datatracker.ietf.org/doc/html/rfc8017#section-9.2)
/// step 3): say so, rather than let the signer fail with "message too long".
fn check_digest_fits(bits: usize, hash: SignatureHash) -> Result<()> {
    let (name, digest_len) = match hash {
        SignatureHash::Sha256 => ("SHA-256", 32),
        SignatureHash::Sha384 => ("SHA-384", 48),
        SignatureHash::Sha512 => ("SHA-512", 64),
    };
    let min_bytes = 19 + digest_len + 11;
    if bits.div_ceil(8) < min_bytes {
        return Err(KeyError::DigestTooLarge {
            bits,
            hash: name,
            min_bits: min_bytes * 8,
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::Error;
    use crate::key::KeySizePolicy;
    use crate::testing::{FailingRng, key, random_reason, rsa_crate_verifies};

    const MSG: &[u8] = b"the CertificationRequestInfo to be signed";

    #[test]
    fn a_digest_too_large_for_the_key_is_named_not_blamed_on_the_key() {
        let mut rng = ChaCha8Rng::seed_from_u64(512);
        let key =
            PrivateKey::generate_rsa_with_policy(&mut rng, 512, KeySizePolicy::InsecureLegacy)
                .unwrap();
        let (_, signature) = key.sign(SignatureHash::Sha256, MSG).unwrap();
        assert_eq!(signature.len(), 64);
        for (hash, name, min_bits) in [
            (SignatureHash::Sha384, "SHA-384", 624),
            (SignatureHash::Sha512, "SHA-512", 752),
        ] {
            let err = key.sign(hash, MSG).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Key(KeyError::DigestTooLarge { bits: 512, hash: h, min_bits: m })
                        if h == name && m == min_bits
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains("sign with SHA-256"), "{err}");
        }
        // The bound is exact: the `rsa` crate signs SHA-512 at 752 bits and refuses 744.
        for (bits, fits) in [(744, false), (752, true)] {
            let key =
                PrivateKey::generate_rsa_with_policy(&mut rng, bits, KeySizePolicy::InsecureLegacy);
            // 744 and 752 are outside the size policy: check the arithmetic on the rsa crate.
            assert!(key.is_err());
            let raw = rsa::PrivateKey::new_unchecked(&mut rng, bits).unwrap();
            let signed = raw.sign(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(MSG));
            assert_eq!(signed.is_ok(), fits, "{bits} bits");
        }
    }

    #[test]
    fn failing_random_source_is_a_typed_error_in_signing() {
        for hash in [
            SignatureHash::Sha256,
            SignatureHash::Sha384,
            SignatureHash::Sha512,
        ] {
            let reason =
                random_reason(key().sign_with_rng(&mut FailingRng { budget: 0 }, hash, MSG));
            assert_eq!(reason, "test entropy source is gone", "{hash:?}");
        }
    }

    /// The default path (the OS source, or aws-lc with its feature) and the `rsa` crate with a
    /// seeded source make the same bytes, with the algorithm identifier of the hash, and the
    /// signature verifies.
    #[test]
    fn default_signing_matches_the_rsa_crate_for_each_hash() {
        for hash in [
            SignatureHash::Sha256,
            SignatureHash::Sha384,
            SignatureHash::Sha512,
        ] {
            let (algorithm, signature) = key().sign(hash, MSG).unwrap();
            assert_eq!(algorithm.oid, hash.rsa_pkcs1v15_oid());
            assert_eq!(algorithm.parameters, Some(der::asn1::Null.into()));
            let (_, seeded) = key()
                .sign_with_rng(&mut ChaCha8Rng::seed_from_u64(3), hash, MSG)
                .unwrap();
            assert_eq!(signature, seeded, "{hash:?}");
            assert!(rsa_crate_verifies(key(), hash, MSG, &signature), "{hash:?}");
            assert!(!rsa_crate_verifies(key(), hash, b"other", &signature));
        }
    }
}
