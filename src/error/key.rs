//! The errors of private keys: making, reading, writing and signing with one ([`KeyError`]).

use const_oid::ObjectIdentifier;
use thiserror::Error as ThisError;

use crate::oid;

/// A private key could not be made, read or written.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum KeyError {
    /// The requested or imported RSA modulus size is outside the policy.
    #[error("RSA key size {bits} bits is not allowed: {reason}")]
    SizeNotAllowed {
        /// The size in bits.
        bits: usize,
        /// Why, and what to do instead.
        reason: String,
    },
    /// The key is neither an RSA nor an EC key.
    #[error(
        "unsupported key algorithm {}: only RSA (1.2.840.113549.1.1.1) and ECDSA (id-ecPublicKey, 1.2.840.10045.2.1) keys are supported",
        oid::describe(oid)
    )]
    UnsupportedAlgorithm {
        /// The algorithm OID found in the key.
        oid: ObjectIdentifier,
    },
    /// An EC key on a curve other than P-256 and P-384.
    #[error(
        "unsupported elliptic curve {}: EC keys are supported on P-256 (prime256v1, 1.2.840.10045.3.1.7) and P-384 (secp384r1, 1.3.132.0.34); make a new key on one of them (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)",
        oid::describe_curve(oid)
    )]
    UnsupportedCurve {
        /// The curve's OID.
        oid: ObjectIdentifier,
    },
    /// The key's numbers are inconsistent (not a valid RSA or EC key).
    #[error("the private key is invalid: {reason}; regenerate or re-export it")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// Key generation failed.
    #[error("key generation failed: {reason}; check that the random source works, then retry")]
    Generation {
        /// Why.
        reason: String,
    },
    /// The password did not decrypt the key (or the file is corrupt).
    #[error("could not decrypt the private key: wrong password, or the encrypted file is corrupt")]
    WrongPassword,
    /// The encryption scheme of an encrypted key is refused.
    #[error("refusing the key's encryption scheme: {reason}")]
    EncryptionRefused {
        /// Why, naming the scheme.
        reason: String,
    },
    /// Encrypting a key failed.
    #[error("could not encrypt the private key: {reason}")]
    Encryption {
        /// Why.
        reason: String,
    },
    /// Signing with the key failed.
    #[error("signing failed: {reason}; the key may be damaged: re-import or regenerate it")]
    Signing {
        /// Why.
        reason: String,
    },
    /// An encrypted key was passed where a plain one was expected.
    #[error(
        "the private key is encrypted (`ENCRYPTED PRIVATE KEY`): use from_encrypted_pem or from_encrypted_der with its password"
    )]
    Encrypted,
    /// The input is another kind of object, not a private key.
    #[error("this is {found}, not a private key; pass the private key file")]
    WrongType {
        /// What the input is.
        found: &'static str,
    },
    /// A plain key was passed where an encrypted one was expected.
    #[error(
        "the private key is not encrypted: use from_pem or from_der, or encrypt it first (`openssl pkcs8 -topk8 -v2 aes-256-cbc`)"
    )]
    NotEncrypted,
    /// The random source failed while generating a key, encrypting one (salt and IV), sealing
    /// one in the key store (salt and nonce) or blinding a signature. With the default (no
    /// `rng` argument) methods, and always in the store, this is the operating system's random
    /// source.
    #[error(
        "the operating system's random source failed: {reason}; check that the system's entropy source (e.g. getrandom(2) or /dev/urandom) is available, then retry"
    )]
    Random {
        /// Why, as the random source reported it.
        reason: String,
    },
    /// The key is too small for the digest: PKCS#1 v1.5 needs the DigestInfo plus 11 bytes of
    /// padding to fit in the modulus ([RFC 8017 §9.2]). Only the export-era 512-bit size hits
    /// this, with SHA-384 or SHA-512.
    ///
    /// [RFC 8017 §9.2]: https://datatracker.ietf.org/doc/html/rfc8017#section-9.2
    #[error(
        "a {bits}-bit RSA key is too small to sign a {hash} digest with PKCS#1 v1.5 (that needs at least {min_bits} bits): sign with SHA-256, or use a larger key"
    )]
    DigestTooLarge {
        /// The key's modulus size.
        bits: usize,
        /// The digest, e.g. `SHA-512`.
        hash: &'static str,
        /// The smallest modulus that fits it.
        min_bits: usize,
    },
}
