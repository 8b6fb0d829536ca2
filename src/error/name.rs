//! The errors of distinguished names ([`NameError`]).

use thiserror::Error as ThisError;

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
