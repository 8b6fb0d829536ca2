//! Key store benchmarks: installing a certificate into a store with few or many pending keys,
//! resolving a connection, opening a store (Argon2id at `KdfParams::RECOMMENDED`), and an empty
//! transaction.
//!
//! Run: `cargo bench --bench store` (add `-- --quick` for a short run). Needs the `openssl` CLI,
//! which plays the CA once during setup.
//!
//! Installing finds the pending key by the certificate's public-key fingerprint, through an
//! index: its cost must not grow with the number of pending keys. The bench compares stores with
//! [`SMALL`] and [`BIG`] pending entries. Each pending entry needs its own 2048-bit key (keys are
//! unique in a store); generating [`BIG`] of them takes a while, so they are made once from
//! seeded random sources and cached as PKCS#8 DER under `<target>/bench-keys/`, and later runs
//! read them back (the first run spends about a minute on them).

use std::hint::black_box;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use keymanager::{
    CertificateRequest, DistinguishedName, KdfParams, KeyStore, PrivateKey, StoreOptions,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

criterion_group!(benches, install, resolve, open, empty_transaction);
criterion_main!(benches);

/// Pending entries in the small store.
const SMALL: usize = 10;
/// Pending entries in the big store.
const BIG: usize = 1000;

/// `install_certificate` into a store with `SMALL` and with `BIG` pending keys, in a
/// transaction that is then rolled back, so every iteration sees the same store. Prints the
/// ratio of the medians.
fn install(c: &mut Criterion) {
    let keys = cached_keys(BIG);
    let small = pending_store(&keys[..SMALL]);
    let big = pending_store(&keys);
    let bundle = ca_signs(&request_for(&keys[0], "www.example.com"));

    let mut group = c.benchmark_group("store/install_certificate");
    for (n, store) in [(SMALL, &small), (BIG, &big)] {
        group.bench_function(format!("{n}_pending"), |b| {
            b.iter_batched(
                || store.begin().expect("begin"),
                |mut tx| {
                    tx.install_certificate(black_box(&bundle)).expect("install");
                    tx // dropped outside the measurement: rolled back
                },
                // One transaction at a time: a second one would wait for the write lock.
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();

    let (t_small, t_big) = (
        median_install(&small, &bundle),
        median_install(&big, &bundle),
    );
    println!(
        "store/install_certificate median over 30 runs: {SMALL} pending {t_small:.2?}, {BIG} pending {t_big:.2?}, ratio {BIG}/{SMALL} = {:.2}",
        t_big.as_secs_f64() / t_small.as_secs_f64()
    );
}

/// `resolve` of a connection whose SNI name is bound, in a store with one installed entry and
/// `SMALL - 1` pending ones: the lookups, the integrity check, parsing the chain and unsealing
/// the key.
fn resolve(c: &mut Criterion) {
    let keys = cached_keys(SMALL);
    let store = pending_store(&keys);
    let bundle = ca_signs(&request_for(&keys[0], "www.example.com"));
    let mut tx = store.begin().expect("begin");
    let name = tx.install_certificate(&bundle).expect("install");
    tx.bind("www.example.com:443".parse().expect("endpoint"), &name)
        .expect("bind");
    tx.commit().expect("commit");
    let ip: IpAddr = "192.0.2.10".parse().expect("address");

    let mut group = c.benchmark_group("store/resolve");
    group.bench_function("sni_hit", |b| {
        b.iter(|| {
            store
                .resolve(black_box(ip), 443, Some("www.example.com"))
                .expect("resolve")
                .expect("bound")
        })
    });
    group.bench_function("miss", |b| {
        b.iter(|| store.resolve(black_box(ip), 8443, None).expect("resolve"))
    });
    group.finish();
}

/// Opening an existing store file: dominated by Argon2id at the recommended cost (19 MiB,
/// 2 passes), which is the point: it is what a password guess costs an attacker too.
fn open(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("keys.db");
    drop(KeyStore::open(&path, "bench passphrase").expect("create"));

    let mut group = c.benchmark_group("store/open");
    group.sample_size(10);
    group.bench_function("argon2id_recommended", |b| {
        b.iter(|| KeyStore::open(black_box(&path), "bench passphrase").expect("open"))
    });
    group.finish();
}

/// `begin` + `commit` of a transaction that changes nothing: the write lock and a WAL commit.
fn empty_transaction(c: &mut Criterion) {
    let store = KeyStore::open_in_memory_with("bench", &low_kdf()).expect("store");
    c.bench_function("store/begin_commit_empty", |b| {
        b.iter(|| store.begin().expect("begin").commit().expect("commit"))
    });
}

// ---------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------

/// Median time of 30 installs (each rolled back), for the ratio line.
fn median_install(store: &KeyStore, bundle: &[u8]) -> Duration {
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let mut tx = store.begin().expect("begin");
            let start = Instant::now();
            tx.install_certificate(bundle).expect("install");
            let elapsed = start.elapsed();
            drop(tx);
            elapsed
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// A store (low Argon2 cost: setup only) with one pending entry per key; the first key's entry
/// is for `www.example.com`.
fn pending_store(keys: &[PrivateKey]) -> KeyStore {
    let store = KeyStore::open_in_memory_with("bench", &low_kdf()).expect("store");
    let mut tx = store.begin().expect("begin");
    for (i, key) in keys.iter().enumerate() {
        let host = if i == 0 {
            "www.example.com".to_string()
        } else {
            format!("host{i}.example.com")
        };
        let request = request_for(key, &host);
        tx.add_pending(
            &format!("entry-{i}"),
            key.try_clone().expect("key"),
            &request,
        )
        .expect("add_pending");
    }
    tx.commit().expect("commit");
    store
}

fn low_kdf() -> StoreOptions {
    StoreOptions::new().kdf(KdfParams::new(64, 1, 1).expect("KDF parameters"))
}

fn request_for(key: &PrivateKey, host: &str) -> CertificateRequest {
    let dn: DistinguishedName = format!("CN={host},O=Bench").parse().expect("name");
    CertificateRequest::builder(dn).sign(key).expect("request")
}

/// `n` 2048-bit keys from seeds 0..n, read from `<target>/bench-keys/` or made and cached there.
fn cached_keys(n: usize) -> Vec<PrivateKey> {
    let dir = target_dir().join("bench-keys");
    std::fs::create_dir_all(&dir).expect("creating the key cache directory");
    (0..n)
        .map(|i| {
            let path = dir.join(format!("rsa2048-seed{i}.der"));
            if let Ok(der) = std::fs::read(&path)
                && let Ok(key) = PrivateKey::from_der(&der)
            {
                return key;
            }
            if i % 50 == 0 {
                eprintln!(
                    "bench: generating and caching keys {i}.. in {}",
                    dir.display()
                );
            }
            let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
            let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).expect("key generation");
            write_private(&path, &key.to_pkcs8_der().expect("PKCS#8"));
            key
        })
        .collect()
}

/// Writes a cached key, mode 0600 (they are throw-away bench keys, but still private keys).
fn write_private(path: &Path, der: &[u8]) {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).expect("creating a cached key");
    file.write_all(der).expect("writing a cached key");
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Has a throw-away CA, made with the `openssl` CLI, sign `request` as a server certificate
/// for its names; returns the certificate followed by the CA's.
fn ca_signs(request: &CertificateRequest) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let p = |f: &str| dir.path().join(f);
    std::fs::write(p("req.pem"), request.to_pem()).expect("write request");
    let sans: Vec<String> = request
        .dns_names()
        .iter()
        .map(|n| format!("DNS:{n}"))
        .collect();
    std::fs::write(
        p("ext.cnf"),
        format!(
            "subjectAltName={}\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
            sans.join(",")
        ),
    )
    .expect("write extensions");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=Bench CA",
        "-days",
        "2",
        "-keyout",
        &path(&p("ca.key")),
        "-out",
        &path(&p("ca.pem")),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-days",
        "1",
        "-set_serial",
        "7",
        "-in",
        &path(&p("req.pem")),
        "-CA",
        &path(&p("ca.pem")),
        "-CAkey",
        &path(&p("ca.key")),
        "-extfile",
        &path(&p("ext.cnf")),
        "-out",
        &path(&p("leaf.pem")),
    ]);
    let mut bundle = std::fs::read(p("leaf.pem")).expect("read certificate");
    bundle.extend(std::fs::read(p("ca.pem")).expect("read CA"));
    bundle
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI is needed for this bench");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
