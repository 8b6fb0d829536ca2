//! Private key benchmarks: RSA-2048 generation, PKCS#1 v1.5 SHA-256 signing, fingerprints, import.
//!
//! Run: `cargo bench --bench key` (add `-- --quick` for a short run). Key generation takes a
//! random amount of time (the prime search), so it runs over a fixed, seeded sequence of random
//! sources: every run generates the same keys, and the median is the figure to compare.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use keymanager::{CertificateRequest, DistinguishedName, Fingerprint, PrivateKey};
use pkcs8::DecodePrivateKey;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rsa::pkcs1v15::SigningKey;
use sha2::Sha256;
use signature::Signer;

criterion_group!(benches, generate, sign, fingerprint, import);
criterion_main!(benches);

/// RSA-2048 generation, a new seeded random source (seeds 0, 1, 2, ...) for each key.
///
/// Criterion's figures are per-sample means; as the time per key varies widely, this also times
/// every key on its own and prints the median and spread over all keys generated.
fn generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("key/generate");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(30));
    let mut seed = 0_u64;
    let mut per_key = Vec::new();
    group.bench_function("rsa2048", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                seed += 1;
                let start = Instant::now();
                let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048);
                let elapsed = start.elapsed();
                black_box(key).expect("key generation");
                per_key.push(elapsed);
                total += elapsed;
            }
            total
        })
    });
    group.finish();
    per_key.sort();
    if let (Some(p10), Some(median), Some(p90)) = (
        percentile(&per_key, 0.1),
        percentile(&per_key, 0.5),
        percentile(&per_key, 0.9),
    ) {
        println!(
            "key/generate/rsa2048 per key, over {} keys (warm-up included): median {median:.2?}, p10 {p10:.2?}, p90 {p90:.2?}",
            per_key.len()
        );
    }
}

/// The `q` quantile of sorted `v` (nearest rank).
fn percentile(v: &[Duration], q: f64) -> Option<Duration> {
    let last = v.len().checked_sub(1)?;
    v.get((last as f64 * q).round() as usize).copied()
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
