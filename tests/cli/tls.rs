//! A running server (`examples/tls_server.rs`) picks up what the `keymanager` command line
//! commits to its store from another process: a new binding, a renewal, an unbinding.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::fixtures::PASSPHRASE;
use crate::common::km::{Km, read};
use crate::common::tls_fixture as fixture;

/// `keymanager new NAME --cn HOST`, the test CA's answer, `keymanager install`: returns the
/// leaf certificate's DER.
fn issue(km: &Km, args: &[&str], host: &str) -> Vec<u8> {
    let csr = km.path(&format!("{host}.csr"));
    let mut all = args.to_vec();
    all.extend(["--out", csr.to_str().unwrap()]);
    km.ok(&all);
    let (leaf, bundle) = fixture::sign(&read(&csr), &[host], &[]);
    let file = km.path(&format!("{host}.pem"));
    std::fs::write(&file, bundle).unwrap();
    km.ok(&["install", file.to_str().unwrap()]);
    fixture::pem_to_der(&leaf)
}

/// Asks the server for `host` until `expected` holds of the answer (the leaf served, or the
/// handshake error), for up to 20 s.
fn until(port: u16, host: &str, expected: impl Fn(&Result<Vec<u8>, String>) -> bool) {
    let start = Instant::now();
    loop {
        let answer = fixture::request(port, host).map(|(leaf, _)| leaf);
        if expected(&answer) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not pick up the change for {host}: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_server(store: &Path, port: u16) -> fixture::ExampleServer {
    fixture::start_example(store, port, PASSPHRASE).0
}

#[test]
fn the_server_serves_what_the_command_line_commits() {
    let km = Km::new();
    // A free port: taken, noted, released for the server to bind.
    let port = fixture::listener().1;
    let a = issue(&km, &["new", "a", "--cn", "a.test"], "a.test");
    km.ok(&["bind", &format!("a.test:{port}"), "a"]);

    let server = start_server(&km.store, port);
    let (leaf, body) = fixture::request(port, "a.test").unwrap();
    assert_eq!(leaf, a);
    assert!(body.ends_with("entry `a` for a.test\n"), "{body}");
    assert!(
        fixture::request(port, "b.test").is_err(),
        "nothing serves b.test yet"
    );

    // A new entry and binding, committed by another process while the server runs.
    let b = issue(&km, &["new", "b", "--cn", "b.test"], "b.test");
    km.ok(&["bind", &format!("b.test:{port}"), "b"]);
    until(port, "b.test", |answer| answer.as_ref() == Ok(&b));

    // A renewal: the new certificate takes over `a` and its binding.
    let csr = km.path("renew.csr");
    km.ok(&["renew", "a", "--out", csr.to_str().unwrap()]);
    let (leaf, bundle) = fixture::sign(&read(&csr), &["a.test"], &[]);
    let file = km.path("renewed.pem");
    std::fs::write(&file, bundle).unwrap();
    km.ok(&["install", file.to_str().unwrap()]);
    let renewed = fixture::pem_to_der(&leaf);
    assert_ne!(renewed, a);
    until(port, "a.test", |answer| answer.as_ref() == Ok(&renewed));

    // A dry run changes nothing the server sees; an unbinding stops b.test being served.
    km.ok(&["--dry-run", "unbind", &format!("a.test:{port}")]);
    km.ok(&["unbind", &format!("b.test:{port}")]);
    until(port, "b.test", Result::is_err);
    assert_eq!(fixture::request(port, "a.test").unwrap().0, renewed);
    drop(server);
}
