//! Encrypted PKCS#8 keys (`ENCRYPTED PRIVATE KEY`, PBES2 of [RFC 8018]): reading them behind the
//! KDF guard, and writing them with [`KeyEncryption`].
//!
//! The key-derivation parameters of an encrypted key come from the file itself. Before deriving
//! anything, the `EncryptedPrivateKeyInfo`'s algorithm is parsed and checked against the bounds
//! below ([`MAX_SCRYPT_MEMORY`], [`MAX_SCRYPT_P`], [`MAX_PBKDF2_ITERATIONS`]), and every scheme
//! other than PBES2 with AES is refused by name (see the [`key`](crate::key) module).
//!
//! [RFC 8018]: https://datatracker.ietf.org/doc/html/rfc8018

use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::pem::LineEnding;
use der::{Decode, Encode, Reader, Tag, Tagged};
use pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use rand::TryCryptoRng;
use rand::rngs::SysRng;
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::{
    DerKind, ENCRYPTED_LABEL, KeySizePolicy, PLAIN_LABELS, PrivateKey, classify, random_failed,
};
use crate::encoding;
use crate::error::{EncodingError, Error, KeyError, Result};

/// Most memory an encrypted key's scrypt parameters may ask for: `128·N·r` ≤ 256 MiB.
///
/// OpenSSL 3.0 itself reads only keys up to 32 MiB by default, which is why
/// [`KeyEncryption::SCRYPT_DEFAULT`] stays at 16 MiB.
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;

/// Largest scrypt parallelization parameter `p` an encrypted key may use.
pub const MAX_SCRYPT_P: u32 = 4;

/// Most PBKDF2 iterations an encrypted key may ask for (ten million: seconds, not minutes).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// What to do instead of any refused encryption scheme.
const REEXPORT: &str =
    "re-export the key with PBES2 AES-256 (`openssl pkcs8 -topk8 -v2 aes-256-cbc`, or `-scrypt`)";

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

impl PrivateKey {
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
    /// [module documentation](crate::key)): a refused scheme or out-of-bounds KDF parameter gives
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
        self.to_encrypted_pkcs8_der_with_rng(&mut SysRng, password, encryption)
    }

    /// The key as encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`); see
    /// [`to_encrypted_pkcs8_der`](Self::to_encrypted_pkcs8_der). `openssl pkey -passin
    /// pass:...` reads it.
    pub fn to_encrypted_pkcs8_pem(
        &self,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<String> {
        self.to_encrypted_pkcs8_pem_with_rng(&mut SysRng, password, encryption)
    }

    /// [`to_encrypted_pkcs8_der`](Self::to_encrypted_pkcs8_der) with salt and IV from `rng`.
    /// A failure of `rng` (a fallible source; an infallible [`rand::CryptoRng`] never fails)
    /// is [`KeyError::Random`].
    pub fn to_encrypted_pkcs8_der_with_rng(
        &self,
        rng: &mut (impl TryCryptoRng + ?Sized),
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

    /// [`to_encrypted_pkcs8_pem`](Self::to_encrypted_pkcs8_pem) with salt and IV from `rng`;
    /// see [`to_encrypted_pkcs8_der_with_rng`](Self::to_encrypted_pkcs8_der_with_rng).
    pub fn to_encrypted_pkcs8_pem_with_rng(
        &self,
        rng: &mut (impl TryCryptoRng + ?Sized),
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<String> {
        let der = self.to_encrypted_pkcs8_der_with_rng(rng, password, encryption)?;
        der::pem::encode_string(ENCRYPTED_LABEL, LineEnding::LF, &der).map_err(|e| {
            KeyError::Encryption {
                reason: e.to_string(),
            }
            .into()
        })
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
            crate::oid::describe(&kdf.oid)
        )));
    }
    let parsed = pbes2::Parameters::try_from(params).map_err(|e| {
        match kdf.parameters.and_then(pbkdf2_prf_oid) {
            Some(prf) if kdf.oid == pbes2::PBKDF2_OID && !is_supported_prf(&prf) => {
                refused(format!(
                    "PBKDF2 with PRF {} is not supported (only HMAC with SHA-1, SHA-224, \
                     SHA-256, SHA-384 or SHA-512); {REEXPORT}",
                    crate::oid::describe(&prf)
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
                        crate::oid::describe(&other.oid())
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
                crate::oid::describe(oid)
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
        crate::oid::describe(oid)
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
pub(super) fn refuse_legacy_pem_encryption(pem: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use std::fmt;

    use der::asn1::Null;
    use pkcs5::EncryptionScheme;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::testing::{FAST_PBKDF2, FailingRng, key, random_reason};

    #[test]
    fn failing_random_source_is_a_typed_error_in_encrypted_export() {
        let encryption = KeyEncryption::Pbkdf2Sha256 { iterations: 1000 };
        // 0: the salt fails; 16: the salt is drawn, the IV fails.
        for budget in [0, 16] {
            let reason = random_reason(key().to_encrypted_pkcs8_der_with_rng(
                &mut FailingRng { budget },
                "pw",
                encryption,
            ));
            assert_eq!(reason, "test entropy source is gone", "budget {budget}");
            random_reason(key().to_encrypted_pkcs8_pem_with_rng(
                &mut FailingRng { budget },
                "pw",
                encryption,
            ));
        }
        // With enough randomness the same path succeeds and the result decrypts.
        let der = key()
            .to_encrypted_pkcs8_der_with_rng(&mut FailingRng { budget: 32 }, "pw", encryption)
            .unwrap();
        assert_eq!(
            PrivateKey::from_encrypted_der(&der, "pw")
                .unwrap()
                .fingerprint(),
            key().fingerprint()
        );
    }

    fn refusal_reason<T: fmt::Debug>(result: Result<T>) -> String {
        match result {
            Err(Error::Key(KeyError::EncryptionRefused { reason })) => reason,
            other => panic!("expected EncryptionRefused, got {other:?}"),
        }
    }

    /// Cheap scrypt parameters (1 MiB) so that unit tests stay fast.
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
            // Refused before the KDF runs: scrypt with log_n 30 would abort the process, and
            // one PBKDF2 iteration too many would succeed.
            let err = key()
                .to_encrypted_pkcs8_der_with_rng(&mut rng, "pw", enc)
                .unwrap_err();
            assert!(
                matches!(err, Error::Key(KeyError::Encryption { .. })),
                "{enc:?}: {err:?}"
            );
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

    /// Imports `der` and requires `EncryptionRefused`, returning its reason.
    ///
    /// The guard runs before any key derivation, so a passing test is also a fast one: a KDF
    /// actually run with these parameters would abort the process (scrypt's allocation) or
    /// end, minutes later, in `WrongPassword` (the bogus ciphertext), failing this assert.
    fn refused_quickly(der: &[u8]) -> String {
        let reason = refusal_reason(PrivateKey::from_encrypted_der(der, "pw"));
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
}
