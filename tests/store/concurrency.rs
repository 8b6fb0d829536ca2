//! Concurrency: readers in other threads and in another process never see a half-applied
//! transaction; writers wait for each other up to the busy timeout and then get
//! `StoreError::Busy`, never a corrupt store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use keymanager::error::StoreError;
use keymanager::{Error, KeyStore};

use crate::common::ca::root_only as ca;
use crate::common::fixtures::{PASSPHRASE as PASS, fast_options as options};
use crate::common::rerun_test;
use crate::common::store_workload::{Workload, endpoint, observe};

const CHILD_ENV: &str = "KEYMANAGER_STORE_READER_CHILD";

fn workload() -> &'static Workload {
    static W: OnceLock<Workload> = OnceLock::new();
    W.get_or_init(Workload::generate)
}

fn setup(store: &KeyStore) {
    let w = workload();
    let cert = ca().sign_server(&w.srv_request_pem(), &["srv.example.com"], &[]);
    w.setup(store, &cert);
}

/// Reads until `stop`, checking the invariant; returns the number of reads.
fn read_until(store: &KeyStore, stop: &AtomicBool) -> Result<u64, String> {
    let mut reads = 0;
    let mut last = None;
    while !stop.load(Ordering::SeqCst) {
        let j = observe(&store.entries().map_err(|e| e.to_string())?)?;
        if j < last {
            return Err(format!("went back in time: {last:?} then {j:?}"));
        }
        last = j;
        // The bound address resolves to srv; the previous one no longer does.
        if let Some(j) = j {
            let ip = "192.0.2.1".parse().unwrap();
            // Another commit may land between the two reads, so only check that what
            // resolves is srv (a half-moved binding would resolve to nothing for both).
            let now = store
                .resolve(None, SocketAddr::new(ip, endpoint(j).port()))
                .map_err(|e| e.to_string())?;
            let next = store
                .resolve(None, SocketAddr::new(ip, endpoint(j + 1).port()))
                .map_err(|e| e.to_string())?;
            if now.is_none() && next.is_none() {
                let again = observe(&store.entries().map_err(|e| e.to_string())?)?;
                if again == Some(j) {
                    return Err(format!("transaction {j}: its binding does not resolve"));
                }
            }
        }
        reads += 1;
    }
    Ok(reads)
}

#[test]
fn readers_in_threads_never_see_half_a_transaction() {
    let store = KeyStore::open_in_memory_with(PASS, &options()).unwrap();
    setup(&store);
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || read_until(&store, &stop))
        })
        .collect();
    for i in 0..150 {
        workload().step(&store, i).unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        let reads = r.join().unwrap().unwrap();
        assert!(reads > 10, "a reader only read {reads} times");
    }
    assert_eq!(observe(&store.entries().unwrap()).unwrap(), Some(149));
}

/// The reader process: runs only when re-executed by
/// [`a_reader_in_another_process_never_sees_half_a_transaction`].
#[test]
fn reader_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let store = KeyStore::open_with(dir.join("keys.db"), PASS, &options()).unwrap();
    store.entries().unwrap();
    std::fs::write(dir.join("ready"), b"").unwrap();
    let stop = AtomicBool::new(false);
    let stop_file = dir.join("stop");
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop_file.exists() {
                std::thread::sleep(Duration::from_millis(5));
            }
            stop.store(true, Ordering::SeqCst);
        });
        match read_until(&store, &stop) {
            Ok(reads) => println!("READS {reads}"),
            Err(e) => panic!("reader process saw an inconsistent store: {e}"),
        }
    });
}

#[test]
fn a_reader_in_another_process_never_sees_half_a_transaction() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    setup(&store);
    let child = rerun_test(module_path!(), "reader_child")
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = dir.path().join("ready");
    let start = Instant::now();
    while !ready.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the reader process did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 0..150 {
        workload().step(&store, i).unwrap();
    }
    std::fs::write(dir.path().join("stop"), b"").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "reader process failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reads: u64 = stdout
        .lines()
        .find_map(|l| l.split_once("READS ").map(|(_, n)| n))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    assert!(
        reads > 10,
        "the reader process only read {reads} times: {stdout}"
    );
}

#[test]
fn a_blocked_writer_gets_busy_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let opts = options().busy_timeout(Duration::from_millis(300));
    let a = KeyStore::create_with(&path, PASS, &opts).unwrap();
    // Another handle on the same file behaves as another process would.
    let b = KeyStore::open_with(&path, PASS, &opts).unwrap();
    let held = a.begin().unwrap();
    for store in [&a, &b] {
        let start = Instant::now();
        let err = store.begin().unwrap_err();
        let waited = start.elapsed();
        match &err {
            Error::Store(StoreError::Busy { waited_ms }) => assert_eq!(*waited_ms, 300),
            other => panic!("{other:?}"),
        }
        assert!(
            waited >= Duration::from_millis(250),
            "gave up after {waited:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("busy") && msg.contains("retry"), "{msg}");
    }
    // Readers are not blocked by the writer.
    assert!(b.entries().unwrap().is_empty());
    drop(held);
    // Once the writer is gone, the others go ahead.
    let tx = b.begin().unwrap();
    tx.rollback().unwrap();
}

/// Issue 14: `try_begin` never waits for another writer, `begin_timeout` waits its own
/// timeout, not the store's; both leave the handle usable once the writer is gone.
#[test]
fn try_begin_never_waits_and_begin_timeout_waits_its_own_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let opts = options().busy_timeout(Duration::from_secs(30));
    let a = KeyStore::create_with(&path, PASS, &opts).unwrap();
    let b = KeyStore::open_with(&path, PASS, &opts).unwrap();
    let held = a.try_begin().unwrap();
    for store in [&a, &b] {
        match store.try_begin().unwrap_err() {
            Error::Store(StoreError::Busy { waited_ms }) => assert_eq!(waited_ms, 0),
            other => panic!("{other:?}"),
        }
        let start = Instant::now();
        match store.begin_timeout(Duration::from_millis(200)).unwrap_err() {
            Error::Store(StoreError::Busy { waited_ms }) => assert_eq!(waited_ms, 200),
            other => panic!("{other:?}"),
        }
        assert!(start.elapsed() >= Duration::from_millis(150));
    }
    held.rollback().unwrap();
    // The pooled connections are back at the store's own timeout: a writer that holds the
    // lock briefly is waited for, not refused.
    let held = a.try_begin().unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        held.rollback().unwrap();
    });
    b.begin().unwrap().rollback().unwrap();
    releaser.join().unwrap();
}

#[test]
fn concurrent_writers_serialize_without_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    setup(&store);
    let next = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    // Writers in threads, through clones and through separate handles, each taking the next
    // transaction number while holding the write lock.
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let store = if t % 2 == 0 {
                store.clone()
            } else {
                KeyStore::open_with(&path, PASS, &options()).unwrap()
            };
            let next = Arc::clone(&next);
            let busy = Arc::clone(&busy);
            std::thread::spawn(move || {
                for _ in 0..25 {
                    step_next(&store, &next, &busy);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let done = next.load(Ordering::SeqCst);
    assert_eq!(done, 100, "{} busy errors", busy.load(Ordering::SeqCst));
    assert_eq!(observe(&store.entries().unwrap()).unwrap(), Some(done - 1));
}

/// Runs the next workload transaction: the number is read inside the write transaction, so
/// writers never race for it. Retries on `Busy`.
fn step_next(store: &KeyStore, next: &AtomicU64, busy: &AtomicU64) {
    loop {
        let mut tx = match store.begin() {
            Ok(tx) => tx,
            Err(Error::Store(StoreError::Busy { .. })) => {
                busy.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let i = observe(&tx.entries().unwrap())
            .unwrap()
            .map_or(0, |j| j + 1);
        workload().apply(&mut tx, i).unwrap();
        tx.commit().unwrap();
        next.fetch_max(i + 1, Ordering::SeqCst);
        return;
    }
}
