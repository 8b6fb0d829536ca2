//! DNS host names as a server is named: in a common name, a subjectAltName, an SNI binding.
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

/// Longest host name, in characters, without the trailing dot.
pub(crate) const MAX_HOST_LEN: usize = 253;

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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
