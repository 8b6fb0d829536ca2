//! Unit tests of the `name` module and its parts.

use std::fmt;
use std::str::FromStr;

use ::der::asn1::{Any, BmpString, PrintableStringRef};
use ::der::{Encode, Tag, Tagged};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3280, rfc4519};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use super::attribute::{is_bidi_control, shown};
use super::countries::COUNTRIES;
use super::rfc4514::write_escaped;
use super::*;
use crate::error::Error;

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
    let swapped: DistinguishedName = "OU=Web+CN=www.example.com,O=Example,C=US".parse().unwrap();
    assert_eq!(swapped, dn);
    assert_eq!(swapped.to_string(), dn.to_string());
}

#[test]
fn parses_escapes_hex_and_utf8() {
    let dn: DistinguishedName = r"O=Ex\2C Inc.\2b\3d,L=Z\C3\BCrich,ST=\E6\97\A5\F0\9F\98\80,C=us"
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
    use ::der::asn1::TeletexStringRef;
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
