//! The checks made on a PKCS#12 file before any key derivation: the outer structure is read
//! with `der` (only to look at algorithm identifiers and iteration counts, never to decrypt),
//! and a file that asks for too much work, an algorithm we refuse, or no MAC at all is refused
//! here, in time linear in its size.
//!
//! `p12-keystore` bounds each count at one million on its own, but would run a file with many
//! such items to the end, accepts RC2-40 silently and files without a MAC; these checks close
//! those gaps for what they can see: the items of the file and of its plain parts, not key
//! bags inside a 3DES or AES part (those take the password to reach). RC4, which `p12-keystore` cannot decrypt, passes them only with legacy
//! encryption allowed, and is then decrypted in [`legacy`](super::legacy).

use const_oid::db::{rfc5911, rfc5912, rfc7292};
use der::asn1::{ContextSpecific, OctetString};
use der::{Decode, Encode};
use pkcs5::pbes2;
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pkcs12PbeParams};
use pkcs12::pfx::{Pfx, Version};
use pkcs12::safe_bag::SafeContents;
use spki::AlgorithmIdentifierOwned;

use super::{MAX_ITERATIONS, MAX_TOTAL_ITERATIONS, Pkcs12Warning, legacy};
use crate::error::{Pkcs12Error, Result};

/// What the checks made before any key derivation learned about a file (see [`inspect`](super::inspect)).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pkcs12Inspection {
    warnings: Vec<Pkcs12Warning>,
    /// Iterations counted so far (MAC and every visible key derivation).
    total: u64,
}

impl Pkcs12Inspection {
    /// The warnings reading the file will give about its encryption.
    pub fn warnings(&self) -> &[Pkcs12Warning] {
        &self.warnings
    }

    /// The iterations the file asks for: its MAC and every key derivation visible before
    /// decryption, at most [`MAX_TOTAL_ITERATIONS`].
    pub fn iterations(&self) -> u64 {
        self.total
    }

    pub(super) fn into_warnings(self) -> Vec<Pkcs12Warning> {
        self.warnings
    }

    /// Whether parts of the file are encrypted with RC4 (`p12-keystore` cannot decrypt them).
    pub(super) fn uses_rc4(&self) -> bool {
        self.warnings
            .iter()
            .any(|w| matches!(w, Pkcs12Warning::Rc4_128 | Pkcs12Warning::Rc4_40))
    }
}

/// Checks `bytes` (a DER `PFX`) before anything is derived from the password.
pub(super) fn inspect(bytes: &[u8], allow_legacy: bool) -> Result<Pkcs12Inspection> {
    let pfx = Pfx::from_der(bytes).map_err(|e| malformed("PFX", &e))?;
    if pfx.version != Version::V3 {
        return Err(malformed_text("the PFX version is not 3"));
    }
    let mut seen = Pkcs12Inspection::default();
    let Some(mac) = &pfx.mac_data else {
        return Err(Pkcs12Error::NoMac.into());
    };
    let mac_oid = mac.mac.algorithm.oid;
    if ![
        rfc5912::ID_SHA_1,
        rfc5912::ID_SHA_224,
        rfc5912::ID_SHA_256,
        rfc5912::ID_SHA_384,
        rfc5912::ID_SHA_512,
    ]
    .contains(&mac_oid)
    {
        return Err(Pkcs12Error::UnsupportedAlgorithm {
            what: "MAC",
            algorithm: mac_oid,
        }
        .into());
    }
    seen.count("MAC", i64::from(mac.iterations))?;
    if pfx.auth_safe.content_type != rfc5911::ID_DATA {
        return Err(Pkcs12Error::UnsupportedContentType {
            content_type: pfx.auth_safe.content_type,
        }
        .into());
    }
    let safes = decode_data(&pfx.auth_safe.content)?;
    let safes: Vec<cms::content_info::ContentInfo> =
        Vec::from_der(&safes).map_err(|e| malformed("AuthenticatedSafe", &e))?;
    for safe in &safes {
        match safe.content_type {
            t if t == rfc5911::ID_DATA => {
                let data = decode_data(&safe.content)?;
                let bags =
                    SafeContents::from_der(&data).map_err(|e| malformed("SafeContents", &e))?;
                for bag in &bags {
                    if bag.bag_id == pkcs12::PKCS_12_PKCS8_KEY_BAG_OID {
                        let info: ContextSpecific<EncryptedPrivateKeyInfo> =
                            ContextSpecific::from_der(&bag.bag_value)
                                .map_err(|e| malformed("shrouded key bag", &e))?;
                        seen.algorithm(&info.value.encryption_algorithm, allow_legacy)?;
                    }
                }
            }
            t if t == rfc5911::ID_ENCRYPTED_DATA => {
                let der = safe
                    .content
                    .to_der()
                    .map_err(|e| malformed("EncryptedData", &e))?;
                let data = cms::encrypted_data::EncryptedData::from_der(&der)
                    .map_err(|e| malformed("EncryptedData", &e))?;
                seen.algorithm(&data.enc_content_info.content_enc_alg, allow_legacy)?;
            }
            other => {
                return Err(Pkcs12Error::UnsupportedContentType {
                    content_type: other,
                }
                .into());
            }
        }
    }
    Ok(seen)
}

impl Pkcs12Inspection {
    /// Checks one encryption algorithm: accepted, accepted with a warning, or refused.
    pub(super) fn algorithm(
        &mut self,
        alg: &AlgorithmIdentifierOwned,
        allow_legacy: bool,
    ) -> Result<()> {
        let params = alg
            .parameters
            .as_ref()
            .ok_or_else(|| malformed_text("an encryption algorithm has no parameters"))?
            .to_der()
            .map_err(|e| malformed("algorithm parameters", &e))?;
        match alg.oid {
            oid if oid == pbes2::PBES2_OID => {
                let params = pbes2::Parameters::from_der(&params)
                    .map_err(|e| malformed("PBES2 parameters", &e))?;
                let pbes2::Kdf::Pbkdf2(kdf) = &params.kdf else {
                    return Err(Pkcs12Error::UnsupportedAlgorithm {
                        what: "key derivation (only PBKDF2 is read in PKCS#12)",
                        algorithm: params.kdf.oid(),
                    }
                    .into());
                };
                self.count("PBKDF2", i64::from(kdf.iteration_count))?;
                match params.encryption {
                    pbes2::EncryptionScheme::Aes128Cbc { .. }
                    | pbes2::EncryptionScheme::Aes192Cbc { .. }
                    | pbes2::EncryptionScheme::Aes256Cbc { .. } => Ok(()),
                    other => Err(Pkcs12Error::UnsupportedAlgorithm {
                        what: "PBES2 cipher (only AES-CBC is read)",
                        algorithm: other.oid(),
                    }
                    .into()),
                }
            }
            oid if oid == rfc7292::PBE_WITH_SHA_AND_3_KEY_TRIPLE_DES_CBC => {
                self.pbes1(&params)?;
                self.warn(Pkcs12Warning::TripleDes);
                Ok(())
            }
            oid if oid == rfc7292::PBEWITH_SHA_AND_40_BIT_RC_2_CBC || legacy::is_rc4(oid) => {
                if !allow_legacy {
                    return Err(Pkcs12Error::LegacyEncryption { algorithm: oid }.into());
                }
                self.pbes1(&params)?;
                self.warn(match oid {
                    o if o == rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_4 => Pkcs12Warning::Rc4_128,
                    o if o == rfc7292::PBE_WITH_SHA_AND_40_BIT_RC_4 => Pkcs12Warning::Rc4_40,
                    _ => Pkcs12Warning::Rc2_40,
                });
                Ok(())
            }
            oid => Err(Pkcs12Error::UnsupportedAlgorithm {
                what: "encryption",
                algorithm: oid,
            }
            .into()),
        }
    }

    /// The iteration count of a PKCS#12 PBE (`pkcs-12PbeParams`).
    fn pbes1(&mut self, params: &[u8]) -> Result<()> {
        let params = Pkcs12PbeParams::from_der(params)
            .map_err(|e| malformed("PKCS#12 PBE parameters", &e))?;
        self.count("PKCS#12 key derivation", i64::from(params.iterations))
    }

    /// Adds `iterations` of `what` to the work, refusing a count out of bounds.
    fn count(&mut self, what: &'static str, iterations: i64) -> Result<()> {
        if iterations < 1 || iterations > i64::from(MAX_ITERATIONS) {
            return Err(Pkcs12Error::TooManyIterations {
                what,
                iterations,
                limit: MAX_ITERATIONS,
            }
            .into());
        }
        // `iterations` is in 1..=MAX_ITERATIONS here.
        self.total = self.total.saturating_add(iterations.unsigned_abs());
        if self.total > MAX_TOTAL_ITERATIONS {
            return Err(Pkcs12Error::TooMuchWork {
                limit: MAX_TOTAL_ITERATIONS,
            }
            .into());
        }
        Ok(())
    }

    fn warn(&mut self, warning: Pkcs12Warning) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }
}

/// The bytes of a `Data` content (an OCTET STRING).
pub(super) fn decode_data(content: &der::Any) -> Result<Vec<u8>> {
    let der = content.to_der().map_err(|e| malformed("Data", &e))?;
    Ok(OctetString::from_der(&der)
        .map_err(|e| malformed("Data", &e))?
        .into_bytes()
        .into_vec())
}

pub(super) fn malformed(what: &str, err: &der::Error) -> crate::Error {
    malformed_text(&format!("{what}: {err}"))
}

fn malformed_text(reason: &str) -> crate::Error {
    Pkcs12Error::Malformed {
        reason: reason.to_owned(),
    }
    .into()
}
