//! Checking X.509 / PKCS#10 signatures: the one place that maps an `AlgorithmIdentifier` and a
//! `SubjectPublicKeyInfo` to a verifier, and that signs with our RSA keys.
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

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{AnyRef, UintRef};
use der::{Decode, Reader, TagMode, TagNumber, Tagged};
use rand::TryCryptoRng;
use rand::rngs::SysRng;
use rsa::pkcs1::RsaPublicKeyRef;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pss::Pss;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PublicKey};
use sha1::Sha1;
use sha2::digest::const_oid::AssociatedOid;
use sha2::digest::{Digest, FixedOutputReset};
use sha2::{Sha224, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use crate::error::{KeyError, Result, SignatureError};
use crate::key::{PrivateKey, Recording};

/// Smallest RSA modulus, in bits, whose signatures we check (legacy 512-bit keys).
const MIN_RSA_BITS: usize = 512;

/// Largest RSA modulus, in bits, whose signatures we check.
const MAX_RSA_BITS: usize = 16384;

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
}

/// Verifies `signature` over `message`, made with `algorithm` by the key in `spki_der`.
///
/// Errors: [`SignatureError::UnsupportedAlgorithm`] (naming the OID) for an algorithm not in the
/// table above, [`SignatureError::BadParameters`] for malformed or inconsistent parameters,
/// [`SignatureError::BadKey`] / [`SignatureError::UnsupportedCurve`] when the key cannot be
/// used or is not of the algorithm's type, [`SignatureError::Invalid`] when the signature does
/// not verify.
pub(crate) fn verify(
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
        } => {
            let key = rsa_key(&spki, true)?;
            check_pss_key_restrictions(&spki, hash, mgf_hash, salt_len)?;
            if hash == mgf_hash {
                rsa_pss(&key, hash, salt_len, message, signature)
            } else {
                rsa_pss_mixed(&key, hash, mgf_hash, salt_len, message, signature)
            }
        }
        Scheme::Ecdsa(hash) => ecdsa(&spki, hash, message, signature)?,
    };
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Invalid.into())
    }
}

/// Signs `message` with `key`, RSA PKCS#1 v1.5 with `hash` ([RFC 8017 §8.2]); returns the
/// `AlgorithmIdentifier` (with `NULL` parameters, [RFC 4055 §5]) and the signature.
///
/// The private-key operation is blinded with randomness from the operating system's random
/// source ([`rand::rngs::SysRng`]); if it fails, this is [`KeyError::Random`].
///
/// [RFC 8017 §8.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-8.2
/// [RFC 4055 §5]: https://datatracker.ietf.org/doc/html/rfc4055#section-5
pub(crate) fn sign_rsa(
    key: &PrivateKey,
    hash: SignatureHash,
    message: &[u8],
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>)> {
    check_digest_fits(key, hash)?;
    // The optional faster backend (feature `aws-lc-rs`, keys of 2048 bits and more).
    if let Some(signature) = crate::backend::sign_pkcs1v15(key, hash, message) {
        return Ok((rsa_pkcs1v15_algorithm(hash), signature?));
    }
    sign_rsa_with(&mut SysRng, key, hash, message)
}

/// [`sign_rsa`] with the `rsa` crate, blinding randomness from `rng`; its failure is
/// [`KeyError::Random`].
pub(crate) fn sign_rsa_with<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    key: &PrivateKey,
    hash: SignatureHash,
    message: &[u8],
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>)> {
    let rsa = key.rsa();
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
    let signature = signed.map_err(|e| rng.error_or(e, |reason| KeyError::Signing { reason }))?;
    Ok((rsa_pkcs1v15_algorithm(hash), signature))
}

/// PKCS#1 v1.5 puts `DigestInfo` (19 bytes of header + the digest) and at least 11 bytes of
/// padding in the modulus ([RFC 8017 §9.2](https://datatracker.ietf.org/doc/html/rfc8017#section-9.2)
/// step 3): say so, rather than let the signer fail with "message too long".
fn check_digest_fits(key: &PrivateKey, hash: SignatureHash) -> Result<()> {
    let (name, digest_len) = match hash {
        SignatureHash::Sha256 => ("SHA-256", 32),
        SignatureHash::Sha384 => ("SHA-384", 48),
        SignatureHash::Sha512 => ("SHA-512", 64),
    };
    let min_bytes = 19 + digest_len + 11;
    if key.bits().div_ceil(8) < min_bytes {
        return Err(KeyError::DigestTooLarge {
            bits: key.bits(),
            hash: name,
            min_bits: min_bytes * 8,
        }
        .into());
    }
    Ok(())
}

/// The `AlgorithmIdentifier` of RSA PKCS#1 v1.5 with `hash`, `NULL` parameters.
fn rsa_pkcs1v15_algorithm(hash: SignatureHash) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: hash.rsa_pkcs1v15_oid(),
        parameters: Some(der::asn1::Null.into()),
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
            rfc5912::ID_RSASSA_PSS => pss_params(algorithm),
            rfc5912::ECDSA_WITH_SHA_224 => ecdsa(Hash::Sha224),
            rfc5912::ECDSA_WITH_SHA_256 => ecdsa(Hash::Sha256),
            rfc5912::ECDSA_WITH_SHA_384 => ecdsa(Hash::Sha384),
            rfc5912::ECDSA_WITH_SHA_512 => ecdsa(Hash::Sha512),
            oid => Err(SignatureError::UnsupportedAlgorithm { oid }.into()),
        }
    }
}

/// Parses and checks the `RSASSA-PSS-params` of a signature algorithm ([RFC 4055 §3.1]).
///
/// [RFC 4055 §3.1]: https://datatracker.ietf.org/doc/html/rfc4055#section-3.1
fn pss_params(algorithm: &AlgorithmIdentifierOwned) -> Result<Scheme> {
    let params = algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| SignatureError::BadParameters {
            reason:
                "RSASSA-PSS requires RSASSA-PSS-params in the signature algorithm (RFC 4055 §3.1)"
                    .into(),
        })?;
    let params = parse_pss_params(params.into())?;
    Ok(Scheme::RsaPss {
        hash: params.hash,
        mgf_hash: params.mgf_hash,
        salt_len: params.salt_len,
    })
}

/// `RSASSA-PSS-params`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PssParams {
    hash: Hash,
    mgf_hash: Hash,
    salt_len: usize,
}

/// Parses `RSASSA-PSS-params`: the hash and the MGF1 hash (each SHA-1/224/256/384/512), the
/// salt length; the trailer field must be `trailerFieldBC` (1).
///
/// The MGF1 hash is usually the message hash ([RFC 4055 §3.1] recommends it), but OpenSSL
/// keeps MGF1-SHA-1 when only the message hash of an RSA-PSS key is set, so both are read.
///
/// The structure is decoded here rather than with `pkcs1::RsaPssParams`, whose salt length is
/// a `u8`: OpenSSL 3.0 signs with `rsa_padding_mode:pss` using the longest salt the key allows
/// by default, 350 bytes for a 3072-bit key with SHA-256.
///
/// [RFC 4055 §3.1]: https://datatracker.ietf.org/doc/html/rfc4055#section-3.1
fn parse_pss_params(params: AnyRef<'_>) -> Result<PssParams> {
    let bad = |reason: String| SignatureError::BadParameters { reason };
    let (hash_alg, mask_gen, salt_len, trailer) = params
        .sequence(|r| {
            let hash: Option<AlgorithmIdentifierRef<'_>> =
                r.context_specific(TagNumber(0), TagMode::Explicit)?;
            let mask_gen: Option<AlgorithmIdentifierRef<'_>> =
                r.context_specific(TagNumber(1), TagMode::Explicit)?;
            let salt_len: Option<u32> = r.context_specific(TagNumber(2), TagMode::Explicit)?;
            let trailer: Option<u32> = r.context_specific(TagNumber(3), TagMode::Explicit)?;
            Ok::<_, der::Error>((hash, mask_gen, salt_len, trailer))
        })
        .map_err(|e| bad(format!("malformed RSASSA-PSS-params: {e}")))?;
    let supported = |oid: ObjectIdentifier, what: &str| {
        Hash::from_oid(oid).ok_or_else(|| {
            bad(format!(
                "{what} {oid} is not supported: use SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512"
            ))
        })
    };
    // hashAlgorithm DEFAULT sha1Identifier.
    let hash = match hash_alg {
        None => Hash::Sha1,
        Some(alg) => {
            null_or_absent(alg.parameters, "the RSASSA-PSS hash")?;
            supported(alg.oid, "RSASSA-PSS hash")?
        }
    };
    // maskGenAlgorithm DEFAULT mgf1SHA1Identifier.
    let mgf_hash = match mask_gen {
        None => Hash::Sha1,
        Some(mask_gen) => {
            if mask_gen.oid != rfc5912::ID_MGF_1 {
                return Err(bad(format!(
                    "RSASSA-PSS mask generation function {} is not supported: only MGF1 (1.2.840.113549.1.1.8)",
                    mask_gen.oid
                ))
                .into());
            }
            let mgf = mask_gen
                .parameters
                .ok_or_else(|| bad("MGF1 without a hash algorithm parameter".into()))?
                .decode_as::<AlgorithmIdentifierRef<'_>>()
                .map_err(|e| bad(format!("malformed MGF1 hash algorithm: {e}")))?;
            null_or_absent(mgf.parameters, "the MGF1 hash")?;
            supported(mgf.oid, "MGF1 hash")?
        }
    };
    // saltLength DEFAULT 20; no supported key has room for a salt longer than its modulus.
    let salt = salt_len.unwrap_or(20);
    let salt_len = usize::try_from(salt)
        .ok()
        .filter(|&s| s <= MAX_RSA_BITS / 8)
        .ok_or_else(|| {
            bad(format!(
                "RSASSA-PSS salt length {salt} is longer than any supported key ({MAX_RSA_BITS} bits) can hold"
            ))
        })?;
    // trailerField DEFAULT trailerFieldBC (1), the only one defined.
    if let Some(trailer) = trailer.filter(|&t| t != 1) {
        return Err(bad(format!(
            "RSASSA-PSS trailer field {trailer} is not supported: only trailerFieldBC (1) is defined"
        ))
        .into());
    }
    Ok(PssParams {
        hash,
        mgf_hash,
        salt_len,
    })
}

/// Checks an RSA-PSS signature's parameters against those an `id-RSASSA-PSS` key may carry:
/// the same hash (and MGF1 hash), a salt at least as long ([RFC 4055 §3.1]).
///
/// [RFC 4055 §3.1]: https://datatracker.ietf.org/doc/html/rfc4055#section-3.1
fn check_pss_key_restrictions(
    spki: &SubjectPublicKeyInfoRef<'_>,
    hash: Hash,
    mgf_hash: Hash,
    salt_len: usize,
) -> Result<()> {
    if spki.algorithm.oid != rfc5912::ID_RSASSA_PSS {
        return Ok(());
    }
    let Some(params) = spki.algorithm.parameters else {
        return Ok(());
    };
    let key = parse_pss_params(params).map_err(|e| SignatureError::BadKey {
        reason: format!("the RSASSA-PSS key's parameters are unusable: {e}"),
    })?;
    if key.hash != hash || key.mgf_hash != mgf_hash {
        return Err(SignatureError::BadParameters {
            reason: format!(
                "the RSASSA-PSS key is restricted to {} with MGF1-{} but the signature uses {} with MGF1-{}",
                key.hash.name(),
                key.mgf_hash.name(),
                hash.name(),
                mgf_hash.name()
            ),
        }
        .into());
    }
    if salt_len < key.salt_len {
        return Err(SignatureError::BadParameters {
            reason: format!(
                "the RSASSA-PSS key requires a salt of at least {} bytes, the signature states {salt_len}",
                key.salt_len
            ),
        }
        .into());
    }
    Ok(())
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

fn rsa_pss(key: &PublicKey, hash: Hash, salt_len: usize, message: &[u8], sig: &[u8]) -> bool {
    fn check<D: Digest + FixedOutputReset>(
        key: &PublicKey,
        salt_len: usize,
        msg: &[u8],
        sig: &[u8],
    ) -> bool {
        // An explicit salt length: the signature must use exactly this one (no auto-detection).
        key.verify(Pss::<D>::new_with_salt(salt_len), &D::digest(msg), sig)
            .is_ok()
    }
    match hash {
        Hash::Sha1 => check::<Sha1>(key, salt_len, message, sig),
        Hash::Sha224 => check::<Sha224>(key, salt_len, message, sig),
        Hash::Sha256 => check::<Sha256>(key, salt_len, message, sig),
        Hash::Sha384 => check::<Sha384>(key, salt_len, message, sig),
        Hash::Sha512 => check::<Sha512>(key, salt_len, message, sig),
    }
}

/// RSASSA-PSS verification ([RFC 8017 §8.1.2], EMSA-PSS-VERIFY §9.1.2) for the case the `rsa`
/// crate does not cover: an MGF1 hash different from the message hash. Only public data is
/// handled here, so nothing needs to be constant-time.
///
/// [RFC 8017 §8.1.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-8.1.2
fn rsa_pss_mixed(
    key: &PublicKey,
    hash: Hash,
    mgf_hash: Hash,
    salt_len: usize,
    message: &[u8],
    signature: &[u8],
) -> bool {
    // §8.1.2 step 1: the signature has exactly k octets.
    if signature.len() != key.size() {
        return false;
    }
    // Step 2: s = OS2IP(S) < n, m = RSAVP1(s), EM = I2OSP(m, emLen).
    let Ok(s) = BoxedUint::from_be_slice(signature, key.n_bits_precision()) else {
        return false;
    };
    if s >= *key.n().as_ref() {
        return false;
    }
    let Ok(m) = rsa::hazmat::rsa_encrypt(key, &s) else {
        return false;
    };
    let em_bits = key.n().bit_width() as usize - 1;
    let em_len = em_bits.div_ceil(8);
    let m = m.to_be_bytes();
    let Some(split) = m.len().checked_sub(em_len) else {
        return false;
    };
    let (high, em) = m.split_at(split);
    if high.iter().any(|&b| b != 0) {
        return false;
    }
    emsa_pss_verify(em, em_bits, hash, mgf_hash, salt_len, &hash.digest(message))
}

/// EMSA-PSS-VERIFY ([RFC 8017 §9.1.2]) with separate message and MGF1 hashes.
///
/// [RFC 8017 §9.1.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-9.1.2
fn emsa_pss_verify(
    em: &[u8],
    em_bits: usize,
    hash: Hash,
    mgf_hash: Hash,
    salt_len: usize,
    m_hash: &[u8],
) -> bool {
    let em_len = em.len();
    let h_len = m_hash.len();
    // Step 3: emLen >= hLen + sLen + 2 (checked: sLen comes from the signer's parameters).
    if h_len
        .checked_add(salt_len)
        .and_then(|n| n.checked_add(2))
        .is_none_or(|min| em_len < min)
    {
        return false;
    }
    // Step 4: the trailer is 0xbc.
    let Some((&0xbc, body)) = em.split_last() else {
        return false;
    };
    // Step 5: maskedDB || H.
    let (masked_db, h) = body.split_at(em_len - h_len - 1);
    // Step 6: the leftmost 8·emLen − emBits bits of maskedDB are zero.
    let top_mask = 0xffu8 >> (8 * em_len - em_bits);
    if masked_db.first().is_some_and(|&b| b & !top_mask != 0) {
        return false;
    }
    // Steps 7-9: DB = maskedDB xor MGF1(H), with the top bits cleared.
    let mut db = mgf1(mgf_hash, h, masked_db.len());
    for (d, m) in db.iter_mut().zip(masked_db) {
        *d ^= m;
    }
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    // Step 10: PS (zeros) || 0x01 || salt. In range: db.len() = emLen - hLen - 1 > ps_len,
    // and the subtraction cannot underflow after the step 3 check.
    let ps_len = em_len - h_len - salt_len - 2;
    if db[..ps_len].iter().any(|&b| b != 0) || db[ps_len] != 0x01 {
        return false;
    }
    // Steps 11-14: H' = Hash(0x00 × 8 || mHash || salt) equals H.
    let salt = &db[ps_len + 1..];
    let mut m_prime = Vec::with_capacity(8 + h_len + salt_len);
    m_prime.extend_from_slice(&[0u8; 8]);
    m_prime.extend_from_slice(m_hash);
    m_prime.extend_from_slice(salt);
    hash.digest(&m_prime) == h
}

/// MGF1 ([RFC 8017 §B.2.1]): `len` bytes of Hash(seed || counter) blocks.
///
/// [RFC 8017 §B.2.1]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-B.2.1
fn mgf1(hash: Hash, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut counter: u32 = 0;
    let mut block = Vec::with_capacity(seed.len() + 4);
    while out.len() < len {
        block.clear();
        block.extend_from_slice(seed);
        block.extend_from_slice(&counter.to_be_bytes());
        out.extend_from_slice(&hash.digest(&block));
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// ECDSA ([RFC 5758 §3.2]) on P-256 or P-384, with a DER `Ecdsa-Sig-Value`.
///
/// [RFC 5758 §3.2]: https://datatracker.ietf.org/doc/html/rfc5758#section-3.2
fn ecdsa(
    spki: &SubjectPublicKeyInfoRef<'_>,
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> Result<bool> {
    let bad = |reason: String| SignatureError::BadKey { reason };
    if spki.algorithm.oid != rfc5912::ID_EC_PUBLIC_KEY {
        return Err(bad(format!(
            "the signature algorithm is ECDSA but the key is {} ({})",
            key_kind(&spki.algorithm),
            spki.algorithm.oid
        ))
        .into());
    }
    let curve = spki
        .algorithm
        .parameters_oid()
        .map_err(|e| bad(format!("the EC key does not name its curve: {e}")))?;
    let prehash = hash.digest(message);
    let bad_key = |e: spki::Error| bad(format!("malformed EC public key: {e}"));
    let ok = match curve {
        rfc5912::SECP_256_R_1 => {
            let key = p256::ecdsa::VerifyingKey::try_from(spki.clone()).map_err(bad_key)?;
            p256::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|sig| key.verify_prehash(&prehash, &sig).is_ok())
        }
        rfc5912::SECP_384_R_1 => {
            let key = p384::ecdsa::VerifyingKey::try_from(spki.clone()).map_err(bad_key)?;
            p384::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|sig| key.verify_prehash(&prehash, &sig).is_ok())
        }
        oid => {
            return Err(SignatureError::UnsupportedCurve { oid }.into());
        }
    };
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use der::Encode;
    use der::asn1::{Any, BitString, Null};
    use p256::ecdsa::signature::Signer;
    use pkcs8::EncodePublicKey;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rsa::pkcs1::RsaPssParamsRef;
    use signature::hazmat::PrehashSigner;
    use spki::SubjectPublicKeyInfoOwned;

    use super::*;
    use crate::Error;
    use crate::testing::FailingRng;

    const MSG: &[u8] = b"the CertificationRequestInfo to be signed";

    #[test]
    fn a_digest_too_large_for_the_key_is_named_not_blamed_on_the_key() {
        let mut rng = ChaCha8Rng::seed_from_u64(512);
        let key = PrivateKey::generate_rsa_with_policy(
            &mut rng,
            512,
            crate::KeySizePolicy::InsecureLegacy,
        )
        .unwrap();
        let (_, signature) = sign_rsa(&key, SignatureHash::Sha256, MSG).unwrap();
        assert_eq!(signature.len(), 64);
        for (hash, name, min_bits) in [
            (SignatureHash::Sha384, "SHA-384", 624),
            (SignatureHash::Sha512, "SHA-512", 752),
        ] {
            let err = sign_rsa(&key, hash, MSG).unwrap_err();
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
            let key = PrivateKey::generate_rsa_with_policy(
                &mut rng,
                bits,
                crate::KeySizePolicy::InsecureLegacy,
            );
            // 744 and 752 are outside the size policy: check the arithmetic on the rsa crate.
            assert!(key.is_err());
            let raw = rsa::PrivateKey::new_unchecked(&mut rng, bits).unwrap();
            let signed = raw.sign(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(MSG));
            assert_eq!(signed.is_ok(), fits, "{bits} bits");
        }
    }

    fn key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(1), 2048).unwrap()
        })
    }

    #[test]
    fn failing_random_source_is_a_typed_error_in_signing() {
        for hash in [
            SignatureHash::Sha256,
            SignatureHash::Sha384,
            SignatureHash::Sha512,
        ] {
            match sign_rsa_with(&mut FailingRng { budget: 0 }, key(), hash, MSG) {
                Err(Error::Key(KeyError::Random { reason })) => {
                    assert_eq!(reason, "test entropy source is gone")
                }
                other => panic!("expected KeyError::Random for {hash:?}, got {other:?}"),
            }
        }
        // The default path (the OS source) signs, and the signature verifies.
        let (algorithm, signature) = sign_rsa(key(), SignatureHash::Sha256, MSG).unwrap();
        assert_eq!(algorithm.oid, SignatureHash::Sha256.rsa_pkcs1v15_oid());
        verify(key().public_key_der(), &algorithm, MSG, &signature).unwrap();
    }

    fn alg(oid: ObjectIdentifier, parameters: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned { oid, parameters }
    }

    fn null() -> Option<Any> {
        Some(Null.into())
    }

    fn pkcs1_sign<D: Digest + AssociatedOid>(msg: &[u8]) -> Vec<u8> {
        key()
            .rsa()
            .sign_with_rng(
                &mut ChaCha8Rng::seed_from_u64(2),
                Pkcs1v15Sign::new::<D>(),
                &D::digest(msg),
            )
            .unwrap()
    }

    fn pss_sign<D: Digest + FixedOutputReset>(msg: &[u8], salt_len: usize) -> Vec<u8> {
        key()
            .rsa()
            .sign_with_rng(
                &mut ChaCha8Rng::seed_from_u64(3),
                Pss::<D>::new_with_salt(salt_len),
                &D::digest(msg),
            )
            .unwrap()
    }

    fn pss_alg<D: AssociatedOid>(salt_len: u8) -> AlgorithmIdentifierOwned {
        let params = RsaPssParamsRef::new::<D>(salt_len).to_der().unwrap();
        alg(
            rfc5912::ID_RSASSA_PSS,
            Some(Any::from_der(&params).unwrap()),
        )
    }

    fn check(spki: &[u8], alg: &AlgorithmIdentifierOwned, msg: &[u8], sig: &[u8]) -> Result<()> {
        verify(spki, alg, msg, sig)
    }

    fn is_invalid(r: Result<()>) -> bool {
        matches!(r, Err(Error::Signature(SignatureError::Invalid)))
    }

    fn tampered(sig: &[u8]) -> Vec<u8> {
        let mut t = sig.to_vec();
        t[10] ^= 0x01;
        t
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
    fn sign_rsa_round_trips_for_each_hash() {
        for hash in [
            SignatureHash::Sha256,
            SignatureHash::Sha384,
            SignatureHash::Sha512,
        ] {
            let (alg, sig) = sign_rsa(key(), hash, MSG).unwrap();
            assert_eq!(alg.oid, hash.rsa_pkcs1v15_oid());
            assert_eq!(alg.parameters, null());
            check(key().public_key_der(), &alg, MSG, &sig).unwrap();
            assert!(is_invalid(check(
                key().public_key_der(),
                &alg,
                MSG,
                &tampered(&sig)
            )));
        }
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
    fn rsa_pss_hashes_and_salt_lengths() {
        let spki = key().public_key_der();
        let s256 = pss_sign::<Sha256>(MSG, 32);
        check(spki, &pss_alg::<Sha256>(32), MSG, &s256).unwrap();
        assert!(is_invalid(check(
            spki,
            &pss_alg::<Sha256>(32),
            MSG,
            &tampered(&s256)
        )));
        let s384 = pss_sign::<Sha384>(MSG, 48);
        check(spki, &pss_alg::<Sha384>(48), MSG, &s384).unwrap();
        let s512 = pss_sign::<Sha512>(MSG, 64);
        check(spki, &pss_alg::<Sha512>(64), MSG, &s512).unwrap();
        let s1 = pss_sign::<Sha1>(MSG, 20);
        check(spki, &pss_alg::<Sha1>(20), MSG, &s1).unwrap();
        // Salt length 0 (deterministic PSS) works too.
        let s0 = pss_sign::<Sha256>(MSG, 0);
        check(spki, &pss_alg::<Sha256>(0), MSG, &s0).unwrap();
        // The salt length in the parameters is enforced, not auto-detected.
        assert!(is_invalid(check(spki, &pss_alg::<Sha256>(20), MSG, &s256)));
        assert!(is_invalid(check(spki, &pss_alg::<Sha256>(32), MSG, &s0)));
        // The hash in the parameters is enforced.
        assert!(is_invalid(check(spki, &pss_alg::<Sha384>(32), MSG, &s256)));
        // A PSS signature is not a PKCS#1 v1.5 signature.
        assert!(is_invalid(check(
            spki,
            &alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, null()),
            MSG,
            &s256
        )));
    }

    /// Our EMSA-PSS-VERIFY (used when the MGF1 hash differs) agrees with the `rsa` crate's
    /// signer when both hashes are the same.
    #[test]
    fn own_pss_verifier_agrees_with_the_rsa_crate() {
        let public = key().rsa().to_public_key();
        let cases = [
            (Hash::Sha256, 32, pss_sign::<Sha256>(MSG, 32)),
            (Hash::Sha256, 0, pss_sign::<Sha256>(MSG, 0)),
            (Hash::Sha384, 48, pss_sign::<Sha384>(MSG, 48)),
            (Hash::Sha512, 64, pss_sign::<Sha512>(MSG, 64)),
            (Hash::Sha1, 20, pss_sign::<Sha1>(MSG, 20)),
        ];
        for (hash, salt, sig) in &cases {
            assert!(
                rsa_pss_mixed(&public, *hash, *hash, *salt, MSG, sig),
                "{hash:?}"
            );
            assert!(!rsa_pss_mixed(&public, *hash, *hash, *salt, b"other", sig));
            assert!(!rsa_pss_mixed(
                &public,
                *hash,
                *hash,
                *salt,
                MSG,
                &tampered(sig)
            ));
            assert!(!rsa_pss_mixed(&public, *hash, *hash, salt + 1, MSG, sig));
            assert!(!rsa_pss_mixed(
                &public,
                *hash,
                Hash::Sha224,
                *salt,
                MSG,
                sig
            ));
            assert!(!rsa_pss_mixed(&public, *hash, *hash, *salt, MSG, &sig[1..]));
        }
        // Absurd salt lengths and garbage are refused without a panic.
        assert!(!rsa_pss_mixed(
            &public,
            Hash::Sha512,
            Hash::Sha1,
            255,
            MSG,
            &[0xbc; 256]
        ));
        assert!(!rsa_pss_mixed(
            &public,
            Hash::Sha256,
            Hash::Sha1,
            0,
            MSG,
            &[0xff; 256]
        ));
        assert!(!rsa_pss_mixed(
            &public,
            Hash::Sha256,
            Hash::Sha1,
            0,
            MSG,
            &[]
        ));
    }

    #[test]
    fn rsa_pss_default_parameters_mean_sha1_salt_20() {
        // An empty RSASSA-PSS-params SEQUENCE means SHA-1, MGF1-SHA-1, salt 20.
        let empty = alg(
            rfc5912::ID_RSASSA_PSS,
            Some(Any::from_der(&[0x30, 0x00]).unwrap()),
        );
        let s1 = pss_sign::<Sha1>(MSG, 20);
        check(key().public_key_der(), &empty, MSG, &s1).unwrap();
    }

    /// `RSASSA-PSS-params` made of the given DER fields, as an `AnyRef`-decodable `Any`.
    fn pss_params_der(fields: &[&[u8]]) -> Any {
        Any::new(der::Tag::Sequence, fields.concat()).unwrap()
    }

    const PSS_SHA256: &[u8] = &[
        0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00,
    ];
    const PSS_MGF1_SHA256: &[u8] = &[
        0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    ];

    /// Salt lengths above 255 (OpenSSL 3.0's default for 3072-bit keys is 350) are read; the
    /// salt length is bounded by the largest key, the trailer field must be 1, and malformed
    /// fields are parameter errors, never panics.
    #[test]
    fn rsa_pss_params_salt_lengths_and_trailer_field() {
        let parse = |fields: &[&[u8]]| parse_pss_params((&pss_params_der(fields)).into());
        let bad = |r: Result<PssParams>| match r {
            Err(e @ Error::Signature(SignatureError::BadParameters { .. })) => e.to_string(),
            other => panic!("expected BadParameters, got {other:?}"),
        };
        let p = parse(&[
            PSS_SHA256,
            PSS_MGF1_SHA256,
            &[0xa2, 0x04, 0x02, 0x02, 0x01, 0x5e],
        ])
        .unwrap();
        assert_eq!(
            p,
            PssParams {
                hash: Hash::Sha256,
                mgf_hash: Hash::Sha256,
                salt_len: 350
            }
        );
        // The largest salt any 16384-bit key could hold, and one more.
        let max = parse(&[
            PSS_SHA256,
            PSS_MGF1_SHA256,
            &[0xa2, 0x04, 0x02, 0x02, 0x08, 0x00],
        ]);
        assert_eq!(max.unwrap().salt_len, 2048);
        let over = bad(parse(&[
            PSS_SHA256,
            PSS_MGF1_SHA256,
            &[0xa2, 0x04, 0x02, 0x02, 0x08, 0x01],
        ]));
        assert!(over.contains("2049"), "{over}");
        // 2^32 and a negative salt length.
        bad(parse(&[&[
            0xa2, 0x07, 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00,
        ]]));
        bad(parse(&[&[0xa2, 0x03, 0x02, 0x01, 0xff]]));
        // Trailer field: 1 (explicit) is fine, 2 is refused by number.
        let explicit = parse(&[PSS_SHA256, PSS_MGF1_SHA256, &[0xa3, 0x03, 0x02, 0x01, 0x01]]);
        assert_eq!(explicit.unwrap().salt_len, 20);
        let trailer = bad(parse(&[&[0xa3, 0x03, 0x02, 0x01, 0x02]]));
        assert!(trailer.contains("trailer field 2"), "{trailer}");
        // A field after trailerField, fields out of order, MGF1 whose parameter is not an
        // AlgorithmIdentifier.
        bad(parse(&[
            &[0xa3, 0x03, 0x02, 0x01, 0x01],
            &[0xa4, 0x02, 0x05, 0x00],
        ]));
        bad(parse(&[PSS_MGF1_SHA256, PSS_SHA256]));
        bad(parse(&[&[
            0xa1, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
            0x08, 0x05, 0x00,
        ]]));
    }

    #[test]
    fn rsa_pss_inconsistent_parameters_are_refused() {
        let spki = key().public_key_der();
        let sig = pss_sign::<Sha256>(MSG, 32);
        let bad_params = |a: &AlgorithmIdentifierOwned| {
            matches!(
                check(spki, a, MSG, &sig),
                Err(Error::Signature(SignatureError::BadParameters { .. }))
            )
        };
        // Missing parameters.
        assert!(bad_params(&alg(rfc5912::ID_RSASSA_PSS, None)));
        // NULL instead of a SEQUENCE.
        assert!(bad_params(&alg(rfc5912::ID_RSASSA_PSS, null())));
        // An unknown MGF1 hash.
        let mut mgf_md5 = RsaPssParamsRef::new::<Sha256>(32);
        mgf_md5.mask_gen.parameters = Some(AlgorithmIdentifierRef {
            oid: ObjectIdentifier::new_unwrap("1.2.840.113549.2.5"),
            parameters: None,
        });
        let der = mgf_md5.to_der().unwrap();
        assert!(bad_params(&alg(
            rfc5912::ID_RSASSA_PSS,
            Some(Any::from_der(&der).unwrap())
        )));
        // An MGF1 hash differing from the message hash is supported, so a signature made with
        // MGF1-SHA-256 does not verify as MGF1-SHA-384: Invalid, not a parameter error.
        let mut mixed = RsaPssParamsRef::new::<Sha256>(32);
        mixed.mask_gen = RsaPssParamsRef::new::<Sha384>(32).mask_gen;
        let der = mixed.to_der().unwrap();
        let mixed = alg(rfc5912::ID_RSASSA_PSS, Some(Any::from_der(&der).unwrap()));
        assert!(is_invalid(check(spki, &mixed, MSG, &sig)));
        // An unknown hash.
        let mut md5 = RsaPssParamsRef::new::<Sha256>(32);
        md5.hash.oid = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
        md5.mask_gen.parameters = Some(md5.hash);
        let der = md5.to_der().unwrap();
        assert!(bad_params(&alg(
            rfc5912::ID_RSASSA_PSS,
            Some(Any::from_der(&der).unwrap())
        )));
        // An unknown mask generation function.
        let mut mgf = RsaPssParamsRef::new::<Sha256>(32);
        mgf.mask_gen.oid = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.99");
        let der = mgf.to_der().unwrap();
        assert!(bad_params(&alg(
            rfc5912::ID_RSASSA_PSS,
            Some(Any::from_der(&der).unwrap())
        )));
    }

    /// Our test key's SubjectPublicKeyInfo relabelled as an `id-RSASSA-PSS` key.
    fn pss_key_spki(params: Option<Any>) -> Vec<u8> {
        let mut spki = SubjectPublicKeyInfoOwned::from_der(key().public_key_der()).unwrap();
        spki.algorithm = alg(rfc5912::ID_RSASSA_PSS, params);
        spki.to_der().unwrap()
    }

    #[test]
    fn rsa_pss_keys_and_their_restrictions() {
        let sig = pss_sign::<Sha256>(MSG, 32);
        let restricted = |hash_salt: AlgorithmIdentifierOwned| pss_key_spki(hash_salt.parameters);
        // Unrestricted id-RSASSA-PSS key: any PSS signature.
        check(&pss_key_spki(None), &pss_alg::<Sha256>(32), MSG, &sig).unwrap();
        // Restricted to SHA-256 with salt >= 20: a 32-byte salt is fine.
        check(
            &restricted(pss_alg::<Sha256>(20)),
            &pss_alg::<Sha256>(32),
            MSG,
            &sig,
        )
        .unwrap();
        let bad_params = |r: Result<()>| {
            matches!(
                r,
                Err(Error::Signature(SignatureError::BadParameters { .. }))
            )
        };
        // Restricted to SHA-384: a SHA-256 signature is refused.
        assert!(bad_params(check(
            &restricted(pss_alg::<Sha384>(32)),
            &pss_alg::<Sha256>(32),
            MSG,
            &sig
        )));
        // Restricted to salt >= 48: a 32-byte salt is refused.
        assert!(bad_params(check(
            &restricted(pss_alg::<Sha256>(48)),
            &pss_alg::<Sha256>(32),
            MSG,
            &sig
        )));
        // A PSS key cannot make PKCS#1 v1.5 signatures.
        assert!(matches!(
            check(
                &pss_key_spki(None),
                &alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, null()),
                MSG,
                &pkcs1_sign::<Sha256>(MSG)
            ),
            Err(Error::Signature(SignatureError::BadKey { .. }))
        ));
    }

    fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    fn p384_key() -> p384::ecdsa::SigningKey {
        p384::ecdsa::SigningKey::from_slice(&[9u8; 48]).unwrap()
    }

    #[test]
    fn ecdsa_p256_and_p384() {
        let k256 = p256_key();
        let spki256 = k256.verifying_key().to_public_key_der().unwrap();
        let sig: p256::ecdsa::DerSignature = k256.sign(MSG);
        let a256 = alg(rfc5912::ECDSA_WITH_SHA_256, None);
        check(spki256.as_bytes(), &a256, MSG, sig.as_bytes()).unwrap();
        assert!(is_invalid(check(
            spki256.as_bytes(),
            &a256,
            b"other",
            sig.as_bytes()
        )));
        assert!(is_invalid(check(
            spki256.as_bytes(),
            &a256,
            MSG,
            &tampered(sig.as_bytes())
        )));
        assert!(is_invalid(check(
            spki256.as_bytes(),
            &a256,
            MSG,
            b"not DER"
        )));

        let k384 = p384_key();
        let spki384 = k384.verifying_key().to_public_key_der().unwrap();
        let sig: p384::ecdsa::DerSignature = k384.sign(MSG);
        let a384 = alg(rfc5912::ECDSA_WITH_SHA_384, None);
        check(spki384.as_bytes(), &a384, MSG, sig.as_bytes()).unwrap();
        assert!(is_invalid(check(
            spki384.as_bytes(),
            &a384,
            b"other",
            sig.as_bytes()
        )));
        // A P-384 signature does not verify under the P-256 key.
        assert!(is_invalid(check(
            spki256.as_bytes(),
            &a384,
            MSG,
            sig.as_bytes()
        )));
    }

    #[test]
    fn ecdsa_with_other_hashes() {
        let k = p256_key();
        let spki = k.verifying_key().to_public_key_der().unwrap();
        let sig: p256::ecdsa::DerSignature = k.sign_prehash(&Sha384::digest(MSG)).unwrap();
        check(
            spki.as_bytes(),
            &alg(rfc5912::ECDSA_WITH_SHA_384, None),
            MSG,
            sig.as_bytes(),
        )
        .unwrap();
        assert!(is_invalid(check(
            spki.as_bytes(),
            &alg(rfc5912::ECDSA_WITH_SHA_256, None),
            MSG,
            sig.as_bytes()
        )));
        let k = p384_key();
        let spki = k.verifying_key().to_public_key_der().unwrap();
        let sig: p384::ecdsa::DerSignature = k.sign_prehash(&Sha512::digest(MSG)).unwrap();
        check(
            spki.as_bytes(),
            &alg(rfc5912::ECDSA_WITH_SHA_512, None),
            MSG,
            sig.as_bytes(),
        )
        .unwrap();
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

    /// A 512-bit key has a 64-byte encoded message: no room for a SHA-512 hash plus the two
    /// fixed bytes (hLen > emLen - 2), nor for a long salt. Both PSS verifiers say "invalid",
    /// never panic, whatever the signature bytes.
    #[test]
    fn rsa_pss_with_no_room_in_a_small_modulus_is_invalid() {
        let rsa512 =
            rsa::PrivateKey::new_unchecked(&mut ChaCha8Rng::seed_from_u64(5), 512).unwrap();
        let public = rsa512.to_public_key();
        let spki = public.to_public_key_der().unwrap();
        // SHA-256 with the longest salt that fits (64 - 32 - 2 = 30) works...
        let sig = rsa512
            .sign_with_rng(
                &mut ChaCha8Rng::seed_from_u64(6),
                Pss::<Sha256>::new_with_salt(30),
                &Sha256::digest(MSG),
            )
            .unwrap();
        check(spki.as_bytes(), &pss_alg::<Sha256>(30), MSG, &sig).unwrap();
        assert!(rsa_pss_mixed(
            &public,
            Hash::Sha256,
            Hash::Sha256,
            30,
            MSG,
            &sig
        ));
        // ... one byte more of salt does not fit.
        assert!(is_invalid(check(
            spki.as_bytes(),
            &pss_alg::<Sha256>(31),
            MSG,
            &sig
        )));
        assert!(!rsa_pss_mixed(
            &public,
            Hash::Sha256,
            Hash::Sha256,
            31,
            MSG,
            &sig
        ));
        for bytes in [sig.clone(), vec![0xbc; 64], vec![0; 64], tampered(&sig)] {
            // SHA-512 (hLen 64 = emLen): no room at all.
            assert!(is_invalid(check(
                spki.as_bytes(),
                &pss_alg::<Sha512>(0),
                MSG,
                &bytes
            )));
            assert!(!rsa_pss_mixed(
                &public,
                Hash::Sha512,
                Hash::Sha1,
                0,
                MSG,
                &bytes
            ));
            assert!(!rsa_pss_mixed(
                &public,
                Hash::Sha384,
                Hash::Sha1,
                255,
                MSG,
                &bytes
            ));
            assert!(!rsa_pss_mixed(
                &public,
                Hash::Sha1,
                Hash::Sha256,
                2048,
                MSG,
                &bytes
            ));
        }
    }
}
