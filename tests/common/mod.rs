//! What the integration test binaries share, each helper once: the OpenSSL runner, the test
//! CA, the fixtures (passphrase, store options, seeded keys), DER surgery, and the drivers of
//! the `keymanager` binary (feature `cli`) and of TLS servers and clients (feature `rustls`).
//!
//! Every binary declares `mod common;` and uses a different part of it; the unused rest would
//! warn as dead code in each binary, hence the one allow below (instead of one per binary or
//! per file).
#![allow(dead_code)]

#[cfg(feature = "acme")]
pub mod acme;
#[cfg(feature = "acme")]
pub mod ari_proxy;
pub mod ca;
pub mod der_edit;
pub mod faults;
pub mod fixtures;
#[cfg(feature = "cli")]
pub mod km;
pub mod openssl;
#[cfg(feature = "acme")]
pub mod pebble;
pub mod power_fs;
#[cfg(feature = "rustls")]
pub mod provider_check;
pub mod rollback;
pub mod store_workload;
#[cfg(feature = "rustls")]
pub mod tls_fixture;

use std::process::Command;

/// This test binary, set to run the one test `name` of the module `module` (give it
/// `module_path!()`) in a child process: for the tests that need a second process (a reader,
/// a writer, a process to kill). The caller adds its environment and runs it.
pub fn rerun_test(module: &str, name: &str) -> Command {
    // `module_path!()` starts with the binary's name, which test names leave out.
    let test = match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    };
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", &test, "--nocapture", "--test-threads", "1"]);
    cmd
}

/// `cargo`, for a test that builds an example, without the variables `cargo test` set for
/// this test process (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...). Left in, they reach the build
/// scripts as changed environment (ring's reruns when `CARGO_MANIFEST_DIR` changes), and the
/// nested build and the next `cargo test` rebuild each other's dependency chains (ring,
/// rustls, ..., keymanager): 35 s inside the ACME tests, and as much again after them.
pub fn cargo() -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo_test = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || matches!(
                &*name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
                    | "OUT_DIR"
            );
        if set_by_cargo_test {
            cmd.env_remove(&*name);
        }
    }
    cmd
}

/// The crypto provider of the tests' own rustls servers and clients: the process's installed
/// one (a test may install ring's), else aws-lc-rs's. The test build's rustls has both
/// providers (aws-lc-rs and ring, for `tests/ring_provider.rs`), so rustls's own
/// `ServerConfig::builder()` could not pick one and would panic.
pub fn crypto_provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    match rustls::crypto::CryptoProvider::get_default() {
        Some(installed) => std::sync::Arc::clone(installed),
        None => std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
    }
}

/// `rustls::ServerConfig::builder()` on [`crypto_provider`].
pub fn server_config() -> rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier> {
    rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
}

/// `rustls::ClientConfig::builder()` on [`crypto_provider`].
pub fn client_config() -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier> {
    rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
}
