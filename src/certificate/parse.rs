//! Reading certificates from the forms CAs send them in: DER, PEM bundles, PKCS#7
//! "certs-only" files; telling a request or a private key apart from a certificate; and the
//! byte ranges of the signed part and of the public key in a certificate's DER.

use std::ops::Range;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911;
use der::{Decode, Header, Reader, SliceReader, Tag, TagNumber};

use super::{Certificate, MAX_CERTIFICATES};
use crate::encoding::{self, PemBlock};
use crate::error::{CertificateError, EncodingError, Result};

/// Largest DER PKCS#7 input [`Certificate::parse_any`] reads: 1 MiB.
const MAX_PKCS7_LEN: usize = encoding::MAX_PEM_LEN;

/// PEM labels of a certificate ([RFC 7468 §5.1]; `X509 CERTIFICATE` is a legacy alias).
///
/// [RFC 7468 §5.1]: https://datatracker.ietf.org/doc/html/rfc7468#section-5.1
const CERTIFICATE_LABELS: [&str; 2] = ["CERTIFICATE", "X509 CERTIFICATE"];

/// PEM labels of PKCS#7 / CMS data ([RFC 7468 §8]).
///
/// [RFC 7468 §8]: https://datatracker.ietf.org/doc/html/rfc7468#section-8
const PKCS7_LABELS: [&str; 2] = ["PKCS7", "CMS"];

/// PEM labels of certificate requests ([RFC 7468 §7]).
///
/// [RFC 7468 §7]: https://datatracker.ietf.org/doc/html/rfc7468#section-7
const REQUEST_LABELS: [&str; 2] = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];

pub(super) fn check_count(count: usize) -> Result<()> {
    if count > MAX_CERTIFICATES {
        return Err(CertificateError::TooMany {
            count,
            limit: MAX_CERTIFICATES,
        }
        .into());
    }
    Ok(())
}

pub(super) fn non_empty(certs: Vec<Certificate>, hint: &str) -> Result<Vec<Certificate>> {
    if certs.is_empty() {
        return Err(CertificateError::NoCertificate { hint: hint.into() }.into());
    }
    Ok(certs)
}

/// The certificates of one PEM block, refusing anything that is not certificates.
pub(super) fn from_pem_block(block: &PemBlock) -> Result<Vec<Certificate>> {
    let label = block.label.as_str();
    if CERTIFICATE_LABELS.contains(&label) {
        return Ok(vec![Certificate::from_der(&block.der)?]);
    }
    if PKCS7_LABELS.contains(&label) {
        return pkcs7_certificates(&block.der);
    }
    if REQUEST_LABELS.contains(&label) {
        return Err(CertificateError::IsRequest.into());
    }
    if label.ends_with("PRIVATE KEY") {
        return Err(CertificateError::IsPrivateKey.into());
    }
    if label.ends_with("PUBLIC KEY") {
        return Err(CertificateError::NoCertificate {
            hint: "the PEM holds a public key; a certificate is a `CERTIFICATE` block signed by \
                   a certificate authority"
                .into(),
        }
        .into());
    }
    Err(EncodingError::WrongPemLabel {
        found: label.to_owned(),
        expected: "`CERTIFICATE` or `PKCS7`".into(),
    }
    .into())
}

/// What a DER object is, told from its first tags only (so truncated input is still named).
#[derive(Debug, PartialEq, Eq)]
enum DerShape {
    /// `SEQUENCE { SEQUENCE {...}, SEQUENCE, BIT STRING }`: certificate or request.
    Signed,
    /// `SEQUENCE { INTEGER, ... }`: PKCS#8, PKCS#1 or SEC1 private key.
    PrivateKey,
    /// `SEQUENCE { SEQUENCE { OID ... }, OCTET STRING }`: encrypted PKCS#8.
    EncryptedPrivateKey,
    /// `SEQUENCE { SEQUENCE { OID ... }, BIT STRING }`: SubjectPublicKeyInfo.
    PublicKey,
    /// `SEQUENCE { OID, [0] ... }`: PKCS#7 / CMS ContentInfo.
    ContentInfo,
    /// Anything else.
    Unknown,
}

pub(super) fn parse_der_any(der: &[u8]) -> Result<Vec<Certificate>> {
    if der.len() > MAX_PKCS7_LEN {
        return Err(EncodingError::TooLarge {
            what: "certificate",
            len: der.len(),
            limit: MAX_PKCS7_LEN,
        }
        .into());
    }
    if der.get(1) == Some(&INDEFINITE_LENGTH) {
        return Err(ber_refused());
    }
    match der_shape(der) {
        DerShape::PrivateKey | DerShape::EncryptedPrivateKey => {
            Err(CertificateError::IsPrivateKey.into())
        }
        DerShape::PublicKey => Err(CertificateError::NoCertificate {
            hint: "the input is a bare public key; a certificate is signed by a certificate \
                   authority"
                .into(),
        }
        .into()),
        DerShape::ContentInfo => pkcs7_certificates(der),
        DerShape::Signed | DerShape::Unknown => match Certificate::from_der(der) {
            Ok(cert) => Ok(vec![cert]),
            Err(err) => {
                if x509_cert::request::CertReq::from_der(der).is_ok() {
                    Err(CertificateError::IsRequest.into())
                } else {
                    Err(err)
                }
            }
        },
    }
}

/// The length octet that starts a BER indefinite length ([X.690 §8.1.3.6]); DER forbids it.
///
/// [X.690 §8.1.3.6]: https://www.itu.int/rec/T-REC-X.690
const INDEFINITE_LENGTH: u8 = 0x80;

/// The error for BER input: PKCS#7 files written by streaming tools (`openssl cms -stream`,
/// some Java and Windows exports) use indefinite lengths, which a DER reader cannot follow.
fn ber_refused() -> crate::Error {
    CertificateError::Invalid {
        reason: "the input uses BER indefinite lengths (as PKCS#7 files written by streaming \
                 tools do), not DER; re-encode it with `openssl cms -cmsout -in FILE -inform \
                 DER -outform DER -out chain.p7b` (`-inform PEM` for a text file) and pass \
                 chain.p7b"
            .into(),
    }
    .into()
}

fn der_shape(der: &[u8]) -> DerShape {
    /// The tags of the first two children of the SEQUENCE at the start of `bytes`, and the
    /// first child's own first child tag, read leniently (lengths may run past the end).
    fn peek(bytes: &[u8]) -> Option<(u8, Option<u8>, Option<u8>)> {
        let (outer_hl, _) = header_lens(bytes)?;
        let body = bytes.get(outer_hl..)?;
        let first = *body.first()?;
        let (first_hl, first_len) = header_lens(body)?;
        let grandchild = body.get(first_hl).copied();
        let second = body.get(first_hl.checked_add(first_len)?).copied();
        Some((first, grandchild, second))
    }
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OID: u8 = 0x06;
    const BIT_STRING: u8 = 0x03;
    const OCTET_STRING: u8 = 0x04;
    if der.first() != Some(&SEQUENCE) {
        return DerShape::Unknown;
    }
    match peek(der) {
        Some((INTEGER, _, _)) => DerShape::PrivateKey,
        Some((OID, _, _)) => DerShape::ContentInfo,
        Some((SEQUENCE, Some(OID), Some(OCTET_STRING))) => DerShape::EncryptedPrivateKey,
        Some((SEQUENCE, Some(OID), Some(BIT_STRING))) => DerShape::PublicKey,
        Some((SEQUENCE, _, _)) => DerShape::Signed,
        _ => DerShape::Unknown,
    }
}

/// Header length and value length of the TLV at the start of `bytes` (short or long form
/// length, at most 4 length bytes); the value may extend past the end of `bytes`.
fn header_lens(bytes: &[u8]) -> Option<(usize, usize)> {
    let first_len = *bytes.get(1)?;
    if first_len < 0x80 {
        return Some((2, usize::from(first_len)));
    }
    let n = usize::from(first_len & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = bytes
        .get(2..2 + n)?
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((2 + n, len))
}

/// The certificates of a PKCS#7 / CMS "certs-only" message ([RFC 5652 §5.1], [RFC 2315 §9.1]),
/// each kept as its original bytes.
///
/// ```text
/// ContentInfo ::= SEQUENCE {
///   contentType ContentType,                 -- id-signedData 1.2.840.113549.1.7.2
///   content [0] EXPLICIT ANY DEFINED BY contentType }
///
/// SignedData ::= SEQUENCE {
///   version CMSVersion,
///   digestAlgorithms DigestAlgorithmIdentifiers,
///   encapContentInfo EncapsulatedContentInfo,
///   certificates [0] IMPLICIT CertificateSet OPTIONAL,
///   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
///   signerInfos SignerInfos }
///
/// CertificateChoices ::= CHOICE {
///   certificate Certificate,                 -- the only choice read; others are skipped
///   extendedCertificate [0] IMPLICIT ExtendedCertificate,
///   v1AttrCert [1] IMPLICIT AttributeCertificateV1,
///   v2AttrCert [2] IMPLICIT AttributeCertificateV2,
///   other [3] IMPLICIT OtherCertificateFormat }
/// ```
///
/// The signerInfos (empty in a certs-only message) are not checked: the certificates carry
/// their own signatures, checked when a chain is built.
///
/// [RFC 5652 §5.1]: https://datatracker.ietf.org/doc/html/rfc5652#section-5.1
/// [RFC 2315 §9.1]: https://datatracker.ietf.org/doc/html/rfc2315#section-9.1
fn pkcs7_certificates(der: &[u8]) -> Result<Vec<Certificate>> {
    let malformed = |e: der::Error| -> crate::Error {
        if e.kind() == der::ErrorKind::IndefiniteLength {
            ber_refused()
        } else {
            EncodingError::der("PKCS#7 certificate bundle", e).into()
        }
    };
    let mut reader = SliceReader::new(der).map_err(malformed)?;
    let raw: Vec<&[u8]> = reader
        .sequence(|content_info| {
            let content_type = ObjectIdentifier::decode(content_info)?;
            if content_type != rfc5911::ID_SIGNED_DATA {
                while !content_info.is_finished() {
                    content_info.tlv_bytes()?;
                }
                return Ok(Err(content_type));
            }
            let header = Header::decode(content_info)?;
            expect_context(header, 0, true)?;
            content_info.read_nested(header.length(), |explicit| {
                explicit.sequence(|signed_data| {
                    signed_data.tlv_bytes()?; // version
                    signed_data.tlv_bytes()?; // digestAlgorithms
                    signed_data.tlv_bytes()?; // encapContentInfo
                    let mut certs = Vec::new();
                    if Tag::peek(signed_data)? == TagNumber(0).context_specific(true) {
                        let header = Header::decode(signed_data)?;
                        signed_data.read_nested(header.length(), |set| {
                            while !set.is_finished() {
                                let tag = Tag::peek(set)?;
                                let tlv = set.tlv_bytes()?;
                                if tag == Tag::Sequence {
                                    certs.push(tlv);
                                }
                            }
                            Ok::<_, der::Error>(())
                        })?;
                    }
                    if Tag::peek(signed_data)? == TagNumber(1).context_specific(true) {
                        signed_data.tlv_bytes()?; // crls
                    }
                    Tag::peek(signed_data)?.assert_eq(Tag::Set)?;
                    signed_data.tlv_bytes()?; // signerInfos
                    Ok(Ok(certs))
                })
            })
        })
        .map_err(malformed)?
        .map_err(|oid| CertificateError::Invalid {
            reason: format!(
                "the PKCS#7 data is of content type {oid}, not signedData \
                 (1.2.840.113549.1.7.2); export the certificates as a .p7b or PEM bundle"
            ),
        })?;
    reader.finish().map_err(malformed)?;
    check_count(raw.len())?;
    let certs = raw
        .into_iter()
        .map(Certificate::from_der)
        .collect::<Result<Vec<_>>>()?;
    non_empty(
        certs,
        "the PKCS#7 bundle holds no certificate; export it again with the certificate chain \
         included, or pass the certificates as PEM",
    )
}

fn expect_context(header: Header, number: u32, constructed: bool) -> der::Result<()> {
    header
        .tag()
        .assert_eq(TagNumber(number).context_specific(constructed))
        .map(|_| ())
}

/// Byte ranges of the TBSCertificate and of its subjectPublicKeyInfo in a certificate that
/// already decoded.
///
/// ```text
/// TBSCertificate  ::=  SEQUENCE  {
///      version         [0]  EXPLICIT Version DEFAULT v1,
///      serialNumber         CertificateSerialNumber,
///      signature            AlgorithmIdentifier,
///      issuer               Name,
///      validity             Validity,
///      subject              Name,
///      subjectPublicKeyInfo SubjectPublicKeyInfo,
///      ... }
/// ```
pub(super) fn tbs_and_spki_ranges(der: &[u8]) -> Result<(Range<usize>, Range<usize>)> {
    let malformed = |e: der::Error| EncodingError::der("certificate", e);
    let mut reader = SliceReader::new(der).map_err(malformed)?;
    let (tbs, spki) = reader
        .sequence(|cert| {
            let tbs_start = offset(cert);
            let tbs_header = Header::decode(cert)?;
            tbs_header.tag().assert_eq(Tag::Sequence)?;
            let spki = cert.read_nested(tbs_header.length(), |tbs| {
                if Tag::peek(tbs)? == TagNumber(0).context_specific(true) {
                    tbs.tlv_bytes()?; // version
                }
                for _field in ["serial", "signature", "issuer", "validity", "subject"] {
                    tbs.tlv_bytes()?;
                }
                let start = offset(tbs);
                let len = tbs.tlv_bytes()?.len();
                // Skip the optional unique identifiers and extensions.
                while !tbs.is_finished() {
                    tbs.tlv_bytes()?;
                }
                Ok::<_, der::Error>(start..start.saturating_add(len))
            })?;
            let tbs_end = offset(cert);
            cert.tlv_bytes()?; // signatureAlgorithm
            cert.tlv_bytes()?; // signatureValue
            Ok::<_, der::Error>((tbs_start..tbs_end, spki))
        })
        .map_err(malformed)?;
    reader.finish().map_err(malformed)?;
    Ok((tbs, spki))
}

/// The reader's absolute position in its input (`usize::MAX` where a `u32` does not fit a
/// `usize`; the ranges built from it then select nothing, and are read with `get`, never
/// indexed, so a bad position is an empty slice rather than a panic).
fn offset<'a>(reader: &impl Reader<'a>) -> usize {
    usize::try_from(reader.position()).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lens_reads_short_and_long_forms() {
        assert_eq!(header_lens(&[0x30, 0x05]), Some((2, 5)));
        assert_eq!(header_lens(&[0x30, 0x81, 0xff]), Some((3, 255)));
        assert_eq!(header_lens(&[0x30, 0x82, 0x01, 0x00]), Some((4, 256)));
        assert_eq!(header_lens(&[0x30, 0x80]), None);
        assert_eq!(header_lens(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(header_lens(&[0x30]), None);
    }

    #[test]
    fn der_shapes_are_told_apart() {
        // SEQUENCE { INTEGER 0 }
        assert_eq!(
            der_shape(&[0x30, 0x03, 0x02, 0x01, 0x00]),
            DerShape::PrivateKey
        );
        // SEQUENCE { OID 1.2 }
        assert_eq!(
            der_shape(&[0x30, 0x03, 0x06, 0x01, 0x2a]),
            DerShape::ContentInfo
        );
        // SEQUENCE { SEQUENCE { OID }, OCTET STRING }
        let enc = [0x30, 0x07, 0x30, 0x03, 0x06, 0x01, 0x2a, 0x04, 0x00];
        assert_eq!(der_shape(&enc), DerShape::EncryptedPrivateKey);
        let spki = [0x30, 0x07, 0x30, 0x03, 0x06, 0x01, 0x2a, 0x03, 0x00];
        assert_eq!(der_shape(&spki), DerShape::PublicKey);
        // SEQUENCE { SEQUENCE { [0] ...
        assert_eq!(
            der_shape(&[0x30, 0x04, 0x30, 0x02, 0xa0, 0x00]),
            DerShape::Signed
        );
        assert_eq!(der_shape(&[0x04, 0x00]), DerShape::Unknown);
        assert_eq!(der_shape(&[0x30]), DerShape::Unknown);
    }
}
