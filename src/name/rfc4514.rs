//! [RFC 4514] strings: [`DistinguishedName`]'s `Display` and `FromStr`, the escaping of values,
//! and the parser.
//!
//! [RFC 4514]: https://datatracker.ietf.org/doc/html/rfc4514

use std::fmt::{self, Write as _};
use std::str::FromStr;

use der::Decode;
use der::asn1::Any;
use x509_cert::name::Name;

use super::attribute::is_bidi_control;
use super::der::decode_value;
use super::{Attribute, AttributeKind, DistinguishedName};
use crate::error::{Error, NameError, Result};

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

/// Writes `TYPE=value`, the value escaped as RFC 4514 §2.4 says.
impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.short_name())?;
        f.write_char('=')?;
        write_escaped(f, &self.value)
    }
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

/// Writes `value` escaped as RFC 4514 §2.4 says, plus `=`.
pub(super) fn write_escaped(f: &mut impl fmt::Write, value: &str) -> fmt::Result {
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
