//! `examples/tls_server.rs` as a person runs it: a store on disk, the passphrase in
//! `KEYMANAGER_PASSPHRASE`, a line when it listens; then real clients (rustls and
//! `openssl s_client`) are served the bound certificates.

use std::process::Command;

use crate::common::fixtures::{PASSPHRASE, store_in};
use crate::common::openssl::s_client;
use crate::common::{ca, tls_fixture as fixture};

#[test]
fn the_example_server_serves_the_store_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let a = fixture::install(&store, "a", 0, &["a.test"], &[]);
    let b = fixture::install(&store, "b", 1, &["b.test"], &["127.0.0.1"]);
    // A free port: taken, noted, released for the example to bind.
    let port = fixture::listener().1;
    fixture::bind(&store, "a", &[format!("a.test:{port}")]);
    fixture::bind(&store, "b", &[format!("0.0.0.0:{port}")]);
    drop(store);

    let (server, lines) = fixture::start_example(&dir.path().join("keys.db"), port, PASSPHRASE);
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
    std::fs::write(&ca, ca::shared().root_pem()).unwrap();
    let out = s_client(port, "a.test", &ca);
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
    let out = Command::new(fixture::example_binary())
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
    let out = Command::new(fixture::example_binary())
        .args(["0", "x.db"])
        .env_remove("KEYMANAGER_PASSPHRASE")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no passphrase given"));
}
