//! What a key may be used for: [`KeyUsage`] bits and [`ExtendedKeyUsage`] purposes, as a
//! request asks for them and as a certificate grants them.

use std::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280;
use x509_cert::ext::pkix;

/// A key usage bit ([RFC 5280 §4.2.1.3]).
///
/// ```text
/// KeyUsage ::= BIT STRING {
///      digitalSignature        (0),
///      nonRepudiation          (1), -- recent editions of X.509 have
///                                   -- renamed this bit to contentCommitment
///      keyEncipherment         (2),
///      dataEncipherment        (3),
///      keyAgreement            (4),
///      keyCertSign             (5),
///      cRLSign                 (6),
///      encipherOnly            (7),
///      decipherOnly            (8) }
/// ```
///
/// [RFC 5280 §4.2.1.3]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.3
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyUsage {
    /// `digitalSignature` (0): TLS handshake signatures (ECDHE key exchange, TLS 1.3).
    DigitalSignature,
    /// `nonRepudiation`, renamed `contentCommitment` (1).
    ContentCommitment,
    /// `keyEncipherment` (2): RSA key transport (TLS 1.2 RSA key exchange).
    KeyEncipherment,
    /// `dataEncipherment` (3).
    DataEncipherment,
    /// `keyAgreement` (4).
    KeyAgreement,
    /// `keyCertSign` (5): signs certificates (a CA key).
    KeyCertSign,
    /// `cRLSign` (6): signs CRLs.
    CrlSign,
    /// `encipherOnly` (7).
    EncipherOnly,
    /// `decipherOnly` (8).
    DecipherOnly,
}

impl KeyUsage {
    /// All bits, in bit-number order.
    pub const ALL: [KeyUsage; 9] = [
        Self::DigitalSignature,
        Self::ContentCommitment,
        Self::KeyEncipherment,
        Self::DataEncipherment,
        Self::KeyAgreement,
        Self::KeyCertSign,
        Self::CrlSign,
        Self::EncipherOnly,
        Self::DecipherOnly,
    ];

    /// The RFC 5280 name of the bit (`digitalSignature`, `nonRepudiation`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::DigitalSignature => "digitalSignature",
            Self::ContentCommitment => "nonRepudiation",
            Self::KeyEncipherment => "keyEncipherment",
            Self::DataEncipherment => "dataEncipherment",
            Self::KeyAgreement => "keyAgreement",
            Self::KeyCertSign => "keyCertSign",
            Self::CrlSign => "cRLSign",
            Self::EncipherOnly => "encipherOnly",
            Self::DecipherOnly => "decipherOnly",
        }
    }

    /// The bit's number in the `KeyUsage` BIT STRING.
    pub fn bit(self) -> u8 {
        self as u8
    }

    fn mask(self) -> u16 {
        1 << self.bit()
    }
}

impl fmt::Display for KeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`KeyUsage`] bits: what a `keyUsage` extension asserts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KeyUsages(u16);

impl KeyUsages {
    /// Whether `usage` is in the set.
    pub fn contains(self, usage: KeyUsage) -> bool {
        self.0 & usage.mask() != 0
    }

    /// The bits in the set, in bit-number order.
    pub fn to_vec(self) -> Vec<KeyUsage> {
        KeyUsage::ALL
            .into_iter()
            .filter(|u| self.contains(*u))
            .collect()
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `digitalSignature`.
    pub fn digital_signature(self) -> bool {
        self.contains(KeyUsage::DigitalSignature)
    }

    /// `keyEncipherment`.
    pub fn key_encipherment(self) -> bool {
        self.contains(KeyUsage::KeyEncipherment)
    }

    /// `keyAgreement`.
    pub fn key_agreement(self) -> bool {
        self.contains(KeyUsage::KeyAgreement)
    }

    /// `keyCertSign`.
    pub fn key_cert_sign(self) -> bool {
        self.contains(KeyUsage::KeyCertSign)
    }

    /// `cRLSign`.
    pub fn crl_sign(self) -> bool {
        self.contains(KeyUsage::CrlSign)
    }

    /// The set a decoded `keyUsage` extension asserts.
    pub(crate) fn from_x509(usage: &pkix::KeyUsage) -> Self {
        // x509-cert's flag set uses the same bit numbers as RFC 5280 (its `bits()` is the
        // BIT STRING's first 16 bits, bit 0 = digitalSignature).
        Self(usage.0.bits() & 0x01ff)
    }
}

impl FromIterator<KeyUsage> for KeyUsages {
    fn from_iter<I: IntoIterator<Item = KeyUsage>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |acc, u| acc | u.mask()))
    }
}

impl fmt::Debug for KeyUsages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.to_vec().iter().map(|u| u.name()))
            .finish()
    }
}

/// An extended key usage purpose ([RFC 5280 §4.2.1.12]).
///
/// ```text
/// ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
/// KeyPurposeId ::= OBJECT IDENTIFIER
/// ```
///
/// [RFC 5280 §4.2.1.12]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.12
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtendedKeyUsage {
    /// `id-kp-serverAuth` (1.3.6.1.5.5.7.3.1): TLS server.
    ServerAuth,
    /// `id-kp-clientAuth` (1.3.6.1.5.5.7.3.2): TLS client.
    ClientAuth,
    /// `id-kp-codeSigning` (1.3.6.1.5.5.7.3.3).
    CodeSigning,
    /// `id-kp-emailProtection` (1.3.6.1.5.5.7.3.4).
    EmailProtection,
    /// `id-kp-timeStamping` (1.3.6.1.5.5.7.3.8).
    TimeStamping,
    /// `id-kp-OCSPSigning` (1.3.6.1.5.5.7.3.9).
    OcspSigning,
    /// `anyExtendedKeyUsage` (2.5.29.37.0): any purpose.
    Any,
    /// Another purpose, by its OID.
    Other(ObjectIdentifier),
}

impl ExtendedKeyUsage {
    /// The purpose's OID (its `Display` is the dotted form).
    pub fn oid(&self) -> ObjectIdentifier {
        match self {
            Self::ServerAuth => rfc5280::ID_KP_SERVER_AUTH,
            Self::ClientAuth => rfc5280::ID_KP_CLIENT_AUTH,
            Self::CodeSigning => rfc5280::ID_KP_CODE_SIGNING,
            Self::EmailProtection => rfc5280::ID_KP_EMAIL_PROTECTION,
            Self::TimeStamping => rfc5280::ID_KP_TIME_STAMPING,
            Self::OcspSigning => rfc5280::ID_KP_OCSP_SIGNING,
            Self::Any => rfc5280::ANY_EXTENDED_KEY_USAGE,
            Self::Other(oid) => *oid,
        }
    }

    /// Whether this purpose lets a certificate authenticate a TLS server.
    pub fn allows_server_auth(&self) -> bool {
        matches!(self, Self::ServerAuth | Self::Any)
    }

    pub(crate) fn from_oid(oid: ObjectIdentifier) -> Self {
        match oid {
            rfc5280::ID_KP_SERVER_AUTH => Self::ServerAuth,
            rfc5280::ID_KP_CLIENT_AUTH => Self::ClientAuth,
            rfc5280::ID_KP_CODE_SIGNING => Self::CodeSigning,
            rfc5280::ID_KP_EMAIL_PROTECTION => Self::EmailProtection,
            rfc5280::ID_KP_TIME_STAMPING => Self::TimeStamping,
            rfc5280::ID_KP_OCSP_SIGNING => Self::OcspSigning,
            rfc5280::ANY_EXTENDED_KEY_USAGE => Self::Any,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for ExtendedKeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::ServerAuth => "serverAuth",
            Self::ClientAuth => "clientAuth",
            Self::CodeSigning => "codeSigning",
            Self::EmailProtection => "emailProtection",
            Self::TimeStamping => "timeStamping",
            Self::OcspSigning => "OCSPSigning",
            Self::Any => "anyExtendedKeyUsage",
            Self::Other(oid) => return write!(f, "{oid}"),
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use der::Decode;
    use x509_cert::ext::pkix::KeyUsages as Flags;

    use super::*;

    #[test]
    fn key_usage_bits_follow_rfc_5280_numbering() {
        for (i, usage) in KeyUsage::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(usage.bit()), i);
        }
        let set: KeyUsages = [KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment]
            .into_iter()
            .collect();
        assert!(set.digital_signature() && set.key_encipherment() && !set.key_cert_sign());
        assert_eq!(
            set.to_vec(),
            [KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment]
        );
        assert_eq!(
            format!("{set:?}"),
            r#"{"digitalSignature", "keyEncipherment"}"#
        );
        assert!(KeyUsages::default().is_empty());
    }

    #[test]
    fn decoded_extension_maps_bit_for_bit() {
        let flags = pkix::KeyUsage(Flags::KeyCertSign | Flags::CRLSign | Flags::DecipherOnly);
        let set = KeyUsages::from_x509(&flags);
        assert_eq!(
            set.to_vec(),
            [
                KeyUsage::KeyCertSign,
                KeyUsage::CrlSign,
                KeyUsage::DecipherOnly
            ]
        );
        // DER of `KeyUsage ::= BIT STRING` with digitalSignature and keyEncipherment (0xa0).
        let der = [0x03, 0x02, 0x05, 0xa0];
        let decoded = pkix::KeyUsage::from_der(&der).unwrap();
        assert_eq!(
            KeyUsages::from_x509(&decoded).to_vec(),
            [KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment]
        );
    }

    #[test]
    fn extended_key_usage_oids_round_trip() {
        for eku in [
            ExtendedKeyUsage::ServerAuth,
            ExtendedKeyUsage::ClientAuth,
            ExtendedKeyUsage::CodeSigning,
            ExtendedKeyUsage::EmailProtection,
            ExtendedKeyUsage::TimeStamping,
            ExtendedKeyUsage::OcspSigning,
            ExtendedKeyUsage::Any,
            ExtendedKeyUsage::Other(ObjectIdentifier::new_unwrap("1.2.3.4")),
        ] {
            assert_eq!(ExtendedKeyUsage::from_oid(eku.oid()), eku);
        }
        assert_eq!(
            ExtendedKeyUsage::ServerAuth.oid().to_string(),
            "1.3.6.1.5.5.7.3.1"
        );
        assert_eq!(
            ExtendedKeyUsage::Other(ObjectIdentifier::new_unwrap("1.2.3.4")).to_string(),
            "1.2.3.4"
        );
        assert!(ExtendedKeyUsage::Any.allows_server_auth());
        assert!(!ExtendedKeyUsage::ClientAuth.allows_server_auth());
    }
}
