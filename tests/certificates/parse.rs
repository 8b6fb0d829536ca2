//! Reading certificates in every form a CA sends them, checked against the OpenSSL CLI.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use der::{DateTime, Encode};
use keymanager::error::{CertificateError, EncodingError};
use keymanager::{Certificate, Error, ExtendedKeyUsage, KeyUsage, PrivateKey};

use crate::common;
use common::ca::{self, TestCa};
use common::der_edit::{children, sequence, tlv};
use common::fixtures::{self, csr_pem};
use common::openssl::{openssl_in as openssl, openssl_status, openssl_with_files};

struct Fixture {
    ca: &'static TestCa,
    key: PrivateKey,
    other_key: PrivateKey,
    leaf_pem: String,
}

const LEAF_EXTENSIONS: &[&str] = &[
    "basicConstraints = CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    "extendedKeyUsage = serverAuth, clientAuth",
    "subjectAltName = DNS:www.example.com, DNS:Example.com, DNS:*.api.example.com, IP:192.0.2.7, IP:2001:db8::1",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
];

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = fixtures::key(0);
        let other_key = fixtures::key(1);
        let ca = ca::shared();
        let leaf_pem = ca.sign_request(&csr_pem(&key, "www.example.com"), LEAF_EXTENSIONS);
        Fixture {
            ca,
            key,
            other_key,
            leaf_pem,
        }
    })
}

fn leaf() -> Certificate {
    Certificate::from_pem(&fixture().leaf_pem).unwrap()
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    pem::parse(pem).unwrap().into_contents()
}

/// `openssl x509 -noout <flags>` on a PEM certificate.
fn openssl_x509(pem: &str, flags: &[&str]) -> String {
    let mut args = vec!["x509", "-in", "c.pem", "-noout"];
    args.extend(flags);
    openssl_with_files(&[("c.pem", pem.as_bytes())], &args, None).0
}

fn field<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in {text}"))
        .trim()
}

fn iso(t: SystemTime) -> String {
    DateTime::from_system_time(t).unwrap().to_string()
}

#[test]
fn accessors_agree_with_openssl() {
    let f = fixture();
    let cert = leaf();
    let text = openssl_x509(
        &f.leaf_pem,
        &[
            "-serial", "-subject", "-issuer", "-dates", "-nameopt", "RFC2253", "-dateopt",
            "iso_8601",
        ],
    );
    assert_eq!(cert.serial_hex(), field(&text, "serial="));
    assert_eq!(cert.subject(), field(&text, "subject="));
    assert_eq!(cert.issuer(), field(&text, "issuer="));
    assert_eq!(
        iso(cert.not_before()),
        field(&text, "notBefore=").replace(' ', "T")
    );
    assert_eq!(
        iso(cert.not_after()),
        field(&text, "notAfter=").replace(' ', "T")
    );
    assert_eq!(cert.subject(), "CN=www.example.com,O=keymanager tests,C=US");
    assert_eq!(
        cert.issuer(),
        "CN=Test Intermediate CA RSA,O=keymanager tests"
    );

    let san = openssl_x509(&f.leaf_pem, &["-ext", "subjectAltName"]);
    let san_line = san.lines().nth(1).unwrap().trim();
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for entry in san_line.split(", ") {
        if let Some(d) = entry.strip_prefix("DNS:") {
            dns.push(d.to_owned());
        } else if let Some(ip) = entry.strip_prefix("IP Address:") {
            ips.push(ip.parse::<IpAddr>().unwrap());
        } else {
            panic!("unexpected SAN entry {entry}");
        }
    }
    assert_eq!(cert.dns_names(), dns);
    assert_eq!(cert.ip_addresses(), ips);
    assert_eq!(dns.len(), 3);
    assert_eq!(ips.len(), 2);
}

#[test]
fn public_key_fingerprint_and_matching() {
    let f = fixture();
    let cert = leaf();
    assert_eq!(cert.public_key_der(), f.key.public_key_der());
    assert_eq!(cert.fingerprint(), f.key.fingerprint());
    assert!(cert.matches(&f.key));
    assert!(!cert.matches(&f.other_key));
    // The SPKI openssl extracts is the same bytes.
    let (_, spki) = openssl_with_files(
        &[("c.pem", f.leaf_pem.as_bytes())],
        &[
            "x509", "-in", "c.pem", "-noout", "-pubkey", "-out", "pub.pem",
        ],
        Some("pub.pem"),
    );
    assert_eq!(
        pem_to_der(std::str::from_utf8(&spki).unwrap()),
        cert.public_key_der()
    );
}

#[test]
fn extensions_are_typed() {
    let cert = leaf();
    let ku = cert.key_usage().unwrap();
    assert_eq!(
        ku.to_vec(),
        vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment]
    );
    assert_eq!(
        cert.extended_key_usage().unwrap(),
        [ExtendedKeyUsage::ServerAuth, ExtendedKeyUsage::ClientAuth]
    );
    assert!(cert.allows_server_auth());
    assert!(!cert.is_ca());
    assert!(!cert.is_self_issued());
    assert!(cert.subject_key_id().is_some());
    let root = Certificate::from_pem(fixture().ca.root_pem()).unwrap();
    assert!(root.is_self_issued());
    assert!(root.is_ca());
    assert!(root.key_usage().unwrap().key_cert_sign());
    assert_eq!(root.extended_key_usage(), None);
    assert!(root.allows_server_auth());
}

#[test]
fn client_only_and_any_eku() {
    let f = fixture();
    let client = f.ca.sign_request(
        &csr_pem(&f.key, "client"),
        &["extendedKeyUsage = clientAuth"],
    );
    let client = Certificate::from_pem(&client).unwrap();
    assert_eq!(
        client.extended_key_usage(),
        Some(&[ExtendedKeyUsage::ClientAuth][..])
    );
    assert!(!client.allows_server_auth());
    let any = f.ca.sign_request(
        &csr_pem(&f.key, "any"),
        &["extendedKeyUsage = anyExtendedKeyUsage"],
    );
    assert!(Certificate::from_pem(&any).unwrap().allows_server_auth());
}

#[test]
fn host_matching_follows_rfc_6125() {
    let cert = leaf();
    for yes in [
        "www.example.com",
        "WWW.EXAMPLE.COM",
        "www.example.com.",
        "example.com",
        "v1.api.example.com",
        "192.0.2.7",
        "2001:db8::1",
        "[2001:db8::1]",
    ] {
        assert!(cert.covers_host(yes), "{yes} should be covered");
    }
    for no in [
        "api.example.com",
        "a.b.api.example.com",
        "other.example.com",
        "192.0.2.8",
        "",
        "*.api.example.com",
        "www.example.com..",
    ] {
        assert!(!cert.covers_host(no), "{no} should not be covered");
    }
}

#[test]
fn common_name_is_used_only_without_san() {
    let f = fixture();
    let no_san = f.ca.sign_request(
        &csr_pem(&f.key, "legacy.example.com"),
        &["basicConstraints = CA:FALSE"],
    );
    let no_san = Certificate::from_pem(&no_san).unwrap();
    assert!(no_san.dns_names().is_empty());
    assert!(no_san.covers_host("legacy.example.com"));
    assert!(!no_san.covers_host("www.example.com"));
    // With a SAN present, the CN is ignored even though it names a host.
    let with_san = f.ca.sign_request(
        &csr_pem(&f.key, "cn-only.example.com"),
        &["subjectAltName = DNS:san.example.com"],
    );
    let with_san = Certificate::from_pem(&with_san).unwrap();
    assert!(with_san.covers_host("san.example.com"));
    assert!(!with_san.covers_host("cn-only.example.com"));
}

#[test]
fn validity_checks() {
    let cert = leaf();
    assert!(cert.not_before() < cert.not_after());
    cert.check_validity_at(SystemTime::now()).unwrap();
    cert.check_validity_at(cert.not_before()).unwrap();
    cert.check_validity_at(cert.not_after()).unwrap();
    match cert.check_validity_at(cert.not_after() + Duration::from_secs(1)) {
        Err(Error::Certificate(CertificateError::Expired { subject, not_after })) => {
            assert_eq!(subject, cert.subject());
            assert_eq!(not_after, cert.not_after());
        }
        other => panic!("expected Expired, got {other:?}"),
    }
    match cert.check_validity_at(cert.not_before() - Duration::from_secs(1)) {
        Err(Error::Certificate(CertificateError::NotYetValid {
            subject,
            not_before,
        })) => {
            assert_eq!(subject, cert.subject());
            assert_eq!(not_before, cert.not_before());
        }
        other => panic!("expected NotYetValid, got {other:?}"),
    }
}

#[test]
fn der_pem_round_trip_keeps_bytes() {
    let f = fixture();
    let der = pem_to_der(&f.leaf_pem);
    let cert = Certificate::from_der(&der).unwrap();
    assert_eq!(cert.to_der(), der);
    assert_eq!(cert.to_pem(), f.leaf_pem);
    assert_eq!(Certificate::from_pem(&cert.to_pem()).unwrap(), cert);
    // Text around the block is fine (as in `openssl x509 -text` output).
    let noisy = format!("Certificate:\n  blah blah\n{}trailing notes\n", f.leaf_pem);
    assert_eq!(Certificate::from_pem(&noisy).unwrap(), cert);
}

#[test]
fn bundles_in_any_order_and_p7b() {
    let f = fixture();
    let leaf = leaf();
    let int = Certificate::from_pem(f.ca.intermediate_pem().unwrap()).unwrap();
    let root = Certificate::from_pem(f.ca.root_pem()).unwrap();
    let bundle = format!(
        "root first\n{}\nthen leaf\n{}{}",
        f.ca.root_pem(),
        f.leaf_pem,
        f.ca.intermediate_pem().unwrap()
    );
    let certs = Certificate::chain_from_pem(&bundle).unwrap();
    assert_eq!(certs, vec![root.clone(), leaf.clone(), int.clone()]);
    assert_eq!(Certificate::parse_any(bundle.as_bytes()).unwrap(), certs);

    // PKCS#7 certs-only, DER and PEM, made by openssl.
    let files: &[(&str, &[u8])] = &[("bundle.pem", bundle.as_bytes())];
    for (outform, out) in [("DER", "x.p7b"), ("PEM", "x.p7b.pem")] {
        let (_, p7) = openssl_with_files(
            files,
            &[
                "crl2pkcs7",
                "-nocrl",
                "-certfile",
                "bundle.pem",
                "-outform",
                outform,
                "-out",
                out,
            ],
            Some(out),
        );
        let mut from_p7 = Certificate::parse_any(&p7).unwrap();
        from_p7.sort_by(|a, b| a.to_der().cmp(b.to_der()));
        let mut expected = certs.clone();
        expected.sort_by(|a, b| a.to_der().cmp(b.to_der()));
        assert_eq!(from_p7, expected, "{outform}");
        if outform == "PEM" {
            let text = std::str::from_utf8(&p7).unwrap();
            assert_eq!(Certificate::chain_from_pem(text).unwrap().len(), 3);
        }
    }
    // A single DER certificate.
    assert_eq!(
        Certificate::parse_any(leaf.to_der()).unwrap(),
        vec![leaf.clone()]
    );
    // from_pem refuses a bundle.
    assert!(matches!(
        Certificate::from_pem(&bundle),
        Err(Error::Encoding(EncodingError::MalformedPem { .. }))
    ));
}

#[test]
fn empty_p7b_is_no_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (_, p7) = openssl_with_files(
        &[],
        &["crl2pkcs7", "-nocrl", "-outform", "DER", "-out", "e.p7b"],
        Some("e.p7b"),
    );
    drop(dir);
    let err = Certificate::parse_any(&p7).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Certificate(CertificateError::NoCertificate { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("export it again"), "{err}");
}

#[test]
fn requests_and_private_keys_are_refused_without_echo() {
    let f = fixture();
    let csr = csr_pem(&f.key, "www.example.com");
    for input in [csr.clone().into_bytes(), pem_to_der(&csr)] {
        assert!(matches!(
            Certificate::parse_any(&input),
            Err(Error::Certificate(CertificateError::IsRequest))
        ));
    }
    assert!(matches!(
        Certificate::chain_from_pem(&csr),
        Err(Error::Certificate(CertificateError::IsRequest))
    ));

    let pkcs8 = f.key.to_pkcs8_der().unwrap();
    let pkcs8_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.to_vec()));
    let (_, pkcs1_pem) = openssl_with_files(
        &[("k.pem", pkcs8_pem.as_bytes())],
        &["rsa", "-in", "k.pem", "-traditional", "-out", "k1.pem"],
        Some("k1.pem"),
    );
    let (_, pkcs1_der) = openssl_with_files(
        &[("k.pem", pkcs8_pem.as_bytes())],
        &[
            "rsa",
            "-in",
            "k.pem",
            "-traditional",
            "-outform",
            "DER",
            "-out",
            "k1.der",
        ],
        Some("k1.der"),
    );
    let (_, encrypted_der) = openssl_with_files(
        &[("k.pem", pkcs8_pem.as_bytes())],
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "k.pem",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:pw",
            "-outform",
            "DER",
            "-out",
            "e.der",
        ],
        Some("e.der"),
    );
    let (_, ec_der) = openssl_with_files(
        &[],
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-outform",
            "DER",
            "-out",
            "ec.der",
        ],
        Some("ec.der"),
    );
    let combined = format!("{}{}", f.leaf_pem, pkcs8_pem);
    let inputs: Vec<Vec<u8>> = vec![
        pkcs8.to_vec(),
        pkcs8_pem.clone().into_bytes(),
        pkcs1_pem,
        pkcs1_der,
        encrypted_der,
        ec_der,
        combined.into_bytes(),
    ];
    let key_b64_fragment = &pkcs8_pem.lines().nth(3).unwrap()[..20];
    for (i, input) in inputs.iter().enumerate() {
        let err = Certificate::parse_any(input).unwrap_err();
        assert!(
            matches!(err, Error::Certificate(CertificateError::IsPrivateKey)),
            "input {i}: {err:?}"
        );
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(key_b64_fragment));
        assert!(shown.contains("private key"));
    }
    assert!(matches!(
        Certificate::from_pem(&pkcs8_pem),
        Err(Error::Certificate(CertificateError::IsPrivateKey))
    ));
}

#[test]
fn public_keys_and_other_labels_are_refused() {
    let f = fixture();
    let spki = f.key.public_key_der().to_vec();
    assert!(matches!(
        Certificate::parse_any(&spki),
        Err(Error::Certificate(CertificateError::NoCertificate { .. }))
    ));
    let pub_pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki));
    assert!(matches!(
        Certificate::parse_any(pub_pem.as_bytes()),
        Err(Error::Certificate(CertificateError::NoCertificate { .. }))
    ));
    let crl_pem = pem::encode(&pem::Pem::new("X509 CRL", vec![0x30, 0x00]));
    assert!(matches!(
        Certificate::chain_from_pem(&crl_pem),
        Err(Error::Encoding(EncodingError::WrongPemLabel { .. }))
    ));
}

#[test]
fn malformed_input_is_refused_with_typed_errors() {
    let der = leaf().to_der().to_vec();
    // Empty.
    assert!(matches!(
        Certificate::from_der(&[]),
        Err(Error::Encoding(EncodingError::Empty { .. }))
    ));
    assert!(matches!(
        Certificate::parse_any(b"  \n"),
        Err(Error::Encoding(EncodingError::Empty { .. }))
    ));
    // Truncated at every tenth length.
    for len in (1..der.len()).step_by(10) {
        let err = Certificate::from_der(&der[..len]).unwrap_err();
        assert!(
            matches!(err, Error::Encoding(EncodingError::MalformedDer { .. })),
            "{len}: {err:?}"
        );
        assert!(Certificate::parse_any(&der[..len]).is_err());
    }
    // Trailing data.
    let mut trailing = der.clone();
    trailing.extend_from_slice(&[0, 0]);
    assert!(matches!(
        Certificate::from_der(&trailing),
        Err(Error::Encoding(EncodingError::TrailingData {
            extra: 2,
            ..
        }))
    ));
    assert!(Certificate::parse_any(&trailing).is_err());
    // Oversized.
    let big = vec![0x30; 65 * 1024];
    assert!(matches!(
        Certificate::from_der(&big),
        Err(Error::Encoding(EncodingError::TooLarge { .. }))
    ));
    let huge = vec![0x30; 2 * 1024 * 1024];
    assert!(matches!(
        Certificate::parse_any(&huge),
        Err(Error::Encoding(EncodingError::TooLarge { .. }))
    ));
    // Garbage.
    assert!(matches!(
        Certificate::parse_any(&[0xff, 0xfe, 0x00, 0x81]),
        Err(Error::Encoding(EncodingError::MalformedDer { .. }))
    ));
    assert!(matches!(
        Certificate::parse_any(b"hello, this is not a certificate"),
        Err(Error::Encoding(EncodingError::NoPemBlock { .. }))
    ));
    assert!(matches!(
        Certificate::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]),
        Err(Error::Encoding(EncodingError::MalformedDer { .. }))
    ));
    // Bad base64 and missing END line.
    assert!(matches!(
        Certificate::from_pem("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
        Err(Error::Encoding(EncodingError::MalformedPem { .. }))
    ));
    let pem = leaf().to_pem();
    let cut = &pem[..pem.len() - 30];
    assert!(matches!(
        Certificate::from_pem(cut),
        Err(Error::Encoding(EncodingError::MalformedPem { .. }))
    ));
    // Wrong label on a good certificate.
    let relabelled = pem.replace("CERTIFICATE", "TRUSTED CERTIFICATE");
    assert!(matches!(
        Certificate::from_pem(&relabelled),
        Err(Error::Encoding(EncodingError::WrongPemLabel { .. }))
    ));
    // PKCS#7 of another content type (id-data).
    let data_ci = sequence(&[
        tlv(
            0x06,
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01],
        ),
        tlv(0xa0, &tlv(0x04, b"x")),
    ]);
    assert!(matches!(
        Certificate::parse_any(&data_ci),
        Err(Error::Certificate(CertificateError::Invalid { .. }))
    ));
}

#[test]
fn inner_and_outer_signature_algorithms_must_agree() {
    // Swap the outer AlgorithmIdentifier for sha384WithRSAEncryption.
    let der = leaf().to_der().to_vec();
    let parts = children(&der);
    let sha384_rsa = sequence(&[
        tlv(
            0x06,
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c],
        ),
        vec![0x05, 0x00],
    ]);
    let altered = sequence(&[parts[0].clone(), sha384_rsa, parts[2].clone()]);
    let err = Certificate::from_der(&altered).unwrap_err();
    assert!(
        matches!(err, Error::Certificate(CertificateError::Invalid { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("unmodified copy"), "{err}");
}

/// A certificate whose validity is written as GeneralizedTime although the dates are before
/// 2050: legal DER, but `x509-cert` re-encodes such dates as UTCTime. We must keep the original
/// bytes so that the signature (made over GeneralizedTime) still verifies.
#[test]
fn generalized_time_before_2050_keeps_original_bytes() {
    let f = fixture();
    let original = pem_to_der(&f.leaf_pem);
    let parts = children(&original);
    let tbs_fields = children(&parts[0]);
    // tbs: [0] version, serial, signature, issuer, validity, subject, spki, [3] extensions
    assert_eq!(tbs_fields[4][0], 0x30);
    let validity = sequence(&[tlv(0x18, b"20250102030405Z"), tlv(0x18, b"20451231235959Z")]);
    let mut fields = tbs_fields.clone();
    fields[4] = validity;
    let tbs = sequence(&fields);
    let signature = f.ca.sign_bytes(&tbs);
    let mut bit_string = vec![0u8];
    bit_string.extend(signature);
    let handmade = sequence(&[tbs, parts[1].clone(), tlv(0x03, &bit_string)]);

    // x509-cert would change the bytes if it re-encoded the certificate.
    let reencoded = x509_cert::Certificate::from_der_checked(&handmade);
    assert_ne!(
        reencoded, handmade,
        "the test needs a certificate x509-cert re-encodes"
    );

    let cert = Certificate::from_der(&handmade).unwrap();
    assert_eq!(cert.to_der(), handmade);
    assert_eq!(iso(cert.not_before()), "2025-01-02T03:04:05Z");
    assert_eq!(iso(cert.not_after()), "2045-12-31T23:59:59Z");
    assert_eq!(cert.fingerprint(), f.key.fingerprint());
    let issuer = Certificate::from_pem(f.ca.intermediate_pem().unwrap()).unwrap();
    cert.verify_signed_by(&issuer).unwrap();
    let root = Certificate::from_pem(f.ca.root_pem()).unwrap();
    let chain =
        keymanager::Chain::build(vec![root, cert.clone(), issuer], &f.key.fingerprint()).unwrap();
    assert_eq!(chain.leaf().to_der(), handmade);
    assert_eq!(
        Certificate::chain_from_pem(&chain.to_pem()).unwrap()[0].to_der(),
        handmade
    );

    // OpenSSL agrees that the handmade certificate is correctly signed.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.pem"), f.ca.root_pem()).unwrap();
    std::fs::write(dir.path().join("int.pem"), f.ca.intermediate_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("gt.pem"), cert.to_pem()).unwrap();
    let (ok, out) = openssl_status(
        dir.path(),
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "int.pem",
            "-purpose",
            "sslserver",
            "gt.pem",
        ],
    );
    assert!(ok, "{out}");
    let dump = openssl(dir.path(), &["asn1parse", "-in", "gt.pem"]);
    assert_eq!(dump.matches("GENERALIZEDTIME").count(), 2, "{dump}");
}

/// Helper trait so the test reads naturally: decode then re-encode with x509-cert.
trait ReencodeExt {
    fn from_der_checked(der: &[u8]) -> Vec<u8>;
}

impl ReencodeExt for x509_cert::Certificate {
    fn from_der_checked(der: &[u8]) -> Vec<u8> {
        use der::Decode;
        x509_cert::Certificate::from_der(der)
            .unwrap()
            .to_der()
            .unwrap()
    }
}

/// The fixture's leaf with its subjectPublicKeyInfo replaced by `spki`, re-signed by the CA.
fn leaf_with_spki(spki: Vec<u8>) -> Certificate {
    let f = fixture();
    let original = pem_to_der(&f.leaf_pem);
    let parts = children(&original);
    let mut fields = children(&parts[0]);
    // [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
    assert_eq!(fields[6], f.key.public_key_der());
    fields[6] = spki;
    let tbs = sequence(&fields);
    let mut bit_string = vec![0u8];
    bit_string.extend(f.ca.sign_bytes(&tbs));
    Certificate::from_der(&sequence(&[tbs, parts[1].clone(), tlv(0x03, &bit_string)])).unwrap()
}

/// `(modulus TLV, exponent TLV)` of the fixture key's RSAPublicKey.
fn key_integers() -> (Vec<u8>, Vec<u8>) {
    let spki = children(fixture().key.public_key_der());
    let bit_string = &spki[1];
    assert_eq!(&bit_string[..2], &[0x03, 0x82]);
    let rsa_public_key = &bit_string[5..]; // tag, 0x82 len len, unused-bits byte
    let numbers = children(rsa_public_key);
    (numbers[0].clone(), numbers[1].clone())
}

fn rsa_spki(algorithm_oid: &[u8], null_parameters: bool, n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut algorithm = vec![tlv(0x06, algorithm_oid)];
    if null_parameters {
        algorithm.push(vec![0x05, 0x00]);
    }
    let mut bits = vec![0u8];
    bits.extend(sequence(&[n.to_vec(), e.to_vec()]));
    sequence(&[sequence(&algorithm), tlv(0x03, &bits)])
}

const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];

/// The same modulus and exponent in SPKIs that differ byte-wise from the key's: `matches`
/// compares numbers, and the fingerprint (what a key store indexes pending keys by) agrees.
#[test]
fn matching_compares_modulus_and_exponent_not_bytes() {
    let f = fixture();
    let (n, e) = key_integers();
    assert_eq!(
        rsa_spki(RSA_ENCRYPTION, true, &n, &e),
        f.key.public_key_der(),
        "the hand-built canonical SPKI is the key's own"
    );
    let int = Certificate::from_pem(f.ca.intermediate_pem().unwrap()).unwrap();
    for (what, spki) in [
        ("parameters absent", rsa_spki(RSA_ENCRYPTION, false, &n, &e)),
        ("id-RSASSA-PSS key", rsa_spki(RSASSA_PSS, false, &n, &e)),
    ] {
        let cert = leaf_with_spki(spki.clone());
        assert_eq!(
            cert.public_key_der(),
            spki,
            "{what}: the SPKI is kept as sent"
        );
        assert_ne!(cert.public_key_der(), f.key.public_key_der(), "{what}");
        assert!(cert.matches(&f.key), "{what}");
        assert!(!cert.matches(&f.other_key), "{what}");
        assert_eq!(cert.fingerprint(), f.key.fingerprint(), "{what}");
        assert_ne!(cert.fingerprint(), f.other_key.fingerprint(), "{what}");
        let chain = keymanager::Chain::build(vec![int.clone(), cert.clone()], &f.key.fingerprint())
            .unwrap();
        assert_eq!(chain.leaf(), &cert, "{what}");
    }
    // The same modulus with another exponent is another key.
    let e3 = tlv(0x02, &[0x03]);
    let cert = leaf_with_spki(rsa_spki(RSA_ENCRYPTION, true, &n, &e3));
    assert!(!cert.matches(&f.key));
    assert_ne!(cert.fingerprint(), f.key.fingerprint());
    // A non-RSA key (the P-256 OID with an EC point) matches no RSA key and is hashed as is.
    let ec_public_key = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let p256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let mut point = vec![0x00, 0x04];
    point.extend([0x11; 64]);
    let ec_spki = sequence(&[
        sequence(&[tlv(0x06, &ec_public_key), tlv(0x06, &p256)]),
        tlv(0x03, &point),
    ]);
    let cert = leaf_with_spki(ec_spki.clone());
    assert!(!cert.matches(&f.key));
    assert_eq!(
        cert.fingerprint(),
        keymanager::Fingerprint::of_spki_der(&ec_spki)
    );
}

#[test]
fn a_signature_with_unused_bits_says_to_get_a_fresh_copy() {
    let der = leaf().to_der().to_vec();
    let parts = children(&der);
    let mut bits = parts[2][4..].to_vec(); // BIT STRING, 0x82 len len, then unused-bits byte
    assert_eq!(bits[0], 0);
    bits[0] = 1;
    let odd = sequence(&[parts[0].clone(), parts[1].clone(), tlv(0x03, &bits)]);
    let cert = Certificate::from_der(&odd).unwrap();
    let issuer = Certificate::from_pem(fixture().ca.intermediate_pem().unwrap()).unwrap();
    let err = cert.verify_signed_by(&issuer).unwrap_err();
    assert!(
        matches!(err, Error::Certificate(CertificateError::Invalid { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("fresh copy"), "{err}");
}

/// `Debug` is a short summary (subject, issuer, serial, fingerprint), never the DER.
#[test]
fn debug_is_a_short_summary() {
    let cert = leaf();
    let shown = format!("{cert:?}");
    assert!(shown.contains(&cert.subject()), "{shown}");
    assert!(shown.contains(&cert.serial_hex()), "{shown}");
    assert!(shown.contains(&cert.fingerprint().to_hex()), "{shown}");
    assert!(shown.len() < 512, "{} bytes: {shown}", shown.len());
    let der_hex = hex::encode(&cert.to_der()[..16]);
    assert!(!shown.to_lowercase().contains(&der_hex), "{shown}");
    assert!(
        !shown.contains(
            &cert.to_der()[..16]
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    );
    let chain = keymanager::Chain::build(vec![cert.clone()], &fixture().key.fingerprint()).unwrap();
    assert!(format!("{chain:?}").len() < 1024);
}

/// A hostile CA could name itself with bidirectional or C1 control characters so that its
/// name (in `subject()`, `issuer()` and every error message naming it) displays as another.
#[test]
fn control_and_bidi_characters_in_names_are_escaped() {
    let der = leaf().to_der().to_vec();
    let parts = children(&der);
    let mut fields = children(&parts[0]);
    let cn = [0x55, 0x04, 0x03];
    let hostile = "\u{202e}moc.elgoog\u{85}\u{2066}x";
    let name = sequence(&[tlv(
        0x31,
        &sequence(&[tlv(0x06, &cn), tlv(0x0c, hostile.as_bytes())]),
    )]);
    fields[3] = name.clone(); // issuer
    fields[5] = name; // subject
    let edited = sequence(&[sequence(&fields), parts[1].clone(), parts[2].clone()]);
    let cert = Certificate::from_der(&edited).unwrap();
    let expected = "CN=\\E2\\80\\AEmoc.elgoog\\C2\\85\\E2\\81\\A6x";
    assert_eq!(cert.subject(), expected);
    assert_eq!(cert.issuer(), expected);
    let shown = format!("{cert:?}");
    assert!(
        !shown.contains('\u{202e}') && !shown.contains('\u{85}'),
        "{shown}"
    );
}
