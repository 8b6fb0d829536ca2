//! [`Fingerprint`]: the SHA-256 of a DER `SubjectPublicKeyInfo`, the identity of a key.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::{EncodingError, Error};

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
    /// The fingerprint of the given DER `SubjectPublicKeyInfo` bytes.
    pub fn of_spki_der(spki_der: &[u8]) -> Self {
        Self(Sha256::digest(spki_der).into())
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
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| *c != ':').collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits.trim(), &mut out).map_err(|_| {
            EncodingError::MalformedText {
                what: "SHA-256 fingerprint",
                reason: "expected 64 hex digits (optionally separated by `:`), as `openssl pkey \
                     -pubout -outform DER | sha256sum` prints"
                    .into(),
            }
        })?;
        Ok(Self(out))
    }
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
        let err = "abcd".parse::<Fingerprint>().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Encoding(EncodingError::MalformedText {
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
}
