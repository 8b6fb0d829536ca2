//! The walkthrough's demo CA (`examples/key_manager/demo_ca.rs`, built on x509-cert's
//! certificate builder) issues what it claims: certificates that OpenSSL accepts as TLS server
//! certificates under `-x509_strict`, carrying the request's subject and names, and that the
//! store installs on the pending key they were requested for.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use keymanager::{Certificate, CertificateRequest, DistinguishedName, PrivateKey};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::common::fixtures::{key, memory_store};
use crate::common::openssl::{said, stdout, try_openssl};
use crate::demo_ca::DemoCa;

fn ca() -> &'static DemoCa {
    static CA: OnceLock<DemoCa> = OnceLock::new();
    CA.get_or_init(|| DemoCa::new(&mut ChaCha8Rng::seed_from_u64(7)).unwrap())
}

fn request_for(key: &PrivateKey, host: &str) -> CertificateRequest {
    let dn = DistinguishedName::builder()
        .common_name(host)
        .organization("Example Test Org")
        .country("US")
        .build()
        .unwrap();
    CertificateRequest::builder(dn)
        .dns_name("alt.example.test")
        .ip_address("192.0.2.7".parse().unwrap())
        .sign(key)
        .unwrap()
}

fn sign(request: &CertificateRequest) -> String {
    ca().sign(
        request,
        Duration::from_secs(86_400),
        &mut ChaCha8Rng::seed_from_u64(9),
    )
    .unwrap()
}

#[test]
fn openssl_accepts_the_ca_and_its_server_certificates_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    let leaf_path = dir.path().join("leaf.pem");
    std::fs::write(&ca_path, ca().certificate_pem().unwrap()).unwrap();
    std::fs::write(&leaf_path, sign(&request_for(&key(1), "www.example.test"))).unwrap();

    let (ca_file, leaf_file) = (ca_path.to_str().unwrap(), leaf_path.to_str().unwrap());
    let out = try_openssl(
        None,
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            ca_file,
            leaf_file,
        ],
    );
    assert!(
        out.status.success(),
        "openssl verify refused the demo CA's certificate: {}",
        said(&out)
    );

    let text = stdout(&["x509", "-noout", "-text", "-in", leaf_file]);
    let text = String::from_utf8(text).unwrap();
    for expected in [
        "CA:FALSE",
        "Digital Signature, Key Encipherment",
        "TLS Web Server Authentication",
        "DNS:www.example.test, DNS:alt.example.test, IP Address:192.0.2.7",
        "Issuer: C = US, O = keymanager demo, CN = keymanager Demo CA",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }
}

#[test]
fn the_certificate_carries_the_request_and_chains_to_the_ca() {
    let key = key(2);
    let request = request_for(&key, "shop.example.test");
    let leaf = Certificate::from_pem(&sign(&request)).unwrap();
    let root = Certificate::from_pem(&ca().certificate_pem().unwrap()).unwrap();

    assert_eq!(leaf.subject(), request.subject());
    assert_eq!(leaf.fingerprint(), key.fingerprint());
    assert_eq!(
        leaf.dns_names(),
        vec![
            "shop.example.test".to_string(),
            "alt.example.test".to_string()
        ]
    );
    assert_eq!(
        leaf.ip_addresses(),
        vec!["192.0.2.7".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(leaf.issuer(), root.subject());
    let fingerprint = leaf.fingerprint();
    keymanager::Chain::build(vec![leaf, root], &fingerprint)
        .expect("the leaf's signature verifies with the root");
}

#[test]
fn a_tampered_request_is_refused_before_signing() {
    let request = request_for(&key(3), "www.example.test");
    let mut der = request.to_der();
    // Flip a bit inside the subject's CN value: the self-signature no longer covers it.
    let at = der
        .windows(b"www.example.test".len())
        .position(|w| w == b"www.example.test")
        .unwrap();
    der[at] ^= 0x01;
    let tampered = CertificateRequest::from_der(&der).unwrap();
    assert!(
        ca().sign(
            &tampered,
            Duration::from_secs(60),
            &mut ChaCha8Rng::seed_from_u64(1)
        )
        .is_err()
    );
}

#[test]
fn the_store_installs_it_on_the_key_it_was_requested_for() {
    let store = memory_store();
    let mut tx = store.begin().unwrap();
    let dn = DistinguishedName::builder()
        .common_name("www.example.test")
        .build()
        .unwrap();
    let request = tx
        .create_pending("www", &CertificateRequest::builder(dn), 2048)
        .unwrap();
    tx.commit().unwrap();

    let bundle = format!("{}{}", sign(&request), ca().certificate_pem().unwrap());
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.install_certificate(bundle.as_bytes()).unwrap(), "www");
    tx.commit().unwrap();
    assert_eq!(
        store.entry("www").unwrap().fingerprint(),
        request.fingerprint()
    );
}
