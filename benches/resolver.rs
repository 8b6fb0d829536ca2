//! The rustls resolver's time per handshake lookup ([`StoreResolver::lookup`], what
//! `ResolvesServerCert::resolve` runs) with 10, 1,000 and 10,000 bindings: the goal is well
//! under 1 µs, flat in the number of bindings.
//!
//! Also, on one endpoint bound to an ECDSA P-256 and an RSA-2048 entry: the lookup for a
//! client that takes ECDSA and for one that takes RSA only, and the server's time for a whole
//! TLS 1.3 handshake (in memory, no sockets) with each of the two identities.
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
    CertificateRequest, DistinguishedName, KdfParams, KeyStore, KeyType, PrivateKey, StoreOptions,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

criterion_group!(benches, lookup, dual);
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

/// An endpoint with an ECDSA P-256 and an RSA-2048 entry: the lookup for each kind of client,
/// and the server's share of a full handshake served each identity.
fn dual(c: &mut Criterion) {
    // The dev build's rustls has two providers (aws-lc-rs and ring): choose one, as a server
    // must when it links both.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    use rustls::SignatureScheme as S;

    let dir = tempfile::tempdir().expect("tempdir");
    let store = KeyStore::open_in_memory_with(
        "bench passphrase",
        &StoreOptions::new().kdf(KdfParams::new(64, 1, 1).expect("kdf")),
    )
    .expect("store");
    make_ca(dir.path());
    let mut rng = ChaCha8Rng::seed_from_u64(9100);
    for (name, key_type) in [
        ("rsa", KeyType::Rsa { bits: 2048 }),
        ("ecdsa", KeyType::EcdsaP256),
    ] {
        let key = PrivateKey::generate_with_rng(&mut rng, key_type).expect("key");
        install(&store, dir.path(), name, key, "dual.bench.test", 900);
    }
    let mut tx = store.begin().expect("begin");
    for name in ["rsa", "ecdsa"] {
        tx.bind("dual.bench.test:443".parse().expect("endpoint"), name)
            .expect("bind");
    }
    tx.commit().expect("commit");
    let resolver = StoreResolver::builder(&store, "192.0.2.10:443".parse().expect("addr"))
        .background(false)
        .build()
        .expect("resolver");

    let ecdsa_client = [
        S::ECDSA_NISTP256_SHA256,
        S::RSA_PSS_SHA256,
        S::RSA_PKCS1_SHA256,
    ];
    let rsa_client = [S::RSA_PSS_SHA256, S::RSA_PKCS1_SHA256];
    let mut group = c.benchmark_group("resolver/dual");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (client, schemes) in [
        ("ecdsa_client", &ecdsa_client[..]),
        ("rsa_client", &rsa_client),
    ] {
        group.bench_function(format!("lookup/{client}"), |b| {
            b.iter(|| resolver.lookup_for(black_box(Some("dual.bench.test")), black_box(schemes)))
        });
    }
    let server = std::sync::Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone()),
    );
    for (identity, schemes) in [("ecdsa_p256", &ecdsa_client[..]), ("rsa_2048", &rsa_client)] {
        let client = handshake::client(schemes);
        group.bench_function(format!("handshake_server_time/{identity}"), |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| handshake::server_time(&client, &server))
                    .sum()
            })
        });
    }
    group.finish();
}

/// A full TLS 1.3 handshake in memory, and the time the server spent in it.
mod handshake {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{
        ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig, ServerConnection,
    };

    /// A client that offers only `schemes` (so the server's choice is the bench's) and checks
    /// the handshake signature, not the chain (the bench CA is not in any root store).
    pub(super) fn client(schemes: &[rustls::SignatureScheme]) -> Arc<ClientConfig> {
        let verifier = Arc::new(SignatureOnly(schemes.to_vec()));
        let mut config = ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }

    /// One handshake; the wall time spent in the server's calls only.
    pub(super) fn server_time(client: &Arc<ClientConfig>, server: &Arc<ServerConfig>) -> Duration {
        let name = ServerName::try_from("dual.bench.test").expect("name");
        let mut client = ClientConnection::new(Arc::clone(client), name).expect("client");
        let mut server = ServerConnection::new(Arc::clone(server)).expect("server");
        let mut spent = Duration::ZERO;
        let mut buf = Vec::new();
        while client.is_handshaking() || server.is_handshaking() {
            buf.clear();
            while client.wants_write() {
                client.write_tls(&mut buf).expect("client write");
            }
            let start = Instant::now();
            let mut input = &buf[..];
            while !input.is_empty() {
                server.read_tls(&mut input).expect("server read");
            }
            server.process_new_packets().expect("server handshake");
            let mut out = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut out).expect("server write");
            }
            spent += start.elapsed();
            let mut input = &out[..];
            while !input.is_empty() {
                client.read_tls(&mut input).expect("client read");
            }
            client.process_new_packets().expect("client handshake");
        }
        spent
    }

    #[derive(Debug)]
    struct SignatureOnly(Vec<rustls::SignatureScheme>);

    impl ServerCertVerifier for SignatureOnly {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms())
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms())
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.clone()
        }
    }

    fn algorithms() -> rustls::crypto::WebPkiSupportedAlgorithms {
        rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
    }
}

/// Entries e0..e31, each with a seeded 2048-bit key and a certificate for `*.eK.bench.test`
/// signed by a throwaway OpenSSL CA.
fn install_entries(store: &KeyStore, dir: &Path) {
    make_ca(dir);
    for k in 0..ENTRIES {
        let mut rng = ChaCha8Rng::seed_from_u64(9000 + k as u64);
        let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).expect("key");
        let wildcard = format!("*.e{k}.bench.test");
        install(store, dir, &format!("e{k}"), key, &wildcard, 100 + k);
    }
}

/// The throwaway CA: `ca.pem` and `ca.key` in `dir`.
fn make_ca(dir: &Path) {
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
}

/// Entry `name` with `key` and a certificate for `dns` from the CA (serial `serial`).
fn install(store: &KeyStore, dir: &Path, name: &str, key: PrivateKey, dns: &str, serial: usize) {
    {
        let dn: DistinguishedName = format!("CN={dns}").parse().expect("dn");
        let request = CertificateRequest::builder(dn)
            .dns_name(dns)
            .sign(&key)
            .expect("request");
        std::fs::write(dir.join("req.pem"), request.to_pem()).expect("req");
        std::fs::write(
            dir.join("ext.cnf"),
            format!("subjectAltName=DNS:{dns}\nextendedKeyUsage=serverAuth\n"),
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
                &serial.to_string(),
                "-extfile",
                "ext.cnf",
                "-out",
                "leaf.pem",
            ],
        );
        let leaf = std::fs::read(dir.join("leaf.pem")).expect("leaf");
        let mut tx = store.begin().expect("begin");
        tx.add_pending(name, key, &request).expect("pending");
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
