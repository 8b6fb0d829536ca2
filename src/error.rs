//! The crate's one error type, [`Error`], and its sub-enums, one per concern.
//!
//! Every message says what was wrong and what the caller can do about it. No message ever
//! contains key material or a password. Errors of the crates we build on (`der`, `rsa`,
//! `rusqlite`, ...) are turned into these types and do not leak into the public API.
//!
//! A payload a caller may branch on is typed: a key is a [`Fingerprint`], a time a
//! [`SystemTime`](std::time::SystemTime), an algorithm or attribute type an [`ObjectIdentifier`]. The message shows
//! them as text (a fingerprint in hex, a time in RFC 3339 UTC, an OID by name and number).

use const_oid::ObjectIdentifier;
use thiserror::Error as ThisError;

use crate::fingerprint::Fingerprint;
use crate::oid;

#[cfg(feature = "acme")]
mod acme;
mod certificate;
mod pkcs12;

#[cfg(feature = "acme")]
pub use acme::AcmeError;
pub use certificate::{CertificateError, InstallError};
pub use pkcs12::Pkcs12Error;

/// The result type of every fallible function in this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in `keymanager`, grouped by concern.
///
/// Match on the variant to learn the concern, then on the sub-enum for the detail. The enums are
/// `#[non_exhaustive]`: new failure cases may be added in minor releases.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// Malformed PEM or DER input: truncated, trailing data, wrong label, oversized.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// A private key could not be made, read or written.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A distinguished name was invalid.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A certificate request could not be made, read or verified.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A signature could not be checked, or did not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A certificate or chain could not be read or did not verify.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// A certificate could not be installed on a pending key.
    #[error(transparent)]
    Install(#[from] InstallError),
    /// An endpoint or binding was invalid.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The key store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An identity could not be served over TLS.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// An ACME CA refused, failed or could not be reached (feature `acme`).
    #[cfg(feature = "acme")]
    #[cfg_attr(docsrs, doc(cfg(feature = "acme")))]
    #[error(transparent)]
    Acme(#[from] AcmeError),
    /// A PKCS#12 file could not be read or written.
    #[error(transparent)]
    Pkcs12(#[from] Pkcs12Error),
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Malformed PEM or DER input.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum EncodingError {
    /// No `-----BEGIN ...-----` line was found.
    #[error(
        "no PEM block found: expected a `-----BEGIN {expected}-----` line; check that the input is PEM text, not DER or another format"
    )]
    NoPemBlock {
        /// The label(s) that were expected.
        expected: String,
    },
    /// The PEM block has a label this function does not accept.
    #[error("PEM label `{found}` is not accepted here: expected {expected}")]
    WrongPemLabel {
        /// The label found in the input.
        found: String,
        /// The label(s) that were expected.
        expected: String,
    },
    /// The PEM block is malformed (bad base64, missing END line, mismatched labels).
    #[error("malformed PEM: {reason}; re-export the file or check it was not cut or edited")]
    MalformedPem {
        /// What was wrong.
        reason: String,
    },
    /// The DER input is malformed.
    #[error("malformed DER in {what}: {reason}; the data is truncated, corrupted or not a {what}")]
    MalformedDer {
        /// What we were trying to decode.
        what: &'static str,
        /// The decoder's description of the problem (never contains secret bytes).
        reason: String,
    },
    /// A textual value (such as a hex fingerprint) is malformed.
    #[error("malformed {what}: {reason}")]
    MalformedText {
        /// What we were trying to parse.
        what: &'static str,
        /// What was wrong and what is expected.
        reason: String,
    },
    /// The DER input is followed by extra bytes.
    #[error("{what} is followed by {extra} bytes of trailing data; pass exactly one DER object")]
    TrailingData {
        /// What was decoded.
        what: &'static str,
        /// How many bytes followed it.
        extra: usize,
    },
    /// The input exceeds the size limit for its kind.
    #[error(
        "{what} input is {len} bytes, over the {limit}-byte limit; this is not a plausible {what}"
    )]
    TooLarge {
        /// What was decoded.
        what: &'static str,
        /// The input length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is empty.
    #[error("empty input where a {what} was expected; check the file or buffer passed in")]
    Empty {
        /// What was expected.
        what: &'static str,
    },
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// A distinguished name was invalid.
///
/// The same rules, and so the same errors, apply whichever way the name was made: with the
/// builder, parsed from an RFC 4514 string, or read from a DER `Name`.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum NameError {
    /// An attribute value was invalid.
    #[error("invalid {attribute} `{value}`: {reason}")]
    InvalidValue {
        /// The attribute's short name (CN, O, C, ...).
        attribute: &'static str,
        /// The offending value, with control characters escaped (long values are cut short).
        value: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The name string could not be parsed.
    #[error("cannot parse distinguished name at byte {position}: {reason}")]
    Syntax {
        /// Byte offset of the problem.
        position: usize,
        /// What is wrong.
        reason: String,
    },
    /// The name has no attributes at all.
    #[error("the distinguished name is empty: set at least a common name")]
    Empty,
    /// The attribute type is not one a server name may hold.
    #[error(
        "unsupported attribute type `{attribute}`: supported are CN (2.5.4.3), O (2.5.4.10), OU (2.5.4.11), L (2.5.4.7), ST (2.5.4.8), C (2.5.4.6) and emailAddress (1.2.840.113549.1.9.1); remove the others"
    )]
    UnsupportedAttribute {
        /// The attribute type as written, or its dotted OID.
        attribute: String,
    },
    /// An attribute that may appear only once appears more than once.
    #[error(
        "the name has more than one {attribute}: only OU may be repeated; keep one {attribute}"
    )]
    Repeated {
        /// The attribute's short name.
        attribute: &'static str,
    },
    /// A multi-valued RDN holds the same attribute value twice.
    #[error(
        "{attribute} `{value}` appears twice in one multi-valued RDN: an RDN is a set, remove the copy"
    )]
    DuplicateInRdn {
        /// The attribute's short name.
        attribute: &'static str,
        /// The repeated value, with control characters escaped.
        value: String,
    },
    /// A relative distinguished name holds no attribute.
    #[error("RDN number {index} of the name is empty: each RDN needs at least one attribute")]
    EmptyRdn {
        /// Zero-based position of the RDN in encoding order.
        index: usize,
    },
    /// An attribute value is encoded with an ASN.1 type this attribute does not allow.
    #[error("{attribute} is encoded as {found}, but must be {expected}; re-encode the name")]
    WrongStringType {
        /// The attribute's short name.
        attribute: &'static str,
        /// The ASN.1 type found.
        found: String,
        /// The ASN.1 type(s) allowed.
        expected: &'static str,
    },
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// A certificate request could not be made, read or verified.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum RequestError {
    /// The request's self-signature does not verify.
    #[error(
        "the certificate request's signature does not verify: it was altered or signed with another key"
    )]
    BadSignature,
    /// The request content is invalid.
    #[error(
        "invalid certificate request: {reason}; the request cannot be used as it is, have it made again"
    )]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The input is another kind of object, not a certificate request.
    #[error("this is {found}, not a certificate request (PKCS#10); pass the request file")]
    WrongType {
        /// What the input is.
        found: &'static str,
    },
    /// A DNS name for the subjectAltName is not a valid host name.
    #[error("invalid DNS name `{name}` for the certificate request: {reason}")]
    InvalidDnsName {
        /// The name, with control characters escaped.
        name: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The challenge password cannot be used (the message never contains it).
    #[error("invalid challenge password: {reason}; use 1 to 255 printable characters")]
    InvalidChallengePassword {
        /// What is wrong.
        reason: String,
    },
    /// DNS names or IP addresses were given for a request built without extensions.
    #[error(
        "{count} subjectAltName entries were given but the request was built without extensions; drop `without_extensions()` or the names"
    )]
    SubjectAltNamesWithoutExtensions {
        /// How many names and addresses were given.
        count: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

/// A signature could not be checked, or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature algorithm is not supported.
    #[error(
        "unsupported signature algorithm {}: supported are RSA PKCS#1 v1.5 (SHA-1/224/256/384/512), RSA-PSS and ECDSA P-256/P-384",
        oid::describe(oid)
    )]
    UnsupportedAlgorithm {
        /// The algorithm's OID.
        oid: ObjectIdentifier,
    },
    /// The signature algorithm's parameters are malformed or unsupported.
    #[error("bad signature algorithm parameters: {reason}")]
    BadParameters {
        /// What is wrong.
        reason: String,
    },
    /// The signer's public key cannot be used.
    #[error("the signer's public key cannot be used: {reason}")]
    BadKey {
        /// What is wrong.
        reason: String,
    },
    /// The signer's key is on an elliptic curve we do not support.
    #[error(
        "unsupported elliptic curve {}: ECDSA signatures are checked on P-256 (1.2.840.10045.3.1.7) and P-384 (1.3.132.0.34)",
        oid::describe(oid)
    )]
    UnsupportedCurve {
        /// The curve's OID.
        oid: ObjectIdentifier,
    },
    /// The signature does not verify.
    #[error(
        "signature does not verify: the signed data was altered, or it was signed by another key"
    )]
    Invalid,
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

/// Accepted endpoint forms, quoted by parse errors.
const ENDPOINT_FORMS: &str = "accepted forms: `0.0.0.0:443` or `[::]:443` (any address), `192.0.2.10:443` or `[2001:db8::1]:443` (one address), `www.example.com:443` or `*.example.com:443` (TLS SNI host name)";

/// An endpoint or binding was invalid.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum EndpointError {
    /// The endpoint string could not be parsed.
    #[error("invalid endpoint `{input}`: {reason}; {ENDPOINT_FORMS}")]
    Syntax {
        /// The input.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// Port 0 is not a port a server listens on.
    #[error(
        "invalid endpoint `{input}`: port 0 is not allowed, give the port the server listens on (e.g. 443)"
    )]
    PortZero {
        /// The input.
        input: String,
    },
    /// The endpoint is already bound to an entry of the same key algorithm (an endpoint holds
    /// one RSA and one ECDSA entry).
    #[error(
        "endpoint {endpoint} is already bound to entry `{entry}`, whose key is of the same algorithm (an endpoint serves one RSA and one ECDSA entry); unbind it first"
    )]
    Taken {
        /// The endpoint.
        endpoint: String,
        /// The entry bound to it.
        entry: String,
    },
    /// Nothing is bound to the endpoint.
    #[error(
        "nothing is bound to endpoint {endpoint}; the bound endpoints are listed by KeyStore::entries"
    )]
    NotBound {
        /// The endpoint.
        endpoint: String,
    },
    /// Only entries with an installed certificate can be bound.
    #[error(
        "entry `{entry}` is {state}, not installed: a key without a certificate cannot serve; install its certificate first"
    )]
    NotInstalled {
        /// The entry.
        entry: String,
        /// Its state.
        state: String,
    },
    /// A host-name endpoint is not covered by the entry's certificate.
    #[error(
        "entry `{entry}`'s certificate does not cover host `{host}` (it covers {}); bind a host it names",
        if names.is_empty() { "no DNS names".to_string() } else { names.join(", ") }
    )]
    HostNotCovered {
        /// The entry.
        entry: String,
        /// The host name.
        host: String,
        /// The certificate's DNS names.
        names: Vec<String>,
    },
}

// ---------------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------------

/// The key store failed.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum StoreError {
    /// The passphrase does not open this store.
    #[error("wrong passphrase for this key store; nothing was changed")]
    WrongPassphrase,
    /// `KeyStore::open` was given a path where no file exists. Nothing was created: a
    /// mistyped path must not become a new, empty store.
    #[error(
        "no key store at `{}`: nothing was created; check the path, or make a new store with KeyStore::create",
        path.display()
    )]
    Missing {
        /// The path that was given.
        path: std::path::PathBuf,
    },
    /// `KeyStore::create` was given a path where a file already exists.
    #[error(
        "a file already exists at `{}`: nothing was changed; open it with KeyStore::open, or choose another path for a new store",
        path.display()
    )]
    AlreadyExists {
        /// The path that was given.
        path: std::path::PathBuf,
    },
    /// `KeyStore::open` found an empty file, never made into a store (or one that another
    /// process is creating at this very moment).
    #[error(
        "`{}` is an empty file, not a key store: nothing was written to it; if a store is being created there, retry in a moment, else remove the file and make the store with KeyStore::create",
        path.display()
    )]
    Uninitialised {
        /// The path that was given.
        path: std::path::PathBuf,
    },
    /// Another writer held the store for longer than the busy timeout.
    #[error(
        "the key store is busy: another transaction (in this or another process) held it for more than {waited_ms} ms; nothing was changed, retry later"
    )]
    Busy {
        /// How long we waited, in milliseconds.
        waited_ms: u128,
    },
    /// The file was written by a newer version of this library.
    #[error(
        "the key store has schema version {found}, this library supports up to {supported}: upgrade the program; the file was not changed"
    )]
    SchemaTooNew {
        /// The file's schema version.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
    /// A stored row failed its integrity check.
    #[error(
        "entry `{entry}` in the key store was tampered with or corrupted ({what}); restore the store from a backup"
    )]
    Tampered {
        /// The entry.
        entry: String,
        /// What failed.
        what: String,
    },
    /// The set of entries, or the record that proves it, was changed behind the store's back:
    /// an entry deleted, added, or replaced by an older copy of itself (which its own MAC
    /// cannot tell).
    #[error(
        "the key store's set of entries was tampered with ({what}{}): an entry was deleted, added or replaced by an older copy behind the store's back; restore the store from a backup",
        entry.as_deref().map_or(String::new(), |e| format!(", at entry `{e}`"))
    )]
    StateTampered {
        /// The entry at fault, when the check could single it out: one whose own row fails
        /// its MAC, or one that is not part of the set the store last wrote (added or
        /// brought back). `None` when an entry was deleted or replaced by an older copy of
        /// itself, which the set shows but cannot name.
        entry: Option<String>,
        /// What failed.
        what: String,
    },
    /// The store is at an older generation than one already seen: the file was replaced by
    /// an older copy of itself.
    #[error(
        "the key store is at generation {found}, older than generation {seen} already seen: the file was replaced by an older copy (rolled back); put the newest copy back and find out who replaced it"
    )]
    RolledBack {
        /// The newest generation seen (or required with `StoreOptions::min_generation`).
        seen: u64,
        /// The generation the file holds.
        found: u64,
    },
    /// The Argon2 cost a store file asks for (or a new store would use) is above the maximum
    /// of `StoreOptions::max_kdf`.
    #[error(
        "the key store asks for an Argon2id cost of {memory_kib} KiB, {iterations} passes, {parallelism} lanes, above the maximum of {max_memory_kib} KiB, {max_iterations} passes, {max_parallelism} lanes: nothing was derived; if you made this store with that cost, raise StoreOptions::max_kdf, else the file was crafted to make every open slow"
    )]
    KdfCostTooHigh {
        /// Memory asked for, in KiB.
        memory_kib: u32,
        /// Passes asked for.
        iterations: u32,
        /// Lanes asked for.
        parallelism: u32,
        /// The maximum memory, in KiB.
        max_memory_kib: u32,
        /// The maximum passes.
        max_iterations: u32,
        /// The maximum lanes.
        max_parallelism: u32,
    },
    /// The store file is not a key store, or its metadata is damaged.
    #[error("the key store is damaged: {reason}; restore it from a backup")]
    Corrupt {
        /// What is wrong.
        reason: String,
    },
    /// No entry has this name.
    #[error(
        "no entry named `{name}` in the key store; names are exact and case-sensitive, list them with KeyStore::entries"
    )]
    NotFound {
        /// The name.
        name: String,
    },
    /// The name is already used by another entry.
    #[error("an entry named `{name}` already exists: choose another name or remove it first")]
    NameTaken {
        /// The name.
        name: String,
    },
    /// The name is not a valid entry name.
    #[error("invalid entry name `{name}`: {reason}")]
    InvalidName {
        /// The name, with control characters escaped.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The key is already held by an entry.
    #[error("this key (fingerprint {fingerprint}) is already in the store, in entry `{entry}`")]
    DuplicateKey {
        /// The entry holding it.
        entry: String,
        /// The key's fingerprint.
        fingerprint: Fingerprint,
    },
    /// The entry is not in the state the operation needs.
    #[error("entry `{name}` is {state}: {hint}")]
    WrongState {
        /// The entry.
        name: String,
        /// Its state.
        state: String,
        /// What the operation needed and what to do.
        hint: String,
    },
    /// The entry is bound to endpoints.
    #[error(
        "entry `{name}` is bound to {}: unbind them first, or use remove_with_bindings",
        endpoints.join(", ")
    )]
    StillBound {
        /// The entry.
        name: String,
        /// Its endpoints.
        endpoints: Vec<String>,
    },
    /// Invalid store options.
    #[error("invalid key store options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// A file could not be created or opened.
    #[error("cannot open key store file `{path}`: {reason}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The tokio runtime shut down before a store call given to its blocking pool ran.
    #[error(
        "the tokio runtime is shutting down: the key store call sent to its blocking pool never ran, so nothing was done; call it again on a running runtime"
    )]
    RuntimeShutDown,
    /// The passphrase was changed by another handle since this one was opened.
    #[error(
        "the key store's passphrase was changed by another process or handle: reopen the store with the new passphrase"
    )]
    PassphraseChanged,
    /// The file system holding the store is full (`ENOSPC`, SQLite's `SQLITE_FULL`): the
    /// operation was refused as a whole.
    #[error(
        "the disk holding the key store is full (while {during}): the transaction was not committed and the store keeps its last committed state; free space on that file system (the store needs room beside its file for its write-ahead log), then retry"
    )]
    DiskFull {
        /// What we were doing.
        during: &'static str,
    },
    /// The store's file, or the file system holding it, cannot be written (a read-only mount,
    /// `EROFS`; write permission taken away under an open store, `EACCES` or `EPERM`; SQLite's
    /// `SQLITE_READONLY`): nothing was written.
    #[error(
        "the key store cannot be written (while {during}): its file system is mounted read-only, or the file or its folder is not writable by this user; nothing was changed; remount it read-write or fix the permissions (the store also writes its `-wal` and `-shm` files beside it), then retry"
    )]
    ReadOnly {
        /// What we were doing.
        during: &'static str,
    },
    /// The database reported an error.
    #[error(
        "key store database error while {during}: {reason}; check that the file is on a local, writable disk with free space, then retry"
    )]
    Database {
        /// What we were doing.
        during: &'static str,
        /// SQLite's message.
        reason: String,
    },
}

// ---------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------

/// An identity could not be served over TLS (feature `rustls`).
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum TlsError {
    /// The TLS library refused an entry's key or certificate chain.
    #[error(
        "entry `{entry}` cannot be served over TLS: {reason}; handshakes that resolve to it fail until it is replaced (renew it with a key of at least 2048 bits)"
    )]
    Unusable {
        /// The entry.
        entry: String,
        /// What the TLS library said.
        reason: String,
    },
    /// A warning, through the resolver's error hook: the store binds nothing on the port the
    /// resolver serves, so every handshake there is refused until something is bound.
    #[error(
        "the key store binds nothing on port {} (the resolver for {local}; {bindings} binding(s) on other ports): every handshake there is refused until an entry is bound, e.g. to `0.0.0.0:{}`, `[::]:{}` or `HOST:{}`",
        local.port(), local.port(), local.port(), local.port()
    )]
    NothingBound {
        /// The address the resolver was made for.
        local: std::net::SocketAddr,
        /// How many bindings the store has (on other ports).
        bindings: usize,
    },
    /// No rustls crypto provider is installed in the process, and this build has no fallback.
    #[error(
        "no rustls CryptoProvider is installed in this process and keymanager was built without a fallback: call rustls::crypto::CryptoProvider::install_default (with ring's or aws-lc-rs's default_provider()) at the start of main, before building the resolver, or enable keymanager's feature `aws-lc-rs`"
    )]
    NoCryptoProvider,
    /// The resolver's options are invalid.
    #[error("invalid TLS resolver options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// The resolver's refresh thread could not be started.
    #[error(
        "cannot start the TLS resolver's refresh thread: {reason}; raise the process's thread limit, or build the resolver without a background thread and call refresh yourself"
    )]
    Thread {
        /// What the operating system said.
        reason: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Conversions used inside the crate
// ---------------------------------------------------------------------------------------------

impl From<crate::fingerprint::ParseFingerprintError> for Error {
    fn from(_: crate::fingerprint::ParseFingerprintError) -> Self {
        EncodingError::MalformedText {
            what: "SHA-256 fingerprint",
            reason: crate::fingerprint::ParseFingerprintError::REASON.into(),
        }
        .into()
    }
}

impl EncodingError {
    /// Turns a `der` decoding error into ours, saying what we were decoding.
    pub(crate) fn der(what: &'static str, err: der::Error) -> Self {
        match err.kind() {
            der::ErrorKind::TrailingData { remaining, .. } => EncodingError::TrailingData {
                what,
                extra: usize::try_from(u32::from(remaining)).unwrap_or(usize::MAX),
            },
            _ => EncodingError::MalformedDer {
                what,
                reason: err.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample of messages whose detail comes from elsewhere: each still ends with what to do.
    #[test]
    fn messages_say_what_to_do() {
        let cases: [(Error, &str); 6] = [
            (
                EncodingError::Empty {
                    what: "private key",
                }
                .into(),
                "check the file",
            ),
            (
                KeyError::Generation {
                    reason: "rng failure".into(),
                }
                .into(),
                "random source",
            ),
            (
                KeyError::Signing {
                    reason: "internal".into(),
                }
                .into(),
                "re-import",
            ),
            (
                RequestError::Invalid {
                    reason: "extension 2.5.29.17 is requested twice".into(),
                }
                .into(),
                "have it made again",
            ),
            (KeyError::WrongPassword.into(), "wrong password"),
            (
                KeyError::Random {
                    reason: "getrandom failed".into(),
                }
                .into(),
                "retry",
            ),
        ];
        for (error, advice) in cases {
            let message = error.to_string();
            assert!(message.contains(advice), "{message}");
        }
    }
}
