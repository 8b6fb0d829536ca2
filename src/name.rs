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
//! read from an `x509_cert` [`Name`](x509_cert::name::Name)), the same rules apply and the same [`NameError`]s come out:
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
//! (`CN=www.example.com,O=Example,C=US`), as [`Display`](std::fmt::Display) writes and
//! [`FromStr`](std::str::FromStr) reads them. The attributes of a multi-valued RDN are a set: they are kept, and
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

use self::der::sort_rdn;
use crate::error::{NameError, Result};

mod attribute;
mod countries;
mod der;
mod rfc4514;
#[cfg(test)]
mod tests;

pub use attribute::{Attribute, AttributeKind};
pub(crate) use rfc4514::display_x509_name;

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
