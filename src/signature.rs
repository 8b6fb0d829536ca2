//! Checking X.509 / PKCS#10 signatures: the one place that maps an `AlgorithmIdentifier` and a
//! `SubjectPublicKeyInfo` to a verifier.
//!
//! SKELETON: the request helper completes this file (SHA-1/224/384/512, RSA-PSS, ECDSA P-256/P-384).

use const_oid::db::rfc5912;
use der::Decode;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use sha2::Sha256;
use signature::Verifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};

use crate::error::{Result, SignatureError};

/// Verifies `signature` over `message`, made with `algorithm` by the key in `spki_der`.
pub(crate) fn verify(
    spki_der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| SignatureError::BadKey {
        reason: e.to_string(),
    })?;
    if algorithm.oid != rfc5912::SHA_256_WITH_RSA_ENCRYPTION {
        return Err(SignatureError::UnsupportedAlgorithm {
            oid: algorithm.oid.to_string(),
        }
        .into());
    }
    let key = rsa::PublicKey::try_from(spki).map_err(|e| SignatureError::BadKey {
        reason: e.to_string(),
    })?;
    let sig = Signature::try_from(signature).map_err(|_| SignatureError::Invalid)?;
    VerifyingKey::<Sha256>::new(key)
        .verify(message, &sig)
        .map_err(|_| SignatureError::Invalid.into())
}
