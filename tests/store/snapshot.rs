//! `KeyStore::snapshot` answers exactly as `KeyStore::resolve` does (host, wildcard, address,
//! any-address; IPv4, IPv6, IPv4-mapped; case, invalid SNI, ports), and a `Watcher` sees
//! every commit and nothing else.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use keymanager::{CertificateRequest, DistinguishedName, KeyStore};

use crate::common::ca::shared as ca;
use crate::common::fixtures::{PASSPHRASE as PASS, fast_options as options, key};

/// Installs entry `name` (key `i`) certified for `dns`, and binds `endpoints` to it.
fn install(store: &KeyStore, name: &str, i: usize, dns: &str, endpoints: &[&str]) {
    let key = key(i);
    let dn: DistinguishedName = format!("CN={dns}").parse().unwrap();
    let request = CertificateRequest::builder(dn)
        .dns_name(dns)
        .sign(&key)
        .unwrap();
    let san = format!("subjectAltName=DNS:{dns}");
    let leaf = ca().sign_request(&request.to_pem(), &[&san, "extendedKeyUsage=serverAuth"]);
    let mut tx = store.begin().unwrap();
    tx.add_pending(name, key, &request).unwrap();
    tx.install_certificate(format!("{leaf}{}", ca().chain_pem()).as_bytes())
        .unwrap();
    for e in endpoints {
        tx.bind(e.parse().unwrap(), name).unwrap();
    }
    tx.commit().unwrap();
}

fn store() -> &'static KeyStore {
    static STORE: OnceLock<KeyStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let store = KeyStore::open_in_memory_with(PASS, &options()).unwrap();
        install(
            &store,
            "exact",
            0,
            "www.example.test",
            &["www.example.test:443"],
        );
        install(
            &store,
            "wild",
            1,
            "*.example.test",
            &["*.example.test:443", "*.example.test:8443"],
        );
        install(&store, "intranet", 2, "intranet", &["intranet:443"]);
        install(&store, "v4", 3, "v4.test", &["192.0.2.10:443"]);
        install(
            &store,
            "any4",
            4,
            "any4.test",
            &["0.0.0.0:443", "0.0.0.0:8443"],
        );
        install(&store, "v6", 5, "v6.test", &["[2001:db8::1]:443"]);
        install(&store, "any6", 6, "any6.test", &["[::]:443"]);
        store
    })
}

#[test]
fn the_snapshot_answers_exactly_as_resolve() {
    let store = store();
    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.len(), 9);
    assert_eq!(snapshot.identities().len(), 7);
    let snis = [
        None,
        Some("www.example.test"),
        Some("WWW.Example.TEST"),
        Some("a.example.test"),
        Some("x.a.example.test"),
        Some("example.test"),
        Some("*.example.test"),
        Some("*.www.example.test"),
        Some("bad_name.example.test"),
        Some("www.example.test."),
        Some("intranet"),
        Some("INTRANET"),
        Some("other.test"),
        Some(""),
        Some("1234"),
        Some("é.example.test"),
    ];
    let ips = [
        "192.0.2.10",
        "192.0.2.11",
        "::ffff:192.0.2.10",
        "::ffff:192.0.2.99",
        "2001:db8::1",
        "2001:db8::2",
        "0.0.0.0",
        "::",
        "127.0.0.1",
        "::1",
    ];
    let mut answered = std::collections::HashMap::new();
    for port in [443, 8443, 9999] {
        for ip in ips {
            let ip: IpAddr = ip.parse().unwrap();
            for sni in snis {
                let expected = store
                    .resolve(sni, SocketAddr::new(ip, port))
                    .unwrap()
                    .map(|id| id.name().to_owned());
                let got = snapshot
                    .resolve(sni, SocketAddr::new(ip, port))
                    .map(|id| id.name().to_owned());
                assert_eq!(got, expected, "{sni:?} on {ip} port {port}");
                *answered.entry(got).or_insert(0) += 1;
            }
        }
    }
    // Every entry and the empty answer came up: the grid covers every step of the order.
    for name in ["exact", "wild", "intranet", "v4", "any4", "v6", "any6"] {
        assert!(
            answered.contains_key(&Some(name.to_owned())),
            "{name} never answered"
        );
    }
    assert!(answered.contains_key(&None));
}

#[test]
fn host_before_wildcard_before_address_before_any() {
    let snapshot = store().snapshot().unwrap();
    let at = |sni: Option<&str>, addr: &str| {
        snapshot
            .resolve(sni, addr.parse().unwrap())
            .map(|id| id.name().to_owned())
    };
    let name = |s: &str| Some(s.to_owned());
    assert_eq!(
        at(Some("www.example.test"), "192.0.2.10:443"),
        name("exact")
    );
    assert_eq!(at(Some("api.example.test"), "192.0.2.10:443"), name("wild"));
    assert_eq!(at(Some("other.test"), "192.0.2.10:443"), name("v4"));
    assert_eq!(at(Some("other.test"), "192.0.2.11:443"), name("any4"));
    assert_eq!(at(None, "[::ffff:192.0.2.10]:443"), name("v4"));
    assert_eq!(at(None, "[2001:db8::1]:443"), name("v6"));
    assert_eq!(at(None, "[2001:db8::2]:443"), name("any6"));
    // The IPv4 any-address never answers IPv6, nor the other way round.
    assert_eq!(at(None, "[2001:db8::2]:8443"), None);
    assert_eq!(
        at(Some("www.example.test"), "192.0.2.10:8443"),
        name("wild")
    );
    assert_eq!(at(Some("www.example.test"), "192.0.2.10:9999"), None);
    // A wildcard covers one label only; an SNI that is a wildcard matches no host binding.
    assert_eq!(
        at(Some("x.a.example.test"), "[2001:db8::5]:443"),
        name("any6")
    );
    assert_eq!(
        at(Some("*.example.test"), "[2001:db8::5]:443"),
        name("any6")
    );
    // The identity holds the entry's chain and key.
    let id = snapshot
        .resolve(Some("intranet"), "192.0.2.10:443".parse().unwrap())
        .unwrap();
    assert!(id.chain()[0].matches(id.private_key().unwrap()));
}

#[test]
fn a_watcher_sees_every_commit_and_only_commits() {
    let store = KeyStore::open_in_memory_with(PASS, &options()).unwrap();
    install(
        &store,
        "www",
        0,
        "www.example.test",
        &["www.example.test:443"],
    );
    let mut watcher = store.watcher().unwrap();
    assert!(watcher.changed().unwrap(), "no snapshot read yet");
    let first = watcher.snapshot().unwrap();
    assert_eq!(first.len(), 1);
    assert!(!watcher.changed().unwrap());
    assert!(
        !watcher.changed().unwrap(),
        "asking does not change the answer"
    );

    // A transaction rolled back, and reads, are not changes.
    let mut tx = store.begin().unwrap();
    tx.unbind("www.example.test:443".parse().unwrap()).unwrap();
    tx.rollback().unwrap();
    store.entries().unwrap();
    store
        .resolve(
            Some("www.example.test"),
            SocketAddr::new("192.0.2.1".parse().unwrap(), 443),
        )
        .unwrap();
    assert!(!watcher.changed().unwrap());

    // A commit through this handle is.
    let mut tx = store.begin().unwrap();
    tx.bind("0.0.0.0:443".parse().unwrap(), "www").unwrap();
    tx.commit().unwrap();
    assert!(watcher.changed().unwrap());
    assert!(watcher.changed().unwrap(), "until the next snapshot");
    let second = watcher.snapshot().unwrap();
    assert_eq!(second.len(), 2);
    assert!(!watcher.changed().unwrap());
    assert_eq!(first.len(), 1, "a snapshot does not change");

    // So is a commit through another handle on the same file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let a = KeyStore::create_with(&path, PASS, &options()).unwrap();
    let b = KeyStore::open_with(&path, PASS, &options()).unwrap();
    let mut watcher = a.watcher().unwrap();
    assert!(watcher.snapshot().unwrap().is_empty());
    install(&b, "www", 0, "www.example.test", &["www.example.test:443"]);
    assert!(watcher.changed().unwrap());
    assert_eq!(watcher.snapshot().unwrap().len(), 1);
}

/// Issue 17: after one change, a watcher re-reads only that entry: every other identity is
/// the same `Arc` in the new snapshot; a commit that touches nothing served (a new pending
/// key) gives no new snapshot at all; keys stay sealed until asked for, and are opened once.
#[test]
fn a_refresh_rebuilds_only_what_changed_and_keys_open_on_first_use() {
    use std::sync::Arc;

    use keymanager::store::Identity;

    let store = KeyStore::open_in_memory_with(PASS, &options()).unwrap();
    let names = ["a", "b", "c", "d"];
    for (i, name) in names.iter().enumerate() {
        let host = format!("{name}.example.test");
        install(&store, name, 10 + i, &host, &[&format!("{host}:443")]);
    }
    let local: SocketAddr = "192.0.2.1:443".parse().unwrap();
    let served = |s: &keymanager::store::Snapshot, name: &str| -> Arc<Identity> {
        Arc::clone(
            s.resolve(Some(&format!("{name}.example.test")), local)
                .unwrap(),
        )
    };
    let mut watcher = store.watcher().unwrap();
    let first = watcher.refresh().unwrap().expect("the first refresh reads");
    assert_eq!(first.identities().len(), 4);
    assert!(
        first.identities().iter().all(|i| !i.key_opened()),
        "no key is decrypted by reading a snapshot"
    );
    assert!(watcher.refresh().unwrap().is_none(), "nothing committed");

    // A new pending key: committed, but nothing served changed.
    let dn: DistinguishedName = "CN=e.example.test".parse().unwrap();
    let request = CertificateRequest::builder(dn).sign(&key(20)).unwrap();
    let mut tx = store.begin().unwrap();
    tx.add_pending("e", key(20), &request).unwrap();
    tx.commit().unwrap();
    assert!(watcher.changed().unwrap());
    assert!(watcher.refresh().unwrap().is_none(), "no new snapshot");
    assert!(!watcher.changed().unwrap());

    // One change: `b` gets a second binding.
    let mut tx = store.begin().unwrap();
    tx.bind("0.0.0.0:443".parse().unwrap(), "b").unwrap();
    tx.commit().unwrap();
    let second = watcher.refresh().unwrap().expect("b changed");
    assert_eq!(second.len(), 5);
    for name in names {
        let same = Arc::ptr_eq(&served(&first, name), &served(&second, name));
        assert_eq!(same, name != "b", "{name}");
    }
    assert_eq!(
        second
            .resolve(None, "192.0.2.1:443".parse().unwrap())
            .unwrap()
            .name(),
        "b"
    );

    // The key is opened once, on first use, and the result kept.
    let b = served(&second, "b");
    assert!(!b.key_opened());
    let opened: *const _ = b.private_key().unwrap();
    assert!(b.key_opened());
    assert!(std::ptr::eq(opened, b.private_key().unwrap()));
    assert_eq!(
        b.private_key().unwrap().fingerprint(),
        key(11).fingerprint()
    );
    assert_eq!(b.fingerprint(), key(11).fingerprint());

    // An entry unbound and removed leaves, and the others stay (one moves to its place).
    let mut tx = store.begin().unwrap();
    tx.remove_with_bindings("a").unwrap();
    tx.commit().unwrap();
    let third = watcher.refresh().unwrap().expect("a left");
    assert_eq!(third.identities().len(), 3);
    let fallback = third.resolve(Some("a.example.test"), local).unwrap();
    assert_eq!(fallback.name(), "b", "the any-address now");
    for name in ["b", "c", "d"] {
        assert!(
            Arc::ptr_eq(&served(&second, name), &served(&third, name)),
            "{name}"
        );
    }
    // What the incremental snapshots hold is what a full read gives.
    let full = store.snapshot().unwrap();
    assert_eq!(full.len(), third.len());
    for name in ["b", "c", "d"] {
        assert_eq!(served(&full, name).name(), served(&third, name).name());
    }
    assert!(third.preload().is_ok());
    assert!(third.identities().iter().all(|i| i.key_opened()));
}
