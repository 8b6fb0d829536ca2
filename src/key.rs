//! [`PrivateKey`]: the server's RSA key pair.
//!
//! SKELETON: the key helper completes this file (encrypted PKCS#8, KDF checks, tests).

use std::fmt;

use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rand::CryptoRng;
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use crate::encoding;
use crate::error::{EncodingError, KeyError, Result};
use crate::fingerprint::Fingerprint;

/// Which RSA modulus sizes are allowed, for generation and import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeySizePolicy {
    /// 2048 to 16384 bits, a multiple of 8. The default.
    #[default]
    Standard,
    /// Also allows the legacy 512-bit (export-era) and 1024-bit sizes. **Insecure**: such keys
    /// can be factored; use only to interoperate with old systems you cannot change.
    InsecureLegacy,
}

/// An RSA private key, with its public half and fingerprint.
///
/// Key material is zeroized on drop (the `rsa` crate's key does this); `Debug` shows only the
/// size and fingerprint.
pub struct PrivateKey {
    inner: rsa::PrivateKey,
    public_der: Vec<u8>,
    fingerprint: Fingerprint,
}

impl PrivateKey {
    /// Generates a new RSA key of `bits` bits with the operating system's random source, under
    /// the [`KeySizePolicy::Standard`] policy.
    pub fn generate_rsa(bits: usize) -> Result<Self> {
        Self::generate_rsa_with_rng(&mut rand::rng(), bits)
    }

    /// Generates a new RSA key with the given random source, under the standard policy.
    pub fn generate_rsa_with_rng(rng: &mut impl CryptoRng, bits: usize) -> Result<Self> {
        Self::generate_rsa_with_policy(rng, bits, KeySizePolicy::Standard)
    }

    /// Generates a new RSA key with the given random source and size policy.
    pub fn generate_rsa_with_policy(
        rng: &mut impl CryptoRng,
        bits: usize,
        policy: KeySizePolicy,
    ) -> Result<Self> {
        check_size(bits, policy)?;
        let inner =
            rsa::PrivateKey::new_unchecked(rng, bits).map_err(|e| KeyError::Generation {
                reason: e.to_string(),
            })?;
        Self::from_rsa(inner, policy)
    }

    /// Reads a key from DER: PKCS#8 `PrivateKeyInfo`, or PKCS#1 `RSAPrivateKey`.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        encoding::check_der_len("private key", der)?;
        let inner = match rsa::PrivateKey::from_pkcs8_der(der) {
            Ok(k) => k,
            Err(_) => {
                use pkcs1::DecodeRsaPrivateKey;
                rsa::PrivateKey::from_pkcs1_der(der).map_err(|e| EncodingError::MalformedDer {
                    what: "private key",
                    reason: e.to_string(),
                })?
            }
        };
        Self::from_rsa(inner, KeySizePolicy::Standard)
    }

    /// Reads a key from PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let block = encoding::pem_single("private key", &["PRIVATE KEY", "RSA PRIVATE KEY"], pem)?;
        Self::from_der(&block.der)
    }

    fn from_rsa(inner: rsa::PrivateKey, policy: KeySizePolicy) -> Result<Self> {
        check_size(inner.size() * 8, policy)?;
        let public_der = inner
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| KeyError::Invalid {
                reason: e.to_string(),
            })?
            .into_vec();
        let fingerprint = Fingerprint::of_spki_der(&public_der);
        Ok(Self {
            inner,
            public_der,
            fingerprint,
        })
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.inner.n().bit_width() as usize
    }

    /// The public key as DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    /// SHA-256 of [`public_key_der`](Self::public_key_der).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The key as unencrypted PKCS#8 DER. Zeroized on drop.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = self.inner.to_pkcs8_der().map_err(|e| KeyError::Invalid {
            reason: e.to_string(),
        })?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The underlying `rsa` key, for signing inside the crate.
    pub(crate) fn rsa(&self) -> &rsa::PrivateKey {
        &self.inner
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits())
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

fn check_size(bits: usize, policy: KeySizePolicy) -> Result<()> {
    let legacy = matches!(policy, KeySizePolicy::InsecureLegacy) && (bits == 512 || bits == 1024);
    if legacy || ((2048..=16384).contains(&bits) && bits.is_multiple_of(8)) {
        return Ok(());
    }
    Err(KeyError::SizeNotAllowed {
        bits,
        reason: "use 2048, 3072 or 4096 bits".into(),
    }
    .into())
}
