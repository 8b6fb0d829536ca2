//! RSA benchmarks: key generation, PKCS#1 v1.5 SHA-256 signing and verification at 512, 1024,
//! 2048, 3072 and 4096 bits, and building and signing a complete request at 2048 bits.
//!
//! Run: `cargo bench --bench rsa` (pure-Rust default) or `cargo bench --bench rsa --features
//! aws-lc-rs` (adds the aws-lc-rs rows, and requests are then signed by aws-lc). Criterion
//! filters work as usual (`-- sign/`), `-- --quick` makes a short run, and
//! `benches/compare-openssl` runs this next to OpenSSL and prints the side-by-side table.
//!
//! Every figure is **CPU time of the benchmarking thread** (`CLOCK_THREAD_CPUTIME_ID`; wall
//! clock on non-Unix systems), because `openssl speed` reports CPU time too and the
//! machines these run on are shared: wall-clock time there measures the neighbours.
//!
//! Groups and what they measure:
//!
//! - `keygen/<backend>-<rng>/<bits>`: [`PrivateKey::generate_rsa_with_policy`], backend `rsa`
//!   (the crate's path). `seeded`: every key from its own seeded ChaCha8 source (seeds 0, 1,
//!   2, ... per size, so every run generates the same keys); `os`: `rand::rng()`, as users run
//!   it. With the feature, also `aws-lc-os` (aws-lc's `KeyPair::generate`, its own OS-seeded
//!   generator, 2048 bits and more). Key generation time varies widely from key to key, so
//!   every key is timed on its own and a `keygen-result` line gives the median and the
//!   10th/90th percentiles over all keys (warm-up included); criterion's own figure is a mean
//!   per sample.
//! - `sign/<backend>/<bits>`: the signing primitive under the crate, PKCS#1 v1.5 SHA-256 of a
//!   32-byte message (hashing included): `rsa` is the `rsa` crate's `SigningKey<Sha256>`, which
//!   the crate uses by default; `aws-lc` is aws-lc-rs's `KeyPair::sign`, which the crate uses
//!   with the feature at 2048 bits and more.
//! - `verify/<backend>/<bits>`: the matching verification (the crate verifies with `rsa`).
//! - `request/build_sign/2048`: [`CertificateRequest::builder`] ... `sign`, the crate's public
//!   signing path (name and SAN encoding, signing with the build's backend, encoding, and the
//!   check of the new request). The difference to `sign/<backend>/2048` is our own overhead.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main};
use keymanager::{CertificateRequest, DistinguishedName, KeySizePolicy, PrivateKey};
use pkcs8::DecodePrivateKey;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use sha2::Sha256;
use signature::{Keypair, Signer, Verifier};

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu::default());
    targets = keygen, sign_verify, request
}
criterion_main!(benches);

/// Sizes measured, with the time criterion spends measuring key generation at each.
const KEYGEN: &[(usize, u64)] = &[(512, 3), (1024, 4), (2048, 10), (3072, 14), (4096, 24)];
/// Sizes for sign and verify.
const SIZES: &[usize] = &[512, 1024, 2048, 3072, 4096];
/// The message signed: a 32-byte value, about what `openssl speed` signs (a 36-byte digest).
const MESSAGE: [u8; 32] = [0x5a; 32];

fn keygen(c: &mut Criterion<ThreadCpu>) {
    for &(bits, seconds) in KEYGEN {
        let mut group = c.benchmark_group("keygen/rsa-seeded");
        configure_keygen(&mut group, seconds);
        let mut seed = 0_u64;
        keygen_case(&mut group, "rsa-seeded", bits, || {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            seed += 1;
            PrivateKey::generate_rsa_with_policy(&mut rng, bits, KeySizePolicy::InsecureLegacy)
                .map(drop)
                .map_err(|e| e.to_string())
        });
        group.finish();

        let mut group = c.benchmark_group("keygen/rsa-os");
        configure_keygen(&mut group, seconds);
        keygen_case(&mut group, "rsa-os", bits, || {
            PrivateKey::generate_rsa_with_policy(
                &mut rand::rng(),
                bits,
                KeySizePolicy::InsecureLegacy,
            )
            .map(drop)
            .map_err(|e| e.to_string())
        });
        group.finish();

        #[cfg(feature = "aws-lc-rs")]
        if let Some(size) = aws_lc_size(bits) {
            let mut group = c.benchmark_group("keygen/aws-lc-os");
            configure_keygen(&mut group, seconds);
            keygen_case(&mut group, "aws-lc-os", bits, || {
                aws_lc_rs::rsa::KeyPair::generate(size)
                    .map(drop)
                    .map_err(|e| e.to_string())
            });
            group.finish();
        }
    }
}

fn configure_keygen(group: &mut BenchmarkGroup<'_, ThreadCpu>, seconds: u64) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(seconds));
}

/// Benchmarks `generate` (one key per call) and prints a `keygen-result` line with the median
/// and spread of the time per key over every key generated.
fn keygen_case(
    group: &mut BenchmarkGroup<'_, ThreadCpu>,
    label: &str,
    bits: usize,
    mut generate: impl FnMut() -> Result<(), String>,
) {
    let per_key = RefCell::new(Vec::new());
    group.bench_function(bits.to_string(), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = ThreadCpu::now();
                let key = generate();
                let elapsed = ThreadCpu::now().saturating_sub(start);
                if let Err(e) = black_box(key) {
                    panic!("{label} {bits}-bit key generation failed: {e}");
                }
                per_key.borrow_mut().push(elapsed);
                total += elapsed;
            }
            total
        })
    });
    let mut per_key = per_key.into_inner();
    if per_key.is_empty() {
        return; // filtered out
    }
    per_key.sort();
    let q = |q: f64| per_key[((per_key.len() - 1) as f64 * q).round() as usize].as_secs_f64();
    let mean = per_key.iter().sum::<Duration>().as_secs_f64() / per_key.len() as f64;
    println!(
        "keygen-result {label} bits={bits} keys={} median_s={:.6} p10_s={:.6} p90_s={:.6} mean_s={mean:.6}",
        per_key.len(),
        q(0.5),
        q(0.1),
        q(0.9),
    );
}

/// The aws-lc key size for `bits`, if aws-lc makes keys of that size.
#[cfg(feature = "aws-lc-rs")]
fn aws_lc_size(bits: usize) -> Option<aws_lc_rs::rsa::KeySize> {
    use aws_lc_rs::rsa::KeySize;
    match bits {
        2048 => Some(KeySize::Rsa2048),
        3072 => Some(KeySize::Rsa3072),
        4096 => Some(KeySize::Rsa4096),
        _ => None,
    }
}

fn sign_verify(c: &mut Criterion<ThreadCpu>) {
    for &bits in SIZES {
        let key = fixture_key(bits);
        let der = key.to_pkcs8_der().expect("PKCS#8 encoding");
        let signer =
            SigningKey::<Sha256>::new(rsa::PrivateKey::from_pkcs8_der(&der).expect("PKCS#8"));
        let verifier: VerifyingKey<Sha256> = signer.verifying_key();
        let signature = signer.sign(&MESSAGE);

        let mut group = c.benchmark_group("sign/rsa");
        configure_fast(&mut group);
        group.bench_function(bits.to_string(), |b| {
            b.iter(|| signer.sign(black_box(&MESSAGE)))
        });
        group.finish();

        #[cfg(feature = "aws-lc-rs")]
        if bits >= 2048 {
            let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).expect("aws-lc key");
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let mut out = vec![0u8; pair.public_modulus_len()];
            pair.sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &rng,
                &MESSAGE,
                &mut out,
            )
            .expect("aws-lc signature");
            assert_eq!(
                out,
                signature::SignatureEncoding::to_vec(&signature),
                "PKCS#1 v1.5 is deterministic: both backends make the same signature"
            );
            let mut group = c.benchmark_group("sign/aws-lc");
            configure_fast(&mut group);
            group.bench_function(bits.to_string(), |b| {
                b.iter(|| {
                    pair.sign(
                        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                        &rng,
                        black_box(&MESSAGE),
                        &mut out,
                    )
                })
            });
            group.finish();
        }

        let mut group = c.benchmark_group("verify/rsa");
        configure_fast(&mut group);
        group.bench_function(bits.to_string(), |b| {
            b.iter(|| verifier.verify(black_box(&MESSAGE), &signature))
        });
        group.finish();
    }
}

/// 20 samples of equal size over 3 s: bounded time whatever one operation costs (a 4096-bit
/// signature with the `rsa` crate takes tens of milliseconds).
fn configure_fast(group: &mut BenchmarkGroup<'_, ThreadCpu>) {
    group
        .sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

/// Building and signing a request with two DNS names and an IP address, at 2048 bits, through
/// the crate's public API.
fn request(c: &mut Criterion<ThreadCpu>) {
    let key = fixture_key(2048);
    let subject: DistinguishedName =
        "CN=www.example.com,OU=Web,O=Example Corp,L=Springfield,ST=Oregon,C=US"
            .parse()
            .expect("valid name");
    let mut group = c.benchmark_group("request/build_sign");
    configure_fast(&mut group);
    group.bench_function("2048", |b| {
        b.iter(|| {
            CertificateRequest::builder(subject.clone())
                .dns_name("www.example.com")
                .dns_name("example.com")
                .ip_address([192, 0, 2, 10].into())
                .sign(black_box(&key))
                .expect("request")
        })
    });
    group.finish();
}

/// The same key of `bits` bits on every run.
fn fixture_key(bits: usize) -> PrivateKey {
    let mut rng = ChaCha8Rng::seed_from_u64(bits as u64);
    PrivateKey::generate_rsa_with_policy(&mut rng, bits, KeySizePolicy::InsecureLegacy)
        .expect("key generation")
}

/// Criterion measurement: CPU time used by the benchmarking thread.
struct ThreadCpu {
    wall: WallTime,
}

impl Default for ThreadCpu {
    fn default() -> Self {
        Self { wall: WallTime }
    }
}

impl ThreadCpu {
    /// CPU time this thread has used so far (`CLOCK_THREAD_CPUTIME_ID`, nanosecond resolution;
    /// `/proc/thread-self/schedstat` would do, but it is only brought up to date at scheduler
    /// ticks, 4 ms here).
    #[cfg(unix)]
    fn now() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    /// Elsewhere, wall-clock time since the first call.
    #[cfg(not(unix))]
    fn now() -> Duration {
        static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        EPOCH.get_or_init(std::time::Instant::now).elapsed()
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        Self::now()
    }
    fn end(&self, start: Duration) -> Duration {
        Self::now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}
