//! RSASSA-PSS signatures ([RFC 4055 §3.1], [RFC 8017 §8.1]): the `RSASSA-PSS-params` of a
//! signature and of an `id-RSASSA-PSS` key, and verification, with the `rsa` crate when the
//! message and MGF1 hashes agree and with our own EMSA-PSS-VERIFY when they do not.
//!
//! [RFC 4055 §3.1]: https://datatracker.ietf.org/doc/html/rfc4055#section-3.1
//! [RFC 8017 §8.1]: https://datatracker.ietf.org/doc/html/rfc8017#section-8.1

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::AnyRef;
use der::{Reader, TagMode, TagNumber};
use rsa::pss::Pss;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PublicKey};
use sha1::Sha1;
use sha2::digest::{Digest, FixedOutputReset};
use sha2::{Sha224, Sha256, Sha384, Sha512};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use super::{Hash, MAX_RSA_BITS, Scheme, null_or_absent, rsa_key};
use crate::error::{Result, SignatureError};

/// Verifies an RSA-PSS `signature` over `message` by the RSA key in `spki`, with the checked
/// parameters of the signature algorithm; `Ok(false)` when it does not verify.
pub(super) fn verify(
    spki: &SubjectPublicKeyInfoRef<'_>,
    hash: Hash,
    mgf_hash: Hash,
    salt_len: usize,
    message: &[u8],
    signature: &[u8],
) -> Result<bool> {
    let key = rsa_key(spki, true)?;
    check_pss_key_restrictions(spki, hash, mgf_hash, salt_len)?;
    Ok(if hash == mgf_hash {
        rsa_pss(&key, hash, salt_len, message, signature)
    } else {
        rsa_pss_mixed(&key, hash, mgf_hash, salt_len, message, signature)
    })
}

/// Parses and checks the `RSASSA-PSS-params` of a signature algorithm ([RFC 4055 §3.1]).
///
/// [RFC 4055 §3.1]: https://datatracker.ietf.org/doc/html/rfc4055#section-3.1
pub(super) fn scheme(algorithm: &AlgorithmIdentifierOwned) -> Result<Scheme> {
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

#[cfg(test)]
mod tests {
    use der::Decode;
    use der::Encode;
    use der::asn1::Any;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rsa::pkcs1::RsaPssParamsRef;
    use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};

    use super::*;
    use crate::Error;
    use crate::testing::key;
    use crate::verify::tests::{
        MSG, alg, check, is_invalid, null, pkcs1_sign, pss_alg, pss_sign, tampered,
    };

    const PSS_SHA256: &[u8] = &[
        0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00,
    ];
    const PSS_MGF1_SHA256: &[u8] = &[
        0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    ];

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
        let public = key().rsa().unwrap().to_public_key();
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
