//! [`Pkcs12Error`]: a PKCS#12 file could not be read or written.

use const_oid::ObjectIdentifier;
use thiserror::Error as ThisError;

use crate::fingerprint::Fingerprint;
use crate::oid;

/// Re-export hint for a file we refuse.
const REEXPORT: &str = "export it again with AES-256 (`openssl pkcs12 -export`, OpenSSL 3's default; on Windows, `Export-PfxCertificate -CryptoAlgorithmOption AES256_SHA256`)";

/// A PKCS#12 file could not be read or written (see [`crate::pkcs12`]).
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum Pkcs12Error {
    /// The input is not a well-formed PKCS#12 file.
    #[error(
        "not a readable PKCS#12 file: {reason}; pass the .pfx/.p12 file itself (DER), not a PEM or base64 copy"
    )]
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// The file has no MAC (`openssl pkcs12 -nomac`): a damaged or altered file could not be
    /// told from a good one.
    #[error(
        "the PKCS#12 file has no MAC (made with -nomac), so its integrity cannot be checked; export it again with a MAC (without -nomac)"
    )]
    NoMac,
    /// An iteration count is zero, negative or above the limit: refused before any work.
    #[error(
        "the PKCS#12 file's {what} asks for {iterations} iterations, outside 1..={limit}; a file asking for more is refused before any work, as it could keep the server busy for minutes: {REEXPORT}"
    )]
    TooManyIterations {
        /// Which derivation (the MAC, PBKDF2, the PKCS#12 key derivation).
        what: &'static str,
        /// The count in the file.
        iterations: i64,
        /// The most accepted.
        limit: u32,
    },
    /// The iteration counts of the whole file add up to more than the limit.
    #[error(
        "the PKCS#12 file asks for more than {limit} iterations in all; refused before any work: {REEXPORT}"
    )]
    TooMuchWork {
        /// The most accepted, over the whole file.
        limit: u64,
    },
    /// A legacy encryption (RC2-40, RC4 with 128 or 40 bits) that is refused unless legacy
    /// algorithms are allowed.
    #[error(
        "the PKCS#12 file is encrypted with {}, {}; allow legacy encryption to import it anyway (`--allow-legacy`, `Pkcs12ReadOptions::allow_legacy`), or {REEXPORT}",
        oid::describe(algorithm),
        weakness(algorithm)
    )]
    LegacyEncryption {
        /// The algorithm.
        algorithm: ObjectIdentifier,
    },
    /// An algorithm this crate does not read (PBMAC1, scrypt, DES, ...).
    #[error(
        "the PKCS#12 file uses {} for its {what}, which is not supported; {REEXPORT}",
        oid::describe(algorithm)
    )]
    UnsupportedAlgorithm {
        /// What the algorithm is for.
        what: &'static str,
        /// The algorithm.
        algorithm: ObjectIdentifier,
    },
    /// A content type other than data or encrypted data (e.g. public-key protected).
    #[error(
        "the PKCS#12 file holds content of type {}; only password-protected files are read: {REEXPORT}",
        oid::describe(content_type)
    )]
    UnsupportedContentType {
        /// The content type.
        content_type: ObjectIdentifier,
    },
    /// The MAC does not verify and the password does not decrypt the contents.
    #[error("wrong password for the PKCS#12 file; nothing was imported")]
    WrongPassword,
    /// The password decrypts the contents but the MAC does not verify: the file was altered
    /// or damaged.
    #[error(
        "the PKCS#12 file's MAC does not verify although the password is right: the file was altered or damaged; get a fresh copy"
    )]
    BadMac,
    /// The file's contents could not be read after the checks passed.
    #[error("cannot read the PKCS#12 file's contents: {reason}; {REEXPORT}")]
    Unreadable {
        /// What the PKCS#12 library said.
        reason: String,
    },
    /// The file holds no private key.
    #[error(
        "the PKCS#12 file holds no private key (a trust store?); export the key with its certificate"
    )]
    NoKey,
    /// A key in the file has no certificate in the file.
    #[error(
        "the PKCS#12 file holds a key ({}fingerprint {fingerprint}) without its certificate; export the key together with its certificate",
        friendly_name.as_deref().map(|n| format!("`{n}`, ")).unwrap_or_default()
    )]
    NoCertificate {
        /// The key's fingerprint.
        fingerprint: Fingerprint,
        /// Its bag's friendlyName.
        friendly_name: Option<String>,
    },
    /// The file holds several keys and the caller asked for the only one.
    #[error(
        "the PKCS#12 file holds {} keys ({}); choose one by its friendlyName (`Pkcs12Select::FriendlyName`), or import each as its own entry (`Pkcs12Select::Each`)",
        names.len(),
        names.join(", ")
    )]
    SeveralKeys {
        /// How each key is named (friendlyName, localKeyId or subject).
        names: Vec<String>,
    },
    /// No key in the file matches the selection.
    #[error("the PKCS#12 file holds no {wanted}; it holds: {}", names.join(", "))]
    NoSuchKey {
        /// What was asked for.
        wanted: String,
        /// How each key in the file is named.
        names: Vec<String>,
    },
    /// Invalid export options.
    #[error("invalid PKCS#12 options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// The PKCS#12 library could not write the file.
    #[error("cannot write the PKCS#12 file: {reason}; check the entry with `keymanager check`")]
    Write {
        /// What the PKCS#12 library said.
        reason: String,
    },
}

/// Why a legacy PKCS#12 encryption is refused by default.
fn weakness(algorithm: &ObjectIdentifier) -> &'static str {
    if *algorithm == const_oid::db::rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_4 {
        "which is RC4, a broken cipher (its keystream is biased; RFC 7465 bans it from TLS)"
    } else {
        "which a 40-bit key makes worthless"
    }
}
