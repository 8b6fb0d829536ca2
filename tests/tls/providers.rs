//! Issue 14: the resolver signs with the process's installed rustls `CryptoProvider`, not
//! with one of its own choosing, whichever of the two providers it is. A child process (the
//! provider is process-wide) installs aws-lc-rs's or ring's provider with its key loader
//! wrapped to count the keys it loads, serves a handshake to a client on the same provider,
//! and checks the served key came through that loader. Without a provider installed, and
//! built without the aws-lc-rs fallback, the resolver refuses: `src/tls.rs`'s unit test, run
//! by `.ci/run`'s second pass (`--features rustls`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use keymanager::tls::StoreResolver;
use rustls::crypto::{CryptoProvider, KeyProvider};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;

use crate::common::fixtures::memory_store;
use crate::common::{rerun_test, tls_fixture as fixture};

/// Which provider the child installs: `aws-lc-rs` or `ring`.
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
fn the_installed_aws_lc_rs_provider_signs() {
    serve_in_a_child_with("aws-lc-rs");
}

#[test]
fn the_installed_ring_provider_signs() {
    serve_in_a_child_with("ring");
}

fn serve_in_a_child_with(provider: &str) {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let out = rerun_test(module_path!(), "child_serves_with_an_installed_provider")
        .arg("--ignored")
        .env(CHILD_ENV, provider)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains(&format!(
                "CHILD SERVED THROUGH THE INSTALLED {provider} PROVIDER"
            )),
        "child: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The other process of the tests above.
#[test]
#[ignore = "run as a child process by the_installed_*_provider_signs"]
fn child_serves_with_an_installed_provider() {
    let Some(name) = std::env::var_os(CHILD_ENV) else {
        eprintln!("nothing to do: run by the_installed_*_provider_signs only");
        return;
    };
    let name = name.to_string_lossy().into_owned();
    let real = match name.as_str() {
        "aws-lc-rs" => rustls::crypto::aws_lc_rs::default_provider(),
        "ring" => rustls::crypto::ring::default_provider(),
        other => panic!("unknown provider {other}"),
    };
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
    println!("CHILD SERVED THROUGH THE INSTALLED {name} PROVIDER");
}
