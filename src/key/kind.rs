//! What kind of key to make or was read: [`KeyType`] (algorithm and size) and
//! [`KeyAlgorithm`] (the algorithm alone, what a TLS handshake chooses between).

use std::fmt;

/// The kind of a key: what [`PrivateKey::generate`](super::PrivateKey::generate) makes and
/// what [`PrivateKey::key_type`](super::PrivateKey::key_type) reports.
///
/// ```text
/// rsaEncryption    OBJECT IDENTIFIER ::= { pkcs-1 1 }               -- RFC 8017 A.1
/// id-ecPublicKey   OBJECT IDENTIFIER ::= { ansi-X9-62 keyType(2) 1 } -- RFC 5480 §2.1.1
/// secp256r1        OBJECT IDENTIFIER ::= { ansi-X9-62 curves(3) prime(1) 7 }
/// secp384r1        OBJECT IDENTIFIER ::= { certicom-arc curve(0) 34 }
/// ```
///
/// ([RFC 5480 §2.1.1.1] names the curves.) RSA keys sign requests with PKCS#1 v1.5, ECDSA
/// keys with the hash of their curve's size: P-256 with SHA-256, P-384 with SHA-384
/// ([RFC 5480 §4]).
///
/// [RFC 5480 §2.1.1.1]: https://datatracker.ietf.org/doc/html/rfc5480#section-2.1.1.1
/// [RFC 5480 §4]: https://datatracker.ietf.org/doc/html/rfc5480#section-4
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA with a modulus of `bits` bits (public exponent 65537 when generated).
    Rsa {
        /// The modulus size.
        bits: usize,
    },
    /// ECDSA on NIST P-256 (`secp256r1`, `prime256v1`).
    EcdsaP256,
    /// ECDSA on NIST P-384 (`secp384r1`).
    EcdsaP384,
}

impl KeyType {
    /// RSA with 2048 bits: what [`PrivateKey::generate_rsa`](super::PrivateKey::generate_rsa)
    /// and the command line make when nothing else is asked for. A later release may make
    /// ECDSA P-256 the default, as Caddy and certbot have.
    pub const DEFAULT: Self = Self::Rsa { bits: 2048 };

    /// The key's size in bits: the RSA modulus, or the curve's order (256, 384).
    pub fn bits(self) -> usize {
        match self {
            Self::Rsa { bits } => bits,
            Self::EcdsaP256 => 256,
            Self::EcdsaP384 => 384,
        }
    }

    /// The signature algorithm family.
    pub fn algorithm(self) -> KeyAlgorithm {
        match self {
            Self::Rsa { .. } => KeyAlgorithm::Rsa,
            Self::EcdsaP256 | Self::EcdsaP384 => KeyAlgorithm::Ecdsa,
        }
    }

    /// A short stable name: `rsa`, `ecdsa-p256`, `ecdsa-p384` (as the command line takes it
    /// and the key store records it).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa { .. } => "rsa",
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
        }
    }

    /// The key type [`name`](Self::name) gives, with `bits` for RSA; `None` for another name.
    pub fn from_name(name: &str, rsa_bits: usize) -> Option<Self> {
        match name {
            "rsa" => Some(Self::Rsa { bits: rsa_bits }),
            "ecdsa-p256" => Some(Self::EcdsaP256),
            "ecdsa-p384" => Some(Self::EcdsaP384),
            _ => None,
        }
    }
}

impl Default for KeyType {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for KeyType {
    /// `RSA 2048`, `ECDSA P-256`, `ECDSA P-384`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "RSA {bits}"),
            Self::EcdsaP256 => f.write_str("ECDSA P-256"),
            Self::EcdsaP384 => f.write_str("ECDSA P-384"),
        }
    }
}

/// The signature algorithm of a key, what a TLS client's `signature_algorithms` extension
/// ([RFC 8446 §4.2.3]) chooses between: a binding holds at most one entry of each.
///
/// [RFC 8446 §4.2.3]: https://datatracker.ietf.org/doc/html/rfc8446#section-4.2.3
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA (PKCS#1 v1.5 or PSS signatures).
    Rsa,
    /// ECDSA.
    Ecdsa,
}

impl KeyAlgorithm {
    /// `rsa` or `ecdsa`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::Ecdsa => "ecdsa",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    /// `RSA` or `ECDSA`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rsa => "RSA",
            Self::Ecdsa => "ECDSA",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sizes() {
        for t in [
            KeyType::Rsa { bits: 3072 },
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
        ] {
            assert_eq!(KeyType::from_name(t.name(), 3072), Some(t));
        }
        assert_eq!(KeyType::from_name("ecdsa-p521", 2048), None);
        assert_eq!(KeyType::EcdsaP384.bits(), 384);
        assert_eq!(KeyType::default().to_string(), "RSA 2048");
        assert_eq!(KeyType::EcdsaP256.algorithm(), KeyAlgorithm::Ecdsa);
        assert_eq!(KeyType::EcdsaP256.to_string(), "ECDSA P-256");
    }
}
