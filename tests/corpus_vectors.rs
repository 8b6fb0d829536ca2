//! A public corpus nobody here wrote: the test vectors of pyca/cryptography, from the PyPI
//! package `cryptography-vectors` (50.0.2; `.ci/run` downloads it with `pip download` and
//! unpacks the wheel).
//!
//! Set `KEYMANAGER_VECTORS` to the unpacked `cryptography_vectors` directory (the one holding
//! `x509/` and `asymmetric/`). Unset, both tests say they are skipped and pass; set to a
//! directory where files are missing, they fail.
//!
//! - [`expected_outcomes`]: every file of `x509/requests/`, the files directly in `x509/` and
//!   every file of `asymmetric/PKCS8/` has an expected outcome in [`EXPECTED`], with the reason
//!   for each refusal. A file in those folders without an expectation fails the test too.
//! - [`every_file_to_every_parser`]: every file of the package goes to every parser that takes
//!   outside bytes (keys, encrypted keys, requests, certificates, names, endpoints, store files):
//!   no panic, no hang (the whole run is timed by the test harness's caller; each file's
//!   parsing is bounded by the input limits), bounded memory (peak RSS checked at the end), and
//!   every certificate that parses gives back exactly the bytes it was read from.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keymanager::{
    Certificate, CertificateRequest, DistinguishedName, Endpoint, Error, KdfParams, KeyStore,
    PrivateKey, StoreOptions,
};

/// The password of pyca's encrypted PKCS#8 test keys.
const PASSWORD: &str = "foobar";

/// What reading a file must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A request that parses and whose signature verifies.
    Verifies,
    /// A request that parses but whose signature check is refused with this error kind.
    ParsesVerifyRefused(&'static str),
    /// Certificates: this many parse (`Certificate::parse_any`). Keys: the key reads.
    Parses(usize),
    /// Refused with this error kind (`Group::Variant`).
    Refused(&'static str),
}

use Outcome::*;

/// Expected outcome per file (path relative to the package directory), and why.
///
/// Requests are read with `CertificateRequest::from_pem`/`from_der` (by extension) and
/// verified; the files directly in `x509/` with `Certificate::parse_any`; keys with
/// `PrivateKey::from_pem`/`from_der`, and an encrypted key with `from_encrypted_pem` and the
/// vector's password ([`PASSWORDS`], else `foobar`). An empty reason: the file is accepted.
const EXPECTED: &[(&str, Outcome, &str)] = &[
    // x509/requests/: real requests from OpenSSL and others, some edited by hand.
    (
        "x509/requests/bad-version.pem",
        Refused("Encoding::MalformedDer"),
        "version is not an INTEGER we can decode as v1 (0): x509-cert's CertReq decoder refuses it",
    ),
    (
        "x509/requests/basic_constraints.pem",
        ParsesVerifyRefused("Request::BadSignature"),
        "edited after signing: `openssl req -verify` fails on it too",
    ),
    (
        "x509/requests/challenge-invalid.der",
        Refused("Request::Invalid"),
        "challengePassword is not a DirectoryString",
    ),
    (
        "x509/requests/challenge-multi-valued.der",
        Refused("Request::Invalid"),
        "challengePassword with two values; RFC 2985 allows one",
    ),
    ("x509/requests/challenge-unstructured.pem", Verifies, ""),
    ("x509/requests/challenge.pem", Verifies, ""),
    (
        "x509/requests/dsa_sha1.der",
        ParsesVerifyRefused("Signature::UnsupportedAlgorithm"),
        "DSA-SHA1 signature: only RSA (PKCS#1 v1.5, PSS) and ECDSA P-256/P-384 are verified",
    ),
    (
        "x509/requests/dsa_sha1.pem",
        ParsesVerifyRefused("Signature::UnsupportedAlgorithm"),
        "DSA-SHA1, as the DER twin",
    ),
    ("x509/requests/ec_sha256.der", Verifies, ""),
    ("x509/requests/ec_sha256.pem", Verifies, ""),
    (
        "x509/requests/ec_sha256_old_header.pem",
        Verifies,
        "`NEW CERTIFICATE REQUEST` label",
    ),
    (
        "x509/requests/freeipa-bad-critical.pem",
        Verifies,
        "critical encoded explicitly as FALSE: tolerated, as OpenSSL does; the signature is good",
    ),
    (
        "x509/requests/invalid_signature.pem",
        ParsesVerifyRefused("Request::BadSignature"),
        "its signature is wrong on purpose",
    ),
    (
        "x509/requests/long-form-attribute.pem",
        Refused("Request::Invalid"),
        "challengePassword encoded with a long-form tag (APPLICATION [32]), not a DirectoryString",
    ),
    (
        "x509/requests/rsa_md4.der",
        ParsesVerifyRefused("Signature::UnsupportedAlgorithm"),
        "MD4 with RSA: broken hash, never verified",
    ),
    (
        "x509/requests/rsa_md4.pem",
        ParsesVerifyRefused("Signature::UnsupportedAlgorithm"),
        "MD4 with RSA, as the DER twin",
    ),
    ("x509/requests/rsa_sha1.der", Verifies, ""),
    ("x509/requests/rsa_sha1.pem", Verifies, ""),
    ("x509/requests/rsa_sha256.der", Verifies, ""),
    ("x509/requests/rsa_sha256.pem", Verifies, ""),
    ("x509/requests/san_rsa_sha1.der", Verifies, ""),
    ("x509/requests/san_rsa_sha1.pem", Verifies, ""),
    (
        "x509/requests/two_basic_constraints.pem",
        Refused("Request::Invalid"),
        "basicConstraints requested twice; RFC 5280 §4.2 allows an extension once",
    ),
    (
        "x509/requests/unsupported_extension.pem",
        ParsesVerifyRefused("Request::BadSignature"),
        "edited after signing: `openssl req -verify` fails on it too",
    ),
    (
        "x509/requests/unsupported_extension_critical.pem",
        ParsesVerifyRefused("Request::BadSignature"),
        "edited after signing: `openssl req -verify` fails on it too",
    ),
    (
        "x509/requests/zero-element-attribute.pem",
        Refused("Request::Invalid"),
        "an extensionRequest attribute with no value; it must have exactly one",
    ),
    // x509/*: certificates from the wild.
    ("x509/accvraiz1.pem", Parses(1), ""),
    (
        "x509/badasn1time.pem",
        Refused("Encoding::MalformedDer"),
        "a UTCTime without seconds is not DER (RFC 5280 §4.1.2.5.1)",
    ),
    ("x509/badssl-sct-anonymous-sig.der", Parses(1), ""),
    ("x509/badssl-sct-none-hash.der", Parses(1), ""),
    ("x509/badssl-sct.pem", Parses(1), ""),
    ("x509/belgian-eid-invalid-visiblestring.pem", Parses(1), ""),
    ("x509/bigoid.pem", Parses(1), ""),
    (
        "x509/cryptography-scts-tbs-precert.der",
        Refused("Encoding::MalformedDer"),
        "a bare TBSCertificate, not a certificate",
    ),
    ("x509/cryptography-scts.pem", Parses(1), ""),
    (
        "x509/cryptography.io.chain.pem",
        Parses(2),
        "leaf and intermediate",
    ),
    (
        "x509/cryptography.io.chain_with_garbage.pem",
        Refused("Certificate::IsPrivateKey"),
        "the bundle also holds a PRIVATE KEY block: a certificate file must not carry key material",
    ),
    (
        "x509/cryptography.io.old_header.pem",
        Parses(1),
        "`X509 CERTIFICATE` label",
    ),
    ("x509/cryptography.io.pem", Parses(1), ""),
    ("x509/cryptography.io.precert.pem", Parses(1), ""),
    (
        "x509/cryptography.io.with_garbage.pem",
        Refused("Certificate::IsPrivateKey"),
        "holds PRIVATE KEY blocks around the certificate: refused, never echoed",
    ),
    (
        "x509/cryptography.io.with_headers.pem",
        Refused("Certificate::IsPrivateKey"),
        "followed by an encrypted RSA PRIVATE KEY block: refused, never echoed",
    ),
    ("x509/department-of-state-root.pem", Parses(1), ""),
    ("x509/e-trust.ru.der", Parses(1), ""),
    ("x509/ecdsa_root.pem", Parses(1), ""),
    ("x509/ee-pss-sha1-cert.pem", Parses(1), ""),
    ("x509/letsencryptx3.pem", Parses(1), ""),
    ("x509/rapidssl_sha256_ca_g3.pem", Parses(1), ""),
    (
        "x509/san_edipartyname.der",
        Refused("Certificate::Invalid"),
        "a subjectAltName ediPartyName that x509-cert 0.3 cannot decode: refused as a malformed SAN, never ignored",
    ),
    (
        "x509/san_x400address.der",
        Refused("Certificate::Invalid"),
        "a subjectAltName x400Address, which x509-cert 0.3 does not decode: refused as a malformed SAN",
    ),
    ("x509/scottishpower-bitstring-dn.pem", Parses(1), ""),
    ("x509/tls-feature-ocsp-staple.pem", Parses(1), ""),
    ("x509/unique_identifier.pem", Parses(1), ""),
    (
        "x509/utf8-dnsname.pem",
        Refused("Certificate::Invalid"),
        "a dNSName holding UTF-8, which IA5String cannot: a malformed SAN",
    ),
    (
        "x509/v1_cert.pem",
        Refused("Certificate::Invalid"),
        "signed part says md5WithRSAEncryption, outer algorithm says md5: they must be equal (RFC 5280 §4.1.1.2)",
    ),
    (
        "x509/verisign_md2_root.pem",
        Parses(1),
        "parses; its MD2 signature is never verified (unsupported algorithm)",
    ),
    ("x509/wildcard_san.pem", Parses(1), ""),
    ("x509/wosign-bc-invalid.pem", Parses(1), ""),
    // asymmetric/PKCS8/: key files, plain and encrypted.
    (
        "asymmetric/PKCS8/bad-encryption-oid.pem",
        Refused("Key::EncryptionRefused"),
        "an unknown encryption scheme OID, refused by name",
    ),
    (
        "asymmetric/PKCS8/bad-oid-dsa-key.pem",
        Refused("Key::UnsupportedAlgorithm"),
        "not an RSA key (DSA with a broken OID)",
    ),
    (
        "asymmetric/PKCS8/ec-consistent-curve.pem",
        Parses(1),
        "an EC P-256 key whose PKCS#8 and SEC1 curves agree: read",
    ),
    (
        "asymmetric/PKCS8/ec-inconsistent-curve.pem",
        Refused("Key::Invalid"),
        "its PKCS#8 algorithm and its SEC1 structure name different curves: refused as spliced",
    ),
    (
        "asymmetric/PKCS8/ec-inconsistent-curve2.pem",
        Refused("Key::Invalid"),
        "PKCS#8 says secp384r1, the SEC1 structure prime256v1: refused as spliced",
    ),
    (
        "asymmetric/PKCS8/ec-invalid-private-scalar.pem",
        Refused("Key::Invalid"),
        "its private scalar is not a valid scalar of its curve",
    ),
    (
        "asymmetric/PKCS8/ec-invalid-version.pem",
        Refused("Encoding::MalformedDer"),
        "an ECPrivateKey whose version is not 1: the SEC1 decoder refuses it",
    ),
    (
        "asymmetric/PKCS8/ec_oid_not_in_reg_private_2.pkcs8.pem",
        Refused("Key::Invalid"),
        "an EC key whose curve is given by explicit parameters, not a named curve",
    ),
    (
        "asymmetric/PKCS8/ec_private_key.pem",
        Parses(1),
        "an EC key: read",
    ),
    (
        "asymmetric/PKCS8/ec_private_key_encrypted.pem",
        Parses(1),
        "decrypts (PBKDF2, AES-128) to an EC key: read",
    ),
    (
        "asymmetric/PKCS8/ecc_private_with_rfc5915_ext.pem",
        Parses(1),
        "an EC key with the RFC 5915 public key: read",
    ),
    (
        "asymmetric/PKCS8/ed25519-scrypt.pem",
        Refused("Key::UnsupportedAlgorithm"),
        "decrypts (scrypt N=2^14) to an Ed25519 key",
    ),
    (
        "asymmetric/PKCS8/enc-ec-sha1-128-rc4.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE with RC4: refused by name",
    ),
    (
        "asymmetric/PKCS8/enc-rsa-3des.pem",
        Refused("Key::EncryptionRefused"),
        "3DES: refused by name (Sweet32)",
    ),
    (
        "asymmetric/PKCS8/enc-rsa-pkcs8-pbkdf2-0iter.pem",
        Refused("Key::EncryptionRefused"),
        "PBKDF2 with 0 iterations",
    ),
    (
        "asymmetric/PKCS8/enc-rsa-pkcs8.pem",
        Refused("Key::EncryptionRefused"),
        "PBES2 with 3DES",
    ),
    (
        "asymmetric/PKCS8/enc-unknown-algorithm.pem",
        Refused("Key::EncryptionRefused"),
        "an unknown PBES2 cipher",
    ),
    (
        "asymmetric/PKCS8/enc-unknown-kdf.pem",
        Refused("Key::EncryptionRefused"),
        "an unknown PBES2 key derivation",
    ),
    (
        "asymmetric/PKCS8/enc-unknown-pbkdf2-prf.pem",
        Refused("Key::EncryptionRefused"),
        "PBKDF2 with an unknown PRF",
    ),
    (
        "asymmetric/PKCS8/enc2-rsa-pkcs8.pem",
        Refused("Key::SizeNotAllowed"),
        "decrypts (PBKDF2, AES-128-CBC) to a 1024-bit RSA key: refused under the standard size policy",
    ),
    (
        "asymmetric/PKCS8/invalid-version.der",
        Refused("Encoding::MalformedDer"),
        "PrivateKeyInfo version 2 (only 0 and 1 exist)",
    ),
    (
        "asymmetric/PKCS8/nodompar_private.pkcs8.pem",
        Refused("Key::Invalid"),
        "an EC key whose curve is given by explicit parameters, not a named curve",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9607.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES): refused by name",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9671.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9925.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9926.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9927.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9928.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9929.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9930.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9931.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/pkcs12_s2k_pem-X_9932.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/private.pem",
        Refused("Key::Invalid"),
        "an EC key whose curve is given by explicit parameters, not a named curve",
    ),
    (
        "asymmetric/PKCS8/rsa-40bitrc2.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE with 40-bit RC2",
    ),
    (
        "asymmetric/PKCS8/rsa-aes-192-cbc.pem",
        Parses(1),
        "PBKDF2-HMAC-SHA384 + AES-192-CBC",
    ),
    (
        "asymmetric/PKCS8/rsa-pbe-3des-long-salt.pem",
        Refused("Key::EncryptionRefused"),
        "PKCS#12 PBE (3DES)",
    ),
    (
        "asymmetric/PKCS8/rsa-pbewithmd5anddescbc.pem",
        Refused("Key::EncryptionRefused"),
        "PBES1 MD5 + DES",
    ),
    (
        "asymmetric/PKCS8/rsa-rc2-cbc-effective-key-length.pem",
        Refused("Key::EncryptionRefused"),
        "PBES2 with RC2",
    ),
    (
        "asymmetric/PKCS8/rsa-rc2-cbc.pem",
        Refused("Key::EncryptionRefused"),
        "PBES2 with RC2",
    ),
    (
        "asymmetric/PKCS8/rsa_pkcs8_pbes2_pbkdf2_2048_3des_sha224.pem",
        Refused("Key::EncryptionRefused"),
        "PBES2 with 3DES",
    ),
    (
        "asymmetric/PKCS8/rsa_pkcs8_pbes2_pbkdf2_2048_3des_sha384.pem",
        Refused("Key::EncryptionRefused"),
        "PBES2 with 3DES",
    ),
    (
        "asymmetric/PKCS8/rsa_pkcs8_pbes2_pbkdf2_2048_3des_sha512.pem",
        Refused("Key::EncryptionRefused"),
        "PBES2 with 3DES",
    ),
    (
        "asymmetric/PKCS8/rsa_pss_2048.pem",
        Refused("Key::UnsupportedAlgorithm"),
        "an id-RSASSA-PSS key: only rsaEncryption keys are supported",
    ),
    (
        "asymmetric/PKCS8/rsa_pss_2048_hash.pem",
        Refused("Key::UnsupportedAlgorithm"),
        "an id-RSASSA-PSS key",
    ),
    (
        "asymmetric/PKCS8/rsa_pss_2048_hash_mask.pem",
        Refused("Key::UnsupportedAlgorithm"),
        "an id-RSASSA-PSS key",
    ),
    (
        "asymmetric/PKCS8/rsa_pss_2048_hash_mask_diff.pem",
        Refused("Key::UnsupportedAlgorithm"),
        "an id-RSASSA-PSS key",
    ),
    (
        "asymmetric/PKCS8/rsa_pss_2048_hash_mask_salt.pem",
        Refused("Key::UnsupportedAlgorithm"),
        "an id-RSASSA-PSS key",
    ),
    (
        "asymmetric/PKCS8/rsa_pss_2048_pub.der",
        Refused("Key::WrongType"),
        "a public key (SubjectPublicKeyInfo), named as such",
    ),
    (
        "asymmetric/PKCS8/unenc-dsa-pkcs8.pem",
        Refused("Key::UnsupportedAlgorithm"),
        "a DSA key",
    ),
    (
        "asymmetric/PKCS8/unenc-dsa-pkcs8.pub.pem",
        Refused("Encoding::WrongPemLabel"),
        "a PUBLIC KEY block",
    ),
    (
        "asymmetric/PKCS8/unenc-rsa-pkcs8.pem",
        Refused("Key::SizeNotAllowed"),
        "a 1024-bit RSA key: refused under the standard size policy",
    ),
    (
        "asymmetric/PKCS8/unenc-rsa-pkcs8.pub.pem",
        Refused("Encoding::WrongPemLabel"),
        "a PUBLIC KEY block",
    ),
    (
        "asymmetric/PKCS8/unknown-oid.der",
        Refused("Key::UnsupportedAlgorithm"),
        "an unknown key algorithm OID, named",
    ),
    (
        "asymmetric/PKCS8/withdompar_private.pkcs8.pem",
        Refused("Key::UnsupportedCurve"),
        "an EC key on the curve 1.3.6.1.4.1.8301.3.1.2.9.0.33, neither P-256 nor P-384",
    ),
    (
        "asymmetric/PKCS8/wrong-pem-delimiter-rsa.pem",
        Parses(1),
        "labelled RSA PRIVATE KEY but holding PKCS#8: keys are classified by their DER, as `openssl pkey` reads it",
    ),
];

/// The vectors' passwords where they are not `foobar` (found with `openssl pkey -passin`).
const PASSWORDS: &[(&str, &str)] = &[
    ("asymmetric/PKCS8/ec_private_key_encrypted.pem", "123456"),
    ("asymmetric/PKCS8/ed25519-scrypt.pem", "hunter42"),
    ("asymmetric/PKCS8/enc2-rsa-pkcs8.pem", "baz"),
    ("asymmetric/PKCS8/rsa-aes-192-cbc.pem", "PolarSSLTest"),
];

#[test]
fn expected_outcomes() {
    let Some(root) = vectors_dir() else {
        return;
    };
    let mut files = Vec::new();
    for dir in ["x509/requests", "x509", "asymmetric/PKCS8"] {
        let listed = list_files(&root.join(dir));
        assert!(
            !listed.is_empty(),
            "{} holds no files",
            root.join(dir).display()
        );
        files.extend(listed);
    }
    let mut missing_files: Vec<&str> = EXPECTED
        .iter()
        .map(|(file, _, _)| *file)
        .filter(|file| !root.join(file).is_file())
        .collect();
    missing_files.sort();
    assert!(
        missing_files.is_empty(),
        "KEYMANAGER_VECTORS={} lacks files the table expects: {missing_files:?}",
        root.display()
    );
    let mut wrong = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .into_owned();
        let got = outcome(&rel, &fs::read(path).expect("reading a vector"));
        match EXPECTED.iter().find(|(file, _, _)| *file == rel) {
            Some((_, expected, _)) if *expected == got => {}
            Some((_, expected, why)) => {
                wrong.push(format!("{rel}: expected {expected:?} ({why}), got {got:?}"))
            }
            None => wrong.push(format!(
                "(\"{rel}\", {got:?}, \"<why>\"), // no expectation"
            )),
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    for (_, outcome, _) in EXPECTED {
        let kind = match outcome {
            Verifies => "verifies".to_string(),
            ParsesVerifyRefused(kind) => format!("parses, verify refused: {kind}"),
            Parses(_) => "parses".to_string(),
            Refused(kind) => format!("refused: {kind}"),
        };
        *counts.entry(kind).or_insert(0) += 1;
    }
    println!("{} files checked: {counts:#?}", files.len());
    assert!(
        wrong.is_empty(),
        "{} files differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_file_to_every_parser() {
    let Some(root) = vectors_dir() else {
        return;
    };
    let files = list_files_recursive(&root);
    assert!(
        files.len() > 1000,
        "{} holds only {} files",
        root.display(),
        files.len()
    );
    let started = Instant::now();
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let store_options = StoreOptions::new()
        .kdf(KdfParams::new(8, 1, 1).expect("KDF parameters"))
        .busy_timeout(Duration::ZERO);
    let mut slowest = (Duration::ZERO, PathBuf::new());
    let mut certificates = 0;
    for (i, path) in files.iter().enumerate() {
        let bytes = fs::read(path).expect("reading a vector");
        let one = Instant::now();
        let text = std::str::from_utf8(&bytes).ok();

        let _ = PrivateKey::from_der(&bytes);
        let _ = PrivateKey::from_encrypted_der(&bytes, PASSWORD);
        let _ = CertificateRequest::from_der(&bytes).map(|r| r.verify());
        if let Ok(cert) = Certificate::from_der(&bytes) {
            assert_eq!(cert.to_der(), bytes.as_slice(), "{}", path.display());
        }
        if let Ok(certs) = Certificate::parse_any(&bytes) {
            for cert in &certs {
                assert!(
                    came_from(cert.to_der(), &bytes),
                    "{}: a certificate's DER is not in the input",
                    path.display()
                );
                let again = Certificate::from_der(cert.to_der()).expect("our own DER reads back");
                assert_eq!(&again, cert);
            }
            certificates += certs.len();
        }
        if let Some(text) = text {
            let _ = PrivateKey::from_pem(text);
            let _ = PrivateKey::from_encrypted_pem(text, PASSWORD);
            let _ = CertificateRequest::from_pem(text).map(|r| r.verify());
            let _ = Certificate::chain_from_pem(text);
            let _ = text.parse::<DistinguishedName>();
            let _ = text.parse::<Endpoint>();
            // Line by line too: the text vectors are mostly `key = value` lines.
            for line in text.lines().take(2000) {
                let _ = line.parse::<DistinguishedName>();
                let _ = line.parse::<Endpoint>();
            }
        }
        // As a store file: a copy, so that the vectors stay as they are.
        let store_path = scratch.path().join(format!("store-{i}.db"));
        fs::write(&store_path, &bytes).expect("writing a store copy");
        if let Ok(store) = KeyStore::open_with(&store_path, "passphrase", &store_options) {
            let _ = store.entries();
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", store_path.display()));
        }

        let took = one.elapsed();
        assert!(
            took < Duration::from_secs(10),
            "{} took {took:?}",
            path.display()
        );
        if took > slowest.0 {
            slowest = (took, path.clone());
        }
    }
    let peak = peak_rss_kib();
    println!(
        "{} files, {certificates} certificates, in {:?}; slowest {:?} ({}); peak RSS {peak:?} KiB",
        files.len(),
        started.elapsed(),
        slowest.0,
        slowest.1.display()
    );
    if let Some(peak) = peak {
        assert!(
            peak < 1024 * 1024,
            "peak RSS {peak} KiB: memory is not bounded"
        );
    }
}

/// What reading the file `rel` (relative to the package) gives; see [`EXPECTED`].
fn outcome(rel: &str, bytes: &[u8]) -> Outcome {
    let text = std::str::from_utf8(bytes).ok();
    let is_pem = rel.ends_with(".pem");
    if rel.starts_with("x509/requests/") {
        let request = match (is_pem, text) {
            (true, Some(text)) => CertificateRequest::from_pem(text),
            _ => CertificateRequest::from_der(bytes),
        };
        return match request {
            Ok(request) => match request.verify() {
                Ok(()) => Verifies,
                Err(e) => ParsesVerifyRefused(kind(&e)),
            },
            Err(e) => Refused(kind(&e)),
        };
    }
    if rel.starts_with("asymmetric/") {
        let key = match (is_pem, text) {
            (true, Some(text)) if text.contains("ENCRYPTED PRIVATE KEY") => {
                let password = PASSWORDS
                    .iter()
                    .find_map(|(file, pw)| (*file == rel).then_some(*pw))
                    .unwrap_or(PASSWORD);
                PrivateKey::from_encrypted_pem(text, password)
            }
            (true, Some(text)) => PrivateKey::from_pem(text),
            _ => PrivateKey::from_der(bytes),
        };
        return match key {
            Ok(_) => Parses(1),
            Err(e) => Refused(kind(&e)),
        };
    }
    match Certificate::parse_any(bytes) {
        Ok(certs) => Parses(certs.len()),
        Err(e) => Refused(kind(&e)),
    }
}

/// An error's kind, `Group::Variant`, from its `Debug` form (`Key(WrongPassword)`,
/// `Encoding(MalformedDer { .. })`); leaked so that it compares with the table's literals.
fn kind(e: &Error) -> &'static str {
    let debug = format!("{e:?}");
    let (group, rest) = debug.split_once('(').unwrap_or((&debug, ""));
    let variant = rest
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or("");
    let kind = format!("{group}::{variant}");
    match EXPECTED.iter().find_map(|(_, o, _)| match o {
        ParsesVerifyRefused(k) | Refused(k) if *k == kind => Some(*k),
        _ => None,
    }) {
        Some(k) => k,
        None => Box::leak(kind.into_boxed_str()),
    }
}

/// Whether `der` is the input itself or the contents of one of its PEM blocks, or appears in
/// it (a certificate inside a PKCS#7 bundle).
fn came_from(der: &[u8], input: &[u8]) -> bool {
    if input.windows(der.len()).any(|w| w == der) {
        return true;
    }
    let Ok(text) = std::str::from_utf8(input) else {
        return false;
    };
    pem::parse_many(text).is_ok_and(|blocks| {
        blocks
            .iter()
            .any(|b| b.contents().windows(der.len()).any(|w| w == der))
    })
}

/// `KEYMANAGER_VECTORS`, checked; `None` (skipped, said so) when unset.
fn vectors_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("KEYMANAGER_VECTORS") else {
        println!(
            "skipped: KEYMANAGER_VECTORS is not set (the unpacked cryptography-vectors package; \
             .ci/run sets it)"
        );
        return None;
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("x509").is_dir() && dir.join("asymmetric/PKCS8").is_dir(),
        "KEYMANAGER_VECTORS={} is not the unpacked cryptography_vectors directory (no x509/ \
         or asymmetric/PKCS8/)",
        dir.display()
    );
    Some(dir)
}

/// The regular files directly in `dir`, sorted.
fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Every regular file under `dir`, sorted.
fn list_files_recursive(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The process's peak resident set size (`VmHWM`), where `/proc` has it.
fn peak_rss_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
