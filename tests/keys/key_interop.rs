//! Interoperability of `PrivateKey` with the OpenSSL command-line tool (3.0).
//!
//! Keys we write must be read by `openssl pkey`, and keys OpenSSL writes (PKCS#1, PKCS#8,
//! encrypted PKCS#8 with PBKDF2 or scrypt) must import with the fingerprint OpenSSL's own public
//! key has. Legacy encryption OpenSSL can still write is refused by name.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use der::Decode;
use keymanager::error::{EncodingError, KeyError};
use keymanager::key::KeyEncryption;
use keymanager::{Error, KeySizePolicy, PrivateKey};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

use crate::common::openssl::{self as cli, stdout as openssl};

const PASSWORD: &str = "correct horse battery staple";

/// One temporary directory for every file of these tests.
fn dir() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Our key, generated once.
fn ours() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(42), 2048).unwrap()
    })
}

/// A 2048-bit key written by `openssl genpkey -algorithm RSA` (PKCS#8 PEM), generated once.
fn openssl_key() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = dir().join("openssl-genpkey.pem");
        cli::genpkey(&path, "RSA", &["rsa_keygen_bits:2048"]);
        path
    })
}

/// Runs `openssl` with the arguments and returns its output, whatever the exit status.
fn try_openssl(args: &[&str]) -> Output {
    cli::try_openssl(None, args)
}

fn write(name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn read_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

use crate::common::openssl::{fingerprint as openssl_fingerprint, spki as openssl_spki};

/// The modulus of a DER SPKI, as upper-case hex like `openssl rsa -modulus` prints it.
fn modulus_hex(spki_der: &[u8]) -> String {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).unwrap();
    let public = pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(
        spki.subject_public_key.raw_bytes(),
    )
    .unwrap();
    hex::encode_upper(public.modulus.as_bytes())
}

fn openssl_modulus(path: &Path, password: Option<&str>) -> String {
    let pass = password.map(|p| format!("pass:{p}"));
    let mut args = vec!["rsa", "-in", path.to_str().unwrap(), "-noout", "-modulus"];
    if let Some(pass) = &pass {
        args.extend(["-passin", pass]);
    }
    let out = String::from_utf8(openssl(&args)).unwrap();
    out.trim().strip_prefix("Modulus=").unwrap().to_owned()
}

fn refusal(result: keymanager::Result<PrivateKey>) -> String {
    match result {
        Err(Error::Key(KeyError::EncryptionRefused { reason })) => reason,
        other => panic!("expected EncryptionRefused, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// What we write, OpenSSL reads
// ---------------------------------------------------------------------------------------------

#[test]
fn openssl_reads_our_pkcs8() {
    let key = ours();
    let path = write("ours.pem", key.to_pkcs8_pem().unwrap().as_bytes());
    assert_eq!(openssl_spki(&path, None), key.public_key_der());
    assert_eq!(
        openssl_modulus(&path, None),
        modulus_hex(key.public_key_der())
    );
    let check = String::from_utf8(openssl(&[
        "rsa",
        "-in",
        path.to_str().unwrap(),
        "-check",
        "-noout",
    ]))
    .unwrap();
    assert!(check.contains("RSA key ok"), "{check}");

    let der = write("ours.der", &*key.to_pkcs8_der().unwrap());
    let spki = openssl(&[
        "pkey",
        "-inform",
        "DER",
        "-in",
        der.to_str().unwrap(),
        "-pubout",
        "-outform",
        "DER",
    ]);
    assert_eq!(spki, key.public_key_der());

    let public = write("ours-pub.pem", key.public_key_pem().unwrap());
    let spki = openssl(&[
        "pkey",
        "-pubin",
        "-in",
        public.to_str().unwrap(),
        "-pubout",
        "-outform",
        "DER",
    ]);
    assert_eq!(spki, key.public_key_der());
}

#[test]
fn openssl_reads_our_encrypted_pkcs8_with_scrypt_and_pbkdf2() {
    let key = ours();
    let mut rng = ChaCha8Rng::seed_from_u64(43);
    for (name, encryption) in [
        ("scrypt", KeyEncryption::default()),
        ("pbkdf2", KeyEncryption::PBKDF2_SHA256_DEFAULT),
    ] {
        let pem = key
            .to_encrypted_pkcs8_pem_with_rng(&mut rng, PASSWORD, encryption)
            .unwrap();
        let path = write(&format!("ours-{name}.pem"), &pem);
        assert_eq!(
            openssl_spki(&path, Some(PASSWORD)),
            key.public_key_der(),
            "{name}"
        );
        assert_eq!(
            openssl_modulus(&path, Some(PASSWORD)),
            modulus_hex(key.public_key_der()),
            "{name}"
        );
        let wrong = try_openssl(&[
            "pkey",
            "-in",
            path.to_str().unwrap(),
            "-passin",
            "pass:not the password",
            "-noout",
        ]);
        assert!(
            !wrong.status.success(),
            "{name}: openssl accepted a wrong password"
        );
        // And OpenSSL agrees on what we wrote: PBES2, AES-256-CBC, the KDF asked for.
        let dump =
            String::from_utf8(openssl(&["asn1parse", "-in", path.to_str().unwrap()])).unwrap();
        assert!(
            dump.contains(":PBES2") && dump.contains(":aes-256-cbc"),
            "{dump}"
        );
        assert!(
            dump.contains(if name == "scrypt" {
                ":scrypt"
            } else {
                ":hmacWithSHA256"
            }),
            "{dump}"
        );
    }

    // The DER form, and a non-ASCII password (both sides use its UTF-8 bytes).
    let password = "pässwörd €";
    let der = key
        .to_encrypted_pkcs8_der_with_rng(&mut rng, password, KeyEncryption::default())
        .unwrap();
    let path = write("ours-encrypted.der", &der);
    let pass = format!("pass:{password}");
    let spki = openssl(&[
        "pkey",
        "-inform",
        "DER",
        "-in",
        path.to_str().unwrap(),
        "-passin",
        &pass,
        "-pubout",
        "-outform",
        "DER",
    ]);
    assert_eq!(spki, key.public_key_der());
}

#[test]
fn our_os_rng_encryption_round_trips_through_openssl() {
    let key = ours();
    let pem = key
        .to_encrypted_pkcs8_pem(PASSWORD, KeyEncryption::default())
        .unwrap();
    let path = write("ours-os-rng.pem", &pem);
    // OpenSSL re-encrypts it its own way; we read that back.
    let reencrypted = openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        path.to_str().unwrap(),
        "-passin",
        &format!("pass:{PASSWORD}"),
        "-v2",
        "aes-256-cbc",
        "-passout",
        "pass:another",
    ]);
    let back =
        PrivateKey::from_encrypted_pem(std::str::from_utf8(&reencrypted).unwrap(), "another")
            .unwrap();
    assert_eq!(&back, key);
}

// ---------------------------------------------------------------------------------------------
// What OpenSSL writes, we read
// ---------------------------------------------------------------------------------------------

#[test]
fn openssl_genpkey_pkcs8_imports_with_openssls_fingerprint() {
    let path = openssl_key();
    let pem = read_string(path);
    assert!(pem.contains("-----BEGIN PRIVATE KEY-----"), "{pem}");
    let key = PrivateKey::from_pem(&pem).unwrap();
    assert_eq!(key.bits(), 2048);
    assert_eq!(key.fingerprint(), openssl_fingerprint(path, None));
    assert_eq!(key.public_key_der(), openssl_spki(path, None));

    let der = openssl(&["pkey", "-in", path.to_str().unwrap(), "-outform", "DER"]);
    assert_eq!(PrivateKey::from_der(&der).unwrap(), key);
}

#[test]
fn openssl_genrsa_traditional_pkcs1_imports_with_openssls_fingerprint() {
    let path = dir().join("openssl-genrsa.pem");
    openssl(&[
        "genrsa",
        "-traditional",
        "-out",
        path.to_str().unwrap(),
        "2048",
    ]);
    let pem = read_string(&path);
    assert!(pem.contains("-----BEGIN RSA PRIVATE KEY-----"), "{pem}");
    let key = PrivateKey::from_pem(&pem).unwrap();
    assert_eq!(key.fingerprint(), openssl_fingerprint(&path, None));

    let der = openssl(&[
        "rsa",
        "-in",
        path.to_str().unwrap(),
        "-traditional",
        "-outform",
        "DER",
    ]);
    assert_eq!(PrivateKey::from_der(&der).unwrap(), key);
}

#[test]
fn openssl_encrypted_pkcs8_imports() {
    let path = openssl_key();
    let expected = openssl_fingerprint(path, None);
    let pass = format!("pass:{PASSWORD}");
    for (name, extra) in [
        ("pbkdf2-sha256-aes256", &["-v2", "aes-256-cbc"][..]),
        (
            "pbkdf2-sha1-aes256",
            &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1"],
        ),
        (
            "pbkdf2-sha512-aes128",
            &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"],
        ),
        (
            "pbkdf2-aes192-100k",
            &["-v2", "aes-192-cbc", "-iter", "100000"],
        ),
        ("scrypt", &["-scrypt"]),
        (
            "scrypt-explicit",
            &[
                "-v2",
                "aes-256-cbc",
                "-scrypt",
                "-scrypt_N",
                "16384",
                "-scrypt_r",
                "8",
                "-scrypt_p",
                "2",
            ],
        ),
    ] {
        let mut args = vec![
            "pkcs8",
            "-topk8",
            "-in",
            path.to_str().unwrap(),
            "-passout",
            &pass,
        ];
        args.extend_from_slice(extra);
        let pem = String::from_utf8(openssl(&args)).unwrap();
        assert!(
            pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{name}"
        );
        let key = PrivateKey::from_encrypted_pem(&pem, PASSWORD)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(key.fingerprint(), expected, "{name}");
        assert!(
            matches!(
                PrivateKey::from_encrypted_pem(&pem, "Correct horse battery staple"),
                Err(Error::Key(KeyError::WrongPassword))
            ),
            "{name}"
        );
        assert!(
            matches!(
                PrivateKey::from_pem(&pem),
                Err(Error::Key(KeyError::Encrypted))
            ),
            "{name}"
        );
    }

    let der = openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        path.to_str().unwrap(),
        "-passout",
        &pass,
        "-v2",
        "aes-256-cbc",
        "-outform",
        "DER",
    ]);
    assert_eq!(
        PrivateKey::from_encrypted_der(&der, PASSWORD)
            .unwrap()
            .fingerprint(),
        expected
    );
}

#[test]
fn openssl_512_bit_key_needs_the_legacy_policy() {
    let path = dir().join("openssl-512.pem");
    openssl(&["genrsa", "-out", path.to_str().unwrap(), "512"]);
    let pem = read_string(&path);
    match PrivateKey::from_pem(&pem) {
        Err(Error::Key(KeyError::SizeNotAllowed { bits: 512, reason })) => {
            assert!(reason.contains("2048, 3072 or 4096"), "{reason}");
        }
        other => panic!("expected SizeNotAllowed, got {other:?}"),
    }
    let key = PrivateKey::from_pem_with_policy(&pem, KeySizePolicy::InsecureLegacy).unwrap();
    assert_eq!(key.bits(), 512);
    assert_eq!(key.fingerprint(), openssl_fingerprint(&path, None));
}

// ---------------------------------------------------------------------------------------------
// What OpenSSL writes, we refuse
// ---------------------------------------------------------------------------------------------

/// Our OpenSSL-written key encrypted by `openssl pkcs8 -topk8 <flag> <scheme>` (`-v1` for a
/// PBES1 scheme, `-v2` for a PBES2 cipher), with the legacy provider loaded: RC2 and single
/// DES live there in OpenSSL 3.
fn openssl_encrypt_legacy(flag: &str, scheme: &str) -> String {
    let path = openssl_key();
    let pass = format!("pass:{PASSWORD}");
    let out = try_openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        path.to_str().unwrap(),
        "-passout",
        &pass,
        flag,
        scheme,
        "-provider",
        "legacy",
        "-provider",
        "default",
    ]);
    assert!(
        out.status.success(),
        "openssl could not write {flag} {scheme} (is the legacy provider installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn openssl_legacy_pbe_is_refused_by_name() {
    for (scheme, name, cipher) in [
        ("PBE-SHA1-RC2-40", "pbeWithSHAAnd40BitRC2-CBC", "40-bit RC2"),
        ("PBE-MD5-DES", "pbeWithMD5AndDES-CBC", "56-bit DES"),
        ("PBE-SHA1-3DES", "pbeWithSHAAnd3-KeyTripleDES-CBC", "3DES"),
    ] {
        let pem = openssl_encrypt_legacy("-v1", scheme);
        let reason = refusal(PrivateKey::from_encrypted_pem(&pem, PASSWORD));
        assert!(
            reason.contains(name) && reason.contains(cipher),
            "{scheme}: {reason}"
        );
        assert!(reason.contains("aes-256-cbc"), "{scheme}: {reason}");
    }
}

#[test]
fn openssl_pbes2_with_weak_ciphers_is_refused_by_name() {
    for (cipher, name) in [
        ("des3", "3DES"),
        ("des-cbc", "single DES"),
        ("rc2-40-cbc", "RC2"),
    ] {
        let pem = openssl_encrypt_legacy("-v2", cipher);
        let reason = refusal(PrivateKey::from_encrypted_pem(&pem, PASSWORD));
        assert!(reason.contains(name), "{cipher}: {reason}");
    }
}

#[test]
fn openssl_traditional_encrypted_pem_is_refused_with_advice() {
    let path = openssl_key();
    let pem = String::from_utf8(openssl(&[
        "rsa",
        "-in",
        path.to_str().unwrap(),
        "-traditional",
        "-aes256",
        "-passout",
        &format!("pass:{PASSWORD}"),
    ]))
    .unwrap();
    assert!(pem.contains("Proc-Type: 4,ENCRYPTED"), "{pem}");
    for result in [
        PrivateKey::from_pem(&pem),
        PrivateKey::from_encrypted_pem(&pem, PASSWORD),
    ] {
        let reason = refusal(result);
        assert!(reason.contains("openssl pkcs8 -topk8"), "{reason}");
    }
}

#[test]
fn openssl_non_rsa_keys_name_their_algorithm() {
    for (name, args, oid) in [
        // EC keys are read (tests/keys/ecdsa_interop.rs); EdDSA keys are not.
        ("ed448", &["-algorithm", "ED448"][..], "1.3.101.113"),
        ("ed25519", &["-algorithm", "ED25519"], "1.3.101.112"),
        (
            "rsa-pss",
            &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:1024"],
            "1.2.840.113549.1.1.10",
        ),
    ] {
        let mut all = vec!["genpkey"];
        all.extend_from_slice(args);
        let pem = String::from_utf8(openssl(&all)).unwrap();
        match PrivateKey::from_pem(&pem) {
            Err(Error::Key(KeyError::UnsupportedAlgorithm { oid: found })) => {
                assert_eq!(found.to_string(), oid, "{name}");
            }
            other => panic!("{name}: expected UnsupportedAlgorithm, got {other:?}"),
        }
        // Encrypted, the same answer once decrypted.
        let path = write(&format!("{name}.pem"), &pem);
        let encrypted = String::from_utf8(openssl(&[
            "pkcs8",
            "-topk8",
            "-in",
            path.to_str().unwrap(),
            "-v2",
            "aes-256-cbc",
            "-passout",
            &format!("pass:{PASSWORD}"),
        ]))
        .unwrap();
        assert!(
            matches!(
                PrivateKey::from_encrypted_pem(&encrypted, PASSWORD),
                Err(Error::Key(KeyError::UnsupportedAlgorithm { oid: found })) if found.to_string() == oid
            ),
            "{name}"
        );
    }
    // SEC1 `EC PRIVATE KEY` is read now (tests/keys/ecdsa_interop.rs); a DSA key is not.
    let path = write(
        "dsa-params.pem",
        String::from_utf8(openssl(&[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DSA",
            "-pkeyopt",
            "dsa_paramgen_bits:1024",
        ]))
        .unwrap(),
    );
    let dsa =
        String::from_utf8(openssl(&["genpkey", "-paramfile", path.to_str().unwrap()])).unwrap();
    assert!(matches!(
        PrivateKey::from_pem(&dsa),
        Err(Error::Key(KeyError::UnsupportedAlgorithm { oid })) if oid.to_string() == "1.2.840.10040.4.1"
    ));
}

#[test]
fn certificates_and_requests_are_wrong_pem_labels() {
    let path = openssl_key();
    for (label, extra) in [
        ("CERTIFICATE REQUEST", &[][..]),
        ("CERTIFICATE", &["-x509", "-days", "1"][..]),
    ] {
        let mut args = vec![
            "req",
            "-new",
            "-key",
            path.to_str().unwrap(),
            "-subj",
            "/CN=www.example.com",
        ];
        args.extend_from_slice(extra);
        let pem = String::from_utf8(openssl(&args)).unwrap();
        match PrivateKey::from_pem(&pem) {
            Err(Error::Encoding(EncodingError::WrongPemLabel { found, .. })) => {
                assert_eq!(found, label)
            }
            other => panic!("{label}: expected WrongPemLabel, got {other:?}"),
        }
        assert!(matches!(
            PrivateKey::from_encrypted_pem(&pem, PASSWORD),
            Err(Error::Encoding(EncodingError::WrongPemLabel { .. }))
        ));
        // The same objects as DER are named for what they are.
        let der = pem::parse(&pem).unwrap().into_contents();
        let expected = if label == "CERTIFICATE" {
            "X.509 certificate"
        } else {
            "certificate request"
        };
        match PrivateKey::from_der(&der) {
            Err(Error::Key(KeyError::WrongType { found })) => {
                assert!(found.contains(expected), "{label}: {found}")
            }
            other => panic!("{label}: expected WrongType, got {other:?}"),
        }
    }
}
