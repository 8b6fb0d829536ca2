//! Issue 14: the resolver signs with the process's installed rustls `CryptoProvider`, not
//! with one of its own choosing. A child process (the provider is process-wide) installs
//! aws-lc-rs's provider with its key loader counted (`common::provider_check`); ring's is
//! checked the same way in its own test binary, `tests/ring_provider.rs`.

use crate::common::{provider_check, rerun_test};

const CHILD_ENV: &str = "KEYMANAGER_TEST_PROVIDER_CHILD";

#[test]
fn the_installed_aws_lc_rs_provider_signs() {
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
#[ignore = "run as a child process by the_installed_aws_lc_rs_provider_signs"]
fn child_serves_with_an_installed_provider() {
    if std::env::var_os(CHILD_ENV).is_none() {
        eprintln!("nothing to do: run by the_installed_aws_lc_rs_provider_signs only");
        return;
    }
    provider_check::serves_through(rustls::crypto::aws_lc_rs::default_provider());
    println!("CHILD SERVED THROUGH THE INSTALLED PROVIDER");
}
