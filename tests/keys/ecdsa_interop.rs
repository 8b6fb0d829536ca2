//! ECDSA keys (P-256, P-384) and their requests against the OpenSSL command-line tool (3.0).
//!
//! Keys OpenSSL writes (`genpkey` PKCS#8, `ecparam -genkey` SEC1 in PEM and DER, encrypted
//! PKCS#8) import with the fingerprint of OpenSSL's own public key; other curves are refused
//! naming the curve. Keys we write are read and checked by `openssl pkey` / `openssl ec`; our
//! requests pass `openssl req -verify`, are signed with the curve's hash, and ask for no
//! keyEncipherment (RFC 5480 §3).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use keymanager::error::KeyError;
use keymanager::key::KeyEncryption;
use keymanager::{CertificateRequest, DistinguishedName, Error, KeyAlgorithm, KeyType, PrivateKey};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

use crate::common::openssl::{
    self as cli, fingerprint as openssl_fingerprint, said, stdout as openssl,
};

const PASSWORD: &str = "correct horse battery staple";

/// The two curves: our key type, OpenSSL's curve name, the hash its requests are signed with.
const CURVES: [(KeyType, &str, &str); 2] = [
    (KeyType::EcdsaP256, "P-256", "ecdsa-with-SHA256"),
    (KeyType::EcdsaP384, "P-384", "ecdsa-with-SHA384"),
];

fn dir() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn path(name: &str) -> PathBuf {
    dir().join(name)
}

fn ours(key_type: KeyType) -> PrivateKey {
    PrivateKey::generate_with_rng(&mut ChaCha8Rng::seed_from_u64(15), key_type).unwrap()
}

/// `openssl ecparam -genkey -name NAME -noout`: a SEC1 `EC PRIVATE KEY` PEM file.
fn ecparam(name: &str) -> PathBuf {
    let file = path(&format!("ecparam-{name}.pem"));
    openssl(&[
        "ecparam",
        "-genkey",
        "-name",
        name,
        "-noout",
        "-out",
        file.to_str().unwrap(),
    ]);
    file
}

#[test]
fn openssl_ec_keys_import_in_every_form() {
    for (key_type, curve, _) in CURVES {
        // PKCS#8, as `openssl genpkey` writes it.
        let pkcs8 = path(&format!("genpkey-{curve}.pem"));
        cli::genpkey(&pkcs8, "EC", &[&format!("ec_paramgen_curve:{curve}")]);
        let key = PrivateKey::from_pem(&std::fs::read_to_string(&pkcs8).unwrap()).unwrap();
        assert_eq!(key.key_type(), key_type);
        assert_eq!(key.fingerprint(), openssl_fingerprint(&pkcs8, None));

        // SEC1 `EC PRIVATE KEY`, as `openssl ecparam -genkey` writes it, PEM and DER.
        let name = if curve == "P-256" {
            "prime256v1"
        } else {
            "secp384r1"
        };
        let sec1 = ecparam(name);
        let text = std::fs::read_to_string(&sec1).unwrap();
        assert!(text.starts_with("-----BEGIN EC PRIVATE KEY-----"), "{text}");
        let key = PrivateKey::from_pem(&text).unwrap();
        assert_eq!(key.key_type(), key_type);
        assert_eq!(key.fingerprint(), openssl_fingerprint(&sec1, None));
        let der = openssl(&["ec", "-in", sec1.to_str().unwrap(), "-outform", "DER"]);
        assert_eq!(PrivateKey::from_der(&der).unwrap(), key);

        // Encrypted PKCS#8 (PBES2, AES-256-CBC), within the same KDF bounds as RSA keys.
        let encrypted = path(&format!("encrypted-{curve}.pem"));
        let pass = format!("pass:{PASSWORD}");
        openssl(&[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            sec1.to_str().unwrap(),
            "-out",
            encrypted.to_str().unwrap(),
            "-passout",
            &pass,
        ]);
        let text = std::fs::read_to_string(&encrypted).unwrap();
        assert_eq!(
            PrivateKey::from_encrypted_pem(&text, PASSWORD).unwrap(),
            key
        );
        assert!(matches!(
            PrivateKey::from_encrypted_pem(&text, "wrong"),
            Err(Error::Key(KeyError::WrongPassword))
        ));
    }
}

#[test]
fn other_curves_from_openssl_are_refused_naming_the_curve() {
    for (name, oid) in [("secp521r1", "1.3.132.0.35"), ("secp256k1", "1.3.132.0.10")] {
        let sec1 = ecparam(name);
        let pkcs8 = openssl(&["pkey", "-in", sec1.to_str().unwrap()]);
        for text in [
            std::fs::read_to_string(&sec1).unwrap(),
            String::from_utf8(pkcs8).unwrap(),
        ] {
            match PrivateKey::from_pem(&text) {
                Err(e @ Error::Key(KeyError::UnsupportedCurve { .. })) => {
                    let message = e.to_string();
                    assert!(message.contains(oid), "{message}");
                    assert!(message.contains(name), "{message}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}

#[test]
fn openssl_reads_and_checks_our_ec_keys() {
    for (key_type, curve, _) in CURVES {
        let key = ours(key_type);
        let plain = path(&format!("ours-{curve}.pem"));
        std::fs::write(&plain, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        assert_eq!(openssl_fingerprint(&plain, None), key.fingerprint());
        let check = cli::try_openssl(
            None,
            &["ec", "-in", plain.to_str().unwrap(), "-check", "-noout"],
        );
        assert!(said(&check).contains("EC Key valid"), "{}", said(&check));
        let text = String::from_utf8(openssl(&[
            "pkey",
            "-in",
            plain.to_str().unwrap(),
            "-noout",
            "-text",
        ]))
        .unwrap();
        let nist = if curve == "P-256" {
            "NIST CURVE: P-256"
        } else {
            "NIST CURVE: P-384"
        };
        assert!(text.contains(nist), "{text}");

        let encrypted = path(&format!("ours-encrypted-{curve}.pem"));
        let pem = key
            .to_encrypted_pkcs8_pem_with_rng(
                &mut ChaCha8Rng::seed_from_u64(16),
                PASSWORD,
                KeyEncryption::SCRYPT_DEFAULT,
            )
            .unwrap();
        std::fs::write(&encrypted, pem).unwrap();
        assert_eq!(
            openssl_fingerprint(&encrypted, Some(PASSWORD)),
            key.fingerprint()
        );
    }
}

#[test]
fn our_ecdsa_requests_pass_openssl_req_verify_without_key_encipherment() {
    for (key_type, curve, signature) in CURVES {
        let key = ours(key_type);
        assert_eq!(key.algorithm(), KeyAlgorithm::Ecdsa);
        let dn: DistinguishedName = "CN=www.example.com,O=Example,C=US".parse().unwrap();
        let request = CertificateRequest::builder(dn)
            .dns_name("example.com")
            .sign(&key)
            .unwrap();
        request.verify().unwrap();
        assert_eq!(request.fingerprint(), key.fingerprint());
        let file = path(&format!("request-{curve}.pem"));
        std::fs::write(&file, request.to_pem()).unwrap();
        cli::req_verify(&file);
        let text = String::from_utf8(openssl(&[
            "req",
            "-in",
            file.to_str().unwrap(),
            "-noout",
            "-text",
        ]))
        .unwrap();
        assert!(
            text.contains(&format!("Signature Algorithm: {signature}")),
            "{text}"
        );
        assert!(text.contains("Digital Signature"), "{text}");
        assert!(!text.contains("Key Encipherment"), "{text}");
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
    }
}
