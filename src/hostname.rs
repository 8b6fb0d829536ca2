//! DNS host names as a server is named: in a common name, a subjectAltName, an SNI binding;
//! and the other name a subjectAltName gives a server, its IP address.
//!
//! The rules are those of [RFC 1123 §2.1] (letters, digits and hyphens; labels of 1 to 63
//! characters, not starting or ending with a hyphen; at most 253 characters), with
//! internationalised names in their IDNA A-label form ([RFC 5890 §2.3.2.1], `xn--...`), and a
//! wildcard allowed only as the whole leftmost label of a name with at least two more labels
//! ([RFC 6125 §6.4.3]). A single label (`intranet`) is a valid intranet host name.
//!
//! [RFC 1123 §2.1]: https://datatracker.ietf.org/doc/html/rfc1123#section-2.1
//! [RFC 5890 §2.3.2.1]: https://datatracker.ietf.org/doc/html/rfc5890#section-2.3.2.1
//! [RFC 6125 §6.4.3]: https://datatracker.ietf.org/doc/html/rfc6125#section-6.4.3

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest host name, in characters, without the trailing dot.
pub(crate) const MAX_HOST_LEN: usize = 253;

/// The address of a subjectAltName `iPAddress` entry, `None` unless it has 4 (IPv4) or 16
/// (IPv6) bytes ([RFC 5280 §4.2.1.6]).
///
/// [RFC 5280 §4.2.1.6]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.6
pub(crate) fn ip_from_san(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
}

/// Checks that `name` is a host name a server can be named by; `wildcard` says whether a `*`
/// leftmost label is allowed here. On failure, says what is wrong and what to do.
pub(crate) fn check_host_name(name: &str, wildcard: bool) -> Result<(), String> {
    if name.is_empty() {
        return Err("a host name cannot be empty".into());
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "`{c}` is not ASCII: write an internationalised name in its IDNA A-label form (xn--...)"
        ));
    }
    if name.len() > MAX_HOST_LEN {
        return Err(format!(
            "a host name is at most {MAX_HOST_LEN} characters, this one has {}",
            name.len()
        ));
    }
    if name.ends_with('.') {
        return Err("remove the trailing dot: certificates name hosts without it".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" {
            if i != 0 {
                return Err("a wildcard `*` may only be the whole leftmost label".into());
            }
            if !wildcard {
                return Err("a wildcard is not allowed here: name one host".into());
            }
            if labels.len() < 3 {
                return Err(
                    "a wildcard needs at least two labels after it (`*.example.com`)".into(),
                );
            }
            continue;
        }
        check_label(label)?;
    }
    if labels.last().is_some_and(|last| is_number(last)) {
        return Err(
            "the last label is a number: browsers and resolvers read such a name as an IPv4 \
             address (`1234` is 0.0.4.210), not a host name; use the IP address itself or a \
             name with a letter in its last label"
                .into(),
        );
    }
    Ok(())
}

/// Whether a label is a number as the WHATWG URL host parser's "ends in a number" check reads
/// it (decimal digits, or `0x` and hex digits): a host name ending in one is parsed as an IPv4
/// address, so a certificate for it would never match.
fn is_number(label: &str) -> bool {
    let hex = label
        .strip_prefix("0x")
        .or_else(|| label.strip_prefix("0X"));
    match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("empty label (two dots in a row, or a leading dot)".into());
    }
    if label.len() > 63 {
        return Err(format!(
            "label `{label}` has {} characters, the limit is 63",
            label.len()
        ));
    }
    if label.contains('*') {
        return Err(format!(
            "`*` in `{label}`: a wildcard must be the whole leftmost label"
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "`{}` is not allowed in a host name: use letters, digits and hyphens",
            c.escape_default()
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("label `{label}` starts or ends with a hyphen"));
    }
    // Byte slicing cannot split a character: the label is ASCII (checked above).
    if label.len() >= 4 && label[2..4] == *"--" && !label[..2].eq_ignore_ascii_case("xn") {
        return Err(format!(
            "label `{label}` has `--` in positions 3-4, reserved for IDNA `xn--` labels"
        ));
    }
    if let Some(encoded) = label
        .get(4..)
        .filter(|_| label[..4].eq_ignore_ascii_case("xn--"))
    {
        check_a_label(label, encoded)?;
    }
    Ok(())
}

/// Checks that an `xn--` label is an IDNA A-label ([RFC 5890 §2.3.2.1]): its Punycode
/// ([RFC 3492]) decodes, to a U-label with at least one non-ASCII character and none of the
/// characters IDNA2008 never allows (controls, white space, bidirectional controls, upper
/// case, full stops). The full IDNA2008 tables ([RFC 5892]) are not applied.
///
/// [RFC 5890 §2.3.2.1]: https://datatracker.ietf.org/doc/html/rfc5890#section-2.3.2.1
/// [RFC 3492]: https://datatracker.ietf.org/doc/html/rfc3492
/// [RFC 5892]: https://datatracker.ietf.org/doc/html/rfc5892
fn check_a_label(label: &str, encoded: &str) -> Result<(), String> {
    let not_a_label = |why: &str| {
        format!(
            "label `{label}` is not a valid IDNA A-label ({why}); write the internationalised \
             name with an IDNA tool (e.g. `idn2`) rather than by hand"
        )
    };
    // DNS is case-insensitive for ASCII: `XN--MNCHEN-3YA` is `xn--mnchen-3ya`.
    let decoded = punycode_decode(&encoded.to_ascii_lowercase())
        .ok_or_else(|| not_a_label("bad Punycode"))?;
    if decoded.iter().all(char::is_ascii) {
        return Err(not_a_label("it decodes to plain ASCII"));
    }
    if let Some(c) = decoded.iter().find(|c| {
        c.is_control()
            || c.is_whitespace()
            || c.is_uppercase()
            || matches!(
                c,
                '\u{3002}' | '\u{ff0e}' | '\u{ff61}' | '\u{061c}' | '\u{200e}' | '\u{200f}'
                    | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            )
    }) {
        return Err(not_a_label(&format!(
            "it decodes to `{}`, which a host name cannot hold",
            c.escape_default()
        )));
    }
    Ok(())
}

/// Punycode decoding ([RFC 3492 §6.2]) of the part of an A-label after `xn--`; `None` if it is
/// not valid Punycode (bad digit, overflow, a basic or invalid code point as a delta).
///
/// [RFC 3492 §6.2]: https://datatracker.ietf.org/doc/html/rfc3492#section-6.2
fn punycode_decode(input: &str) -> Option<Vec<char>> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    let (basic, extended) = match input.rfind('-') {
        Some(at) => (input.get(..at)?, input.get(at + 1..)?),
        None => ("", input),
    };
    let mut output: Vec<char> = basic.chars().collect();
    if !output.iter().all(char::is_ascii) {
        return None;
    }
    let (mut n, mut i, mut bias) = (0x80u32, 0u32, 72u32);
    let mut digits = extended.bytes().peekable();
    while digits.peek().is_some() {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let digit = match digits.next()? {
                b @ b'a'..=b'z' => u32::from(b - b'a'),
                b @ b'A'..=b'Z' => u32::from(b - b'A'),
                b @ b'0'..=b'9' => u32::from(b - b'0') + 26,
                _ => return None,
            };
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = if k <= bias {
                T_MIN
            } else if k >= bias + T_MAX {
                T_MAX
            } else {
                k - bias
            };
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k = k.checked_add(BASE)?;
        }
        let points = u32::try_from(output.len()).ok()?.checked_add(1)?;
        bias = adapt(i - old_i, points, old_i == 0);
        n = n.checked_add(i / points)?;
        i %= points;
        let c = char::from_u32(n).filter(|c| !c.is_ascii())?;
        output.insert(usize::try_from(i).ok()?, c);
        i += 1;
    }
    Some(output)
}

/// Bias adaptation ([RFC 3492 §6.1]).
///
/// [RFC 3492 §6.1]: https://datatracker.ietf.org/doc/html/rfc3492#section-6.1
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + ((BASE - T_MIN + 1) * delta) / (delta + 38)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_ip_addresses_have_4_or_16_bytes() {
        assert_eq!(ip_from_san(&[192, 0, 2, 1]), "192.0.2.1".parse().ok());
        let v6 = "2001:db8::1".parse::<IpAddr>().unwrap();
        let IpAddr::V6(octets) = v6 else { panic!() };
        assert_eq!(ip_from_san(&octets.octets()), Some(v6));
        assert_eq!(ip_from_san(&[1, 2, 3]), None);
        assert_eq!(ip_from_san(&[0; 5]), None);
    }

    #[test]
    fn accepts_server_names() {
        for ok in [
            "www.example.com",
            "intranet",
            "a-b.example",
            "xn--bcher-kva.example",
            "WWW.Example.COM",
            "1.example.com",
            "host1",
            "0xfood",
            "123.example",
            "0x1f.example",
        ] {
            assert_eq!(check_host_name(ok, false), Ok(()), "{ok}");
        }
        assert_eq!(check_host_name("*.example.com", true), Ok(()));
    }

    #[test]
    fn punycode_decodes_rfc_3492_examples() {
        let decode = |s: &str| punycode_decode(s).map(|v| v.into_iter().collect::<String>());
        assert_eq!(decode("bcher-kva").as_deref(), Some("bücher"));
        assert_eq!(decode("mnchen-3ya").as_deref(), Some("münchen"));
        // RFC 3492 §7.1 (A) Arabic (Egyptian) and (L) Japanese.
        assert_eq!(
            decode("egbpdaj6bu4bxfgehfvwxn").as_deref(),
            Some(
                "\u{0644}\u{064A}\u{0647}\u{0645}\u{0627}\u{0628}\u{062A}\u{0643}\u{0644}\u{0645}\u{0648}\u{0634}\u{0639}\u{0631}\u{0628}\u{064A}\u{061F}"
            )
        );
        assert_eq!(
            decode("3B-ww4c5e180e575a65lsy2b").as_deref(),
            Some("3\u{5e74}B\u{7d44}\u{91d1}\u{516b}\u{5148}\u{751f}")
        );
        assert_eq!(decode("ab-").as_deref(), Some("ab"));
        // Invalid: a non-digit, and deltas that overflow.
        assert_eq!(decode("a_b"), None);
        assert_eq!(decode("99999999999"), None);
    }

    #[test]
    fn a_labels_must_be_valid_punycode_of_a_u_label() {
        for ok in [
            "xn--bcher-kva.example",
            "XN--MNCHEN-3YA.example",
            "www.xn--mnchen-3ya.de",
        ] {
            assert_eq!(check_host_name(ok, false), Ok(()), "{ok}");
        }
        for bad in [
            "xn--a.example",           // decodes to U+0080, a control character
            "xn--99999999999.example", // overflows
            "xn--bcher-kvA9999999.example",
            "xn--bcher-2pa.example", // decodes to `bÜcher`: a U-label is lower case
            "xn--tda680n.example",   // decodes to `ü` and U+202E
        ] {
            let err = check_host_name(bad, false).unwrap_err();
            assert!(err.contains("A-label"), "{bad}: {err}");
        }
    }

    #[test]
    fn refuses_bad_names_with_reasons() {
        for bad in [
            "",
            "bücher.example",
            "www..example.com",
            ".example.com",
            "example.com.",
            "-a.example",
            "a-.example",
            "a_b.example",
            "ab--cd.example",
            "www.*.example.com",
            "w*.example.com",
            "192.0.2.1",
            "a b",
            "tab\there",
            // Single labels and last labels that are numbers are IPv4 addresses to a browser.
            "1234",
            "0",
            "0x7f000001",
            "0X7F",
            "0x",
            "www.0x1f",
            "host.123",
        ] {
            assert!(check_host_name(bad, true).is_err(), "{bad:?} accepted");
        }
        assert!(check_host_name("*.example.com", false).is_err());
        assert!(check_host_name("*.com", true).is_err());
        assert!(check_host_name(&"a".repeat(64), false).is_err());
        let long = ["a".repeat(63).as_str(); 4].join(".") + ".ab";
        assert!(long.len() > MAX_HOST_LEN);
        assert!(check_host_name(&long, false).unwrap_err().contains("253"));
    }
}
