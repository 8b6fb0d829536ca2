//! `Certificate::parse_any` on arbitrary bytes (DER, PEM, PKCS#7, bundles): never panics; for
//! every certificate it returns, every accessor runs without panicking, and
//! `Chain::build_lenient` with the first certificate's fingerprint as the leaf never panics and
//! finds that leaf.
#![no_main]

use std::time::UNIX_EPOCH;

use keymanager::{Certificate, Chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(certs) = Certificate::parse_any(data) else {
        return;
    };
    for cert in &certs {
        touch(cert);
    }
    let Some(first) = certs.first() else {
        return;
    };
    let leaf = first.fingerprint();
    if let Ok((chain, unused)) = Chain::build_lenient(certs.clone(), &leaf) {
        assert_eq!(
            chain.leaf().fingerprint(),
            leaf,
            "the chain's leaf is not the one asked for"
        );
        let _ = chain.intermediates();
        let _ = chain.root();
        let _ = chain.check_validity_at(UNIX_EPOCH);
        let _ = chain.to_pem();
        assert!(chain.certificates().len() + unused.len() <= certs.len());
    }
});

/// Calls every accessor of `cert`.
fn touch(cert: &Certificate) {
    let _ = cert.to_der();
    let pem = cert.to_pem();
    assert_eq!(
        Certificate::from_pem(&pem).map(|c| c == *cert).ok(),
        Some(true),
        "to_pem does not read back as the same certificate"
    );
    let _ = cert.subject();
    let _ = cert.issuer();
    let _ = cert.serial_hex();
    let _ = cert.not_before();
    let _ = cert.not_after();
    let _ = cert.check_validity_at(UNIX_EPOCH);
    let names = cert.dns_names();
    for name in &names {
        let _ = cert.covers_host(name);
    }
    let _ = cert.covers_host("www.example.com");
    let _ = cert.ip_addresses();
    if let Some(usages) = cert.key_usage() {
        let _ = usages.to_vec();
        let _ = format!("{usages:?}");
    }
    let _ = cert.extended_key_usage();
    let _ = cert.allows_server_auth();
    let _ = cert.is_ca();
    let _ = cert.public_key_der();
    let _ = cert.fingerprint();
    let _ = cert.is_self_issued();
    let _ = cert.subject_key_id();
    let _ = cert.authority_key_id();
    let _ = cert.verify_signed_by(cert);
    let _ = format!("{cert:?}");
}
