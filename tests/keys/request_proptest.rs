//! Hostile certificate requests never panic: arbitrary bytes, every truncation, and one-byte
//! mutations of real requests (ours, RSA PKCS#1 v1.5; OpenSSL's RSA-PSS with an MGF1 hash
//! different from the message hash, which goes through our own EMSA-PSS-VERIFY) are read and
//! verified, and each gives a value or a typed error.
//!
//! Round trips: requests built over key sizes (2048 and 3072 bits, made once, seeded), hashes
//! and subjectAltName lists encode, parse back equal and verify. Damage: flipping any byte of a
//! valid request or key is refused or, where the bytes are outside what is signed (or a key's
//! redundant CRT values), gives the *same* object; truncations are always refused.

use std::fs;
use std::sync::OnceLock;

use std::net::IpAddr;

use keymanager::{CertificateRequest, DistinguishedName, KeyType, PrivateKey, SignatureHash};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::common::openssl::{genpkey, stdout};

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
        genpkey(&key, "RSA", &["rsa_keygen_bits:2048"]);
        stdout(&[
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

/// The keys requests are built with, one of every kind: RSA 2048 and 3072 bits, ECDSA P-256
/// and P-384; seeded, made once.
fn keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            KeyType::Rsa { bits: 2048 },
            KeyType::Rsa { bits: 3072 },
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
        ]
        .iter()
        .enumerate()
        .map(|(i, key_type)| {
            let mut rng = ChaCha8Rng::seed_from_u64(2986 + i as u64);
            PrivateKey::generate_with_rng(&mut rng, *key_type).unwrap()
        })
        .collect()
    })
}

fn host_name() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,3})?", 1..=3),
        prop::sample::select(vec!["example.com", "example.org", "EXAMPLE.net"]),
        any::<bool>(),
    )
        .prop_map(|(labels, domain, star)| {
            let name = format!("{}.{domain}", labels.join("."));
            if star { format!("*.{name}") } else { name }
        })
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

/// The DNS names a request for `cn` with extra `names` carries: the common name first, then the
/// names, each once ignoring ASCII case.
fn expected_dns_names(cn: &str, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in std::iter::once(cn.to_owned()).chain(names.iter().cloned()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
            out.push(n);
        }
    }
    out
}

/// Checks that `again`, read from a damaged copy of `original`, is the same request.
fn same_request(
    again: &CertificateRequest,
    original: &CertificateRequest,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(again.subject(), original.subject());
    prop_assert_eq!(again.public_key_der(), original.public_key_der());
    prop_assert_eq!(again.dns_names(), original.dns_names());
    prop_assert_eq!(again.ip_addresses(), original.ip_addresses());
    prop_assert_eq!(again.challenge_password(), original.challenge_password());
    prop_assert_eq!(
        again.requested_extensions(),
        original.requested_extensions()
    );
    Ok(())
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn built_requests_round_trip_and_verify(
        key in 0..4usize,
        cn in host_name(),
        names in prop::collection::vec(host_name(), 0..6),
        ips in prop::collection::vec(ip(), 0..4),
        hash in prop::sample::select(vec![SignatureHash::Sha256, SignatureHash::Sha384, SignatureHash::Sha512]),
        password in prop::option::of("[ -~]{1,20}"),
    ) {
        let key = &keys()[key];
        let dn = DistinguishedName::builder().common_name(cn.as_str()).organization("Example").build().unwrap();
        let mut builder = CertificateRequest::builder(dn.clone()).dns_names(names.clone()).signature_hash(hash);
        for ip in &ips {
            builder = builder.ip_address(*ip);
        }
        if let Some(p) = &password {
            builder = builder.challenge_password(p.as_str());
        }
        let request = builder.sign(key).unwrap();
        let again = CertificateRequest::from_der(&request.to_der()).unwrap();
        prop_assert_eq!(&again, &request);
        again.verify().unwrap();
        prop_assert_eq!(again.fingerprint(), key.fingerprint());
        prop_assert_eq!(again.distinguished_name().unwrap(), dn);
        prop_assert_eq!(again.dns_names(), expected_dns_names(&cn, &names));
        let mut unique_ips: Vec<IpAddr> = Vec::new();
        for ip in ips {
            if !unique_ips.contains(&ip) { unique_ips.push(ip); }
        }
        prop_assert_eq!(again.ip_addresses(), unique_ips);
        prop_assert_eq!(again.challenge_password(), password.as_deref());
        let from_pem = CertificateRequest::from_pem(&request.to_pem()).unwrap();
        prop_assert_eq!(&from_pem, &request);
        from_pem.verify().unwrap();
    }

    /// Keys of every kind (ECDSA ones freshly generated from the seed) come back from PKCS#8
    /// DER and PEM, and from encrypted PKCS#8, as the same key of the same type.
    #[test]
    fn keys_of_every_kind_round_trip(
        kind in 0..4usize,
        seed in any::<u64>(),
    ) {
        let fresh;
        let key = match kind {
            2 | 3 => {
                let key_type = if kind == 2 { KeyType::EcdsaP256 } else { KeyType::EcdsaP384 };
                fresh = PrivateKey::generate_with_rng(&mut ChaCha8Rng::seed_from_u64(seed), key_type).unwrap();
                &fresh
            }
            _ => &keys()[kind],
        };
        let der = key.to_pkcs8_der().unwrap();
        let back = PrivateKey::from_der(&der).unwrap();
        prop_assert_eq!(&back, key);
        prop_assert_eq!(back.key_type(), key.key_type());
        prop_assert_eq!(&PrivateKey::from_pem(&key.to_pkcs8_pem().unwrap()).unwrap(), key);
        let fast = keymanager::KeyEncryption::Pbkdf2Sha256 { iterations: 1000 };
        let encrypted = key
            .to_encrypted_pkcs8_der_with_rng(&mut ChaCha8Rng::seed_from_u64(seed), "pw", fast)
            .unwrap();
        prop_assert_eq!(&PrivateKey::from_encrypted_der(&encrypted, "pw").unwrap(), key);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A flipped byte is refused (parse error or failed verification) or gives the same
    /// request: never a different request that verifies.
    #[test]
    fn a_flipped_request_byte_is_refused_or_harmless(
        pss in any::<bool>(),
        at in any::<prop::sample::Index>(),
        flip in 1..=255u8,
    ) {
        let der = if pss { openssl_pss() } else { ours() };
        let original = CertificateRequest::from_der(der).unwrap();
        let mut damaged = der.to_vec();
        let i = at.index(damaged.len());
        damaged[i] ^= flip;
        if let Ok(again) = CertificateRequest::from_der(&damaged)
            && again.verify().is_ok()
        {
            same_request(&again, &original)?;
        }
    }

    /// A flipped byte of a PKCS#8 key is refused or gives the same key, one whose signatures
    /// verify under the original public key (a damaged CRT value used as is would give wrong
    /// signatures, which leak the key's factors). ECDSA keys too (RSA 2048, P-256, P-384): their
    /// PKCS#8 carries the public key, which a changed scalar no longer matches.
    #[test]
    fn a_flipped_key_byte_is_refused_or_the_same_key(
        which in prop::sample::select(vec![0usize, 2, 3]),
        at in any::<prop::sample::Index>(),
        flip in 1..=255u8,
    ) {
        let key = &keys()[which];
        let mut der = key.to_pkcs8_der().unwrap().to_vec();
        let i = at.index(der.len());
        der[i] ^= flip;
        if let Ok(again) = PrivateKey::from_der(&der) {
            prop_assert_eq!(again.fingerprint(), key.fingerprint(), "byte {} accepted as another key", i);
            let dn: DistinguishedName = "CN=flip.example.com".parse().unwrap();
            let request = CertificateRequest::builder(dn).sign(&again).unwrap();
            prop_assert_eq!(request.fingerprint(), key.fingerprint());
            request.verify().map_err(|e| TestCaseError::fail(format!("byte {i}: {e}")))?;
        }
    }
}

#[test]
fn every_truncation_of_a_key_is_an_error() {
    for key in &keys()[2..] {
        let der = key.to_pkcs8_der().unwrap();
        for cut in 0..der.len() {
            assert!(PrivateKey::from_der(&der[..cut]).is_err(), "cut at {cut}");
        }
    }
    let key = &keys()[0];
    for der in [key.to_pkcs8_der().unwrap().to_vec()] {
        for cut in 0..der.len() {
            assert!(PrivateKey::from_der(&der[..cut]).is_err(), "cut at {cut}");
        }
    }
    let pem = key.to_pkcs8_pem().unwrap();
    for cut in (0..pem.len()).step_by(7) {
        if let Ok(again) = PrivateKey::from_pem(&pem[..cut]) {
            // Only a cut in the text after the END line may still read, as the same key.
            assert_eq!(again, *key, "cut at {cut}");
        }
    }
}
