//! `DistinguishedName` against the OpenSSL CLI: the same names, made by `openssl req -subj`,
//! give the same DER as ours and the same RFC 4514 text as `-nameopt RFC2253`.

use std::path::Path;

use der::{Decode, Encode};
use keymanager::DistinguishedName;
use keymanager::name::{Attribute, AttributeKind};
use x509_cert::request::CertReq;

use crate::common::openssl::{genpkey, stdout as openssl};

/// A name as a list of RDNs in encoding order, each a list of (kind, value).
type Rdns = &'static [&'static [(AttributeKind, &'static str)]];

use AttributeKind::*;

const CASES: &[Rdns] = &[
    &[
        &[(Country, "US")],
        &[(Organization, "Ex, Inc.")],
        &[(CommonName, "www.example.com")],
    ],
    &[
        &[(Country, "CH")],
        &[(State, "Z/H")],
        &[(Locality, "semi;colon <angle> \"quote\"")],
        &[(Organization, r"back\slash")],
        &[(OrganizationalUnit, "#hash")],
        &[(OrganizationalUnit, " lead")],
        &[(OrganizationalUnit, "trail ")],
        &[(OrganizationalUnit, "a+b")],
        &[(CommonName, "*.example.com")],
        &[(Email, "web+master@example.com")],
    ],
    &[&[(Organization, "a=b")], &[(CommonName, "intranet")]],
    &[
        &[(Country, "DE")],
        &[(Locality, "Zürich")],
        &[(Organization, "日本 株式会社")],
        &[(OrganizationalUnit, "😀 é")],
        &[(CommonName, "xn--bcher-kva.example")],
    ],
    &[
        &[(Organization, "Ex")],
        &[(OrganizationalUnit, "Web"), (CommonName, "www.example.com")],
    ],
];

fn key(dir: &Path) -> String {
    let key = dir.join("key.pem");
    genpkey(&key, "EC", &["ec_paramgen_curve:P-256"]);
    key.to_string_lossy().into_owned()
}

/// `-subj` syntax: `/TYPE=value`, `+` between the members of a multi-valued RDN; `\`, `/` and
/// `+` in values escaped with `\`.
fn subj(rdns: Rdns) -> String {
    let mut s = String::new();
    for rdn in rdns {
        for (i, (kind, value)) in rdn.iter().enumerate() {
            s.push(if i == 0 { '/' } else { '+' });
            s.push_str(kind.short_name());
            s.push('=');
            for c in value.chars() {
                if matches!(c, '\\' | '/' | '+') {
                    s.push('\\');
                }
                s.push(c);
            }
        }
    }
    s
}

fn expected(rdns: Rdns) -> DistinguishedName {
    DistinguishedName::from_rdns(rdns.iter().map(|rdn| {
        rdn.iter()
            .map(|(kind, value)| Attribute::new(*kind, *value).unwrap())
            .collect()
    }))
    .unwrap()
}

/// OpenSSL's RFC 2253 rendering of the subject of the request at `path`.
fn rfc2253_subject(path: &str) -> String {
    let out = String::from_utf8(openssl(&[
        "req", "-in", path, "-inform", "DER", "-noout", "-subject", "-nameopt", "RFC2253",
    ]))
    .unwrap();
    out.trim_end()
        .strip_prefix("subject=")
        .expect("openssl prints `subject=`")
        .to_owned()
}

/// Our rendering is OpenSSL's where both must agree: OpenSSL hex-escapes non-ASCII (we write
/// UTF-8), does not escape `=` (we do, as RFC 4514 §2.4 allows), and writes the members of a
/// multi-valued RDN in reverse order (a set: the order carries no meaning).
fn renderings_must_match(rdns: Rdns) -> bool {
    rdns.iter().all(|rdn| rdn.len() == 1)
        && rdns
            .iter()
            .flat_map(|rdn| rdn.iter())
            .all(|(_, v)| v.is_ascii() && !v.contains('='))
}

#[test]
fn openssl_names_read_and_render_as_ours() {
    let dir = tempfile::tempdir().unwrap();
    let key = key(dir.path());
    for (i, rdns) in CASES.iter().enumerate() {
        let want = expected(rdns);
        let csr = dir
            .path()
            .join(format!("{i}.der"))
            .to_string_lossy()
            .into_owned();
        openssl(&[
            "req",
            "-new",
            "-key",
            &key,
            "-utf8",
            "-multivalue-rdn",
            "-subj",
            &subj(rdns),
            "-outform",
            "DER",
            "-out",
            &csr,
        ]);
        let req = CertReq::from_der(&std::fs::read(&csr).unwrap()).unwrap();

        // OpenSSL's DER reads as the same name, and is byte for byte what we encode.
        let dn = DistinguishedName::try_from(&req.info.subject).unwrap();
        assert_eq!(dn, want, "case {i}");
        assert_eq!(
            dn.to_der().unwrap(),
            req.info.subject.to_der().unwrap(),
            "case {i}"
        );

        // OpenSSL's RFC 2253 text parses to the same name, and is our text where it must be.
        let text = rfc2253_subject(&csr);
        assert_eq!(
            text.parse::<DistinguishedName>().unwrap(),
            want,
            "case {i}: {text}"
        );
        if renderings_must_match(rdns) {
            assert_eq!(want.to_string(), text, "case {i}");
        }
    }
}

#[test]
fn our_names_render_in_openssl_as_we_render_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = key(dir.path());
    let template = dir
        .path()
        .join("template.der")
        .to_string_lossy()
        .into_owned();
    openssl(&[
        "req", "-new", "-key", &key, "-subj", "/CN=x", "-outform", "DER", "-out", &template,
    ]);
    let template = CertReq::from_der(&std::fs::read(&template).unwrap()).unwrap();
    for (i, rdns) in CASES.iter().enumerate() {
        let dn = expected(rdns);
        // `openssl req -subject` does not check the signature: swap our name into the request.
        let mut req = template.clone();
        req.info.subject = dn.to_x509().unwrap();
        let csr = dir
            .path()
            .join(format!("ours{i}.der"))
            .to_string_lossy()
            .into_owned();
        std::fs::write(&csr, req.to_der().unwrap()).unwrap();

        let text = rfc2253_subject(&csr);
        assert_eq!(
            text.parse::<DistinguishedName>().unwrap(),
            dn,
            "case {i}: {text}"
        );
        if renderings_must_match(rdns) {
            assert_eq!(dn.to_string(), text, "case {i}");
        }
    }
}

#[test]
fn the_issue_example() {
    let dn = DistinguishedName::builder()
        .country("US")
        .organization("Ex, Inc.")
        .common_name("www.example.com")
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = key(dir.path());
    let csr = dir.path().join("req.der").to_string_lossy().into_owned();
    openssl(&[
        "req",
        "-new",
        "-key",
        &key,
        "-subj",
        "/C=US/O=Ex, Inc./CN=www.example.com",
        "-outform",
        "DER",
        "-out",
        &csr,
    ]);
    let req = CertReq::from_der(&std::fs::read(&csr).unwrap()).unwrap();
    assert_eq!(DistinguishedName::try_from(&req.info.subject).unwrap(), dn);
    assert_eq!(rfc2253_subject(&csr), dn.to_string());
    assert_eq!(dn.to_string(), r"CN=www.example.com,O=Ex\, Inc.,C=US");
}
