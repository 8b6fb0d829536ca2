//! Private key benchmarks: fingerprints and import; ECDSA (P-256, P-384) generation and
//! request signing. RSA generation, signing and verification at every size are in
//! `benches/rsa.rs`.
//!
//! Run: `cargo bench --bench key` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keymanager::{CertificateRequest, DistinguishedName, Fingerprint, KeyType, PrivateKey};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

criterion_group!(benches, fingerprint, import, ecdsa);
criterion_main!(benches);

fn fingerprint(c: &mut Criterion) {
    let key = fixture_key();
    let spki = key.public_key_der().to_vec();
    c.bench_function("key/fingerprint_spki_sha256", |b| {
        b.iter(|| Fingerprint::of_spki_der(black_box(&spki)))
    });
}

/// Import of an unencrypted PKCS#8 key, from DER and from PEM.
fn import(c: &mut Criterion) {
    let key = fixture_key();
    let der = key.to_pkcs8_der().expect("PKCS#8 encoding");
    let pem = key.to_pkcs8_pem().expect("PKCS#8 PEM encoding");
    let mut group = c.benchmark_group("key/import");
    group.bench_function("pkcs8_der", |b| {
        b.iter(|| PrivateKey::from_der(black_box(&der)))
    });
    group.bench_function("pkcs8_pem", |b| {
        b.iter(|| PrivateKey::from_pem(black_box(&pem)))
    });
    group.finish();
}

/// ECDSA keys: generation from the OS's random source, and a request built and signed
/// (deterministic ECDSA, the curve's hash): compare with `openssl speed ecdsap256 ecdsap384`
/// and `openssl genpkey -algorithm EC` (BENCHMARKS.md, "ECDSA").
fn ecdsa(c: &mut Criterion) {
    let dn: DistinguishedName = "CN=www.example.com".parse().expect("a valid name");
    let mut group = c.benchmark_group("key/ecdsa");
    for (key_type, name) in [(KeyType::EcdsaP256, "p256"), (KeyType::EcdsaP384, "p384")] {
        group.bench_function(format!("keygen_{name}"), |b| {
            b.iter(|| PrivateKey::generate(black_box(key_type)))
        });
        let key = PrivateKey::generate(key_type).expect("key generation");
        let builder = CertificateRequest::builder(dn.clone());
        group.bench_function(format!("request_{name}"), |b| {
            b.iter(|| builder.clone().sign(black_box(&key)))
        });
    }
    group.finish();
}

/// The same 2048-bit key on every run.
fn fixture_key() -> PrivateKey {
    let mut rng = ChaCha8Rng::seed_from_u64(2048);
    PrivateKey::generate_rsa_with_rng(&mut rng, 2048).expect("key generation")
}
