//! `examples/tls_server.rs` as a person runs it: a store on disk, the passphrase in
//! `KEYMANAGER_PASSPHRASE`, a line when it listens; then real clients (rustls and
//! `openssl s_client`) are served the bound certificates.
#![cfg(feature = "rustls")]

mod common;
#[path = "common/tls_fixture.rs"]
mod fixture;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The example's binary, next to this test's (`cargo test --features rustls` builds the
/// examples before running the tests); built here when this test runs alone.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("examples").join("tls_server");
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "tls_server", "--features", "rustls"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "cannot build the tls_server example");
    }
    binary
}

/// Kills the example when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_example_server_serves_the_store_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture::store_in(dir.path());
    let a = fixture::install(&store, "a", 0, &["a.test"], &[]);
    let b = fixture::install(&store, "b", 1, &["b.test"], &["127.0.0.1"]);
    // A free port: taken, noted, released for the example to bind.
    let port = fixture::listener().1;
    fixture::bind(&store, "a", &[format!("a.test:{port}")]);
    fixture::bind(&store, "b", &[format!("0.0.0.0:{port}")]);
    drop(store);

    let mut child = Command::new(example_binary())
        .arg(port.to_string())
        .arg(dir.path().join("keys.db"))
        .env("KEYMANAGER_PASSPHRASE", fixture::PASS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.starts_with("listening on https://127.0.0.1:") => break,
            Ok(line) => lines.push(line),
            Err(e) => panic!("the example did not start ({e}): {lines:?}"),
        }
    }
    assert_eq!(
        lines,
        [format!(
            "serving 2 binding(s) from {}",
            dir.path().join("keys.db").display()
        )]
    );

    let (leaf, body) = fixture::request(port, "a.test").unwrap();
    assert_eq!(leaf, a);
    assert!(body.starts_with("HTTP/1.1 200 OK\r\n"), "{body}");
    assert!(
        body.ends_with("hello from keymanager: entry `a` for a.test\n"),
        "{body}"
    );
    let (leaf, body) = fixture::request(port, "127.0.0.1").unwrap();
    assert_eq!(leaf, b);
    assert!(body.ends_with("entry `b` for (no SNI)\n"), "{body}");

    // The OpenSSL CLI, checking the chain and the name.
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, fixture::ca().root_pem()).unwrap();
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "a.test",
        ])
        .args([
            "-verify_hostname",
            "a.test",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(&ca)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let served = String::from_utf8_lossy(&out.stdout);
    let start = served.find("-----BEGIN CERTIFICATE-----").unwrap();
    let end = served.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    assert_eq!(fixture::pem_to_der(&served[start..end]), a);
    drop(server);
}

#[test]
fn the_example_refuses_bad_arguments_with_its_usage() {
    let out = Command::new(example_binary())
        .arg("not-a-port")
        .arg("x.db")
        .env_remove("KEYMANAGER_PASSPHRASE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a port number") && err.contains("usage: tls_server"),
        "{err}"
    );
    let out = Command::new(example_binary())
        .args(["0", "x.db"])
        .env_remove("KEYMANAGER_PASSPHRASE")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no passphrase given"));
}
