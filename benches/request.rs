//! Certificate request parsing and distinguished name benchmarks. Building and signing a
//! request is in `benches/rsa.rs` (`request/build_sign/2048`), next to the signing primitive.
//!
//! Run: `cargo bench --bench request` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use keymanager::{CertificateRequest, DistinguishedName, PrivateKey};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

criterion_group!(benches, request, name);
criterion_main!(benches);

const NAME: &str = "CN=www.example.com,OU=Web,O=Example Corp,L=Springfield,ST=Oregon,C=US";

/// Building and signing a request with two DNS names and an IP address; reading one back and
/// checking its signature.
fn request(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(2048);
    let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).expect("key generation");
    let subject: DistinguishedName = NAME.parse().expect("valid name");
    let build = || {
        CertificateRequest::builder(subject.clone())
            .dns_name("www.example.com")
            .dns_name("example.com")
            .ip_address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)))
            .sign(&key)
    };
    let der = build().expect("request").to_der();
    let pem = CertificateRequest::from_der(&der).expect("parse").to_pem();

    let mut group = c.benchmark_group("request");
    group.bench_function("parse_der_and_verify", |b| {
        b.iter(|| CertificateRequest::from_der(black_box(&der)).and_then(|r| r.verify()))
    });
    group.bench_function("parse_pem_and_verify", |b| {
        b.iter(|| CertificateRequest::from_pem(black_box(&pem)).and_then(|r| r.verify()))
    });
    group.bench_function("parse_der_only", |b| {
        b.iter(|| CertificateRequest::from_der(black_box(&der)))
    });
    group.finish();
}

fn name(c: &mut Criterion) {
    let dn: DistinguishedName = NAME.parse().expect("valid name");
    let mut group = c.benchmark_group("name");
    group.bench_function("parse_rfc4514", |b| {
        b.iter(|| black_box(NAME).parse::<DistinguishedName>())
    });
    group.bench_function("display_rfc4514", |b| b.iter(|| black_box(&dn).to_string()));
    group.bench_function("to_x509", |b| b.iter(|| black_box(&dn).to_x509()));
    group.finish();
}
