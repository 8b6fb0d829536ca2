//! Private key benchmarks: RSA-2048 generation, PKCS#1 v1.5 SHA-256 signing, fingerprints, import.
//!
//! Run: `cargo bench --bench key` (add `-- --quick` for a short run). Key generation takes a
//! random amount of time (the prime search), so it runs over a fixed, seeded sequence of random
//! sources: every run generates the same keys, and the median is the figure to compare.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use keymanager::{CertificateRequest, DistinguishedName, Fingerprint, PrivateKey};
use pkcs8::DecodePrivateKey;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rsa::pkcs1v15::SigningKey;
use sha2::Sha256;
use signature::Signer;

criterion_group!(benches, generate, sign, fingerprint, import);
criterion_main!(benches);

/// RSA-2048 generation, a new seeded random source for each key.
fn generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("key/generate");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(30));
    let seed = AtomicU64::new(0);
    group.bench_function("rsa2048", |b| {
        b.iter_batched(
            || ChaCha8Rng::seed_from_u64(seed.fetch_add(1, Ordering::Relaxed)),
            |mut rng| PrivateKey::generate_rsa_with_rng(&mut rng, 2048),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// PKCS#1 v1.5 with SHA-256: through a certificate request (the crate's public signing path) and
/// with the `rsa` crate alone (the primitive underneath, what `openssl speed` measures).
fn sign(c: &mut Criterion) {
    let key = fixture_key();
    let subject = fixture_name();
    let mut group = c.benchmark_group("key/sign");
    group.bench_function("csr_rsa2048_sha256", |b| {
        b.iter(|| CertificateRequest::builder(subject.clone()).sign(black_box(&key)))
    });
    let signer = primitive_signer(&key);
    let message = [0x5a_u8; 256];
    group.bench_function("pkcs1v15_sha256_primitive", |b| {
        b.iter(|| signer.sign(black_box(&message)))
    });
    group.finish();
}

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
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()));
    let mut group = c.benchmark_group("key/import");
    group.bench_function("pkcs8_der", |b| {
        b.iter(|| PrivateKey::from_der(black_box(&der)))
    });
    group.bench_function("pkcs8_pem", |b| {
        b.iter(|| PrivateKey::from_pem(black_box(&pem)))
    });
    group.finish();
}

/// The same 2048-bit key on every run.
fn fixture_key() -> PrivateKey {
    let mut rng = ChaCha8Rng::seed_from_u64(2048);
    PrivateKey::generate_rsa_with_rng(&mut rng, 2048).expect("key generation")
}

fn fixture_name() -> DistinguishedName {
    DistinguishedName::builder()
        .common_name("www.example.com")
        .organization("Example Corp")
        .country("US")
        .build()
        .expect("valid name")
}

/// An `rsa` crate signer for the same key, read back from its PKCS#8 encoding.
fn primitive_signer(key: &PrivateKey) -> SigningKey<Sha256> {
    let der = key.to_pkcs8_der().expect("PKCS#8 encoding");
    let rsa = rsa::PrivateKey::from_pkcs8_der(&der).expect("PKCS#8 decoding");
    SigningKey::<Sha256>::new(rsa)
}
