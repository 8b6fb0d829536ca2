//! The properties `request_der` and `request_pem` check on a request that parsed.
#![allow(dead_code)]

use std::sync::OnceLock;

use keymanager::{CertificateRequest, PrivateKey};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Checks a request that parsed:
///
/// 1. `verify()` never panics, and gives the same answer on the request read back from our own
///    DER and PEM encodings, which must be equal to it (our encodings are the bytes read).
/// 2. Re-emitting it with our builder (same validated subject, DNS names and IP addresses,
///    signed by a fixed key) gives a request that parses back, verifies, and carries the same
///    subject and names: a request we accept is one we can reproduce.
pub fn check(request: &CertificateRequest) {
    let verified = request.verify().is_ok();
    let from_der =
        CertificateRequest::from_der(&request.to_der()).expect("our own DER must read back");
    assert_eq!(&from_der, request);
    assert_eq!(
        from_der.verify().is_ok(),
        verified,
        "verify() differs after a DER round trip"
    );
    let from_pem =
        CertificateRequest::from_pem(&request.to_pem()).expect("our own PEM must read back");
    assert_eq!(&from_pem, request);
    assert_eq!(from_pem.fingerprint(), request.fingerprint());
    // Every accessor runs.
    let _ = (
        request.subject(),
        request.attribute_oids(),
        request.signature_algorithm(),
    );
    let _ = (
        request.key_usage(),
        request.extended_key_usage(),
        request.challenge_password(),
    );
    let _ = format!("{request:?}");

    // Re-emit what we understood of it.
    let Ok(dn) = request.distinguished_name() else {
        return;
    };
    let mut builder = CertificateRequest::builder(dn.clone()).dns_names(request.dns_names());
    for ip in request.ip_addresses() {
        builder = builder.ip_address(ip);
    }
    // Names our builder refuses (the requester's rules may be looser) end the check.
    let Ok(rebuilt) = builder.sign(key()) else {
        return;
    };
    let again =
        CertificateRequest::from_der(&rebuilt.to_der()).expect("a request we built must parse");
    again.verify().expect("a request we built must verify");
    assert_eq!(
        again.distinguished_name().ok().as_ref(),
        Some(&dn),
        "the subject changed"
    );
    let lower = |v: Vec<String>| {
        v.into_iter()
            .map(|n| n.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let rebuilt_names = lower(again.dns_names());
    for name in lower(request.dns_names()) {
        assert!(
            rebuilt_names.contains(&name),
            "{name} was dropped: {rebuilt_names:?}"
        );
    }
    let ips = again.ip_addresses();
    for ip in request.ip_addresses() {
        assert!(ips.contains(&ip), "{ip} was dropped: {ips:?}");
    }
}

/// The fixed key re-emitted requests are signed with (2048 bits, seeded, made once).
fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(2986), 2048).expect("key")
    })
}
