//! [`DistinguishedName`]: who the server is, validated on construction.
//!
//! SKELETON: the name helper completes this file (validation, RFC 4514, proptests).

use std::fmt;
use std::str::FromStr;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3280, rfc4519};
use der::asn1::{Any, Ia5StringRef, PrintableStringRef, Utf8StringRef};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::error::{Error, NameError, Result};

/// The attribute types a server's distinguished name may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AttributeKind {
    /// `C`, countryName (2.5.4.6).
    Country,
    /// `ST`, stateOrProvinceName (2.5.4.8).
    State,
    /// `L`, localityName (2.5.4.7).
    Locality,
    /// `O`, organizationName (2.5.4.10).
    Organization,
    /// `OU`, organizationalUnitName (2.5.4.11).
    OrganizationalUnit,
    /// `CN`, commonName (2.5.4.3).
    CommonName,
    /// `emailAddress` (1.2.840.113549.1.9.1).
    Email,
}

impl AttributeKind {
    /// The short name used in RFC 4514 strings.
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
}

/// One attribute of a name: its type and validated value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    kind: AttributeKind,
    value: String,
}

impl Attribute {
    /// The attribute's type.
    pub fn kind(&self) -> AttributeKind {
        self.kind
    }

    /// The attribute's value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// A validated X.501 distinguished name for a server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistinguishedName {
    /// RDNs in encoding order (most significant, e.g. `C`, first).
    rdns: Vec<Vec<Attribute>>,
}

impl DistinguishedName {
    /// Starts a builder.
    pub fn builder() -> DistinguishedNameBuilder {
        DistinguishedNameBuilder::default()
    }

    /// The common name, if any.
    pub fn common_name(&self) -> Option<&str> {
        self.rdns
            .iter()
            .flatten()
            .find(|a| a.kind == AttributeKind::CommonName)
            .map(|a| a.value.as_str())
    }

    /// The name as an `x509_cert` [`Name`].
    pub fn to_x509(&self) -> Result<Name> {
        let mut seq = RdnSequence::default();
        for rdn in &self.rdns {
            let atvs = rdn
                .iter()
                .map(encode_attribute)
                .collect::<Result<Vec<_>>>()?;
            let rdn = RelativeDistinguishedName::try_from(atvs).map_err(|e| NameError::Syntax {
                position: 0,
                reason: e.to_string(),
            })?;
            seq.push(rdn);
        }
        Ok(Name::hazmat_from_rdn_sequence(seq))
    }
}

fn encode_attribute(a: &Attribute) -> Result<AttributeTypeAndValue> {
    let bad = |e: der::Error| NameError::InvalidValue {
        attribute: a.kind.short_name(),
        value: a.value.clone(),
        reason: e.to_string(),
    };
    let value = match a.kind {
        AttributeKind::Country => {
            Any::encode_from(&PrintableStringRef::new(&a.value).map_err(bad)?).map_err(bad)?
        }
        AttributeKind::Email => {
            Any::encode_from(&Ia5StringRef::new(&a.value).map_err(bad)?).map_err(bad)?
        }
        _ => Any::encode_from(&Utf8StringRef::new(&a.value).map_err(bad)?).map_err(bad)?,
    };
    Ok(AttributeTypeAndValue {
        oid: a.kind.oid(),
        value,
    })
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            for (j, a) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                write!(f, "{}={}", a.kind.short_name(), a.value)?;
            }
        }
        Ok(())
    }
}

impl FromStr for DistinguishedName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let mut b = Self::builder();
        for part in s.split(',') {
            let (k, v) = part.split_once('=').ok_or(NameError::Syntax {
                position: 0,
                reason: "expected `type=value`".into(),
            })?;
            b = match k.trim() {
                "CN" => b.common_name(v),
                "O" => b.organization(v),
                "OU" => b.organizational_unit(v),
                "L" => b.locality(v),
                "ST" => b.state(v),
                "C" => b.country(v),
                "emailAddress" => b.email(v),
                _ => {
                    return Err(NameError::Syntax {
                        position: 0,
                        reason: format!("unknown attribute `{k}`"),
                    }
                    .into());
                }
            };
        }
        b.build()
    }
}

/// By-value builder for [`DistinguishedName`]; [`build`](Self::build) validates.
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
    /// Sets the common name (CN): the server's DNS host name.
    pub fn common_name(mut self, v: impl Into<String>) -> Self {
        self.common_name = Some(v.into());
        self
    }
    /// Sets the organization (O).
    pub fn organization(mut self, v: impl Into<String>) -> Self {
        self.organization = Some(v.into());
        self
    }
    /// Adds an organizational unit (OU); repeatable.
    pub fn organizational_unit(mut self, v: impl Into<String>) -> Self {
        self.organizational_units.push(v.into());
        self
    }
    /// Sets the locality (L).
    pub fn locality(mut self, v: impl Into<String>) -> Self {
        self.locality = Some(v.into());
        self
    }
    /// Sets the state or province (ST).
    pub fn state(mut self, v: impl Into<String>) -> Self {
        self.state = Some(v.into());
        self
    }
    /// Sets the country (C), two letters of ISO 3166-1 alpha-2.
    pub fn country(mut self, v: impl Into<String>) -> Self {
        self.country = Some(v.into());
        self
    }
    /// Sets the email address.
    pub fn email(mut self, v: impl Into<String>) -> Self {
        self.email = Some(v.into());
        self
    }

    /// Validates and builds the name.
    pub fn build(self) -> Result<DistinguishedName> {
        let mut rdns = Vec::new();
        let mut push = |kind, value: Option<String>| {
            if let Some(value) = value {
                rdns.push(vec![Attribute { kind, value }]);
            }
        };
        push(AttributeKind::Country, self.country);
        push(AttributeKind::State, self.state);
        push(AttributeKind::Locality, self.locality);
        push(AttributeKind::Organization, self.organization);
        for ou in self.organizational_units {
            push(AttributeKind::OrganizationalUnit, Some(ou));
        }
        push(AttributeKind::CommonName, self.common_name);
        push(AttributeKind::Email, self.email);
        if rdns.is_empty() {
            return Err(NameError::Empty.into());
        }
        Ok(DistinguishedName { rdns })
    }
}
