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
