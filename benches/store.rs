//! Key store benchmarks (`cargo bench --bench store`; add `-- --quick` for a short run).
//!
//! - `store/add_pending_commit/file`: `begin` + `add_pending` + `commit` of one pending key in
//!   a store file on disk (key generation and request signing excluded), next to
//!   `store/fsync_4k/file`, one 4 KiB write + `fdatasync` in the same directory: a commit
//!   should cost about one fsync.
//! - `store/install_certificate/{10,1000,10000}_pending`: installing a certificate when that
//!   many keys are pending, in a transaction rolled back afterwards (every iteration sees the
//!   same store). The pending key is found through an index on its fingerprint; a
//!   `store-result install` line gives the ratio of the medians.
//! - `store/resolve/{10,1000,10000}_bindings`: [`KeyStore::resolve`] (the SQLite path: binding
//!   lookups, the entry's MAC check, parsing its chain and unsealing its key) of an SNI name
//!   bound to one entry, while the store holds that many bindings in all (the others spread
//!   over ten other installed entries).
//! - `store/open/{1000,10000}_entries`: [`KeyStore::open`] of a file holding that many
//!   entries, with the recommended Argon2id cost (19 MiB, 2 passes): the passphrase key is
//!   derived once per open, and opening checks the file and the store's authenticator.
//! - `store/commit/{10,10000}_entries`: `begin` + `add_pending` + `commit` of one pending key
//!   in an in-memory store that holds that many entries; a `store-result commit` line gives
//!   the ratio of the medians (a commit's cost must not grow with the store).
//! - `store/begin_commit_empty`: a transaction that changes nothing.
//!
//! Needs the `openssl` CLI, which plays the CA during setup. Each entry needs its own key (keys
//! are unique in a store): the installed entries use 2048-bit keys, the thousands of pending
//! fillers 512-bit keys (the store takes legacy sizes; a pending key's size does not change
//! what installing another key costs, and they are 30 times faster to make). Keys are made
//! once from seeded random sources and cached as PKCS#8 DER under `<target>/bench-keys/`
//! (the first run spends a minute or so on them).

#[path = "support/key_cache.rs"]
mod key_cache;

use std::hint::black_box;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use key_cache::target_dir;
use keymanager::{
    CertificateRequest, DistinguishedName, KdfParams, KeyStore, PrivateKey, StoreOptions,
};

criterion_group!(
    benches,
    add_pending_commit,
    install,
    resolve,
    open,
    commit_scaling,
    empty_transaction
);
criterion_main!(benches);

/// Pending-key counts for the install bench, and binding counts for the resolve bench.
const COUNTS: [usize; 3] = [10, 1_000, 10_000];
/// Installed entries that hold the other bindings in the resolve bench.
const FILLER_ENTRIES: usize = 10;

/// One commit of one new pending key, in a store file on disk, against one fsync.
fn add_pending_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(target_dir()).expect("temporary directory");
    let store =
        KeyStore::create_with(dir.path().join("keys.db"), "bench", &low_kdf()).expect("store");
    let key = cached_keys(2048, 1).remove(0);
    let request = request_for(&key, "www.example.com");

    let mut group = c.benchmark_group("store");
    group.bench_function("add_pending_commit/file", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let copy = key.clone();
                let start = Instant::now();
                let mut tx = store.begin().expect("begin");
                tx.add_pending("www", copy, &request).expect("add_pending");
                tx.commit().expect("commit");
                total += start.elapsed();
                // Untimed: take it out again for the next round.
                let mut tx = store.begin().expect("begin");
                tx.remove("www").expect("remove");
                tx.commit().expect("commit");
            }
            total
        })
    });
    let probe = dir.path().join("fsync-probe");
    let mut file = std::fs::File::create(&probe).expect("probe file");
    let block = [0x5a_u8; 4096];
    group.bench_function("fsync_4k/file", |b| {
        b.iter(|| {
            file.write_all(&block).expect("write");
            file.sync_data().expect("fdatasync");
        })
    });
    group.finish();
}

/// `install_certificate` into stores with 10, 1,000 and 10,000 pending keys, rolled back.
fn install(c: &mut Criterion) {
    let target = cached_keys(2048, 1).remove(0);
    let fillers = cached_keys(512, COUNTS[2] - 1);
    let bundle = ca_signs(&[request_for(&target, "www.example.com")]).remove(0);

    let mut medians = Vec::new();
    let mut group = c.benchmark_group("store/install_certificate");
    for n in COUNTS {
        let store = pending_store(&target, &fillers[..n - 1]);
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
        medians.push((n, median_install(&store, &bundle)));
    }
    group.finish();
    if let (Some((n0, t0)), Some((n1, t1))) = (medians.first(), medians.last()) {
        println!(
            "store-result install median over 30 runs: {}; ratio {n1}/{n0} = {:.2}",
            medians
                .iter()
                .map(|(n, t)| format!("{n} pending {t:.2?}"))
                .collect::<Vec<_>>()
                .join(", "),
            t1.as_secs_f64() / t0.as_secs_f64()
        );
    }
}

/// `resolve` of a bound SNI name with 10, 1,000 and 10,000 bindings in the store.
fn resolve(c: &mut Criterion) {
    let keys = cached_keys(2048, FILLER_ENTRIES + 1);
    let hosts: Vec<String> = (0..keys.len())
        .map(|i| {
            if i == 0 {
                "www.example.com".into()
            } else {
                format!("site{i}.example.com")
            }
        })
        .collect();
    let requests: Vec<CertificateRequest> = keys
        .iter()
        .zip(&hosts)
        .map(|(k, h)| request_for(k, h))
        .collect();
    let bundles = ca_signs(&requests);
    let ip: IpAddr = "192.0.2.10".parse().expect("address");

    let mut group = c.benchmark_group("store/resolve");
    for n in COUNTS {
        let store = KeyStore::open_in_memory_with("bench", &low_kdf()).expect("store");
        let mut tx = store.begin().expect("begin");
        let mut names = Vec::new();
        for (i, (key, request)) in keys.iter().zip(&requests).enumerate() {
            tx.add_pending(&format!("entry-{i}"), key.clone(), request)
                .expect("add_pending");
            names.push(tx.install_certificate(&bundles[i]).expect("install"));
        }
        tx.bind("www.example.com:443".parse().expect("endpoint"), &names[0])
            .expect("bind");
        for b in 1..n {
            let entry = &names[1 + b % FILLER_ENTRIES];
            let endpoint = format!("192.0.2.{}:{}", 1 + b % 200, 1000 + b);
            tx.bind(endpoint.parse().expect("endpoint"), entry)
                .expect("bind");
        }
        tx.commit().expect("commit");
        group.bench_function(format!("{n}_bindings"), |b| {
            b.iter(|| {
                store
                    .resolve(Some("www.example.com"), SocketAddr::new(black_box(ip), 443))
                    .expect("resolve")
                    .expect("bound")
            })
        });
        if n == COUNTS[0] {
            group.bench_function(format!("{n}_bindings_miss"), |b| {
                b.iter(|| {
                    store
                        .resolve(None, SocketAddr::new(black_box(ip), 8443))
                        .expect("resolve")
                })
            });
        }
    }
    group.finish();
}

/// Opening a store file that holds 1,000 and 10,000 entries, at the recommended Argon2id cost.
fn open(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(target_dir()).expect("temporary directory");
    let target = cached_keys(2048, 1).remove(0);
    let fillers = cached_keys(512, COUNTS[2] - 1);
    let mut group = c.benchmark_group("store/open");
    group.sample_size(10);
    for n in [COUNTS[1], COUNTS[2]] {
        let path = dir.path().join(format!("keys-{n}.db"));
        {
            let store = KeyStore::create(&path, "bench passphrase").expect("create");
            fill_pending(&store, &target, &fillers[..n - 1]);
        }
        group.bench_function(format!("{n}_entries"), |b| {
            b.iter(|| KeyStore::open(black_box(&path), "bench passphrase").expect("open"))
        });
    }
    group.finish();
}

/// One commit (`begin` + `add_pending` + `commit`) into stores of 10 and 10,000 entries.
fn commit_scaling(c: &mut Criterion) {
    let target = cached_keys(2048, 1).remove(0);
    let fillers = cached_keys(512, COUNTS[2] - 1);
    let probe = cached_keys(2048, 2).remove(1);
    let request = request_for(&probe, "probe.example.com");
    let mut medians = Vec::new();
    let mut group = c.benchmark_group("store/commit");
    for n in [COUNTS[0], COUNTS[2]] {
        let store = pending_store(&target, &fillers[..n - 1]);
        let once = || {
            let copy = probe.clone();
            let start = Instant::now();
            let mut tx = store.begin().expect("begin");
            tx.add_pending("probe", copy, &request)
                .expect("add_pending");
            tx.commit().expect("commit");
            let elapsed = start.elapsed();
            // Untimed: take it out again for the next round.
            let mut tx = store.begin().expect("begin");
            tx.remove("probe").expect("remove");
            tx.commit().expect("commit");
            elapsed
        };
        group.bench_function(format!("{n}_entries"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| once()).sum())
        });
        let mut times: Vec<Duration> = (0..30).map(|_| once()).collect();
        times.sort();
        medians.push((n, times[times.len() / 2]));
    }
    group.finish();
    if let (Some((n0, t0)), Some((n1, t1))) = (medians.first(), medians.last()) {
        println!(
            "store-result commit median over 30 runs: {n0} entries {t0:.2?}, {n1} entries {t1:.2?}; ratio {n1}/{n0} = {:.2}",
            t1.as_secs_f64() / t0.as_secs_f64()
        );
    }
}

/// `begin` + `commit` of a transaction that changes nothing.
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

/// A store (low Argon2 cost: setup only) with a pending entry for `target` (for
/// `www.example.com`) and one for each filler.
fn pending_store(target: &PrivateKey, fillers: &[PrivateKey]) -> KeyStore {
    let store = KeyStore::open_in_memory_with("bench", &low_kdf()).expect("store");
    fill_pending(&store, target, fillers);
    store
}

fn fill_pending(store: &KeyStore, target: &PrivateKey, fillers: &[PrivateKey]) {
    let mut tx = store.begin().expect("begin");
    for (i, key) in std::iter::once(target).chain(fillers).enumerate() {
        let host = if i == 0 {
            "www.example.com".to_string()
        } else {
            format!("host{i}.example.com")
        };
        let request = request_for(key, &host);
        tx.add_pending(&format!("entry-{i}"), key.clone(), &request)
            .expect("add_pending");
    }
    tx.commit().expect("commit");
}

fn low_kdf() -> StoreOptions {
    StoreOptions::new().kdf(KdfParams::new(64, 1, 1).expect("KDF parameters"))
}

fn request_for(key: &PrivateKey, host: &str) -> CertificateRequest {
    let dn: DistinguishedName = format!("CN={host},O=Bench").parse().expect("name");
    CertificateRequest::builder(dn).sign(key).expect("request")
}

/// `n` keys of `bits` bits from seeds 0..n, read from `<target>/bench-keys/` or made and
/// cached there.
fn cached_keys(bits: usize, n: usize) -> Vec<PrivateKey> {
    (0..n).map(|i| key_cache::cached_key(bits, i)).collect()
}

/// Has one throw-away CA, made with the `openssl` CLI, sign each request as a server
/// certificate for its names; returns, for each, the certificate followed by the CA's.
fn ca_signs(requests: &[CertificateRequest]) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let p = |f: &str| dir.path().join(f);
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
    let ca = std::fs::read(p("ca.pem")).expect("read CA");
    requests
        .iter()
        .enumerate()
        .map(|(i, request)| {
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
                "x509",
                "-req",
                "-days",
                "1",
                "-set_serial",
                &(i + 7).to_string(),
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
            bundle.extend_from_slice(&ca);
            bundle
        })
        .collect()
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
