//! Writes the seeds made by keymanager itself into `fuzz/seeds/<target>/` (the OpenSSL-made
//! ones come from `fuzz/seeds.sh`, which runs this too). Deterministic but for the store file
//! (random salt) and certificate dates.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`

use std::fs;
use std::path::Path;
use std::time::Duration;

use keymanager::name::{Attribute, AttributeKind};
use keymanager::{
    Certificate, CertificateRequest, DistinguishedName, KdfParams, KeyEncryption, KeyStore,
    PrivateKey, SignatureHash, StoreOptions,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[path = "../fuzz_targets/support/ca.rs"]
mod ca;

/// The fixed password / passphrase of the fuzz targets.
const PASSWORD: &str = "fuzz-password";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let write = |target: &str, file: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = seeds.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(file), bytes)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(4242);
    let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048)?;

    // Keys: PKCS#8 DER and PEM, encrypted with PBKDF2 and with scrypt (cheap parameters).
    write("private_key_der", "ours-pkcs8.der", &key.to_pkcs8_der()?)?;
    write(
        "private_key_pem",
        "ours-pkcs8.pem",
        key.to_pkcs8_pem()?.as_bytes(),
    )?;
    let pbkdf2 = KeyEncryption::Pbkdf2Sha256 { iterations: 100 };
    let scrypt = KeyEncryption::Scrypt {
        log_n: 4,
        r: 8,
        p: 1,
    };
    let der = key.to_encrypted_pkcs8_der_with_rng(&mut rng, PASSWORD, pbkdf2)?;
    write("private_key_encrypted", "ours-pbkdf2.der", &der)?;
    let der = key.to_encrypted_pkcs8_der_with_rng(&mut rng, PASSWORD, scrypt)?;
    write("private_key_encrypted", "ours-scrypt.der", &der)?;
    let pem = key.to_encrypted_pkcs8_pem_with_rng(&mut rng, PASSWORD, pbkdf2)?;
    write("private_key_pem", "ours-pbkdf2.pem", pem.as_bytes())?;

    // Names: escapes, Unicode, a multi-valued RDN.
    let dn = DistinguishedName::builder()
        .common_name("www.example.com")
        .organizational_unit("R&D + Ops")
        .organization("Exämple, \"Inc.\"")
        .locality("#Zürich ")
        .country("CH")
        .email("admin@example.com")
        .build()?;
    write("name_str", "ours-escapes.txt", dn.to_string().as_bytes())?;
    let multi = DistinguishedName::from_rdns([
        vec![Attribute::new(AttributeKind::Country, "JP")?],
        vec![Attribute::new(AttributeKind::Organization, "例え株式会社")?],
        vec![
            Attribute::new(AttributeKind::CommonName, "host.example.jp")?,
            Attribute::new(AttributeKind::OrganizationalUnit, "Web=1;2")?,
        ],
    ])?;
    write(
        "name_str",
        "ours-multi-valued.txt",
        multi.to_string().as_bytes(),
    )?;

    // Requests: names and addresses with a challenge password; SHA-384 without extensions.
    let request = CertificateRequest::builder(dn.clone())
        .dns_names(["example.com", "*.example.com"])
        .ip_address("192.0.2.1".parse()?)
        .ip_address("2001:db8::1".parse()?)
        .challenge_password("secret")
        .sign(&key)?;
    write("request_der", "ours-san.der", &request.to_der())?;
    write("request_pem", "ours-san.pem", request.to_pem().as_bytes())?;
    let bare = CertificateRequest::builder(multi)
        .signature_hash(SignatureHash::Sha384)
        .without_extensions()
        .sign(&key)?;
    write("request_der", "ours-bare.der", &bare.to_der())?;
    let text = format!(
        "Subject: {}\n{}trailing text\n",
        bare.subject(),
        bare.to_pem()
    );
    write("request_pem", "ours-bare-with-text.pem", text.as_bytes())?;

    // A certificate and chain from the demo CA.
    let ca_key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048)?;
    let ca = ca::Ca::new(&ca_key, "Fuzz Seed CA");
    let leaf = ca.issue(
        key.public_key_der(),
        &dn.to_der()?,
        &["www.example.com", "example.com"],
        ca::Leaf::Good,
        7,
    );
    let leaf = Certificate::from_der(&leaf)?;
    let root = Certificate::from_der(&ca.cert_der)?;
    write("certificate_der", "ours-leaf.der", leaf.to_der())?;
    write(
        "certificate_any",
        "ours-chain.pem",
        format!("{}{}", leaf.to_pem(), root.to_pem()).as_bytes(),
    )?;

    // A store file: one installed entry bound to two endpoints, one pending entry.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.db");
    let options = StoreOptions::new()
        .kdf(KdfParams::new(8, 1, 1)?)
        .busy_timeout(Duration::ZERO);
    {
        let store = KeyStore::create_with(&path, PASSWORD, &options)?;
        let mut tx = store.begin()?;
        let www_request = CertificateRequest::builder(dn.clone())
            .dns_name("example.com")
            .sign(&key)?;
        tx.add_pending("www", key.clone(), &www_request)?;
        tx.install_certificate(format!("{}{}", leaf.to_pem(), root.to_pem()).as_bytes())?;
        tx.bind("0.0.0.0:443".parse()?, "www")?;
        tx.bind("www.example.com:443".parse()?, "www")?;
        let other = PrivateKey::generate_rsa_with_rng(&mut rng, 2048)?;
        let other_request =
            CertificateRequest::builder("CN=mail.example.com".parse()?).sign(&other)?;
        tx.add_pending("mail", other, &other_request)?;
        tx.commit()?;
    }
    // Fold the write-ahead log into the file, then shrink it (small pages: a small seed).
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(
        "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;",
    )?;
    drop(conn);
    write("store_open", "ours.db", &fs::read(&path)?)?;
    // And an empty file: opening it creates a store.
    write("store_open", "empty.db", b"")?;
    // store_model: operation scripts (see `decode` in fuzz_targets/store_model.rs).
    let scripts: [(&str, &[u8]); 3] = [
        // begin, add www (key 0), install its good certificate, bind 0.0.0.0:443 and
        // host0.example.com:443, commit, resolve two connections.
        (
            "install-bind-resolve",
            &[
                0, 4, 0, 0, 0, 5, 0, 0, 6, 0, 0, 6, 4, 0, 1, 12, 0, 0, 1, 12, 2, 0, 0,
            ],
        ),
        // begin, add api (key 3, wildcard certificate), install, bind *.example.com:443 and
        // host3.example.com:443, renew (refused size), remove (still bound), unbind,
        // remove with bindings, roll back.
        (
            "wildcard-remove-rollback",
            &[
                0, 4, 1, 3, 3, 5, 3, 0, 6, 6, 1, 6, 7, 1, 10, 1, 8, 1, 7, 6, 9, 1, 2,
            ],
        ),
        // begin, add www (key 1), install expired / no serverAuth / names dropped / a request /
        // another key's certificate, bind while pending, add `www (renewal)`, install, renew
        // (name taken), commit, begin twice (busy), drop.
        (
            "refusals",
            &[
                0, 4, 0, 1, 1, 5, 1, 1, 5, 1, 2, 5, 1, 3, 11, 1, 5, 2, 0, 6, 0, 0, 4, 3, 2, 2, 5,
                1, 0, 10, 0, 1, 0, 0, 3,
            ],
        ),
    ];
    for (name, script) in scripts {
        write("store_model", &format!("ours-{name}.bin"), script)?;
    }
    println!("seeds written under {}", seeds.display());
    Ok(())
}
