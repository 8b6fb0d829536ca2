//! Property tests of `DistinguishedName`: RFC 4514 and DER round trips, and parsers that never
//! panic.

use der::{Decode, Encode};
use keymanager::DistinguishedName;
use keymanager::name::{Attribute, AttributeKind};
use proptest::prelude::*;
use x509_cert::name::Name;

/// Free text for O, OU, L, ST: characters RFC 4514 must escape, spaces (also at the ends), `#`
/// (also at the start), non-ASCII of 2, 3 and 4 UTF-8 bytes, any character but controls
/// (bidirectional controls included).
fn free_text(max: usize) -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => prop::sample::select(vec![' ', '#', ',', '+', '"', '\\', '<', '>', ';', '=']),
        4 => prop::char::range('a', 'z'),
        2 => prop::sample::select(vec!['é', 'ü', 'ß', '日', '本', '€', '😀', '𝄞']),
        1 => any::<char>().prop_filter("no control characters", |c| !c.is_control()
            && !matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}')),
    ];
    prop::collection::vec(c, 1..=max).prop_map(|v| v.into_iter().collect())
}

fn label() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9]{0,5}(-[a-z0-9]{1,4})?"
}

fn host_name(wildcard: bool) -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 1..=4), any::<bool>()).prop_map(move |(labels, star)| {
        let name = labels.join(".");
        if wildcard && star && labels.len() >= 2 {
            format!("*.{name}")
        } else {
            name
        }
    })
}

fn email() -> impl Strategy<Value = String> {
    (
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-z0-9]{1,5})?",
        host_name(false),
    )
        .prop_map(|(local, domain)| format!("{local}@{domain}"))
}

fn country() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "US", "us", "DE", "GB", "JP", "CH", "fr", "BR", "AX", "ZW",
    ])
    .prop_map(str::to_owned)
}

/// Valid attributes, each kind but OU at most once, at least one attribute.
fn attributes() -> impl Strategy<Value = Vec<Attribute>> {
    (
        prop::option::of(country()),
        prop::option::of(free_text(20)),
        prop::option::of(free_text(20)),
        prop::option::of(free_text(20)),
        prop::collection::vec(free_text(12), 0..=3),
        prop::option::of(host_name(true)),
        prop::option::of(email()),
    )
        .prop_map(|(c, st, l, o, ous, cn, e)| {
            use AttributeKind::*;
            let mut out = Vec::new();
            let mut add = |kind, v: Option<String>| {
                if let Some(v) = v {
                    out.push(Attribute::new(kind, v).expect("generated values are valid"));
                }
            };
            add(Country, c);
            add(State, st);
            add(Locality, l);
            add(Organization, o);
            for ou in ous {
                add(OrganizationalUnit, Some(ou));
            }
            add(CommonName, cn);
            add(Email, e);
            out
        })
        .prop_filter("at least one attribute", |v| !v.is_empty())
}

/// Valid names in any order, with multi-valued RDNs.
fn names() -> impl Strategy<Value = DistinguishedName> {
    attributes()
        .prop_shuffle()
        .prop_flat_map(|attrs| {
            let n = attrs.len();
            (Just(attrs), prop::collection::vec(any::<bool>(), n))
        })
        .prop_filter_map("no duplicate value in one RDN", |(attrs, join)| {
            let mut rdns: Vec<Vec<Attribute>> = Vec::new();
            for (a, join) in attrs.into_iter().zip(join) {
                match rdns.last_mut() {
                    Some(rdn) if join => rdn.push(a),
                    _ => rdns.push(vec![a]),
                }
            }
            DistinguishedName::from_rdns(rdns).ok()
        })
}

proptest! {
    #[test]
    fn display_then_parse_gives_the_same_name(dn in names()) {
        let s = dn.to_string();
        let back: DistinguishedName = s.parse().map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
        prop_assert_eq!(back, dn);
    }

    #[test]
    fn displayed_string_parses_and_displays_the_same(dn in names()) {
        let s = dn.to_string();
        let again = s.parse::<DistinguishedName>().unwrap().to_string();
        prop_assert_eq!(again, s);
    }

    #[test]
    fn der_round_trip(dn in names()) {
        let name = dn.to_x509().unwrap();
        let der = name.to_der().unwrap();
        prop_assert_eq!(&dn.to_der().unwrap(), &der);
        let back = DistinguishedName::try_from(&Name::from_der(&der).unwrap()).unwrap();
        prop_assert_eq!(&back, &dn);
        prop_assert_eq!(back.to_der().unwrap(), der);
        prop_assert_eq!(DistinguishedName::from_der(&dn.to_der().unwrap()).unwrap(), dn);
    }

    #[test]
    fn builder_names_round_trip(
        c in prop::option::of(country()),
        o in prop::option::of(free_text(64)),
        ous in prop::collection::vec(free_text(64), 0..=3),
        l in prop::option::of(free_text(128)),
        cn in host_name(true),
        e in prop::option::of(email()),
    ) {
        let mut b = DistinguishedName::builder().common_name(cn.clone());
        if let Some(c) = &c { b = b.country(c.as_str()); }
        if let Some(o) = &o { b = b.organization(o.as_str()); }
        for ou in &ous { b = b.organizational_unit(ou.as_str()); }
        if let Some(l) = &l { b = b.locality(l.as_str()); }
        if let Some(e) = &e { b = b.email(e.as_str()); }
        let dn = b.build().unwrap();
        prop_assert_eq!(dn.common_name(), Some(cn.as_str()));
        prop_assert_eq!(dn.country().map(str::to_owned), c.map(|c| c.to_ascii_uppercase()));
        prop_assert_eq!(dn.organization(), o.as_deref());
        prop_assert_eq!(dn.organizational_units().collect::<Vec<_>>(), ous.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(dn.to_string().parse::<DistinguishedName>().unwrap(), dn.clone());
        prop_assert_eq!(DistinguishedName::try_from(&dn.to_x509().unwrap()).unwrap(), dn);
    }

    #[test]
    fn every_byte_hex_escaped_parses_to_the_same_value(value in free_text(30)) {
        let escaped: String = value.bytes().map(|b| format!("\\{b:02x}")).collect();
        let dn: DistinguishedName = format!("O={escaped}").parse().unwrap();
        prop_assert_eq!(dn.organization(), Some(value.as_str()));
    }

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = s.parse::<DistinguishedName>();
    }

    #[test]
    fn parse_never_panics_on_dn_like_strings(s in "[COUSTLE=,+#\\\\ \"<>;0-9a-fA-F.éx]{0,40}") {
        if let Ok(dn) = s.parse::<DistinguishedName>() {
            // Whatever parses re-displays to a string that parses to the same name.
            prop_assert_eq!(dn.to_string().parse::<DistinguishedName>().unwrap(), dn);
        }
    }

    #[test]
    fn from_der_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = DistinguishedName::from_der(&bytes);
    }

    #[test]
    fn from_der_never_panics_on_mutated_names(dn in names(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut der = dn.to_der().unwrap();
        let i = at.index(der.len());
        der[i] = byte;
        if let Ok(back) = DistinguishedName::from_der(&der) {
            prop_assert_eq!(back.to_string().parse::<DistinguishedName>().unwrap(), back);
        }
    }
}

/// RFC 4514 allows many spellings of one name: attribute types as short names in any case,
/// long names or dotted OIDs; any value character as a backslash escape of its UTF-8 bytes in
/// hex; the special characters as `\c`. Writes `dn` with a random choice at every point.
fn respell(dn: &DistinguishedName, mut seed: u64) -> String {
    let mut coin = move || {
        // xorshift64: enough to pick spellings.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % 3
    };
    let mut rdns: Vec<String> = Vec::new();
    for rdn in dn.rdns() {
        let attrs: Vec<String> = rdn
            .iter()
            .map(|a| {
                let kind = a.kind();
                let long = match kind {
                    AttributeKind::Country => "countryName",
                    AttributeKind::State => "stateOrProvinceName",
                    AttributeKind::Locality => "localityName",
                    AttributeKind::Organization => "organizationName",
                    AttributeKind::OrganizationalUnit => "organizationalUnitName",
                    AttributeKind::CommonName => "commonName",
                    _ => "emailAddress",
                };
                let ty = match coin() {
                    0 => kind.short_name().to_ascii_lowercase(),
                    1 => long.to_owned(),
                    _ => kind.oid().to_string(),
                };
                let chars: Vec<char> = a.value().chars().collect();
                let mut value = String::new();
                for (i, c) in chars.iter().enumerate() {
                    let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
                        || (i == 0 && matches!(c, ' ' | '#'))
                        || (i == chars.len() - 1 && *c == ' ');
                    let mut utf8 = [0u8; 4];
                    match (coin(), special) {
                        (0, _) => {
                            for b in c.encode_utf8(&mut utf8).bytes() {
                                value.push_str(&format!("\\{b:02X}"));
                            }
                        }
                        (_, true) => {
                            value.push('\\');
                            value.push(*c);
                        }
                        (_, false) => value.push(*c),
                    }
                }
                format!("{ty}={value}")
            })
            .collect();
        rdns.push(attrs.join("+"));
    }
    rdns.reverse();
    rdns.join(",")
}

proptest! {
    #[test]
    fn every_spelling_parses_to_the_same_name(dn in names(), seed in 1u64..) {
        let s = respell(&dn, seed);
        let back: DistinguishedName = s.parse().map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
        prop_assert_eq!(back.to_string(), dn.to_string(), "{}", s);
        prop_assert_eq!(back, dn);
    }
}
