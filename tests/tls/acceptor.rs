//! `tls::TlsAcceptor` (feature `tokio`) on loopback: each connection resolved with its own
//! local address, so IPv4 and IPv6 clients get their family's any-address binding on
//! per-address listeners and on one dual-stack `[::]` listener alike; strict SNI; the miss
//! hook. Clients: rustls and `openssl s_client -4` / `-6`.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use keymanager::KeyStore;
use keymanager::tls::{StoreResolver, TlsAcceptor};

use crate::common::fixtures::memory_store;
use crate::common::openssl::s_client_to;
use crate::common::{ca, tls_fixture as fixture};

/// `[::1]` can be listened on here; if not, says so (the IPv6 half of a test is skipped,
/// visibly).
fn ipv6_loopback() -> bool {
    match TcpListener::bind("[::1]:0") {
        Ok(_) => true,
        Err(e) => {
            eprintln!(
                "IPv6 LOOPBACK UNAVAILABLE on this machine ({e}): the IPv6 half of this test \
                 is skipped"
            );
            false
        }
    }
}

/// Listeners on `127.0.0.1:P` and (when there is IPv6) `[::1]:P`, one port for both.
fn loopback_pair(v6: bool) -> (Vec<TcpListener>, u16) {
    for _ in 0..20 {
        let (v4, port) = fixture::listener();
        if !v6 {
            return (vec![v4], port);
        }
        if let Ok(l6) = TcpListener::bind(("::1", port)) {
            return (vec![v4, l6], port);
        }
    }
    panic!("no port free on both 127.0.0.1 and [::1]");
}

/// `four` (for 127.0.0.1) bound to `0.0.0.0:port`, `six` (for ::1) to `[::]:port`, on each
/// port; returns their leaf certificates.
fn two_families(store: &KeyStore, ports: &[u16]) -> (Vec<u8>, Vec<u8>) {
    let four = fixture::install(store, "four", 0, &["four.test"], &["127.0.0.1"]);
    let six = fixture::install(store, "six", 1, &["six.test"], &["::1"]);
    for port in ports {
        fixture::bind(store, "four", &[format!("0.0.0.0:{port}")]);
        fixture::bind(store, "six", &[format!("[::]:{port}")]);
    }
    (four, six)
}

/// The leaf `openssl s_client` (`-4` or `-6`, no SNI) is served at `connect`, verified
/// against the test CA and for `ip`.
fn openssl_leaf(family: &str, connect: &str, ip: &str, ca_file: &std::path::Path) -> Vec<u8> {
    let out = s_client_to(
        connect,
        &[family, "-noservername", "-verify_ip", ip],
        ca_file,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "s_client {family} {connect}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fixture::first_certificate_der(&stdout).expect("a served certificate")
}

/// The scenario: a tokio server on `127.0.0.1` and `[::1]`, and on one dual-stack
/// `[::]` listener, with `0.0.0.0:port` and `[::]:port` bindings; each family's clients get
/// their family's identity (a StoreResolver made for `[::]` gives IPv4 clients `[::]`'s).
#[test]
fn each_family_gets_its_own_binding_on_per_address_and_dual_stack_listeners() {
    let v6 = ipv6_loopback();
    let store = memory_store();
    let (pair, port) = loopback_pair(v6);
    let dual = v6.then(|| TcpListener::bind("[::]:0").unwrap());
    let dual_port = dual.as_ref().map(|l| l.local_addr().unwrap().port());
    let ports: Vec<u16> = std::iter::once(port).chain(dual_port).collect();
    let (four, six) = two_families(&store, &ports);
    let misses = Arc::new(Mutex::new(Vec::new()));
    let m = Arc::clone(&misses);
    let listening: SocketAddr = format!("[::]:{port}").parse().unwrap();
    let resolver = StoreResolver::builder(&store, listening)
        .on_miss(move |sni, local| m.lock().unwrap().push((sni.map(str::to_owned), local)))
        .build()
        .unwrap();
    let acceptor = TlsAcceptor::new(resolver);
    let server = fixture::serve_tokio(pair.into_iter().chain(dual).collect(), acceptor);

    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), ca::shared().root_pem()).unwrap();
    let mut checked = 0;
    for &p in &ports {
        // IPv4 clients: to 127.0.0.1 (on the dual-stack listener, as ::ffff:127.0.0.1).
        let to = SocketAddr::from(([127, 0, 0, 1], p));
        match fixture::request_to(to, "127.0.0.1") {
            Ok((leaf, _)) => assert_eq!(leaf, four, "rustls over IPv4 to {to}"),
            // Only the dual-stack listener can be missing its IPv4 half (bindv6only=1).
            Err(e) if Some(p) == dual_port => {
                eprintln!("DUAL STACK UNAVAILABLE ({e}): the [::]:{p} IPv4 case is skipped");
                continue;
            }
            Err(e) => panic!("rustls over IPv4 to {to}: {e}"),
        }
        let connect = format!("127.0.0.1:{p}");
        assert_eq!(
            openssl_leaf("-4", &connect, "127.0.0.1", ca_file.path()),
            four
        );
        checked += 2;
        if v6 {
            let to = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, p));
            let (leaf, _) = fixture::request_to(to, "::1").unwrap();
            assert_eq!(leaf, six, "rustls over IPv6 to {to}");
            let connect = format!("[::1]:{p}");
            assert_eq!(openssl_leaf("-6", &connect, "::1", ca_file.path()), six);
            checked += 2;
        }
    }
    assert!(checked >= 2);
    assert_eq!(server.stats.failed.load(Ordering::SeqCst), 0);
    assert!(misses.lock().unwrap().is_empty(), "{:?}", misses.lock());

    // The same store through a plain StoreResolver made for `[::]:port`: an IPv4 client gets
    // `[::]`'s identity, the one the acceptor fixes.
    if v6 {
        let plain = StoreResolver::builder(&store, listening)
            .background(false)
            .build()
            .unwrap();
        let served = plain.lookup(None).unwrap();
        assert_eq!(served.cert[0].as_ref(), six.as_slice());
    }
    eprintln!("{checked} handshakes checked (IPv6 loopback: {v6})");
}

/// Strict SNI: a name no host binding names is refused (the miss hook sees it, with the
/// connection's address) instead of being answered by `0.0.0.0:port`; without SNI, and
/// without strictness, the address binding answers.
#[test]
fn strict_sni_refuses_an_unknown_name_and_on_miss_sees_it() {
    let store = memory_store();
    let www = fixture::install(&store, "www", 2, &["www.test"], &["127.0.0.1"]);
    let (listener, port) = fixture::listener();
    let (lax_listener, lax_port) = fixture::listener();
    fixture::bind(
        &store,
        "www",
        &[
            format!("www.test:{port}"),
            format!("0.0.0.0:{port}"),
            format!("0.0.0.0:{lax_port}"),
        ],
    );
    let misses = Arc::new(Mutex::new(Vec::new()));
    let m = Arc::clone(&misses);
    let local: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let strict = StoreResolver::builder(&store, local)
        .strict_sni(true)
        .on_miss(move |sni, local| m.lock().unwrap().push((sni.map(str::to_owned), local)))
        .build()
        .unwrap();
    let lax = StoreResolver::new(&store, format!("127.0.0.1:{lax_port}").parse().unwrap()).unwrap();
    let strict_server = fixture::serve_tokio(vec![listener], TlsAcceptor::new(strict));
    let _lax_server = fixture::serve_tokio(vec![lax_listener], TlsAcceptor::new(lax));

    assert_eq!(fixture::handshake(port, "www.test").unwrap(), www);
    // No SNI (an IP address as the name): the address binding answers.
    assert_eq!(fixture::handshake(port, "127.0.0.1").unwrap(), www);
    let err = fixture::handshake(port, "unknown.test").unwrap_err();
    assert!(!err.is_empty());
    assert_eq!(
        *misses.lock().unwrap(),
        [(Some("unknown.test".to_owned()), local)]
    );
    // The server counts the refused connection once its task ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while strict_server.stats.failed.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the refusal was not counted"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(strict_server.stats.failed.load(Ordering::SeqCst), 1);
    // Not strict: the unknown name gets the any-address binding's certificate (which the
    // client then refuses for the wrong name, but it was served).
    let lax_err = fixture::handshake(lax_port, "unknown.test").unwrap_err();
    let lower = lax_err.to_lowercase();
    assert!(
        lower.contains("not valid for name") || lower.contains("notvalidforname"),
        "{lax_err}"
    );
}
