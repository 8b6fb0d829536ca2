//! The TLS resolver on the ring crypto provider, in a test binary of its own (issue 14: each
//! rustls provider in its own binary; the provider is process-wide). aws-lc-rs's is checked
//! the same way in `tests/tls/providers.rs`; the resolver built without the aws-lc-rs fallback
//! and with no provider installed is a unit test of `src/tls.rs` (`.ci/run`, `--features
//! rustls`).

mod common;

#[test]
fn the_resolver_signs_with_the_installed_ring_provider() {
    common::provider_check::serves_through(rustls::crypto::ring::default_provider());
}
