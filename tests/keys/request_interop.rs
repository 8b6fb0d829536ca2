//! PKCS#10 requests against the real OpenSSL CLI: ours must satisfy `openssl req`, and requests
//! made by `openssl req` (RSA PKCS#1 v1.5 SHA-256 and SHA-1, RSA-PSS, ECDSA P-256/P-384,
//! Ed25519) must parse and verify with ours, or give a typed answer.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use keymanager::error::{EncodingError, NameError, RequestError, SignatureError};
use keymanager::{CertificateRequest, DistinguishedName, Error, PrivateKey, SignatureHash};
use keymanager::{ExtendedKeyUsage, KeyUsage, KeyUsages, ObjectIdentifier};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

use crate::common::openssl::{self as cli, said};

/// The shared 2048-bit key and a directory holding it as `key.pem` for OpenSSL.
struct Fixture {
    key: PrivateKey,
    dir: TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key =
            PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(2986), 2048).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem = pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            key.to_pkcs8_der().unwrap().to_vec(),
        ));
        fs::write(dir.path().join("key.pem"), pem).unwrap();
        Fixture { key, dir }
    })
}

fn key_path() -> PathBuf {
    fixture().dir.path().join("key.pem")
}

/// A fresh file path in the shared directory, unique per test.
fn path(name: &str) -> PathBuf {
    fixture().dir.path().join(name)
}

/// Runs `openssl` with `args`; panics with its output if it fails. Returns stdout + stderr.
fn openssl(args: &[&str]) -> String {
    said(&cli::openssl(None, args))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn subject() -> DistinguishedName {
    DistinguishedName::builder()
        .country("US")
        .organization("Example")
        .common_name("www.example.com")
        .build()
        .unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn write_request(name: &str, req: &CertificateRequest) -> PathBuf {
    let file = path(name);
    fs::write(&file, req.to_pem()).unwrap();
    file
}

fn read_request(file: &Path) -> CertificateRequest {
    CertificateRequest::from_pem(&fs::read_to_string(file).unwrap()).unwrap()
}

#[test]
fn openssl_verifies_our_request_and_shows_what_we_asked_for() {
    let req = CertificateRequest::builder(subject())
        .dns_name("example.com")
        .ip_address(ip("192.0.2.10"))
        .ip_address(ip("2001:db8::1"))
        .sign(&fixture().key)
        .unwrap();
    let file = write_request("ours.csr", &req);
    let verified = openssl(&["req", "-verify", "-noout", "-in", p(&file)]);
    assert!(verified.contains("verify OK"), "{verified}");
    let text = openssl(&["req", "-text", "-noout", "-in", p(&file)]);
    for expected in [
        "Subject: C = US, O = Example, CN = www.example.com",
        "DNS:www.example.com, DNS:example.com, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:1",
        "X509v3 Key Usage: critical",
        "Digital Signature, Key Encipherment",
        "X509v3 Extended Key Usage:",
        "TLS Web Server Authentication",
        "Signature Algorithm: sha256WithRSAEncryption",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // OpenSSL reads the same public key as ours.
    let pubkey = openssl(&["req", "-pubkey", "-noout", "-in", p(&file)]);
    let der = pem::parse(pubkey.trim()).unwrap().into_contents();
    assert_eq!(der, fixture().key.public_key_der());
}

#[test]
fn openssl_verifies_sha384_and_sha512_requests() {
    for (hash, name) in [
        (SignatureHash::Sha384, "sha384WithRSAEncryption"),
        (SignatureHash::Sha512, "sha512WithRSAEncryption"),
    ] {
        let req = CertificateRequest::builder(subject())
            .signature_hash(hash)
            .sign(&fixture().key)
            .unwrap();
        let file = write_request(&format!("{name}.csr"), &req);
        let out = openssl(&["req", "-verify", "-text", "-noout", "-in", p(&file)]);
        assert!(out.contains("verify OK"), "{out}");
        assert!(
            out.contains(&format!("Signature Algorithm: {name}")),
            "{out}"
        );
    }
}

#[test]
fn openssl_reads_our_request_without_extensions_and_with_challenge_password() {
    let req = CertificateRequest::builder(subject())
        .without_extensions()
        .challenge_password("s3cret pass")
        .sign(&fixture().key)
        .unwrap();
    let file = write_request("noext.csr", &req);
    let out = openssl(&["req", "-verify", "-text", "-noout", "-in", p(&file)]);
    assert!(out.contains("verify OK"), "{out}");
    assert!(out.contains("challengePassword"), "{out}");
    assert!(out.contains("s3cret pass"), "{out}");
    assert!(!out.contains("X509v3"), "{out}");
    // OpenSSL's text output always prints a "Requested Extensions:" heading; its ASN.1 dump
    // shows whether the attribute is really there.
    let dump = openssl(&["asn1parse", "-in", p(&file)]);
    assert!(dump.contains(":challengePassword"), "{dump}");
    assert!(!dump.contains("Extension Request"), "{dump}");
    let with_ext = write_request(
        "withext.csr",
        &CertificateRequest::builder(subject())
            .sign(&fixture().key)
            .unwrap(),
    );
    let dump = openssl(&["asn1parse", "-in", p(&with_ext)]);
    assert!(dump.contains(":Extension Request"), "{dump}");
}

#[test]
fn openssl_request_with_subject_alt_names_parses_and_verifies() {
    let file = path("openssl-san.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        p(&key_path()),
        "-subj",
        "/C=US/O=Example/CN=www.example.com",
        "-addext",
        "subjectAltName=DNS:www.example.com,DNS:example.com,IP:192.0.2.10",
        "-out",
        p(&file),
    ]);
    let req = read_request(&file);
    req.verify().unwrap();
    assert_eq!(req.subject(), "CN=www.example.com,O=Example,C=US");
    assert_eq!(req.distinguished_name().unwrap(), subject());
    assert_eq!(req.dns_names(), ["www.example.com", "example.com"]);
    assert_eq!(req.ip_addresses(), [ip("192.0.2.10")]);
    assert_eq!(
        req.signature_algorithm().to_string(),
        "1.2.840.113549.1.1.11"
    );
    assert_eq!(req.fingerprint(), fixture().key.fingerprint());
    // Same subject and names as a request of ours for the same server.
    let ours = CertificateRequest::builder(subject())
        .dns_name("example.com")
        .ip_address(ip("192.0.2.10"))
        .without_key_usages()
        .sign(&fixture().key)
        .unwrap();
    assert_eq!(ours.subject(), req.subject());
    assert_eq!(ours.dns_names(), req.dns_names());
    assert_eq!(ours.ip_addresses(), req.ip_addresses());
    assert_eq!(ours.key_usage(), None);

    // Flip one byte of the subject: parses, fails verification with a typed error.
    let mut der = req.to_der();
    let at = der.windows(7).position(|w| w == b"Example").unwrap();
    der[at] = b'F';
    let tampered = CertificateRequest::from_der(&der).unwrap();
    assert_eq!(tampered.subject(), "CN=www.example.com,O=Fxample,C=US");
    assert!(matches!(
        tampered.verify(),
        Err(Error::Request(RequestError::BadSignature))
    ));
}

#[test]
fn openssl_request_with_usages_reads_back_typed() {
    let file = path("openssl-usages.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        p(&key_path()),
        "-subj",
        "/CN=host.example",
        "-addext",
        "keyUsage=critical,digitalSignature,keyAgreement",
        "-addext",
        "extendedKeyUsage=serverAuth,clientAuth,1.2.3.4",
        "-out",
        p(&file),
    ]);
    let req = read_request(&file);
    req.verify().unwrap();
    assert_eq!(
        req.key_usage().map(KeyUsages::to_vec),
        Some(vec![KeyUsage::DigitalSignature, KeyUsage::KeyAgreement])
    );
    assert_eq!(
        req.extended_key_usage(),
        Some(
            &[
                ExtendedKeyUsage::ServerAuth,
                ExtendedKeyUsage::ClientAuth,
                ExtendedKeyUsage::Other(ObjectIdentifier::new_unwrap("1.2.3.4"))
            ][..]
        )
    );
    let critical: Vec<(String, bool)> = req
        .requested_extensions()
        .iter()
        .map(|e| (e.oid().to_string(), e.critical()))
        .collect();
    assert_eq!(
        critical,
        [
            ("2.5.29.15".to_owned(), true),
            ("2.5.29.37".to_owned(), false)
        ]
    );
    assert!(req.dns_names().is_empty());
}

#[test]
fn openssl_rsa_pss_requests_verify_with_the_stated_salt_length() {
    for (hash, salt, name) in [
        ("-sha256", "32", "pss256.csr"),
        ("-sha384", "48", "pss384.csr"),
        ("-sha512", "0", "pss512.csr"),
    ] {
        let file = path(name);
        openssl(&[
            "req",
            "-new",
            "-key",
            p(&key_path()),
            hash,
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            &format!("rsa_pss_saltlen:{salt}"),
            "-subj",
            "/CN=www.example.com",
            "-out",
            p(&file),
        ]);
        let req = read_request(&file);
        assert_eq!(
            req.signature_algorithm().to_string(),
            "1.2.840.113549.1.1.10"
        );
        req.verify().unwrap();
        assert_altered_subject_fails(&req, b"www", b'v');
    }
}

#[test]
fn openssl_request_with_rsa_pss_key_verifies() {
    // An id-RSASSA-PSS key restricted to SHA-384 and salts of at least 48 bytes.
    let key = path("pss-only.key");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA-PSS",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-pkeyopt",
        "rsa_pss_keygen_md:sha384",
        "-pkeyopt",
        "rsa_pss_keygen_saltlen:48",
        "-out",
        p(&key),
    ]);
    let file = path("pss-only.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        p(&key),
        "-subj",
        "/CN=pss.example",
        "-out",
        p(&file),
    ]);
    let req = read_request(&file);
    assert_eq!(
        req.signature_algorithm().to_string(),
        "1.2.840.113549.1.1.10"
    );
    // OpenSSL keeps MGF1-SHA-1 here (SHA-384 message hash): the mixed case is checked too.
    let text = openssl(&["req", "-text", "-noout", "-in", p(&file)]);
    assert!(text.contains("mgf1 with sha1"), "{text}");
    req.verify().unwrap();
    assert_altered_subject_fails(&req, b"pss.example", b'q');
}

#[test]
fn openssl_rsa_pss_request_with_different_mgf1_hash_verifies() {
    let file = path("pss-mgf1-sha1.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        p(&key_path()),
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_mgf1_md:sha1",
        "-sigopt",
        "rsa_pss_saltlen:20",
        "-subj",
        "/CN=www.example.com",
        "-out",
        p(&file),
    ]);
    let text = openssl(&["req", "-text", "-noout", "-in", p(&file)]);
    assert!(text.contains("mgf1 with sha1"), "{text}");
    let req = read_request(&file);
    req.verify().unwrap();
    let mut der = req.to_der();
    let last = der.len() - 1;
    der[last] ^= 0x80;
    assert!(matches!(
        CertificateRequest::from_der(&der).unwrap().verify(),
        Err(Error::Request(RequestError::BadSignature))
    ));
}

/// RSA-PSS from OpenSSL with moduli that are not a whole number of bytes (2047 bits: the top
/// bits of the encoded message are masked; 2049 bits: the encoded message is one byte shorter
/// than the signature) and with OpenSSL 3.0's default salt length for `rsa_padding_mode:pss`,
/// the maximum, which is over 255 bytes for keys above ~2300 bits (351 bytes for 3073 bits).
/// Both verifiers are exercised: the `rsa` crate's (MGF1 hash = message hash) and ours (MGF1
/// SHA-1 with a SHA-256 message hash).
#[test]
fn openssl_rsa_pss_requests_with_odd_modulus_sizes_and_long_salts_verify() {
    use rsa::pkcs8::EncodePrivateKey;
    use rsa::pkcs8::LineEnding;

    for bits in [2047usize, 2049, 3073] {
        let rsa = rsa::PrivateKey::new_unchecked(&mut ChaCha8Rng::seed_from_u64(bits as u64), bits)
            .unwrap();
        let key = path(&format!("odd-{bits}.key"));
        fs::write(&key, rsa.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
        for (mgf1, salt) in [
            ("sha256", "max"),
            ("sha1", "max"),
            ("sha256", "digest"),
            ("sha1", "0"),
        ] {
            let file = path(&format!("odd-{bits}-{mgf1}-{salt}.csr"));
            openssl(&[
                "req",
                "-new",
                "-key",
                p(&key),
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                &format!("rsa_mgf1_md:{mgf1}"),
                "-sigopt",
                &format!("rsa_pss_saltlen:{salt}"),
                "-subj",
                "/CN=odd.example",
                "-out",
                p(&file),
            ]);
            let case = format!("{bits} bits, MGF1-{mgf1}, salt {salt}");
            let req = read_request(&file);
            req.verify().unwrap_or_else(|e| panic!("{case}: {e}"));
            let mut der = req.to_der();
            let at = der.windows(11).position(|w| w == b"odd.example").unwrap();
            der[at] = b'e';
            assert!(
                matches!(
                    CertificateRequest::from_der(&der).unwrap().verify(),
                    Err(Error::Request(RequestError::BadSignature))
                ),
                "{case}"
            );
        }
    }
}

#[test]
fn openssl_sha1_request_verifies() {
    let file = path("sha1.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        p(&key_path()),
        "-sha1",
        "-subj",
        "/CN=legacy.example",
        "-out",
        p(&file),
    ]);
    let req = read_request(&file);
    assert_eq!(
        req.signature_algorithm().to_string(),
        "1.2.840.113549.1.1.5"
    );
    req.verify().unwrap();
}

#[test]
fn openssl_ecdsa_requests_verify() {
    for (curve, hash) in [
        ("P-256", "-sha256"),
        ("P-384", "-sha384"),
        ("P-256", "-sha384"),
    ] {
        let file = path(&format!("ec-{curve}{hash}.csr"));
        let key = path(&format!("ec-{curve}{hash}.key"));
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            &format!("ec_paramgen_curve:{curve}"),
            "-nodes",
            "-keyout",
            p(&key),
            hash,
            "-subj",
            "/CN=ec.example",
            "-addext",
            "subjectAltName=DNS:ec.example",
            "-out",
            p(&file),
        ]);
        let req = read_request(&file);
        req.verify()
            .unwrap_or_else(|e| panic!("{curve} {hash}: {e}"));
        assert_eq!(req.dns_names(), ["ec.example"]);
        assert_altered_subject_fails(&req, b"ec.example", b'f');
    }
}

#[test]
fn openssl_ed25519_request_is_unsupported_naming_the_oid() {
    let file = path("ed25519.csr");
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ed25519",
        "-nodes",
        "-keyout",
        p(&path("ed25519.key")),
        "-subj",
        "/CN=ed.example",
        "-out",
        p(&file),
    ]);
    let req = read_request(&file);
    let err = req.verify().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Signature(SignatureError::UnsupportedAlgorithm { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("1.3.101.112"), "{err}");
}

#[test]
fn openssl_challenge_password_is_read() {
    let config = path("challenge.cnf");
    fs::write(
        &config,
        "[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n\
         [dn]\nCN = www.example.com\n[attrs]\nchallengePassword = open sesame\n",
    )
    .unwrap();
    let file = path("challenge.csr");
    openssl(&[
        "req",
        "-new",
        "-config",
        p(&config),
        "-key",
        p(&key_path()),
        "-out",
        p(&file),
    ]);
    let req = read_request(&file);
    req.verify().unwrap();
    assert_eq!(req.challenge_password(), Some("open sesame"));
    assert!(!format!("{req:?}").contains("open sesame"));
}

#[test]
fn new_certificate_request_label_parses() {
    let file = path("label.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        p(&key_path()),
        "-subj",
        "/CN=old.example",
        "-out",
        p(&file),
    ]);
    let pem = fs::read_to_string(&file)
        .unwrap()
        .replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
    assert!(pem.starts_with("-----BEGIN NEW CERTIFICATE REQUEST-----"));
    let req = CertificateRequest::from_pem(&format!("Please sign:\n{pem}\n-- admin\n")).unwrap();
    req.verify().unwrap();
    assert_eq!(req.subject(), "CN=old.example");
}

#[test]
fn a_certificate_is_not_a_request() {
    let cert = path("self-signed.pem");
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        p(&key_path()),
        "-subj",
        "/CN=www.example.com",
        "-days",
        "1",
        "-out",
        p(&cert),
    ]);
    let pem = fs::read_to_string(&cert).unwrap();
    match CertificateRequest::from_pem(&pem) {
        Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. })) => {
            assert_eq!(found, "CERTIFICATE")
        }
        other => panic!("{other:?}"),
    }
    let der = pem::parse(&pem).unwrap().into_contents();
    let err = CertificateRequest::from_der(&der).unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::WrongType { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("certificate"), "{err}");
    // A key given as a request: wrong label, named.
    match CertificateRequest::from_pem(&fs::read_to_string(key_path()).unwrap()) {
        Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. })) => {
            assert_eq!(found, "PRIVATE KEY")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn openssl_request_with_foreign_subject_is_readable() {
    // A subject our strict names would refuse: readable as an RFC 4514 string.
    let file = path("foreign.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        p(&key_path()),
        "-subj",
        "/O=Example, Inc./CN=My Server",
        "-out",
        p(&file),
    ]);
    let req = read_request(&file);
    req.verify().unwrap();
    assert_eq!(req.subject(), "CN=My Server,O=Example\\, Inc.");
    assert!(matches!(
        req.distinguished_name(),
        Err(Error::Name(NameError::InvalidValue { .. }))
    ));
    assert!(req.dns_names().is_empty());
    assert!(req.requested_extensions().is_empty());
}

/// A requester can put a right-to-left override or a C1 control in its subject; `subject()`
/// and `Debug` show them escaped, so the subject cannot display as something else.
#[test]
fn hostile_characters_in_a_foreign_subject_are_escaped() {
    let file = path("hostile-subject.csr");
    openssl(&[
        "req",
        "-new",
        "-utf8",
        "-key",
        p(&key_path()),
        "-subj",
        "/O=\u{202e}moc.elgoog\u{85}x/CN=evil.example",
        "-out",
        p(&file),
    ]);
    let req = read_request(&file);
    req.verify().unwrap();
    let subject = req.subject();
    assert_eq!(subject, r"CN=evil.example,O=\E2\80\AEmoc.elgoog\C2\85x");
    let debug = format!("{req:?}");
    assert!(
        !debug.contains('\u{202e}') && !debug.contains('\u{85}'),
        "{debug}"
    );
}

/// Changing one byte of `needle` (in the signed subject) to `replacement` must make the
/// request's signature check fail with `BadSignature`.
fn assert_altered_subject_fails(req: &CertificateRequest, needle: &[u8], replacement: u8) {
    let mut der = req.to_der();
    let at = der
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the subject text is in the DER");
    der[at] = replacement;
    assert!(matches!(
        CertificateRequest::from_der(&der).unwrap().verify(),
        Err(Error::Request(RequestError::BadSignature))
    ));
}
