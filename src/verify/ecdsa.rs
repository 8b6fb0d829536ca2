//! ECDSA signatures ([RFC 5758 §3.2]) on the P-256 and P-384 curves.
//!
//! [RFC 5758 §3.2]: https://datatracker.ietf.org/doc/html/rfc5758#section-3.2

use const_oid::db::rfc5912;
use signature::hazmat::PrehashVerifier;
use spki::SubjectPublicKeyInfoRef;

use super::{Hash, key_kind};
use crate::error::{Result, SignatureError};

/// ECDSA ([RFC 5758 §3.2]) on P-256 or P-384, with a DER `Ecdsa-Sig-Value`.
///
/// [RFC 5758 §3.2]: https://datatracker.ietf.org/doc/html/rfc5758#section-3.2
pub(super) fn verify(
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
    use const_oid::db::rfc5912;
    use p256::ecdsa::signature::Signer;
    use sha2::{Digest, Sha384, Sha512};
    use signature::hazmat::PrehashSigner;
    use spki::EncodePublicKey;

    use crate::verify::tests::{MSG, alg, check, is_invalid, p256_key, p384_key, tampered};

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
}
