//! ECDSA keys on P-256 and P-384 ([RFC 5480], [SEC1 v2]): generation, SEC1 `ECPrivateKey`
//! and PKCS#8 reading and writing, and signing (RFC 6979 deterministic ECDSA, through the
//! RustCrypto `p256` / `p384` crates; with feature `aws-lc-rs`, `key/aws_lc.rs` signs
//! instead).
//!
//! ```text
//! ECPrivateKey ::= SEQUENCE {
//!     version        INTEGER { ecPrivkeyVer1(1) },
//!     privateKey     OCTET STRING,
//!     parameters [0] ECParameters {{ NamedCurve }} OPTIONAL,
//!     publicKey  [1] BIT STRING OPTIONAL }
//! ```
//!
//! ([RFC 5915 §3].) In PKCS#8 the curve is the `namedCurve` parameter of `id-ecPublicKey`; a
//! curve named in both places must be the same, and an embedded public key must be the
//! private key's.
//!
//! [RFC 5480]: https://datatracker.ietf.org/doc/html/rfc5480
//! [RFC 5915 §3]: https://datatracker.ietf.org/doc/html/rfc5915#section-3
//! [SEC1 v2]: https://www.secg.org/sec1-v2.pdf

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::Decode;
use p256::elliptic_curve::Generate;
use pkcs8::{EncodePrivateKey, PrivateKeyInfoRef};
use rand::TryCryptoRng;
use signature::Signer;
use spki::{AlgorithmIdentifierOwned, EncodePublicKey};
use zeroize::Zeroizing;

use super::KeyType;
use crate::error::{EncodingError, KeyError, Result};

/// An ECDSA signing key on one of the supported curves. Both crates' keys zeroize their
/// scalar on drop.
#[derive(Clone)]
pub(super) enum EcKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl EcKey {
    /// A new key for `key_type` (an ECDSA type) from `rng`; `None` for an RSA type.
    pub(super) fn generate<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        key_type: KeyType,
    ) -> Option<core::result::Result<Self, R::Error>> {
        Some(match key_type {
            KeyType::EcdsaP256 => {
                p256::ecdsa::SigningKey::try_generate_from_rng(rng).map(Self::P256)
            }
            KeyType::EcdsaP384 => {
                p384::ecdsa::SigningKey::try_generate_from_rng(rng).map(Self::P384)
            }
            KeyType::Rsa { .. } => return None,
        })
    }

    /// The key from a PKCS#8 `PrivateKeyInfo` whose algorithm is `id-ecPublicKey`.
    pub(super) fn from_pkcs8(info: &PrivateKeyInfoRef<'_>) -> Result<Self> {
        let curve = match info.algorithm.parameters {
            None => {
                return Err(invalid(
                    "its id-ecPublicKey algorithm does not name the curve (ECParameters are \
                     required in PKCS#8)",
                ));
            }
            Some(p) => p.decode_as::<ObjectIdentifier>().map_err(|_| {
                invalid(
                    "its curve is given by explicit parameters, not by name; re-export it with \
                     a named curve (`openssl pkey -in KEY -out NEW` or `openssl ec \
                     -param_enc named_curve`)",
                )
            })?,
        };
        let key = Self::from_sec1(info.private_key.as_bytes(), Some(curve))?;
        if let Some(embedded) = info.public_key
            && Some(embedded.raw_bytes()) != key.public_point().as_deref()
        {
            return Err(invalid(
                "the public key embedded in the PKCS#8 v2 structure does not match the private \
                 key (a damaged or spliced file)",
            ));
        }
        Ok(key)
    }

    /// The key from SEC1 `ECPrivateKey` DER; `curve` is the one named outside it (PKCS#8's
    /// algorithm parameters), if any.
    pub(super) fn from_sec1(der: &[u8], curve: Option<ObjectIdentifier>) -> Result<Self> {
        let sec1 = sec1::EcPrivateKey::from_der(der)
            .map_err(|e| EncodingError::der("SEC1 EC private key", e))?;
        let inner = sec1
            .parameters
            .map(|sec1::EcParameters::NamedCurve(oid)| oid);
        let curve = match (curve, inner) {
            (Some(outer), Some(inner)) if outer != inner => {
                return Err(invalid(
                    "the curve named in its PKCS#8 algorithm differs from the one in its SEC1 \
                     structure (a damaged or spliced file)",
                ));
            }
            (Some(oid), _) | (None, Some(oid)) => oid,
            (None, None) => {
                return Err(invalid(
                    "the SEC1 key does not name its curve; export it again with its parameters \
                     (`openssl ec -param_enc named_curve`)",
                ));
            }
        };
        let bad = |_| {
            invalid(
                "its private scalar is not a valid scalar of its curve, or its embedded public key is not the private key's",
            )
        };
        let key = match curve {
            rfc5912::SECP_256_R_1 => {
                Self::P256(p256::SecretKey::try_from(sec1.clone()).map_err(bad)?.into())
            }
            rfc5912::SECP_384_R_1 => {
                Self::P384(p384::SecretKey::try_from(sec1.clone()).map_err(bad)?.into())
            }
            oid => return Err(KeyError::UnsupportedCurve { oid }.into()),
        };
        Ok(key)
    }

    pub(super) fn key_type(&self) -> KeyType {
        match self {
            Self::P256(_) => KeyType::EcdsaP256,
            Self::P384(_) => KeyType::EcdsaP384,
        }
    }

    /// The public key as DER `SubjectPublicKeyInfo`: `id-ecPublicKey` with the named curve and
    /// the uncompressed point, as OpenSSL writes it ([RFC 5480 §2]).
    ///
    /// [RFC 5480 §2]: https://datatracker.ietf.org/doc/html/rfc5480#section-2
    pub(super) fn public_key_der(&self) -> Result<Vec<u8>> {
        let der = match self {
            Self::P256(k) => k.verifying_key().to_public_key_der(),
            Self::P384(k) => k.verifying_key().to_public_key_der(),
        };
        der.map(|d| d.into_vec()).map_err(|e| {
            KeyError::Invalid {
                reason: format!("cannot encode its public key: {e}"),
            }
            .into()
        })
    }

    /// The uncompressed public point (`04 || x || y`).
    fn public_point(&self) -> Option<Vec<u8>> {
        let der = self.public_key_der().ok()?;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&der).ok()?;
        Some(spki.subject_public_key.raw_bytes().to_vec())
    }

    /// PKCS#8 `PrivateKeyInfo` DER (with the SEC1 key inside, its public key included, as
    /// `openssl genpkey` writes). Zeroized on drop.
    pub(super) fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = match self {
            Self::P256(k) => k.to_pkcs8_der(),
            Self::P384(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| KeyError::Invalid {
            reason: e.to_string(),
        })?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// Signs `message`: deterministic ECDSA ([RFC 6979]) with the curve's hash, the signature
    /// as DER `Ecdsa-Sig-Value`, the algorithm `ecdsa-with-SHA256` or `ecdsa-with-SHA384`
    /// with absent parameters ([RFC 5758 §3.2]).
    ///
    /// [RFC 6979]: https://datatracker.ietf.org/doc/html/rfc6979
    /// [RFC 5758 §3.2]: https://datatracker.ietf.org/doc/html/rfc5758#section-3.2
    pub(super) fn sign(&self, message: &[u8]) -> Result<(AlgorithmIdentifierOwned, Vec<u8>)> {
        let failed = |e: signature::Error| KeyError::Signing {
            reason: e.to_string(),
        };
        let signature = match self {
            Self::P256(k) => {
                let sig: p256::ecdsa::DerSignature = k.try_sign(message).map_err(failed)?;
                sig.to_bytes().to_vec()
            }
            Self::P384(k) => {
                let sig: p384::ecdsa::DerSignature = k.try_sign(message).map_err(failed)?;
                sig.to_bytes().to_vec()
            }
        };
        Ok((self.signature_algorithm(), signature))
    }

    /// `ecdsa-with-SHA256` (P-256) or `ecdsa-with-SHA384` (P-384), parameters absent.
    pub(super) fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            Self::P256(_) => rfc5912::ECDSA_WITH_SHA_256,
            Self::P384(_) => rfc5912::ECDSA_WITH_SHA_384,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }
}

/// The key as SEC1 `ECPrivateKey` DER, as `openssl ecparam -genkey` writes it (tests).
#[cfg(test)]
pub(super) fn sec1_der(key: &EcKey) -> Zeroizing<Vec<u8>> {
    match key {
        EcKey::P256(k) => p256::SecretKey::from(k).to_sec1_der().unwrap(),
        EcKey::P384(k) => p384::SecretKey::from(k).to_sec1_der().unwrap(),
    }
}

fn invalid(reason: &str) -> crate::Error {
    KeyError::Invalid {
        reason: reason.into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use der::Encode;
    use der::asn1::OctetStringRef;
    use p256::ecdsa::signature::Verifier;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use spki::AlgorithmIdentifierRef;

    use super::*;
    use crate::Error;
    use crate::key::{Inner, KeyPolicy, PrivateKey, SignatureHash};
    use crate::testing::{FAST_PBKDF2, FailingRng, random_reason};

    fn ec_key(key_type: KeyType, seed: u64) -> PrivateKey {
        PrivateKey::generate_with_rng(&mut ChaCha8Rng::seed_from_u64(seed), key_type).unwrap()
    }

    #[test]
    fn generation_is_seeded_and_typed() {
        for (key_type, bits, curve) in [
            (KeyType::EcdsaP256, 256, rfc5912::SECP_256_R_1),
            (KeyType::EcdsaP384, 384, rfc5912::SECP_384_R_1),
        ] {
            let key = ec_key(key_type, 1);
            assert_eq!(key.key_type(), key_type);
            assert_eq!(key.bits(), bits);
            assert_eq!(key, ec_key(key_type, 1));
            assert_ne!(key, ec_key(key_type, 2));
            let spki = spki::SubjectPublicKeyInfoRef::from_der(key.public_key_der()).unwrap();
            assert_eq!(spki.algorithm.oid, rfc5912::ID_EC_PUBLIC_KEY);
            assert_eq!(spki.algorithm.parameters_oid().unwrap(), curve);
            // Uncompressed point: 04 || x || y.
            assert_eq!(spki.subject_public_key.raw_bytes().len(), 1 + 2 * bits / 8);
            let debug = format!("{key:?}");
            assert!(debug.contains(&key_type.to_string()), "{debug}");
            let secret = hex::encode(&key.to_pkcs8_der().unwrap()[36..52]);
            assert!(!debug.contains(&secret), "{debug}");
            // Every policy allows both curves.
            for policy in [KeyPolicy::Standard, KeyPolicy::InsecureLegacy] {
                assert!(policy.check(key_type).is_ok());
            }
        }
        assert!(
            KeyPolicy::Standard
                .check(KeyType::Rsa { bits: 1024 })
                .is_err()
        );
        let reason = random_reason(PrivateKey::generate_with_rng(
            &mut FailingRng { budget: 0 },
            KeyType::EcdsaP256,
        ));
        assert_eq!(reason, "test entropy source is gone");
    }

    #[test]
    fn pkcs8_sec1_and_encrypted_round_trips() {
        for key_type in [KeyType::EcdsaP256, KeyType::EcdsaP384] {
            let key = ec_key(key_type, 3);
            let der = key.to_pkcs8_der().unwrap();
            assert_eq!(PrivateKey::from_der(&der).unwrap(), key);
            let pem = key.to_pkcs8_pem().unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            assert_eq!(PrivateKey::from_pem(&pem).unwrap(), key);

            let Inner::Ec(ec) = &key.inner else {
                panic!("not EC")
            };
            let sec1 = sec1_der(ec);
            assert_eq!(PrivateKey::from_der(&sec1).unwrap(), key);
            let sec1_pem =
                der::pem::encode_string("EC PRIVATE KEY", der::pem::LineEnding::LF, &sec1).unwrap();
            assert_eq!(PrivateKey::from_pem(&sec1_pem).unwrap(), key);

            let encrypted = key
                .to_encrypted_pkcs8_pem_with_rng(
                    &mut ChaCha8Rng::seed_from_u64(4),
                    "pw",
                    FAST_PBKDF2,
                )
                .unwrap();
            assert_eq!(
                PrivateKey::from_encrypted_pem(&encrypted, "pw").unwrap(),
                key
            );
            assert!(matches!(
                PrivateKey::from_encrypted_pem(&encrypted, "other"),
                Err(Error::Key(KeyError::WrongPassword))
            ));
        }
    }

    #[test]
    fn signatures_use_the_curves_hash_and_verify() {
        let msg = b"the CertificationRequestInfo to be signed";
        let key = ec_key(KeyType::EcdsaP256, 5);
        let (algorithm, signature) = key.sign(SignatureHash::Sha512, msg).unwrap();
        assert_eq!(algorithm.oid, rfc5912::ECDSA_WITH_SHA_256);
        assert_eq!(algorithm.parameters, None);
        let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public_point(&key)).unwrap();
        let sig = p256::ecdsa::DerSignature::from_bytes(&signature).unwrap();
        assert!(public.verify(msg, &sig).is_ok());
        assert!(public.verify(b"other", &sig).is_err());

        let key = ec_key(KeyType::EcdsaP384, 5);
        let (algorithm, signature) = key.sign(SignatureHash::Sha256, msg).unwrap();
        assert_eq!(algorithm.oid, rfc5912::ECDSA_WITH_SHA_384);
        let public = p384::ecdsa::VerifyingKey::from_sec1_bytes(&public_point(&key)).unwrap();
        let sig = p384::ecdsa::DerSignature::from_bytes(&signature).unwrap();
        assert!(public.verify(msg, &sig).is_ok());
    }

    fn public_point(key: &PrivateKey) -> Vec<u8> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(key.public_key_der()).unwrap();
        spki.subject_public_key.raw_bytes().to_vec()
    }

    /// A SEC1 key on `curve` with a scalar of `len` bytes of 1s.
    fn sec1_on(curve: Option<ObjectIdentifier>, len: usize) -> Vec<u8> {
        let scalar = vec![1u8; len];
        sec1::EcPrivateKey {
            private_key: &scalar,
            parameters: curve.map(sec1::EcParameters::NamedCurve),
            public_key: None,
        }
        .to_der()
        .unwrap()
    }

    fn pkcs8_ec(curve: ObjectIdentifier, sec1: &[u8]) -> Vec<u8> {
        let curve_der = curve.to_der().unwrap();
        let params = der::AnyRef::try_from(curve_der.as_slice()).unwrap();
        PrivateKeyInfoRef::new(
            AlgorithmIdentifierRef {
                oid: rfc5912::ID_EC_PUBLIC_KEY,
                parameters: Some(params),
            },
            OctetStringRef::new(sec1).unwrap(),
        )
        .to_der()
        .unwrap()
    }

    #[test]
    fn other_curves_are_named() {
        for (curve, name) in [
            (rfc5912::SECP_521_R_1, "secp521r1"),
            (ObjectIdentifier::new_unwrap("1.3.132.0.10"), "1.3.132.0.10"),
            (rfc5912::SECP_224_R_1, "secp224r1"),
        ] {
            for der in [
                sec1_on(Some(curve), 32),
                pkcs8_ec(curve, &sec1_on(None, 32)),
            ] {
                match PrivateKey::from_der(&der) {
                    Err(e @ Error::Key(KeyError::UnsupportedCurve { oid })) => {
                        assert_eq!(oid, curve);
                        let message = e.to_string();
                        assert!(message.contains(name), "{message}");
                        assert!(message.contains(&curve.to_string()), "{message}");
                    }
                    other => panic!("{name}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn inconsistent_ec_keys_are_refused() {
        let refused = |der: &[u8]| match PrivateKey::from_der(der) {
            Err(Error::Key(KeyError::Invalid { reason })) => reason,
            other => panic!("{other:?}"),
        };
        // No curve anywhere.
        assert!(refused(&sec1_on(None, 32)).contains("does not name its curve"));
        // Two different curves.
        let spliced = pkcs8_ec(
            rfc5912::SECP_384_R_1,
            &sec1_on(Some(rfc5912::SECP_256_R_1), 32),
        );
        assert!(refused(&spliced).contains("differs"));
        // A zero scalar, and a scalar too long for the curve.
        let zero = sec1::EcPrivateKey {
            private_key: &[0u8; 32],
            parameters: Some(sec1::EcParameters::NamedCurve(rfc5912::SECP_256_R_1)),
            public_key: None,
        }
        .to_der()
        .unwrap();
        assert!(refused(&zero).contains("scalar"));
        assert!(refused(&sec1_on(Some(rfc5912::SECP_256_R_1), 48)).contains("scalar"));
        // An embedded public key of another key.
        let other = public_point(&ec_key(KeyType::EcdsaP256, 9));
        let key = ec_key(KeyType::EcdsaP256, 8);
        let Inner::Ec(EcKey::P256(k)) = &key.inner else {
            panic!()
        };
        let scalar = k.to_bytes();
        let wrong = sec1::EcPrivateKey {
            private_key: &scalar,
            parameters: Some(sec1::EcParameters::NamedCurve(rfc5912::SECP_256_R_1)),
            public_key: Some(&other),
        }
        .to_der()
        .unwrap();
        assert!(refused(&wrong).contains("scalar"));
    }
}
