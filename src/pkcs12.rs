//! PKCS#12 (`.pfx`, `.p12`): a key, its certificate and its chain in one password-protected
//! file, as IIS, the Windows certificate store, Java keystores and `openssl pkcs12` exchange
//! them ([RFC 7292]).
//!
//! [`read`] takes a file apart into [`Pkcs12Identity`]s (a key with its chain, ordered and
//! with every link checked); [`write()`] makes one from a key and its chain. The format itself
//! is `p12-keystore`'s; this module wraps it where its defaults are wrong for a server:
//!
//! - before any key derivation, the file's structure is read for its algorithms and iteration
//!   counts: each count is at most [`MAX_ITERATIONS`], all of them together at most
//!   [`MAX_TOTAL_ITERATIONS`], so a crafted file is refused at once
//!   ([`Pkcs12Error::TooManyIterations`], [`Pkcs12Error::TooMuchWork`]);
//! - a file without a MAC is refused ([`Pkcs12Error::NoMac`]): nothing would tell a damaged
//!   or altered file from a good one;
//! - accepted encryption: PBES2 (PBKDF2 with AES-CBC, OpenSSL 3's default) and
//!   PBE-SHA1-3DES (Windows Server 2016 and older, JDK before 11.0.12), the latter with a
//!   [`Pkcs12Warning::TripleDes`] the caller can show; RC2-40 (`openssl pkcs12 -legacy`) and
//!   RC4 (128 and 40 bits) only with [`Pkcs12ReadOptions::allow_legacy`], with a warning
//!   naming them; anything else never. `p12-keystore` cannot decrypt RC4, so this crate
//!   decrypts those parts itself (with the `rc4` crate) before handing the file over;
//! - a MAC that does not verify is told apart: if the same password decrypts the contents, the
//!   file was altered ([`Pkcs12Error::BadMac`]), otherwise the password is wrong
//!   ([`Pkcs12Error::WrongPassword`]);
//! - the written file uses AES-256-CBC, PBKDF2-HMAC-SHA256 and a SHA-256 MAC
//!   ([`Pkcs12ExportOptions::legacy_3des`] for old Windows importers).
//!
//! ```text
//! PFX ::= SEQUENCE {
//!     version     INTEGER {v3(3)}(v3,...),
//!     authSafe    ContentInfo,
//!     macData     MacData OPTIONAL
//! }
//! MacData ::= SEQUENCE {
//!     mac         DigestInfo,
//!     macSalt     OCTET STRING,
//!     iterations  INTEGER DEFAULT 1
//! }
//! ```
//!
//! Secrets: the password is only borrowed, and the keys we hold are zeroized on drop as
//! everywhere in this crate; but `p12-keystore` hands decrypted keys over in (and builds files
//! from) plain `Vec<u8>`s of its own, which are freed without being zeroized. Import and
//! export in a process whose freed memory an attacker cannot read.
//!
//! The key store imports and exports through this module:
//! [`Transaction::import_pkcs12`](crate::Transaction::import_pkcs12),
//! [`KeyStore::export_pkcs12`](crate::KeyStore::export_pkcs12).
//!
//! [RFC 7292]: https://datatracker.ietf.org/doc/html/rfc7292

use std::fmt;

use der::{Decode, Encode};
use p12_keystore::Pkcs12Archive;

use crate::certificate::Certificate;
use crate::chain::Chain;
use crate::error::{Pkcs12Error, Result};
use crate::key::{KeySizePolicy, PrivateKey};

mod export;
mod inspect;
mod legacy;

pub use export::{Pkcs12ExportOptions, write};
pub use inspect::Pkcs12Inspection;

/// Most iterations one key derivation or the MAC of a file may ask for (one million:
/// `p12-keystore`'s own ceiling; OpenSSL writes 2048, Java 10 000).
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// Most iterations a whole file may ask for, its MAC and every key derivation visible before
/// decryption together.
pub const MAX_TOTAL_ITERATIONS: u64 = 4_000_000;

/// How [`read`] reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pkcs12ReadOptions {
    allow_legacy: bool,
    key_policy: KeySizePolicy,
}

impl Pkcs12ReadOptions {
    /// The defaults: RC2-40 and RC4 refused, keys under [`KeySizePolicy::Standard`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Accept RC2-40 (`openssl pkcs12 -legacy`, old Windows exports) and RC4
    /// (`pbeWithSHAAnd128BitRC4`, `pbeWithSHAAnd40BitRC4`, very old Windows and Netscape
    /// exports), each with a warning naming it ([`Pkcs12Warning::Rc2_40`],
    /// [`Pkcs12Warning::Rc4_128`], [`Pkcs12Warning::Rc4_40`]). They are refused otherwise:
    /// a 40-bit key protects nothing, and RC4 is a broken cipher. The keys still go through
    /// every other check.
    pub fn allow_legacy(mut self, allow: bool) -> Self {
        self.allow_legacy = allow;
        self
    }

    /// The key size policy the keys in the file must satisfy.
    pub fn key_policy(mut self, policy: KeySizePolicy) -> Self {
        self.key_policy = policy;
        self
    }
}

/// What a PKCS#12 file holds: its keys, each with its chain, and what to tell the operator.
#[derive(Debug)]
pub struct Pkcs12Contents {
    identities: Vec<Pkcs12Identity>,
    warnings: Vec<Pkcs12Warning>,
}

impl Pkcs12Contents {
    /// The keys with their chains, in the order of the file.
    pub fn identities(&self) -> &[Pkcs12Identity] {
        &self.identities
    }

    /// What the caller should show the operator (weak encryption, unused certificates).
    pub fn warnings(&self) -> &[Pkcs12Warning] {
        &self.warnings
    }

    /// The identities `select` names: one for [`Pkcs12Select::Only`] (and the file must hold
    /// only one key), [`Pkcs12Select::FriendlyName`] and [`Pkcs12Select::LocalKeyId`], all of
    /// them for [`Pkcs12Select::Each`].
    pub fn select(&self, select: &Pkcs12Select) -> Result<Vec<&Pkcs12Identity>> {
        let chosen: Vec<&Pkcs12Identity> = match select {
            Pkcs12Select::Only => {
                if self.identities.len() > 1 {
                    return Err(Pkcs12Error::SeveralKeys {
                        names: self.identities.iter().map(Pkcs12Identity::label).collect(),
                    }
                    .into());
                }
                self.identities.iter().collect()
            }
            Pkcs12Select::FriendlyName(name) => self
                .identities
                .iter()
                .filter(|i| i.friendly_name.as_deref() == Some(name.as_str()))
                .take(1)
                .collect(),
            Pkcs12Select::LocalKeyId(id) => self
                .identities
                .iter()
                .filter(|i| i.local_key_id.as_deref() == Some(id.as_slice()))
                .take(1)
                .collect(),
            Pkcs12Select::Each => self.identities.iter().collect(),
        };
        if chosen.is_empty() {
            return Err(Pkcs12Error::NoSuchKey {
                wanted: select.to_string(),
                names: self.identities.iter().map(Pkcs12Identity::label).collect(),
            }
            .into());
        }
        Ok(chosen)
    }
}

/// One key of a PKCS#12 file with its certificate chain (leaf first, links checked).
#[derive(Debug)]
pub struct Pkcs12Identity {
    friendly_name: Option<String>,
    local_key_id: Option<Vec<u8>>,
    key: PrivateKey,
    chain: Chain,
}

impl Pkcs12Identity {
    /// The key bag's `friendlyName` (a Java alias, a Windows name), if it has one.
    pub fn friendly_name(&self) -> Option<&str> {
        self.friendly_name.as_deref()
    }

    /// The key bag's `localKeyId`, if it has one.
    pub fn local_key_id(&self) -> Option<&[u8]> {
        self.local_key_id.as_deref()
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// Its certificate chain, leaf first.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// How messages name it: its friendlyName, else its localKeyId in hex, else its subject.
    fn label(&self) -> String {
        match (&self.friendly_name, &self.local_key_id) {
            (Some(name), _) => name.clone(),
            (None, Some(id)) => format!("localKeyId {}", hex::encode(id)),
            (None, None) => self.chain.leaf().subject(),
        }
    }
}

/// Which key of a PKCS#12 file to take (a Java keystore may hold many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkcs12Select {
    /// The file's one key; a file with several is [`Pkcs12Error::SeveralKeys`].
    Only,
    /// The key whose bag carries this `friendlyName` (the Java alias).
    FriendlyName(String),
    /// The key whose bag carries this `localKeyId`.
    LocalKeyId(Vec<u8>),
    /// Every key, each as its own entry.
    Each,
}

impl fmt::Display for Pkcs12Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Only => f.write_str("the only key"),
            Self::FriendlyName(name) => write!(f, "the key named `{name}`"),
            Self::LocalKeyId(id) => write!(f, "the key with localKeyId {}", hex::encode(id)),
            Self::Each => f.write_str("every key"),
        }
    }
}

/// Something a file was accepted with that the operator should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pkcs12Warning {
    /// Parts of the file were encrypted with PBE-SHA1-3DES (Windows Server 2016 and older,
    /// JDK before 11.0.12).
    TripleDes,
    /// Parts of the file were encrypted with RC2-40, accepted because legacy algorithms were
    /// allowed.
    Rc2_40,
    /// Parts of the file were encrypted with 128-bit RC4 (`pbeWithSHAAnd128BitRC4`), accepted
    /// because legacy algorithms were allowed.
    Rc4_128,
    /// Parts of the file were encrypted with 40-bit RC4 (`pbeWithSHAAnd40BitRC4`), accepted
    /// because legacy algorithms were allowed.
    Rc4_40,
    /// Certificates in the file that are on no key's chain; they were left out.
    UnusedCertificates {
        /// Their subjects.
        subjects: Vec<String>,
    },
}

impl fmt::Display for Pkcs12Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TripleDes => f.write_str(
                "the file is encrypted with 3DES (PBE-SHA1-3DES), an old scheme; export it again with AES-256 (OpenSSL 3's default) when you can",
            ),
            Self::Rc2_40 => f.write_str(
                "the file is encrypted with RC2-40, which protects nothing; treat the file as if it were unencrypted and delete it",
            ),
            Self::Rc4_128 => f.write_str(
                "the file is encrypted with RC4 (128-bit), a broken cipher; treat the file as exposed, delete it, and export again with AES-256 (OpenSSL 3's default) when you can",
            ),
            Self::Rc4_40 => f.write_str(
                "the file is encrypted with RC4-40, which protects nothing; treat the file as if it were unencrypted and delete it",
            ),
            Self::UnusedCertificates { subjects } => write!(
                f,
                "{} certificate(s) in the file are on no key's chain and were left out: {}",
                subjects.len(),
                subjects.join("; ")
            ),
        }
    }
}

/// The checks [`read`] makes before deriving anything from the password: the structure, the
/// algorithms and the iteration counts (see the [module documentation](self)). A caller can
/// run it before asking for a password, or to learn what a file costs to open.
pub fn inspect(bytes: &[u8], options: &Pkcs12ReadOptions) -> Result<Pkcs12Inspection> {
    inspect::inspect(bytes, options.allow_legacy)
}

/// Reads the PKCS#12 file `bytes` (DER) with `password`: every key with its chain.
///
/// The checks of the [module documentation](self) run first. Each key must be an RSA key the
/// policy allows, with its certificate in the file ([`Pkcs12Error::NoCertificate`]); its chain
/// is built from the file's other certificates with [`Chain::build_lenient`] (the order in
/// the file does not matter; a certificate on no key's chain gives a
/// [`Pkcs12Warning::UnusedCertificates`]). Keys are found by their public key, so files
/// without `localKeyId` or `friendlyName` attributes are read too.
pub fn read(bytes: &[u8], password: &str, options: &Pkcs12ReadOptions) -> Result<Pkcs12Contents> {
    let mut seen = inspect(bytes, options)?;
    let archive = if seen.uses_rc4() {
        legacy::open(bytes, password, &mut seen)?
    } else {
        Pkcs12Archive::from_pkcs12(bytes, password).map_err(|e| classify(&e, bytes, password))?
    };
    let mut warnings = seen.into_warnings();
    let certificates = archive
        .certs
        .iter()
        .map(|bag| Certificate::from_der(bag.cert.as_der()))
        .collect::<Result<Vec<_>>>()?;
    let mut keys = Vec::with_capacity(archive.keys.len());
    for bag in &archive.keys {
        let key = PrivateKey::from_der_with_policy(bag.key.as_der(), options.key_policy)?;
        keys.push((bag, key));
    }
    if keys.is_empty() {
        return Err(Pkcs12Error::NoKey.into());
    }
    let fingerprints: Vec<_> = keys.iter().map(|(_, k)| k.fingerprint()).collect();
    let mut used = vec![false; certificates.len()];
    let mut identities = Vec::with_capacity(keys.len());
    for (bag, key) in keys {
        let fp = key.fingerprint();
        if !certificates.iter().any(|c| c.fingerprint() == fp) {
            return Err(Pkcs12Error::NoCertificate {
                fingerprint: fp,
                friendly_name: bag.friendly_name.clone(),
            }
            .into());
        }
        // The other keys' certificates are not on this key's chain.
        let pool: Vec<Certificate> = certificates
            .iter()
            .filter(|c| {
                let of = c.fingerprint();
                of == fp || !fingerprints.contains(&of)
            })
            .cloned()
            .collect();
        let (chain, _) = Chain::build_lenient(pool, &fp)?;
        for (i, cert) in certificates.iter().enumerate() {
            if chain.certificates().contains(cert) {
                used[i] = true;
            }
        }
        identities.push(Pkcs12Identity {
            friendly_name: bag.friendly_name.clone(),
            local_key_id: bag.local_key_id.as_ref().map(|id| id.as_ref().to_vec()),
            key,
            chain,
        });
    }
    let unused: Vec<String> = certificates
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(c, _)| c.subject())
        .collect();
    if !unused.is_empty() {
        warnings.push(Pkcs12Warning::UnusedCertificates { subjects: unused });
    }
    Ok(Pkcs12Contents {
        identities,
        warnings,
    })
}

/// Our error for a file `p12-keystore` refused after the pre-checks passed. A MAC that does
/// not verify is a wrong password unless the same password decrypts the contents without the
/// MAC, in which case the file was altered.
fn classify(err: &p12_keystore::error::Error, bytes: &[u8], password: &str) -> crate::Error {
    use p12_keystore::error::Error as P12;
    match err {
        P12::MacError(_) => {
            let decrypts = without_mac(bytes)
                .is_some_and(|stripped| Pkcs12Archive::from_pkcs12(&stripped, password).is_ok());
            if decrypts {
                Pkcs12Error::BadMac.into()
            } else {
                Pkcs12Error::WrongPassword.into()
            }
        }
        // The MAC verified, so the password is right for it; the contents use another.
        P12::UnpadError | P12::Pkcs5Error(_) => Pkcs12Error::WrongPassword.into(),
        other => Pkcs12Error::Unreadable {
            reason: other.to_string(),
        }
        .into(),
    }
}

/// `bytes` re-encoded without its `macData`; `None` if it does not parse (it did moments ago).
fn without_mac(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut pfx = pkcs12::pfx::Pfx::from_der(bytes).ok()?;
    pfx.mac_data = None;
    pfx.to_der().ok()
}

#[cfg(test)]
mod tests {
    use cms::content_info::{CmsVersion, ContentInfo};
    use cms::encrypted_data::EncryptedData;
    use cms::enveloped_data::EncryptedContentInfo;
    use const_oid::db::{rfc5911, rfc5912, rfc7292};
    use der::Any;
    use der::asn1::OctetString;
    use pkcs12::pbe_params::Pkcs12PbeParams;
    use pkcs12::pfx::{Pfx, Version};
    use pkcs12::{DigestInfo, MacData};
    use spki::AlgorithmIdentifierOwned;

    use super::*;

    /// A PFX whose authSafe holds one (undecryptable) EncryptedData per algorithm, with a MAC
    /// of `mac_iterations`: enough for the checks, which never decrypt.
    fn pfx(mac_iterations: i32, algorithms: &[AlgorithmIdentifierOwned]) -> Vec<u8> {
        let safes: Vec<ContentInfo> = algorithms
            .iter()
            .map(|alg| encrypted_part(alg, vec![0; 16]))
            .collect();
        pfx_of(&safes, mac_iterations, |_| vec![0; 32])
    }

    /// A PFX of `parts`, its SHA-256 MAC (salt `[1; 8]`, `mac_iterations`) the digest `mac`
    /// gives for the authSafe's contents.
    pub(super) fn pfx_of(
        parts: &[ContentInfo],
        mac_iterations: i32,
        mac: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> Vec<u8> {
        let auth_safe = parts.to_vec().to_der().unwrap();
        let digest = mac(&auth_safe);
        Pfx {
            version: Version::V3,
            auth_safe: ContentInfo {
                content_type: rfc5911::ID_DATA,
                content: Any::encode_from(&OctetString::new(auth_safe).unwrap()).unwrap(),
            },
            mac_data: Some(MacData {
                mac: DigestInfo {
                    algorithm: AlgorithmIdentifierOwned {
                        oid: rfc5912::ID_SHA_256,
                        parameters: None,
                    },
                    digest: OctetString::new(digest).unwrap(),
                },
                mac_salt: OctetString::new(vec![1; 8]).unwrap(),
                iterations: mac_iterations,
            }),
        }
        .to_der()
        .unwrap()
    }

    /// An `EncryptedData` part: `content` encrypted with `alg`.
    pub(super) fn encrypted_part(alg: &AlgorithmIdentifierOwned, content: Vec<u8>) -> ContentInfo {
        ContentInfo {
            content_type: rfc5911::ID_ENCRYPTED_DATA,
            content: Any::encode_from(&EncryptedData {
                version: CmsVersion::V0,
                enc_content_info: EncryptedContentInfo {
                    content_type: rfc5911::ID_DATA,
                    content_enc_alg: alg.clone(),
                    encrypted_content: Some(OctetString::new(content).unwrap()),
                },
                unprotected_attrs: None,
            })
            .unwrap(),
        }
    }

    pub(super) fn pbe(
        oid: const_oid::ObjectIdentifier,
        iterations: i32,
    ) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: Some(
                Any::encode_from(&Pkcs12PbeParams {
                    salt: OctetString::new(vec![2; 8]).unwrap(),
                    iterations,
                })
                .unwrap(),
            ),
        }
    }

    fn refused(bytes: &[u8], options: &Pkcs12ReadOptions) -> Pkcs12Error {
        match inspect(bytes, options) {
            Err(crate::Error::Pkcs12(e)) => e,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    const TRIPLE_DES: const_oid::ObjectIdentifier = rfc7292::PBE_WITH_SHA_AND_3_KEY_TRIPLE_DES_CBC;

    #[test]
    fn iterations_are_counted_per_file() {
        let ok = pfx(2048, &[pbe(TRIPLE_DES, 1000), pbe(TRIPLE_DES, 3000)]);
        let seen = inspect(&ok, &Pkcs12ReadOptions::new()).unwrap();
        assert_eq!(seen.iterations(), 6048);
        assert_eq!(seen.warnings(), [Pkcs12Warning::TripleDes]);
        // Each within the bound, too many together: refused by counting, before any work.
        let many = vec![pbe(TRIPLE_DES, 1_000_000); 5];
        assert_eq!(
            refused(&pfx(1, &many), &Pkcs12ReadOptions::new()),
            Pkcs12Error::TooMuchWork {
                limit: MAX_TOTAL_ITERATIONS
            }
        );
        for bad in [0, -1, 1_000_001, i32::MAX] {
            let err = refused(&pfx(1, &[pbe(TRIPLE_DES, bad)]), &Pkcs12ReadOptions::new());
            assert!(
                matches!(err, Pkcs12Error::TooManyIterations { iterations, .. } if iterations == i64::from(bad)),
                "{err:?}"
            );
            let err = refused(&pfx(bad, &[]), &Pkcs12ReadOptions::new());
            assert!(
                matches!(err, Pkcs12Error::TooManyIterations { what: "MAC", .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn legacy_and_unknown_algorithms() {
        let rc2 = pfx(1, &[pbe(rfc7292::PBEWITH_SHA_AND_40_BIT_RC_2_CBC, 1)]);
        let err = refused(&rc2, &Pkcs12ReadOptions::new());
        assert!(matches!(err, Pkcs12Error::LegacyEncryption { .. }));
        let seen = inspect(&rc2, &Pkcs12ReadOptions::new().allow_legacy(true)).unwrap();
        assert_eq!(seen.warnings(), [Pkcs12Warning::Rc2_40]);
        for (oid, warning) in [
            (rfc7292::PBE_WITH_SHA_AND_40_BIT_RC_4, Pkcs12Warning::Rc4_40),
            (
                rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_4,
                Pkcs12Warning::Rc4_128,
            ),
        ] {
            let rc4 = pfx(1, &[pbe(oid, 1)]);
            let err = refused(&rc4, &Pkcs12ReadOptions::new());
            assert_eq!(err, Pkcs12Error::LegacyEncryption { algorithm: oid });
            let message = err.to_string();
            assert!(message.contains("--allow-legacy"), "{message}");
            assert!(
                message.contains("40-bit") || message.contains("RC4, a broken cipher"),
                "{message}"
            );
            let options = Pkcs12ReadOptions::new().allow_legacy(true);
            let seen = inspect(&rc4, &options).unwrap();
            assert_eq!(seen.warnings(), std::slice::from_ref(&warning));
            assert!(seen.uses_rc4());
            assert!(warning.to_string().contains("RC4"), "{warning}");
            // Still bounded before any work.
            let err = refused(&pfx(1, &[pbe(oid, 1_000_001)]), &options);
            assert!(
                matches!(err, Pkcs12Error::TooManyIterations { .. }),
                "{err:?}"
            );
        }
        // What no option opens.
        for oid in [
            rfc7292::PBE_WITH_SHA_AND_2_KEY_TRIPLE_DES_CBC,
            rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_2_CBC,
        ] {
            let options = Pkcs12ReadOptions::new().allow_legacy(true);
            let err = refused(&pfx(1, &[pbe(oid, 1)]), &options);
            assert!(
                matches!(err, Pkcs12Error::UnsupportedAlgorithm { algorithm, .. } if algorithm == oid),
                "{err:?}"
            );
            assert!(err.to_string().contains("export it again"), "{err}");
        }
    }

    #[test]
    fn a_file_that_passes_the_checks_but_does_not_decrypt_is_an_error() {
        let bytes = pfx(1, &[pbe(TRIPLE_DES, 1)]);
        let result = read(&bytes, "password", &Pkcs12ReadOptions::new());
        assert!(
            matches!(
                result,
                Err(crate::Error::Pkcs12(Pkcs12Error::WrongPassword))
            ),
            "{result:?}"
        );
        for junk in [
            &b""[..],
            b"\x30\x00",
            b"not a pfx",
            &bytes[..bytes.len() / 2],
        ] {
            let err = refused(junk, &Pkcs12ReadOptions::new());
            assert!(matches!(err, Pkcs12Error::Malformed { .. }), "{err:?}");
        }
    }

    #[test]
    fn selections_name_themselves() {
        assert_eq!(
            Pkcs12Select::FriendlyName("www".into()).to_string(),
            "the key named `www`"
        );
        assert_eq!(
            Pkcs12Select::LocalKeyId(vec![0xab, 1]).to_string(),
            "the key with localKeyId ab01"
        );
    }
}
