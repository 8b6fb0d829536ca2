//! Running the OpenSSL command-line tool (`openssl`, 3.0 or later): the one runner of every
//! interop test.
//!
//! Test files with `mod common;` reach it as `common::cli`; the interop tests that need nothing
//! else include it alone with `#[path = "common/cli.rs"] mod cli;`.
#![allow(dead_code)] // each test file uses a different subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs `openssl args...` (in `dir`, or the current directory) and returns its output, whatever
/// the exit status.
pub fn try_openssl(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.output()
        .expect("the openssl command-line tool must be installed (`apt-get install -y openssl`)")
}

/// Runs `openssl args...` (in `dir`, or the current directory) and returns its output; panics
/// with OpenSSL's stderr when it fails.
pub fn openssl(dir: Option<&Path>, args: &[&str]) -> Output {
    let out = try_openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
