//! Building and verifying chains from certificates issued by OpenSSL test CAs.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use der::Decode;
use keymanager::error::CertificateError;
use keymanager::{Certificate, Chain, Error, Fingerprint, PrivateKey};

use crate::common;
use common::ca::{self, CaKey, CaOptions, TestCa};
use common::der_edit::children;
use common::fixtures::{self, csr_pem};
use common::openssl::{X509Req, openssl_status, openssl_with_files};

struct Fixture {
    ca: &'static TestCa,
    key: PrivateKey,
    other_key: PrivateKey,
    leaf: Certificate,
    int: Certificate,
    root: Certificate,
}

const LEAF_EXTENSIONS: &[&str] = &[
    "basicConstraints = CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    "extendedKeyUsage = serverAuth",
    "subjectAltName = DNS:www.example.com",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
];

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = fixtures::key(0);
        let other_key = fixtures::key(1);
        let ca = ca::shared();
        let leaf = issue(ca, &key, "www.example.com");
        let int = Certificate::from_pem(ca.intermediate_pem().unwrap()).unwrap();
        let root = Certificate::from_pem(ca.root_pem()).unwrap();
        Fixture {
            ca,
            key,
            other_key,
            leaf,
            int,
            root,
        }
    })
}

fn issue(ca: &TestCa, key: &PrivateKey, cn: &str) -> Certificate {
    Certificate::from_pem(&ca.sign_request(&csr_pem(key, cn), LEAF_EXTENSIONS)).unwrap()
}

/// Builds the chain of `key`'s certificate from the certificates of `ca` (in a scrambled
/// order), checks its shape, that OpenSSL verifies the same chain, and that altering any
/// certificate's signature breaks exactly its link. Returns the signature algorithm OIDs of
/// the chain, leaf first, so callers can check which algorithm was exercised.
fn assert_ca_chain_verifies(ca: &TestCa, key: &PrivateKey) -> Vec<String> {
    let leaf = issue(ca, key, "www.example.com");
    let root = Certificate::from_pem(ca.root_pem()).unwrap();
    let mut certs = vec![root.clone(), leaf.clone()];
    if let Some(int) = ca.intermediate_pem() {
        certs.insert(1, Certificate::from_pem(int).unwrap());
    }
    let chain = Chain::build(certs.clone(), &key.fingerprint()).unwrap();
    assert_eq!(chain.leaf(), &leaf);
    assert_eq!(chain.root(), Some(&root));
    assert_eq!(chain.certificates().len(), certs.len());
    assert_eq!(chain.certificates().last(), Some(&root));

    let ordered = chain.certificates().to_vec();
    for (i, cert) in ordered.iter().enumerate() {
        let mut tampered = ordered.clone();
        tampered[i] = flip_last_byte(cert);
        let (child, issuer, reason) = broken_link(Chain::build(tampered, &key.fingerprint()));
        let expected_issuer = ordered.get(i + 1).unwrap_or(cert);
        assert_eq!((child, issuer), (cert.subject(), expected_issuer.subject()));
        assert!(reason.contains("does not verify"), "{reason}");
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.pem"), ca.root_pem()).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), leaf.to_pem()).unwrap();
    std::fs::write(
        dir.path().join("int.pem"),
        ca.intermediate_pem().unwrap_or(""),
    )
    .unwrap();
    let mut args = vec!["verify", "-CAfile", "root.pem"];
    if ca.intermediate_pem().is_some() {
        args.extend(["-untrusted", "int.pem"]);
    }
    args.push("leaf.pem");
    let (ok, out) = openssl_status(dir.path(), &args);
    assert!(ok, "openssl does not verify the test chain either: {out}");

    ordered
        .iter()
        .map(|c| {
            x509_cert::Certificate::from_der(c.to_der())
                .unwrap()
                .signature_algorithm()
                .oid
                .to_string()
        })
        .collect()
}

const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";

fn flip_last_byte(cert: &Certificate) -> Certificate {
    let mut der = cert.to_der().to_vec();
    *der.last_mut().unwrap() ^= 0x01;
    Certificate::from_der(&der).unwrap()
}

fn broken_link(result: keymanager::Result<Chain>) -> (String, String, String) {
    match result {
        Err(Error::Certificate(CertificateError::BrokenLink {
            child,
            issuer,
            reason,
            ..
        })) => (child, issuer, reason),
        other => panic!("expected BrokenLink, got {other:?}"),
    }
}

#[test]
fn orders_any_permutation_and_tolerates_duplicates() {
    let f = fixture();
    let (leaf, int, root) = (&f.leaf, &f.int, &f.root);
    let orders = [
        vec![leaf, int, root],
        vec![root, int, leaf],
        vec![int, leaf, root, int, leaf],
        vec![root, leaf, int],
    ];
    for order in orders {
        let certs: Vec<Certificate> = order.into_iter().cloned().collect();
        let chain = Chain::build(certs, &f.key.fingerprint()).unwrap();
        assert_eq!(
            chain.certificates(),
            [leaf.clone(), int.clone(), root.clone()]
        );
        assert_eq!(chain.leaf(), leaf);
        assert_eq!(chain.intermediates(), std::slice::from_ref(int));
        assert_eq!(chain.root(), Some(root));
    }
}

#[test]
fn chain_without_root_and_leaf_alone() {
    let f = fixture();
    let chain = Chain::build(vec![f.int.clone(), f.leaf.clone()], &f.key.fingerprint()).unwrap();
    assert_eq!(chain.certificates(), [f.leaf.clone(), f.int.clone()]);
    assert_eq!(chain.intermediates(), std::slice::from_ref(&f.int));
    assert_eq!(chain.root(), None);

    let alone = Chain::build(vec![f.leaf.clone()], &f.key.fingerprint()).unwrap();
    assert_eq!(alone.certificates(), std::slice::from_ref(&f.leaf));
    assert!(alone.intermediates().is_empty());
    assert_eq!(alone.root(), None);
}

#[test]
fn pem_of_a_chain_reads_back_in_order() {
    let f = fixture();
    let certs = vec![f.root.clone(), f.leaf.clone(), f.int.clone()];
    let chain = Chain::build(certs, &f.key.fingerprint()).unwrap();
    let pem = chain.to_pem();
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 3);
    assert_eq!(
        Certificate::chain_from_pem(&pem).unwrap(),
        chain.certificates()
    );
    // OpenSSL reads the bundle the same way: the first certificate is the leaf.
    let (subject, _) = openssl_with_files(
        &[("chain.pem", pem.as_bytes())],
        &[
            "x509",
            "-in",
            "chain.pem",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ],
        None,
    );
    assert_eq!(subject.trim(), format!("subject={}", f.leaf.subject()));
}

#[test]
fn no_leaf_and_ambiguous_leaf() {
    let f = fixture();
    let certs = vec![f.leaf.clone(), f.int.clone()];
    match Chain::build(certs, &f.other_key.fingerprint()) {
        Err(Error::Certificate(CertificateError::NoLeaf { fingerprint })) => {
            assert_eq!(fingerprint, f.other_key.fingerprint());
        }
        other => panic!("expected NoLeaf, got {other:?}"),
    }
    let second = issue(f.ca, &f.key, "second.example.com");
    let err = Chain::build(
        vec![f.leaf.clone(), second.clone(), f.int.clone()],
        &f.key.fingerprint(),
    )
    .unwrap_err();
    match &err {
        Error::Certificate(CertificateError::AmbiguousLeaf { count, serials, .. }) => {
            assert_eq!(*count, 2);
            assert_eq!(serials, &[f.leaf.serial_hex(), second.serial_hex()]);
        }
        other => panic!("expected AmbiguousLeaf, got {other:?}"),
    }
    assert!(err.to_string().contains(&second.serial_hex()), "{err}");
}

#[test]
fn unrelated_certificates_are_named_or_dropped() {
    let f = fixture();
    let other_ca = TestCa::with_options(CaOptions {
        tag: "Other".into(),
        intermediate: false,
        ..CaOptions::default()
    });
    let stray = Certificate::from_pem(other_ca.root_pem()).unwrap();
    let certs = vec![f.leaf.clone(), stray.clone(), f.int.clone(), f.root.clone()];
    match Chain::build(certs.clone(), &f.key.fingerprint()) {
        Err(Error::Certificate(CertificateError::NotInChain { leaf, subjects })) => {
            assert_eq!(leaf, f.leaf.subject());
            assert_eq!(subjects, vec![stray.subject()]);
        }
        other => panic!("expected NotInChain, got {other:?}"),
    }
    let (chain, dropped) = Chain::build_lenient(certs, &f.key.fingerprint()).unwrap();
    assert_eq!(
        chain.certificates(),
        [f.leaf.clone(), f.int.clone(), f.root.clone()]
    );
    assert_eq!(dropped, vec![stray]);
}

#[test]
fn tampered_links_are_broken_and_named() {
    let f = fixture();
    let fp = f.key.fingerprint();

    // The intermediate's signature is altered: the root no longer vouches for it.
    let bad_int = flip_last_byte(&f.int);
    let (child, issuer, reason) = broken_link(Chain::build(
        vec![f.leaf.clone(), bad_int.clone(), f.root.clone()],
        &fp,
    ));
    assert_eq!(child, f.int.subject());
    assert_eq!(issuer, f.root.subject());
    assert!(reason.contains("does not verify"), "{reason}");

    // The intermediate's signed content is altered (a digit of notBefore).
    let mut der = f.int.to_der().to_vec();
    let tbs = &children(&der)[0];
    let validity = &children(tbs)[4];
    let at = der
        .windows(validity.len())
        .position(|w| w == &validity[..])
        .unwrap()
        + 5; // SEQUENCE header, UTCTime header, first year digit, second year digit
    der[at] = if der[at] == b'9' { b'8' } else { der[at] + 1 };
    let edited_int = Certificate::from_der(&der).unwrap();
    assert_ne!(edited_int.not_before(), f.int.not_before());
    let (child, issuer, _) = broken_link(Chain::build(
        vec![f.leaf.clone(), edited_int, f.root.clone()],
        &fp,
    ));
    assert_eq!((child, issuer), (f.int.subject(), f.root.subject()));

    // The leaf's signature is altered.
    let (child, issuer, _) = broken_link(Chain::build(
        vec![flip_last_byte(&f.leaf), f.int.clone()],
        &fp,
    ));
    assert_eq!((child, issuer), (f.leaf.subject(), f.int.subject()));

    // The root's self-signature is altered.
    let (child, issuer, _) = broken_link(Chain::build(
        vec![f.leaf.clone(), f.int.clone(), flip_last_byte(&f.root)],
        &fp,
    ));
    assert_eq!((child, issuer), (f.root.subject(), f.root.subject()));
}

#[test]
fn same_name_other_key_is_a_broken_link() {
    // A second CA with the same names but other keys: its intermediate has the name the leaf's
    // issuer field asks for, but not the key.
    let f = fixture();
    let twin = TestCa::new();
    let twin_int = Certificate::from_pem(twin.intermediate_pem().unwrap()).unwrap();
    assert_eq!(twin_int.subject(), f.int.subject());
    let (child, issuer, reason) = broken_link(Chain::build(
        vec![f.leaf.clone(), twin_int],
        &f.key.fingerprint(),
    ));
    assert_eq!((child, issuer), (f.leaf.subject(), f.int.subject()));
    assert!(reason.contains("authorityKeyIdentifier"), "{reason}");
}

#[test]
fn a_broken_link_names_both_certificates_by_serial_too() {
    // The subject alone does not tell the twin intermediate from the real one.
    let f = fixture();
    let twin = TestCa::new();
    let twin_int = Certificate::from_pem(twin.intermediate_pem().unwrap()).unwrap();
    assert_eq!(twin_int.subject(), f.int.subject());
    assert_ne!(twin_int.serial_hex(), f.int.serial_hex());
    let err =
        Chain::build(vec![f.leaf.clone(), twin_int.clone()], &f.key.fingerprint()).unwrap_err();
    match &err {
        Error::Certificate(CertificateError::BrokenLink {
            child_serial,
            issuer_serial,
            ..
        }) => {
            assert_eq!(&**child_serial, f.leaf.serial_hex());
            assert_eq!(&**issuer_serial, twin_int.serial_hex());
        }
        other => panic!("expected BrokenLink, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("serial {}", f.leaf.serial_hex()))
            && text.contains(&format!("serial {}", twin_int.serial_hex())),
        "{text}"
    );
}

#[test]
fn a_non_ca_issuer_is_refused() {
    // Sign a certificate for `other_key` with the leaf (CA:FALSE) and our key.
    let f = fixture();
    let key_pem = pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        f.key.to_pkcs8_der().unwrap().to_vec(),
    ));
    let csr = csr_pem(&f.other_key, "child.example.com");
    let leaf_pem = f.leaf.to_pem();
    let (_, child) = openssl_with_files(
        &[
            ("k.pem", key_pem.as_bytes()),
            ("ca.pem", leaf_pem.as_bytes()),
            ("r.csr", csr.as_bytes()),
        ],
        &[
            "x509",
            "-req",
            "-in",
            "r.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "k.pem",
            "-set_serial",
            "99",
            "-days",
            "1",
            "-sha256",
            "-out",
            "child.pem",
        ],
        Some("child.pem"),
    );
    let child = Certificate::from_pem(std::str::from_utf8(&child).unwrap()).unwrap();
    let (c, i, reason) = broken_link(Chain::build(
        vec![child.clone(), f.leaf.clone()],
        &f.other_key.fingerprint(),
    ));
    assert_eq!((c, i), (child.subject(), f.leaf.subject()));
    assert!(reason.contains("not a CA"), "{reason}");
}

#[test]
fn self_signed_leaf_is_a_chain_of_one() {
    let f = fixture();
    let key_pem = pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        f.key.to_pkcs8_der().unwrap().to_vec(),
    ));
    let (_, pem) = openssl_with_files(
        &[("k.pem", key_pem.as_bytes())],
        &[
            "req",
            "-x509",
            "-key",
            "k.pem",
            "-subj",
            "/CN=self.example.com",
            "-days",
            "1",
            "-sha256",
            "-out",
            "self.pem",
        ],
        Some("self.pem"),
    );
    let cert = Certificate::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
    assert!(cert.is_self_issued());
    assert!(cert.matches(&f.key));
    let chain = Chain::build(vec![cert.clone()], &f.key.fingerprint()).unwrap();
    assert_eq!(chain.certificates(), std::slice::from_ref(&cert));
    assert_eq!(chain.root(), None);
    assert!(chain.intermediates().is_empty());
    // A tampered self-signed leaf is a broken link to itself.
    let (c, i, _) = broken_link(Chain::build(
        vec![flip_last_byte(&cert)],
        &f.key.fingerprint(),
    ));
    assert_eq!(
        (c.as_str(), i.as_str()),
        ("CN=self.example.com", "CN=self.example.com")
    );
}

#[test]
fn chain_validity() {
    let f = fixture();
    let chain = Chain::build(
        vec![f.leaf.clone(), f.int.clone(), f.root.clone()],
        &f.key.fingerprint(),
    )
    .unwrap();
    chain.check_validity_at(SystemTime::now()).unwrap();
    // The leaf (365 days) expires first.
    let later = f.leaf.not_after() + Duration::from_secs(60);
    match chain.check_validity_at(later) {
        Err(Error::Certificate(CertificateError::Expired { subject, .. })) => {
            assert_eq!(subject, f.leaf.subject());
        }
        other => panic!("expected Expired, got {other:?}"),
    }
}

#[test]
fn too_many_certificates_are_refused() {
    let f = fixture();
    let certs = vec![f.int.clone(); 65];
    assert!(matches!(
        Chain::build(certs, &Fingerprint::of_spki_der(b"")),
        Err(Error::Certificate(CertificateError::TooMany { .. }))
    ));
}

// The tests below need `crate::signature::verify` to support the algorithm: SHA-384/512,
// RSA-PSS and ECDSA P-256/P-384.

#[test]
fn rsa_pss_signed_links_verify() {
    let f = fixture();
    let ca = TestCa::with_options(CaOptions {
        tag: "PSS".into(),
        pss: true,
        ..CaOptions::default()
    });
    let algorithms = assert_ca_chain_verifies(&ca, &f.key);
    assert_eq!(algorithms, [RSASSA_PSS; 3]);
}

#[test]
fn rsa_sha384_and_sha512_links_verify() {
    let f = fixture();
    for digest in ["sha384", "sha512"] {
        let ca = TestCa::with_options(CaOptions {
            tag: digest.to_uppercase(),
            digest,
            intermediate: false,
            ..CaOptions::default()
        });
        let algorithms = assert_ca_chain_verifies(&ca, &f.key);
        let expected = if digest == "sha384" {
            "1.2.840.113549.1.1.12"
        } else {
            "1.2.840.113549.1.1.13"
        };
        assert_eq!(algorithms, [expected; 2]);
    }
}

#[test]
fn ecdsa_p256_issuer_signs_rsa_leaf() {
    let f = fixture();
    let ca = TestCa::with_options(CaOptions {
        tag: "P-256".into(),
        root_key: CaKey::EcP256,
        intermediate: false,
        digest: "sha256",
        pss: false,
        ..CaOptions::default()
    });
    let algorithms = assert_ca_chain_verifies(&ca, &f.key);
    assert_eq!(algorithms, [ECDSA_SHA256; 2]);
}

#[test]
fn ecdsa_p384_root_and_rsa_intermediate() {
    let f = fixture();
    let ca = TestCa::with_options(CaOptions {
        tag: "P-384".into(),
        root_key: CaKey::EcP384,
        intermediate: true,
        digest: "sha384",
        pss: false,
        ..CaOptions::default()
    });
    let algorithms = assert_ca_chain_verifies(&ca, &f.key);
    // The leaf is signed by the RSA intermediate; the root's key signs the other two.
    assert_eq!(
        algorithms,
        ["1.2.840.113549.1.1.12", ECDSA_SHA384, ECDSA_SHA384]
    );
}

/// 64 certificates that all have the subject and issuer `CN=Same CA` and no key identifiers
/// (so names and key ids cannot tell the candidates apart), forming one chain of 64 links,
/// ordered so that every certificate's issuer is the last candidate tried. The greedy builder
/// then verifies each remaining candidate once per link: at most 64 * 63 / 2 signatures, never
/// an exponential search: one that backtracks over candidate orders would not finish. (How
/// long it takes is a bench's business, not a test's.)
#[test]
fn many_issuers_with_the_same_name_chain_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("c.cnf"),
        "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=x\n[v3]\n\
         basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=none\n\
         authorityKeyIdentifier=none\n",
    )
    .unwrap();
    std::fs::write(
        d.join("ext"),
        "basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=none\n\
         authorityKeyIdentifier=none\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let subject = ["-subj", "/CN=Same CA", "-config", "c.cnf"];
    let mut args = vec!["req", "-x509", "-extensions", "v3", "-days", "2"];
    args.extend(ec);
    args.extend(subject);
    args.extend(["-keyout", "k0", "-out", "c0"]);
    common::openssl::openssl_in(d, &args);
    const COUNT: usize = 64;
    for i in 1..COUNT {
        let (key, csr, cert) = (format!("k{i}"), format!("r{i}"), format!("c{i}"));
        let (ca_key, ca_cert) = (format!("k{}", i - 1), format!("c{}", i - 1));
        let serial = i.to_string();
        let mut args = vec!["req", "-new"];
        args.extend(ec);
        args.extend(subject);
        args.extend(["-keyout", &key, "-out", &csr]);
        common::openssl::openssl_in(d, &args);
        X509Req {
            csr: &csr,
            ca: (&ca_cert, &ca_key),
            serial: &serial,
            days: "2",
            out: &cert,
        }
        .run(d, &["-extfile", "ext"]);
    }
    let certs: Vec<Certificate> = (0..COUNT)
        .map(|i| {
            let pem = std::fs::read_to_string(d.join(format!("c{i}"))).unwrap();
            Certificate::from_pem(&pem).unwrap()
        })
        .collect();
    assert!(certs.iter().all(|c| c.subject() == "CN=Same CA"));
    assert!(certs.iter().all(|c| c.subject_key_id().is_none()));
    let leaf = certs[COUNT - 1].clone();
    // The leaf first, then c0, c1, ...: the issuer of c(i) is c(i-1), the last candidate left.
    let mut input = vec![leaf.clone()];
    input.extend(certs[..COUNT - 1].iter().cloned());

    let chain = Chain::build(input, &leaf.fingerprint()).unwrap();
    let expected: Vec<Certificate> = certs.iter().rev().cloned().collect();
    assert_eq!(chain.certificates(), expected);
    assert_eq!(chain.root(), Some(&certs[0]));
}

/// 48 certificates, each with its own large subject (600 organizational units, about 8 KiB),
/// chained leaf to root. Comparing names folds them to text; done for every candidate at
/// every link, that was thousands of renderings of kilobyte names.
#[test]
fn many_large_names_chain_in_order() {
    const COUNT: usize = 48;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("c.cnf"),
        "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=x\n[v3]\n\
         basicConstraints=critical,CA:TRUE\n",
    )
    .unwrap();
    std::fs::write(d.join("ext"), "basicConstraints=critical,CA:TRUE\n").unwrap();
    let subject = |i: usize| -> String {
        let mut s: String = (0..600).map(|u| format!("/OU=unit {u:03}")).collect();
        s.push_str(&format!("/CN=Large CA {i}"));
        s
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let s0 = subject(0);
    let mut args = vec!["req", "-x509", "-config", "c.cnf", "-extensions", "v3"];
    args.extend(ec);
    args.extend(["-subj", &s0, "-days", "2", "-keyout", "k0", "-out", "c0"]);
    common::openssl::openssl_in(d, &args);
    for i in 1..COUNT {
        let (key, csr, cert) = (format!("k{i}"), format!("r{i}"), format!("c{i}"));
        let (ca_key, ca_cert) = (format!("k{}", i - 1), format!("c{}", i - 1));
        let (si, serial) = (subject(i), i.to_string());
        let mut args = vec!["req", "-new", "-config", "c.cnf"];
        args.extend(ec);
        args.extend(["-subj", &si, "-keyout", &key, "-out", &csr]);
        common::openssl::openssl_in(d, &args);
        X509Req {
            csr: &csr,
            ca: (&ca_cert, &ca_key),
            serial: &serial,
            days: "2",
            out: &cert,
        }
        .run(d, &["-extfile", "ext"]);
    }
    let certs: Vec<Certificate> = (0..COUNT)
        .map(|i| {
            let pem = std::fs::read_to_string(d.join(format!("c{i}"))).unwrap();
            Certificate::from_pem(&pem).unwrap()
        })
        .collect();
    assert!(certs[1].subject().len() > 6000);
    let leaf = certs[COUNT - 1].clone();
    let mut input = vec![leaf.clone()];
    input.extend(certs[..COUNT - 1].iter().cloned());
    let chain = Chain::build(input, &leaf.fingerprint()).unwrap();
    let expected: Vec<Certificate> = certs.iter().rev().cloned().collect();
    assert_eq!(chain.certificates(), expected);
}
