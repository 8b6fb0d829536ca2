//! `examples/tls_server.rs` as a person runs it: a store on disk, the passphrase in
//! `KEYMANAGER_PASSPHRASE`, a line when it listens; then real clients (rustls and
//! `openssl s_client`) are served the bound certificates.

use std::process::Command;

use crate::common::fixtures::{PASSPHRASE, store_in};
use crate::common::openssl::{s_client, s_client_sending, s_client_with};
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

/// The leaf certificate `openssl s_client` printed, DER.
fn served_leaf(stdout: &[u8]) -> Vec<u8> {
    let served = String::from_utf8_lossy(stdout);
    let start = served.find("-----BEGIN CERTIFICATE-----").unwrap();
    let end = served.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    fixture::pem_to_der(&served[start..end])
}

/// One site with an ECDSA and an RSA certificate on one binding: each client is served the one
/// it can verify, as nginx serves them.
#[test]
fn a_dual_binding_serves_ecdsa_or_rsa_as_the_client_can_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let port = fixture::listener().1;
    let (ecdsa, rsa) = fixture::dual(&store, 2, "dual.test", &format!("dual.test:{port}"));
    drop(store);
    let (server, _) = fixture::start_example(&dir.path().join("keys.db"), port, PASSPHRASE);

    // rustls offers ECDSA: it gets the ECDSA certificate.
    let (leaf, body) = fixture::request(port, "dual.test").unwrap();
    assert_eq!(leaf, ecdsa);
    assert!(body.ends_with("entry `ec` for dual.test\n"), "{body}");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca::shared().root_pem()).unwrap();
    for (sigalgs, expected) in [
        ("ECDSA+SHA256", &ecdsa),
        ("RSA-PSS+SHA256:RSA+SHA256", &rsa),
    ] {
        let out = s_client_with(port, "dual.test", &ca, &["-sigalgs", sigalgs]);
        assert!(
            out.status.success(),
            "{sigalgs}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(&served_leaf(&out.stdout), expected, "{sigalgs}");
    }
    // TLS 1.2 too, where the signature algorithms extension plays the same part.
    let out = s_client_with(
        port,
        "dual.test",
        &ca,
        &["-tls1_2", "-sigalgs", "RSA+SHA256"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(served_leaf(&out.stdout), rsa);
    // The reply names the entry that served the client: the RSA one to a client that verifies
    // RSA signatures only (it named the ECDSA one, which `Snapshot::resolve` prefers).
    for (sigalgs, entry) in [("ECDSA+SHA256", "ec"), ("RSA-PSS+SHA256:RSA+SHA256", "rsa")] {
        let reply = get_offering(port, "dual.test", &ca, sigalgs);
        assert!(
            reply.ends_with(&format!("entry `{entry}` for dual.test\n")),
            "{sigalgs}: {reply}"
        );
    }
    drop(server);
}

/// `GET /` through `openssl s_client` offering only the signature algorithms `sigalgs`: the
/// reply, as text.
fn get_offering(port: u16, name: &str, ca: &std::path::Path, sigalgs: &str) -> String {
    let request = format!("GET / HTTP/1.1\r\nhost: {name}\r\n\r\n");
    let out = s_client_sending(port, name, ca, &["-sigalgs", sigalgs], request.as_bytes());
    assert!(
        out.status.success(),
        "{sigalgs}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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

/// `examples/tokio_server.rs` (feature `tokio`): HTTP/1.1 (rustls client) and HTTP/2 (curl)
/// over the acceptor on a dual-stack listener, and a binding committed while it runs is
/// served, with its `now serving` line.
#[cfg(feature = "tokio")]
#[test]
fn the_tokio_example_serves_http1_and_h2_and_picks_up_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let a = fixture::install(&store, "a", 0, &["a.test"], &["127.0.0.1"]);
    let b = fixture::install(&store, "b", 1, &["b.test"], &[]);
    let port = fixture::listener().1;
    fixture::bind(
        &store,
        "a",
        &[format!("a.test:{port}"), format!("0.0.0.0:{port}")],
    );

    let binary = fixture::example_binary_named("tokio_server", "tokio");
    let (server, lines) =
        fixture::start_example_binary(&binary, &dir.path().join("keys.db"), port, PASSPHRASE);
    let serial = |der: &[u8]| keymanager::Certificate::from_der(der).unwrap().serial_hex();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("serving generation "), "{lines:?}");
    assert!(
        lines[0].ends_with(&format!(": a (serial {})", serial(&a))),
        "{lines:?}"
    );

    let (leaf, body) = fixture::request(port, "a.test").unwrap();
    assert_eq!(leaf, a);
    // On 127.0.0.1, or [::ffff:127.0.0.1] through the dual-stack listener.
    assert!(
        body.contains("over HTTP/1.0: entry `a` for a.test on ")
            && body.ends_with(&format!("127.0.0.1]:{port}\n"))
            || body.ends_with(&format!("on 127.0.0.1:{port}\n")),
        "{body}"
    );
    // No SNI, IPv4: the any-address binding of IPv4.
    let (leaf, _) = fixture::request(port, "127.0.0.1").unwrap();
    assert_eq!(leaf, a);

    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca::shared().root_pem()).unwrap();
    let curl = |host: &str| {
        Command::new("curl")
            .args(["--http2", "-sS", "--cacert"])
            .arg(&ca)
            .arg("--resolve")
            .arg(format!("{host}:{port}:127.0.0.1"))
            .arg(format!("https://{host}:{port}/"))
            .output()
            .unwrap()
    };
    let out = curl("a.test");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("over HTTP/2.0: entry `a` for a.test"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Committed while it runs: served within the refresh interval, and announced.
    fixture::bind(&store, "b", &[format!("b.test:{port}")]);
    let line = server
        .lines
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    assert!(line.starts_with("now serving generation "), "{line}");
    assert!(
        line.ends_with(&format!(
            ": a (serial {}), b (serial {})",
            serial(&a),
            serial(&b)
        )),
        "{line}"
    );
    let (leaf, _) = fixture::request(port, "b.test").unwrap();
    assert_eq!(leaf, b);
    drop(server);
}
