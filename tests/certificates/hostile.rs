//! Hostile DER: deep nesting, lengths past the end, indefinite (BER) lengths, huge counts and
//! empty elements. Each gives a typed error quickly and never panics.

use std::time::Duration;

use keymanager::error::{CertificateError, EncodingError};
use keymanager::{Certificate, Error};

use crate::common;
use common::ca::TestCa;
use common::der_edit::{sequence, tlv};
use common::openssl::openssl_with_files;

const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];

/// A PKCS#7 ContentInfo / SignedData whose `certificates` field is the TLV `certificates`.
fn p7(certificates: Vec<u8>) -> Vec<u8> {
    sequence(&[
        tlv(0x06, SIGNED_DATA),
        tlv(
            0xa0,
            &sequence(&[
                tlv(0x02, &[1]),
                tlv(0x31, &[]),
                sequence(&[tlv(0x06, DATA)]),
                certificates,
                tlv(0x31, &[]),
            ]),
        ),
    ])
}

fn nested(depth: usize, tag: u8) -> Vec<u8> {
    (0..depth).fold(Vec::new(), |inner, _| tlv(tag, &inner))
}

/// `parse_any` on `input` fails without a panic, with a short message; returns the error.
fn refused(what: &str, input: &[u8]) -> Error {
    let result = Certificate::parse_any(input);
    let err = result.expect_err(what);
    let text = err.to_string();
    assert!(
        text.len() < 1024,
        "{what}: error message of {} bytes",
        text.len()
    );
    err
}

fn is_malformed_der(err: &Error) -> bool {
    matches!(err, Error::Encoding(EncodingError::MalformedDer { .. }))
}

#[test]
fn deep_nesting_is_refused() {
    for tag in [0x30, 0x31, 0xa0, 0xa3] {
        let deep = nested(10_000, tag);
        let err = refused("deeply nested", &deep);
        assert!(
            is_malformed_der(&err) || matches!(err, Error::Certificate(_)),
            "{err:?}"
        );
        // Only SEQUENCE elements are certificates; other choices are skipped.
        let err = refused(
            "deeply nested in the certificates field",
            &p7(tlv(0xa0, &deep)),
        );
        assert!(
            is_malformed_der(&err)
                || matches!(
                    err,
                    Error::Certificate(CertificateError::NoCertificate { .. })
                ),
            "{err:?}"
        );
        let err = refused(
            "deeply nested certificate",
            &p7(tlv(0xa0, &nested(10_000, 0x30))),
        );
        assert!(is_malformed_der(&err), "{err:?}");
    }
    // In PEM too.
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", nested(10_000, 0x30)));
    assert!(is_malformed_der(
        &Certificate::chain_from_pem(&pem).unwrap_err()
    ));
}

#[test]
fn lengths_past_the_end_are_refused() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "4-byte length",
            vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00],
        ),
        ("8-byte length", {
            let mut v = vec![0x30, 0x88];
            v.extend([0xff; 8]);
            v.extend([0x30, 0x00]);
            v
        }),
        ("127-byte length", {
            let mut v = vec![0x30, 0xff];
            v.extend([0xff; 127]);
            v
        }),
        ("length one past the end", vec![0x30, 0x03, 0x30, 0x01]),
        ("header only", vec![0x30, 0x82]),
        ("certificates field past the end", {
            let mut v = p7(tlv(0xa0, &[0x30, 0x00]));
            let at = v.windows(2).position(|w| w == [0xa0, 0x02]).unwrap();
            v[at + 1] = 0x7f;
            v
        }),
        (
            "element past the end of the certificates field",
            p7(tlv(0xa0, &[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff])),
        ),
        (
            "ContentInfo content past the end",
            sequence(&[
                tlv(0x06, SIGNED_DATA),
                vec![0xa0, 0x84, 0x7f, 0xff, 0xff, 0xff],
            ]),
        ),
    ];
    for (what, input) in cases {
        let err = refused(what, &input);
        assert!(is_malformed_der(&err), "{what}: {err:?}");
    }
}

#[test]
fn a_set_with_empty_or_odd_elements_is_refused() {
    // A zero-length SEQUENCE where a certificate should be.
    let err = refused("zero-length element", &p7(tlv(0xa0, &[0x30, 0x00])));
    assert!(is_malformed_der(&err), "{err:?}");
    // A zero-length element with the end-of-contents tag.
    let err = refused("end-of-contents element", &p7(tlv(0xa0, &[0x00, 0x00])));
    assert!(is_malformed_der(&err), "{err:?}");
    // An empty certificates field, and none at all: no certificate, said so.
    for input in [p7(tlv(0xa0, &[])), p7(tlv(0xa1, &[]))] {
        let err = refused("no certificates", &input);
        assert!(
            matches!(
                err,
                Error::Certificate(CertificateError::NoCertificate { .. })
            ),
            "{err:?}"
        );
    }
}

#[test]
fn huge_counts_are_refused_before_parsing() {
    // 10,000 (empty) certificates.
    let err = refused(
        "10,000 certificates",
        &p7(tlv(0xa0, &[0x30, 0x00].repeat(10_000))),
    );
    assert!(
        matches!(
            err,
            Error::Certificate(CertificateError::TooMany {
                count: 10_000,
                limit: 64
            })
        ),
        "{err:?}"
    );
    // 10,000 real certificates do not fit in the size limit.
    let ca = TestCa::with_options(common::ca::CaOptions {
        tag: "Hostile".into(),
        intermediate: false,
        ..Default::default()
    });
    let root = Certificate::from_pem(ca.root_pem()).unwrap();
    let err = refused(
        "10,000 real certificates",
        &p7(tlv(0xa0, &root.to_der().repeat(10_000))),
    );
    assert!(
        matches!(err, Error::Encoding(EncodingError::TooLarge { .. })),
        "{err:?}"
    );
    // 65 real ones do.
    let err = refused(
        "65 real certificates",
        &p7(tlv(0xa0, &root.to_der().repeat(65))),
    );
    assert!(
        matches!(
            err,
            Error::Certificate(CertificateError::TooMany { count: 65, .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        Certificate::parse_any(&p7(tlv(0xa0, &root.to_der().repeat(64))))
            .unwrap()
            .len(),
        64
    );
    // A PEM bundle of 65 certificates.
    let bundle = root.to_pem().repeat(65);
    assert!(matches!(
        Certificate::chain_from_pem(&bundle),
        Err(Error::Certificate(CertificateError::TooMany { .. }))
    ));
}

/// A streamed PKCS#7 (`openssl cms -sign -stream`) is BER with indefinite lengths: refused with
/// a message that says how to convert it, and following the advice works.
#[test]
fn ber_pkcs7_is_refused_with_a_conversion_hint() {
    let ca = TestCa::with_options(common::ca::CaOptions {
        tag: "BER".into(),
        intermediate: false,
        ..Default::default()
    });
    let (key, cert) = ca.issuer();
    for outform in ["DER", "PEM"] {
        let (_, ber) = openssl_with_files(
            &[
                ("data", b"hello"),
                ("k.pem", key.as_bytes()),
                ("c.pem", cert.as_bytes()),
            ],
            &[
                "cms", "-sign", "-in", "data", "-signer", "c.pem", "-inkey", "k.pem", "-stream",
                "-outform", outform, "-out", "x.p7",
            ],
            Some("x.p7"),
        );
        let err = refused("BER PKCS#7", &ber);
        let text = err.to_string();
        assert!(
            matches!(err, Error::Certificate(CertificateError::Invalid { .. })),
            "{outform}: {err:?}"
        );
        assert!(
            text.contains("BER") && text.contains("openssl cms -cmsout"),
            "{text}"
        );
        let (_, converted) = openssl_with_files(
            &[("x.p7", &ber)],
            &[
                "cms",
                "-cmsout",
                "-in",
                "x.p7",
                "-inform",
                outform,
                "-outform",
                "DER",
                "-out",
                "chain.p7b",
            ],
            Some("chain.p7b"),
        );
        let certs = Certificate::parse_any(&converted).unwrap();
        assert_eq!(
            certs,
            vec![Certificate::from_pem(cert).unwrap()],
            "{outform}"
        );
    }
}

/// A name attribute and a subjectAltName directoryName whose values are nested 5,000 deep:
/// read as opaque values (no recursive decoding), shown as hex, and chain building over them
/// does not overflow the stack.
#[test]
fn deeply_nested_values_inside_a_certificate() {
    let ca = TestCa::with_options(common::ca::CaOptions {
        tag: "Deep".into(),
        intermediate: false,
        ..Default::default()
    });
    let root = Certificate::from_pem(ca.root_pem()).unwrap();
    let der = root.to_der().to_vec();
    let parts = common::der_edit::children(&der);
    let mut fields = common::der_edit::children(&parts[0]);
    let deep = nested(5_000, 0x30);
    let name = sequence(&[tlv(
        0x31,
        &sequence(&[tlv(0x06, &[0x55, 0x04, 0x03]), deep.clone()]),
    )]);
    fields[3] = name.clone(); // issuer
    fields[5] = name.clone(); // subject
    // Replace the extensions with one subjectAltName holding a directoryName of that name.
    let san = sequence(&[
        tlv(0x06, &[0x55, 0x1d, 0x11]),
        tlv(0x04, &sequence(&[tlv(0xa4, &name)])),
    ]);
    let last = fields.len() - 1;
    assert_eq!(fields[last][0], 0xa3);
    fields[last] = tlv(0xa3, &sequence(&[san]));
    let edited = sequence(&[sequence(&fields), parts[1].clone(), parts[2].clone()]);
    let cert = Certificate::from_der(&edited).unwrap();
    assert!(
        cert.subject().starts_with("2.5.4.3=#3082"),
        "{}",
        &cert.subject()[..40]
    );
    assert!(cert.dns_names().is_empty());
    assert!(!cert.covers_host("www.example.com"));
    let _ = format!("{cert:?}");
    // Self-issued under the deep name, its (now wrong) self-signature breaks the link.
    assert!(cert.is_self_issued());
    let err = keymanager::Chain::build(vec![cert.clone()], &cert.fingerprint()).unwrap_err();
    assert!(
        matches!(err, Error::Certificate(CertificateError::BrokenLink { .. })),
        "{err:?}"
    );
}

/// A certificate whose subject and issuer are 24 KiB of organizational units: error messages
/// naming it, even many times over, and its `Debug` stay short.
#[test]
fn huge_names_are_cut_in_messages_and_debug() {
    let ca = TestCa::with_options(common::ca::CaOptions {
        tag: "Huge".into(),
        intermediate: false,
        ..Default::default()
    });
    let root = Certificate::from_pem(ca.root_pem()).unwrap();
    let der = root.to_der().to_vec();
    let parts = common::der_edit::children(&der);
    let mut fields = common::der_edit::children(&parts[0]);
    let rdns: Vec<Vec<u8>> = (0..1500)
        .map(|i| {
            tlv(
                0x31,
                &sequence(&[
                    tlv(0x06, &[0x55, 0x04, 0x0b]),
                    tlv(0x0c, format!("u{i:04}").as_bytes()),
                ]),
            )
        })
        .collect();
    let name = sequence(&rdns);
    fields[3] = name.clone();
    fields[5] = name;
    let cert = Certificate::from_der(&sequence(&[
        sequence(&fields),
        parts[1].clone(),
        parts[2].clone(),
    ]))
    .unwrap();
    assert!(cert.subject().len() > 10_000, "the accessor is complete");

    let debug = format!("{cert:?}");
    assert!(debug.len() < 1024, "Debug of {} bytes", debug.len());
    assert!(debug.contains("more characters"), "{debug}");

    // The altered self-signed certificate is a broken link to itself.
    let err = keymanager::Chain::build(vec![cert.clone()], &cert.fingerprint()).unwrap_err();
    assert!(matches!(
        err,
        Error::Certificate(CertificateError::BrokenLink { .. })
    ));
    assert!(
        err.to_string().len() < 2048,
        "{} bytes",
        err.to_string().len()
    );

    let far_future = cert.not_after() + Duration::from_secs(1);
    let err = cert.check_validity_at(far_future).unwrap_err();
    assert!(
        err.to_string().len() < 1024,
        "{} bytes",
        err.to_string().len()
    );
}
