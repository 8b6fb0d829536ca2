//! Hot reload: while a loopback server answers from a `StoreResolver` (a thread per
//! connection, or a tokio server through `TlsAcceptor`), another process installs a renewed
//! certificate; new handshakes get it within the refresh bound, no handshake fails meanwhile,
//! and the change hook is called once, with the new serial.

use std::any::Any;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keymanager::KeyStore;
use keymanager::tls::StoreResolver;

use crate::common::fixtures::{PASSPHRASE, fast_options, store_in};
use crate::common::{rerun_test, tls_fixture as fixture};
use fixture::ServerStats;

const INTERVAL: Duration = Duration::from_millis(200);
const STORE_ENV: &str = "KEYMANAGER_TEST_RELOAD_STORE";
const CERT_ENV: &str = "KEYMANAGER_TEST_RELOAD_CERT";

/// What one client thread saw: for each handshake, whether it was served the new certificate;
/// and the failures.
#[derive(Default)]
struct Seen {
    new: Vec<bool>,
    failures: Vec<String>,
}

/// A server answering on a listener from a resolver: its statistics, and what keeps it
/// running.
type Serve = fn(TcpListener, Arc<StoreResolver>) -> (Arc<ServerStats>, Box<dyn Any>);

#[test]
fn another_process_renews_and_new_handshakes_get_the_new_certificate_without_a_failure() {
    hot_reload(|listener, resolver| (fixture::serve(listener, resolver), Box::new(())));
}

/// Issue 14: the same under the per-connection acceptor, on a tokio server.
#[cfg(feature = "tokio")]
#[test]
fn the_same_under_the_acceptor_of_a_tokio_server() {
    hot_reload(|listener, resolver| {
        let acceptor = keymanager::tls::TlsAcceptor::new(resolver);
        let server = fixture::serve_tokio(vec![listener], acceptor);
        (Arc::clone(&server.stats), Box::new(server))
    });
}

fn hot_reload(serve: Serve) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let old = fixture::install(&store, "www", 0, &["www.test"], &[]);
    let (listener, port) = fixture::listener();
    fixture::bind(&store, "www", &[format!("www.test:{port}")]);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&errors);
    // Each change: the generations, and the serials served from then on.
    let changes = Arc::new(Mutex::new(Vec::new()));
    let c = Arc::clone(&changes);
    let resolver = StoreResolver::builder(&store, format!("127.0.0.1:{port}").parse().unwrap())
        .check_every(INTERVAL)
        .on_error(move |err| e.lock().unwrap().push(err.to_string()))
        .on_change(move |before, after| {
            let serials: Vec<String> = after
                .identities()
                .iter()
                .map(|id| id.chain()[0].serial_hex())
                .collect();
            c.lock()
                .unwrap()
                .push((before.generation(), after.generation(), serials));
        })
        .build()
        .unwrap();
    let (stats, _server) = serve(listener, Arc::clone(&resolver));
    assert_eq!(fixture::handshake(port, "www.test").unwrap(), old);

    // This process starts the renewal (a new pending key; `www` keeps serving) ...
    let mut tx = store.begin().unwrap();
    let request = tx.renew("www", 2048).unwrap();
    tx.commit().unwrap();
    let (leaf, bundle) = fixture::sign(&request.to_pem(), &["www.test"], &[]);
    let new = fixture::pem_to_der(&leaf);
    let new_serial = keymanager::Certificate::from_der(&new)
        .unwrap()
        .serial_hex();
    let cert_path = dir.path().join("renewed.pem");
    std::fs::write(&cert_path, bundle).unwrap();
    std::thread::sleep(INTERVAL * 2);
    assert_eq!(
        fixture::handshake(port, "www.test").unwrap(),
        old,
        "still the old one"
    );

    // ... clients hammer the server ...
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let (old, new) = (old.clone(), new.clone());
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                // Bounded: stops when told, or after 2,000 handshakes.
                for _ in 0..2000 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    match fixture::handshake(port, "www.test") {
                        Ok(leaf) if leaf == new => seen.new.push(true),
                        Ok(leaf) if leaf == old => seen.new.push(false),
                        Ok(_) => seen.failures.push("an unknown certificate".into()),
                        Err(e) => seen.failures.push(e),
                    }
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    // ... while another process installs the renewed certificate.
    let started = Instant::now();
    let out = rerun_test(module_path!(), "child_installs_the_renewed_certificate")
        .arg("--ignored")
        .env(STORE_ENV, dir.path().join("keys.db"))
        .env(CERT_ENV, &cert_path)
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("CHILD COMMITTED"),
        "child: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The bound: one check interval, plus reading the snapshot; generous for a loaded machine.
    let bound = INTERVAL + Duration::from_secs(3);
    loop {
        if fixture::handshake(port, "www.test").unwrap() == new {
            break;
        }
        assert!(
            started.elapsed() < bound,
            "the renewal was not served within {bound:?}; refresh errors: {:?}",
            errors.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let switched_after = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let mut total = 0;
    for client in clients {
        let seen = client.join().unwrap();
        assert!(
            seen.failures.is_empty(),
            "failed handshakes: {:?}",
            seen.failures
        );
        // Each client sees the old certificate, then the new one, never back.
        let first_new = seen
            .new
            .iter()
            .position(|&n| n)
            .expect("the new certificate was served");
        assert!(
            seen.new[first_new..].iter().all(|&n| n),
            "went back to the old certificate"
        );
        assert!(
            first_new > 0,
            "the old certificate was served before the switch"
        );
        total += seen.new.len();
    }
    assert!(total > 30, "only {total} handshakes during the switch");
    assert_eq!(stats.failed.load(Ordering::SeqCst), 0);
    assert!(
        errors.lock().unwrap().is_empty(),
        "{:?}",
        errors.lock().unwrap()
    );
    assert_eq!(
        store.entries().unwrap().len(),
        1,
        "the renewal took over `www`"
    );
    // One change (the pending key's commit changed nothing served), to the new serial.
    let changes = changes.lock().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (before, after, serials) = &changes[0];
    assert!(after > before, "generation {before} -> {after}");
    assert_eq!(serials, &[new_serial]);
    eprintln!("switched {switched_after:?} after the other process started; {total} handshakes");
}

/// Not a test on its own: the other process of the test above, which runs this binary with
/// `--ignored --exact` and the store and certificate paths in the environment.
#[test]
#[ignore = "run as a child process by the hot-reload test"]
fn child_installs_the_renewed_certificate() {
    let (Some(store), Some(cert)) = (std::env::var_os(STORE_ENV), std::env::var_os(CERT_ENV))
    else {
        eprintln!("nothing to do: run by the hot-reload test only");
        return;
    };
    let store = KeyStore::open_with(store, PASSPHRASE, &fast_options()).unwrap();
    let mut tx = store.begin().unwrap();
    let name = tx
        .install_certificate(&std::fs::read(cert).unwrap())
        .unwrap();
    assert_eq!(name, "www");
    tx.commit().unwrap();
    println!("CHILD COMMITTED");
}

/// Issue 13: the whole store file rolled back to an older copy while a resolver (in a handle
/// of its own, as a server process has) serves it: the resolver keeps serving the newer
/// snapshot it has, and reports the rollback through its error hook.
#[test]
fn a_whole_file_rollback_is_refused_and_reported_while_serving() {
    use keymanager::Error;
    use keymanager::error::StoreError;

    use crate::common::rollback::{copy_of, roll_back};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let writer = store_in(dir.path());
    fixture::install(&writer, "www", 0, &["www.test"], &[]);
    fixture::bind(&writer, "www", &["www.test:443".into()]);
    let old = copy_of(&path, "old.db");

    let server = KeyStore::open_with(&path, PASSPHRASE, &fast_options()).unwrap();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&errors);
    let resolver = StoreResolver::builder(&server, "127.0.0.1:443".parse().unwrap())
        .check_every(Duration::from_millis(10))
        .on_error(move |err: &Error| {
            let rolled_back = matches!(err, Error::Store(StoreError::RolledBack { .. }));
            e.lock().unwrap().push((rolled_back, err.to_string()));
        })
        .build()
        .unwrap();
    assert!(resolver.lookup(Some("api.test")).is_none());

    fixture::install(&writer, "api", 1, &["api.test"], &[]);
    fixture::bind(&writer, "api", &["api.test:443".into()]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while resolver.lookup(Some("api.test")).is_none() {
        assert!(
            Instant::now() < deadline,
            "the new binding was never served"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    roll_back(&path, &old);
    while !errors
        .lock()
        .unwrap()
        .iter()
        .any(|(rolled_back, _)| *rolled_back)
    {
        assert!(
            Instant::now() < deadline,
            "no rollback reported: {:?}",
            errors.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let reported = errors.lock().unwrap().clone();
    assert!(
        reported.iter().all(|(rolled_back, _)| *rolled_back),
        "{reported:?}"
    );
    assert!(reported[0].1.contains("rolled back"), "{}", reported[0].1);
    // Still serving the newer state.
    assert!(resolver.lookup(Some("api.test")).is_some());
    assert!(resolver.lookup(Some("www.test")).is_some());
    assert!(matches!(
        resolver.refresh(),
        Err(Error::Store(StoreError::RolledBack { .. }))
    ));
    assert!(resolver.lookup(Some("api.test")).is_some());
}
