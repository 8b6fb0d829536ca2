//! Hostile certificate requests never panic: arbitrary bytes, every truncation, and one-byte
//! mutations of real requests (ours, RSA PKCS#1 v1.5; OpenSSL's RSA-PSS with an MGF1 hash
//! different from the message hash, which goes through our own EMSA-PSS-VERIFY) are read and
//! verified, and each gives a value or a typed error.

use std::fs;
use std::process::Command;
use std::sync::OnceLock;

use keymanager::{CertificateRequest, DistinguishedName, PrivateKey};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Our request, with subjectAltNames, usages and a challenge password.
fn ours() -> &'static [u8] {
    static DER: OnceLock<Vec<u8>> = OnceLock::new();
    DER.get_or_init(|| {
        let key = PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(10_2986), 2048)
            .unwrap();
        let dn = DistinguishedName::builder()
            .country("US")
            .organization("Example")
            .common_name("www.example.com")
            .build()
            .unwrap();
        CertificateRequest::builder(dn)
            .dns_name("example.com")
            .ip_address("192.0.2.1".parse().unwrap())
            .challenge_password("secret")
            .sign(&key)
            .unwrap()
            .to_der()
    })
}

/// An OpenSSL RSA-PSS request: SHA-256, MGF1-SHA-1, salt 20.
fn openssl_pss() -> &'static [u8] {
    static DER: OnceLock<Vec<u8>> = OnceLock::new();
    DER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let csr = dir.path().join("req.der");
        let run = |args: &[&str]| {
            let out = Command::new("openssl").args(args).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        run(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            key.to_str().unwrap(),
        ]);
        run(&[
            "req",
            "-new",
            "-key",
            key.to_str().unwrap(),
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_mgf1_md:sha1",
            "-sigopt",
            "rsa_pss_saltlen:20",
            "-subj",
            "/CN=pss.example",
            "-outform",
            "DER",
            "-out",
            csr.to_str().unwrap(),
        ]);
        let der = fs::read(&csr).unwrap();
        CertificateRequest::from_der(&der)
            .unwrap()
            .verify()
            .unwrap();
        der
    })
}

/// Reads and verifies `der`, exercising every accessor; must not panic.
fn read_and_verify(der: &[u8]) {
    if let Ok(req) = CertificateRequest::from_der(der) {
        let _ = req.verify();
        let _ = req.subject();
        let _ = req.distinguished_name();
        let _ = req.dns_names();
        let _ = req.ip_addresses();
        let _ = format!("{req:?}");
        let _ = req.to_pem();
    }
}

#[test]
fn every_truncation_is_an_error() {
    for der in [ours(), openssl_pss()] {
        for cut in 0..der.len() {
            assert!(
                CertificateRequest::from_der(&der[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        read_and_verify(&bytes);
    }

    #[test]
    fn arbitrary_pem_never_panics(text in "(-----BEGIN CERTIFICATE REQUEST-----\n)?[A-Za-z0-9+/=\n -]{0,200}(-----END CERTIFICATE REQUEST-----\n)?") {
        if let Ok(req) = CertificateRequest::from_pem(&text) {
            let _ = req.verify();
        }
    }

    #[test]
    fn mutated_requests_never_panic(
        pss in any::<bool>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut der = if pss { openssl_pss() } else { ours() }.to_vec();
        let i = at.index(der.len());
        der[i] = byte;
        read_and_verify(&der);
    }
}
