//! [`Fingerprint`]: the SHA-256 of a DER `SubjectPublicKeyInfo`, the identity of a key.

use std::fmt;
use std::str::FromStr;

use const_oid::db::rfc5912;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};

/// SHA-256 of a public key's DER `SubjectPublicKeyInfo` ([RFC 5280 §4.1.2.7]).
///
/// This is the identity of a key pair: a certificate matches a private key when their
/// fingerprints are equal, and the key store indexes pending keys by it. It displays as 64
/// lower-case hex digits and parses from hex (with or without `:` separators).
///
/// [RFC 5280 §4.1.2.7]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.7
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of the given DER `SubjectPublicKeyInfo`.
    ///
    /// It is the SHA-256 of the key's `SubjectPublicKeyInfo` in its canonical form. For an RSA
    /// key that is `rsaEncryption` with `NULL` parameters and the minimal DER `RSAPublicKey`
    /// ([RFC 3279 §2.3.1]), which is what every correct encoder writes, so the fingerprint is
    /// then simply the SHA-256 of `spki_der` (`openssl pkey -pubout -outform DER | sha256sum`).
    /// The same modulus and exponent encoded differently (parameters absent, or under the
    /// `id-RSASSA-PSS` algorithm) get the same fingerprint, so a key, its request and its
    /// certificate always agree. Other keys are hashed as they are.
    ///
    /// [RFC 3279 §2.3.1]: https://datatracker.ietf.org/doc/html/rfc3279#section-2.3.1
    pub fn of_spki_der(spki_der: &[u8]) -> Self {
        let canonical = rsa_numbers(spki_der).and_then(|(n, e)| canonical_rsa_spki(&n, &e));
        Self(Sha256::digest(canonical.as_deref().unwrap_or(spki_der)).into())
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 digits (the same as `Display`).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<[u8; 32]> for Fingerprint {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    /// Reads 64 hex digits, optionally separated by `:` (as `openssl x509 -fingerprint`
    /// prints them). The error converts into [`crate::Error`] with `?`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| *c != ':').collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits.trim(), &mut out).map_err(|_| ParseFingerprintError)?;
        Ok(Self(out))
    }
}

/// The text given for a [`Fingerprint`] is not 64 hex digits. It converts into
/// [`crate::Error`] (`EncodingError::MalformedText`) with `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseFingerprintError;

impl ParseFingerprintError {
    /// What was wrong and what is expected, as the message says it.
    pub(crate) const REASON: &'static str = "expected 64 hex digits (optionally separated by         `:`), as `openssl pkey -pubout -outform DER | sha256sum` prints";
}

impl fmt::Display for ParseFingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed SHA-256 fingerprint: {}", Self::REASON)
    }
}

impl std::error::Error for ParseFingerprintError {}

/// The DER `SubjectPublicKeyInfo` of an RSA key as RFC 3279 §2.3.1 writes it.
///
/// ```text
/// SubjectPublicKeyInfo  ::=  SEQUENCE  {
///      algorithm            AlgorithmIdentifier,   -- rsaEncryption, parameters NULL
///      subjectPublicKey     BIT STRING  }          -- DER RSAPublicKey
///
/// RSAPublicKey ::= SEQUENCE {
///      modulus            INTEGER,    -- n
///      publicExponent     INTEGER  }  -- e
/// ```
fn canonical_rsa_spki(n: &[u8], e: &[u8]) -> Option<Vec<u8>> {
    let key = pkcs1::RsaPublicKeyRef {
        modulus: der::asn1::UintRef::new(n).ok()?,
        public_exponent: der::asn1::UintRef::new(e).ok()?,
    };
    let key_der = key.to_der().ok()?;
    spki::SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: rfc5912::RSA_ENCRYPTION,
            parameters: Some(der::AnyRef::NULL),
        },
        subject_public_key: der::asn1::BitStringRef::from_bytes(&key_der).ok()?,
    }
    .to_der()
    .ok()
}

/// The RSA modulus and public exponent of an RSA (or RSA-PSS) `SubjectPublicKeyInfo`,
/// big-endian without leading zeros.
pub(crate) fn rsa_numbers(spki_der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    let oid = spki.algorithm.oid;
    if oid != rfc5912::RSA_ENCRYPTION && oid != rfc5912::ID_RSASSA_PSS {
        return None;
    }
    let key = pkcs1::RsaPublicKeyRef::from_der(spki.subject_public_key.as_bytes()?).ok()?;
    Some((
        strip_zeros(key.modulus.as_bytes()),
        strip_zeros(key.public_exponent.as_bytes()),
    ))
}

pub(crate) fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_known_vector() {
        // SHA-256 of the empty string.
        let fp = Fingerprint::of_spki_der(b"");
        assert_eq!(
            fp.to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(fp.to_string().parse::<Fingerprint>().unwrap(), fp);
        let colons = fp
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(colons.parse::<Fingerprint>().unwrap(), fp);
        let err = crate::Error::from("abcd".parse::<Fingerprint>().unwrap_err());
        assert!(
            matches!(
                err,
                crate::Error::Encoding(crate::error::EncodingError::MalformedText {
                    what: "SHA-256 fingerprint",
                    ..
                })
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("64 hex digits") && !msg.contains("malformed DER"),
            "{msg}"
        );
    }

    #[test]
    fn rsa_keys_hash_in_canonical_form() {
        // RSAPublicKey { n = 0x00c5 (a DER INTEGER needs the leading zero), e = 3 }.
        let rsa_key = [0x30, 0x07, 0x02, 0x02, 0x00, 0xc5, 0x02, 0x01, 0x03];
        let spki = |algorithm: &[u8]| {
            let mut bits = vec![0x03, 10, 0x00];
            bits.extend_from_slice(&rsa_key);
            let mut body = algorithm.to_vec();
            body.extend_from_slice(&bits);
            let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
            out.extend_from_slice(&body);
            out
        };
        // rsaEncryption with NULL parameters (canonical), without parameters, and id-RSASSA-PSS.
        let with_null = spki(&[
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ]);
        let absent = spki(&[
            0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        ]);
        let pss = spki(&[
            0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
        ]);
        let canonical = Fingerprint::of_spki_der(&with_null);
        assert_eq!(canonical, Fingerprint(Sha256::digest(&with_null).into()));
        assert_eq!(Fingerprint::of_spki_der(&absent), canonical);
        assert_eq!(Fingerprint::of_spki_der(&pss), canonical);
        // Anything that is not an RSA key is hashed as it is.
        assert_eq!(
            Fingerprint::of_spki_der(b"not a key"),
            Fingerprint(Sha256::digest(b"not a key").into())
        );
    }
}
