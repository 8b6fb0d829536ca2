//! The key store end to end: opening, encryption at rest, pending keys, installing certificates
//! signed by the OpenSSL CLI, bindings, resolving, renewing, removing, and every error path.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use keymanager::error::{CertificateError, EndpointError, InstallError, StoreError};
use keymanager::{
    CertificateRequest, DistinguishedName, Endpoint, EntryState, Error, InstallOptions, KdfParams,
    KeyStore, PrivateKey,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::common::ca::root_only as ca;
use crate::common::fixtures::{PASSPHRASE as PASS, fast_options as options, key, memory_store};
use crate::common::openssl::stdout;

fn dn(cn: &str) -> DistinguishedName {
    DistinguishedName::builder()
        .common_name(cn)
        .organization("Example")
        .build()
        .unwrap()
}

fn request(key: &PrivateKey, cn: &str) -> CertificateRequest {
    CertificateRequest::builder(dn(cn))
        .dns_name(cn)
        .sign(key)
        .unwrap()
}

/// Adds pending entry `name` with key `i` for `cn`; returns the request PEM.
fn add(store: &KeyStore, name: &str, i: usize, cn: &str) -> String {
    let key = key(i);
    let req = request(&key, cn);
    let mut tx = store.begin().unwrap();
    tx.add_pending(name, key, &req).unwrap();
    tx.commit().unwrap();
    req.to_pem()
}

fn sign_server(req_pem: &str, dns: &[&str]) -> String {
    ca().sign_server(req_pem, dns, &[])
}

fn sign(req_pem: &str, ext: &[&str]) -> String {
    ca().sign_request(req_pem, ext)
}

/// A store with entry `name` installed for `cn` (key `i`).
fn installed(store: &KeyStore, name: &str, i: usize, cn: &str, dns: &[&str]) {
    let req = add(store, name, i, cn);
    let cert = sign_server(&req, dns);
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.install_certificate(cert.as_bytes()).unwrap(), name);
    tx.commit().unwrap();
}

fn ep(s: &str) -> Endpoint {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn create_makes_a_private_file_and_open_reopens_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    add(&store, "www", 0, "www.example.com");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let p = format!("{}{suffix}", path.display());
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{p} has mode {mode:o}");
        }
    }
    drop(store);
    let again = KeyStore::open_with(&path, PASS, &options()).unwrap();
    let entries = again.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name(), "www");
    assert_eq!(entries[0].state(), EntryState::Pending);
    assert_eq!(entries[0].fingerprint(), key(0).fingerprint());
    assert_eq!(entries[0].key_bits(), 2048);
    assert_eq!(again.path(), Some(path.as_path()));
}

/// Issue 14: a mistyped path is an error naming it, never a new empty store; `create`
/// never touches an existing file; an empty file is not taken for a store.
#[test]
fn open_refuses_a_missing_file_and_create_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let err = KeyStore::open_with(&path, PASS, &options()).unwrap_err();
    match &err {
        Error::Store(StoreError::Missing { path: p }) => assert_eq!(p, &path),
        other => panic!("expected Missing, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("keys.db") && message.contains("KeyStore::create"),
        "{message}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "open created {left:?}");

    // An empty passphrase is refused before any file is made.
    assert!(KeyStore::create_with(&path, "", &options()).is_err());
    assert!(!path.exists());

    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    add(&store, "www", 0, "www.example.com");
    drop(store);
    let before = std::fs::read(&path).unwrap();
    let err = KeyStore::create_with(&path, "another", &options()).unwrap_err();
    match &err {
        Error::Store(StoreError::AlreadyExists { path: p }) => assert_eq!(p, &path),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert!(err.to_string().contains("KeyStore::open"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        KeyStore::open_with(&path, PASS, &options())
            .unwrap()
            .entries()
            .unwrap()
            .len(),
        1
    );

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = KeyStore::open_with(&empty, PASS, &options()).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Uninitialised { .. })),
        "{err}"
    );
    assert_eq!(std::fs::read(&empty).unwrap(), b"");
}

#[test]
fn wrong_passphrase_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    add(&store, "www", 0, "www.example.com");
    drop(store);
    let before = std::fs::read(&path).unwrap();
    let err = KeyStore::open_with(&path, "wrong", &options()).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::WrongPassphrase)),
        "{err}"
    );
    assert!(err.to_string().contains("wrong passphrase"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // The stored (weak) parameters are used, not the caller's: opening with the
    // recommended options still works and is not slowed down by them.
    let again = KeyStore::open(&path, PASS).unwrap();
    assert_eq!(again.entries().unwrap().len(), 1);
}

#[test]
fn newer_schema_and_foreign_databases_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    drop(KeyStore::create_with(&path, PASS, &options()).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = KeyStore::open_with(&path, PASS, &options()).unwrap_err();
    match &err {
        Error::Store(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!(*found, 99);
            assert!(*supported < 99);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("upgrade"));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    let other = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
    }
    let err = KeyStore::open_with(&other, PASS, &options()).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Corrupt { .. })),
        "{err}"
    );
}

#[test]
fn no_private_key_is_written_unsealed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    add(&store, "a", 1, "a.example.com");
    let mut tx = store.begin().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    tx.create_pending_with_rng(
        &mut rng,
        "b",
        &CertificateRequest::builder(dn("b.example.com")),
        2048,
    )
    .unwrap();
    tx.commit().unwrap();
    let c = tx_create_from(&store);
    let b = store.entry("b").unwrap();
    assert_eq!(b.dns_names(), ["b.example.com"]);
    assert_eq!(b.state(), EntryState::Pending);
    assert_eq!(
        store.entry("c").unwrap().dns_names(),
        ["c.example.com", "alt.example.com"]
    );
    assert_eq!(c.dns_names(), ["c.example.com", "alt.example.com"]);
    // The same seeded generation gives the same key, so we know what to look for.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let b_key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).unwrap();
    assert_eq!(b_key.fingerprint(), b.fingerprint());

    let mut raw = std::fs::read(&path).unwrap();
    raw.extend(std::fs::read(format!("{}-wal", path.display())).unwrap_or_default());
    const W: usize = 24;
    let windows: HashSet<&[u8]> = raw.windows(W).collect();
    for k in [key(1), b_key] {
        let der = k.to_pkcs8_der().unwrap();
        // Every 24-byte run of the key's PKCS#8 DER beyond the public header (the modulus
        // is public and stored in requests): private exponent, primes, CRT values.
        let public_len = k.public_key_der().len();
        let private_runs = der[public_len..].windows(W).step_by(8);
        let mut checked = 0;
        for run in private_runs {
            checked += 1;
            assert!(
                !windows.contains(run),
                "unsealed key material found in the file"
            );
        }
        assert!(checked > 50);
    }
}

#[test]
fn transactions_commit_whole_or_roll_back() {
    let store = memory_store();
    let mut tx = store.begin().unwrap();
    tx.add_pending("a", key(2), &request(&key(2), "a.example.com"))
        .unwrap();
    assert_eq!(
        tx.entries().unwrap().len(),
        1,
        "a transaction sees its own changes"
    );
    assert!(store.entries().unwrap().is_empty(), "readers do not");
    tx.rollback().unwrap();
    assert!(store.entries().unwrap().is_empty());

    {
        let mut tx = store.begin().unwrap();
        tx.add_pending("a", key(2), &request(&key(2), "a.example.com"))
            .unwrap();
        // Dropped without commit.
    }
    assert!(store.entries().unwrap().is_empty());

    let mut tx = store.begin().unwrap();
    tx.add_pending("a", key(2), &request(&key(2), "a.example.com"))
        .unwrap();
    tx.add_pending("b", key(3), &request(&key(3), "b.example.com"))
        .unwrap();
    tx.commit().unwrap();
    let names: Vec<String> = store
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn pending_keys_are_checked() {
    let store = memory_store();
    add(&store, "www", 0, "www.example.com");
    let mut tx = store.begin().unwrap();
    let err = tx
        .add_pending("www", key(1), &request(&key(1), "x.example.com"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NameTaken { .. })),
        "{err}"
    );
    let err = tx
        .add_pending("other", key(0), &request(&key(0), "www.example.com"))
        .unwrap_err();
    match &err {
        Error::Store(StoreError::DuplicateKey { entry, .. }) => assert_eq!(entry, "www"),
        other => panic!("{other:?}"),
    }
    let err = tx
        .add_pending("mismatch", key(1), &request(&key(2), "x.example.com"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Install(InstallError::RequestKeyMismatch { .. })),
        "{err}"
    );
    assert!(err.to_string().contains(&key(1).fingerprint().to_hex()));
    // A request whose signature was altered.
    let mut der = request(&key(1), "x.example.com").to_der();
    let last = der.len() - 1;
    der[last] ^= 1;
    let forged = CertificateRequest::from_der(&der).unwrap();
    let err = tx.add_pending("forged", key(1), &forged).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Request(keymanager::error::RequestError::BadSignature)
        ),
        "{err:?}"
    );
    for bad in ["", "a\nb", &"x".repeat(129), " lead"] {
        let err = tx
            .add_pending(bad, key(1), &request(&key(1), "x.example.com"))
            .unwrap_err();
        assert!(
            matches!(err, Error::Store(StoreError::InvalidName { .. })),
            "{bad:?}"
        );
    }
    let err = tx
        .create_pending_with_rng(
            &mut ChaCha8Rng::seed_from_u64(1),
            "small",
            &CertificateRequest::builder(dn("s.example")),
            1024,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Key(_)), "{err}");
    tx.rollback().unwrap();
    assert_eq!(store.entries().unwrap().len(), 1);
}

#[test]
fn install_finds_the_right_key_among_many() {
    let store = memory_store();
    let mut tx = store.begin().unwrap();
    let mut requests = Vec::new();
    for i in 0..20 {
        let cn = format!("host{i}.example.com");
        let req = request(&key(i), &cn);
        tx.add_pending(&format!("entry {i}"), key(i), &req).unwrap();
        requests.push(req.to_pem());
    }
    tx.commit().unwrap();

    let cert = sign_server(&requests[13], &["host13.example.com"]);
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.install_certificate(cert.as_bytes()).unwrap(), "entry 13");
    tx.commit().unwrap();
    let e = store.entry("entry 13").unwrap();
    assert_eq!(e.state(), EntryState::Installed);
    assert_eq!(e.dns_names(), ["host13.example.com"]);
    assert!(e.subject().contains("host13.example.com"));
    let not_after = e.not_after().unwrap();
    let days = not_after
        .duration_since(SystemTime::now())
        .unwrap()
        .as_secs()
        / 86400;
    assert!((28..=30).contains(&days), "{days}");
    assert!(e.installed().is_some());
    assert_eq!(
        store.entry("entry 12").unwrap().state(),
        EntryState::Pending
    );

    // DER input, and the certificate with the CA certificate appended, install too.
    let der = pem::parse(&cert).unwrap().into_contents();
    let cert7 = sign_server(&requests[7], &["host7.example.com"]);
    let bundle = format!("{cert7}{}", ca().root_pem());
    let cert8 = sign_server(&requests[8], &["host8.example.com"]);
    let der8 = pem::parse(&cert8).unwrap().into_contents();
    let mut tx = store.begin().unwrap();
    // A bundle with a certificate that is not on the chain is refused, naming it.
    let stray = format!("{cert7}{cert}");
    let err = tx.install_certificate(stray.as_bytes()).unwrap_err();
    assert!(
        matches!(err, Error::Certificate(CertificateError::NotInChain { .. })),
        "{err}"
    );
    assert_eq!(tx.entry("entry 7").unwrap().state(), EntryState::Pending);
    assert_eq!(
        tx.install_certificate(bundle.as_bytes()).unwrap(),
        "entry 7"
    );
    let chain = tx.export("entry 7", "pw").unwrap();
    let chain = keymanager::Certificate::chain_from_pem(chain.chain_pem()).unwrap();
    assert_eq!(chain.len(), 2, "leaf and CA, leaf first");
    assert_eq!(chain[0].subject(), "CN=host7.example.com,O=Example");
    assert_eq!(
        chain[1].subject(),
        "CN=Test Root CA Store,O=keymanager tests"
    );
    assert_eq!(tx.install_certificate(&der8).unwrap(), "entry 8");
    // Installing the same certificate again says which entry has it.
    let err = tx.install_certificate(&der).unwrap_err();
    match &err {
        Error::Install(InstallError::AlreadyInstalled { entry, .. }) => {
            assert_eq!(entry, "entry 13")
        }
        other => panic!("{other:?}"),
    }
    tx.commit().unwrap();
    let id = store
        .resolve(None, SocketAddr::new(ip("192.0.2.1"), 443))
        .unwrap();
    assert!(id.is_none());
}

#[test]
fn install_diagnostics() {
    let store = memory_store();
    let req = add(&store, "www", 0, "www.example.com");
    // A certificate for another key with the same subject: the pending key is listed.
    let other_req = request(&key(1), "www.example.com").to_pem();
    let stranger = sign_server(&other_req, &["www.example.com"]);
    let mut tx = store.begin().unwrap();
    let err = tx.install_certificate(stranger.as_bytes()).unwrap_err();
    match &err {
        Error::Install(InstallError::NoMatchingKey {
            fingerprint,
            candidates,
            ..
        }) => {
            assert_eq!(*fingerprint, key(1).fingerprint());
            assert_eq!(candidates, &[("www".to_string(), key(0).fingerprint())]);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("www.example.com") && msg.contains(&key(0).fingerprint().to_hex()),
        "{msg}"
    );

    // The CA rewrote the subject: the pending key is found by its DNS name, and the CA
    // certificate in the bundle is not mistaken for the server's.
    let renamed = sign_server(
        &request(&key(1), "other.example.org").to_pem(),
        &["www.example.com"],
    );
    let bundle = format!("{}{renamed}", ca().root_pem());
    match tx.install_certificate(bundle.as_bytes()).unwrap_err() {
        Error::Install(InstallError::NoMatchingKey {
            subject,
            candidates,
            ..
        }) => {
            assert!(subject.contains("other.example.org"), "{subject}");
            assert_eq!(candidates.len(), 1);
            assert_eq!(candidates[0].0, "www");
        }
        other => panic!("{other:?}"),
    }
    // Nothing in common: the message says so.
    let unrelated = sign_server(
        &request(&key(1), "x.example.org").to_pem(),
        &["x.example.org"],
    );
    let msg = tx
        .install_certificate(unrelated.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("no pending key has this subject or names"),
        "{msg}"
    );

    // A request is not a certificate, in PEM or DER.
    for input in [
        req.as_bytes().to_vec(),
        pem::parse(&req).unwrap().into_contents(),
    ] {
        let err = tx.install_certificate(&input).unwrap_err();
        assert!(
            matches!(err, Error::Certificate(CertificateError::IsRequest)),
            "{err}"
        );
        assert!(err.to_string().contains("request"));
    }

    // Dates are checked against `now`, unless allowed.
    let cert = sign_server(&req, &["www.example.com"]);
    let far = SystemTime::now() + Duration::from_secs(400 * 86400);
    let past = SystemTime::now() - Duration::from_secs(400 * 86400);
    for (now, word) in [(far, "expired"), (past, "not valid before")] {
        let err = tx
            .install_certificate_with(cert.as_bytes(), InstallOptions::new().now(now))
            .unwrap_err();
        assert!(
            matches!(err, Error::Install(InstallError::InvalidDates { .. })),
            "{err}"
        );
        assert!(err.to_string().contains(word), "{err}");
    }
    // Without serverAuth.
    let client = sign(
        &req,
        &[
            "subjectAltName=DNS:www.example.com",
            "extendedKeyUsage=clientAuth",
        ],
    );
    let err = tx.install_certificate(client.as_bytes()).unwrap_err();
    assert!(
        matches!(err, Error::Install(InstallError::NoServerAuth { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("serverAuth"));
    assert_eq!(tx.entry("www").unwrap().state(), EntryState::Pending);

    // A CA that dropped a requested name.
    let two = CertificateRequest::builder(dn("api.example.com"))
        .dns_name("API2.example.com")
        .sign(&key(2))
        .unwrap();
    tx.add_pending("api", key(2), &two).unwrap();
    assert_eq!(
        tx.entry("api").unwrap().dns_names(),
        ["api.example.com", "API2.example.com"],
        "as requested"
    );
    let partial = sign_server(&two.to_pem(), &["api.example.com"]);
    let err = tx.install_certificate(partial.as_bytes()).unwrap_err();
    match &err {
        Error::Install(InstallError::NamesDropped {
            entry,
            dropped,
            certified,
        }) => {
            assert_eq!(entry, "api");
            assert_eq!(dropped, &["API2.example.com"]);
            assert_eq!(certified, &["api.example.com"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("API2.example.com"));
    // Requested IP addresses are checked too.
    let with_ip = CertificateRequest::builder(dn("ip.example.com"))
        .ip_address(ip("192.0.2.5"))
        .sign(&key(3))
        .unwrap();
    tx.add_pending("ip", key(3), &with_ip).unwrap();
    let no_ip = sign_server(&with_ip.to_pem(), &["ip.example.com"]);
    match tx.install_certificate(no_ip.as_bytes()).unwrap_err() {
        Error::Install(InstallError::NamesDropped { dropped, .. }) => {
            assert_eq!(dropped, ["192.0.2.5"])
        }
        other => panic!("{other:?}"),
    }
    let ip_cert = sign(
        &with_ip.to_pem(),
        &[
            "subjectAltName=DNS:ip.example.com,IP:192.0.2.5",
            "extendedKeyUsage=serverAuth",
        ],
    );
    assert_eq!(tx.install_certificate(ip_cert.as_bytes()).unwrap(), "ip");
    // A wildcard certificate covers the requested names.
    let wild = sign_server(&two.to_pem(), &["*.example.com", "api.example.com"]);
    assert_eq!(tx.install_certificate(wild.as_bytes()).unwrap(), "api");

    // Allowed explicitly, an expired certificate installs.
    let name = tx
        .install_certificate_with(
            cert.as_bytes(),
            InstallOptions::new().allow_invalid_dates(true).now(far),
        )
        .unwrap();
    assert_eq!(name, "www");
    tx.commit().unwrap();
}

#[test]
fn bindings_and_resolution() {
    let store = memory_store();
    installed(
        &store,
        "www",
        0,
        "www.example.com",
        &["www.example.com", "example.com"],
    );
    installed(&store, "wild", 1, "*.example.com", &["*.example.com"]);
    installed(&store, "addr", 2, "addr.example.com", &["addr.example.com"]);
    installed(
        &store,
        "default",
        3,
        "default.example.com",
        &["default.example.com"],
    );
    add(&store, "pending", 4, "pending.example.com");

    let mut tx = store.begin().unwrap();
    tx.bind(ep("www.example.com:443"), "www").unwrap();
    tx.bind(ep("*.example.com:443"), "wild").unwrap();
    tx.bind(ep("192.0.2.10:443"), "addr").unwrap();
    tx.bind(ep("0.0.0.0:443"), "default").unwrap();
    tx.bind(ep("[2001:db8::1]:443"), "addr").unwrap();

    let err = tx.bind(ep("192.0.2.10:443"), "www").unwrap_err();
    match &err {
        Error::Endpoint(EndpointError::Taken { entry, endpoint }) => {
            assert_eq!(entry, "addr");
            assert_eq!(endpoint, "192.0.2.10:443");
        }
        other => panic!("{other:?}"),
    }
    let err = tx.bind(ep("192.0.2.11:443"), "pending").unwrap_err();
    assert!(
        matches!(err, Error::Endpoint(EndpointError::NotInstalled { .. })),
        "{err}"
    );
    let err = tx.bind(ep("other.example.org:443"), "www").unwrap_err();
    match &err {
        Error::Endpoint(EndpointError::HostNotCovered { names, .. }) => {
            assert!(names.contains(&"www.example.com".to_string()))
        }
        other => panic!("{other:?}"),
    }
    let err = tx.bind(ep("*.example.com:8443"), "www").unwrap_err();
    assert!(
        matches!(err, Error::Endpoint(EndpointError::HostNotCovered { .. })),
        "a wildcard binding needs a wildcard certificate: {err}"
    );
    let err = tx.bind(ep("192.0.2.12:443"), "nobody").unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NotFound { .. })),
        "{err}"
    );
    let err = tx.unbind(ep("192.0.2.99:443")).unwrap_err();
    assert!(
        matches!(err, Error::Endpoint(EndpointError::NotBound { .. })),
        "{err}"
    );
    tx.commit().unwrap();

    let resolve = |addr: &str, port: u16, sni: Option<&str>| {
        store
            .resolve(sni, SocketAddr::new(ip(addr), port))
            .unwrap()
            .map(|id| id.name().to_owned())
    };
    assert_eq!(
        resolve("192.0.2.10", 443, Some("WWW.example.com")).as_deref(),
        Some("www")
    );
    assert_eq!(
        resolve("192.0.2.10", 443, Some("api.example.com")).as_deref(),
        Some("wild")
    );
    assert_eq!(
        resolve("192.0.2.10", 443, Some("a.b.example.com")).as_deref(),
        Some("addr")
    );
    assert_eq!(resolve("192.0.2.10", 443, None).as_deref(), Some("addr"));
    assert_eq!(
        resolve("::ffff:192.0.2.10", 443, None).as_deref(),
        Some("addr")
    );
    assert_eq!(resolve("2001:db8::1", 443, None).as_deref(), Some("addr"));
    assert_eq!(resolve("192.0.2.77", 443, None).as_deref(), Some("default"));
    assert_eq!(
        resolve("2001:db8::2", 443, None),
        None,
        "[::] is a separate wildcard"
    );
    assert_eq!(resolve("192.0.2.10", 8443, Some("www.example.com")), None);

    let identity = store
        .resolve(
            Some("www.example.com"),
            SocketAddr::new(ip("192.0.2.10"), 443),
        )
        .unwrap()
        .unwrap();
    assert_eq!(identity.chain().len(), 1);
    assert!(identity.chain()[0].matches(identity.private_key().unwrap()));
    assert_eq!(
        identity.private_key().unwrap().fingerprint(),
        key(0).fingerprint()
    );

    let www = store.entry("www").unwrap();
    assert_eq!(www.bindings(), [ep("www.example.com:443")]);
    let mut tx = store.begin().unwrap();
    tx.unbind(ep("www.example.com:443")).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        resolve("192.0.2.10", 443, Some("www.example.com")).as_deref(),
        Some("wild")
    );
}

#[test]
fn remove_refuses_bound_entries_unless_asked() {
    let store = memory_store();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    add(&store, "pending", 1, "p.example.com");
    let mut tx = store.begin().unwrap();
    tx.bind(ep("192.0.2.1:443"), "www").unwrap();
    tx.bind(ep("www.example.com:443"), "www").unwrap();
    let err = tx.remove("www").unwrap_err();
    match &err {
        Error::Store(StoreError::StillBound { endpoints, .. }) => {
            assert_eq!(endpoints.len(), 2)
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("192.0.2.1:443"));
    tx.remove("pending").unwrap();
    let err = tx.remove("pending").unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NotFound { .. })),
        "{err}"
    );
    tx.remove_with_bindings("www").unwrap();
    tx.commit().unwrap();
    assert!(store.entries().unwrap().is_empty());
    assert!(
        store
            .resolve(None, SocketAddr::new(ip("192.0.2.1"), 443))
            .unwrap()
            .is_none()
    );
}

#[test]
fn renewal_takes_over_name_and_bindings_on_install() {
    let store = memory_store();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    let mut tx = store.begin().unwrap();
    tx.bind(ep("0.0.0.0:443"), "www").unwrap();
    let err = tx.renew("nobody", 2048).unwrap_err();
    assert!(matches!(err, Error::Store(StoreError::NotFound { .. })));
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let req = tx.renew_with_rng(&mut rng, "www", 2048).unwrap();
    let err = tx
        .renew_with_rng(&mut ChaCha8Rng::seed_from_u64(98), "www", 2048)
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::WrongState { .. })),
        "{err}"
    );
    assert_eq!(
        tx.renewal_of("www").unwrap().unwrap().fingerprint(),
        req.fingerprint()
    );
    tx.commit().unwrap();

    // Addressed by the entry it renews; its state says what it is.
    let renewal = store.renewal_of("www").unwrap().unwrap();
    assert_eq!(renewal.state(), EntryState::Renewal);
    assert_eq!(renewal.renewal_of(), Some("www"));
    assert_eq!(renewal.fingerprint(), req.fingerprint());
    assert_eq!(store.entry(renewal.name()).unwrap(), renewal);
    assert_eq!(store.renewal_of(renewal.name()).unwrap(), None);
    let err = store.renewal_of("nobody").unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NotFound { .. })),
        "{err}"
    );
    let states: Vec<(String, EntryState)> = store
        .entries()
        .unwrap()
        .iter()
        .map(|e| (e.name().to_owned(), e.state()))
        .collect();
    assert_eq!(
        states,
        [
            ("www".to_owned(), EntryState::Installed),
            (renewal.name().to_owned(), EntryState::Renewal)
        ]
    );
    // The old certificate keeps serving.
    let serving = store
        .resolve(None, SocketAddr::new(ip("192.0.2.1"), 443))
        .unwrap()
        .unwrap();
    assert_eq!(
        serving.private_key().unwrap().fingerprint(),
        key(0).fingerprint()
    );
    let mut tx = store.begin().unwrap();
    let err = tx.renew(renewal.name(), 2048).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::WrongState { .. })),
        "{err}"
    );
    drop(tx);

    let cert = sign_server(&req.to_pem(), &["www.example.com"]);
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.install_certificate(cert.as_bytes()).unwrap(), "www");
    tx.commit().unwrap();
    let entries = store.entries().unwrap();
    assert_eq!(entries.len(), 1, "the old entry is deleted");
    assert_eq!(entries[0].name(), "www");
    assert_eq!(entries[0].fingerprint(), req.fingerprint());
    assert_eq!(entries[0].bindings(), [ep("0.0.0.0:443")]);
    assert_eq!(entries[0].renewal_of(), None);
    assert_eq!(entries[0].state(), EntryState::Installed);
    assert_eq!(store.renewal_of("www").unwrap(), None);
    let serving = store
        .resolve(None, SocketAddr::new(ip("192.0.2.1"), 443))
        .unwrap()
        .unwrap();
    assert_eq!(
        serving.private_key().unwrap().fingerprint(),
        req.fingerprint()
    );
    assert_eq!(serving.name(), "www");
}

#[test]
fn change_passphrase_reseals_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    add(&store, "pending", 1, "p.example.com");
    let mut tx = store.begin().unwrap();
    tx.bind(ep("0.0.0.0:443"), "www").unwrap();
    tx.commit().unwrap();
    let stale = KeyStore::open_with(&path, PASS, &options()).unwrap();

    let err = store.change_passphrase("nope", "new secret").unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::WrongPassphrase)),
        "{err}"
    );
    store.change_passphrase(PASS, "new secret").unwrap();
    // This handle keeps working.
    assert_eq!(store.entries().unwrap().len(), 2);
    let id = store
        .resolve(None, SocketAddr::new(ip("192.0.2.1"), 443))
        .unwrap()
        .unwrap();
    assert_eq!(
        id.private_key().unwrap().fingerprint(),
        key(0).fingerprint()
    );
    // A handle opened before is told to reopen.
    let err = stale.begin().unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::PassphraseChanged)),
        "{err}"
    );
    let err = stale
        .resolve(None, SocketAddr::new(ip("192.0.2.1"), 443))
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::PassphraseChanged)),
        "{err}"
    );
    drop((store, stale));
    assert!(matches!(
        KeyStore::open_with(&path, PASS, &options()),
        Err(Error::Store(StoreError::WrongPassphrase))
    ));
    let reopened = KeyStore::open_with(&path, "new secret", &options()).unwrap();
    let id = reopened
        .resolve(None, SocketAddr::new(ip("192.0.2.1"), 443))
        .unwrap()
        .unwrap();
    assert_eq!(
        id.private_key().unwrap().fingerprint(),
        key(0).fingerprint()
    );
}

#[test]
fn reports_find_expiring_and_stale_entries() {
    let store = memory_store();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    add(&store, "pending", 1, "p.example.com");
    let names =
        |v: Vec<keymanager::Entry>| v.iter().map(|e| e.name().to_owned()).collect::<Vec<_>>();
    assert_eq!(
        names(
            store
                .expiring_within(Duration::from_secs(31 * 86400))
                .unwrap()
        ),
        ["www"]
    );
    assert!(
        store
            .expiring_within(Duration::from_secs(86400))
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .pending_older_than(Duration::from_secs(3600))
            .unwrap()
            .is_empty()
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        names(store.pending_older_than(Duration::ZERO).unwrap()),
        ["pending"]
    );
}

#[test]
fn removing_a_renewed_entry_keeps_its_renewal_as_a_pending_entry() {
    let store = memory_store();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    let mut tx = store.begin().unwrap();
    let req = tx
        .renew_with_rng(&mut ChaCha8Rng::seed_from_u64(5), "www", 2048)
        .unwrap();
    tx.remove("www").unwrap();
    tx.commit().unwrap();
    let entries = store.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name(), "www (renewal)");
    assert_eq!(entries[0].renewal_of(), None);
    assert_eq!(entries[0].state(), EntryState::Pending);
    let cert = sign_server(&req.to_pem(), &["www.example.com"]);
    let mut tx = store.begin().unwrap();
    assert_eq!(
        tx.install_certificate(cert.as_bytes()).unwrap(),
        "www (renewal)"
    );
    tx.commit().unwrap();
}

/// Issue 14: the link, not the name, makes a renewal. A plain entry called `www (renewal)`
/// is pending, is not `www`'s renewal, and keeps `www` from being renewed (its name is taken)
/// with an error that names it.
#[test]
fn an_entry_merely_named_like_a_renewal_is_not_one() {
    let store = memory_store();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    add(&store, "www (renewal)", 1, "www.example.com");
    let plain = store.entry("www (renewal)").unwrap();
    assert_eq!(plain.state(), EntryState::Pending);
    assert_eq!(plain.renewal_of(), None);
    assert_eq!(store.renewal_of("www").unwrap(), None);
    let mut tx = store.begin().unwrap();
    let err = tx.renew("www", 2048).unwrap_err();
    assert!(
        matches!(&err, Error::Store(StoreError::NameTaken { name }) if name == "www (renewal)"),
        "{err}"
    );
    tx.commit().unwrap();
    assert_eq!(store.entries().unwrap().len(), 2);
    assert_eq!(store.renewal_of("www").unwrap(), None);
}

#[test]
fn a_transaction_dropped_by_a_panic_is_rolled_back() {
    let store = memory_store();
    let clone = store.clone();
    let result = std::panic::catch_unwind(move || {
        let mut tx = clone.begin().unwrap();
        tx.add_pending("a", key(5), &request(&key(5), "a.example.com"))
            .unwrap();
        panic!("boom");
    });
    assert!(result.is_err());
    assert!(store.entries().unwrap().is_empty());
    // The write lock was released.
    let mut tx = store.begin().unwrap();
    tx.add_pending("a", key(5), &request(&key(5), "a.example.com"))
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(store.entries().unwrap().len(), 1);
}

#[test]
fn kdf_parameters_are_checked() {
    assert!(KdfParams::new(64, 1, 1).is_ok());
    for (m, t, p) in [
        (4, 1, 1),
        (64, 0, 1),
        (64, 1, 0),
        (64, 101, 1),
        (8, 1, 2),
        (u32::MAX, 1, 1),
    ] {
        let err = KdfParams::new(m, t, p).unwrap_err();
        assert!(
            matches!(err, Error::Store(StoreError::InvalidOptions { .. })),
            "{m} {t} {p}"
        );
    }
    let rec = KdfParams::RECOMMENDED;
    assert_eq!(
        (rec.memory_kib(), rec.iterations(), rec.parallelism()),
        (19456, 2, 1)
    );
}

#[test]
fn export_gives_encrypted_pkcs8_and_the_chain() {
    let store = memory_store();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    add(&store, "pending", 1, "p.example.com");
    let fast = keymanager::KeyEncryption::Pbkdf2Sha256 { iterations: 1000 };
    let export = store.export_with("www", "export pw", fast).unwrap();
    assert!(
        export
            .key_pem()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    let key_back = PrivateKey::from_encrypted_pem(export.key_pem(), "export pw").unwrap();
    assert_eq!(key_back.fingerprint(), key(0).fingerprint());
    assert!(PrivateKey::from_encrypted_pem(export.key_pem(), "wrong").is_err());
    let chain = keymanager::Certificate::chain_from_pem(export.chain_pem()).unwrap();
    assert_eq!(chain.len(), 1);
    assert!(chain[0].matches(&key_back));

    // OpenSSL reads the exported key, and it is the certificate's key.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.pem");
    let cert_file = dir.path().join("cert.pem");
    std::fs::write(&key_file, export.key_pem()).unwrap();
    std::fs::write(&cert_file, export.chain_pem()).unwrap();
    let pubkey = stdout;
    let from_key = pubkey(&[
        "pkey",
        "-in",
        key_file.to_str().unwrap(),
        "-passin",
        "pass:export pw",
        "-pubout",
    ]);
    let from_cert = pubkey(&[
        "x509",
        "-in",
        cert_file.to_str().unwrap(),
        "-noout",
        "-pubkey",
    ]);
    assert_eq!(from_key, from_cert);

    // The default encryption, and a pending entry (no chain yet).
    let pending = store.export("pending", "pw").unwrap();
    assert!(pending.chain_pem().is_empty());
    let back = PrivateKey::from_encrypted_pem(pending.key_pem(), "pw").unwrap();
    assert_eq!(back.fingerprint(), key(1).fingerprint());
    assert!(matches!(
        store.export("nobody", "pw"),
        Err(Error::Store(StoreError::NotFound { .. }))
    ));
}

#[test]
fn empty_passphrases_are_refused() {
    let err = KeyStore::open_in_memory_with("", &options()).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::InvalidOptions { .. })),
        "{err}"
    );
    let store = memory_store();
    let err = store.change_passphrase(PASS, "").unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::InvalidOptions { .. })),
        "{err}"
    );
    assert!(store.begin().is_ok(), "nothing changed");
}

fn tx_create_from(store: &KeyStore) -> CertificateRequest {
    let mut tx = store.begin().unwrap();
    let builder = CertificateRequest::builder(dn("c.example.com")).dns_name("alt.example.com");
    let req = tx
        .create_pending_with_rng(&mut ChaCha8Rng::seed_from_u64(8), "c", &builder, 2048)
        .unwrap();
    let err = tx
        .create_pending_with_rng(
            &mut ChaCha8Rng::seed_from_u64(9),
            "c",
            &CertificateRequest::builder(dn("d.example")),
            2048,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NameTaken { .. })),
        "{err}"
    );
    tx.commit().unwrap();
    req.verify().unwrap();
    req
}

#[test]
fn a_renewal_must_cover_the_host_bindings_it_takes_over() {
    let store = memory_store();
    // The CA certified more than was asked: a wildcard, and api is bound through it.
    let req = add(&store, "www", 0, "www.example.com");
    let cert = sign_server(&req, &["www.example.com", "*.example.com"]);
    let mut tx = store.begin().unwrap();
    tx.install_certificate(cert.as_bytes()).unwrap();
    tx.bind(ep("api.example.com:443"), "www").unwrap();
    tx.bind(ep("www.example.com:443"), "www").unwrap();
    let renewal = tx
        .renew_with_rng(&mut ChaCha8Rng::seed_from_u64(11), "www", 2048)
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(renewal.dns_names(), ["www.example.com"]);
    // This time the CA certifies what was asked only.
    let narrow = sign_server(&renewal.to_pem(), &["www.example.com"]);
    let mut tx = store.begin().unwrap();
    let err = tx.install_certificate(narrow.as_bytes()).unwrap_err();
    match &err {
        Error::Install(InstallError::RenewalDropsBindings {
            entry, endpoints, ..
        }) => {
            assert_eq!(entry, "www");
            assert_eq!(endpoints, &["api.example.com:443"]);
        }
        other => panic!("{other:?}"),
    }
    // Unbinding it first lets the renewal through.
    tx.unbind(ep("api.example.com:443")).unwrap();
    assert_eq!(tx.install_certificate(narrow.as_bytes()).unwrap(), "www");
    tx.commit().unwrap();
    assert_eq!(
        store.entry("www").unwrap().bindings(),
        [ep("www.example.com:443")]
    );
}

#[test]
fn an_unusable_path_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("keys.db");
    let err = KeyStore::create_with(&path, PASS, &options()).unwrap_err();
    assert!(matches!(err, Error::Store(StoreError::Io { .. })), "{err}");
    assert!(err.to_string().contains("missing-dir"), "{err}");
}

#[test]
fn not_found_errors_say_where_to_look() {
    let store = memory_store();
    let err = store.entry("WWW").unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NotFound { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("KeyStore::entries"), "{err}");
    let mut tx = store.begin().unwrap();
    let err = tx.unbind(ep("192.0.2.1:443")).unwrap_err();
    assert!(err.to_string().contains("KeyStore::entries"), "{err}");
}

/// Debug output of everything a server holds shows no secret: no passphrase, no key bytes,
/// no PEM.
#[test]
fn debug_output_holds_no_secrets() {
    let store = memory_store();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    let mut tx = store.begin().unwrap();
    tx.bind(ep("0.0.0.0:443"), "www").unwrap();
    let tx_debug = format!("{tx:?}");
    tx.commit().unwrap();
    let identity = store
        .resolve(None, SocketAddr::new(ip("192.0.2.1"), 443))
        .unwrap()
        .unwrap();
    let export = store.export("www", "export password").unwrap();
    let der = key(0).to_pkcs8_der().unwrap();
    let public_len = key(0).public_key_der().len();
    // Any 8 private bytes, as the hex or decimal a derived Debug would print.
    let private = &der[public_len..];
    for text in [
        format!("{store:?}"),
        tx_debug,
        format!("{identity:?}"),
        format!("{export:?}"),
        format!("{:?}", store.entries().unwrap()),
    ] {
        assert!(!text.contains(PASS), "{text}");
        assert!(!text.contains("export password"), "{text}");
        assert!(!text.contains("BEGIN"), "{text}");
        for run in private.chunks(8) {
            assert!(!text.contains(&hex::encode(run)), "{text}");
            let decimal = format!("{run:?}");
            assert!(!text.contains(&decimal[1..decimal.len() - 1]), "{text}");
        }
    }
}

#[test]
fn report_windows_of_any_length_do_not_panic() {
    let store = memory_store();
    installed(&store, "www", 0, "www.example.com", &["www.example.com"]);
    add(&store, "pending", 1, "p.example.com");
    let all = store.expiring_within(Duration::MAX).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name(), "www");
    assert!(store.pending_older_than(Duration::MAX).unwrap().is_empty());
    assert!(store.expiring_within(Duration::ZERO).unwrap().is_empty());
}

#[cfg(unix)]
#[test]
fn a_store_file_with_a_loose_mode_is_tightened_on_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    drop(KeyStore::create_with(&path, PASS, &options()).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = KeyStore::open_with(&path, PASS, &options()).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    drop(store);
}
