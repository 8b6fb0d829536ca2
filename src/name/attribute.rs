//! The attribute types a server's name may hold ([`AttributeKind`]), one validated attribute
//! ([`Attribute`]), and the checks of each kind's value: the rules listed in the
//! [`name` module docs](crate::name).

use std::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3280, rfc4519};

use super::countries::COUNTRIES;
use crate::error::{NameError, Result};
use crate::hostname::check_host_name;

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
    pub(super) kind: AttributeKind,
    pub(super) value: String,
}

impl Attribute {
    /// Validates `value` as an attribute of `kind` (see the [module docs](crate::name) for the rules).
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
}

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

/// Whether `c` has the Unicode `Bidi_Control` property (UAX #9): the invisible marks,
/// embeddings, overrides and isolates that reorder how text is displayed ("Trojan Source",
/// CVE-2021-42574). A name holding one shows differently from what it is.
pub(super) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// `value` as shown in an error message: control characters (and bidirectional controls)
/// escaped, cut after 100 characters.
pub(super) fn shown(value: &str) -> String {
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
