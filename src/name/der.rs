//! DER: a [`DistinguishedName`] to and from an X.501 `Name`, and the string types of the
//! attribute values ([RFC 5280 §4.1.2.6]).
//!
//! [RFC 5280 §4.1.2.6]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.6

use std::cmp::Ordering;

use der::asn1::{Any, BmpString, Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::{Decode, DerOrd, Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use super::attribute::shown;
use super::{Attribute, AttributeKind, DistinguishedName};
use crate::encoding;
use crate::error::{EncodingError, Error, NameError, Result};

impl DistinguishedName {
    /// Reads a DER-encoded `Name`, validating it as `TryFrom<&Name>` does.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        encoding::check_der_len("distinguished name", der)?;
        let name = Name::from_der(der).map_err(|e| EncodingError::der("distinguished name", e))?;
        Self::try_from(&name)
    }

    /// The DER encoding of the `Name`.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        self.to_x509()?
            .to_der()
            .map_err(|e| EncodingError::der("distinguished name", e).into())
    }

    /// The name as an `x509_cert` [`Name`], RDNs in encoding order.
    pub fn to_x509(&self) -> Result<Name> {
        let mut seq = RdnSequence::default();
        for rdn in &self.rdns {
            let atvs = rdn
                .iter()
                .map(Attribute::to_x509)
                .collect::<Result<Vec<_>>>()?;
            let rdn = RelativeDistinguishedName::try_from(atvs)
                .map_err(|e| EncodingError::der("distinguished name", e))?;
            seq.push(rdn);
        }
        Ok(Name::hazmat_from_rdn_sequence(seq))
    }
}

/// Reads and validates a `Name`: every attribute type must be one of [`AttributeKind`], every
/// value a string type the attribute allows (`PrintableString` for C, `IA5String` for
/// emailAddress, `UTF8String`, `PrintableString`, `TeletexString` or `BMPString` for the
/// others), and the name must satisfy the [rules](crate::name).
impl TryFrom<&Name> for DistinguishedName {
    type Error = Error;

    fn try_from(name: &Name) -> Result<Self> {
        let mut rdns = Vec::with_capacity(name.len());
        for rdn in name.iter_rdn() {
            let mut attributes = Vec::with_capacity(rdn.len());
            for atv in rdn.iter() {
                let kind = AttributeKind::from_oid(&atv.oid).ok_or_else(|| {
                    NameError::UnsupportedAttribute {
                        attribute: crate::oid::describe(&atv.oid),
                    }
                })?;
                attributes.push(Attribute::new(kind, decode_value(kind, &atv.value)?)?);
            }
            rdns.push(attributes);
        }
        Self::from_rdns(rdns)
    }
}

/// Same as [`DistinguishedName::to_x509`].
impl TryFrom<&DistinguishedName> for Name {
    type Error = Error;

    fn try_from(dn: &DistinguishedName) -> Result<Self> {
        dn.to_x509()
    }
}

impl Attribute {
    /// The attribute as an `x509_cert` `AttributeTypeAndValue`, the value encoded as the
    /// [module docs](crate::name#encoding) say.
    pub fn to_x509(&self) -> Result<AttributeTypeAndValue> {
        let bad = |e: der::Error| NameError::InvalidValue {
            attribute: self.kind.short_name(),
            value: shown(&self.value),
            reason: format!("cannot be DER-encoded: {e}"),
        };
        let value = match self.kind {
            AttributeKind::Country => {
                Any::encode_from(&PrintableStringRef::new(&self.value).map_err(bad)?)
            }
            AttributeKind::Email => Any::encode_from(&Ia5StringRef::new(&self.value).map_err(bad)?),
            _ => Any::encode_from(&Utf8StringRef::new(&self.value).map_err(bad)?),
        }
        .map_err(bad)?;
        Ok(AttributeTypeAndValue {
            oid: self.kind.oid(),
            value,
        })
    }
}

/// Sorts the attributes of one RDN in DER `SET OF` order and refuses duplicates.
pub(super) fn sort_rdn(rdn: Vec<Attribute>) -> Result<Vec<Attribute>> {
    if rdn.len() < 2 {
        return Ok(rdn);
    }
    let mut pairs = rdn
        .into_iter()
        .map(|a| Ok((a.to_x509()?, a)))
        .collect::<Result<Vec<_>>>()?;
    let mut failed = None;
    pairs.sort_by(|x, y| {
        x.0.der_cmp(&y.0).unwrap_or_else(|e| {
            failed.get_or_insert(e);
            Ordering::Equal
        })
    });
    if let Some(e) = failed {
        return Err(EncodingError::der("distinguished name", e).into());
    }
    if let Some(w) = pairs.windows(2).find(|w| w[0].1 == w[1].1) {
        // `windows(2)` yields slices of exactly two elements.
        return Err(NameError::DuplicateInRdn {
            attribute: w[0].1.kind.short_name(),
            value: shown(&w[0].1.value),
        }
        .into());
    }
    Ok(pairs.into_iter().map(|(_, a)| a).collect())
}

/// Decodes an attribute value, refusing string types the attribute does not allow.
///
/// ```text
/// X520countryName ::= PrintableString (SIZE (2))
/// EmailAddress ::= IA5String (SIZE (1..ub-emailaddress-length))
/// DirectoryString ::= CHOICE {
///       teletexString       TeletexString (SIZE (1..MAX)),
///       printableString     PrintableString (SIZE (1..MAX)),
///       universalString     UniversalString (SIZE (1..MAX)),
///       utf8String          UTF8String (SIZE (1..MAX)),
///       bmpString           BMPString (SIZE (1..MAX)) }
/// ```
///
/// `UniversalString` is not supported.
pub(super) fn decode_value(kind: AttributeKind, any: &Any) -> Result<String> {
    let tag = any.tag();
    let bytes = any.value();
    let expected = match kind {
        AttributeKind::Country => "PrintableString",
        AttributeKind::Email => "IA5String",
        _ => "UTF8String, PrintableString, TeletexString or BMPString",
    };
    let allowed = match kind {
        AttributeKind::Country => tag == Tag::PrintableString,
        AttributeKind::Email => tag == Tag::Ia5String,
        _ => matches!(
            tag,
            Tag::Utf8String | Tag::PrintableString | Tag::TeletexString | Tag::BmpString
        ),
    };
    if !allowed {
        return Err(NameError::WrongStringType {
            attribute: kind.short_name(),
            found: tag.to_string(),
            expected,
        }
        .into());
    }
    let invalid = |reason: String| NameError::InvalidValue {
        attribute: kind.short_name(),
        value: shown(&String::from_utf8_lossy(bytes)),
        reason,
    };
    let value = match tag {
        Tag::Utf8String => std::str::from_utf8(bytes)
            .map_err(|_| invalid("the UTF8String is not valid UTF-8".into()))?
            .to_owned(),
        Tag::PrintableString => PrintableStringRef::new(bytes)
            .map_err(|_| invalid("the PrintableString holds characters it cannot hold".into()))?
            .as_str()
            .to_owned(),
        Tag::Ia5String => Ia5StringRef::new(bytes)
            .map_err(|_| invalid("the IA5String holds non-ASCII bytes".into()))?
            .as_str()
            .to_owned(),
        // TeletexString (T.61) is read as Latin-1, as most software writes it.
        Tag::TeletexString => bytes.iter().map(|b| char::from(*b)).collect(),
        Tag::BmpString => BmpString::from_ucs2(bytes)
            .map_err(|_| invalid("the BMPString is not valid UCS-2".into()))?
            .chars()
            .collect(),
        _ => {
            return Err(NameError::WrongStringType {
                attribute: kind.short_name(),
                found: tag.to_string(),
                expected,
            }
            .into());
        }
    };
    Ok(value)
}
