//! [`PrivateKey`]: the server's key pair, RSA or ECDSA (P-256, P-384; [`KeyType`]), and how it
//! is generated, read and written.
//!
//! Keys are read from PKCS#8 ([RFC 5208], [RFC 5958]), PKCS#1 ([RFC 8017 Appendix A.1.2]) and
//! SEC1 ([RFC 5915]) DER or PEM, and from encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2 of
//! [RFC 8018]). They are written as PKCS#8, plain or encrypted with PBES2 + AES-256-CBC, in a
//! form `openssl pkey` reads. EC keys on other curves are refused with
//! [`KeyError::UnsupportedCurve`], naming the curve.
//!
//! # Policy
//!
//! [`KeyPolicy`] (formerly `KeySizePolicy`, still a name for it) holds for generation **and**
//! import: a 512-bit RSA key read from a file is refused under the default policy, exactly as
//! if it had been requested from [`PrivateKey::generate_rsa`]; P-256 and P-384 are allowed
//! under every policy.
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
//! # Signing
//!
//! An RSA key signs requests with RSA PKCS#1 v1.5 and the [`SignatureHash`] asked for; an
//! ECDSA key with deterministic ECDSA (RFC 6979) and its curve's hash. The default
//! is the pure-Rust `rsa` crate; with the Cargo feature `aws-lc-rs`, keys of 2048 bits and more
//! sign with aws-lc-rs instead, with the same bytes (PKCS#1 v1.5 is deterministic).
//!
//! [RFC 5208]: https://datatracker.ietf.org/doc/html/rfc5208
//! [RFC 5958]: https://datatracker.ietf.org/doc/html/rfc5958
//! [RFC 8017 Appendix A.1.2]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-A.1.2
//! [RFC 8018]: https://datatracker.ietf.org/doc/html/rfc8018
//! [RFC 5915]: https://datatracker.ietf.org/doc/html/rfc5915

// This file: `PrivateKey`, its constructors and accessors. `key/size.rs`: the size policy and
// exponent checks; `key/encrypted.rs`: encrypted PKCS#8 and its KDF bounds; `key/sign.rs`:
// signing; `key/aws_lc.rs`: the aws-lc signing backend. Nothing under `key` imports
// verification (`verify.rs`), which reads keys.
#[cfg(feature = "aws-lc-rs")]
mod aws_lc;
mod ec;
mod encrypted;
mod kind;
mod sign;
mod size;

pub use self::encrypted::{KeyEncryption, MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_MEMORY, MAX_SCRYPT_P};
pub use self::kind::{KeyAlgorithm, KeyType};
pub use self::sign::SignatureHash;
pub use self::size::{KeyPolicy, KeySizePolicy};

use std::fmt;
use std::hash::{Hash, Hasher};

use der::asn1::{AnyRef, ObjectIdentifier};
use der::pem::LineEnding;
use der::{Decode, Reader, Tag, Tagged};
use pkcs8::{EncodePrivateKey, PrivateKeyInfoRef};
use rand::rngs::SysRng;
use rand::{TryCryptoRng, TryRng};
use rsa::traits::PublicKeyParts;
use spki::{AlgorithmIdentifierRef, EncodePublicKey};
use zeroize::Zeroizing;

use self::ec::EcKey;
use self::encrypted::refuse_legacy_pem_encryption;
use self::size::{bit_width, check_public_exponent, check_size};
use crate::encoding;
use crate::error::{EncodingError, Error, KeyError, Result};
use crate::fingerprint::Fingerprint;

/// The PEM labels of an unencrypted private key.
const PLAIN_LABELS: &[&str] = &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];

/// The PEM label of an encrypted PKCS#8 key ([RFC 7468 §11]).
///
/// [RFC 7468 §11]: https://datatracker.ietf.org/doc/html/rfc7468#section-11
const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// `rsaEncryption` ([RFC 8017 Appendix A.1]).
///
/// [RFC 8017 Appendix A.1]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-A.1
const RSA_ENCRYPTION_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// `id-dsa` ([RFC 3279 §2.3.2]), the algorithm of a `DSA PRIVATE KEY`.
///
/// [RFC 3279 §2.3.2]: https://datatracker.ietf.org/doc/html/rfc3279#section-2.3.2
const DSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");

/// A server's private key, RSA or ECDSA (P-256, P-384), with its public half and
/// fingerprint. [`key_type`](Self::key_type) says which; [`generate`](Self::generate) makes
/// any [`KeyType`], [`generate_rsa`](Self::generate_rsa) an RSA key.
///
/// An RSA key is ([RFC 8017 Appendix A.1.2]; two-prime keys only):
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
/// An ECDSA key is SEC1's `ECPrivateKey` ([RFC 5915 §3]) on a named curve.
///
/// Key material is zeroized on drop (the `rsa`, `p256` and `p384` crates' keys do this, and
/// every intermediate DER buffer here is [`Zeroizing`]); `Debug` shows only the type, size
/// and fingerprint.
///
/// Two keys are equal (and hash alike) when their [fingerprints](Self::fingerprint) are equal,
/// i.e. when their public keys are: a public key determines its private key, so this is
/// equality of key pairs, decided without touching secret material. A [`Clone`] is a second
/// copy of the key material, zeroized on drop too.
///
/// [RFC 8017 Appendix A.1.2]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-A.1.2
/// [RFC 5915 §3]: https://datatracker.ietf.org/doc/html/rfc5915#section-3
#[derive(Clone)]
pub struct PrivateKey {
    inner: Inner,
    public_der: Vec<u8>,
    fingerprint: Fingerprint,
    /// The aws-lc form of the key, parsed at its first signature (`key/aws_lc.rs`), shared by
    /// clones; never in `Debug`. `Hash` and `Eq` never read it (fingerprint only), so keys stay
    /// sound set and map keys; `clippy.toml` tells clippy's `mutable_key_type` so (code outside
    /// this crate that puts keys in a set may need the same line with the feature on).
    #[cfg(feature = "aws-lc-rs")]
    aws_lc: aws_lc::Cache,
}

/// The key material, by algorithm.
#[derive(Clone)]
enum Inner {
    Rsa(rsa::PrivateKey),
    Ec(EcKey),
}

impl PrivateKey {
    /// Generates a new key of the given type with the operating system's random source
    /// ([`rand::rngs::SysRng`]), under the [`KeyPolicy::Standard`] policy.
    ///
    /// If the operating system's random source fails, this is [`KeyError::Random`] (never a
    /// panic).
    pub fn generate(key_type: KeyType) -> Result<Self> {
        Self::generate_with_policy(&mut SysRng, key_type, KeyPolicy::Standard)
    }

    /// Generates a new key of the given type with the given random source, under the
    /// standard policy; a failure of the source is [`KeyError::Random`].
    pub fn generate_with_rng(
        rng: &mut (impl TryCryptoRng + ?Sized),
        key_type: KeyType,
    ) -> Result<Self> {
        Self::generate_with_policy(rng, key_type, KeyPolicy::Standard)
    }

    /// Generates a new key of the given type with the given random source and policy. The
    /// type is checked against the policy before any work is done; a failure of the random
    /// source is [`KeyError::Random`].
    pub fn generate_with_policy(
        rng: &mut (impl TryCryptoRng + ?Sized),
        key_type: KeyType,
        policy: KeyPolicy,
    ) -> Result<Self> {
        match EcKey::generate(rng, key_type) {
            None => Self::generate_rsa_with_policy(rng, key_type.bits(), policy),
            Some(generated) => Self::from_ec(generated.map_err(random_failed)?),
        }
    }

    /// Generates a new RSA key of `bits` bits with the operating system's random source
    /// ([`rand::rngs::SysRng`]), under the [`KeySizePolicy::Standard`] policy.
    ///
    /// If the operating system's random source fails, this is [`KeyError::Random`] (never a
    /// panic).
    pub fn generate_rsa(bits: usize) -> Result<Self> {
        Self::generate_rsa_with_policy(&mut SysRng, bits, KeySizePolicy::Standard)
    }

    /// Generates a new RSA key with the given random source, under the standard policy.
    ///
    /// Any [`rand::CryptoRng`] works (it cannot fail); a fallible source's failure is
    /// [`KeyError::Random`].
    pub fn generate_rsa_with_rng(
        rng: &mut (impl TryCryptoRng + ?Sized),
        bits: usize,
    ) -> Result<Self> {
        Self::generate_rsa_with_policy(rng, bits, KeySizePolicy::Standard)
    }

    /// Generates a new RSA key (public exponent 65537) with the given random source and size
    /// policy. The size is checked before any work is done; a failure of the random source is
    /// [`KeyError::Random`].
    pub fn generate_rsa_with_policy(
        rng: &mut (impl TryCryptoRng + ?Sized),
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

    /// Reads a key from DER, under the standard policy: PKCS#8 `PrivateKeyInfo`
    /// ([RFC 5208 §5], also [RFC 5958] `OneAsymmetricKey` v2) holding an RSA or EC key,
    /// PKCS#1 `RSAPrivateKey` ([RFC 8017 Appendix A.1.2]) or SEC1 `ECPrivateKey`
    /// ([RFC 5915 §3], what `openssl ecparam -genkey` writes).
    ///
    /// ```text
    /// PrivateKeyInfo ::= SEQUENCE {
    ///     version                   Version,
    ///     privateKeyAlgorithm       AlgorithmIdentifier {{ rsaEncryption | id-ecPublicKey }},
    ///     privateKey                OCTET STRING {{ RSAPrivateKey | ECPrivateKey }},
    ///     attributes           [0]  IMPLICIT Attributes OPTIONAL }
    /// ```
    ///
    /// An encrypted key is refused with [`KeyError::Encrypted`], a key of another algorithm
    /// with [`KeyError::UnsupportedAlgorithm`] naming its OID, an EC key on a curve other than
    /// P-256 and P-384 with [`KeyError::UnsupportedCurve`] naming the curve.
    ///
    /// [RFC 5208 §5]: https://datatracker.ietf.org/doc/html/rfc5208#section-5
    /// [RFC 5958]: https://datatracker.ietf.org/doc/html/rfc5958#section-2
    /// [RFC 8017 Appendix A.1.2]: https://datatracker.ietf.org/doc/html/rfc8017#appendix-A.1.2
    /// [RFC 5915 §3]: https://datatracker.ietf.org/doc/html/rfc5915#section-3
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_der_with_policy(der, KeySizePolicy::Standard)
    }

    /// [`from_der`](Self::from_der) with the given size policy.
    pub fn from_der_with_policy(der: &[u8], policy: KeySizePolicy) -> Result<Self> {
        encoding::check_der_len("private key", der)?;
        match classify(der)? {
            DerKind::Pkcs8 => Self::from_pkcs8(der, policy),
            DerKind::Pkcs1 => Self::from_pkcs1(der, policy),
            DerKind::Sec1 => Self::from_ec(EcKey::from_sec1(der, None)?),
            DerKind::Encrypted => Err(KeyError::Encrypted.into()),
        }
    }

    /// Reads a key from PEM (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`), under the
    /// standard policy. Text around the block is ignored.
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
        let block = match encoding::pem_single_secret("private key", PLAIN_LABELS, pem) {
            Ok(block) => block,
            Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. }))
                if found == ENCRYPTED_LABEL =>
            {
                return Err(KeyError::Encrypted.into());
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

    /// The key's size in bits: an RSA key's modulus size, an ECDSA key's curve size (256 or
    /// 384).
    pub fn bits(&self) -> usize {
        match &self.inner {
            Inner::Rsa(rsa) => rsa.n().bit_width() as usize,
            Inner::Ec(ec) => ec.key_type().bits(),
        }
    }

    /// What kind of key this is.
    pub fn key_type(&self) -> KeyType {
        match &self.inner {
            Inner::Rsa(_) => KeyType::Rsa { bits: self.bits() },
            Inner::Ec(ec) => ec.key_type(),
        }
    }

    /// The key's signature algorithm, RSA or ECDSA.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.key_type().algorithm()
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
        let doc = match &self.inner {
            Inner::Rsa(rsa) => rsa.to_pkcs8_der().map_err(|e| KeyError::Invalid {
                reason: e.to_string(),
            })?,
            Inner::Ec(ec) => return ec.to_pkcs8_der(),
        };
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The key as unencrypted PKCS#8 PEM (`PRIVATE KEY`). Zeroized on drop.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let der = self.to_pkcs8_der()?;
        der::pem::encode_string("PRIVATE KEY", LineEnding::LF, &der)
            .map(Zeroizing::new)
            .map_err(|e| {
                KeyError::Invalid {
                    reason: e.to_string(),
                }
                .into()
            })
    }

    /// The underlying `rsa` key, for signing inside the crate; `None` for an ECDSA key.
    pub(crate) fn rsa(&self) -> Option<&rsa::PrivateKey> {
        match &self.inner {
            Inner::Rsa(rsa) => Some(rsa),
            Inner::Ec(_) => None,
        }
    }

    /// Reads PKCS#8 `PrivateKeyInfo` DER holding an RSA or EC key.
    fn from_pkcs8(der: &[u8], policy: KeySizePolicy) -> Result<Self> {
        let info =
            PrivateKeyInfoRef::from_der(der).map_err(|e| EncodingError::der("PKCS#8 key", e))?;
        if info.algorithm.oid == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY {
            return Self::from_ec(EcKey::from_pkcs8(&info)?);
        }
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
        Ok(Self::from_parts(Inner::Rsa(inner), public_der))
    }

    /// An ECDSA key: every supported curve is allowed under every policy.
    fn from_ec(inner: EcKey) -> Result<Self> {
        let public_der = inner.public_key_der()?;
        Ok(Self::from_parts(Inner::Ec(inner), public_der))
    }

    fn from_parts(inner: Inner, public_der: Vec<u8>) -> Self {
        let fingerprint = Fingerprint::of_spki_der(&public_der);
        Self {
            inner,
            public_der,
            fingerprint,
            #[cfg(feature = "aws-lc-rs")]
            aws_lc: aws_lc::Cache::default(),
        }
    }

    /// The ECDSA key, for signing inside the crate; `None` for an RSA key.
    fn ec(&self) -> Option<&EcKey> {
        match &self.inner {
            Inner::Ec(ec) => Some(ec),
            Inner::Rsa(_) => None,
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("type", &format_args!("{}", self.key_type()))
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

/// What an undecrypted private key DER blob is, judged from its first two elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DerKind {
    /// `SEQUENCE { INTEGER, SEQUENCE, ... }`: PKCS#8 `PrivateKeyInfo`.
    Pkcs8,
    /// `SEQUENCE { INTEGER, INTEGER, ... }`: PKCS#1 `RSAPrivateKey`.
    Pkcs1,
    /// `SEQUENCE { INTEGER, OCTET STRING, ... }`: SEC1 `ECPrivateKey`.
    Sec1,
    /// `SEQUENCE { SEQUENCE, OCTET STRING }`: PKCS#8 `EncryptedPrivateKeyInfo`.
    Encrypted,
}

fn classify(der: &[u8]) -> Result<DerKind> {
    let what = "private key";
    let outer = AnyRef::from_der(der).map_err(|e| EncodingError::der(what, e))?;
    let not_a_key = |found: String| EncodingError::MalformedDer {
        what,
        reason: format!("expected PKCS#8, PKCS#1 or SEC1, found {found}"),
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
        (Tag::Integer, Tag::OctetString) => Ok(DerKind::Sec1),
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
struct Recording<'a, R: ?Sized> {
    rng: &'a mut R,
    failure: Option<String>,
}

impl<'a, R: TryCryptoRng + ?Sized> Recording<'a, R> {
    fn new(rng: &'a mut R) -> Self {
        Self { rng, failure: None }
    }

    /// The error for `e`, an `rsa` error from an operation that used this source:
    /// [`KeyError::Random`] if the source failed (or `rsa` says it did), `other` otherwise.
    fn error_or(&self, e: rsa::Error, other: impl FnOnce(String) -> KeyError) -> Error {
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

    use der::Encode;
    use der::asn1::{Null, OctetStringRef};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rsa::traits::PrivateKeyParts;

    use super::*;
    use crate::testing::{FAST_PBKDF2, FailingRng, key, random_reason, small_key};

    #[test]
    fn failing_random_source_is_a_typed_error_in_key_generation() {
        for budget in [0, 64] {
            let reason = random_reason(PrivateKey::generate_rsa_with_policy(
                &mut FailingRng { budget },
                2048,
                KeySizePolicy::Standard,
            ));
            assert_eq!(reason, "test entropy source is gone", "budget {budget}");
        }
        // The size is still checked first.
        assert!(matches!(
            PrivateKey::generate_rsa_with_policy(
                &mut FailingRng { budget: 0 },
                1000,
                KeySizePolicy::Standard
            ),
            Err(Error::Key(KeyError::SizeNotAllowed { .. }))
        ));
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
            key().rsa().unwrap().n().to_be_bytes().as_ref()
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
        let pkcs1 = key().rsa().unwrap().to_pkcs1_der().unwrap();
        assert_eq!(PrivateKey::from_der(pkcs1.as_bytes()).unwrap(), *key());
        let pkcs1_pem = key().rsa().unwrap().to_pkcs1_pem(LineEnding::LF).unwrap();
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
    fn other_algorithms_name_their_algorithm() {
        // A PKCS#8 key with id-Ed25519: refused on the algorithm, before its contents.
        let ed25519 = ObjectIdentifier::new_unwrap("1.3.101.112");
        let info = PrivateKeyInfoRef::new(
            AlgorithmIdentifierRef {
                oid: ed25519,
                parameters: None,
            },
            OctetStringRef::new(&[0x30, 0x00]).unwrap(),
        );
        let der = info.to_der().unwrap();
        match PrivateKey::from_der(&der) {
            Err(e @ Error::Key(KeyError::UnsupportedAlgorithm { oid })) => {
                assert_eq!(oid, ed25519);
                let message = e.to_string();
                assert!(message.contains("1.3.101.112"), "{message}");
                assert!(message.contains("id-ecPublicKey"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let pem = "-----BEGIN DSA PRIVATE KEY-----\nAQID\n-----END DSA PRIVATE KEY-----\n";
        assert!(matches!(
            PrivateKey::from_pem(pem),
            Err(Error::Key(KeyError::UnsupportedAlgorithm { oid })) if oid == DSA_OID
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
        let pkcs1 = key().rsa().unwrap().to_pkcs1_der().unwrap();
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
        // A PKCS#10 request, built with x509-cert (requests are a layer above keys).
        let info = x509_cert::request::CertReqInfo {
            version: x509_cert::request::Version::V1,
            subject: "CN=www.example.com".parse().unwrap(),
            public_key: spki::SubjectPublicKeyInfoOwned::from_der(key().public_key_der()).unwrap(),
            attributes: Default::default(),
        };
        let (algorithm, signature) = key()
            .sign(SignatureHash::Sha256, &info.to_der().unwrap())
            .unwrap();
        let request = x509_cert::request::CertReq {
            info,
            algorithm,
            signature: der::asn1::BitString::from_bytes(&signature).unwrap(),
        }
        .to_der()
        .unwrap();
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
        for secret in k
            .rsa()
            .unwrap()
            .primes()
            .iter()
            .map(|p| &**p)
            .chain([k.rsa().unwrap().d()])
        {
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
    fn clone_and_equality_by_fingerprint() {
        let copy = key().clone();
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
}
