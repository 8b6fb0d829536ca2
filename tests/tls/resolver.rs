//! The rustls resolver on loopback with real clients (rustls, and the OpenSSL CLI): SNI, the
//! address before the any-address, and a clean refusal for an unbound name.

use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use keymanager::tls::StoreResolver;

use crate::common::fixtures::store_in;
use crate::common::openssl::{openssl_with_files, s_client as openssl_s_client};
use crate::common::{ca, tls_fixture as fixture};
use fixture::{ServerStats, handshake};

/// Three servers on three ports, all from one store:
/// - `hosts`: `a.test` and `b.test` bound by name only;
/// - `mixed`: `a.test` by name, `127.0.0.1` by address, and the any-address;
/// - `any`: the any-address only.
struct World {
    _dir: tempfile::TempDir,
    ca_pem: tempfile::NamedTempFile,
    hosts: u16,
    mixed: u16,
    any: u16,
    a: Vec<u8>,
    b: Vec<u8>,
    ip: Vec<u8>,
    wildcard: Vec<u8>,
    stats: Vec<std::sync::Arc<ServerStats>>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let a = fixture::install(&store, "a", 0, &["a.test"], &[]);
        let b = fixture::install(&store, "b", 1, &["b.test"], &[]);
        let ip = fixture::install(&store, "ip", 2, &["ip.test"], &["127.0.0.1"]);
        let wildcard = fixture::install(&store, "any", 3, &["any.test"], &["127.0.0.1"]);
        let (l_hosts, hosts) = fixture::listener();
        let (l_mixed, mixed) = fixture::listener();
        let (l_any, any) = fixture::listener();
        fixture::bind(
            &store,
            "a",
            &[format!("a.test:{hosts}"), format!("a.test:{mixed}")],
        );
        fixture::bind(&store, "b", &[format!("b.test:{hosts}")]);
        fixture::bind(&store, "ip", &[format!("127.0.0.1:{mixed}")]);
        fixture::bind(
            &store,
            "any",
            &[format!("0.0.0.0:{mixed}"), format!("0.0.0.0:{any}")],
        );
        let mut stats = Vec::new();
        for (listener, port) in [(l_hosts, hosts), (l_mixed, mixed), (l_any, any)] {
            let local = format!("127.0.0.1:{port}").parse().unwrap();
            let resolver = StoreResolver::new(&store, local).unwrap();
            stats.push(fixture::serve(listener, resolver));
        }
        let ca_pem = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca_pem.path(), ca::shared().root_pem()).unwrap();
        World {
            _dir: dir,
            ca_pem,
            hosts,
            mixed,
            any,
            a,
            b,
            ip,
            wildcard,
            stats,
        }
    })
}

#[test]
fn two_names_on_one_port_each_get_their_own_certificate() {
    let w = world();
    assert_eq!(handshake(w.hosts, "a.test").unwrap(), w.a);
    assert_eq!(handshake(w.hosts, "b.test").unwrap(), w.b);
    // SNI is case-insensitive.
    assert_eq!(handshake(w.hosts, "B.Test").unwrap(), w.b);
}

#[test]
fn the_address_binding_wins_over_the_any_address_and_the_host_over_both() {
    let w = world();
    // An IP server name sends no SNI: 127.0.0.1:mixed, not 0.0.0.0:mixed.
    assert_eq!(handshake(w.mixed, "127.0.0.1").unwrap(), w.ip);
    assert_eq!(handshake(w.mixed, "a.test").unwrap(), w.a);
    // An unbound SNI name falls back to the address binding; it certifies ip.test.
    assert_eq!(handshake(w.mixed, "ip.test").unwrap(), w.ip);
    // Where only the any-address is bound, it serves.
    assert_eq!(handshake(w.any, "127.0.0.1").unwrap(), w.wildcard);
    assert_eq!(handshake(w.any, "any.test").unwrap(), w.wildcard);
}

#[test]
fn an_unbound_name_fails_the_handshake_cleanly_and_the_server_goes_on() {
    let w = world();
    let failed_before = w.stats[0].failed.load(Ordering::SeqCst);
    let err = handshake(w.hosts, "c.test").unwrap_err();
    assert!(
        err.contains("alert") || err.contains("HandshakeFailure"),
        "{err}"
    );
    let err = handshake(w.hosts, "127.0.0.1").unwrap_err();
    assert!(
        err.contains("alert") || err.contains("HandshakeFailure"),
        "{err}"
    );
    // The server refused them (no panic: the connection threads counted the failures) and
    // still serves.
    assert_eq!(handshake(w.hosts, "a.test").unwrap(), w.a);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while w.stats[0].failed.load(Ordering::SeqCst) < failed_before + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not count the refusals"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// `openssl s_client` against the server, checking the chain and the host name; returns whether the handshake and verification
/// succeeded, and the SHA-256 fingerprint of the certificate it was served.
fn s_client(port: u16, name: &str) -> (bool, Option<String>) {
    let w = world();
    let out = openssl_s_client(port, name, w.ca_pem.path());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let fingerprint = stdout
        .contains("-----BEGIN CERTIFICATE-----")
        .then(|| fingerprint_of(&stdout));
    (out.status.success(), fingerprint)
}

/// `openssl x509 -fingerprint -sha256` of the first certificate in `pem_text`.
fn fingerprint_of(pem_text: &str) -> String {
    let (out, _) = openssl_with_files(
        &[("c.pem", pem_text.as_bytes())],
        &["x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256"],
        None,
    );
    out.trim().to_owned()
}

fn der_fingerprint(der: &[u8]) -> String {
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()));
    fingerprint_of(&pem)
}

#[test]
fn openssl_s_client_is_served_the_certificate_bound_to_its_name() {
    let w = world();
    for (port, name, expected) in [
        (w.hosts, "a.test", &w.a),
        (w.hosts, "b.test", &w.b),
        (w.mixed, "ip.test", &w.ip),
        (w.any, "any.test", &w.wildcard),
    ] {
        let (ok, served) = s_client(port, name);
        assert!(ok, "s_client {name} on {port} failed");
        let expected = der_fingerprint(expected);
        assert!(expected.starts_with("sha256 Fingerprint="), "{expected}");
        assert_eq!(
            served.as_deref(),
            Some(expected.as_str()),
            "{name} on {port}"
        );
    }
    // An unbound name: the handshake fails, no certificate is shown.
    let (ok, served) = s_client(w.hosts, "c.test");
    assert!(!ok);
    assert_eq!(served, None);
    // An unbound name that falls back to the address binding gets its certificate, which
    // does not name it: the client refuses it.
    let (ok, _) = s_client(w.mixed, "other.test");
    assert!(
        !ok,
        "-verify_hostname must refuse a certificate for another name"
    );
}

/// Without the background thread, a commit is served after `refresh`; a refresh that fails (a
/// tampered row) keeps serving what was served, and the background thread reports it to the
/// hook instead of panicking.
#[test]
fn refresh_serves_commits_and_a_failed_refresh_keeps_the_previous_set() {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let a = fixture::install(&store, "a", 0, &["a.test"], &[]);
    let b = fixture::install(&store, "b", 1, &["b.test"], &[]);
    fixture::bind(&store, "a", &["a.test:443".into()]);
    let local = "127.0.0.1:443".parse().unwrap();
    let served = |r: &StoreResolver, sni: &str| r.lookup(Some(sni)).map(|k| k.cert[0].to_vec());

    let manual = StoreResolver::builder(&store, local)
        .background(false)
        .build()
        .unwrap();
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let e = Arc::clone(&errors);
    let background = StoreResolver::builder(&store, local)
        .check_every(Duration::from_millis(20))
        .on_error(move |err| e.lock().unwrap().push(err.to_string()))
        .build()
        .unwrap();
    assert_eq!(served(&manual, "a.test"), Some(a.clone()));
    assert_eq!(served(&manual, "b.test"), None);
    assert!(!manual.refresh().unwrap(), "nothing committed");

    fixture::bind(&store, "b", &["b.test:443".into()]);
    assert_eq!(served(&manual, "b.test"), None, "not before refresh");
    assert!(manual.refresh().unwrap());
    assert_eq!(served(&manual, "b.test"), Some(b.clone()));
    assert_eq!(manual.snapshot().len(), 2);
    let deadline = Instant::now() + Duration::from_secs(5);
    while served(&background, "b.test").is_none() {
        assert!(
            Instant::now() < deadline,
            "the background thread did not refresh"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // Tamper with entry `b` behind the store's back.
    let raw = rusqlite::Connection::open(dir.path().join("keys.db")).unwrap();
    raw.execute(
        "UPDATE entries SET subject = 'CN=evil' WHERE name = 'b'",
        [],
    )
    .unwrap();
    let err = manual.refresh().unwrap_err();
    assert!(err.to_string().contains("tampered"), "{err}");
    assert_eq!(
        served(&manual, "a.test"),
        Some(a.clone()),
        "still the previous set"
    );
    assert_eq!(served(&manual, "b.test"), Some(b.clone()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while errors.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the hook was not called");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        errors.lock().unwrap()[0].contains("entry `b`"),
        "{:?}",
        errors.lock().unwrap()
    );
    assert!(
        served(&background, "a.test") == Some(a),
        "still the previous set"
    );
    assert!(
        served(&background, "b.test") == Some(b),
        "still the previous set"
    );

    assert!(
        StoreResolver::builder(&store, local)
            .check_every(Duration::ZERO)
            .build()
            .is_err(),
        "a zero interval is refused"
    );
}

/// On a dual binding the resolver chooses from the client's signature schemes: ECDSA only
/// when the ECDSA key can sign with one offered (its curve's scheme), else RSA.
/// `identity_for` names the entry whose key `lookup_for` serves.
#[test]
fn lookup_for_chooses_ecdsa_only_with_a_matching_scheme() {
    use rustls::SignatureScheme as S;

    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (ecdsa, rsa) = fixture::dual(&store, 3, "dual.test", "0.0.0.0:443");
    let resolver = StoreResolver::new(&store, "127.0.0.1:443".parse().unwrap()).unwrap();
    let served = |schemes: &[S]| {
        let leaf = resolver
            .lookup_for(Some("dual.test"), schemes)
            .map(|k| k.cert[0].to_vec())
            .unwrap();
        let identity = resolver.identity_for(Some("dual.test"), schemes).unwrap();
        assert_eq!(identity.chain()[0].to_der(), leaf, "{schemes:?}");
        let expected = if leaf == ecdsa { "ec" } else { "rsa" };
        assert_eq!(identity.name(), expected, "{schemes:?}");
        leaf
    };
    assert_eq!(
        served(&[S::ECDSA_NISTP256_SHA256, S::RSA_PSS_SHA256]),
        ecdsa
    );
    assert_eq!(served(&[S::RSA_PSS_SHA256, S::RSA_PKCS1_SHA256]), rsa);
    // P-384's scheme cannot be made with a P-256 key (TLS 1.3 binds the curve).
    assert_eq!(served(&[S::ECDSA_NISTP384_SHA384, S::RSA_PSS_SHA256]), rsa);
    assert_eq!(
        resolver.lookup(Some("dual.test")).unwrap().cert[0].to_vec(),
        ecdsa
    );
    // With the RSA entry unbound the ECDSA one serves everyone (the only certificate there).
    let mut tx = store.begin().unwrap();
    tx.unbind("0.0.0.0:443".parse().unwrap()).unwrap();
    tx.bind("0.0.0.0:443".parse().unwrap(), "ec").unwrap();
    tx.commit().unwrap();
    resolver.refresh().unwrap();
    assert_eq!(served(&[S::RSA_PSS_SHA256]), ecdsa);
}

/// Issue 17: a refresh after one change rebuilds that entry only: every other name is served
/// the same `CertifiedKey` (pointer-equal) as before, built once by its first handshake (the
/// identity keeps its key sealed); a new pending key gives no new snapshot.
#[test]
fn a_refresh_after_one_renewal_keeps_every_other_key() {
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        let host = format!("{name}.test");
        fixture::install(&store, name, 20 + i as u64, &[&host], &[]);
        fixture::bind(&store, name, &[format!("{host}:443")]);
    }
    let resolver = StoreResolver::builder(&store, "127.0.0.1:443".parse().unwrap())
        .background(false)
        .build()
        .unwrap();
    let opened = |name: &str| {
        let snapshot = resolver.snapshot();
        let identity = snapshot.identities().iter().find(|i| i.name() == name);
        identity.unwrap().key_opened()
    };
    let a = resolver.lookup(Some("a.test")).unwrap();
    let b = resolver.lookup(Some("b.test")).unwrap();
    assert!(Arc::ptr_eq(&a, &resolver.lookup(Some("a.test")).unwrap()));
    // rustls's key is built from the sealed key; the identity keeps no parsed copy.
    assert!(!opened("a") && !opened("b") && !opened("c"));
    let before = resolver.snapshot();

    // `b` is renewed: its new pending key first (nothing served changes) ...
    let mut tx = store.begin().unwrap();
    let request = tx.renew("b", 2048).unwrap();
    tx.commit().unwrap();
    assert!(!resolver.refresh().unwrap(), "a pending key serves nothing");
    assert!(Arc::ptr_eq(&before, &resolver.snapshot()));
    // ... then its certificate.
    let (_, bundle) = fixture::sign(&request.to_pem(), &["b.test"], &[]);
    let mut tx = store.begin().unwrap();
    tx.install_certificate(bundle.as_bytes()).unwrap();
    tx.commit().unwrap();
    assert!(resolver.refresh().unwrap());

    let after = resolver.snapshot();
    let identity = |s: &keymanager::store::Snapshot, name: &str| {
        Arc::clone(s.identities().iter().find(|i| i.name() == name).unwrap())
    };
    assert!(Arc::ptr_eq(&identity(&before, "a"), &identity(&after, "a")));
    assert!(Arc::ptr_eq(&identity(&before, "c"), &identity(&after, "c")));
    assert!(!Arc::ptr_eq(
        &identity(&before, "b"),
        &identity(&after, "b")
    ));
    assert!(Arc::ptr_eq(&a, &resolver.lookup(Some("a.test")).unwrap()));
    let new_b = resolver.lookup(Some("b.test")).unwrap();
    assert!(!Arc::ptr_eq(&b, &new_b));
    assert_ne!(b.cert[0], new_b.cert[0], "the renewed certificate");
    assert!(!opened("b"));
}

/// Issue 14: a resolver over a store that binds nothing on its port warns through the error
/// hook (naming the port) when built, and again when a refresh unbinds the last endpoint of
/// the port; not while something is bound there.
#[test]
fn nothing_bound_on_the_port_is_a_warning_through_the_error_hook() {
    use std::sync::{Arc, Mutex};

    use keymanager::Error;
    use keymanager::error::TlsError;

    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    fixture::install(&store, "a", 0, &["a.test"], &[]);
    fixture::bind(&store, "a", &["a.test:8443".into()]);
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let w = Arc::clone(&warnings);
    let resolver = StoreResolver::builder(&store, "0.0.0.0:443".parse().unwrap())
        .background(false)
        .on_error(move |e: &Error| {
            if let Error::Tls(TlsError::NothingBound { local, bindings }) = e {
                w.lock()
                    .unwrap()
                    .push((local.port(), *bindings, e.to_string()));
            }
        })
        .build()
        .unwrap();
    {
        let warnings = warnings.lock().unwrap();
        assert_eq!(warnings.len(), 1);
        let (port, bindings, message) = &warnings[0];
        assert_eq!((*port, *bindings), (443, 1));
        assert!(message.contains("port 443") && message.contains("`0.0.0.0:443`"));
    }
    fixture::bind(&store, "a", &["0.0.0.0:443".into()]);
    assert!(resolver.refresh().unwrap());
    assert_eq!(warnings.lock().unwrap().len(), 1, "bound now: no warning");
    let mut tx = store.begin().unwrap();
    tx.unbind("0.0.0.0:443".parse().unwrap()).unwrap();
    tx.commit().unwrap();
    assert!(resolver.refresh().unwrap());
    assert_eq!(warnings.lock().unwrap().len(), 2, "unbound again: warned");
}

const UNWRITABLE_STDERR_CHILD: &str = "KEYMANAGER_TLS_UNWRITABLE_STDERR_CHILD";

/// The default error hook writes one line to standard error. When standard error cannot be
/// written (here a pipe whose reader went away; also a log file on a full disk) the line is
/// dropped: it is no panic in a handshake or in the refresh thread. The child builds a
/// resolver for a port with nothing bound, which warns through the hook.
#[test]
fn the_default_error_hook_survives_an_unwritable_standard_error() {
    let name = "the_default_error_hook_survives_an_unwritable_standard_error";
    if std::env::var_os(UNWRITABLE_STDERR_CHILD).is_some() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let resolver = StoreResolver::builder(&store, "0.0.0.0:443".parse().unwrap())
            .background(false)
            .build()
            .unwrap();
        assert_eq!(resolver.snapshot().len(), 0);
        println!("{name}: built");
        return;
    }
    let mut child = crate::common::rerun_test(module_path!(), name)
        .env(UNWRITABLE_STDERR_CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the child's warning, which comes after it opened a store.
    drop(child.stderr.take());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}: {stdout}", out.status);
    assert!(stdout.contains(&format!("{name}: built")), "{stdout}");
}
