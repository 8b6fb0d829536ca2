//! Issue 17: a store of 1,000 / 10,000 / 100,000 bound entries (one host name each, each with
//! its own key and a 2-certificate chain: leaf and CA) served by a `StoreResolver`:
//!
//! - `scale/first_snapshot/N`: a resolver's first snapshot (keys left sealed);
//! - `scale/refresh_one_changed/N`: the refresh after a commit that changed one bound entry
//!   (an address binding added to or removed from it), the commit outside the timing;
//! - `scale/refresh_unbound_commit/N`: the refresh after a commit that touched no bound entry
//!   (a pending key added or removed);
//! - `scale/lookup/N`: the snapshot lookup of a bound host name (`Snapshot::resolve`, what
//!   the resolver runs before it takes the identity's key);
//!
//! and printed, not timed by criterion: the resident memory per entry of a resolver's
//! snapshot, and, on 1,000 entries with 2048-bit keys, the memory per entry before and after
//! every key was used, and the first handshake lookup of each identity (open the sealed key,
//! parse it, build the rustls key): median and 10th / 90th percentiles.
//!
//! Run: `nice cargo bench --features rustls --bench scale` (`-- --quick` for short runs;
//! `SCALE_SIZES=1000,10000` to leave out the largest store).
//!
//! Setup: leaf keys are 512-bit keys (the legacy policy), from seeds, cached as PKCS#8 in
//! `<target>/bench-keys/` (the same files `benches/store.rs` caches, so they are shared), and
//! each store is built once and kept there as `scale-N.db` (fast KDF, throw-away passphrase):
//! the first run of the 100,000 store spends minutes generating keys and certificates, later
//! runs open the file. The certificates are made in-process by a 1024-bit CA
//! (`x509-cert`'s builder). Key size does not change what a snapshot or a refresh reads but
//! the sealed key's length; the memory and first-handshake figures use 2048-bit keys (aws-lc,
//! rustls's provider, refuses smaller ones).

#[path = "support/key_cache.rs"]
mod key_cache;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use der::{Decode, Encode};
use keymanager::tls::StoreResolver;
use keymanager::{
    CertificateRequest, InstallOptions, KdfParams, KeySizePolicy, KeyStore, PrivateKey,
    StoreOptions,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

/// Counts the bytes allocated and not yet freed: the heap a snapshot holds, free of the
/// allocator's reuse of pages that makes resident-memory deltas noisy.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's arguments.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn heap() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64
}

criterion_group!(benches, scale);
criterion_main!(benches);

const PASS: &str = "bench passphrase";
/// Where the resolvers listen.
const LOCAL: &str = "192.0.2.10:443";

fn scale(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("SCALE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let ca = Ca::new();
    keys_2048(&ca);
    for n in sizes {
        let store = store_of(&ca, n, 512);
        per_size(c, &store, n);
    }
}

fn per_size(c: &mut Criterion, store: &KeyStore, n: usize) {
    let local: SocketAddr = LOCAL.parse().expect("address");
    // A run that stopped half-way may have left the extra binding of the refresh bench.
    let extra: keymanager::Endpoint = "192.0.2.77:443".parse().expect("endpoint");
    let mut tx = store.begin().expect("begin");
    if tx.unbind(extra.clone()).is_ok() {
        tx.commit().expect("commit");
    } else {
        tx.rollback().expect("rollback");
    }
    let (before, heap_before) = (rss(), heap());
    let (cpu, wall) = (thread_cpu(), Instant::now());
    let resolver = resolver(store);
    let (cpu, wall) = (thread_cpu() - cpu, wall.elapsed());
    let (after, heap_after) = (rss(), heap());
    assert_eq!(resolver.snapshot().len(), n);
    println!(
        "scale/first_snapshot_cpu/{n}: {cpu:?} of this thread's CPU time ({wall:?} wall) for \
         the first snapshot"
    );
    println!(
        "scale/memory/{n}: {:.0} bytes of heap per entry held after the first snapshot (keys \
         sealed); resident memory grew by {:.0} bytes per entry",
        (heap_after - heap_before) / n as f64,
        (after - before) / n as f64
    );

    let mut group = c.benchmark_group("scale");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(if n >= 100_000 { 20 } else { 4 }));
    group.bench_function(format!("first_snapshot/{n}"), |b| {
        b.iter(|| black_box(resolver_quiet(store)))
    });

    // One bound entry changes: an address binding is added to `e0`, then removed.
    let mut bound = false;
    group.bench_function(format!("refresh_one_changed/{n}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut tx = store.begin().expect("begin");
                if bound {
                    tx.unbind(extra.clone()).expect("unbind");
                } else {
                    tx.bind(extra.clone(), "e0").expect("bind");
                }
                tx.commit().expect("commit");
                bound = !bound;
                let started = Instant::now();
                assert!(resolver.refresh().expect("refresh"));
                total += started.elapsed();
            }
            total
        })
    });

    // A commit that touches no bound entry: a pending key comes and goes.
    let pending = small_key(1_000_000);
    let request = CertificateRequest::builder("CN=pending.scale.test".parse().expect("dn"))
        .sign(&pending)
        .expect("request");
    let mut present = store.entry("pending").is_ok();
    group.bench_function(format!("refresh_unbound_commit/{n}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut tx = store.begin().expect("begin");
                if present {
                    tx.remove("pending").expect("remove");
                } else {
                    tx.add_pending("pending", pending.clone(), &request)
                        .expect("pending");
                }
                tx.commit().expect("commit");
                present = !present;
                let started = Instant::now();
                assert!(
                    !resolver.refresh().expect("refresh"),
                    "nothing served changed"
                );
                total += started.elapsed();
            }
            total
        })
    });

    let snapshot = resolver.snapshot();
    let names: Vec<String> = (0..n).map(|i| host((i * 7919) % n)).collect();
    let mut next = 0;
    group.bench_function(format!("lookup/{n}"), |b| {
        b.iter(|| {
            next = (next + 1) % names.len();
            let identity = snapshot.resolve(black_box(Some(names[next].as_str())), local);
            assert!(identity.is_some());
            identity.map(Arc::as_ptr)
        })
    });
    group.finish();
}

/// 1,000 entries with 2048-bit keys: resident memory per entry before and after every key
/// was used, and the first handshake lookup of each identity.
fn keys_2048(ca: &Ca) {
    const N: usize = 1_000;
    let store = store_of(ca, N, 2048);
    let (before, heap_before) = (rss(), heap());
    let resolver = resolver(&store);
    let (lazy, heap_lazy) = (rss(), heap());
    let mut firsts = Vec::with_capacity(N);
    for i in 0..N {
        let name = host(i);
        let started = Instant::now();
        let key = resolver.lookup(Some(&name));
        firsts.push(started.elapsed());
        assert!(key.is_some(), "{name}");
    }
    let (used, heap_used) = (rss(), heap());
    firsts.sort();
    let at = |p: usize| firsts[(firsts.len() - 1) * p / 100];
    println!(
        "scale/memory_2048/{N}: heap held per entry {:.0} bytes before first use, {:.0} after \
         every key was used; resident memory grew by {:.0} and {:.0} bytes per entry",
        (heap_lazy - heap_before) / N as f64,
        (heap_used - heap_before) / N as f64,
        (lazy - before) / N as f64,
        (used - before) / N as f64
    );
    println!(
        "scale/first_handshake_2048/{N}: median {:?} [{:?} .. {:?}] per identity (open, parse, \
         build the rustls key); a second lookup of the same name: {:?}",
        at(50),
        at(10),
        at(90),
        {
            let started = Instant::now();
            black_box(resolver.lookup(Some(&host(0))));
            started.elapsed()
        }
    );
}

fn resolver(store: &KeyStore) -> Arc<StoreResolver> {
    StoreResolver::builder(store, LOCAL.parse().expect("address"))
        .background(false)
        .on_error(|e| eprintln!("bench: {e}"))
        .build()
        .expect("resolver")
}

/// A resolver whose key errors are not printed (the 512-bit keys are never used).
fn resolver_quiet(store: &KeyStore) -> Arc<StoreResolver> {
    StoreResolver::builder(store, LOCAL.parse().expect("address"))
        .background(false)
        .on_error(|_| {})
        .build()
        .expect("resolver")
}

fn host(i: usize) -> String {
    format!("h{i}.scale.test")
}

/// The store of `n` entries `e0..` with `bits`-bit keys, each bound to its host name on port
/// 443: opened from `<target>/bench-keys/scale-N[-BITS].db`, or built and kept there.
fn store_of(ca: &Ca, n: usize, bits: usize) -> KeyStore {
    let dir = key_cache::cache_dir();
    let file = if bits == 512 {
        format!("scale-{n}.db")
    } else {
        format!("scale-{n}-{bits}.db")
    };
    let path = dir.join(file);
    let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1).expect("kdf"));
    if let Ok(store) = KeyStore::open_with(&path, PASS, &options)
        && store.entry(&format!("e{}", n - 1)).is_ok()
    {
        return store;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    eprintln!("bench: building {} ({n} entries)", path.display());
    let store = KeyStore::create_with(&path, PASS, &options).expect("store");
    let started = Instant::now();
    for first in (0..n).step_by(2_000) {
        let mut tx = store.begin().expect("begin");
        for i in first..(first + 2_000).min(n) {
            let key = key_cache::cached_key(bits, i);
            let name = format!("e{i}");
            tx.import(
                &name,
                &key,
                ca.issue(&key, &host(i), i).as_bytes(),
                InstallOptions::new(),
            )
            .expect("import");
            tx.bind(format!("{}:443", host(i)).parse().expect("endpoint"), &name)
                .expect("bind");
        }
        tx.commit().expect("commit");
        eprintln!(
            "bench: {} entries, {:?}",
            (first + 2_000).min(n),
            started.elapsed()
        );
    }
    // Measured on a store opened as a server opens it, not the handle that built it.
    drop(store);
    KeyStore::open_with(&path, PASS, &options).expect("store")
}

fn small_key(seed: u64) -> PrivateKey {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    PrivateKey::generate_rsa_with_policy(&mut rng, 512, KeySizePolicy::InsecureLegacy)
        .expect("key generation")
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): what the work cost, whatever the
/// machine's other load.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Resident memory of this process, in bytes (`/proc/self/statm`).
fn rss() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096.0
}

/// A throw-away CA (1024-bit key, for speed) that issues server certificates in-process.
struct Ca {
    signer: rsa::pkcs1v15::SigningKey<sha2::Sha256>,
    name: Name,
    pem: String,
}

impl Ca {
    fn new() -> Ca {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let key =
            PrivateKey::generate_rsa_with_policy(&mut rng, 1024, KeySizePolicy::InsecureLegacy)
                .expect("CA key");
        let der = key.to_pkcs8_der().expect("PKCS#8");
        let rsa_key = <rsa::PrivateKey as pkcs8::DecodePrivateKey>::from_pkcs8_der(&der)
            .expect("CA key for rsa");
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa_key);
        let name = Name::from_str("CN=Scale Bench CA").expect("CA name");
        let profile = Profile {
            issuer: name.clone(),
            subject: name.clone(),
            host: None,
        };
        let cert = build(profile, 1, key.public_key_der(), &signer);
        let pem = keymanager::Certificate::from_der(&cert)
            .expect("CA certificate")
            .to_pem();
        Ca { signer, name, pem }
    }

    /// A server certificate for `host` and `key`, followed by the CA's, as PEM.
    fn issue(&self, key: &PrivateKey, host: &str, serial: usize) -> String {
        let profile = Profile {
            issuer: self.name.clone(),
            subject: Name::from_str(&format!("CN={host}")).expect("name"),
            host: Some(host.to_owned()),
        };
        let der = build(
            profile,
            serial as u64 + 100,
            key.public_key_der(),
            &self.signer,
        );
        let leaf = keymanager::Certificate::from_der(&der).expect("leaf");
        format!("{}{}", leaf.to_pem(), self.pem)
    }
}

fn build(
    profile: Profile,
    serial: u64,
    spki_der: &[u8],
    signer: &rsa::pkcs1v15::SigningKey<sha2::Sha256>,
) -> Vec<u8> {
    let now = SystemTime::now();
    let validity = Validity::new(
        Time::try_from(now - Duration::from_secs(86_400)).expect("time"),
        Time::try_from(now + Duration::from_secs(365 * 86_400)).expect("time"),
    );
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der).expect("SPKI");
    let builder = CertificateBuilder::new(profile, SerialNumber::from(serial), validity, spki)
        .expect("builder");
    builder
        .build::<_, rsa::pkcs1v15::Signature>(signer)
        .expect("certificate")
        .to_der()
        .expect("DER")
}

/// The CA's own certificate (`host` `None`: CA:TRUE) or a server certificate for `host`.
struct Profile {
    issuer: Name,
    subject: Name,
    host: Option<String>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        use const_oid::db::rfc5280::{
            ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_KP_SERVER_AUTH,
        };
        let ext = |oid, critical, value: Vec<u8>| -> der::Result<Extension> {
            Ok(Extension {
                extn_id: oid,
                critical,
                extn_value: der::asn1::OctetString::new(value)?,
            })
        };
        Ok(match &self.host {
            None => vec![ext(
                ID_CE_BASIC_CONSTRAINTS,
                true,
                BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                }
                .to_der()?,
            )?],
            Some(host) => vec![
                ext(
                    ID_CE_SUBJECT_ALT_NAME,
                    false,
                    SubjectAltName(vec![GeneralName::DnsName(der::asn1::Ia5String::new(host)?)])
                        .to_der()?,
                )?,
                ext(
                    ID_CE_EXT_KEY_USAGE,
                    false,
                    ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH]).to_der()?,
                )?,
            ],
        })
    }
}
