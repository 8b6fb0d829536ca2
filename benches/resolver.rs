//! The rustls resolver's time per handshake lookup ([`StoreResolver::lookup`], what
//! `ResolvesServerCert::resolve` runs) with 10, 1,000 and 10,000 bindings: the goal is well
//! under 1 µs, flat in the number of bindings.
//!
//! Run: `cargo bench --features rustls --bench resolver` (add `-- --quick` for a short run).
//! Needs the `openssl` CLI, which plays the CA once during setup. The bindings are host names
//! spread over [`ENTRIES`] entries with wildcard certificates (key generation is slow), plus
//! the any-address; setup takes some seconds.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use keymanager::tls::StoreResolver;
use keymanager::{
    CertificateRequest, DistinguishedName, KdfParams, KeyStore, PrivateKey, StoreOptions,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

criterion_group!(benches, lookup);
criterion_main!(benches);

/// Entries the bindings share.
const ENTRIES: usize = 32;
/// Binding counts compared.
const SIZES: [usize; 3] = [10, 1_000, 10_000];

fn host(i: usize) -> String {
    format!("h{i}.e{}.bench.test", i % ENTRIES)
}

fn lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = KeyStore::open_in_memory_with(
        "bench passphrase",
        &StoreOptions::new().kdf(KdfParams::new(64, 1, 1).expect("kdf")),
    )
    .expect("store");
    install_entries(&store, dir.path());
    let mut tx = store.begin().expect("begin");
    tx.bind("0.0.0.0:443".parse().expect("endpoint"), "e0")
        .expect("bind");
    tx.commit().expect("commit");

    let mut bound = 1;
    let mut group = c.benchmark_group("resolver/lookup");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in SIZES {
        // Grow the store to n bindings (the any-address and n - 1 host names).
        let mut tx = store.begin().expect("begin");
        for i in bound - 1..n - 1 {
            let endpoint = format!("{}:443", host(i)).parse().expect("endpoint");
            tx.bind(endpoint, &format!("e{}", i % ENTRIES))
                .expect("bind");
        }
        tx.commit().expect("commit");
        bound = n;
        let resolver = StoreResolver::builder(&store, "192.0.2.10:443".parse().expect("addr"))
            .background(false)
            .build()
            .expect("resolver");
        assert_eq!(resolver.snapshot().len(), n);
        // Each lookup asks for another bound name, in a fixed shuffled order.
        let names: Vec<String> = (0..n - 1).map(|i| host((i * 7919) % (n - 1))).collect();
        let mut next = 0;
        group.bench_function(format!("sni_host/{n}"), |b| {
            b.iter(|| {
                next = (next + 1) % names.len();
                let key = resolver.lookup(black_box(Some(names[next].as_str())));
                assert!(key.is_some());
                key
            })
        });
        group.bench_function(format!("unbound_sni_to_any_address/{n}"), |b| {
            b.iter(|| {
                let key = resolver.lookup(black_box(Some("unbound.example.test")));
                assert!(key.is_some());
                key
            })
        });
        group.bench_function(format!("no_sni_to_any_address/{n}"), |b| {
            b.iter(|| resolver.lookup(black_box(None)))
        });
    }
    group.finish();
}

/// Entries e0..e31, each with a seeded 2048-bit key and a certificate for `*.eK.bench.test`
/// signed by a throwaway OpenSSL CA.
fn install_entries(store: &KeyStore, dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Bench CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    std::fs::write(dir.join("ext.cnf"), "").expect("ext");
    for k in 0..ENTRIES {
        let mut rng = ChaCha8Rng::seed_from_u64(9000 + k as u64);
        let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).expect("key");
        let wildcard = format!("*.e{k}.bench.test");
        let dn: DistinguishedName = format!("CN={wildcard}").parse().expect("dn");
        let request = CertificateRequest::builder(dn)
            .dns_name(wildcard.clone())
            .sign(&key)
            .expect("request");
        std::fs::write(dir.join("req.pem"), request.to_pem()).expect("req");
        std::fs::write(
            dir.join("ext.cnf"),
            format!("subjectAltName=DNS:{wildcard}\nextendedKeyUsage=serverAuth\n"),
        )
        .expect("ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "req.pem",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-days",
                "2",
                "-set_serial",
                &(100 + k).to_string(),
                "-extfile",
                "ext.cnf",
                "-out",
                "leaf.pem",
            ],
        );
        let leaf = std::fs::read(dir.join("leaf.pem")).expect("leaf");
        let mut tx = store.begin().expect("begin");
        tx.add_pending(&format!("e{k}"), key, &request)
            .expect("pending");
        tx.install_certificate(&leaf).expect("install");
        tx.commit().expect("commit");
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI must be installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
