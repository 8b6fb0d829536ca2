//! Issue 14: the resolver signs with the process's installed rustls `CryptoProvider`, not
//! with one of its own choosing. A child process (the provider is process-wide) installs
//! aws-lc-rs's provider with its key loader wrapped to count the keys it loads, serves a
//! handshake, and checks the served key came through it. The ring provider is tested the same
//! way by `tests/ring_provider/`, a package of its own whose rustls has ring alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use keymanager::tls::StoreResolver;
use rustls::crypto::{CryptoProvider, KeyProvider};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;

use crate::common::fixtures::memory_store;
use crate::common::{rerun_test, tls_fixture as fixture};

const CHILD_ENV: &str = "KEYMANAGER_TEST_PROVIDER_CHILD";

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

#[test]
fn the_installed_provider_signs() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let out = rerun_test(module_path!(), "child_serves_with_an_installed_provider")
        .arg("--ignored")
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD SERVED THROUGH THE INSTALLED PROVIDER"),
        "child: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The other process of the test above.
#[test]
#[ignore = "run as a child process by the_installed_provider_signs"]
fn child_serves_with_an_installed_provider() {
    if std::env::var_os(CHILD_ENV).is_none() {
        eprintln!("nothing to do: run by the_installed_provider_signs only");
        return;
    }
    let real = rustls::crypto::aws_lc_rs::default_provider();
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
    println!("CHILD SERVED THROUGH THE INSTALLED PROVIDER");
}
