//! The key policy, [`KeyPolicy`] (which algorithms and sizes are allowed), and the checks a key's numbers pass before the
//! `rsa` crate does any arithmetic with them: the modulus size and the public exponent.
//!
//! The policy holds for generation **and** import: a 512-bit key read from a file is refused
//! under the default policy, exactly as if it had been requested from
//! [`PrivateKey::generate_rsa`](super::PrivateKey::generate_rsa).

use crate::error::{KeyError, Result};

/// What to do instead of any refused key size.
const USE_INSTEAD: &str = "use 2048, 3072 or 4096 bits";

/// Which keys are allowed, for generation and import: algorithms and sizes.
///
/// | Key | `Standard` | `InsecureLegacy` |
/// |---|---|---|
/// | RSA, 2048 to 16384 bits, a multiple of 8 | yes | yes |
/// | RSA, 512 or 1024 bits | no | yes |
/// | ECDSA P-256, P-384 | yes | yes |
/// | anything else (other curves, DSA, Ed25519) | no | no |
///
/// The other curves are refused on import with
/// [`KeyError::UnsupportedCurve`](crate::error::KeyError::UnsupportedCurve) whatever the
/// policy: the crate cannot sign with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyPolicy {
    /// RSA of 2048 to 16384 bits (a multiple of 8), ECDSA P-256 and P-384. The default.
    #[default]
    Standard,
    /// Also allows the legacy 512-bit (export-era) and 1024-bit sizes, and nothing else below
    /// 2048. **Insecure**: such keys can be factored; use only to interoperate with old systems
    /// you cannot change.
    InsecureLegacy,
}

/// The policy's former name, from when every key was RSA: the same type.
pub type KeySizePolicy = KeyPolicy;

impl KeyPolicy {
    /// Whether the policy allows a key of this type; a refusal ([`KeyError::SizeNotAllowed`])
    /// says why and what to use instead.
    pub fn check(self, key_type: super::KeyType) -> Result<()> {
        match key_type {
            super::KeyType::Rsa { bits } => check_size(bits, self),
            super::KeyType::EcdsaP256 | super::KeyType::EcdsaP384 => Ok(()),
        }
    }
}

/// Checks an RSA modulus size against the policy; every refusal says why and what to use
/// instead.
pub(super) fn check_size(bits: usize, policy: KeyPolicy) -> Result<()> {
    let legacy = policy == KeyPolicy::InsecureLegacy;
    let reason = match bits {
        _ if bits < 512 => format!(
            "no RSA key this small was ever in real use: the smallest, export-era RSA size is \
             512 bits (a \"40-bit\" export strength is a symmetric cipher key size, not an RSA \
             modulus), and no SHA-256 PKCS#1 v1.5 signature fits a modulus under 496 bits \
             (51 bytes of DigestInfo plus 11 of padding); {USE_INSTEAD}"
        ),
        512 | 1024 if legacy => return Ok(()),
        512 | 1024 => format!(
            "{}; {USE_INSTEAD} (KeySizePolicy::InsecureLegacy allows 512 and 1024 only to \
             interoperate with a system that cannot be changed)",
            if bits == 512 {
                "export-era 512-bit RSA is factored in hours of rented computing"
            } else {
                "1024-bit RSA is within reach of well-funded attackers, and CAs and browsers \
                 have refused it since 2013"
            }
        ),
        _ if bits < 2048 => format!(
            "below the 2048-bit minimum of NIST SP 800-131A and the CA/Browser Forum; \
             {USE_INSTEAD}{}",
            if legacy {
                " (KeySizePolicy::InsecureLegacy allows exactly 512 or 1024, nothing else \
                 below 2048)"
            } else {
                ""
            }
        ),
        _ if bits > 16384 => format!(
            "above the 16384-bit maximum: OpenSSL and most TLS stacks refuse larger keys and \
             every signature would take seconds; {USE_INSTEAD}"
        ),
        _ if !bits.is_multiple_of(8) => {
            format!("not a multiple of 8: interoperable RSA moduli are whole bytes; {USE_INSTEAD}")
        }
        _ => return Ok(()),
    };
    Err(KeyError::SizeNotAllowed { bits, reason }.into())
}

/// The bit width of an unsigned big-endian integer.
pub(super) fn bit_width(bytes: &[u8]) -> usize {
    let mut significant = bytes.iter().skip_while(|b| **b == 0);
    match significant.next() {
        None => 0,
        Some(first) => (significant.count() + 1) * 8 - first.leading_zeros() as usize,
    }
}

/// Checks the public exponent `e` before the `rsa` crate sees it: odd, at least 3, at most
/// `rsa::PublicKey::MAX_PUB_EXPONENT` (2^33 − 1, which also bounds the cost of verification).
pub(super) fn check_public_exponent(bytes: &[u8]) -> Result<()> {
    let width = bit_width(bytes);
    let problem = if width > 64 {
        Some(format!("{width} bits long"))
    } else {
        let e = bytes
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        if e < 3 {
            Some(format!("{e}, below 3"))
        } else if e % 2 == 0 {
            Some(format!("{e}, even"))
        } else if e > u128::from(rsa::PublicKey::MAX_PUB_EXPONENT) {
            Some(format!("{e}, above 2^33 - 1"))
        } else {
            None
        }
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(KeyError::Invalid {
            reason: format!(
                "its public exponent is {problem}; RSA keys use an odd exponent, normally 65537"
            ),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use der::pem::LineEnding;
    use der::{Decode, Encode};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::error::Error;
    use crate::key::PrivateKey;
    use crate::testing::{FAST_PBKDF2, small_key};

    fn size_refusal(result: Result<()>) -> (usize, String) {
        match result {
            Err(Error::Key(KeyError::SizeNotAllowed { bits, reason })) => (bits, reason),
            other => panic!("expected SizeNotAllowed, got {other:?}"),
        }
    }

    #[test]
    fn size_policy_matrix() {
        use KeyPolicy::{InsecureLegacy, Standard};
        let allowed = |bits, policy| check_size(bits, policy).is_ok();
        for bits in [2048, 2056, 3072, 4096, 8192, 16384] {
            assert!(allowed(bits, Standard), "{bits}");
            assert!(allowed(bits, InsecureLegacy), "{bits}");
        }
        for bits in [512, 1024] {
            assert!(!allowed(bits, Standard), "{bits}");
            assert!(allowed(bits, InsecureLegacy), "{bits}");
        }
        for bits in [
            0,
            40,
            495,
            511,
            513,
            768,
            1023,
            1025,
            1536,
            2040,
            2047,
            2049,
            4095,
            16385,
            16392,
            usize::MAX,
        ] {
            assert!(!allowed(bits, Standard), "{bits}");
            assert!(!allowed(bits, InsecureLegacy), "{bits}");
        }
    }

    #[test]
    fn every_size_refusal_says_what_to_use_instead() {
        for (bits, policy) in [
            (40, KeySizePolicy::Standard),
            (511, KeySizePolicy::InsecureLegacy),
            (512, KeySizePolicy::Standard),
            (1024, KeySizePolicy::Standard),
            (2047, KeySizePolicy::Standard),
            (1536, KeySizePolicy::InsecureLegacy),
            (2049, KeySizePolicy::Standard),
            (16392, KeySizePolicy::Standard),
        ] {
            let (got, reason) = size_refusal(check_size(bits, policy));
            assert_eq!(got, bits);
            assert!(reason.contains("2048, 3072 or 4096"), "{bits}: {reason}");
        }
        let (_, tiny) = size_refusal(check_size(40, KeySizePolicy::InsecureLegacy));
        assert!(
            tiny.contains("40-bit") && tiny.contains("496") && tiny.contains("512"),
            "{tiny}"
        );
        let (_, legacy) = size_refusal(check_size(1024, KeySizePolicy::Standard));
        assert!(legacy.contains("InsecureLegacy"), "{legacy}");
        let (_, odd) = size_refusal(check_size(2049, KeySizePolicy::Standard));
        assert!(odd.contains("multiple of 8"), "{odd}");
        let (_, huge) = size_refusal(check_size(16392, KeySizePolicy::Standard));
        assert!(huge.contains("16384"), "{huge}");
    }

    #[test]
    fn generation_refuses_before_doing_work() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for bits in [256, 511, 513, 1024, 2047, 2049, 16392] {
            let err = PrivateKey::generate_rsa_with_rng(&mut rng, bits).unwrap_err();
            assert!(
                matches!(err, Error::Key(KeyError::SizeNotAllowed { bits: b, .. }) if b == bits)
            );
        }
        let err =
            PrivateKey::generate_rsa_with_policy(&mut rng, 768, KeySizePolicy::InsecureLegacy)
                .unwrap_err();
        assert!(matches!(
            err,
            Error::Key(KeyError::SizeNotAllowed { bits: 768, .. })
        ));
    }

    #[test]
    fn legacy_sizes_generate_only_under_insecure_legacy() {
        assert_eq!(small_key().bits(), 512);
        let k1024 = PrivateKey::generate_rsa_with_policy(
            &mut ChaCha8Rng::seed_from_u64(4),
            1024,
            KeySizePolicy::InsecureLegacy,
        )
        .unwrap();
        assert_eq!(k1024.bits(), 1024);
    }

    #[test]
    fn import_applies_the_size_policy() {
        let der = small_key().to_pkcs8_der().unwrap();
        let err = PrivateKey::from_der(&der).unwrap_err();
        assert!(
            matches!(err, Error::Key(KeyError::SizeNotAllowed { bits: 512, .. })),
            "{err:?}"
        );
        let ok = PrivateKey::from_der_with_policy(&der, KeySizePolicy::InsecureLegacy).unwrap();
        assert_eq!(&ok, small_key());

        use pkcs1::EncodeRsaPrivateKey;
        let pem = small_key()
            .rsa()
            .unwrap()
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap();
        assert!(matches!(
            PrivateKey::from_pem(&pem),
            Err(Error::Key(KeyError::SizeNotAllowed { bits: 512, .. }))
        ));
        assert!(PrivateKey::from_pem_with_policy(&pem, KeySizePolicy::InsecureLegacy).is_ok());

        let encrypted = small_key()
            .to_encrypted_pkcs8_der_with_rng(&mut ChaCha8Rng::seed_from_u64(5), "pw", FAST_PBKDF2)
            .unwrap();
        assert!(matches!(
            PrivateKey::from_encrypted_der(&encrypted, "pw"),
            Err(Error::Key(KeyError::SizeNotAllowed { bits: 512, .. }))
        ));
        assert!(
            PrivateKey::from_encrypted_der_with_policy(
                &encrypted,
                "pw",
                KeySizePolicy::InsecureLegacy
            )
            .is_ok()
        );
    }

    #[test]
    fn bad_public_exponents_are_refused_before_rsa_sees_them() {
        use pkcs1::EncodeRsaPrivateKey;
        let good = small_key().rsa().unwrap().to_pkcs1_der().unwrap();
        let parsed = pkcs1::RsaPrivateKeyRef::from_der(good.as_bytes()).unwrap();
        for (e, what) in [
            (&[1u8][..], "below 3"),
            (&[0x01, 0x00, 0x02], "even"),
            (&[0x04, 0x00, 0x00, 0x00, 0x01], "above"),
            (&[0x01; 9], "65 bits"),
        ] {
            let mut key = parsed.clone();
            key.public_exponent = der::asn1::UintRef::new(e).unwrap();
            let der = key.to_der().unwrap();
            match PrivateKey::from_der_with_policy(&der, KeySizePolicy::InsecureLegacy) {
                Err(Error::Key(KeyError::Invalid { reason })) => {
                    assert!(
                        reason.contains(what) && reason.contains("65537"),
                        "{reason}"
                    )
                }
                other => panic!("{e:?}: {other:?}"),
            }
        }
        // A consistent-looking key whose d does not match: rsa's own validation, typed.
        let mut key = parsed.clone();
        key.public_exponent = der::asn1::UintRef::new(&[3]).unwrap();
        assert!(matches!(
            PrivateKey::from_der_with_policy(&key.to_der().unwrap(), KeySizePolicy::InsecureLegacy),
            Err(Error::Key(KeyError::Invalid { .. }))
        ));
    }

    #[test]
    fn bit_width_of_big_endian_bytes() {
        assert_eq!(bit_width(&[]), 0);
        assert_eq!(bit_width(&[0, 0]), 0);
        assert_eq!(bit_width(&[1]), 1);
        assert_eq!(bit_width(&[0, 0x80, 0]), 16);
        assert_eq!(bit_width(&[0x7f, 0xff]), 15);
    }
}
