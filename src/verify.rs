//! Checking X.509 / PKCS#10 signatures: the one place that maps an `AlgorithmIdentifier` and a
//! `SubjectPublicKeyInfo` to a verifier. Signing is the key's job (`key/sign.rs`); this module
//! reads keys and never the other way round. RSA-PSS lives in `verify/pss.rs`, ECDSA in
//! `verify/ecdsa.rs`.
//!
//! Supported signature algorithms:
//!
//! | algorithm | OID | parameters |
//! |---|---|---|
//! | `sha1WithRSAEncryption` ... `sha512WithRSAEncryption` (PKCS#1 v1.5, SHA-1/224/256/384/512) | 1.2.840.113549.1.1.{5,14,11,12,13} | `NULL` or absent ([RFC 4055 §5]) |
//! | `id-RSASSA-PSS` | 1.2.840.113549.1.1.10 | `RSASSA-PSS-params` ([RFC 4055 §3.1]) |
//! | `ecdsa-with-SHA224` ... `ecdsa-with-SHA512` on P-256 and P-384 | 1.2.840.10045.4.3.{1,2,3,4} | absent ([RFC 5758 §3.2]) |
//!
//! ```text
//! RSASSA-PSS-params  ::=  SEQUENCE  {
//!     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
//!     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
//!     saltLength         [2] INTEGER DEFAULT 20,
//!     trailerField       [3] INTEGER DEFAULT 1  }
//! ```
//!
//! For RSA-PSS, the hash may be SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512; the mask generation
//! function must be MGF1 with the same hash (what every implementation emits; [RFC 4055 §3.1]
//! recommends it); the salt length from the parameters is enforced exactly, it is not
//! auto-detected. RSA public keys may have 512 to 16384-bit moduli (legacy and large keys; the
//! `rsa` crate's default window is 1024 to 8192).
//!
//! [RFC 4055 §3.1]: https://datatracker.ietf.org/doc/html/rfc4055#section-3.1
//! [RFC 4055 §5]: https://datatracker.ietf.org/doc/html/rfc4055#section-5
//! [RFC 5758 §3.2]: https://datatracker.ietf.org/doc/html/rfc5758#section-3.2

mod ecdsa;
mod pss;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{AnyRef, UintRef};
use der::{Decode, Tagged};
use rsa::pkcs1::RsaPublicKeyRef;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::{BoxedUint, PublicKey};
use sha1::Sha1;
use sha2::digest::const_oid::AssociatedOid;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use crate::error::{Result, SignatureError};

/// Smallest RSA modulus, in bits, whose signatures we check (legacy 512-bit keys).
const MIN_RSA_BITS: usize = 512;

/// Largest RSA modulus, in bits, whose signatures we check.
const MAX_RSA_BITS: usize = 16384;

/// Verifies `signature` over `message`, made with `algorithm` by the key in `spki_der`.
///
/// Errors: [`SignatureError::UnsupportedAlgorithm`] (naming the OID) for an algorithm not in the
/// table above, [`SignatureError::BadParameters`] for malformed or inconsistent parameters,
/// [`SignatureError::BadKey`] / [`SignatureError::UnsupportedCurve`] when the key cannot be
/// used or is not of the algorithm's type, [`SignatureError::Invalid`] when the signature does
/// not verify.
pub(crate) fn verify_signature(
    spki_der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let scheme = Scheme::from_algorithm(algorithm)?;
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| SignatureError::BadKey {
        reason: format!("malformed SubjectPublicKeyInfo: {e}"),
    })?;
    let ok = match scheme {
        Scheme::RsaPkcs1v15(hash) => {
            let key = rsa_key(&spki, false)?;
            rsa_pkcs1v15(&key, hash, message, signature)
        }
        Scheme::RsaPss {
            hash,
            mgf_hash,
            salt_len,
        } => pss::verify(&spki, hash, mgf_hash, salt_len, message, signature)?,
        Scheme::Ecdsa(hash) => ecdsa::verify(&spki, hash, message, signature)?,
    };
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Invalid.into())
    }
}

/// A hash function a signature we check may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The hash named by a hash `AlgorithmIdentifier` OID ([RFC 5754 §2]).
    ///
    /// [RFC 5754 §2]: https://datatracker.ietf.org/doc/html/rfc5754#section-2
    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        Some(match oid {
            rfc5912::ID_SHA_1 => Self::Sha1,
            rfc5912::ID_SHA_224 => Self::Sha224,
            rfc5912::ID_SHA_256 => Self::Sha256,
            rfc5912::ID_SHA_384 => Self::Sha384,
            rfc5912::ID_SHA_512 => Self::Sha512,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(message).to_vec(),
            Self::Sha224 => Sha224::digest(message).to_vec(),
            Self::Sha256 => Sha256::digest(message).to_vec(),
            Self::Sha384 => Sha384::digest(message).to_vec(),
            Self::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

/// A signature algorithm with its parameters parsed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    RsaPkcs1v15(Hash),
    RsaPss {
        hash: Hash,
        mgf_hash: Hash,
        salt_len: usize,
    },
    Ecdsa(Hash),
}

impl Scheme {
    fn from_algorithm(algorithm: &AlgorithmIdentifierOwned) -> Result<Self> {
        let pkcs1 = |hash| {
            null_or_absent(
                algorithm.parameters.as_ref().map(AnyRef::from),
                "PKCS#1 v1.5",
            )?;
            Ok(Self::RsaPkcs1v15(hash))
        };
        let ecdsa = |hash| {
            // RFC 5758 §3.2: the parameters MUST be absent; we also tolerate NULL.
            null_or_absent(algorithm.parameters.as_ref().map(AnyRef::from), "ECDSA")?;
            Ok(Self::Ecdsa(hash))
        };
        match algorithm.oid {
            rfc5912::SHA_1_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha1),
            rfc5912::SHA_224_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha224),
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha256),
            rfc5912::SHA_384_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha384),
            rfc5912::SHA_512_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha512),
            rfc5912::ID_RSASSA_PSS => pss::scheme(algorithm),
            rfc5912::ECDSA_WITH_SHA_224 => ecdsa(Hash::Sha224),
            rfc5912::ECDSA_WITH_SHA_256 => ecdsa(Hash::Sha256),
            rfc5912::ECDSA_WITH_SHA_384 => ecdsa(Hash::Sha384),
            rfc5912::ECDSA_WITH_SHA_512 => ecdsa(Hash::Sha512),
            oid => Err(SignatureError::UnsupportedAlgorithm { oid }.into()),
        }
    }
}

/// Checks that algorithm parameters are absent or `NULL`.
fn null_or_absent(parameters: Option<AnyRef<'_>>, what: &str) -> Result<()> {
    match parameters {
        None => Ok(()),
        Some(p) if p.is_null() => Ok(()),
        Some(p) => Err(SignatureError::BadParameters {
            reason: format!(
                "{what} parameters must be NULL or absent, found a {} value",
                p.tag()
            ),
        }
        .into()),
    }
}

/// Decodes an RSA public key, allowing 512- to 16384-bit moduli.
///
/// `rsaEncryption` keys serve both schemes; `id-RSASSA-PSS` keys only RSA-PSS
/// ([RFC 4055 §1.2]).
///
/// [RFC 4055 §1.2]: https://datatracker.ietf.org/doc/html/rfc4055#section-1.2
fn rsa_key(spki: &SubjectPublicKeyInfoRef<'_>, pss: bool) -> Result<PublicKey> {
    let bad = |reason: String| SignatureError::BadKey { reason };
    match spki.algorithm.oid {
        rfc5912::RSA_ENCRYPTION => {}
        rfc5912::ID_RSASSA_PSS if pss => {}
        rfc5912::ID_RSASSA_PSS => {
            return Err(bad(
                "the key is an RSASSA-PSS key (1.2.840.113549.1.1.10), which may only make RSA-PSS signatures, but the signature is PKCS#1 v1.5".into(),
            )
            .into());
        }
        oid => {
            return Err(bad(format!(
                "the signature algorithm is RSA but the key is {} ({oid})",
                key_kind(&spki.algorithm)
            ))
            .into());
        }
    }
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad("the public key BIT STRING has unused bits".into()))?;
    let pkcs1 =
        RsaPublicKeyRef::from_der(bits).map_err(|e| bad(format!("malformed RSAPublicKey: {e}")))?;
    let n = uint(pkcs1.modulus)?;
    let e = uint(pkcs1.public_exponent)?;
    PublicKey::new_with_size_limits(n, e, MIN_RSA_BITS..=MAX_RSA_BITS).map_err(|e| {
        bad(format!(
            "unusable RSA public key ({e}); moduli of {MIN_RSA_BITS} to {MAX_RSA_BITS} bits are supported"
        ))
        .into()
    })
}

/// A DER INTEGER as a `BoxedUint`, refusing sizes no supported key has before allocating.
fn uint(value: UintRef<'_>) -> Result<BoxedUint> {
    let bytes = value.as_bytes();
    if bytes.len() > MAX_RSA_BITS / 8 {
        return Err(SignatureError::BadKey {
            reason: format!(
                "RSA key component of {} bits is over the {MAX_RSA_BITS}-bit limit",
                bytes.len() * 8
            ),
        }
        .into());
    }
    // Cannot overflow: at most MAX_RSA_BITS bits, checked above.
    let bits = u32::try_from(bytes.len() * 8).unwrap_or(u32::MAX);
    BoxedUint::from_be_slice(bytes, bits).map_err(|e| {
        SignatureError::BadKey {
            reason: format!("RSA key component: {e}"),
        }
        .into()
    })
}

/// A human name for a key algorithm, for error messages.
fn key_kind(algorithm: &AlgorithmIdentifierRef<'_>) -> &'static str {
    match algorithm.oid {
        rfc5912::RSA_ENCRYPTION | rfc5912::ID_RSASSA_PSS => "an RSA key",
        rfc5912::ID_EC_PUBLIC_KEY => "an elliptic-curve key",
        _ => "a key of another type",
    }
}

fn rsa_pkcs1v15(key: &PublicKey, hash: Hash, message: &[u8], signature: &[u8]) -> bool {
    fn check<D: Digest + AssociatedOid>(key: &PublicKey, msg: &[u8], sig: &[u8]) -> bool {
        key.verify(Pkcs1v15Sign::new::<D>(), &D::digest(msg), sig)
            .is_ok()
    }
    match hash {
        Hash::Sha1 => check::<Sha1>(key, message, signature),
        Hash::Sha224 => check::<Sha224>(key, message, signature),
        Hash::Sha256 => check::<Sha256>(key, message, signature),
        Hash::Sha384 => check::<Sha384>(key, message, signature),
        Hash::Sha512 => check::<Sha512>(key, message, signature),
    }
}

#[cfg(test)]
mod tests {
    use der::Encode;
    use der::asn1::{Any, BitString, Null};
    use pkcs8::EncodePublicKey;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rsa::pkcs1::RsaPssParamsRef;
    use rsa::pss::Pss;
    use sha2::digest::FixedOutputReset;
    use spki::SubjectPublicKeyInfoOwned;

    use super::*;
    use crate::Error;
    use crate::key::SignatureHash;
    use crate::testing::key;

    pub(super) const MSG: &[u8] = b"the CertificationRequestInfo to be signed";

    pub(super) fn alg(oid: ObjectIdentifier, parameters: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned { oid, parameters }
    }

    pub(super) fn null() -> Option<Any> {
        Some(Null.into())
    }

    pub(super) fn pkcs1_sign<D: Digest + AssociatedOid>(msg: &[u8]) -> Vec<u8> {
        key()
            .rsa()
            .unwrap()
            .sign_with_rng(
                &mut ChaCha8Rng::seed_from_u64(2),
                Pkcs1v15Sign::new::<D>(),
                &D::digest(msg),
            )
            .unwrap()
    }

    pub(super) fn pss_sign<D: Digest + FixedOutputReset>(msg: &[u8], salt_len: usize) -> Vec<u8> {
        key()
            .rsa()
            .unwrap()
            .sign_with_rng(
                &mut ChaCha8Rng::seed_from_u64(3),
                Pss::<D>::new_with_salt(salt_len),
                &D::digest(msg),
            )
            .unwrap()
    }

    pub(super) fn pss_alg<D: AssociatedOid>(salt_len: u8) -> AlgorithmIdentifierOwned {
        let params = RsaPssParamsRef::new::<D>(salt_len).to_der().unwrap();
        alg(
            rfc5912::ID_RSASSA_PSS,
            Some(Any::from_der(&params).unwrap()),
        )
    }

    pub(super) fn check(
        spki: &[u8],
        alg: &AlgorithmIdentifierOwned,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<()> {
        verify_signature(spki, alg, msg, sig)
    }

    pub(super) fn is_invalid(r: Result<()>) -> bool {
        matches!(r, Err(Error::Signature(SignatureError::Invalid)))
    }

    pub(super) fn tampered(sig: &[u8]) -> Vec<u8> {
        let mut t = sig.to_vec();
        t[10] ^= 0x01;
        t
    }

    pub(super) fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    pub(super) fn p384_key() -> p384::ecdsa::SigningKey {
        p384::ecdsa::SigningKey::from_slice(&[9u8; 48]).unwrap()
    }

    #[test]
    fn rsa_pkcs1v15_all_hashes() {
        let spki = key().public_key_der();
        let cases: [(ObjectIdentifier, Vec<u8>); 5] = [
            (rfc5912::SHA_1_WITH_RSA_ENCRYPTION, pkcs1_sign::<Sha1>(MSG)),
            (
                rfc5912::SHA_224_WITH_RSA_ENCRYPTION,
                pkcs1_sign::<Sha224>(MSG),
            ),
            (
                rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                pkcs1_sign::<Sha256>(MSG),
            ),
            (
                rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
                pkcs1_sign::<Sha384>(MSG),
            ),
            (
                rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
                pkcs1_sign::<Sha512>(MSG),
            ),
        ];
        for (oid, sig) in &cases {
            check(spki, &alg(*oid, null()), MSG, sig).unwrap();
            // Absent parameters are tolerated (RFC 4055 §5 says NULL, some encoders omit it).
            check(spki, &alg(*oid, None), MSG, sig).unwrap();
            assert!(
                is_invalid(check(spki, &alg(*oid, null()), MSG, &tampered(sig))),
                "{oid}"
            );
            assert!(
                is_invalid(check(spki, &alg(*oid, null()), b"other", sig)),
                "{oid}"
            );
        }
        // A SHA-256 signature presented as SHA-384 does not verify.
        assert!(is_invalid(check(
            spki,
            &alg(rfc5912::SHA_384_WITH_RSA_ENCRYPTION, null()),
            MSG,
            &cases[2].1
        )));
        // Wrong-length and empty signatures are Invalid, not a panic.
        let alg256 = alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, null());
        assert!(is_invalid(check(spki, &alg256, MSG, &cases[2].1[1..])));
        assert!(is_invalid(check(spki, &alg256, MSG, &[])));
        assert!(is_invalid(check(spki, &alg256, MSG, &[0xff; 256])));
    }

    #[test]
    fn pkcs1v15_parameters_must_be_null_or_absent() {
        let sig = pkcs1_sign::<Sha256>(MSG);
        let weird = alg(
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            Some(Any::from_der(&rfc5912::ID_SHA_256.to_der().unwrap()).unwrap()),
        );
        assert!(matches!(
            check(key().public_key_der(), &weird, MSG, &sig),
            Err(Error::Signature(SignatureError::BadParameters { .. }))
        ));
    }

    #[test]
    fn key_and_algorithm_type_mismatch_is_bad_key() {
        let ec = p256_key().verifying_key().to_public_key_der().unwrap();
        let sig = pkcs1_sign::<Sha256>(MSG);
        let bad_key =
            |r: Result<()>| matches!(r, Err(Error::Signature(SignatureError::BadKey { .. })));
        assert!(bad_key(check(
            ec.as_bytes(),
            &alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, null()),
            MSG,
            &sig
        )));
        assert!(bad_key(check(
            ec.as_bytes(),
            &pss_alg::<Sha256>(32),
            MSG,
            &sig
        )));
        assert!(bad_key(check(
            key().public_key_der(),
            &alg(rfc5912::ECDSA_WITH_SHA_256, None),
            MSG,
            &sig
        )));
        // Garbage instead of a SubjectPublicKeyInfo.
        assert!(bad_key(check(
            b"garbage",
            &alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, null()),
            MSG,
            &sig
        )));
    }

    #[test]
    fn unsupported_algorithms_and_curves_name_the_oid() {
        let sig = pkcs1_sign::<Sha256>(MSG);
        for oid in [
            "1.2.840.113549.1.1.4", // md5WithRSAEncryption
            "1.3.101.112",          // Ed25519
            "1.2.840.10040.4.3",    // dsa-with-sha1
            "1.2.840.113549.1.1.1", // rsaEncryption is a key, not a signature algorithm
        ] {
            let oid = ObjectIdentifier::new_unwrap(oid);
            match check(key().public_key_der(), &alg(oid, None), MSG, &sig) {
                Err(e @ Error::Signature(SignatureError::UnsupportedAlgorithm { .. })) => {
                    assert!(e.to_string().contains(&oid.to_string()), "{e}");
                }
                other => panic!("{oid}: {other:?}"),
            }
        }
        // A P-521 key: typed, naming the curve.
        let p256 = p256_key().verifying_key().to_public_key_der().unwrap();
        let mut spki = SubjectPublicKeyInfoOwned::from_der(p256.as_bytes()).unwrap();
        spki.algorithm.parameters =
            Some(Any::from_der(&rfc5912::SECP_521_R_1.to_der().unwrap()).unwrap());
        let der = spki.to_der().unwrap();
        match check(&der, &alg(rfc5912::ECDSA_WITH_SHA_256, None), MSG, &sig) {
            Err(e @ Error::Signature(SignatureError::UnsupportedCurve { .. })) => {
                assert!(e.to_string().contains("1.3.132.0.35"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A SubjectPublicKeyInfo for an RSA key with an arbitrary (odd) modulus of `bits` bits.
    fn synthetic_rsa_spki(bits: usize) -> Vec<u8> {
        let mut n = vec![0xc5u8; bits / 8];
        n[0] = 0x80 | 0x45;
        if let Some(last) = n.last_mut() {
            *last |= 1;
        }
        let pkcs1 = rsa::pkcs1::RsaPublicKey {
            modulus: UintRef::new(&n).unwrap(),
            public_exponent: UintRef::new(&[1, 0, 1]).unwrap(),
        }
        .to_der()
        .unwrap();
        SubjectPublicKeyInfoOwned {
            algorithm: alg(rfc5912::RSA_ENCRYPTION, null()),
            subject_public_key: BitString::from_bytes(&pkcs1).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn rsa_key_sizes_512_to_16384_are_accepted() {
        let a = alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, null());
        // Keys the rsa crate refuses by default (< 1024, > 8192 bits) get to signature checking.
        for bits in [512, 12288, 16384] {
            let spki = synthetic_rsa_spki(bits);
            let sig = vec![0x01; bits / 8];
            assert!(is_invalid(check(&spki, &a, MSG, &sig)), "{bits}");
        }
        for bits in [504, 16392] {
            let spki = synthetic_rsa_spki(bits);
            let sig = vec![0x01; bits / 8];
            assert!(
                matches!(
                    check(&spki, &a, MSG, &sig),
                    Err(Error::Signature(SignatureError::BadKey { .. }))
                ),
                "{bits}"
            );
        }
    }

    #[test]
    fn legacy_512_bit_key_signature_verifies() {
        let rsa512 =
            rsa::PrivateKey::new_unchecked(&mut ChaCha8Rng::seed_from_u64(5), 512).unwrap();
        let spki = rsa512.to_public_key().to_public_key_der().unwrap();
        let sig = rsa512
            .sign_with_rng(
                &mut ChaCha8Rng::seed_from_u64(6),
                Pkcs1v15Sign::new::<Sha1>(),
                &Sha1::digest(MSG),
            )
            .unwrap();
        let a = alg(rfc5912::SHA_1_WITH_RSA_ENCRYPTION, null());
        check(spki.as_bytes(), &a, MSG, &sig).unwrap();
        assert!(is_invalid(check(spki.as_bytes(), &a, MSG, &tampered(&sig))));
    }

    /// What our keys sign (`key/sign.rs`) verifies here, for each hash, and a changed
    /// signature does not.
    #[test]
    fn signatures_our_keys_make_verify_for_each_hash() {
        for hash in [
            SignatureHash::Sha256,
            SignatureHash::Sha384,
            SignatureHash::Sha512,
        ] {
            let (alg, sig) = key().sign(hash, MSG).unwrap();
            check(key().public_key_der(), &alg, MSG, &sig).unwrap();
            assert!(is_invalid(check(
                key().public_key_der(),
                &alg,
                MSG,
                &tampered(&sig)
            )));
        }
    }
}
