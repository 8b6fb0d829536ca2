//! PEM and DER input handling shared by keys, requests and certificates, and the one way PEM
//! is written: `\n` line endings, as OpenSSL writes it on every platform.
//!
//! PEM input may carry explanatory text before, between and after the blocks
//! ([RFC 7468 §2]); we find the `-----BEGIN` line ourselves (through the `pem` crate, which
//! skips text before a block) and check the label. Sizes are bounded before any decoding.
//!
//! [RFC 7468 §2]: https://datatracker.ietf.org/doc/html/rfc7468#section-2

use zeroize::Zeroizing;

use crate::error::{EncodingError, Result};

/// Upper bound on one DER object (key, request or certificate) we accept: 64 KiB.
///
/// A 16384-bit RSA private key in PKCS#8 is under 10 KiB; real certificates are a few KiB.
pub(crate) const MAX_DER_LEN: usize = 64 * 1024;

/// Upper bound on PEM text (a bundle of several certificates): 1 MiB.
pub(crate) const MAX_PEM_LEN: usize = 1024 * 1024;

/// One decoded PEM block; contents are zeroized on drop, since they may be a private key.
pub(crate) struct PemBlock {
    pub(crate) label: String,
    pub(crate) der: Zeroizing<Vec<u8>>,
}

/// `der` as one PEM block labelled `label`, with `\n` line endings (the `pem` crate's default
/// is `\r\n`).
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Checks the size of DER input before decoding it.
pub(crate) fn check_der_len(what: &'static str, der: &[u8]) -> Result<()> {
    check_size(what, der.is_empty(), der.len(), MAX_DER_LEN)
}

/// [`pem_single`] for a private key: the same checks and errors, but the base64 text and the
/// DER are decoded into zeroizing buffers only. (The `pem` crate collects the base64 text
/// into a `String` of its own, which is never zeroized: for a private key, the key itself.)
pub(crate) fn pem_single_secret(
    what: &'static str,
    accepted: &[&str],
    input: &str,
) -> Result<PemBlock> {
    let expected = accepted.join("` or `");
    check_pem_text(what, &expected, input)?;
    let (label, body) = only_block(what, accepted, scan_blocks(input)?, |b| b.0)?;
    let mut text = Zeroizing::new(String::with_capacity(body.len()));
    text.extend(body.chars().filter(|c| !c.is_whitespace()));
    let der = Zeroizing::new(
        <base64ct::Base64 as base64ct::Encoding>::decode_vec(&text).map_err(|e| {
            EncodingError::MalformedPem {
                reason: format!("the base64 text does not decode ({e})"),
            }
        })?,
    );
    check_der_len(what, &der)?;
    Ok(PemBlock {
        label: label.to_owned(),
        der,
    })
}

/// The `(label, base64 body)` of every block in `input`: a `-----BEGIN label-----` line, the
/// lines up to the matching `-----END label-----` line; text outside blocks is skipped.
fn scan_blocks(input: &str) -> Result<Vec<(&str, &str)>> {
    let mut blocks = Vec::new();
    let mut rest = input;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let line_end = after.find('\n').unwrap_or(after.len());
        let line = after[..line_end].trim_end();
        let Some(label) = line.strip_suffix("-----") else {
            return Err(EncodingError::MalformedPem {
                reason: "a `-----BEGIN` line does not end with `-----`".into(),
            }
            .into());
        };
        let body_and_rest = after.get(line_end + 1..).unwrap_or("");
        let end_line = format!("-----END {label}-----");
        let Some(end) = body_and_rest.find(&end_line) else {
            return Err(EncodingError::MalformedPem {
                reason: "a `-----BEGIN` line has no matching `-----END` line".into(),
            }
            .into());
        };
        blocks.push((label, &body_and_rest[..end]));
        rest = &body_and_rest[end + end_line.len()..];
    }
    Ok(blocks)
}

/// The checks before any PEM decoding: not empty, not too large, holds a `-----BEGIN` line.
fn check_pem_text(what: &'static str, expected: &str, input: &str) -> Result<()> {
    check_size(what, input.trim().is_empty(), input.len(), MAX_PEM_LEN)?;
    if !input.contains("-----BEGIN ") {
        return Err(EncodingError::NoPemBlock {
            expected: expected.to_owned(),
        }
        .into());
    }
    Ok(())
}

/// Refuses `empty` input ([`EncodingError::Empty`]) and input of more than `limit` bytes
/// ([`EncodingError::TooLarge`]).
fn check_size(what: &'static str, empty: bool, len: usize, limit: usize) -> Result<()> {
    if empty {
        return Err(EncodingError::Empty { what }.into());
    }
    if len > limit {
        return Err(EncodingError::TooLarge { what, len, limit }.into());
    }
    Ok(())
}

/// All PEM blocks in `input`, in order, with any explanatory text skipped.
pub(crate) fn pem_blocks(what: &'static str, expected: &str, input: &str) -> Result<Vec<PemBlock>> {
    check_pem_text(what, expected, input)?;
    let blocks = pem::parse_many(input).map_err(|e| EncodingError::MalformedPem {
        reason: e.to_string(),
    })?;
    if blocks.is_empty() {
        return Err(EncodingError::MalformedPem {
            reason: "a `-----BEGIN` line has no matching `-----END` line".into(),
        }
        .into());
    }
    blocks
        .into_iter()
        .map(|p| {
            let label = p.tag().to_owned();
            let der = Zeroizing::new(p.into_contents());
            check_der_len(what, &der)?;
            Ok(PemBlock { label, der })
        })
        .collect()
}

/// The one PEM block in `input` whose label is one of `accepted`.
///
/// Text around the block is allowed; a second block, or a block with another label, is an error
/// that names what was found.
pub(crate) fn pem_single(what: &'static str, accepted: &[&str], input: &str) -> Result<PemBlock> {
    let expected = accepted.join("` or `");
    let blocks = pem_blocks(what, &expected, input)?;
    only_block(what, accepted, blocks, |b| b.label.as_str())
}

/// The one block of `blocks`, if its label (`label` reads it) is one of `accepted`: none, a
/// second one or another label is an error that names what was found.
fn only_block<T>(
    what: &'static str,
    accepted: &[&str],
    mut blocks: Vec<T>,
    label: impl Fn(&T) -> &str,
) -> Result<T> {
    let expected = accepted.join("` or `");
    if blocks.len() > 1 {
        return Err(EncodingError::MalformedPem {
            reason: format!(
                "found {} PEM blocks where one {what} was expected; pass one block",
                blocks.len()
            ),
        }
        .into());
    }
    let Some(block) = blocks.pop() else {
        return Err(EncodingError::NoPemBlock { expected }.into());
    };
    if !accepted.contains(&label(&block)) {
        return Err(EncodingError::WrongPemLabel {
            found: label(&block).to_owned(),
            expected: format!("`{expected}`"),
        }
        .into());
    }
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn finds_block_among_explanatory_text() {
        let input =
            "Subject: test\nsome text\n-----BEGIN THING-----\nAQID\n-----END THING-----\ntrailer\n";
        let block = pem_single("thing", &["THING"], input).unwrap();
        assert_eq!(block.label, "THING");
        assert_eq!(&block.der[..], &[1, 2, 3]);
    }

    /// The private-key decoder (zeroizing buffers, no `pem` crate) answers as `pem_single`
    /// does, block, label and error kind.
    #[test]
    fn the_secret_decoder_agrees_with_pem_single() {
        let inputs = [
            "Subject: test\nsome text\n-----BEGIN THING-----\nAQID\n-----END THING-----\ntrailer\n",
            "-----BEGIN THING-----\r\nAQ\r\nID\r\n-----END THING-----\r\n",
            "-----BEGIN THING-----\nAQID\n-----END THING-----",
            "-----BEGIN OTHER-----\nAQID\n-----END OTHER-----\n",
            "-----BEGIN THING-----\nAQID\n-----END THING-----\n-----BEGIN THING-----\nAQID\n-----END THING-----\n",
            "-----BEGIN THING-----\nAQID\n",
            "-----BEGIN THING-----\nA?ID\n-----END THING-----\n",
            "hello",
            "",
        ];
        let kind = |r: &Result<PemBlock>| match r {
            Ok(b) => format!("ok {} {:?}", b.label, &b.der[..]),
            Err(Error::Encoding(e)) => format!("{:?}", std::mem::discriminant(e)),
            Err(e) => format!("other {e}"),
        };
        for input in inputs {
            assert_eq!(
                kind(&pem_single_secret("thing", &["THING"], input)),
                kind(&pem_single("thing", &["THING"], input)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn wrong_label_and_missing_block_are_typed() {
        let input = "-----BEGIN OTHER-----\nAQID\n-----END OTHER-----\n";
        assert!(matches!(
            pem_single("thing", &["THING"], input),
            Err(Error::Encoding(EncodingError::WrongPemLabel { .. }))
        ));
        assert!(matches!(
            pem_single("thing", &["THING"], "hello"),
            Err(Error::Encoding(EncodingError::NoPemBlock { .. }))
        ));
        assert!(matches!(
            pem_single("thing", &["THING"], ""),
            Err(Error::Encoding(EncodingError::Empty { .. }))
        ));
        assert!(matches!(
            pem_single("thing", &["THING"], "-----BEGIN THING-----\nAQID\n"),
            Err(Error::Encoding(EncodingError::MalformedPem { .. }))
        ));
    }
}
