//! PKCS#12 in and out of the store: files OpenSSL makes (its defaults, `-legacy`, AES,
//! `-nomac`), files we make read by OpenSSL and keytool, round trips between stores, odd but
//! valid shapes, and crafted files refused before any work.

use std::net::SocketAddr;
use std::path::Path;

use der::{Decode, Encode};
use hmac::{KeyInit, Mac};
use keymanager::error::Pkcs12Error;
use keymanager::pkcs12::{MAX_ITERATIONS, Pkcs12Warning};
use keymanager::{
    Certificate, Error, KeyStore, Pkcs12ExportOptions, Pkcs12ImportOptions, Pkcs12Select,
};

use crate::common::ca;
use crate::common::fixtures::{self, csr_pem, memory_store};
use crate::common::openssl::{openssl_status, pkcs12_export};

const PASSWORD: &str = "pfx password";

/// `openssl pkcs12 -export` options for a file encrypted with RC4, which `p12-keystore` cannot
/// read (the crate decrypts those parts itself).
const RC4: &[&str] = &[
    "-legacy",
    "-keypbe",
    "PBE-SHA1-RC4-128",
    "-certpbe",
    "PBE-SHA1-RC4-40",
];

/// Writes key `i` and its server certificate for `cn` (from the shared CA) into `dir` as
/// `key.pem`, `cert.pem`, and the CA chain as `chain.pem` (intermediate, root).
fn key_and_cert(dir: &Path, i: usize, cn: &str) {
    let key = fixtures::key(i);
    std::fs::write(dir.join("key.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let cert = ca::shared().sign_server(&csr_pem(&key, cn), &[cn], &[]);
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("chain.pem"), ca::shared().chain_pem()).unwrap();
}

/// `openssl pkcs12 -export` of key `i` with its chain, under `password`, with `extra` options.
fn openssl_pfx(i: usize, cn: &str, password: &str, extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    key_and_cert(dir.path(), i, cn);
    pkcs12_export(dir.path(), password, extra, "out.p12")
}

/// A store holding key `i` as entry `site`, imported from an OpenSSL file.
fn imported(i: usize, cn: &str) -> KeyStore {
    let bytes = openssl_pfx(i, cn, PASSWORD, &[]);
    import(&bytes, PASSWORD, &Pkcs12ImportOptions::new())
        .unwrap()
        .0
}

fn import(
    bytes: &[u8],
    password: &str,
    options: &Pkcs12ImportOptions,
) -> keymanager::Result<(KeyStore, keymanager::Pkcs12Import)> {
    let store = memory_store();
    let mut tx = store.begin()?;
    let done = tx.import_pkcs12_with("site", bytes, password, options)?;
    tx.commit()?;
    Ok((store, done))
}

fn pkcs12_error(result: keymanager::Result<impl std::fmt::Debug>) -> Pkcs12Error {
    match result {
        Err(Error::Pkcs12(e)) => e,
        other => panic!("expected a PKCS#12 error, got {other:?}"),
    }
}

/// The chain the store holds for `name`, DER, leaf first.
fn chain_of(store: &KeyStore, name: &str) -> Vec<Vec<u8>> {
    let export = store.export(name, "export pw").unwrap();
    Certificate::chain_from_pem(export.chain_pem())
        .unwrap()
        .iter()
        .map(|c| c.to_der().to_vec())
        .collect()
}

#[test]
fn openssl_default_file_imports_with_its_chain_in_order() {
    let bytes = openssl_pfx(
        0,
        "p12-default.example.com",
        PASSWORD,
        &["-name", "my site"],
    );
    let (store, done) = import(&bytes, PASSWORD, &Pkcs12ImportOptions::new()).unwrap();
    assert_eq!(done.names(), ["site"]);
    assert!(done.warnings().is_empty(), "{:?}", done.warnings());
    let entry = store.entry("site").unwrap();
    assert_eq!(entry.state(), keymanager::EntryState::Installed);
    assert_eq!(entry.fingerprint(), fixtures::key(0).fingerprint());
    let chain = chain_of(&store, "site");
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    let ca_chain = Certificate::chain_from_pem(&ca::shared().chain_pem()).unwrap();
    assert_eq!(chain[1], ca_chain[0].to_der());
    assert_eq!(chain[2], ca_chain[1].to_der());
}

#[test]
fn aes_file_imports_without_warning() {
    let bytes = openssl_pfx(
        1,
        "p12-aes.example.com",
        PASSWORD,
        &["-certpbe", "AES-256-CBC", "-keypbe", "AES-256-CBC"],
    );
    let (_, done) = import(&bytes, PASSWORD, &Pkcs12ImportOptions::new()).unwrap();
    assert!(done.warnings().is_empty());
}

#[test]
fn legacy_file_is_refused_by_default_and_accepted_with_the_option() {
    let bytes = openssl_pfx(2, "p12-legacy.example.com", PASSWORD, &["-legacy"]);
    let err = pkcs12_error(import(&bytes, PASSWORD, &Pkcs12ImportOptions::new()));
    assert!(
        matches!(err, Pkcs12Error::LegacyEncryption { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("--allow-legacy"), "{err}");
    let options = Pkcs12ImportOptions::new().allow_legacy(true);
    let (store, done) = import(&bytes, PASSWORD, &options).unwrap();
    assert!(
        done.warnings().contains(&Pkcs12Warning::Rc2_40),
        "{:?}",
        done.warnings()
    );
    assert!(
        done.warnings().contains(&Pkcs12Warning::TripleDes),
        "{:?}",
        done.warnings()
    );
    assert_eq!(chain_of(&store, "site").len(), 3);
}

/// RC4, which p12-keystore cannot decrypt (the crate decrypts those parts itself): refused by
/// default with the reason and the option, read with the option (either key length for either
/// part, or beside 3DES) and the warnings name it; the entry serves the file's chain.
#[test]
fn rc4_files_are_refused_by_default_and_accepted_with_the_option() {
    use Pkcs12Warning::{Rc4_40, Rc4_128, TripleDes};
    let cases: [(&str, &str, &[Pkcs12Warning]); 4] = [
        ("PBE-SHA1-RC4-128", "PBE-SHA1-RC4-40", &[Rc4_40, Rc4_128]),
        ("PBE-SHA1-RC4-40", "PBE-SHA1-RC4-128", &[Rc4_128, Rc4_40]),
        ("PBE-SHA1-RC4-128", "PBE-SHA1-RC4-128", &[Rc4_128]),
        ("PBE-SHA1-3DES", "PBE-SHA1-RC4-40", &[Rc4_40, TripleDes]),
    ];
    for (keypbe, certpbe, warnings) in cases {
        let bytes = rc4_pfx(16, PASSWORD, keypbe, certpbe);
        let err = pkcs12_error(import(&bytes, PASSWORD, &Pkcs12ImportOptions::new()));
        assert!(
            matches!(err, Pkcs12Error::LegacyEncryption { .. }),
            "{keypbe}/{certpbe}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("--allow-legacy"), "{message}");
        assert!(message.contains("RC4"), "{message}");

        let options = Pkcs12ImportOptions::new().allow_legacy(true);
        let (store, done) = import(&bytes, PASSWORD, &options)
            .unwrap_or_else(|e| panic!("{keypbe}/{certpbe}: {e}"));
        assert_eq!(done.warnings(), warnings, "{keypbe}/{certpbe}");
        for warning in done.warnings().iter().filter(|w| **w != TripleDes) {
            assert!(warning.to_string().contains("RC4"), "{warning}");
        }
        let entry = store.entry("site").unwrap();
        assert_eq!(entry.state(), keymanager::EntryState::Installed);
        assert_eq!(entry.fingerprint(), fixtures::key(16).fingerprint());
        assert_eq!(
            chain_of(&store, "site").len(),
            3,
            "leaf, intermediate, root"
        );
    }

    // Served: the resolver hands out the file's key with its chain.
    let bytes = rc4_pfx(16, PASSWORD, "PBE-SHA1-RC4-128", "PBE-SHA1-RC4-40");
    let options = Pkcs12ImportOptions::new().allow_legacy(true);
    let (store, _) = import(&bytes, PASSWORD, &options).unwrap();
    let mut tx = store.begin().unwrap();
    tx.bind("127.0.0.1:443".parse().unwrap(), "site").unwrap();
    tx.commit().unwrap();
    let identity = store
        .resolve(
            Some("p12-rc4.example.com"),
            "127.0.0.1:443".parse().unwrap(),
        )
        .unwrap()
        .unwrap();
    let served: Vec<Vec<u8>> = identity
        .chain()
        .iter()
        .map(|c| c.to_der().to_vec())
        .collect();
    assert_eq!(served, chain_of(&store, "site"));
    assert_eq!(
        Certificate::from_der(&served[0]).unwrap().fingerprint(),
        fixtures::key(16).fingerprint()
    );
}

/// `openssl pkcs12 -export -legacy` of key `i` (its certificate for `p12-rc4.example.com`, the
/// CA chain) with `keypbe` for the key and `certpbe` for the certificates.
fn rc4_pfx(i: usize, password: &str, keypbe: &str, certpbe: &str) -> Vec<u8> {
    let extra = ["-legacy", "-keypbe", keypbe, "-certpbe", certpbe];
    openssl_pfx(i, "p12-rc4.example.com", password, &extra)
}

#[test]
fn triple_des_is_accepted_with_a_warning() {
    let bytes = openssl_pfx(
        3,
        "p12-3des.example.com",
        PASSWORD,
        &[
            "-certpbe",
            "PBE-SHA1-3DES",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-macalg",
            "sha1",
        ],
    );
    let (_, done) = import(&bytes, PASSWORD, &Pkcs12ImportOptions::new()).unwrap();
    assert_eq!(done.warnings(), [Pkcs12Warning::TripleDes]);
    assert!(done.warnings()[0].to_string().contains("3DES"));
}

#[test]
fn a_file_without_mac_is_refused() {
    let bytes = openssl_pfx(4, "p12-nomac.example.com", PASSWORD, &["-nomac"]);
    let err = pkcs12_error(import(&bytes, PASSWORD, &Pkcs12ImportOptions::new()));
    assert_eq!(err, Pkcs12Error::NoMac);
    assert!(err.to_string().contains("-nomac"));
}

/// In a plain file and in an RC4 one, whose MAC the crate checks itself.
#[test]
fn wrong_password_and_altered_mac_are_told_apart() {
    let options = Pkcs12ImportOptions::new().allow_legacy(true);
    for extra in [&[][..], RC4] {
        let bytes = openssl_pfx(5, "p12-mac.example.com", PASSWORD, extra);
        for wrong in ["not the password", ""] {
            let err = pkcs12_error(import(&bytes, wrong, &options));
            assert_eq!(err, Pkcs12Error::WrongPassword, "{extra:?}, {wrong:?}");
        }
        let mut pfx = pkcs12::pfx::Pfx::from_der(&bytes).unwrap();
        let mac = pfx.mac_data.as_mut().unwrap();
        let mut digest = mac.mac.digest.as_bytes().to_vec();
        digest[0] ^= 1;
        mac.mac.digest = der::asn1::OctetString::new(digest).unwrap();
        let altered = pfx.to_der().unwrap();
        let err = pkcs12_error(import(&altered, PASSWORD, &options));
        assert_eq!(err, Pkcs12Error::BadMac, "{extra:?}");
    }
}

#[test]
fn crafted_iteration_counts_are_refused_before_any_work() {
    // The MAC: edited into a good file (the MAC no longer verifies, but it is never computed).
    let bytes = openssl_pfx(6, "p12-iter.example.com", PASSWORD, &[]);
    let mut pfx = pkcs12::pfx::Pfx::from_der(&bytes).unwrap();
    pfx.mac_data.as_mut().unwrap().iterations = i32::MAX;
    let crafted = pfx.to_der().unwrap();
    let err = pkcs12_error(import(&crafted, PASSWORD, &Pkcs12ImportOptions::new()));
    assert_eq!(
        err,
        Pkcs12Error::TooManyIterations {
            what: "MAC",
            iterations: i64::from(i32::MAX),
            limit: MAX_ITERATIONS
        }
    );
    // A key derivation: OpenSSL writes one count above the limit.
    let over = (MAX_ITERATIONS + 1).to_string();
    let bytes = openssl_pfx(
        6,
        "p12-iter.example.com",
        PASSWORD,
        &["-iter", &over, "-nomaciter"],
    );
    let err = pkcs12_error(import(&bytes, PASSWORD, &Pkcs12ImportOptions::new()));
    assert!(
        matches!(err, Pkcs12Error::TooManyIterations { what: "PBKDF2", iterations, .. } if iterations == i64::from(MAX_ITERATIONS) + 1),
        "{err:?}"
    );
}

#[test]
fn empty_and_non_ascii_passwords_interoperate_both_ways() {
    // Into plain and RC4 files (where the crate makes the BMPString key derivation itself).
    let options = Pkcs12ImportOptions::new().allow_legacy(true);
    for extra in [&[][..], RC4] {
        for (i, password) in [(7, ""), (8, "pässwörd €")] {
            let bytes = openssl_pfx(i, "p12-pw.example.com", password, extra);
            let (store, _) = import(&bytes, password, &options)
                .unwrap_or_else(|e| panic!("{extra:?}, password {password:?}: {e}"));
            let ours = store
                .export_pkcs12("site", password, &Pkcs12ExportOptions::new())
                .unwrap();
            let (ok, said) = openssl_reads(&ours, password, &["-info", "-noout"]);
            assert!(ok, "password {password:?}: {said}");
        }
    }
}

/// Runs `openssl pkcs12 -in FILE -passin pass:PASSWORD ARGS` on `bytes`.
fn openssl_reads(bytes: &[u8], password: &str, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.p12"), bytes).unwrap();
    let pass = format!("pass:{password}");
    let mut all = vec!["pkcs12", "-in", "in.p12", "-passin", &pass];
    all.extend_from_slice(args);
    openssl_status(dir.path(), &all)
}

#[test]
fn openssl_reads_our_exports_with_the_chain_in_order() {
    let store = imported(9, "p12-export.example.com");
    let expected = chain_of(&store, "site");
    for options in [
        Pkcs12ExportOptions::new(),
        Pkcs12ExportOptions::new().legacy_3des(true),
    ] {
        let ours = store.export_pkcs12("site", "export", &options).unwrap();
        let (ok, said) = openssl_reads(&ours, "export", &["-info", "-noout"]);
        assert!(ok, "{options:?}: {said}");
        let (ok, said) = openssl_reads(&ours, "export", &["-nokeys"]);
        assert!(ok, "{said}");
        let certs: Vec<Vec<u8>> = Certificate::chain_from_pem(&said)
            .unwrap()
            .iter()
            .map(|c| c.to_der().to_vec())
            .collect();
        assert_eq!(certs, expected, "{options:?}");
        let (ok, said) = openssl_reads(&ours, "export", &["-info", "-nodes", "-nocerts"]);
        assert!(ok && said.contains("friendlyName: site"), "{said}");
    }
    // The AES export says so.
    let ours = store
        .export_pkcs12("site", "export", &Pkcs12ExportOptions::new())
        .unwrap();
    let (_, said) = openssl_reads(&ours, "export", &["-info", "-noout"]);
    assert!(
        said.contains("AES-256-CBC") && said.contains("sha256"),
        "{said}"
    );
}

#[test]
fn keytool_reads_our_export() {
    let store = imported(10, "p12-java.example.com");
    let ours = store
        .export_pkcs12("site", "export", &Pkcs12ExportOptions::new())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.p12");
    std::fs::write(&file, ours).unwrap();
    let out = std::process::Command::new("keytool")
        .args([
            "-list",
            "-storetype",
            "PKCS12",
            "-storepass",
            "export",
            "-keystore",
        ])
        .arg(&file)
        .output()
        .expect("keytool (a JDK, `apt-get install openjdk-17-jre-headless`) must be installed");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("site,") && said.contains("PrivateKeyEntry"),
        "{said}"
    );
}

#[test]
fn round_trip_between_stores_serves_the_same_identity() {
    let first = imported(11, "p12-trip.example.com");
    for options in [
        Pkcs12ExportOptions::new(),
        Pkcs12ExportOptions::new().legacy_3des(true),
    ] {
        let ours = first.export_pkcs12("site", "moving", &options).unwrap();
        let (second, done) = import(&ours, "moving", &Pkcs12ImportOptions::new()).unwrap();
        assert_eq!(
            done.warnings().is_empty(),
            !options.eq(&Pkcs12ExportOptions::new().legacy_3des(true))
        );
        let ip = "127.0.0.1".parse().unwrap();
        let mut served = Vec::new();
        for store in [&first, &second] {
            // The first store is bound on the first pass only.
            if store.entry("site").unwrap().bindings().is_empty() {
                let mut tx = store.begin().unwrap();
                tx.bind("127.0.0.1:443".parse().unwrap(), "site").unwrap();
                tx.commit().unwrap();
            }
            let identity = store
                .resolve(Some("p12-trip.example.com"), SocketAddr::new(ip, 443))
                .unwrap()
                .unwrap();
            let chain: Vec<Vec<u8>> = identity
                .chain()
                .iter()
                .map(|c| c.to_der().to_vec())
                .collect();
            served.push(chain);
        }
        assert_eq!(served[0], served[1]);
    }
}

/// A file OpenSSL made with its certificates unencrypted, rewritten in odd but valid shapes:
/// no friendlyName nor localKeyId on any bag, the key bag first, the chain root first; the MAC
/// recomputed (SHA-256, PKCS#12 key derivation, as RFC 7292 Appendix B says).
#[test]
fn odd_shapes_are_read() {
    let bytes = openssl_pfx(12, "p12-odd.example.com", PASSWORD, &["-certpbe", "NONE"]);
    let mut pfx = pkcs12::pfx::Pfx::from_der(&bytes).unwrap();
    let data = der::asn1::OctetString::from_der(&pfx.auth_safe.content.to_der().unwrap()).unwrap();
    let safes: Vec<cms::content_info::ContentInfo> = Vec::from_der(data.as_bytes()).unwrap();
    let mut bags = Vec::new();
    for safe in &safes {
        let inner = der::asn1::OctetString::from_der(&safe.content.to_der().unwrap()).unwrap();
        let contents = pkcs12::safe_bag::SafeContents::from_der(inner.as_bytes()).unwrap();
        bags.extend(contents);
    }
    assert_eq!(bags.len(), 4, "three certificates and the key");
    for bag in &mut bags {
        bag.bag_attributes = None;
        // The decoder keeps the value's explicit [0] tag and the encoder adds one: unwrap it.
        let value: der::asn1::ContextSpecific<der::Any> =
            der::asn1::ContextSpecific::from_der(&bag.bag_value).unwrap();
        bag.bag_value = value.value.to_der().unwrap();
    }
    // Key first, then the certificates in reverse: root, intermediate, leaf.
    bags.reverse();
    let contents = der::asn1::OctetString::new(bags.to_der().unwrap()).unwrap();
    let safe = cms::content_info::ContentInfo {
        content_type: const_oid::db::rfc5911::ID_DATA,
        content: der::Any::from_der(&contents.to_der().unwrap()).unwrap(),
    };
    let auth_safe = der::asn1::OctetString::new(vec![safe].to_der().unwrap()).unwrap();
    pfx.auth_safe.content = der::Any::from_der(&auth_safe.to_der().unwrap()).unwrap();
    let mac = pfx.mac_data.as_mut().unwrap();
    assert_eq!(mac.mac.algorithm.oid, const_oid::db::rfc5912::ID_SHA_256);
    let key = pkcs12::kdf::derive_key_utf8::<sha2::Sha256>(
        PASSWORD,
        mac.mac_salt.as_bytes(),
        pkcs12::kdf::Pkcs12KeyType::Mac,
        mac.iterations,
        32,
    )
    .unwrap();
    let mut hmac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    hmac.update(auth_safe.as_bytes());
    mac.mac.digest = der::asn1::OctetString::new(hmac.finalize().into_bytes().to_vec()).unwrap();
    let odd = pfx.to_der().unwrap();

    let (store, done) = import(&odd, PASSWORD, &Pkcs12ImportOptions::new()).unwrap();
    assert!(done.warnings().is_empty(), "{:?}", done.warnings());
    let chain = chain_of(&store, "site");
    assert_eq!(chain.len(), 3);
    assert_eq!(
        Certificate::from_der(&chain[0]).unwrap().fingerprint(),
        fixtures::key(12).fingerprint()
    );
}

/// A file with two keys (as a Java keystore with two aliases): the choice is explicit.
#[test]
fn several_keys_need_an_explicit_choice() {
    let mut both = p12_keystore::KeyStore::new();
    for (i, alias) in [(13, "alpha"), (14, "beta")] {
        let key = fixtures::key(i);
        let cert = ca::shared().sign_server(
            &csr_pem(&key, &format!("{alias}.example.com")),
            &[&format!("{alias}.example.com")],
            &[],
        );
        let mut certs = vec![
            p12_keystore::Certificate::from_der(Certificate::from_pem(&cert).unwrap().to_der())
                .unwrap(),
        ];
        for c in Certificate::chain_from_pem(&ca::shared().chain_pem()).unwrap() {
            certs.push(p12_keystore::Certificate::from_der(c.to_der()).unwrap());
        }
        let p8 = key.to_pkcs8_der().unwrap();
        let chain = p12_keystore::PrivateKeyChain::new(
            alias,
            p12_keystore::PrivateKey::from_der(&p8).unwrap(),
            certs,
        );
        both.add_entry(alias, p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    }
    let bytes = both.writer(PASSWORD).write().unwrap();

    let err = pkcs12_error(import(&bytes, PASSWORD, &Pkcs12ImportOptions::new()));
    assert!(
        matches!(&err, Pkcs12Error::SeveralKeys { names } if names == &["alpha", "beta"]),
        "{err:?}"
    );

    let options = Pkcs12ImportOptions::new().select(Pkcs12Select::FriendlyName("beta".into()));
    let (store, done) = import(&bytes, PASSWORD, &options).unwrap();
    assert_eq!(done.names(), ["site"]);
    assert_eq!(
        store.entry("site").unwrap().fingerprint(),
        fixtures::key(14).fingerprint()
    );

    let options = Pkcs12ImportOptions::new().select(Pkcs12Select::LocalKeyId(b"alpha".to_vec()));
    let (store, _) = import(&bytes, PASSWORD, &options).unwrap();
    assert_eq!(
        store.entry("site").unwrap().fingerprint(),
        fixtures::key(13).fingerprint()
    );

    let (store, done) = import(
        &bytes,
        PASSWORD,
        &Pkcs12ImportOptions::new().select(Pkcs12Select::Each),
    )
    .unwrap();
    assert_eq!(done.names(), ["site-1", "site-2"]);
    assert_eq!(store.entries().unwrap().len(), 2);

    let options = Pkcs12ImportOptions::new().select(Pkcs12Select::FriendlyName("gamma".into()));
    let err = pkcs12_error(import(&bytes, PASSWORD, &options));
    assert!(matches!(err, Pkcs12Error::NoSuchKey { .. }), "{err:?}");
}

#[test]
fn import_runs_the_install_checks() {
    // In a plain file and in an RC4 one (whose parts the crate decrypts itself) alike.
    let options = Pkcs12ImportOptions::new().allow_legacy(true);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for extra in [&[][..], RC4] {
        // A certificate without serverAuth is refused as `import` refuses it.
        key_and_cert(d, 15, "client");
        let cert = ca::shared().sign_request(
            &csr_pem(&fixtures::key(15), "client"),
            &["extendedKeyUsage = clientAuth"],
        );
        std::fs::write(d.join("cert.pem"), cert).unwrap();
        let bytes = pkcs12_export(d, "x", extra, "out.p12");
        let result = import(&bytes, "x", &options);
        assert!(
            matches!(
                result,
                Err(Error::Install(
                    keymanager::error::InstallError::NoServerAuth { .. }
                ))
            ),
            "{extra:?}: {result:?}"
        );

        // A 1024-bit key is refused under the standard key policy.
        for args in [
            &["genrsa", "-out", "key.pem", "1024"][..],
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "key.pem",
                "-subj",
                "/CN=small",
                "-days",
                "2",
                "-out",
                "cert.pem",
            ],
        ] {
            let (ok, said) = openssl_status(d, args);
            assert!(ok, "{said}");
        }
        let bytes = pkcs12_export(d, "x", extra, "small.p12");
        let result = import(&bytes, "x", &options);
        assert!(
            matches!(
                result,
                Err(Error::Key(keymanager::error::KeyError::SizeNotAllowed {
                    bits: 1024,
                    ..
                }))
            ),
            "{extra:?}: {result:?}"
        );
    }
}
