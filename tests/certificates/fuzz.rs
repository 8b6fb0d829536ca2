//! Bad input never panics: mutated certificates, PKCS#7 bundles and random bytes give typed
//! errors or (for mutations that keep the DER valid) certificates that still behave.

use std::sync::OnceLock;

use keymanager::{Certificate, Chain};
use proptest::prelude::*;

use crate::common;
use common::ca::TestCa;
use common::openssl::openssl_with_files;

struct Inputs {
    leaf_der: Vec<u8>,
    p7b: Vec<u8>,
    certs: Vec<Certificate>,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let ca = TestCa::with_options(common::ca::CaOptions {
            tag: "Fuzz".into(),
            ..Default::default()
        });
        let (_, csr) = openssl_with_files(
            &[],
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "k.pem",
                "-subj",
                "/CN=fuzz.example.com",
                "-out",
                "r.csr",
            ],
            Some("r.csr"),
        );
        let leaf_pem = ca.sign_request(
            std::str::from_utf8(&csr).unwrap(),
            &[
                "subjectAltName = DNS:fuzz.example.com, IP:192.0.2.1",
                "keyUsage = digitalSignature",
                "extendedKeyUsage = serverAuth",
                "authorityKeyIdentifier = keyid",
            ],
        );
        let bundle = format!("{leaf_pem}{}", ca.chain_pem());
        let (_, p7b) = openssl_with_files(
            &[("b.pem", bundle.as_bytes())],
            &[
                "crl2pkcs7",
                "-nocrl",
                "-certfile",
                "b.pem",
                "-outform",
                "DER",
                "-out",
                "x.p7b",
            ],
            Some("x.p7b"),
        );
        let certs = Certificate::chain_from_pem(&bundle).unwrap();
        Inputs {
            leaf_der: certs[0].to_der().to_vec(),
            p7b,
            certs,
        }
    })
}

/// Exercises every accessor, so that a certificate that parsed cannot panic later.
fn touch(cert: &Certificate) {
    let _ = (cert.subject(), cert.issuer(), cert.serial_hex());
    let _ = (
        cert.not_before(),
        cert.not_after(),
        cert.dns_names(),
        cert.ip_addresses(),
    );
    let _ = (cert.covers_host("fuzz.example.com"), cert.key_usage());
    let _ = (
        cert.extended_key_usage(),
        cert.allows_server_auth(),
        cert.is_self_issued(),
    );
    let _ = (cert.fingerprint(), cert.to_pem(), cert.is_ca());
    assert!(!cert.public_key_der().is_empty());
}

fn mutate(bytes: &[u8], edits: &[(usize, u8)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for (at, value) in edits {
        let i = at % out.len();
        out[i] = *value;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_certificates_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let input = inputs();
        let der = mutate(&input.leaf_der, &edits);
        if let Ok(cert) = Certificate::from_der(&der) {
            touch(&cert);
            prop_assert_eq!(cert.to_der(), &der[..]);
            let mut certs = input.certs.clone();
            certs[0] = cert.clone();
            let _ = Chain::build(certs, &cert.fingerprint());
        }
        let _ = Certificate::parse_any(&der);
    }

    #[test]
    fn mutated_p7b_never_panics(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let p7b = mutate(&inputs().p7b, &edits);
        if let Ok(certs) = Certificate::parse_any(&p7b) {
            certs.iter().for_each(touch);
        }
    }

    #[test]
    fn truncated_inputs_are_errors(cut in 0usize..4096) {
        let input = inputs();
        let der = &input.leaf_der[..cut % input.leaf_der.len()];
        prop_assert!(Certificate::from_der(der).is_err());
        prop_assert!(Certificate::parse_any(der).is_err());
        let p7b = &input.p7b[..cut % input.p7b.len()];
        prop_assert!(Certificate::parse_any(p7b).is_err());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Certificate::parse_any(&bytes);
        let mut seq = vec![0x30, 0x82, 0x01, 0xff];
        seq.extend(&bytes);
        let _ = Certificate::parse_any(&seq);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = Certificate::chain_from_pem(text);
        }
    }
}
