//! Requests signed by whichever backend this build uses (the `rsa` crate by default; aws-lc-rs
//! for keys of 2048 bits and more with the `aws-lc-rs` feature) verify with OpenSSL and with
//! our own verifier, at every size, for every hash; CI runs this file in both builds. The
//! cross-backend byte-for-byte check is a unit test in `src/backend.rs`.

use keymanager::{CertificateRequest, KeySizePolicy, PrivateKey, SignatureHash};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::common::openssl::{self as cli, req_verify};

fn key(bits: usize) -> PrivateKey {
    let mut rng = ChaCha8Rng::seed_from_u64(bits as u64 + 17);
    PrivateKey::generate_rsa_with_policy(&mut rng, bits, KeySizePolicy::InsecureLegacy).unwrap()
}

/// OpenSSL checks the request's signature (`openssl req -verify`) and reads back its key.
fn openssl_verifies(request: &CertificateRequest, key: &PrivateKey) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("req.pem");
    std::fs::write(&file, request.to_pem()).unwrap();
    req_verify(&file);
    let file = file.to_str().unwrap();
    let public = cli::openssl(None, &["req", "-pubkey", "-noout", "-in", file]);
    let from_openssl = pem::parse(&public.stdout).unwrap();
    assert_eq!(from_openssl.contents(), key.public_key_der());
}

#[test]
fn requests_verify_with_openssl_at_every_size_and_hash() {
    for bits in [512, 1024, 2048, 3072] {
        let key = key(bits);
        for hash in [
            SignatureHash::Sha256,
            SignatureHash::Sha384,
            SignatureHash::Sha512,
        ] {
            // The SHA-384 and SHA-512 DigestInfos (67 and 83 bytes) plus 11 bytes of padding
            // do not fit a 512-bit (64-byte) modulus.
            if bits == 512 && hash != SignatureHash::Sha256 {
                continue;
            }
            let request =
                CertificateRequest::builder("CN=www.example.com,O=Backend Test".parse().unwrap())
                    .dns_name("www.example.com")
                    .signature_hash(hash)
                    .sign(&key)
                    .unwrap_or_else(|e| panic!("{bits}-bit {hash:?}: {e}"));
            request.verify().unwrap();
            openssl_verifies(&request, &key);
        }
    }
}

/// PKCS#1 v1.5 is deterministic, so whichever backend signs, a request for the same key and
/// contents is the same bytes, including after the key went through PKCS#8 (a fresh backend
/// key) and a copy.
#[test]
fn signatures_do_not_depend_on_the_key_object() {
    let key = key(2048);
    let copy = key.clone();
    let reread = PrivateKey::from_der(&key.to_pkcs8_der().unwrap()).unwrap();
    let sign = |k: &PrivateKey| {
        CertificateRequest::builder("CN=www.example.com".parse().unwrap())
            .sign(k)
            .unwrap()
            .to_der()
    };
    let first = sign(&key);
    assert_eq!(sign(&key), first);
    assert_eq!(sign(&copy), first);
    assert_eq!(sign(&reread), first);
}

/// OpenSSL signs the same `CertificationRequestInfo` with the same key and hash: its
/// signature is the same bytes as ours (PKCS#1 v1.5 is deterministic).
#[test]
fn openssl_makes_the_same_signature_bytes() {
    use der::{Decode, Encode};

    for bits in [1024, 2048] {
        let key = key(bits);
        let dir = tempfile::tempdir().unwrap();
        let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
        std::fs::write(p("key.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let request = CertificateRequest::builder("CN=www.example.com".parse().unwrap())
            .sign(&key)
            .unwrap();
        let parsed = x509_cert::request::CertReq::from_der(&request.to_der()).unwrap();
        std::fs::write(p("info.der"), parsed.info.to_der().unwrap()).unwrap();
        cli::openssl(
            None,
            &[
                "dgst",
                "-sha256",
                "-sign",
                &p("key.pem"),
                "-out",
                &p("sig.bin"),
                &p("info.der"),
            ],
        );
        let theirs = std::fs::read(p("sig.bin")).unwrap();
        assert_eq!(theirs, parsed.signature.raw_bytes(), "{bits} bits");
    }
}
