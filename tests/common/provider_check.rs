//! Checks that the resolver signs with the process's installed rustls `CryptoProvider`
//! (issue 14): the provider is installed with its key loader wrapped to count the keys it
//! loads, an entry is served to a client on the same provider, and the served key must have
//! come through that loader, once. The provider is process-wide: each provider is checked in a
//! process of its own (`tests/tls/providers.rs` for aws-lc-rs, `tests/ring_provider.rs` for
//! ring).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use keymanager::tls::StoreResolver;
use rustls::crypto::{CryptoProvider, KeyProvider};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;

use super::fixtures::memory_store;
use super::tls_fixture as fixture;

/// Counts the keys it loads, then hands them to the real provider's loader.
#[derive(Debug)]
struct Counting {
    real: &'static dyn KeyProvider,
    loaded: AtomicUsize,
}

impl KeyProvider for Counting {
    fn load_private_key(
        &self,
        key: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        self.loaded.fetch_add(1, Ordering::SeqCst);
        self.real.load_private_key(key)
    }
}

/// Installs `real` (in a process that has no provider yet) with its key loader counted, and
/// checks that a resolver's handshakes load the served key through it, once.
pub fn serves_through(real: CryptoProvider) {
    assert!(CryptoProvider::get_default().is_none(), "a fresh process");
    let counting: &'static Counting = Box::leak(Box::new(Counting {
        real: real.key_provider,
        loaded: AtomicUsize::new(0),
    }));
    CryptoProvider {
        key_provider: counting,
        ..real
    }
    .install_default()
    .unwrap();

    let store = memory_store();
    let leaf = fixture::install(&store, "www", 3, &["www.test"], &[]);
    let (listener, port) = fixture::listener();
    fixture::bind(&store, "www", &[format!("www.test:{port}")]);
    let resolver =
        StoreResolver::new(&store, format!("127.0.0.1:{port}").parse().unwrap()).unwrap();
    // Keys are loaded by the first handshake that needs them (lazy), once.
    assert_eq!(
        counting.loaded.load(Ordering::SeqCst),
        0,
        "no key loaded yet"
    );
    let _stats = fixture::serve(listener, resolver);
    assert_eq!(fixture::handshake(port, "www.test").unwrap(), leaf);
    assert_eq!(fixture::handshake(port, "www.test").unwrap(), leaf);
    assert_eq!(
        counting.loaded.load(Ordering::SeqCst),
        1,
        "one identity, one key, loaded once"
    );
}
