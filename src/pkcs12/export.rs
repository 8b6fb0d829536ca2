//! Writing a PKCS#12 file: one key, its chain, and its name as `friendlyName`.

use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain};

use super::MAX_ITERATIONS;
use crate::certificate::Certificate;
use crate::error::{Pkcs12Error, Result};
use crate::key::PrivateKey;

/// Iterations written by default, for PBKDF2 and for the MAC's key derivation.
const DEFAULT_ITERATIONS: u32 = 100_000;

/// How [`write()`] protects a file.
///
/// The default: AES-256-CBC with PBKDF2-HMAC-SHA256 for the key and the certificates, an
/// HMAC-SHA256 MAC, 100 000 iterations each; OpenSSL 1.1.1 and 3, Java 8u301, 11.0.12 and
/// later, and Windows Server 2019 and later read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pkcs12ExportOptions {
    legacy_3des: bool,
    iterations: u32,
}

impl Default for Pkcs12ExportOptions {
    fn default() -> Self {
        Self {
            legacy_3des: false,
            iterations: DEFAULT_ITERATIONS,
        }
    }
}

impl Pkcs12ExportOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encrypt with PBE-SHA1-3DES and MAC with HMAC-SHA1 instead, for importers that know
    /// nothing newer (Windows Server 2016 and older, Java before 8u301).
    pub fn legacy_3des(mut self, legacy: bool) -> Self {
        self.legacy_3des = legacy;
        self
    }

    /// The iteration count of every key derivation (1 to [`MAX_ITERATIONS`], so that we can
    /// read back what we write).
    pub fn iterations(mut self, iterations: u32) -> Self {
        self.iterations = iterations;
        self
    }
}

/// A PKCS#12 file (DER) holding `key` and `chain` (leaf first, as [`Chain`](crate::Chain)
/// keeps it), protected with `password`, the key bag named `friendly_name`.
///
/// The key's fingerprint (SHA-256 of its public key) is the `localKeyId` tying the key to its
/// certificate.
pub fn write(
    friendly_name: &str,
    key: &PrivateKey,
    chain: &[Certificate],
    password: &str,
    options: &Pkcs12ExportOptions,
) -> Result<Vec<u8>> {
    if options.iterations == 0 || options.iterations > MAX_ITERATIONS {
        return Err(Pkcs12Error::InvalidOptions {
            reason: format!(
                "{} iterations is outside 1..={MAX_ITERATIONS}",
                options.iterations
            ),
        }
        .into());
    }
    let pkcs8 = key.to_pkcs8_der()?;
    let p12_key = p12_keystore::PrivateKey::from_der(&pkcs8).map_err(write_error)?;
    let certs = chain
        .iter()
        .map(|c| p12_keystore::Certificate::from_der(c.to_der()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(write_error)?;
    let entry = PrivateKeyChain::new(key.fingerprint().as_bytes().to_vec(), p12_key, certs);
    let mut store = KeyStore::new();
    store.add_entry(friendly_name, KeyStoreEntry::PrivateKeyChain(entry));
    let (encryption, mac) = if options.legacy_3des {
        (
            EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            MacAlgorithm::HmacSha1,
        )
    } else {
        (
            EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            MacAlgorithm::HmacSha256,
        )
    };
    store
        .writer(password)
        .encryption_algorithm(encryption)
        .encryption_iterations(options.iterations)
        .mac_algorithm(mac)
        .mac_iterations(options.iterations)
        .write()
        .map_err(write_error)
}

fn write_error(err: p12_keystore::error::Error) -> crate::Error {
    Pkcs12Error::Write {
        reason: err.to_string(),
    }
    .into()
}
