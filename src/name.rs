//! [`DistinguishedName`]: who the server is, validated on construction.
//!
//! A distinguished name is an X.501 `Name` ([RFC 5280 §4.1.2.4]):
//!
//! ```text
//! Name ::= CHOICE { rdnSequence  RDNSequence }
//! RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
//! RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
//! AttributeTypeAndValue ::= SEQUENCE { type AttributeType, value AttributeValue }
//! ```
//!
//! A server's name holds only the attribute types of [`AttributeKind`]. Whichever way a name is
//! made (with the [builder](DistinguishedName::builder), parsed from an [RFC 4514] string, or
//! read from an `x509_cert` [`Name`]), the same rules apply and the same [`NameError`]s come out:
//!
//! - no value is empty or holds a control character, bidirectional controls (U+202E and the
//!   like) included;
//! - values are at most the RFC 5280 upper bounds, counted in characters: `ub-common-name`,
//!   `ub-organization-name` and `ub-organizational-unit-name` 64, `ub-locality-name` and
//!   `ub-state-name` 128, `ub-emailaddress-length` 255;
//! - the country is an assigned ISO 3166-1 alpha-2 code (lower case is accepted and upper-cased);
//! - the common name is a DNS host name (IDNA A-labels, a wildcard only as the whole leftmost
//!   label) or a single-label intranet name;
//! - the email address is ASCII `local@domain`, the domain a host name;
//! - every attribute type but OU appears at most once, and the name is not empty.
//!
//! # Order
//!
//! The RDNs are kept in *encoding order*, the order of the DER `RDNSequence`, most significant
//! first. The [builder](DistinguishedNameBuilder) puts them in the conventional order
//! `C, ST, L, O, OU..., CN, emailAddress`, one attribute per RDN. A name parsed from a string or
//! read from a `Name` keeps its own order. An RFC 4514 string lists the RDNs in the reverse order
//! (`CN=www.example.com,O=Example,C=US`), as [`Display`](fmt::Display) writes and
//! [`FromStr`] reads them. The attributes of a multi-valued RDN are a set: they are kept, and
//! written, in DER `SET OF` order.
//!
//! # Encoding
//!
//! The country is a `PrintableString`, the email address an `IA5String`, every other value a
//! `UTF8String` ([RFC 5280 §4.1.2.6]). Names read from DER may also use `PrintableString`,
//! `TeletexString` (read as Latin-1) or `BMPString` for the `DirectoryString` attributes; they are
//! re-encoded as above, so DER → name → DER gives back the same bytes for every name this crate
//! produces.
//!
//! [RFC 4514]: https://datatracker.ietf.org/doc/html/rfc4514
//! [RFC 5280 §4.1.2.4]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.4
//! [RFC 5280 §4.1.2.6]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.6

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3280, rfc4519};
use der::asn1::{Any, BmpString, Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::{Decode, DerOrd, Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::encoding;
use crate::error::{EncodingError, Error, NameError, Result};
use crate::hostname::check_host_name;

/// A validated X.501 distinguished name for a server ([RFC 5280 §4.1.2.4]).
///
/// ```text
/// Name ::= CHOICE { rdnSequence  RDNSequence }
/// RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
/// RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
/// ```
///
/// See the [module docs](self) for the rules, the order of the RDNs and the encoding.
///
/// ```
/// use keymanager::DistinguishedName;
///
/// let dn = DistinguishedName::builder()
///     .country("us")
///     .organization("Example, Inc.")
///     .common_name("www.example.com")
///     .build()?;
/// assert_eq!(dn.to_string(), r"CN=www.example.com,O=Example\, Inc.,C=US");
/// assert_eq!(dn.to_string().parse::<DistinguishedName>()?, dn);
/// # Ok::<(), keymanager::Error>(())
/// ```
///
/// [RFC 5280 §4.1.2.4]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.4
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistinguishedName {
    /// RDNs in encoding order (most significant, e.g. `C`, first); each non-empty and in DER
    /// `SET OF` order.
    rdns: Vec<Vec<Attribute>>,
}

impl DistinguishedName {
    /// Starts a builder.
    pub fn builder() -> DistinguishedNameBuilder {
        DistinguishedNameBuilder::default()
    }

    /// Makes a name of `rdns`, in encoding order (most significant first); an RDN of more than
    /// one attribute is a multi-valued RDN.
    ///
    /// Refuses an empty name, an empty RDN, a kind other than OU appearing twice and the same
    /// attribute twice in one RDN. The attributes of each RDN are put in DER `SET OF` order.
    pub fn from_rdns(rdns: impl IntoIterator<Item = Vec<Attribute>>) -> Result<Self> {
        let mut seen = [false; AttributeKind::ALL.len()];
        let mut sorted = Vec::new();
        for (index, rdn) in rdns.into_iter().enumerate() {
            if rdn.is_empty() {
                return Err(NameError::EmptyRdn { index }.into());
            }
            for a in &rdn {
                let slot = AttributeKind::ALL
                    .iter()
                    .position(|k| *k == a.kind)
                    .and_then(|i| seen.get_mut(i));
                if let Some(slot) = slot {
                    if *slot && !a.kind.repeatable() {
                        return Err(NameError::Repeated {
                            attribute: a.kind.short_name(),
                        }
                        .into());
                    }
                    *slot = true;
                }
            }
            sorted.push(sort_rdn(rdn)?);
        }
        if sorted.is_empty() {
            return Err(NameError::Empty.into());
        }
        Ok(Self { rdns: sorted })
    }

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

    /// The RDNs in encoding order (most significant first); each is the attributes of one RDN,
    /// more than one for a multi-valued RDN.
    pub fn rdns(&self) -> impl ExactSizeIterator<Item = &[Attribute]> + '_ {
        self.rdns.iter().map(Vec::as_slice)
    }

    /// Every attribute, in encoding order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> + '_ {
        self.rdns.iter().flatten()
    }

    /// The value of the attribute of `kind`, the first if it is repeated (only OU can be).
    pub fn value(&self, kind: AttributeKind) -> Option<&str> {
        self.values(kind).next()
    }

    /// The values of every attribute of `kind`, in encoding order.
    pub fn values(&self, kind: AttributeKind) -> impl Iterator<Item = &str> + '_ {
        self.attributes()
            .filter(move |a| a.kind == kind)
            .map(|a| a.value.as_str())
    }

    /// The common name (CN), if any.
    pub fn common_name(&self) -> Option<&str> {
        self.value(AttributeKind::CommonName)
    }

    /// The organization (O), if any.
    pub fn organization(&self) -> Option<&str> {
        self.value(AttributeKind::Organization)
    }

    /// The organizational units (OU), in encoding order.
    pub fn organizational_units(&self) -> impl Iterator<Item = &str> + '_ {
        self.values(AttributeKind::OrganizationalUnit)
    }

    /// The locality (L), if any.
    pub fn locality(&self) -> Option<&str> {
        self.value(AttributeKind::Locality)
    }

    /// The state or province (ST), if any.
    pub fn state(&self) -> Option<&str> {
        self.value(AttributeKind::State)
    }

    /// The country (C), if any: two upper-case letters.
    pub fn country(&self) -> Option<&str> {
        self.value(AttributeKind::Country)
    }

    /// The email address, if any.
    pub fn email(&self) -> Option<&str> {
        self.value(AttributeKind::Email)
    }
}

/// Sorts the attributes of one RDN in DER `SET OF` order and refuses duplicates.
fn sort_rdn(rdn: Vec<Attribute>) -> Result<Vec<Attribute>> {
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

/// Writes the name as an RFC 4514 string: the RDNs in reverse encoding order (`CN` first),
/// separated by `,`; the attributes of a multi-valued RDN joined by `+`; each value escaped as
/// [RFC 4514 §2.4] says (a leading space or `#`, a trailing space, any of `"+,;<>\` and NUL),
/// and `=` escaped too, as §2.4 allows.
///
/// Non-ASCII characters are written as UTF-8, not hex-escaped.
///
/// [RFC 4514 §2.4]: https://datatracker.ietf.org/doc/html/rfc4514#section-2.4
impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns.iter().rev().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            for (j, a) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_char('+')?;
                }
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

/// Parses an [RFC 4514 §3] string, validating it as the builder does.
///
/// - Attribute types by short name (`CN`, `O`, `OU`, `L`, `ST`, `C`, `emailAddress` or `E`),
///   long name (`commonName`, ...) or dotted OID (`2.5.4.3`), case-insensitive; any other type
///   is refused with [`NameError::UnsupportedAttribute`].
/// - Values with `\` escapes of a special character (`\,`) or of a byte in hex (`\2C`; the bytes
///   of a multi-byte UTF-8 character may be hex-escaped one by one: `\C3\A9`), or `#` and the
///   hex of a DER-encoded string of a type the attribute allows.
/// - `+` joins the attributes of a multi-valued RDN, `,` separates RDNs. The RDNs are written
///   in reverse encoding order, so the last one in the string is the first in the name.
/// - As RFC 4514 §3 allows, spaces around types, `=`, `,` and `+` are ignored; a space that
///   is part of a value at its start or end must be escaped (`\ `).
///
/// Syntax errors are [`NameError::Syntax`] with the byte position.
///
/// [RFC 4514 §3]: https://datatracker.ietf.org/doc/html/rfc4514#section-3
impl FromStr for DistinguishedName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Parser::new(s).parse()
    }
}

/// Reads and validates a `Name`: every attribute type must be one of [`AttributeKind`], every
/// value a string type the attribute allows (`PrintableString` for C, `IA5String` for
/// emailAddress, `UTF8String`, `PrintableString`, `TeletexString` or `BMPString` for the
/// others), and the name must satisfy the [rules](self).
impl TryFrom<&Name> for DistinguishedName {
    type Error = Error;

    fn try_from(name: &Name) -> Result<Self> {
        let mut rdns = Vec::with_capacity(name.len());
        for rdn in name.iter_rdn() {
            let mut attributes = Vec::with_capacity(rdn.len());
            for atv in rdn.iter() {
                let kind = AttributeKind::from_oid(&atv.oid).ok_or_else(|| {
                    NameError::UnsupportedAttribute {
                        attribute: describe_oid(&atv.oid),
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

/// By-value builder for [`DistinguishedName`]; [`build`](Self::build) validates.
///
/// Setting a single-valued attribute twice keeps the last value.
#[derive(Debug, Clone, Default)]
pub struct DistinguishedNameBuilder {
    common_name: Option<String>,
    organization: Option<String>,
    organizational_units: Vec<String>,
    locality: Option<String>,
    state: Option<String>,
    country: Option<String>,
    email: Option<String>,
}

impl DistinguishedNameBuilder {
    /// Sets the common name (CN): the server's DNS host name (`www.example.com`,
    /// `*.example.com`, `xn--bcher-kva.example`) or a single-label intranet name.
    pub fn common_name(mut self, v: impl Into<String>) -> Self {
        self.common_name = Some(v.into());
        self
    }

    /// Sets the organization (O), at most 64 characters.
    pub fn organization(mut self, v: impl Into<String>) -> Self {
        self.organization = Some(v.into());
        self
    }

    /// Adds an organizational unit (OU), at most 64 characters; repeatable, kept in order.
    pub fn organizational_unit(mut self, v: impl Into<String>) -> Self {
        self.organizational_units.push(v.into());
        self
    }

    /// Sets the locality (L), at most 128 characters.
    pub fn locality(mut self, v: impl Into<String>) -> Self {
        self.locality = Some(v.into());
        self
    }

    /// Sets the state or province (ST), at most 128 characters.
    pub fn state(mut self, v: impl Into<String>) -> Self {
        self.state = Some(v.into());
        self
    }

    /// Sets the country (C): two letters of ISO 3166-1 alpha-2, upper-cased (`"us"` → `US`).
    pub fn country(mut self, v: impl Into<String>) -> Self {
        self.country = Some(v.into());
        self
    }

    /// Sets the email address: ASCII `local@domain`, at most 255 characters.
    pub fn email(mut self, v: impl Into<String>) -> Self {
        self.email = Some(v.into());
        self
    }

    /// Validates and builds the name, one attribute per RDN in the order
    /// `C, ST, L, O, OU..., CN, emailAddress`. The first invalid value is reported.
    pub fn build(self) -> Result<DistinguishedName> {
        let mut rdns = Vec::new();
        let mut push = |kind, value: Option<String>| -> Result<()> {
            if let Some(value) = value {
                rdns.push(vec![Attribute::new(kind, value)?]);
            }
            Ok(())
        };
        push(AttributeKind::Country, self.country)?;
        push(AttributeKind::State, self.state)?;
        push(AttributeKind::Locality, self.locality)?;
        push(AttributeKind::Organization, self.organization)?;
        for ou in self.organizational_units {
            push(AttributeKind::OrganizationalUnit, Some(ou))?;
        }
        push(AttributeKind::CommonName, self.common_name)?;
        push(AttributeKind::Email, self.email)?;
        DistinguishedName::from_rdns(rdns)
    }
}

/// The attribute types a server's distinguished name may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AttributeKind {
    /// `C`, countryName (2.5.4.6): `PrintableString (SIZE (2))`, ISO 3166-1 alpha-2.
    Country,
    /// `ST`, stateOrProvinceName (2.5.4.8): at most 128 characters.
    State,
    /// `L`, localityName (2.5.4.7): at most 128 characters.
    Locality,
    /// `O`, organizationName (2.5.4.10): at most 64 characters.
    Organization,
    /// `OU`, organizationalUnitName (2.5.4.11): at most 64 characters; may be repeated.
    OrganizationalUnit,
    /// `CN`, commonName (2.5.4.3): the server's host name, at most 64 characters.
    CommonName,
    /// `emailAddress` (1.2.840.113549.1.9.1): `IA5String`, at most 255 characters.
    Email,
}

impl AttributeKind {
    /// Every kind, in the builder's encoding order.
    pub const ALL: &'static [AttributeKind] = &[
        Self::Country,
        Self::State,
        Self::Locality,
        Self::Organization,
        Self::OrganizationalUnit,
        Self::CommonName,
        Self::Email,
    ];

    /// The short name used in RFC 4514 strings (`CN`, `O`, ..., `emailAddress`).
    pub fn short_name(self) -> &'static str {
        match self {
            Self::Country => "C",
            Self::State => "ST",
            Self::Locality => "L",
            Self::Organization => "O",
            Self::OrganizationalUnit => "OU",
            Self::CommonName => "CN",
            Self::Email => "emailAddress",
        }
    }

    /// The attribute type's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Country => rfc4519::COUNTRY_NAME,
            Self::State => rfc4519::ST,
            Self::Locality => rfc4519::LOCALITY_NAME,
            Self::Organization => rfc4519::ORGANIZATION_NAME,
            Self::OrganizationalUnit => rfc4519::ORGANIZATIONAL_UNIT_NAME,
            Self::CommonName => rfc4519::COMMON_NAME,
            Self::Email => rfc3280::EMAIL_ADDRESS,
        }
    }

    /// The kind with this OID, if it is one a server name may hold.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.oid() == *oid)
    }

    /// The kind named `name` in an RFC 4514 string: a short name (`CN`, `O`, `OU`, `L`, `ST`,
    /// `C`, `emailAddress` or `E`), a long name (`commonName`, ...) or a dotted OID
    /// (`2.5.4.3`). Names are case-insensitive.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            let oid = ObjectIdentifier::new(name).ok()?;
            return Self::from_oid(&oid);
        }
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "c" | "countryname" => Self::Country,
            "st" | "stateorprovincename" => Self::State,
            "l" | "localityname" => Self::Locality,
            "o" | "organizationname" => Self::Organization,
            "ou" | "organizationalunitname" => Self::OrganizationalUnit,
            "cn" | "commonname" => Self::CommonName,
            "emailaddress" | "e" => Self::Email,
            _ => return None,
        })
    }

    /// The RFC 5280 upper bound on the value's length, in characters.
    ///
    /// ```text
    /// ub-common-name INTEGER ::= 64
    /// ub-organization-name INTEGER ::= 64
    /// ub-organizational-unit-name INTEGER ::= 64
    /// ub-locality-name INTEGER ::= 128
    /// ub-state-name INTEGER ::= 128
    /// ub-emailaddress-length INTEGER ::= 255
    /// ```
    pub fn max_len(self) -> usize {
        match self {
            Self::Country => 2,
            Self::State | Self::Locality => 128,
            Self::Organization | Self::OrganizationalUnit | Self::CommonName => 64,
            Self::Email => 255,
        }
    }

    /// The name of the RFC 5280 upper bound, for error messages.
    fn bound_name(self) -> &'static str {
        match self {
            Self::Country => "X520countryName SIZE (2)",
            Self::State => "ub-state-name",
            Self::Locality => "ub-locality-name",
            Self::Organization => "ub-organization-name",
            Self::OrganizationalUnit => "ub-organizational-unit-name",
            Self::CommonName => "ub-common-name",
            Self::Email => "ub-emailaddress-length",
        }
    }

    /// Whether a name may hold more than one attribute of this kind.
    pub fn repeatable(self) -> bool {
        self == Self::OrganizationalUnit
    }
}

impl fmt::Display for AttributeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// One attribute of a name: its type and validated value ([RFC 5280 §4.1.2.4]).
///
/// ```text
/// AttributeTypeAndValue ::= SEQUENCE {
///     type     AttributeType,        -- OBJECT IDENTIFIER
///     value    AttributeValue }      -- DirectoryString, PrintableString or IA5String here
/// ```
///
/// Made only by [`Attribute::new`], so its value always satisfies the rules of its kind.
///
/// [RFC 5280 §4.1.2.4]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.1.2.4
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    kind: AttributeKind,
    value: String,
}

impl Attribute {
    /// Validates `value` as an attribute of `kind` (see the [module docs](self) for the rules).
    ///
    /// A country is upper-cased (`"us"` becomes `"US"`); every other value is kept as given.
    pub fn new(kind: AttributeKind, value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        match check_value(kind, &value) {
            Ok(Some(normalized)) => Ok(Self {
                kind,
                value: normalized,
            }),
            Ok(None) => Ok(Self { kind, value }),
            Err(reason) => Err(NameError::InvalidValue {
                attribute: kind.short_name(),
                value: shown(&value),
                reason,
            }
            .into()),
        }
    }

    /// The attribute's type.
    pub fn kind(&self) -> AttributeKind {
        self.kind
    }

    /// The attribute's value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The attribute as an `x509_cert` `AttributeTypeAndValue`, the value encoded as the
    /// [module docs](self#encoding) say.
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

/// Writes `TYPE=value`, the value escaped as RFC 4514 §2.4 says.
impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.short_name())?;
        f.write_char('=')?;
        write_escaped(f, &self.value)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Checks `value` as an attribute of `kind`: `Ok(Some(v))` if it is valid once normalized to
/// `v`, `Ok(None)` if it is valid as it is, else what is wrong and what to do.
fn check_value(kind: AttributeKind, value: &str) -> std::result::Result<Option<String>, String> {
    if value.is_empty() {
        return Err(format!(
            "the value is empty: give the {} a value or leave it out",
            long_name(kind)
        ));
    }
    if let Some((i, c)) = value.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(format!(
            "control character `{}` at character {}: remove it",
            c.escape_default(),
            i + 1
        ));
    }
    if let Some((i, c)) = value.chars().enumerate().find(|(_, c)| is_bidi_control(*c)) {
        return Err(format!(
            "bidirectional control character `{}` at character {}: remove it (it makes the \
             name display differently from what it holds)",
            c.escape_default(),
            i + 1
        ));
    }
    if kind == AttributeKind::Country {
        return check_country(value).map(Some);
    }
    let len = value.chars().count();
    if len > kind.max_len() {
        return Err(format!(
            "{len} characters, over the limit of {} ({} in RFC 5280): shorten it",
            kind.max_len(),
            kind.bound_name()
        ));
    }
    match kind {
        AttributeKind::CommonName => check_host_name(value, true).map_err(|reason| {
            format!(
                "a server's common name is its DNS host name (or a single-label intranet name): {reason}"
            )
        })?,
        AttributeKind::Email => check_email(value)?,
        _ => {}
    }
    Ok(None)
}

/// The attribute's name in prose, for messages.
fn long_name(kind: AttributeKind) -> &'static str {
    match kind {
        AttributeKind::Country => "country",
        AttributeKind::State => "state or province",
        AttributeKind::Locality => "locality",
        AttributeKind::Organization => "organization",
        AttributeKind::OrganizationalUnit => "organizational unit",
        AttributeKind::CommonName => "common name",
        AttributeKind::Email => "email address",
    }
}

/// Checks a country against ISO 3166-1 alpha-2 and returns it upper-cased; on failure suggests
/// the code that was probably meant.
fn check_country(value: &str) -> std::result::Result<String, String> {
    const HOW: &str =
        "a country is the two-letter ISO 3166-1 alpha-2 code, like `US`, `DE` or `JP`";
    let upper = value.to_ascii_uppercase();
    let letters = upper.bytes().all(|b| b.is_ascii_uppercase());
    if letters && upper.len() == 2 {
        if COUNTRIES
            .binary_search_by(|c| c.0.cmp(upper.as_str()))
            .is_ok()
        {
            return Ok(upper);
        }
        return Err(match upper.as_str() {
            "UK" => "`UK` is not an ISO 3166-1 code: the United Kingdom's is `GB`".into(),
            "EL" => "`EL` is not an ISO 3166-1 code: Greece's is `GR`".into(),
            _ => format!("`{upper}` is not an assigned ISO 3166-1 alpha-2 code; {HOW}"),
        });
    }
    if letters
        && upper.len() == 3
        && let Some((alpha2, _, name)) = COUNTRIES.iter().find(|c| c.1 == upper)
    {
        return Err(format!(
            "`{upper}` is a three-letter ISO 3166-1 alpha-3 code: use the two-letter code `{alpha2}` ({name})"
        ));
    }
    let lower = value.trim().to_lowercase();
    if let Some((alpha2, _, name)) = COUNTRIES.iter().find(|c| c.2.to_lowercase() == lower) {
        return Err(format!(
            "write the country as its ISO 3166-1 alpha-2 code: `{alpha2}` for {name}"
        ));
    }
    Err(HOW.into())
}

/// Checks that `value` is a plausible `local@domain` address for an `IA5String`.
fn check_email(value: &str) -> std::result::Result<(), String> {
    if let Some(c) = value.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "`{c}` is not ASCII: an emailAddress is an IA5String; write the domain in its IDNA A-label form (xn--...)"
        ));
    }
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err("not an email address: expected `local@domain`".into());
    };
    if local.is_empty() {
        return Err("the part before `@` is empty: expected `local@domain`".into());
    }
    if local.contains('@') {
        return Err("more than one `@`: quoted local parts are not supported".into());
    }
    if local.len() > 64 {
        return Err(format!(
            "the part before `@` has {} characters, the limit is 64 (RFC 5321)",
            local.len()
        ));
    }
    if let Some(c) = local
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(*c)))
    {
        return Err(format!(
            "`{c}` is not allowed before the `@`: use letters, digits and !#$%&'*+-/=?^_`{{|}}~."
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before `@` starts or ends with a dot, or has two in a row".into());
    }
    check_host_name(domain, false)
        .map_err(|reason| format!("the domain after `@` is not a host name: {reason}"))
}

/// Any X.501 `Name` (one our strict [`DistinguishedName`] may refuse, e.g. a CA's) in RFC 4514
/// form, with control and bidirectional-control characters written as hex escapes of their
/// UTF-8 bytes (`\E2\80\AE` for U+202E), so a hostile name cannot disguise itself when shown.
pub(crate) fn display_x509_name(name: &Name) -> String {
    let mut out = String::new();
    for c in name.to_string().chars() {
        if c.is_control() || is_bidi_control(c) {
            for b in c.encode_utf8(&mut [0u8; 4]).bytes() {
                out.push_str(&format!("\\{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` has the Unicode `Bidi_Control` property (UAX #9): the invisible marks,
/// embeddings, overrides and isolates that reorder how text is displayed ("Trojan Source",
/// CVE-2021-42574). A name holding one shows differently from what it is.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// `value` as shown in an error message: control characters (and bidirectional controls)
/// escaped, cut after 100 characters.
fn shown(value: &str) -> String {
    const MAX: usize = 100;
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == MAX {
            out.push_str(&format!(
                "... ({} characters in all)",
                value.chars().count()
            ));
            break;
        }
        if c.is_control() || is_bidi_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A dotted OID with its name, if `const-oid` knows it, for messages.
fn describe_oid(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// DER values
// ---------------------------------------------------------------------------------------------

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
fn decode_value(kind: AttributeKind, any: &Any) -> Result<String> {
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

// ---------------------------------------------------------------------------------------------
// RFC 4514 strings
// ---------------------------------------------------------------------------------------------

/// Writes `value` escaped as RFC 4514 §2.4 says, plus `=`.
fn write_escaped(f: &mut impl fmt::Write, value: &str) -> fmt::Result {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ' ' if i == 0 || i == last => f.write_str("\\ ")?,
            '#' if i == 0 => f.write_str("\\#")?,
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            // Validated values hold no control characters; escape them anyway, byte by byte.
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    write!(f, "\\{b:02X}")?;
                }
            }
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

/// An RFC 4514 parser over the bytes of the input.
struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Self { input, pos: 0 }
    }

    /// `distinguishedName = [ relativeDistinguishedName *( COMMA relativeDistinguishedName ) ]`
    fn parse(mut self) -> Result<DistinguishedName> {
        let mut rdns = Vec::new();
        self.skip_spaces();
        if self.peek().is_none() {
            return Err(NameError::Empty.into());
        }
        loop {
            rdns.push(self.rdn()?);
            match self.peek() {
                None => break,
                Some(b',') => self.pos += 1,
                Some(b) => return Err(self.unexpected(b)),
            }
        }
        rdns.reverse();
        DistinguishedName::from_rdns(rdns)
    }

    /// `relativeDistinguishedName = attributeTypeAndValue *( PLUS attributeTypeAndValue )`
    fn rdn(&mut self) -> Result<Vec<Attribute>> {
        let mut attributes = vec![self.attribute()?];
        while self.peek() == Some(b'+') {
            self.pos += 1;
            attributes.push(self.attribute()?);
        }
        Ok(attributes)
    }

    /// `attributeTypeAndValue = attributeType EQUALS attributeValue`
    fn attribute(&mut self) -> Result<Attribute> {
        self.skip_spaces();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            self.pos += 1;
        }
        let name = self.input.get(start..self.pos).unwrap_or_default();
        if name.is_empty() {
            return Err(match self.peek() {
                None => self.syntax(
                    "expected an attribute type such as `CN` at the end; remove the trailing separator",
                ),
                Some(b) => self.syntax(format!(
                    "expected an attribute type such as `CN`, found {}",
                    describe_byte(b)
                )),
            });
        }
        let numeric = name.starts_with(|c: char| c.is_ascii_digit());
        let well_formed = if numeric {
            name.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        } else {
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !well_formed {
            self.pos = start;
            return Err(self.syntax(format!(
                "`{name}` is not an attribute type: use a name like `CN` or a dotted OID like `2.5.4.3`"
            )));
        }
        self.skip_spaces();
        if self.peek() != Some(b'=') {
            return Err(self.syntax(format!("expected `=` after the attribute type `{name}`")));
        }
        self.pos += 1;
        let kind =
            AttributeKind::from_name(name).ok_or_else(|| NameError::UnsupportedAttribute {
                attribute: name.to_owned(),
            })?;
        self.skip_spaces();
        let value = if self.peek() == Some(b'#') {
            self.hex_value(kind)?
        } else {
            self.string_value()?
        };
        Attribute::new(kind, value)
    }

    /// `hexstring = SHARP 1*hexpair`: a DER-encoded string value.
    fn hex_value(&mut self, kind: AttributeKind) -> Result<String> {
        let sharp = self.pos;
        self.pos += 1;
        let mut der = Vec::new();
        while let Some(b) = self.peek().filter(u8::is_ascii_hexdigit) {
            let pair = self.pos;
            self.pos += 1;
            let Some(low) = self.peek().and_then(hex_digit) else {
                self.pos = pair;
                return Err(self.syntax("a `#` value needs an even number of hex digits"));
            };
            self.pos += 1;
            // `b` is an ASCII hex digit: `hex_digit` returns `Some`.
            der.push(hex_digit(b).unwrap_or_default() << 4 | low);
        }
        if der.is_empty() {
            return Err(self.syntax(
                "expected hex digits after `#`; to start a value with `#`, escape it as `\\#`",
            ));
        }
        self.skip_spaces();
        match self.peek() {
            None | Some(b',' | b'+') => {}
            Some(b) => {
                return Err(self.syntax(format!(
                    "{} in a `#` value: it holds only hex digits",
                    describe_byte(b)
                )));
            }
        }
        let any = Any::from_der(&der).map_err(|e| NameError::Syntax {
            position: sharp,
            reason: format!("the `#` value is not one DER-encoded value: {e}"),
        })?;
        decode_value(kind, &any)
    }

    /// `string`, with `\` escapes; unescaped spaces at its end are not part of it.
    fn string_value(&mut self) -> Result<String> {
        let start = self.pos;
        let mut bytes = Vec::new();
        let mut significant = 0;
        while let Some(b) = self.peek() {
            match b {
                b',' | b'+' => break,
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(
                            c @ (b' ' | b'"' | b'#' | b'+' | b',' | b';' | b'<' | b'=' | b'>'
                            | b'\\'),
                        ) => {
                            bytes.push(c);
                            self.pos += 1;
                        }
                        Some(h) if h.is_ascii_hexdigit() => {
                            let low = self.input.as_bytes().get(self.pos + 1).copied();
                            let (Some(high), Some(low)) = (hex_digit(h), low.and_then(hex_digit))
                            else {
                                return Err(self.syntax(
                                    "a hex escape is `\\` and two hex digits, like `\\2C`",
                                ));
                            };
                            bytes.push(high << 4 | low);
                            self.pos += 2;
                        }
                        Some(_) => {
                            return Err(self.syntax(
                                "`\\` escapes one of ` \"#+,;<=>\\` or two hex digits (`\\2C`); write a backslash as `\\\\`",
                            ));
                        }
                        None => {
                            return Err(self.syntax(
                                "the value ends with a lone `\\`; write a backslash as `\\\\`",
                            ));
                        }
                    }
                    significant = bytes.len();
                }
                b'"' | b';' | b'<' | b'>' => {
                    return Err(self.syntax(format!(
                        "`{}` must be escaped as `\\{}` in a value (RDNs are separated by `,`)",
                        char::from(b),
                        char::from(b)
                    )));
                }
                b' ' => {
                    bytes.push(b);
                    self.pos += 1;
                }
                _ => {
                    bytes.push(b);
                    self.pos += 1;
                    significant = bytes.len();
                }
            }
        }
        bytes.truncate(significant);
        String::from_utf8(bytes).map_err(|_| {
            NameError::Syntax {
                position: start,
                reason: "the hex escapes of this value do not form valid UTF-8".into(),
            }
            .into()
        })
    }

    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn syntax(&self, reason: impl Into<String>) -> Error {
        NameError::Syntax {
            position: self.pos,
            reason: reason.into(),
        }
        .into()
    }

    fn unexpected(&self, b: u8) -> Error {
        self.syntax(format!(
            "unexpected {}: expected `,` or `+` between attributes",
            describe_byte(b)
        ))
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// A byte of the input, for messages: the character if it is ASCII.
fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", char::from(b))
    } else if b == b' ' {
        "a space".into()
    } else {
        format!("byte 0x{b:02X}")
    }
}

// ---------------------------------------------------------------------------------------------
// ISO 3166-1
// ---------------------------------------------------------------------------------------------

/// ISO 3166-1 assigned codes: (alpha-2, alpha-3, English short name), sorted by alpha-2.
///
/// From the ISO 3166 Maintenance Agency's list as shipped by Debian's `iso-codes` 4.15.0.
const COUNTRIES: &[(&str, &str, &str)] = &[
    ("AD", "AND", "Andorra"),
    ("AE", "ARE", "United Arab Emirates"),
    ("AF", "AFG", "Afghanistan"),
    ("AG", "ATG", "Antigua and Barbuda"),
    ("AI", "AIA", "Anguilla"),
    ("AL", "ALB", "Albania"),
    ("AM", "ARM", "Armenia"),
    ("AO", "AGO", "Angola"),
    ("AQ", "ATA", "Antarctica"),
    ("AR", "ARG", "Argentina"),
    ("AS", "ASM", "American Samoa"),
    ("AT", "AUT", "Austria"),
    ("AU", "AUS", "Australia"),
    ("AW", "ABW", "Aruba"),
    ("AX", "ALA", "Åland Islands"),
    ("AZ", "AZE", "Azerbaijan"),
    ("BA", "BIH", "Bosnia and Herzegovina"),
    ("BB", "BRB", "Barbados"),
    ("BD", "BGD", "Bangladesh"),
    ("BE", "BEL", "Belgium"),
    ("BF", "BFA", "Burkina Faso"),
    ("BG", "BGR", "Bulgaria"),
    ("BH", "BHR", "Bahrain"),
    ("BI", "BDI", "Burundi"),
    ("BJ", "BEN", "Benin"),
    ("BL", "BLM", "Saint Barthélemy"),
    ("BM", "BMU", "Bermuda"),
    ("BN", "BRN", "Brunei Darussalam"),
    ("BO", "BOL", "Bolivia"),
    ("BQ", "BES", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "BRA", "Brazil"),
    ("BS", "BHS", "Bahamas"),
    ("BT", "BTN", "Bhutan"),
    ("BV", "BVT", "Bouvet Island"),
    ("BW", "BWA", "Botswana"),
    ("BY", "BLR", "Belarus"),
    ("BZ", "BLZ", "Belize"),
    ("CA", "CAN", "Canada"),
    ("CC", "CCK", "Cocos (Keeling) Islands"),
    ("CD", "COD", "Congo, The Democratic Republic of the"),
    ("CF", "CAF", "Central African Republic"),
    ("CG", "COG", "Congo"),
    ("CH", "CHE", "Switzerland"),
    ("CI", "CIV", "Côte d'Ivoire"),
    ("CK", "COK", "Cook Islands"),
    ("CL", "CHL", "Chile"),
    ("CM", "CMR", "Cameroon"),
    ("CN", "CHN", "China"),
    ("CO", "COL", "Colombia"),
    ("CR", "CRI", "Costa Rica"),
    ("CU", "CUB", "Cuba"),
    ("CV", "CPV", "Cabo Verde"),
    ("CW", "CUW", "Curaçao"),
    ("CX", "CXR", "Christmas Island"),
    ("CY", "CYP", "Cyprus"),
    ("CZ", "CZE", "Czechia"),
    ("DE", "DEU", "Germany"),
    ("DJ", "DJI", "Djibouti"),
    ("DK", "DNK", "Denmark"),
    ("DM", "DMA", "Dominica"),
    ("DO", "DOM", "Dominican Republic"),
    ("DZ", "DZA", "Algeria"),
    ("EC", "ECU", "Ecuador"),
    ("EE", "EST", "Estonia"),
    ("EG", "EGY", "Egypt"),
    ("EH", "ESH", "Western Sahara"),
    ("ER", "ERI", "Eritrea"),
    ("ES", "ESP", "Spain"),
    ("ET", "ETH", "Ethiopia"),
    ("FI", "FIN", "Finland"),
    ("FJ", "FJI", "Fiji"),
    ("FK", "FLK", "Falkland Islands (Malvinas)"),
    ("FM", "FSM", "Micronesia, Federated States of"),
    ("FO", "FRO", "Faroe Islands"),
    ("FR", "FRA", "France"),
    ("GA", "GAB", "Gabon"),
    ("GB", "GBR", "United Kingdom"),
    ("GD", "GRD", "Grenada"),
    ("GE", "GEO", "Georgia"),
    ("GF", "GUF", "French Guiana"),
    ("GG", "GGY", "Guernsey"),
    ("GH", "GHA", "Ghana"),
    ("GI", "GIB", "Gibraltar"),
    ("GL", "GRL", "Greenland"),
    ("GM", "GMB", "Gambia"),
    ("GN", "GIN", "Guinea"),
    ("GP", "GLP", "Guadeloupe"),
    ("GQ", "GNQ", "Equatorial Guinea"),
    ("GR", "GRC", "Greece"),
    ("GS", "SGS", "South Georgia and the South Sandwich Islands"),
    ("GT", "GTM", "Guatemala"),
    ("GU", "GUM", "Guam"),
    ("GW", "GNB", "Guinea-Bissau"),
    ("GY", "GUY", "Guyana"),
    ("HK", "HKG", "Hong Kong"),
    ("HM", "HMD", "Heard Island and McDonald Islands"),
    ("HN", "HND", "Honduras"),
    ("HR", "HRV", "Croatia"),
    ("HT", "HTI", "Haiti"),
    ("HU", "HUN", "Hungary"),
    ("ID", "IDN", "Indonesia"),
    ("IE", "IRL", "Ireland"),
    ("IL", "ISR", "Israel"),
    ("IM", "IMN", "Isle of Man"),
    ("IN", "IND", "India"),
    ("IO", "IOT", "British Indian Ocean Territory"),
    ("IQ", "IRQ", "Iraq"),
    ("IR", "IRN", "Iran"),
    ("IS", "ISL", "Iceland"),
    ("IT", "ITA", "Italy"),
    ("JE", "JEY", "Jersey"),
    ("JM", "JAM", "Jamaica"),
    ("JO", "JOR", "Jordan"),
    ("JP", "JPN", "Japan"),
    ("KE", "KEN", "Kenya"),
    ("KG", "KGZ", "Kyrgyzstan"),
    ("KH", "KHM", "Cambodia"),
    ("KI", "KIR", "Kiribati"),
    ("KM", "COM", "Comoros"),
    ("KN", "KNA", "Saint Kitts and Nevis"),
    ("KP", "PRK", "North Korea"),
    ("KR", "KOR", "South Korea"),
    ("KW", "KWT", "Kuwait"),
    ("KY", "CYM", "Cayman Islands"),
    ("KZ", "KAZ", "Kazakhstan"),
    ("LA", "LAO", "Laos"),
    ("LB", "LBN", "Lebanon"),
    ("LC", "LCA", "Saint Lucia"),
    ("LI", "LIE", "Liechtenstein"),
    ("LK", "LKA", "Sri Lanka"),
    ("LR", "LBR", "Liberia"),
    ("LS", "LSO", "Lesotho"),
    ("LT", "LTU", "Lithuania"),
    ("LU", "LUX", "Luxembourg"),
    ("LV", "LVA", "Latvia"),
    ("LY", "LBY", "Libya"),
    ("MA", "MAR", "Morocco"),
    ("MC", "MCO", "Monaco"),
    ("MD", "MDA", "Moldova"),
    ("ME", "MNE", "Montenegro"),
    ("MF", "MAF", "Saint Martin (French part)"),
    ("MG", "MDG", "Madagascar"),
    ("MH", "MHL", "Marshall Islands"),
    ("MK", "MKD", "North Macedonia"),
    ("ML", "MLI", "Mali"),
    ("MM", "MMR", "Myanmar"),
    ("MN", "MNG", "Mongolia"),
    ("MO", "MAC", "Macao"),
    ("MP", "MNP", "Northern Mariana Islands"),
    ("MQ", "MTQ", "Martinique"),
    ("MR", "MRT", "Mauritania"),
    ("MS", "MSR", "Montserrat"),
    ("MT", "MLT", "Malta"),
    ("MU", "MUS", "Mauritius"),
    ("MV", "MDV", "Maldives"),
    ("MW", "MWI", "Malawi"),
    ("MX", "MEX", "Mexico"),
    ("MY", "MYS", "Malaysia"),
    ("MZ", "MOZ", "Mozambique"),
    ("NA", "NAM", "Namibia"),
    ("NC", "NCL", "New Caledonia"),
    ("NE", "NER", "Niger"),
    ("NF", "NFK", "Norfolk Island"),
    ("NG", "NGA", "Nigeria"),
    ("NI", "NIC", "Nicaragua"),
    ("NL", "NLD", "Netherlands"),
    ("NO", "NOR", "Norway"),
    ("NP", "NPL", "Nepal"),
    ("NR", "NRU", "Nauru"),
    ("NU", "NIU", "Niue"),
    ("NZ", "NZL", "New Zealand"),
    ("OM", "OMN", "Oman"),
    ("PA", "PAN", "Panama"),
    ("PE", "PER", "Peru"),
    ("PF", "PYF", "French Polynesia"),
    ("PG", "PNG", "Papua New Guinea"),
    ("PH", "PHL", "Philippines"),
    ("PK", "PAK", "Pakistan"),
    ("PL", "POL", "Poland"),
    ("PM", "SPM", "Saint Pierre and Miquelon"),
    ("PN", "PCN", "Pitcairn"),
    ("PR", "PRI", "Puerto Rico"),
    ("PS", "PSE", "Palestine, State of"),
    ("PT", "PRT", "Portugal"),
    ("PW", "PLW", "Palau"),
    ("PY", "PRY", "Paraguay"),
    ("QA", "QAT", "Qatar"),
    ("RE", "REU", "Réunion"),
    ("RO", "ROU", "Romania"),
    ("RS", "SRB", "Serbia"),
    ("RU", "RUS", "Russian Federation"),
    ("RW", "RWA", "Rwanda"),
    ("SA", "SAU", "Saudi Arabia"),
    ("SB", "SLB", "Solomon Islands"),
    ("SC", "SYC", "Seychelles"),
    ("SD", "SDN", "Sudan"),
    ("SE", "SWE", "Sweden"),
    ("SG", "SGP", "Singapore"),
    ("SH", "SHN", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "SVN", "Slovenia"),
    ("SJ", "SJM", "Svalbard and Jan Mayen"),
    ("SK", "SVK", "Slovakia"),
    ("SL", "SLE", "Sierra Leone"),
    ("SM", "SMR", "San Marino"),
    ("SN", "SEN", "Senegal"),
    ("SO", "SOM", "Somalia"),
    ("SR", "SUR", "Suriname"),
    ("SS", "SSD", "South Sudan"),
    ("ST", "STP", "Sao Tome and Principe"),
    ("SV", "SLV", "El Salvador"),
    ("SX", "SXM", "Sint Maarten (Dutch part)"),
    ("SY", "SYR", "Syria"),
    ("SZ", "SWZ", "Eswatini"),
    ("TC", "TCA", "Turks and Caicos Islands"),
    ("TD", "TCD", "Chad"),
    ("TF", "ATF", "French Southern Territories"),
    ("TG", "TGO", "Togo"),
    ("TH", "THA", "Thailand"),
    ("TJ", "TJK", "Tajikistan"),
    ("TK", "TKL", "Tokelau"),
    ("TL", "TLS", "Timor-Leste"),
    ("TM", "TKM", "Turkmenistan"),
    ("TN", "TUN", "Tunisia"),
    ("TO", "TON", "Tonga"),
    ("TR", "TUR", "Türkiye"),
    ("TT", "TTO", "Trinidad and Tobago"),
    ("TV", "TUV", "Tuvalu"),
    ("TW", "TWN", "Taiwan"),
    ("TZ", "TZA", "Tanzania"),
    ("UA", "UKR", "Ukraine"),
    ("UG", "UGA", "Uganda"),
    ("UM", "UMI", "United States Minor Outlying Islands"),
    ("US", "USA", "United States"),
    ("UY", "URY", "Uruguay"),
    ("UZ", "UZB", "Uzbekistan"),
    ("VA", "VAT", "Holy See (Vatican City State)"),
    ("VC", "VCT", "Saint Vincent and the Grenadines"),
    ("VE", "VEN", "Venezuela"),
    ("VG", "VGB", "Virgin Islands, British"),
    ("VI", "VIR", "Virgin Islands, U.S."),
    ("VN", "VNM", "Vietnam"),
    ("VU", "VUT", "Vanuatu"),
    ("WF", "WLF", "Wallis and Futuna"),
    ("WS", "WSM", "Samoa"),
    ("YE", "YEM", "Yemen"),
    ("YT", "MYT", "Mayotte"),
    ("ZA", "ZAF", "South Africa"),
    ("ZM", "ZMB", "Zambia"),
    ("ZW", "ZWE", "Zimbabwe"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(result: Result<impl fmt::Debug>) -> (&'static str, String, String) {
        match result {
            Err(Error::Name(NameError::InvalidValue {
                attribute,
                value,
                reason,
            })) => (attribute, value, reason),
            other => panic!("expected InvalidValue, got {other:?}"),
        }
    }

    fn name_error(result: Result<impl fmt::Debug>) -> NameError {
        match result {
            Err(Error::Name(e)) => e,
            other => panic!("expected a NameError, got {other:?}"),
        }
    }

    fn syntax(s: &str) -> (usize, String) {
        match name_error(s.parse::<DistinguishedName>()) {
            NameError::Syntax { position, reason } => (position, reason),
            other => panic!("{s:?}: expected Syntax, got {other:?}"),
        }
    }

    fn example() -> DistinguishedName {
        DistinguishedName::builder()
            .common_name("www.example.com")
            .organization("Example, Inc.")
            .organizational_unit("Web")
            .organizational_unit("Ops")
            .locality("Zürich")
            .state("ZH")
            .country("ch")
            .email("webmaster@example.com")
            .build()
            .unwrap()
    }

    #[test]
    fn builder_orders_most_significant_first() {
        let dn = example();
        let kinds: Vec<_> = dn.attributes().map(Attribute::kind).collect();
        use AttributeKind::*;
        assert_eq!(
            kinds,
            [
                Country,
                State,
                Locality,
                Organization,
                OrganizationalUnit,
                OrganizationalUnit,
                CommonName,
                Email
            ]
        );
        assert!(dn.rdns().all(|rdn| rdn.len() == 1));
        assert_eq!(dn.common_name(), Some("www.example.com"));
        assert_eq!(dn.organization(), Some("Example, Inc."));
        assert_eq!(
            dn.organizational_units().collect::<Vec<_>>(),
            ["Web", "Ops"]
        );
        assert_eq!(dn.locality(), Some("Zürich"));
        assert_eq!(dn.state(), Some("ZH"));
        assert_eq!(dn.country(), Some("CH"));
        assert_eq!(dn.email(), Some("webmaster@example.com"));
        assert_eq!(
            dn.to_string(),
            r"emailAddress=webmaster@example.com,CN=www.example.com,OU=Ops,OU=Web,O=Example\, Inc.,L=Zürich,ST=ZH,C=CH"
        );
    }

    #[test]
    fn builder_keeps_last_single_value_and_optional_cn() {
        let dn = DistinguishedName::builder()
            .organization("First")
            .organization("Second")
            .build()
            .unwrap();
        assert_eq!(dn.organization(), Some("Second"));
        assert_eq!(dn.common_name(), None);
        assert_eq!(dn.to_string(), "O=Second");
    }

    #[test]
    fn empty_name_refused() {
        assert_eq!(
            name_error(DistinguishedName::builder().build()),
            NameError::Empty
        );
        assert_eq!(
            name_error("".parse::<DistinguishedName>()),
            NameError::Empty
        );
        assert_eq!(
            name_error("   ".parse::<DistinguishedName>()),
            NameError::Empty
        );
        assert_eq!(
            name_error(DistinguishedName::from_rdns(Vec::new())),
            NameError::Empty
        );
        assert_eq!(
            name_error(DistinguishedName::try_from(&Name::default())),
            NameError::Empty
        );
        assert!(NameError::Empty.to_string().contains("common name"));
    }

    #[test]
    fn empty_values_refused_for_every_kind() {
        for &kind in AttributeKind::ALL {
            let (attribute, value, reason) = invalid(Attribute::new(kind, ""));
            assert_eq!(attribute, kind.short_name());
            assert_eq!(value, "");
            assert!(reason.contains("empty"), "{reason}");
            let (attribute, _, _) = invalid(format!("{kind}=").parse::<DistinguishedName>());
            assert_eq!(attribute, kind.short_name());
        }
        let (attribute, _, _) = invalid(DistinguishedName::builder().organization("").build());
        assert_eq!(attribute, "O");
    }

    #[test]
    fn control_characters_refused_and_escaped_in_message() {
        for &kind in AttributeKind::ALL {
            for bad in [
                "a\u{0}b",
                "a\tb",
                "a\nb",
                "a\u{7f}b",
                "a\u{85}b",
                "a\u{1b}[31m",
            ] {
                let (attribute, value, reason) = invalid(Attribute::new(kind, bad));
                assert_eq!(attribute, kind.short_name());
                assert!(!value.chars().any(char::is_control), "{value:?}");
                assert!(reason.contains("control character"), "{reason}");
                assert!(reason.contains("at character 2"), "{reason}");
            }
        }
        // Bidirectional controls ("Trojan Source") are refused too, and escaped in the message.
        for &kind in AttributeKind::ALL {
            for bad in ["a\u{202e}b", "a\u{2066}b", "a\u{200f}b", "a\u{61c}b"] {
                let (attribute, value, reason) = invalid(Attribute::new(kind, bad));
                assert_eq!(attribute, kind.short_name());
                assert!(!value.chars().any(is_bidi_control), "{value:?}");
                assert!(reason.contains("bidirectional control"), "{reason}");
                assert!(reason.contains("at character 2"), "{reason}");
            }
        }
        let err = "CN=a.example,O=\u{202e}moc.evil"
            .parse::<DistinguishedName>()
            .unwrap_err();
        assert!(err.to_string().contains(r"\u{202e}"), "{err}");
        // Right-to-left text itself is fine.
        Attribute::new(AttributeKind::Organization, "\u{5e9}\u{5dc}\u{5d5}\u{5dd}").unwrap();
        let err = Attribute::new(AttributeKind::Organization, "Evil\r\nInc").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(r"Evil\r\nInc"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        // Same rule through hex escapes in a string.
        let (attribute, _, reason) = invalid(r"O=a\00b".parse::<DistinguishedName>());
        assert_eq!(attribute, "O");
        assert!(reason.contains("control character"));
    }

    #[test]
    fn upper_bounds_counted_in_characters() {
        use AttributeKind::*;
        for (kind, max) in [
            (Organization, 64),
            (OrganizationalUnit, 64),
            (Locality, 128),
            (State, 128),
        ] {
            assert_eq!(kind.max_len(), max);
            // Two-byte characters: at the limit in characters, twice that in bytes.
            let at = "é".repeat(max);
            assert_eq!(Attribute::new(kind, at.clone()).unwrap().value(), at);
            let (_, value, reason) = invalid(Attribute::new(kind, "é".repeat(max + 1)));
            assert!(
                reason.contains(&format!("{} characters", max + 1)),
                "{reason}"
            );
            assert!(reason.contains(&format!("limit of {max}")), "{reason}");
            assert!(reason.contains("ub-"), "{reason}");
            if max + 1 > 100 {
                assert!(
                    value.contains("characters in all"),
                    "long values are cut: {value}"
                );
            }
        }
        // CN: 64 characters, checked before the host name rules.
        let cn = format!("{}.example.com", "a".repeat(52));
        assert_eq!(cn.len(), 64);
        Attribute::new(CommonName, cn).unwrap();
        let (_, _, reason) = invalid(Attribute::new(
            CommonName,
            format!("{}.example.com", "a".repeat(53)),
        ));
        assert!(reason.contains("limit of 64"), "{reason}");
        // Email: 255 characters.
        let domain = ["a".repeat(60).as_str(); 3].join(".") + ".example.com";
        let email = format!("{}@{domain}", "b".repeat(255 - 1 - domain.len()));
        assert_eq!(email.len(), 255);
        Attribute::new(Email, email.clone()).unwrap();
        let (_, _, reason) = invalid(Attribute::new(Email, format!("c{email}")));
        assert!(reason.contains("limit of 255"), "{reason}");
    }

    #[test]
    fn country_checked_against_iso_3166() {
        let c = |v: &str| Attribute::new(AttributeKind::Country, v);
        assert_eq!(c("US").unwrap().value(), "US");
        assert_eq!(c("us").unwrap().value(), "US");
        assert_eq!(c("De").unwrap().value(), "DE");
        assert_eq!(c("AX").unwrap().value(), "AX");
        let reason = |v: &str| invalid(c(v)).2;
        assert!(reason("USA").contains("`US`"), "{}", reason("USA"));
        assert!(reason("usa").contains("alpha-3"));
        assert!(reason("DEU").contains("`DE`"));
        assert!(
            reason("AUT").contains("`AT`"),
            "alpha-3 AUT is Austria, not AU"
        );
        assert!(reason("UK").contains("`GB`"));
        assert!(reason("uk").contains("`GB`"));
        assert!(reason("EL").contains("`GR`"));
        assert!(reason("Germany").contains("`DE` for Germany"));
        assert!(reason("XX").contains("not an assigned"));
        assert!(reason("ZZ").contains("not an assigned"));
        assert!(reason("U").contains("two-letter"));
        assert!(reason("U1").contains("two-letter"));
        assert!(reason("ÜS").contains("two-letter"));
        assert!(reason("U S").contains("two-letter"));
        assert_eq!(invalid(c("USA")).0, "C");
        // Same through parsing.
        let dn: DistinguishedName = "C=us,CN=x.example".parse().unwrap();
        assert_eq!(dn.country(), Some("US"));
        assert!(
            invalid("C=UK".parse::<DistinguishedName>())
                .2
                .contains("GB")
        );
    }

    #[test]
    fn country_table_is_sorted_and_complete() {
        assert_eq!(COUNTRIES.len(), 249);
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        for (a2, a3, name) in COUNTRIES {
            assert!(a2.len() == 2 && a2.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(a3.len() == 3 && a3.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn common_name_is_a_host_name() {
        let cn = |v: &str| Attribute::new(AttributeKind::CommonName, v);
        for ok in [
            "www.example.com",
            "intranet",
            "*.example.com",
            "xn--bcher-kva.example",
        ] {
            assert_eq!(cn(ok).unwrap().value(), ok);
        }
        for bad in [
            "bücher.example",
            "www.*.example.com",
            "*.com",
            "exa mple.com",
            "example.com.",
            "192.0.2.1",
            "1234",
            "0x7f000001",
            "Example Inc",
            "a_b.example",
        ] {
            let (attribute, value, reason) = invalid(cn(bad));
            assert_eq!(attribute, "CN");
            assert_eq!(value, bad);
            assert!(reason.contains("host name"), "{reason}");
        }
        let msg = cn("bücher.example").unwrap_err().to_string();
        assert!(msg.contains("xn--"), "{msg}");
    }

    #[test]
    fn email_is_a_plausible_address() {
        let email = |v: &str| Attribute::new(AttributeKind::Email, v);
        for ok in [
            "a@example.com",
            "first.last+tag@mail.example.com",
            "#x=y@intranet",
            "o'neil@xn--bcher-kva.example",
        ] {
            assert_eq!(email(ok).unwrap().value(), ok);
        }
        for (bad, why) in [
            ("example.com", "local@domain"),
            ("@example.com", "empty"),
            ("a@", "host name"),
            ("a@b@example.com", "more than one"),
            ("a b@example.com", "not allowed"),
            ("a(b)@example.com", "not allowed"),
            (".a@example.com", "dot"),
            ("a..b@example.com", "dot"),
            ("a.@example.com", "dot"),
            ("a@exa_mple.com", "host name"),
            ("a@*.example.com", "host name"),
            ("ü@example.com", "IA5String"),
            ("a@bücher.example", "A-label"),
        ] {
            let (attribute, _, reason) = invalid(email(bad));
            assert_eq!(attribute, "emailAddress");
            assert!(reason.contains(why), "{bad}: {reason}");
        }
        let (_, _, reason) = invalid(email(&format!("{}@example.com", "a".repeat(65))));
        assert!(reason.contains("64"), "{reason}");
    }

    #[test]
    fn other_values_are_free_text() {
        for kind in [
            AttributeKind::Organization,
            AttributeKind::OrganizationalUnit,
            AttributeKind::Locality,
            AttributeKind::State,
        ] {
            for ok in [
                " lead",
                "trail ",
                "#hash",
                r#"a,b+c"d\e<f>g;h=i"#,
                "日本 😀",
                " ",
            ] {
                assert_eq!(Attribute::new(kind, ok).unwrap().value(), ok);
            }
        }
    }

    #[test]
    fn repeated_and_duplicate_attributes_refused() {
        let o = |v: &str| Attribute::new(AttributeKind::Organization, v).unwrap();
        let ou = |v: &str| Attribute::new(AttributeKind::OrganizationalUnit, v).unwrap();
        assert_eq!(
            name_error(DistinguishedName::from_rdns([vec![o("a")], vec![o("b")]])),
            NameError::Repeated { attribute: "O" }
        );
        assert_eq!(
            name_error("CN=a.example,CN=b.example".parse::<DistinguishedName>()),
            NameError::Repeated { attribute: "CN" }
        );
        assert_eq!(
            name_error("C=US+C=DE".parse::<DistinguishedName>()),
            NameError::Repeated { attribute: "C" }
        );
        // OU may repeat, also with the same value in separate RDNs...
        let dn: DistinguishedName = "OU=a,OU=a,OU=b+OU=c".parse().unwrap();
        assert_eq!(dn.organizational_units().count(), 4);
        // ...but a set cannot hold the same value twice.
        assert_eq!(
            name_error(DistinguishedName::from_rdns([vec![ou("x"), ou("x")]])),
            NameError::DuplicateInRdn {
                attribute: "OU",
                value: "x".into()
            }
        );
        assert!(matches!(
            name_error("OU=x+OU=y+OU=x".parse::<DistinguishedName>()),
            NameError::DuplicateInRdn { .. }
        ));
        assert_eq!(
            name_error(DistinguishedName::from_rdns([vec![o("a")], vec![]])),
            NameError::EmptyRdn { index: 1 }
        );
        let msg = NameError::Repeated { attribute: "CN" }.to_string();
        assert!(msg.contains("only OU"), "{msg}");
    }

    #[test]
    fn display_escapes_per_rfc_4514() {
        let cases = [
            ("a,b", r"a\,b"),
            ("a+b", r"a\+b"),
            ("a\"b", r#"a\"b"#),
            (r"a\b", r"a\\b"),
            ("a<b>c", r"a\<b\>c"),
            ("a;b", r"a\;b"),
            ("a=b", r"a\=b"),
            (" a", r"\ a"),
            ("a ", r"a\ "),
            (" ", r"\ "),
            ("  ", r"\ \ "),
            ("a  b", "a  b"),
            ("#a", r"\#a"),
            ("a#", "a#"),
            ("é日😀", "é日😀"),
        ];
        for (value, escaped) in cases {
            let a = Attribute::new(AttributeKind::Organization, value).unwrap();
            assert_eq!(a.to_string(), format!("O={escaped}"));
            let dn: DistinguishedName = format!("O={escaped}").parse().unwrap();
            assert_eq!(dn.organization(), Some(value), "{escaped}");
        }
        let mut nul = String::new();
        write_escaped(&mut nul, "a\0b").unwrap();
        assert_eq!(nul, r"a\00b");
    }

    #[test]
    fn display_reverses_rdns_and_joins_multi_valued_with_plus() {
        let dn: DistinguishedName = "CN=www.example.com+OU=Web,O=Example,C=US".parse().unwrap();
        let first: Vec<_> = dn
            .rdns()
            .next()
            .unwrap()
            .iter()
            .map(Attribute::kind)
            .collect();
        assert_eq!(first, [AttributeKind::Country]);
        assert_eq!(dn.rdns().len(), 3);
        assert_eq!(dn.rdns().last().unwrap().len(), 2);
        // The multi-valued RDN is in DER SET OF order: the shorter encoding (OU=Web) first.
        assert_eq!(dn.to_string(), "OU=Web+CN=www.example.com,O=Example,C=US");
        let swapped: DistinguishedName =
            "OU=Web+CN=www.example.com,O=Example,C=US".parse().unwrap();
        assert_eq!(swapped, dn);
        assert_eq!(swapped.to_string(), dn.to_string());
    }

    #[test]
    fn parses_escapes_hex_and_utf8() {
        let dn: DistinguishedName =
            r"O=Ex\2C Inc.\2b\3d,L=Z\C3\BCrich,ST=\E6\97\A5\F0\9F\98\80,C=us"
                .parse()
                .unwrap();
        assert_eq!(dn.organization(), Some("Ex, Inc.+="));
        assert_eq!(dn.locality(), Some("Zürich"));
        assert_eq!(dn.state(), Some("日😀"));
        assert_eq!(dn.country(), Some("US"));
        // Hex escapes must form UTF-8.
        let (position, reason) = syntax(r"CN=a.example,O=x\C3y");
        assert_eq!(position, 15);
        assert!(reason.contains("UTF-8"), "{reason}");
        // Escaped space at the ends is kept, unescaped space around separators is not.
        let dn: DistinguishedName = r" CN = a.example , O = \ x\  + OU =  y ".parse().unwrap();
        assert_eq!(dn.common_name(), Some("a.example"));
        assert_eq!(dn.organization(), Some(" x "));
        assert_eq!(dn.organizational_units().next(), Some("y"));
    }

    #[test]
    fn parses_type_names_and_oids() {
        let all = "emailAddress=a@b.example,CN=b.example,OU=u,O=o,L=l,ST=s,C=US";
        let dn: DistinguishedName = all.parse().unwrap();
        for s in [
            "E=a@b.example,cn=b.example,ou=u,o=o,l=l,st=s,c=us",
            "EMAILADDRESS=a@b.example,CommonName=b.example,organizationalUnitName=u,organizationName=o,localityName=l,stateOrProvinceName=s,countryName=US",
            "1.2.840.113549.1.9.1=a@b.example,2.5.4.3=b.example,2.5.4.11=u,2.5.4.10=o,2.5.4.7=l,2.5.4.8=s,2.5.4.6=US",
        ] {
            assert_eq!(s.parse::<DistinguishedName>().unwrap(), dn, "{s}");
        }
        assert_eq!(dn.to_string(), all);
        for &kind in AttributeKind::ALL {
            assert_eq!(AttributeKind::from_name(kind.short_name()), Some(kind));
            assert_eq!(
                AttributeKind::from_name(&kind.oid().to_string()),
                Some(kind)
            );
            assert_eq!(AttributeKind::from_oid(&kind.oid()), Some(kind));
        }
    }

    #[test]
    fn unknown_attribute_types_refused_with_supported_list() {
        for (s, attr) in [
            ("DC=example", "DC"),
            ("STREET=Main St", "STREET"),
            ("2.5.4.9=Main St", "2.5.4.9"),
            ("UID=x,CN=a.example", "UID"),
        ] {
            let err = s.parse::<DistinguishedName>().unwrap_err();
            assert_eq!(
                name_error(Err::<(), _>(err.clone_name())),
                NameError::UnsupportedAttribute {
                    attribute: attr.into()
                }
            );
            let msg = err.to_string();
            assert!(msg.contains("supported are CN"), "{msg}");
            assert!(msg.contains("emailAddress"), "{msg}");
        }
    }

    trait CloneName {
        fn clone_name(&self) -> Error;
    }

    impl CloneName for Error {
        fn clone_name(&self) -> Error {
            match self {
                Error::Name(e) => Error::Name(e.clone()),
                other => panic!("not a name error: {other:?}"),
            }
        }
    }

    #[test]
    fn syntax_errors_give_the_byte_position() {
        for (s, position, why) in [
            ("CN", 2, "expected `=`"),
            ("CN=a.example,", 13, "at the end"),
            ("CN=a.example,,O=x", 13, "attribute type"),
            ("=x", 0, "attribute type"),
            ("O=a;b", 3, r"\;"),
            ("O=a\"b", 3, "escaped"),
            ("O=a<b", 3, "escaped"),
            ("O=a>b", 3, "escaped"),
            (r"O=a\q", 4, "escapes one of"),
            (r"O=a\", 4, "lone"),
            (r"O=a\4", 4, "two hex digits"),
            (r"O=a\4g", 4, "two hex digits"),
            ("O=#", 3, "hex digits after"),
            ("O=#0", 3, "even number"),
            ("O=#0c01g", 7, "hex digits"),
            ("O=#0c02", 2, "DER"),
            ("O=#0c0141ff", 2, "DER"),
            ("C.N=x", 0, "not an attribute type"),
            ("2.5.x=x", 0, "not an attribute type"),
            ("O=é;", 4, r"\;"),
        ] {
            let (p, reason) = syntax(s);
            assert_eq!(p, position, "{s}: {reason}");
            assert!(reason.contains(why), "{s}: {reason}");
        }
        let msg = "O=a;b"
            .parse::<DistinguishedName>()
            .unwrap_err()
            .to_string();
        assert!(msg.contains("at byte 3"), "{msg}");
    }

    #[test]
    fn hex_values_are_decoded_and_type_checked() {
        // UTF8String "Ex" and PrintableString "US".
        let dn: DistinguishedName = "O=#0C024578,C=#13025553".parse().unwrap();
        assert_eq!(dn.organization(), Some("Ex"));
        assert_eq!(dn.country(), Some("US"));
        // PrintableString, TeletexString and BMPString are DirectoryStrings.
        let dn: DistinguishedName = "O=#13024578,OU=#1402E96C,L=#1E0400450078".parse().unwrap();
        assert_eq!(dn.organization(), Some("Ex"));
        assert_eq!(dn.organizational_units().next(), Some("él"));
        assert_eq!(dn.locality(), Some("Ex"));
        // A country as UTF8String, an email as UTF8String, an O as OCTET STRING: refused.
        for (s, attribute, found) in [
            ("C=#0C025553", "C", "UTF8String"),
            ("emailAddress=#0C03614062", "emailAddress", "UTF8String"),
            ("O=#04024578", "O", "OCTET STRING"),
        ] {
            match name_error(s.parse::<DistinguishedName>()) {
                NameError::WrongStringType {
                    attribute: a,
                    found: f,
                    ..
                } => {
                    assert_eq!(a, attribute);
                    assert_eq!(f, found);
                }
                other => panic!("{s}: {other:?}"),
            }
        }
        // The decoded value is validated as any other.
        assert!(
            invalid("C=#1303555341".parse::<DistinguishedName>())
                .2
                .contains("`US`")
        );
        assert_eq!(
            invalid("CN=#0C0361205F".parse::<DistinguishedName>()).0,
            "CN"
        );
        // Invalid content of the string type.
        assert!(
            invalid("O=#0C02C328".parse::<DistinguishedName>())
                .2
                .contains("UTF-8")
        );
        assert!(
            invalid("O=#1E03004500".parse::<DistinguishedName>())
                .2
                .contains("UCS-2")
        );
        assert!(
            invalid("O=#130140".parse::<DistinguishedName>())
                .2
                .contains("PrintableString")
        );
    }

    #[test]
    fn der_round_trip_and_string_types() {
        let dn = example();
        let name = dn.to_x509().unwrap();
        assert_eq!(Name::try_from(&dn).unwrap(), name);
        let der = name.to_der().unwrap();
        assert_eq!(dn.to_der().unwrap(), der);
        assert_eq!(DistinguishedName::from_der(&der).unwrap(), dn);
        let tags: Vec<(ObjectIdentifier, Tag)> =
            name.iter().map(|atv| (atv.oid, atv.value.tag())).collect();
        assert_eq!(tags[0], (rfc4519::COUNTRY_NAME, Tag::PrintableString));
        assert_eq!(tags[2], (rfc4519::LOCALITY_NAME, Tag::Utf8String));
        assert_eq!(tags[7], (rfc3280::EMAIL_ADDRESS, Tag::Ia5String));
        // A parsed multi-valued RDN encodes as one SET, in the order we keep.
        let multi: DistinguishedName = "OU=Web+CN=a.example,O=Ex".parse().unwrap();
        let name = multi.to_x509().unwrap();
        assert_eq!(name.len(), 2);
        let back = DistinguishedName::try_from(&name).unwrap();
        assert_eq!(back, multi);
        assert_eq!(
            back.to_x509().unwrap().to_der().unwrap(),
            name.to_der().unwrap()
        );
    }

    #[test]
    fn from_name_refuses_unsupported_types_and_bad_values() {
        let name = Name::from_str("DC=example,CN=a.example").unwrap();
        match name_error(DistinguishedName::try_from(&name)) {
            NameError::UnsupportedAttribute { attribute } => {
                assert!(
                    attribute.contains("0.9.2342.19200300.100.1.25"),
                    "{attribute}"
                )
            }
            other => panic!("{other:?}"),
        }
        let name = Name::from_str("CN=not a host").unwrap();
        assert_eq!(invalid(DistinguishedName::try_from(&name)).0, "CN");
        let name = Name::from_str("C=XX").unwrap();
        assert!(invalid(DistinguishedName::try_from(&name)).2.contains("XX"));
        // Malformed DER.
        assert!(matches!(
            DistinguishedName::from_der(&[0x30, 0x05, 0x31]),
            Err(Error::Encoding(_))
        ));
        assert!(matches!(
            DistinguishedName::from_der(&[]),
            Err(Error::Encoding(_))
        ));
    }

    #[test]
    fn from_name_reads_other_directory_strings_and_re_encodes_them() {
        use der::asn1::TeletexStringRef;
        let atv = |kind: AttributeKind, value: Any| {
            RelativeDistinguishedName::try_from(vec![AttributeTypeAndValue {
                oid: kind.oid(),
                value,
            }])
            .unwrap()
        };
        let mut seq = RdnSequence::default();
        seq.push(atv(
            AttributeKind::Organization,
            Any::encode_from(&PrintableStringRef::new("Example").unwrap()).unwrap(),
        ));
        seq.push(atv(
            AttributeKind::OrganizationalUnit,
            Any::encode_from(&TeletexStringRef::new("Web").unwrap()).unwrap(),
        ));
        seq.push(atv(
            AttributeKind::Locality,
            Any::encode_from(&BmpString::from_utf8("Zürich").unwrap()).unwrap(),
        ));
        let name = Name::hazmat_from_rdn_sequence(seq);
        let dn = DistinguishedName::try_from(&name).unwrap();
        assert_eq!(dn.to_string(), "L=Zürich,OU=Web,O=Example");
        // Re-encoded as UTF8String: the same name, other bytes.
        let ours = dn.to_x509().unwrap();
        assert!(ours.iter().all(|atv| atv.value.tag() == Tag::Utf8String));
        assert_ne!(ours.to_der().unwrap(), name.to_der().unwrap());
        assert_eq!(DistinguishedName::try_from(&ours).unwrap(), dn);
    }

    #[test]
    fn empty_rdn_in_der_refused() {
        // SEQUENCE { SET {} }
        let err = DistinguishedName::from_der(&[0x30, 0x02, 0x31, 0x00]).unwrap_err();
        assert!(
            matches!(err, Error::Name(NameError::EmptyRdn { index: 0 })),
            "{err:?}"
        );
        assert!(err.to_string().contains("RDN number 0"), "{err}");
    }

    #[test]
    fn shown_values_are_cut_and_escaped() {
        assert_eq!(shown("a\u{1b}b"), r"a\u{1b}b");
        let long = shown(&"x".repeat(1000));
        assert!(long.starts_with(&"x".repeat(100)));
        assert!(long.ends_with("(1000 characters in all)"));
    }
}
