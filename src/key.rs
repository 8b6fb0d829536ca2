//! [`PrivateKey`]: the server's RSA key pair, and how it is generated, read and written.
//!
//! Keys are read from PKCS#8 ([RFC 5208], [RFC 5958]) and PKCS#1 ([RFC 8017 Appendix A.1.2])
//! DER or PEM, and from encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2 of [RFC 8018]). They are
//! written as PKCS#8, plain or encrypted with PBES2 + AES-256-CBC, in a form `openssl pkey`
//! reads.
//!
//! # Size policy
//!
//! [`KeySizePolicy`] holds for generation **and** import: a 512-bit key read from a file is
//! refused under the default policy, exactly as if it had been requested from
//! [`PrivateKey::generate_rsa`].
//!
//! # Encrypted keys: the KDF guard
//!
//! The key-derivation parameters of an encrypted key come from the file itself. Applied
//! unchecked, a crafted file aborts the process (scrypt with N = 2^30 asks for a terabyte) or
//! keeps a CPU busy for minutes (PBKDF2 with 10^8 iterations). Before deriving anything, the
//! `EncryptedPrivateKeyInfo`'s algorithm is parsed and checked: PBES2 only; scrypt memory
//! `128·N·r` at most [`MAX_SCRYPT_MEMORY`] with `p` at most [`MAX_SCRYPT_P`]; PBKDF2 with an
//! HMAC-SHA-1/SHA-2 PRF and at most [`MAX_PBKDF2_ITERATIONS`] iterations; AES only. Everything
//! else (PBES1, PKCS#12 PBE, DES, 3DES, RC2, RC4, RC5) is refused by name, in microseconds.
//!
//! [RFC 5208]: https://datatracker.ietf.org/doc/html/rfc5208
//! [RFC 5958]: https://datatracker.ietf.org/doc/html/rfc5958
//! [RFC 8017 Appendix A.1.2]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-A.1.2
//! [RFC 8018]: https://datatracker.ietf.org/doc/html/rfc8018

use std::fmt;
use std::hash::{Hash, Hasher};

use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::pem::LineEnding;
use der::{Decode, Encode, Reader, Tag, Tagged};
use pkcs5::pbes2;
use pkcs8::{EncodePrivateKey, EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use rand::rngs::SysRng;
use rand::{CryptoRng, TryCryptoRng, TryRng};
use rsa::traits::PublicKeyParts;
use spki::{AlgorithmIdentifierRef, EncodePublicKey};
use zeroize::Zeroizing;

use crate::encoding;
use crate::error::{EncodingError, Error, KeyError, Result};
use crate::fingerprint::Fingerprint;

/// Most memory an encrypted key's scrypt parameters may ask for: `128·N·r` ≤ 256 MiB.
///
/// OpenSSL 3.0 itself reads only keys up to 32 MiB by default, which is why
/// [`KeyEncryption::SCRYPT_DEFAULT`] stays at 16 MiB.
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;

/// Largest scrypt parallelization parameter `p` an encrypted key may use.
pub const MAX_SCRYPT_P: u32 = 4;

/// Most PBKDF2 iterations an encrypted key may ask for (ten million: seconds, not minutes).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// The PEM labels of an unencrypted private key.
const PLAIN_LABELS: &[&str] = &["PRIVATE KEY", "RSA PRIVATE KEY"];

/// The PEM label of an encrypted PKCS#8 key ([RFC 7468 §11]).
///
/// [RFC 7468 §11]: https://datatracker.ietf.org/doc/html/rfc7468#section-11
const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// `rsaEncryption` ([RFC 8017 Appendix A.1]).
///
/// [RFC 8017 Appendix A.1]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-A.1
const RSA_ENCRYPTION_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// `id-ecPublicKey` ([RFC 5480 §2.1.1]), the algorithm of a SEC 1 `EC PRIVATE KEY`.
///
/// [RFC 5480 §2.1.1]: https://datatracker.ietf.org/doc/html/rfc5480#section-2.1.1
const EC_PUBLIC_KEY_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// `id-dsa` ([RFC 3279 §2.3.2]), the algorithm of a `DSA PRIVATE KEY`.
///
/// [RFC 3279 §2.3.2]: https://datatracker.ietf.org/doc/html/rfc3279#section-2.3.2
const DSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");

/// What to do instead of any refused key size.
const USE_INSTEAD: &str = "use 2048, 3072 or 4096 bits";

/// What to do instead of any refused encryption scheme.
const REEXPORT: &str =
    "re-export the key with PBES2 AES-256 (`openssl pkcs8 -topk8 -v2 aes-256-cbc`, or `-scrypt`)";

/// Which RSA modulus sizes are allowed, for generation and import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeySizePolicy {
    /// 2048 to 16384 bits, a multiple of 8. The default.
    #[default]
    Standard,
    /// Also allows the legacy 512-bit (export-era) and 1024-bit sizes, and nothing else below
    /// 2048. **Insecure**: such keys can be factored; use only to interoperate with old systems
    /// you cannot change.
    InsecureLegacy,
}

/// How [`PrivateKey::to_encrypted_pkcs8_der`] and friends protect the key.
///
/// Always PBES2 ([RFC 8018 §6.2]) with AES-256-CBC and a fresh 16-byte salt and IV; this selects
/// the key-derivation function. The result is what `openssl pkcs8 -topk8 -v2 aes-256-cbc`
/// (PBKDF2) or `-scrypt` writes:
///
/// ```text
/// EncryptedPrivateKeyInfo ::= SEQUENCE {
///     encryptionAlgorithm  AlgorithmIdentifier {{ PBES2 }},
///     encryptedData        OCTET STRING }
/// PBES2-params ::= SEQUENCE {
///     keyDerivationFunc AlgorithmIdentifier {{ PBKDF2 | scrypt }},
///     encryptionScheme  AlgorithmIdentifier {{ aes256-CBC-PAD }} }
/// ```
///
/// Parameters outside the limits this crate accepts on import ([`MAX_SCRYPT_MEMORY`],
/// [`MAX_SCRYPT_P`], [`MAX_PBKDF2_ITERATIONS`]) are refused, so we never write a key we would
/// not read back.
///
/// [RFC 8018 §6.2]: https://datatracker.ietf.org/doc/html/rfc8018#section-6.2
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyEncryption {
    /// scrypt ([RFC 7914]) with `N = 2^log_n`; memory use is `128·N·r` bytes.
    ///
    /// OpenSSL 3.0 refuses, by default, scrypt parameters needing more than 32 MiB
    /// (`128·r·(N+2) + 128·r·p`), so with `r = 8` keep `log_n` ≤ 14 for files OpenSSL reads.
    ///
    /// [RFC 7914]: https://datatracker.ietf.org/doc/html/rfc7914
    Scrypt {
        /// log2 of the CPU/memory cost `N`.
        log_n: u8,
        /// Block size `r`.
        r: u32,
        /// Parallelization `p`.
        p: u32,
    },
    /// PBKDF2 ([RFC 8018 §5.2]) with HMAC-SHA-256.
    ///
    /// [RFC 8018 §5.2]: https://datatracker.ietf.org/doc/html/rfc8018#section-5.2
    Pbkdf2Sha256 {
        /// Iteration count (1 to [`MAX_PBKDF2_ITERATIONS`]).
        iterations: u32,
    },
}

impl KeyEncryption {
    /// scrypt with N = 2^14, r = 8, p = 1 (16 MiB): the most OpenSSL 3.0's default 32 MiB limit
    /// allows at r = 8, and the same as `openssl pkcs8 -scrypt`. The [`Default`].
    pub const SCRYPT_DEFAULT: Self = Self::Scrypt {
        log_n: 14,
        r: 8,
        p: 1,
    };

    /// PBKDF2-HMAC-SHA-256 with 600 000 iterations (OWASP's 2023 recommendation).
    pub const PBKDF2_SHA256_DEFAULT: Self = Self::Pbkdf2Sha256 {
        iterations: 600_000,
    };

    /// PBES2 parameters for this choice with a fresh salt and IV from `rng`, checked against
    /// the import limits.
    fn pbes2_params<R: TryCryptoRng + ?Sized>(self, rng: &mut R) -> Result<pbes2::Parameters> {
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        rng.try_fill_bytes(&mut salt).map_err(random_failed)?;
        rng.try_fill_bytes(&mut iv).map_err(random_failed)?;
        let invalid = |what: String| KeyError::Encryption { reason: what };
        let params = match self {
            Self::Scrypt { log_n, r, p } => {
                let scrypt = pkcs5::scrypt::Params::new(log_n, r, p).map_err(|e| {
                    invalid(format!(
                        "invalid scrypt parameters log_n={log_n} r={r} p={p}: {e}"
                    ))
                })?;
                pbes2::Parameters::generate_scrypt_aes256cbc(scrypt, &salt, iv)
            }
            Self::Pbkdf2Sha256 { iterations } => {
                pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
            }
        }
        .map_err(|e| invalid(format!("invalid key-derivation parameters: {e}")))?;
        check_kdf(&params.kdf).map_err(|e| match e {
            Error::Key(KeyError::EncryptionRefused { reason }) => invalid(format!(
                "{reason} (this crate would refuse to read such a file back)"
            ))
            .into(),
            other => other,
        })?;
        Ok(params)
    }
}

impl Default for KeyEncryption {
    fn default() -> Self {
        Self::SCRYPT_DEFAULT
    }
}

/// An RSA private key, with its public half and fingerprint.
///
/// ```text
/// RSAPrivateKey ::= SEQUENCE {
///     version           Version,
///     modulus           INTEGER,  -- n
///     publicExponent    INTEGER,  -- e
///     privateExponent   INTEGER,  -- d
///     prime1            INTEGER,  -- p
///     prime2            INTEGER,  -- q
///     exponent1         INTEGER,  -- d mod (p-1)
///     exponent2         INTEGER,  -- d mod (q-1)
///     coefficient       INTEGER,  -- (inverse of q) mod p
///     otherPrimeInfos   OtherPrimeInfos OPTIONAL }
/// ```
///
/// ([RFC 8017 Appendix A.1.2]; two-prime keys only.)
///
/// Key material is zeroized on drop (the `rsa` crate's key does this, and every intermediate
/// DER buffer here is [`Zeroizing`]); `Debug` shows only the size and fingerprint.
///
/// Two keys are equal (and hash alike) when their [fingerprints](Self::fingerprint) are equal,
/// i.e. when their public keys are: an RSA public key determines its private key, so this is
/// equality of key pairs, decided without touching secret material. There is deliberately no
/// `Clone`: copies of a private key should be rare and visible, so use
/// [`try_clone`](Self::try_clone).
///
/// [RFC 8017 Appendix A.1.2]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-A.1.2
pub struct PrivateKey {
    inner: rsa::PrivateKey,
    public_der: Vec<u8>,
    fingerprint: Fingerprint,
    /// The optional signing backend's form of the key (see `backend.rs`); never in `Debug`.
    backend: crate::backend::Cache,
}

impl PrivateKey {
    /// Generates a new RSA key of `bits` bits with the operating system's random source
    /// ([`rand::rngs::SysRng`]), under the [`KeySizePolicy::Standard`] policy.
    ///
    /// If the operating system's random source fails, this is [`KeyError::Random`] (never a
    /// panic).
    pub fn generate_rsa(bits: usize) -> Result<Self> {
        Self::generate_rsa_try(&mut SysRng, bits, KeySizePolicy::Standard)
    }

    /// Generates a new RSA key with the given random source, under the standard policy.
    pub fn generate_rsa_with_rng(rng: &mut impl CryptoRng, bits: usize) -> Result<Self> {
        Self::generate_rsa_with_policy(rng, bits, KeySizePolicy::Standard)
    }

    /// Generates a new RSA key (public exponent 65537) with the given random source and size
    /// policy. The size is checked before any work is done.
    pub fn generate_rsa_with_policy(
        rng: &mut impl CryptoRng,
        bits: usize,
        policy: KeySizePolicy,
    ) -> Result<Self> {
        Self::generate_rsa_try(rng, bits, policy)
    }

    /// Key generation with a fallible random source: its failure is [`KeyError::Random`].
    pub(crate) fn generate_rsa_try<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        bits: usize,
        policy: KeySizePolicy,
    ) -> Result<Self> {
        check_size(bits, policy)?;
        let mut rng = Recording::new(rng);
        // `new_unchecked` (feature `hazmat`) is the only constructor that makes 512-bit keys;
        // our own `check_size` above is the size check.
        let inner = rsa::PrivateKey::new_unchecked(&mut rng, bits)
            .map_err(|e| rng.error_or(e, |reason| KeyError::Generation { reason }))?;
        Self::from_rsa(inner, policy)
    }

    /// Reads a key from DER, under the standard size policy: PKCS#8 `PrivateKeyInfo`
    /// ([RFC 5208 §5], also [RFC 5958] `OneAsymmetricKey` v2) or PKCS#1 `RSAPrivateKey`
    /// ([RFC 8017 Appendix A.1.2]).
    ///
    /// ```text
    /// PrivateKeyInfo ::= SEQUENCE {
    ///     version                   Version,
    ///     privateKeyAlgorithm       AlgorithmIdentifier {{ rsaEncryption }},
    ///     privateKey                OCTET STRING {{ RSAPrivateKey }},
    ///     attributes           [0]  IMPLICIT Attributes OPTIONAL }
    /// ```
    ///
    /// An encrypted key is refused with [`KeyError::Encrypted`], a non-RSA key with
    /// [`KeyError::UnsupportedAlgorithm`] naming its OID.
    ///
    /// [RFC 5208 §5]: https://datatracker.ietf.org/doc/html/rfc5208#section-5
    /// [RFC 5958]: https://datatracker.ietf.org/doc/html/rfc5958#section-2
    /// [RFC 8017 Appendix A.1.2]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-A.1.2
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_der_with_policy(der, KeySizePolicy::Standard)
    }

    /// [`from_der`](Self::from_der) with the given size policy.
    pub fn from_der_with_policy(der: &[u8], policy: KeySizePolicy) -> Result<Self> {
        encoding::check_der_len("private key", der)?;
        match classify(der)? {
            DerKind::Pkcs8 => Self::from_pkcs8(der, policy),
            DerKind::Pkcs1 => Self::from_pkcs1(der, policy),
            DerKind::Encrypted => Err(KeyError::Encrypted.into()),
        }
    }

    /// Reads a key from PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`), under the standard size
    /// policy. Text around the block is ignored.
    ///
    /// An `ENCRYPTED PRIVATE KEY` is refused with [`KeyError::Encrypted`] (use
    /// [`from_encrypted_pem`](Self::from_encrypted_pem)); a certificate or request with
    /// [`EncodingError::WrongPemLabel`].
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pem_with_policy(pem, KeySizePolicy::Standard)
    }

    /// [`from_pem`](Self::from_pem) with the given size policy.
    pub fn from_pem_with_policy(pem: &str, policy: KeySizePolicy) -> Result<Self> {
        refuse_legacy_pem_encryption(pem)?;
        let block = match encoding::pem_single("private key", PLAIN_LABELS, pem) {
            Ok(block) => block,
            Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. }))
                if found == ENCRYPTED_LABEL =>
            {
                return Err(KeyError::Encrypted.into());
            }
            Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. }))
                if found == "EC PRIVATE KEY" =>
            {
                return Err(unsupported_algorithm(&EC_PUBLIC_KEY_OID).into());
            }
            Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. }))
                if found == "DSA PRIVATE KEY" =>
            {
                return Err(unsupported_algorithm(&DSA_OID).into());
            }
            Err(e) => return Err(e),
        };
        Self::from_der_with_policy(&block.der, policy)
    }

    /// Reads an encrypted PKCS#8 key (`EncryptedPrivateKeyInfo`, [RFC 5958 §3]) from DER,
    /// under the standard size policy.
    ///
    /// ```text
    /// EncryptedPrivateKeyInfo ::= SEQUENCE {
    ///     encryptionAlgorithm  EncryptionAlgorithmIdentifier,
    ///     encryptedData        EncryptedData }
    /// ```
    ///
    /// The encryption algorithm is checked before any key derivation (see the
    /// [module documentation](self)): a refused scheme or out-of-bounds KDF parameter gives
    /// [`KeyError::EncryptionRefused`] at once. A wrong password gives
    /// [`KeyError::WrongPassword`]; an unencrypted key [`KeyError::NotEncrypted`].
    ///
    /// [RFC 5958 §3]: https://datatracker.ietf.org/doc/html/rfc5958#section-3
    pub fn from_encrypted_der(der: &[u8], password: &str) -> Result<Self> {
        Self::from_encrypted_der_with_policy(der, password, KeySizePolicy::Standard)
    }

    /// [`from_encrypted_der`](Self::from_encrypted_der) with the given size policy.
    pub fn from_encrypted_der_with_policy(
        der: &[u8],
        password: &str,
        policy: KeySizePolicy,
    ) -> Result<Self> {
        encoding::check_der_len("encrypted private key", der)?;
        if classify(der)? != DerKind::Encrypted {
            return Err(KeyError::NotEncrypted.into());
        }
        let info = EncryptedInfo::decode(der)?;
        let params = check_encryption_algorithm(&info.algorithm)?;

        let mut buffer = Zeroizing::new(info.ciphertext.to_vec());
        let plaintext_len = params
            .decrypt_in_place(password.as_bytes(), &mut buffer)
            .map_err(|e| match e {
                pkcs5::Error::DecryptFailed => KeyError::WrongPassword,
                other => KeyError::EncryptionRefused {
                    reason: format!("{other}; {REEXPORT}"),
                },
            })?
            .len();
        let plaintext = buffer.get(..plaintext_len).ok_or(KeyError::WrongPassword)?;
        // CBC padding is right by chance for about 1 in 256 wrong passwords: what decrypts to
        // something other than a PrivateKeyInfo was decrypted with the wrong key.
        if PrivateKeyInfoRef::from_der(plaintext).is_err() {
            return Err(KeyError::WrongPassword.into());
        }
        Self::from_pkcs8(plaintext, policy)
    }

    /// Reads an encrypted PKCS#8 key from PEM (`ENCRYPTED PRIVATE KEY`), under the standard
    /// size policy. See [`from_encrypted_der`](Self::from_encrypted_der).
    ///
    /// OpenSSL's legacy PEM encryption (`Proc-Type: 4,ENCRYPTED`, an MD5-based KDF) is refused
    /// with a note on how to convert it.
    pub fn from_encrypted_pem(pem: &str, password: &str) -> Result<Self> {
        Self::from_encrypted_pem_with_policy(pem, password, KeySizePolicy::Standard)
    }

    /// [`from_encrypted_pem`](Self::from_encrypted_pem) with the given size policy.
    pub fn from_encrypted_pem_with_policy(
        pem: &str,
        password: &str,
        policy: KeySizePolicy,
    ) -> Result<Self> {
        refuse_legacy_pem_encryption(pem)?;
        let block = match encoding::pem_single("encrypted private key", &[ENCRYPTED_LABEL], pem) {
            Ok(block) => block,
            Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. }))
                if PLAIN_LABELS.contains(&found.as_str()) =>
            {
                return Err(KeyError::NotEncrypted.into());
            }
            Err(e) => return Err(e),
        };
        Self::from_encrypted_der_with_policy(&block.der, password, policy)
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.inner.n().bit_width() as usize
    }

    /// The public key as DER `SubjectPublicKeyInfo` ([RFC 5280 §4.1.2.7]).
    ///
    /// [RFC 5280 §4.1.2.7]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.7
    pub fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    /// The public key as PEM (`PUBLIC KEY`, [RFC 7468 §13]), as `openssl pkey -pubout` writes.
    ///
    /// [RFC 7468 §13]: https://datatracker.ietf.org/doc/html/rfc7468#section-13
    pub fn public_key_pem(&self) -> Result<String> {
        der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &self.public_der).map_err(|e| {
            KeyError::Invalid {
                reason: format!("cannot encode the public key as PEM: {e}"),
            }
            .into()
        })
    }

    /// SHA-256 of [`public_key_der`](Self::public_key_der).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The key as unencrypted PKCS#8 DER (`PrivateKeyInfo`). Zeroized on drop.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = self.inner.to_pkcs8_der().map_err(|e| KeyError::Invalid {
            reason: e.to_string(),
        })?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The key as unencrypted PKCS#8 PEM (`PRIVATE KEY`). Zeroized on drop.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        self.inner.to_pkcs8_pem(LineEnding::LF).map_err(|e| {
            KeyError::Invalid {
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// The key as encrypted PKCS#8 DER (`EncryptedPrivateKeyInfo`): PBES2 with AES-256-CBC and
    /// the key derivation of `encryption`, salt and IV from the operating system's random
    /// source ([`rand::rngs::SysRng`]).
    ///
    /// The password must not be empty. The output is not secret and so not zeroized. If the
    /// operating system's random source fails, this is [`KeyError::Random`].
    pub fn to_encrypted_pkcs8_der(
        &self,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<Vec<u8>> {
        self.to_encrypted_pkcs8_der_try(&mut SysRng, password, encryption)
    }

    /// The key as encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`); see
    /// [`to_encrypted_pkcs8_der`](Self::to_encrypted_pkcs8_der). `openssl pkey -passin
    /// pass:...` reads it.
    pub fn to_encrypted_pkcs8_pem(
        &self,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<String> {
        self.to_encrypted_pkcs8_pem_try(&mut SysRng, password, encryption)
    }

    /// [`to_encrypted_pkcs8_der`](Self::to_encrypted_pkcs8_der) with salt and IV from `rng`.
    pub fn to_encrypted_pkcs8_der_with_rng(
        &self,
        rng: &mut impl CryptoRng,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<Vec<u8>> {
        self.to_encrypted_pkcs8_der_try(rng, password, encryption)
    }

    /// [`to_encrypted_pkcs8_pem`](Self::to_encrypted_pkcs8_pem) with salt and IV from `rng`.
    pub fn to_encrypted_pkcs8_pem_with_rng(
        &self,
        rng: &mut impl CryptoRng,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<String> {
        self.to_encrypted_pkcs8_pem_try(rng, password, encryption)
    }

    /// Encrypted PKCS#8 DER with a fallible random source: its failure is
    /// [`KeyError::Random`].
    fn to_encrypted_pkcs8_der_try<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<Vec<u8>> {
        if password.is_empty() {
            return Err(KeyError::Encryption {
                reason: "the password is empty, which would protect nothing; choose a password"
                    .into(),
            }
            .into());
        }
        let params = encryption.pbes2_params(rng)?;
        let plaintext = self.to_pkcs8_der()?;
        // Room for the CBC padding: at most one block.
        let mut buffer = Zeroizing::new(vec![0u8; plaintext.len() + 16]);
        buffer
            .get_mut(..plaintext.len())
            .ok_or_else(|| KeyError::Encryption {
                reason: "internal buffer too small".into(),
            })?
            .copy_from_slice(&plaintext);
        let ciphertext = params
            .encrypt_in_place(password.as_bytes(), &mut buffer, plaintext.len())
            .map_err(|e| KeyError::Encryption {
                reason: e.to_string(),
            })?;
        let encrypted_data = OctetStringRef::new(ciphertext).map_err(|e| KeyError::Encryption {
            reason: e.to_string(),
        })?;
        EncryptedPrivateKeyInfoRef {
            encryption_algorithm: params.into(),
            encrypted_data,
        }
        .to_der()
        .map_err(|e| {
            KeyError::Encryption {
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// Encrypted PKCS#8 PEM with a fallible random source: its failure is
    /// [`KeyError::Random`].
    fn to_encrypted_pkcs8_pem_try<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<String> {
        let der = self.to_encrypted_pkcs8_der_try(rng, password, encryption)?;
        der::pem::encode_string(ENCRYPTED_LABEL, LineEnding::LF, &der).map_err(|e| {
            KeyError::Encryption {
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// A second copy of this key (the copy is zeroized on drop too).
    ///
    /// This is an explicit method rather than `Clone` so that copies of secret material stay
    /// visible in the code; it cannot fail today, the `Result` leaves room for keys held
    /// elsewhere (e.g. in hardware) later.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(Self {
            inner: self.inner.clone(),
            public_der: self.public_der.clone(),
            fingerprint: self.fingerprint,
            backend: self.backend.clone(),
        })
    }

    /// The underlying `rsa` key, for signing inside the crate.
    pub(crate) fn rsa(&self) -> &rsa::PrivateKey {
        &self.inner
    }

    /// The optional signing backend's per-key state (`backend.rs`).
    #[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
    pub(crate) fn backend_cache(&self) -> &crate::backend::Cache {
        &self.backend
    }

    /// Reads PKCS#8 `PrivateKeyInfo` DER holding an RSA key.
    fn from_pkcs8(der: &[u8], policy: KeySizePolicy) -> Result<Self> {
        let info =
            PrivateKeyInfoRef::from_der(der).map_err(|e| EncodingError::der("PKCS#8 key", e))?;
        check_key_algorithm(&info.algorithm)?;
        let key = Self::from_pkcs1(info.private_key.as_bytes(), policy)?;
        // RFC 5958 v2 may repeat the public key; a copy that disagrees means a damaged or
        // spliced file, and we would not know which half to believe.
        if let Some(embedded) = info.public_key {
            let spki = spki::SubjectPublicKeyInfoRef::from_der(&key.public_der)
                .map_err(|e| EncodingError::der("public key", e))?;
            if embedded.raw_bytes() != spki.subject_public_key.raw_bytes() {
                return Err(KeyError::Invalid {
                    reason:
                        "the public key embedded in the PKCS#8 v2 structure does not match the \
                             private key (a damaged or spliced file)"
                            .into(),
                }
                .into());
            }
        }
        Ok(key)
    }

    /// Reads PKCS#1 `RSAPrivateKey` DER; checks size and exponent before any arithmetic.
    fn from_pkcs1(der: &[u8], policy: KeySizePolicy) -> Result<Self> {
        let key = pkcs1::RsaPrivateKeyRef::from_der(der)
            .map_err(|e| EncodingError::der("PKCS#1 RSA private key", e))?;
        if key.version() != pkcs1::Version::TwoPrime {
            return Err(KeyError::Invalid {
                reason: "multi-prime RSA keys (PKCS#1 version 1) are not supported".into(),
            }
            .into());
        }
        check_size(bit_width(key.modulus.as_bytes()), policy)?;
        check_public_exponent(key.public_exponent.as_bytes())?;
        let inner = rsa::PrivateKey::try_from(key).map_err(|_| KeyError::Invalid {
            reason: "its numbers are inconsistent (n is not p·q, or d does not invert e), \
                     or its primes are unbalanced"
                .into(),
        })?;
        Self::from_rsa(inner, policy)
    }

    fn from_rsa(inner: rsa::PrivateKey, policy: KeySizePolicy) -> Result<Self> {
        check_size(inner.n().bit_width() as usize, policy)?;
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
            backend: crate::backend::Cache::default(),
        })
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

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for PrivateKey {}

impl Hash for PrivateKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.fingerprint.hash(state);
    }
}

/// Checks a modulus size against the policy; every refusal says why and what to use instead.
fn check_size(bits: usize, policy: KeySizePolicy) -> Result<()> {
    let legacy = policy == KeySizePolicy::InsecureLegacy;
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
fn bit_width(bytes: &[u8]) -> usize {
    let mut significant = bytes.iter().skip_while(|b| **b == 0);
    match significant.next() {
        None => 0,
        Some(first) => (significant.count() + 1) * 8 - first.leading_zeros() as usize,
    }
}

/// Checks the public exponent `e` before the `rsa` crate sees it: odd, at least 3, at most
/// `rsa::PublicKey::MAX_PUB_EXPONENT` (2^33 − 1, which also bounds the cost of verification).
fn check_public_exponent(bytes: &[u8]) -> Result<()> {
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

/// Checks that a `PrivateKeyInfo`'s algorithm is `rsaEncryption` (parameters NULL or absent).
fn check_key_algorithm(algorithm: &AlgorithmIdentifierRef<'_>) -> Result<()> {
    if algorithm.oid != RSA_ENCRYPTION_OID {
        return Err(unsupported_algorithm(&algorithm.oid).into());
    }
    match algorithm.parameters {
        None => Ok(()),
        Some(p) if p.is_null() => Ok(()),
        Some(_) => Err(KeyError::Invalid {
            reason: "its rsaEncryption algorithm identifier has parameters other than NULL".into(),
        }
        .into()),
    }
}

fn unsupported_algorithm(oid: &ObjectIdentifier) -> KeyError {
    KeyError::UnsupportedAlgorithm { oid: *oid }
}

/// An OID with its name, when the OID database knows it: `1.2.840.10045.2.1 (id-ecPublicKey)`.
fn describe_oid(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{oid} ({name})"),
        None => oid.to_string(),
    }
}

/// What an undecrypted private key DER blob is, judged from its first two elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DerKind {
    /// `SEQUENCE { INTEGER, SEQUENCE, ... }`: PKCS#8 `PrivateKeyInfo`.
    Pkcs8,
    /// `SEQUENCE { INTEGER, INTEGER, ... }`: PKCS#1 `RSAPrivateKey`.
    Pkcs1,
    /// `SEQUENCE { SEQUENCE, OCTET STRING }`: PKCS#8 `EncryptedPrivateKeyInfo`.
    Encrypted,
}

fn classify(der: &[u8]) -> Result<DerKind> {
    let what = "private key";
    let outer = AnyRef::from_der(der).map_err(|e| EncodingError::der(what, e))?;
    let not_a_key = |found: String| EncodingError::MalformedDer {
        what,
        reason: format!("expected PKCS#8 or PKCS#1, found {found}"),
    };
    if outer.tag() != Tag::Sequence {
        return Err(not_a_key(format!("a {} instead of a SEQUENCE", outer.tag())).into());
    }
    let (first, second) = outer
        .sequence(|r| {
            let first = r.decode::<AnyRef<'_>>()?.tag();
            let second = r.decode::<AnyRef<'_>>()?.tag();
            // The rest is checked by the decoder of the kind found.
            r.read_slice(r.remaining_len())?;
            Ok::<_, der::Error>((first, second))
        })
        .map_err(|e| EncodingError::der(what, e))?;
    match (first, second) {
        (Tag::Integer, Tag::Sequence) => Ok(DerKind::Pkcs8),
        (Tag::Integer, Tag::Integer) => Ok(DerKind::Pkcs1),
        (Tag::Sequence, Tag::OctetString) => Ok(DerKind::Encrypted),
        (Tag::Sequence, Tag::BitString) if spki::SubjectPublicKeyInfoRef::from_der(der).is_ok() => {
            Err(KeyError::WrongType {
                found: "a public key (SubjectPublicKeyInfo)",
            }
            .into())
        }
        (Tag::Sequence, Tag::Sequence) if x509_cert::Certificate::from_der(der).is_ok() => {
            Err(KeyError::WrongType {
                found: "an X.509 certificate",
            }
            .into())
        }
        (Tag::Sequence, Tag::Sequence) if x509_cert::request::CertReq::from_der(der).is_ok() => {
            Err(KeyError::WrongType {
                found: "a certificate request (PKCS#10)",
            }
            .into())
        }
        (a, b) => Err(not_a_key(format!("a SEQUENCE starting with {a}, {b}")).into()),
    }
}

/// The two fields of an `EncryptedPrivateKeyInfo`, decoded without interpreting the algorithm
/// (so that schemes `pkcs5` does not know can still be refused by name).
struct EncryptedInfo<'a> {
    algorithm: AlgorithmIdentifierRef<'a>,
    ciphertext: &'a [u8],
}

impl<'a> EncryptedInfo<'a> {
    fn decode(der: &'a [u8]) -> Result<Self> {
        let what = "encrypted private key";
        let outer = AnyRef::from_der(der).map_err(|e| EncodingError::der(what, e))?;
        outer
            .sequence(|r| {
                let algorithm = AlgorithmIdentifierRef::decode(r)?;
                let ciphertext = r.decode::<&OctetStringRef>()?.as_bytes();
                Ok::<_, der::Error>(Self {
                    algorithm,
                    ciphertext,
                })
            })
            .map_err(|e| EncodingError::der(what, e).into())
    }
}

/// Checks an `EncryptedPrivateKeyInfo`'s algorithm, cheaply and before any key derivation, and
/// returns the PBES2 parameters to decrypt with.
fn check_encryption_algorithm(algorithm: &AlgorithmIdentifierRef<'_>) -> Result<pbes2::Parameters> {
    if algorithm.oid != pbes2::PBES2_OID {
        return Err(refused(non_pbes2_reason(&algorithm.oid)));
    }
    let Some(params) = algorithm.parameters else {
        return Err(refused(format!(
            "PBES2 without parameters is malformed; {REEXPORT}"
        )));
    };
    // First the two OIDs, generically, so that unknown ones are named.
    let (kdf, cipher) = params
        .sequence(|r| {
            let kdf = AlgorithmIdentifierRef::decode(r)?;
            let cipher = AlgorithmIdentifierRef::decode(r)?;
            Ok::<_, der::Error>((kdf, cipher))
        })
        .map_err(|e| EncodingError::der("PBES2 parameters", e))?;
    check_cipher(&cipher.oid)?;
    if kdf.oid != pbes2::PBKDF2_OID && kdf.oid != pbes2::SCRYPT_OID {
        return Err(refused(format!(
            "PBES2 key derivation {} is not supported (only PBKDF2 and scrypt); {REEXPORT}",
            describe_oid(&kdf.oid)
        )));
    }
    let parsed = pbes2::Parameters::try_from(params).map_err(|e| {
        match kdf.parameters.and_then(pbkdf2_prf_oid) {
            Some(prf) if kdf.oid == pbes2::PBKDF2_OID && !is_supported_prf(&prf) => {
                refused(format!(
                    "PBKDF2 with PRF {} is not supported (only HMAC with SHA-1, SHA-224, \
                     SHA-256, SHA-384 or SHA-512); {REEXPORT}",
                    describe_oid(&prf)
                ))
            }
            _ => EncodingError::der("PBES2 parameters", e).into(),
        }
    })?;
    check_kdf(&parsed.kdf)?;
    Ok(parsed)
}

/// Checks the key-derivation parameters against the limits, so that deriving the key takes
/// bounded time and memory.
fn check_kdf(kdf: &pbes2::Kdf) -> Result<()> {
    match kdf {
        pbes2::Kdf::Pbkdf2(p) => {
            match p.prf {
                pbes2::Pbkdf2Prf::HmacWithSha1
                | pbes2::Pbkdf2Prf::HmacWithSha224
                | pbes2::Pbkdf2Prf::HmacWithSha256
                | pbes2::Pbkdf2Prf::HmacWithSha384
                | pbes2::Pbkdf2Prf::HmacWithSha512 => {}
                other => {
                    return Err(refused(format!(
                        "PBKDF2 with PRF {} is not supported; {REEXPORT}",
                        describe_oid(&other.oid())
                    )));
                }
            }
            let n = p.iteration_count;
            if n == 0 || n > MAX_PBKDF2_ITERATIONS {
                return Err(refused(format!(
                    "PBKDF2 with {n} iterations is outside 1..={MAX_PBKDF2_ITERATIONS} (more \
                     would take minutes to try one password); {REEXPORT}"
                )));
            }
            Ok(())
        }
        pbes2::Kdf::Scrypt(s) => {
            let (n, r, p) = (
                s.cost_parameter,
                u64::from(s.block_size),
                u64::from(s.parallelization),
            );
            if n < 2 || !n.is_power_of_two() {
                return Err(refused(format!(
                    "scrypt N = {n} is not a power of two greater than 1 (RFC 7914 §2); \
                     {REEXPORT}"
                )));
            }
            if r == 0 || p == 0 || p > u64::from(MAX_SCRYPT_P) {
                return Err(refused(format!(
                    "scrypt r = {r}, p = {p}: r must be at least 1 and p between 1 and \
                     {MAX_SCRYPT_P}; {REEXPORT}"
                )));
            }
            let memory = 128u128 * u128::from(n) * u128::from(r);
            if memory > u128::from(MAX_SCRYPT_MEMORY) {
                return Err(refused(format!(
                    "scrypt N = {n}, r = {r} needs {} MiB of memory, over the {} MiB limit; \
                     {REEXPORT}",
                    memory / (1024 * 1024),
                    MAX_SCRYPT_MEMORY / (1024 * 1024)
                )));
            }
            Ok(())
        }
        _ => Err(refused(format!(
            "this key-derivation function is not supported; {REEXPORT}"
        ))),
    }
}

/// Refuses PBES2 ciphers other than AES, naming them.
fn check_cipher(oid: &ObjectIdentifier) -> Result<()> {
    let weak = match oid.to_string().as_str() {
        "2.16.840.1.101.3.4.1.2"
        | "2.16.840.1.101.3.4.1.22"
        | "2.16.840.1.101.3.4.1.42"
        | "2.16.840.1.101.3.4.1.6"
        | "2.16.840.1.101.3.4.1.46" => return Ok(()),
        "1.3.14.3.2.7" => "desCBC is single DES, a 56-bit key found by brute force since 1998",
        "1.2.840.113549.3.7" => {
            "des-EDE3-CBC is 3DES, a 64-bit-block cipher that NIST disallowed for encryption \
             after 2023 (Sweet32)"
        }
        "1.2.840.113549.3.2" => {
            "rc2CBC is RC2, in such files often at 40-bit export strength, and broken anyway"
        }
        "1.2.840.113549.3.4" => "rc4 is RC4, a broken stream cipher",
        "1.2.840.113549.3.9" => "rc5-CBC-PAD is RC5, not supported by current software",
        _ => {
            return Err(refused(format!(
                "PBES2 cipher {} is not supported (only AES-CBC and AES-GCM); {REEXPORT}",
                describe_oid(oid)
            )));
        }
    };
    Err(refused(format!(
        "the key is encrypted with {weak}; {REEXPORT}"
    )))
}

/// Why a non-PBES2 `encryptionAlgorithm` is refused, naming it.
fn non_pbes2_reason(oid: &ObjectIdentifier) -> String {
    let text = oid.to_string();
    let pbes1 = match text.as_str() {
        "1.2.840.113549.1.5.1" => Some(("pbeWithMD2AndDES-CBC", "56-bit DES")),
        "1.2.840.113549.1.5.3" => Some(("pbeWithMD5AndDES-CBC", "56-bit DES")),
        "1.2.840.113549.1.5.4" => Some(("pbeWithMD2AndRC2-CBC", "64-bit RC2")),
        "1.2.840.113549.1.5.6" => Some(("pbeWithMD5AndRC2-CBC", "64-bit RC2")),
        "1.2.840.113549.1.5.10" => Some(("pbeWithSHA1AndDES-CBC", "56-bit DES")),
        "1.2.840.113549.1.5.11" => Some(("pbeWithSHA1AndRC2-CBC", "64-bit RC2")),
        _ => None,
    };
    if let Some((name, cipher)) = pbes1 {
        return format!("{name} ({text}) is PBES1 with {cipher}; {REEXPORT}");
    }
    let pkcs12 = match text.as_str() {
        "1.2.840.113549.1.12.1.1" => Some((
            "pbeWithSHAAnd128BitRC4",
            "128-bit RC4 (a broken stream cipher)",
        )),
        "1.2.840.113549.1.12.1.2" => Some(("pbeWithSHAAnd40BitRC4", "40-bit RC4 (export grade)")),
        "1.2.840.113549.1.12.1.3" => Some(("pbeWithSHAAnd3-KeyTripleDES-CBC", "3DES")),
        "1.2.840.113549.1.12.1.4" => Some(("pbeWithSHAAnd2-KeyTripleDES-CBC", "two-key 3DES")),
        "1.2.840.113549.1.12.1.5" => Some(("pbeWithSHAAnd128BitRC2-CBC", "128-bit RC2")),
        "1.2.840.113549.1.12.1.6" => {
            Some(("pbeWithSHAAnd40BitRC2-CBC", "40-bit RC2 (export grade)"))
        }
        _ => None,
    };
    if let Some((name, cipher)) = pkcs12 {
        return format!(
            "{name} ({text}) is a PKCS#12 password-based scheme: {cipher} with a SHA-1 KDF; \
             {REEXPORT}"
        );
    }
    format!(
        "encryption scheme {} is not supported (only PBES2); {REEXPORT}",
        describe_oid(oid)
    )
}

/// The PRF OID of undecoded `PBKDF2-params`, to name a PRF `pkcs5` does not know.
///
/// ```text
/// PBKDF2-params ::= SEQUENCE {
///     salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
///     iterationCount INTEGER (1..MAX),
///     keyLength INTEGER (1..MAX) OPTIONAL,
///     prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 }
/// ```
fn pbkdf2_prf_oid(params: AnyRef<'_>) -> Option<ObjectIdentifier> {
    params
        .sequence(|r| {
            let mut last = None;
            while !r.is_finished() {
                last = Some(r.decode::<AnyRef<'_>>()?);
            }
            Ok::<_, der::Error>(last)
        })
        .ok()
        .flatten()
        .filter(|last| last.tag() == Tag::Sequence)
        .and_then(|last| last.decode_as::<AlgorithmIdentifierRef<'_>>().ok())
        .map(|alg| alg.oid)
}

/// Whether `pkcs5` (with feature `sha1-insecure`) can run PBKDF2 with this PRF.
fn is_supported_prf(oid: &ObjectIdentifier) -> bool {
    const SUPPORTED: [ObjectIdentifier; 5] = [
        pbes2::HMAC_WITH_SHA1_OID,
        ObjectIdentifier::new_unwrap("1.2.840.113549.2.8"),
        pbes2::HMAC_WITH_SHA256_OID,
        ObjectIdentifier::new_unwrap("1.2.840.113549.2.10"),
        ObjectIdentifier::new_unwrap("1.2.840.113549.2.11"),
    ];
    SUPPORTED.contains(oid)
}

fn refused(reason: String) -> Error {
    KeyError::EncryptionRefused { reason }.into()
}

/// Refuses OpenSSL's legacy "traditional" PEM encryption, whose KDF is one round of MD5.
fn refuse_legacy_pem_encryption(pem: &str) -> Result<()> {
    if pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(refused(
            "this is OpenSSL's legacy PEM encryption (`Proc-Type: 4,ENCRYPTED`, `DEK-Info`), \
             whose key derivation is a single MD5 round (EVP_BytesToKey); convert it with \
             `openssl pkcs8 -topk8 -v2 aes-256-cbc` and use from_encrypted_pem"
                .into(),
        ));
    }
    Ok(())
}

/// [`KeyError::Random`] for a failure of the random source.
fn random_failed(e: impl fmt::Display) -> Error {
    KeyError::Random {
        reason: e.to_string(),
    }
    .into()
}

/// A random source that remembers why it failed.
///
/// The `rsa` crate reports every failure of the random source as a bare `rsa::Error::Rng`;
/// wrapped in this, the failure becomes [`KeyError::Random`] with the source's own reason.
pub(crate) struct Recording<'a, R: ?Sized> {
    rng: &'a mut R,
    failure: Option<String>,
}

impl<'a, R: TryCryptoRng + ?Sized> Recording<'a, R> {
    pub(crate) fn new(rng: &'a mut R) -> Self {
        Self { rng, failure: None }
    }

    /// The error for `e`, an `rsa` error from an operation that used this source:
    /// [`KeyError::Random`] if the source failed (or `rsa` says it did), `other` otherwise.
    pub(crate) fn error_or(&self, e: rsa::Error, other: impl FnOnce(String) -> KeyError) -> Error {
        match (&self.failure, e) {
            (Some(reason), _) => KeyError::Random {
                reason: reason.clone(),
            },
            (None, rsa::Error::Rng) => KeyError::Random {
                reason: "the random source reported an error".into(),
            },
            (None, e) => other(e.to_string()),
        }
        .into()
    }

    fn record<T>(
        &mut self,
        result: core::result::Result<T, R::Error>,
    ) -> core::result::Result<T, R::Error> {
        if let Err(e) = &result {
            self.failure.get_or_insert_with(|| e.to_string());
        }
        result
    }
}

impl<R: TryCryptoRng + ?Sized> TryRng for Recording<'_, R> {
    type Error = R::Error;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        let result = self.rng.try_next_u32();
        self.record(result)
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        let result = self.rng.try_next_u64();
        self.record(result)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        let result = self.rng.try_fill_bytes(dst);
        self.record(result)
    }
}

impl<R: TryCryptoRng + ?Sized> TryCryptoRng for Recording<'_, R> {}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use der::asn1::Null;
    use pkcs5::EncryptionScheme;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rsa::traits::PrivateKeyParts;

    use super::*;
    use crate::testing::FailingRng;

    /// One 2048-bit key for the whole file (key generation is the slow part).
    fn key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(1), 2048).unwrap()
        })
    }

    /// One 512-bit key, made through the legacy policy.
    fn small_key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            PrivateKey::generate_rsa_with_policy(
                &mut ChaCha8Rng::seed_from_u64(2),
                512,
                KeySizePolicy::InsecureLegacy,
            )
            .unwrap()
        })
    }

    fn random_reason<T: fmt::Debug>(result: Result<T>) -> String {
        match result {
            Err(Error::Key(KeyError::Random { reason })) => reason,
            other => panic!("expected KeyError::Random, got {other:?}"),
        }
    }

    #[test]
    fn failing_random_source_is_a_typed_error_in_key_generation() {
        for budget in [0, 64] {
            let reason = random_reason(PrivateKey::generate_rsa_try(
                &mut FailingRng { budget },
                2048,
                KeySizePolicy::Standard,
            ));
            assert_eq!(reason, "test entropy source is gone", "budget {budget}");
        }
        // The size is still checked first.
        assert!(matches!(
            PrivateKey::generate_rsa_try(
                &mut FailingRng { budget: 0 },
                1000,
                KeySizePolicy::Standard
            ),
            Err(Error::Key(KeyError::SizeNotAllowed { .. }))
        ));
    }

    #[test]
    fn failing_random_source_is_a_typed_error_in_encrypted_export() {
        let encryption = KeyEncryption::Pbkdf2Sha256 { iterations: 1000 };
        // 0: the salt fails; 16: the salt is drawn, the IV fails.
        for budget in [0, 16] {
            let reason = random_reason(key().to_encrypted_pkcs8_der_try(
                &mut FailingRng { budget },
                "pw",
                encryption,
            ));
            assert_eq!(reason, "test entropy source is gone", "budget {budget}");
            random_reason(key().to_encrypted_pkcs8_pem_try(
                &mut FailingRng { budget },
                "pw",
                encryption,
            ));
        }
        // With enough randomness the same path succeeds and the result decrypts.
        let der = key()
            .to_encrypted_pkcs8_der_try(&mut FailingRng { budget: 32 }, "pw", encryption)
            .unwrap();
        assert_eq!(
            PrivateKey::from_encrypted_der(&der, "pw")
                .unwrap()
                .fingerprint(),
            key().fingerprint()
        );
    }

    #[test]
    fn error_or_maps_a_bare_rsa_rng_error_to_random() {
        let mut rng = FailingRng { budget: 0 };
        let recording = Recording::new(&mut rng);
        random_reason::<()>(Err(
            recording.error_or(rsa::Error::Rng, |reason| KeyError::Generation { reason })
        ));
        assert!(matches!(
            recording.error_or(rsa::Error::Internal, |reason| KeyError::Generation {
                reason
            }),
            Error::Key(KeyError::Generation { .. })
        ));
    }

    fn size_refusal(result: Result<()>) -> (usize, String) {
        match result {
            Err(Error::Key(KeyError::SizeNotAllowed { bits, reason })) => (bits, reason),
            other => panic!("expected SizeNotAllowed, got {other:?}"),
        }
    }

    fn refusal_reason<T: fmt::Debug>(result: Result<T>) -> String {
        match result {
            Err(Error::Key(KeyError::EncryptionRefused { reason })) => reason,
            other => panic!("expected EncryptionRefused, got {other:?}"),
        }
    }

    #[test]
    fn size_policy_matrix() {
        use KeySizePolicy::{InsecureLegacy, Standard};
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
    fn seeded_generation_is_reproducible() {
        let again =
            PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(1), 2048).unwrap();
        assert_eq!(key().bits(), 2048);
        assert_eq!(again.fingerprint(), key().fingerprint());
        assert_eq!(&again, key());
        let other = small_key();
        assert_ne!(other, key());
    }

    #[test]
    fn fingerprint_is_sha256_of_spki() {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(key().public_key_der()).into();
        assert_eq!(key().fingerprint().as_bytes(), &digest);
        // The SPKI is rsaEncryption with the key's modulus.
        let spki = spki::SubjectPublicKeyInfoRef::from_der(key().public_key_der()).unwrap();
        assert_eq!(spki.algorithm.oid, RSA_ENCRYPTION_OID);
        let public = pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(
            spki.subject_public_key.raw_bytes(),
        )
        .unwrap();
        assert_eq!(
            public.modulus.as_bytes(),
            key().rsa().n().to_be_bytes().as_ref()
        );
    }

    #[test]
    fn pkcs8_and_pkcs1_round_trip() {
        let der = key().to_pkcs8_der().unwrap();
        assert_eq!(PrivateKey::from_der(&der).unwrap(), *key());
        let pem = key().to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let with_text = format!("Key for www.example.com\n{}\ntrailing notes\n", &*pem);
        assert_eq!(PrivateKey::from_pem(&with_text).unwrap(), *key());

        use pkcs1::EncodeRsaPrivateKey;
        let pkcs1 = key().rsa().to_pkcs1_der().unwrap();
        assert_eq!(PrivateKey::from_der(pkcs1.as_bytes()).unwrap(), *key());
        let pkcs1_pem = key().rsa().to_pkcs1_pem(LineEnding::LF).unwrap();
        assert!(pkcs1_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert_eq!(PrivateKey::from_pem(&pkcs1_pem).unwrap(), *key());
    }

    #[test]
    fn public_key_pem_is_spki() {
        let pem = key().public_key_pem().unwrap();
        let (label, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        assert_eq!(der, key().public_key_der());
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
        let pem = small_key().rsa().to_pkcs1_pem(LineEnding::LF).unwrap();
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

    /// Cheap parameters so that unit tests stay fast; defaults are exercised in the interop
    /// tests.
    const FAST_PBKDF2: KeyEncryption = KeyEncryption::Pbkdf2Sha256 { iterations: 1000 };
    const FAST_SCRYPT: KeyEncryption = KeyEncryption::Scrypt {
        log_n: 10,
        r: 8,
        p: 1,
    };

    #[test]
    fn encrypted_round_trip_and_wrong_password() {
        for (i, enc) in [FAST_PBKDF2, FAST_SCRYPT].into_iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(10 + i as u64);
            let pem = key()
                .to_encrypted_pkcs8_pem_with_rng(&mut rng, "correct horse", enc)
                .unwrap();
            assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
            assert_eq!(
                PrivateKey::from_encrypted_pem(&pem, "correct horse").unwrap(),
                *key()
            );
            assert!(matches!(
                PrivateKey::from_encrypted_pem(&pem, "wrong horse"),
                Err(Error::Key(KeyError::WrongPassword))
            ));
            assert!(matches!(
                PrivateKey::from_pem(&pem),
                Err(Error::Key(KeyError::Encrypted))
            ));

            let der = key()
                .to_encrypted_pkcs8_der_with_rng(&mut rng, "correct horse", enc)
                .unwrap();
            assert_eq!(
                PrivateKey::from_encrypted_der(&der, "correct horse").unwrap(),
                *key()
            );
            assert!(matches!(
                PrivateKey::from_der(&der),
                Err(Error::Key(KeyError::Encrypted))
            ));
            // What we wrote is PBES2 + AES-256-CBC with the KDF asked for.
            let info = EncryptedPrivateKeyInfoRef::from_der(&der).unwrap();
            let params = info.encryption_algorithm.pbes2().unwrap();
            assert!(matches!(
                params.encryption,
                pbes2::EncryptionScheme::Aes256Cbc { .. }
            ));
            match (enc, &params.kdf) {
                (KeyEncryption::Pbkdf2Sha256 { iterations }, pbes2::Kdf::Pbkdf2(p)) => {
                    assert_eq!(p.iteration_count, iterations);
                    assert_eq!(p.prf, pbes2::Pbkdf2Prf::HmacWithSha256);
                }
                (KeyEncryption::Scrypt { log_n, r, p }, pbes2::Kdf::Scrypt(s)) => {
                    assert_eq!(s.cost_parameter, 1 << log_n);
                    assert_eq!(u32::from(s.block_size), r);
                    assert_eq!(u32::from(s.parallelization), p);
                }
                other => panic!("unexpected KDF {other:?}"),
            }
        }
    }

    #[test]
    fn fresh_salt_and_iv_each_time() {
        let mut rng = ChaCha8Rng::seed_from_u64(20);
        let a = key()
            .to_encrypted_pkcs8_der_with_rng(&mut rng, "pw", FAST_PBKDF2)
            .unwrap();
        let b = key()
            .to_encrypted_pkcs8_der_with_rng(&mut rng, "pw", FAST_PBKDF2)
            .unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn plain_key_to_encrypted_import_is_not_encrypted() {
        let der = key().to_pkcs8_der().unwrap();
        assert!(matches!(
            PrivateKey::from_encrypted_der(&der, "pw"),
            Err(Error::Key(KeyError::NotEncrypted))
        ));
        let pem = key().to_pkcs8_pem().unwrap();
        assert!(matches!(
            PrivateKey::from_encrypted_pem(&pem, "pw"),
            Err(Error::Key(KeyError::NotEncrypted))
        ));
    }

    #[test]
    fn encryption_refuses_empty_password_and_out_of_bounds_params() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        assert!(matches!(
            key().to_encrypted_pkcs8_der_with_rng(&mut rng, "", FAST_PBKDF2),
            Err(Error::Key(KeyError::Encryption { .. }))
        ));
        for enc in [
            KeyEncryption::Pbkdf2Sha256 { iterations: 0 },
            KeyEncryption::Pbkdf2Sha256 {
                iterations: MAX_PBKDF2_ITERATIONS + 1,
            },
            KeyEncryption::Scrypt {
                log_n: 30,
                r: 8,
                p: 1,
            },
            KeyEncryption::Scrypt {
                log_n: 10,
                r: 8,
                p: 5,
            },
            KeyEncryption::Scrypt {
                log_n: 0,
                r: 8,
                p: 1,
            },
        ] {
            let started = Instant::now();
            let err = key()
                .to_encrypted_pkcs8_der_with_rng(&mut rng, "pw", enc)
                .unwrap_err();
            assert!(
                matches!(err, Error::Key(KeyError::Encryption { .. })),
                "{enc:?}: {err:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(2), "{enc:?}");
        }
    }

    /// An `EncryptedPrivateKeyInfo` with the given PBES2 parameters and a bogus ciphertext.
    fn crafted_pbes2(params: pbes2::Parameters) -> Vec<u8> {
        let ciphertext = [0x5a; 1232];
        EncryptedPrivateKeyInfoRef {
            encryption_algorithm: EncryptionScheme::Pbes2(params),
            encrypted_data: OctetStringRef::new(&ciphertext).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    fn scrypt(n: u64, r: u16, p: u16) -> Vec<u8> {
        crafted_pbes2(pbes2::Parameters {
            kdf: pbes2::ScryptParams {
                salt: pbes2::Salt::new([7u8; 16]).unwrap(),
                cost_parameter: n,
                block_size: r,
                parallelization: p,
                key_length: None,
            }
            .into(),
            encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: [1; 16] },
        })
    }

    fn pbkdf2(iterations: u32, prf: pbes2::Pbkdf2Prf) -> Vec<u8> {
        crafted_pbes2(pbes2::Parameters {
            kdf: pbes2::Pbkdf2Params {
                salt: pbes2::Salt::new([7u8; 16]).unwrap(),
                iteration_count: iterations,
                key_length: None,
                prf,
            }
            .into(),
            encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: [1; 16] },
        })
    }

    /// Imports `der` and requires a quick `EncryptionRefused`, returning its reason.
    fn refused_quickly(der: &[u8]) -> String {
        let started = Instant::now();
        let result = PrivateKey::from_encrypted_der(der, "pw");
        let elapsed = started.elapsed();
        let reason = refusal_reason(result);
        // A runaway guard, not a benchmark: a KDF actually run with these parameters would
        // take minutes or abort the process.
        assert!(
            elapsed < Duration::from_secs(2),
            "took {elapsed:?}: {reason}"
        );
        assert!(reason.contains("PBES2 AES-256"), "{reason}");
        reason
    }

    #[test]
    fn kdf_guard_refuses_expensive_scrypt_at_once() {
        let reason = refused_quickly(&scrypt(1 << 30, 8, 1));
        assert!(reason.contains("MiB"), "{reason}");
        // 128 * 2^21 * 1 = 256 MiB is the limit; one more step of r is over.
        refused_quickly(&scrypt(1 << 21, 2, 1));
        refused_quickly(&scrypt(1 << 20, u16::MAX, 1));
        let reason = refused_quickly(&scrypt(1000, 8, 1));
        assert!(reason.contains("power of two"), "{reason}");
        refused_quickly(&scrypt(1, 8, 1));
        refused_quickly(&scrypt(0, 8, 1));
        refused_quickly(&scrypt(u64::MAX, 8, 1));
        let reason = refused_quickly(&scrypt(1 << 10, 8, 5));
        assert!(reason.contains("p = 5"), "{reason}");
        refused_quickly(&scrypt(1 << 10, 8, 0));
        refused_quickly(&scrypt(1 << 10, 0, 1));
    }

    #[test]
    fn kdf_guard_refuses_expensive_pbkdf2_at_once() {
        let reason = refused_quickly(&pbkdf2(100_000_000, pbes2::Pbkdf2Prf::HmacWithSha256));
        assert!(reason.contains("100000000 iterations"), "{reason}");
        refused_quickly(&pbkdf2(
            MAX_PBKDF2_ITERATIONS + 1,
            pbes2::Pbkdf2Prf::HmacWithSha1,
        ));
        refused_quickly(&pbkdf2(u32::MAX, pbes2::Pbkdf2Prf::HmacWithSha512));
        refused_quickly(&pbkdf2(0, pbes2::Pbkdf2Prf::HmacWithSha256));
    }

    #[test]
    fn within_limits_bogus_ciphertext_is_wrong_password() {
        for der in [
            scrypt(1 << 10, 8, 1),
            pbkdf2(1000, pbes2::Pbkdf2Prf::HmacWithSha1),
            pbkdf2(1000, pbes2::Pbkdf2Prf::HmacWithSha224),
            pbkdf2(1000, pbes2::Pbkdf2Prf::HmacWithSha384),
            pbkdf2(1000, pbes2::Pbkdf2Prf::HmacWithSha512),
        ] {
            assert!(matches!(
                PrivateKey::from_encrypted_der(&der, "pw"),
                Err(Error::Key(KeyError::WrongPassword))
            ));
        }
    }

    /// `SEQUENCE { AlgorithmIdentifier { oid, params }, OCTET STRING }` for any algorithm.
    fn crafted(oid: &str, params: AnyRef<'_>) -> Vec<u8> {
        struct Info<'a> {
            alg: AlgorithmIdentifierRef<'a>,
            data: &'a OctetStringRef,
        }
        impl<'a> der::EncodeValue for Info<'a> {
            fn value_len(&self) -> der::Result<der::Length> {
                self.alg.encoded_len()? + self.data.encoded_len()?
            }
            fn encode_value(&self, w: &mut impl der::Writer) -> der::Result<()> {
                self.alg.encode(w)?;
                self.data.encode(w)
            }
        }
        impl<'a> der::Sequence<'a> for Info<'a> {}
        Info {
            alg: AlgorithmIdentifierRef {
                oid: ObjectIdentifier::new(oid).unwrap(),
                parameters: Some(params),
            },
            data: OctetStringRef::new(&[0x5a; 1232]).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    /// PBES1 / PKCS#12 `PBEParameter ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER }`.
    fn pbe_parameter() -> Vec<u8> {
        pkcs5::pbes1::Parameters {
            salt: [3; 8],
            iteration_count: 2048,
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn pbes1_and_pkcs12_schemes_are_refused_by_name() {
        let params = pbe_parameter();
        let any = AnyRef::from_der(&params).unwrap();
        for (oid, name, cipher) in [
            ("1.2.840.113549.1.5.3", "pbeWithMD5AndDES-CBC", "56-bit DES"),
            (
                "1.2.840.113549.1.5.10",
                "pbeWithSHA1AndDES-CBC",
                "56-bit DES",
            ),
            ("1.2.840.113549.1.5.11", "pbeWithSHA1AndRC2-CBC", "RC2"),
            (
                "1.2.840.113549.1.12.1.6",
                "pbeWithSHAAnd40BitRC2-CBC",
                "40-bit RC2",
            ),
            (
                "1.2.840.113549.1.12.1.2",
                "pbeWithSHAAnd40BitRC4",
                "40-bit RC4",
            ),
            (
                "1.2.840.113549.1.12.1.3",
                "pbeWithSHAAnd3-KeyTripleDES-CBC",
                "3DES",
            ),
        ] {
            let reason = refused_quickly(&crafted(oid, any));
            assert!(
                reason.contains(name) && reason.contains(cipher),
                "{oid}: {reason}"
            );
        }
        let reason = refused_quickly(&crafted("1.2.840.113549.1.5.3", any));
        assert!(reason.contains("PBES1"), "{reason}");
        // The same, built with pkcs5's own PBES1 type.
        let der = EncryptedPrivateKeyInfoRef {
            encryption_algorithm: pkcs5::pbes1::Algorithm {
                encryption: pkcs5::pbes1::EncryptionScheme::PbeWithMd5AndDesCbc,
                parameters: pkcs5::pbes1::Parameters {
                    salt: [3; 8],
                    iteration_count: 2048,
                },
            }
            .into(),
            encrypted_data: OctetStringRef::new(&[0x5a; 64]).unwrap(),
        }
        .to_der()
        .unwrap();
        assert!(refused_quickly(&der).contains("pbeWithMD5AndDES-CBC"));
        let reason = refused_quickly(&crafted("1.2.3.4", any));
        assert!(reason.contains("1.2.3.4"), "{reason}");
    }

    /// PBES2 with a cheap PBKDF2 and the given cipher OID and IV.
    fn pbes2_with_cipher(cipher_oid: &str, iv: &[u8]) -> Vec<u8> {
        let kdf = pbes2::Kdf::from(pbes2::Pbkdf2Params::hmac_sha256(1000, &[7u8; 16]).unwrap())
            .to_der()
            .unwrap();
        let iv = OctetStringRef::new(iv).unwrap().to_der().unwrap();
        let cipher = AlgorithmIdentifierRef {
            oid: ObjectIdentifier::new(cipher_oid).unwrap(),
            parameters: Some(AnyRef::from_der(&iv).unwrap()),
        }
        .to_der()
        .unwrap();
        let mut body = kdf;
        body.extend_from_slice(&cipher);
        let params = der::asn1::Any::new(Tag::Sequence, body).unwrap();
        crafted("1.2.840.113549.1.5.13", (&params).into())
    }

    #[test]
    fn weak_pbes2_ciphers_are_refused_by_name() {
        for (oid, iv_len, name) in [
            ("1.3.14.3.2.7", 8, "single DES"),
            ("1.2.840.113549.3.7", 8, "3DES"),
            ("1.2.840.113549.3.2", 8, "RC2"),
            ("1.2.840.113549.3.4", 0, "RC4"),
            ("1.2.840.113549.3.9", 8, "RC5"),
            ("1.2.3.4.5", 16, "1.2.3.4.5"),
        ] {
            let reason = refused_quickly(&pbes2_with_cipher(oid, &vec![0; iv_len]));
            assert!(reason.contains(name), "{oid}: {reason}");
        }
        // The control: AES-256-CBC with the same construction gets as far as the password.
        assert!(matches!(
            PrivateKey::from_encrypted_der(
                &pbes2_with_cipher("2.16.840.1.101.3.4.1.42", &[0; 16]),
                "pw"
            ),
            Err(Error::Key(KeyError::WrongPassword))
        ));
    }

    #[test]
    fn unknown_kdf_and_prf_are_refused_by_name() {
        // PBKDF2 with hmacWithMD5 (1.2.840.113549.2.6), which pkcs5 cannot decode.
        let salt = OctetStringRef::new(&[7u8; 16]).unwrap().to_der().unwrap();
        let count = 1000u32.to_der().unwrap();
        let prf = AlgorithmIdentifierRef {
            oid: ObjectIdentifier::new_unwrap("1.2.840.113549.2.6"),
            parameters: Some(Null.into()),
        }
        .to_der()
        .unwrap();
        let pbkdf2_params =
            der::asn1::Any::new(Tag::Sequence, [salt, count, prf].concat()).unwrap();
        let kdf = AlgorithmIdentifierRef {
            oid: pbes2::PBKDF2_OID,
            parameters: Some((&pbkdf2_params).into()),
        }
        .to_der()
        .unwrap();
        let cipher = pbes2::EncryptionScheme::Aes256Cbc { iv: [0; 16] }
            .to_der()
            .unwrap();
        let params = der::asn1::Any::new(Tag::Sequence, [kdf, cipher.clone()].concat()).unwrap();
        let reason = refused_quickly(&crafted("1.2.840.113549.1.5.13", (&params).into()));
        assert!(reason.contains("1.2.840.113549.2.6"), "{reason}");

        // A KDF that is neither PBKDF2 nor scrypt (Argon2id's OID from RFC 9106's registry arc).
        let other_kdf = AlgorithmIdentifierRef {
            oid: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.4722.2.1"),
            parameters: Some(Null.into()),
        }
        .to_der()
        .unwrap();
        let params = der::asn1::Any::new(Tag::Sequence, [other_kdf, cipher].concat()).unwrap();
        let reason = refused_quickly(&crafted("1.2.840.113549.1.5.13", (&params).into()));
        assert!(reason.contains("1.3.6.1.4.1.4722.2.1"), "{reason}");
    }

    #[test]
    fn legacy_pem_encryption_is_refused_with_advice() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAQID\n-----END RSA PRIVATE KEY-----\n";
        let reason = refusal_reason(PrivateKey::from_pem(pem));
        assert!(reason.contains("openssl pkcs8 -topk8"), "{reason}");
        refusal_reason(PrivateKey::from_encrypted_pem(pem, "pw"));
    }

    #[test]
    fn non_rsa_keys_name_their_algorithm() {
        // A PKCS#8 key with id-ecPublicKey: refused on the algorithm, before its contents.
        let info = PrivateKeyInfoRef::new(
            AlgorithmIdentifierRef {
                oid: EC_PUBLIC_KEY_OID,
                parameters: None,
            },
            OctetStringRef::new(&[0x30, 0x00]).unwrap(),
        );
        let der = info.to_der().unwrap();
        match PrivateKey::from_der(&der) {
            Err(e @ Error::Key(KeyError::UnsupportedAlgorithm { oid })) => {
                assert_eq!(oid, EC_PUBLIC_KEY_OID);
                let message = e.to_string();
                assert!(message.contains("1.2.840.10045.2.1"), "{message}");
                assert!(message.contains("id-ecPublicKey"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let pem = "-----BEGIN EC PRIVATE KEY-----\nAQID\n-----END EC PRIVATE KEY-----\n";
        assert!(matches!(
            PrivateKey::from_pem(pem),
            Err(Error::Key(KeyError::UnsupportedAlgorithm { oid })) if oid == EC_PUBLIC_KEY_OID
        ));
        // RSASSA-PSS-restricted keys are RSA, but cannot sign PKCS#1 v1.5 requests.
        let info = PrivateKeyInfoRef::new(
            AlgorithmIdentifierRef {
                oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10"),
                parameters: None,
            },
            OctetStringRef::new(&[0x30, 0x00]).unwrap(),
        );
        assert!(matches!(
            PrivateKey::from_der(&info.to_der().unwrap()),
            Err(Error::Key(KeyError::UnsupportedAlgorithm { .. }))
        ));
    }

    #[test]
    fn pkcs8_v2_embedded_public_key_must_match() {
        use pkcs1::EncodeRsaPrivateKey;
        let pkcs1 = key().rsa().to_pkcs1_der().unwrap();
        let spki = spki::SubjectPublicKeyInfoRef::from_der(key().public_key_der()).unwrap();
        let other = spki::SubjectPublicKeyInfoRef::from_der(small_key().public_key_der()).unwrap();
        let rsa_alg = AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION_OID,
            parameters: Some(Null.into()),
        };
        let v2 = |public: &[u8]| {
            let mut info =
                PrivateKeyInfoRef::new(rsa_alg, OctetStringRef::new(pkcs1.as_bytes()).unwrap());
            info.public_key = Some(der::asn1::BitStringRef::from_bytes(public).unwrap());
            info.to_der().unwrap()
        };
        let good = v2(spki.subject_public_key.raw_bytes());
        assert_eq!(PrivateKey::from_der(&good).unwrap(), *key());
        let bad = v2(other.subject_public_key.raw_bytes());
        assert!(matches!(
            PrivateKey::from_der(&bad),
            Err(Error::Key(KeyError::Invalid { reason }))
                if reason.contains("does not match the private key") && !reason.contains("  ")
        ));
    }

    #[test]
    fn wrong_pem_labels_are_typed() {
        for label in ["CERTIFICATE", "CERTIFICATE REQUEST", "PUBLIC KEY"] {
            let pem = format!("-----BEGIN {label}-----\nAQID\n-----END {label}-----\n");
            match PrivateKey::from_pem(&pem) {
                Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. })) => {
                    assert_eq!(found, label)
                }
                other => panic!("{label}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_der_is_typed() {
        let der = key().to_pkcs8_der().unwrap();
        let mut trailing = der.to_vec();
        trailing.push(0);
        assert!(matches!(
            PrivateKey::from_der(&trailing),
            Err(Error::Encoding(EncodingError::TrailingData {
                extra: 1,
                ..
            }))
        ));
        for cut in [1, 2, 10, der.len() / 2, der.len() - 1] {
            assert!(matches!(
                PrivateKey::from_der(&der[..cut]),
                Err(Error::Encoding(EncodingError::MalformedDer { .. }))
            ));
        }
        assert!(matches!(
            PrivateKey::from_der(&[]),
            Err(Error::Encoding(EncodingError::Empty { .. }))
        ));
        for garbage in [
            &b"hello world"[..],
            &[0x30, 0x03, 0x02, 0x01, 0x00],
            &[0x04, 0x00],
        ] {
            assert!(matches!(
                PrivateKey::from_der(garbage),
                Err(Error::Encoding(EncodingError::MalformedDer { .. }))
            ));
        }
        // Oversized input is refused before decoding, DER and PEM alike.
        let huge = vec![0x30; encoding::MAX_DER_LEN + 1];
        assert!(matches!(
            PrivateKey::from_der(&huge),
            Err(Error::Encoding(EncodingError::TooLarge { .. }))
        ));
        assert!(matches!(
            PrivateKey::from_encrypted_der(&huge, "pw"),
            Err(Error::Encoding(EncodingError::TooLarge { .. }))
        ));
        let huge_pem = der::pem::encode_string("PRIVATE KEY", LineEnding::LF, &huge).unwrap();
        assert!(matches!(
            PrivateKey::from_pem(&huge_pem),
            Err(Error::Encoding(EncodingError::TooLarge { .. }))
        ));
        let text = "x".repeat(encoding::MAX_PEM_LEN) + &key().to_pkcs8_pem().unwrap();
        assert!(matches!(
            PrivateKey::from_pem(&text),
            Err(Error::Encoding(EncodingError::TooLarge { .. }))
        ));
        let encrypted = key()
            .to_encrypted_pkcs8_der_with_rng(&mut ChaCha8Rng::seed_from_u64(6), "pw", FAST_PBKDF2)
            .unwrap();
        let mut trailing = encrypted.clone();
        trailing.extend_from_slice(&[0, 0]);
        assert!(matches!(
            PrivateKey::from_encrypted_der(&trailing, "pw"),
            Err(Error::Encoding(EncodingError::TrailingData {
                extra: 2,
                ..
            }))
        ));
        assert!(matches!(
            PrivateKey::from_encrypted_der(&encrypted[..encrypted.len() - 3], "pw"),
            Err(Error::Encoding(EncodingError::MalformedDer { .. }))
        ));
    }

    /// A public key, a request or a certificate given as a private key is named, not called
    /// malformed.
    #[test]
    fn other_objects_are_named_as_the_wrong_type() {
        let request = crate::CertificateRequest::builder(
            crate::DistinguishedName::builder()
                .common_name("www.example.com")
                .build()
                .unwrap(),
        )
        .sign(key())
        .unwrap()
        .to_der();
        for (der, what) in [
            (key().public_key_der(), "public key"),
            (&request[..], "certificate request"),
        ] {
            for result in [
                PrivateKey::from_der(der),
                PrivateKey::from_encrypted_der(der, "pw"),
            ] {
                match result {
                    Err(e @ Error::Key(KeyError::WrongType { found })) => {
                        assert!(found.contains(what), "{found}");
                        assert!(e.to_string().contains("not a private key"), "{e}");
                    }
                    other => panic!("{what}: expected WrongType, got {other:?}"),
                }
            }
        }
    }

    #[test]
    fn bad_public_exponents_are_refused_before_rsa_sees_them() {
        use pkcs1::EncodeRsaPrivateKey;
        let good = small_key().rsa().to_pkcs1_der().unwrap();
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
    fn debug_shows_no_key_material() {
        let k = key();
        let debug = format!("{k:?}");
        assert!(
            debug.contains("2048") && debug.contains(&k.fingerprint().to_hex()),
            "{debug}"
        );
        let pem = k.to_pkcs8_pem().unwrap();
        let body_line = pem.lines().nth(5).unwrap();
        assert!(!debug.contains(body_line));
        for secret in k.rsa().primes().iter().map(|p| &**p).chain([k.rsa().d()]) {
            let bytes = secret.to_be_bytes();
            let hex = hex::encode(&bytes);
            assert!(!debug.contains(&hex[..16]));
            assert!(!debug.to_uppercase().contains(&hex[..16].to_uppercase()));
            // Nor the decimal form's leading digits.
            let dec = format!("{secret}");
            assert!(!debug.contains(&dec[..dec.len().min(16)]));
        }
        // Errors carry no secrets either: a wrong password error names neither password nor key.
        let enc = k
            .to_encrypted_pkcs8_pem_with_rng(
                &mut ChaCha8Rng::seed_from_u64(7),
                "s3cret-passw0rd",
                FAST_PBKDF2,
            )
            .unwrap();
        let err = PrivateKey::from_encrypted_pem(&enc, "an0ther-passw0rd").unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("s3cret") && !text.contains("an0ther"),
            "{text}"
        );
    }

    #[test]
    fn try_clone_and_equality_by_fingerprint() {
        let copy = key().try_clone().unwrap();
        assert_eq!(&copy, key());
        assert_eq!(copy.to_pkcs8_der().unwrap(), key().to_pkcs8_der().unwrap());
        use std::collections::HashSet;
        let set: HashSet<&PrivateKey> = [key(), &copy, small_key()].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    fn encrypted_fixture() -> &'static [u8] {
        static DER: OnceLock<Vec<u8>> = OnceLock::new();
        DER.get_or_init(|| {
            small_key()
                .to_encrypted_pkcs8_der_with_rng(
                    &mut ChaCha8Rng::seed_from_u64(8),
                    "pw",
                    FAST_PBKDF2,
                )
                .unwrap()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = PrivateKey::from_der(&bytes);
            let _ = PrivateKey::from_encrypted_der(&bytes, "pw");
            let text = String::from_utf8_lossy(&bytes);
            let _ = PrivateKey::from_pem(&text);
            let _ = PrivateKey::from_encrypted_pem(&text, "pw");
        }

        #[test]
        fn mutated_keys_never_panic(index in 0usize..4096, value in proptest::num::u8::ANY) {
            let plain = small_key().to_pkcs8_der().unwrap();
            let mut mutated = plain.to_vec();
            let at = index % mutated.len();
            mutated[at] = value;
            let _ = PrivateKey::from_der_with_policy(&mutated, KeySizePolicy::InsecureLegacy);

            let mut mutated = encrypted_fixture().to_vec();
            let at = index % mutated.len();
            mutated[at] = value;
            let result = PrivateKey::from_encrypted_der_with_policy(&mutated, "pw", KeySizePolicy::InsecureLegacy);
            // Whatever a one-byte change does, a key that still imports is the original.
            if let Ok(key) = result {
                proptest::prop_assert_eq!(&key, small_key());
            }
        }
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
