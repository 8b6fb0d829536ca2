//! Faults of the disk under the store (issue 13): a full disk (a real tmpfs, `ENOSPC`), a
//! read-only file system (the tmpfs remounted read-only; the FUSE file system turned
//! read-only under an open store), write permission lost under an open store (the FUSE file
//! system answering `EACCES`, `EPERM`), and power cuts (`power_cut.rs`). Every failure is a
//! typed error that says what to do, and the store keeps its last committed state: it opens,
//! its whole-state check passes, its generation is the one before the failure, and it carries
//! on once the fault is gone.

use fuser::Errno;
use keymanager::error::StoreError;
use keymanager::{CertificateRequest, DistinguishedName, Error, HealthOptions, KeyStore};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::common::ca::root_only as ca;
use crate::common::faults::{Tmpfs, cannot_run, fill};
use crate::common::fixtures::{PASSPHRASE as PASS, fast_options as options, key, request};

/// What a store holds, as a test compares it: every entry's name, state and bindings, and
/// the generation.
fn state_of(store: &KeyStore) -> (Vec<String>, u64) {
    let entries = store
        .entries()
        .unwrap()
        .iter()
        .map(|e| format!("{} {:?} {:?}", e.name(), e.state(), e.bindings()))
        .collect();
    (entries, store.generation().unwrap())
}

/// Opens the store at `path` afresh and checks it whole: it opens, its state check passes,
/// and it holds `expected`.
fn assert_intact(path: &std::path::Path, pass: &str, expected: &(Vec<String>, u64), what: &str) {
    let store = KeyStore::open_with(path, pass, &options())
        .unwrap_or_else(|e| panic!("{what}: the store does not open: {e}"));
    store
        .check(&HealthOptions::new())
        .unwrap_or_else(|e| panic!("{what}: the store fails its check: {e}"));
    assert_eq!(&state_of(&store), expected, "{what}");
}

/// The files in `dir` and their sizes, for a failure's message.
fn files(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    files.sort();
    files
}

fn assert_disk_full<T: std::fmt::Debug>(result: keymanager::Result<T>, what: &str) {
    match result {
        Err(e @ Error::Store(StoreError::DiskFull { .. })) => {
            let message = e.to_string();
            assert!(
                message.contains("disk holding the key store is full")
                    && message.contains("free space"),
                "{what}: {message}"
            );
        }
        other => panic!("{what}: expected StoreError::DiskFull, got {other:?}"),
    }
}

/// One writing operation of the store, run on a full disk, then again after space is freed.
type Operation<'a> = (
    &'a str,
    Box<dyn Fn(&KeyStore) -> keymanager::Result<()> + 'a>,
);

/// Issue 13, "Disk full": every writing operation, on a disk with no room left, fails with
/// `DiskFull` and changes nothing (the store reopens with its last committed state, check
/// clean, generation unchanged); once space is freed, the same operation succeeds.
#[test]
fn a_full_disk_fails_each_write_cleanly_and_loses_nothing() {
    let tmpfs = match Tmpfs::mount("256k") {
        Ok(t) => t,
        Err(why) => return cannot_run("a_full_disk_fails_each_write_cleanly", &why),
    };
    let path = tmpfs.path().join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    let web_req = request(&key(20), "web.example.com");
    let web_cert = ca().sign_server(&web_req.to_pem(), &["web.example.com"], &[]);
    let renewal_cert = std::cell::RefCell::new(String::new());
    let pass = std::cell::RefCell::new(PASS.to_string());
    let operations: Vec<Operation<'_>> = vec![
        (
            "add_pending",
            Box::new(|s: &KeyStore| {
                let mut tx = s.begin()?;
                tx.add_pending("web", key(20), &web_req)?;
                tx.commit()
            }),
        ),
        (
            "install_certificate",
            Box::new(|s: &KeyStore| {
                let mut tx = s.begin()?;
                tx.install_certificate(web_cert.as_bytes())?;
                tx.commit()
            }),
        ),
        (
            "bind",
            Box::new(|s: &KeyStore| {
                let mut tx = s.begin()?;
                tx.bind("0.0.0.0:443".parse().unwrap(), "web")?;
                tx.commit()
            }),
        ),
        (
            "create_pending",
            Box::new(|s: &KeyStore| {
                let mut tx = s.begin()?;
                let dn: DistinguishedName = "CN=gen.example.com".parse().unwrap();
                tx.create_pending_with_rng(
                    &mut ChaCha8Rng::seed_from_u64(7),
                    "gen",
                    &CertificateRequest::builder(dn),
                    2048,
                )?;
                tx.commit()
            }),
        ),
        (
            "renew",
            Box::new(|s: &KeyStore| {
                let mut tx = s.begin()?;
                let req = tx.renew_with_rng(&mut ChaCha8Rng::seed_from_u64(8), "web", 2048)?;
                tx.commit()?;
                *renewal_cert.borrow_mut() =
                    ca().sign_server(&req.to_pem(), &["web.example.com"], &[]);
                Ok(())
            }),
        ),
        (
            "install the renewal",
            Box::new(|s: &KeyStore| {
                let mut tx = s.begin()?;
                tx.install_certificate(renewal_cert.borrow().as_bytes())?;
                tx.commit()
            }),
        ),
        (
            "unbind",
            Box::new(|s: &KeyStore| {
                let mut tx = s.begin()?;
                tx.unbind("0.0.0.0:443".parse().unwrap())?;
                tx.commit()
            }),
        ),
        (
            "remove",
            Box::new(|s: &KeyStore| {
                let mut tx = s.begin()?;
                tx.remove("gen")?;
                tx.commit()
            }),
        ),
        (
            "change_passphrase",
            Box::new(|s: &KeyStore| {
                s.change_passphrase(PASS, "a new passphrase")?;
                *pass.borrow_mut() = "a new passphrase".into();
                Ok(())
            }),
        ),
    ];
    for (name, operation) in &operations {
        let before = state_of(&store);
        let filler = fill(tmpfs.path());
        assert_disk_full(operation(&store), name);
        // The handle carries on reading, and a fresh one finds the last committed state.
        assert_eq!(
            state_of(&store),
            before,
            "{name}: the failed write left a trace"
        );
        assert_intact(&path, &pass.borrow(), &before, name);
        // Space back: the same operation goes through, and bumps the generation once.
        // Truncated, not only removed: a child process that another test forks in the
        // meantime may hold the file open for a moment, and a removed file keeps its space
        // until its last descriptor is closed.
        filler.set_len(0).unwrap();
        drop(filler);
        std::fs::remove_file(tmpfs.path().join("filler")).unwrap();
        operation(&store).unwrap_or_else(|e| {
            panic!(
                "{name}, after space was freed: {e}; files: {:?}",
                files(tmpfs.path())
            )
        });
        let after = state_of(&store);
        assert_eq!(after.1, before.1 + 1, "{name}");
        assert_intact(&path, &pass.borrow(), &after, name);
    }

    // A new store on a full disk: refused the same way; it opens once there is room (the
    // first store closed: on 256 KiB, two stores and their logs do not fit).
    drop(store);
    let filler = fill(tmpfs.path());
    let new = tmpfs.path().join("new.db");
    assert_disk_full(KeyStore::create_with(&new, PASS, &options()), "a new store");
    filler.set_len(0).unwrap();
    let store = KeyStore::create_with(&new, PASS, &options()).unwrap();
    assert!(store.entries().unwrap().is_empty());
    store.check(&HealthOptions::new()).unwrap();
}

/// `result` is [`StoreError::ReadOnly`], and its message says what to do: `remedy`.
fn assert_read_only<T: std::fmt::Debug>(result: keymanager::Result<T>, remedy: &str, what: &str) {
    match result {
        Err(e @ Error::Store(StoreError::ReadOnly { .. })) => {
            let message = e.to_string();
            assert!(
                message.contains("cannot be written") && message.contains(remedy),
                "{what}: {message}"
            );
        }
        other => panic!("{what}: expected StoreError::ReadOnly, got {other:?}"),
    }
}

/// Issue 13, "Read-only file system": a store on a file system mounted read-only does not
/// open (the store writes as it opens: its `-wal` and `-shm` files, and its file's mode) and
/// says so with `ReadOnly`, changing nothing; mounted read-write again, it opens as it was.
/// (Linux refuses to remount read-only a file system with a file open for writing, `EBUSY`:
/// an open store meets a read-only file system only through a fault, which the FUSE test
/// below injects.)
#[test]
fn a_read_only_file_system_is_refused_at_open_with_a_typed_error() {
    let tmpfs = match Tmpfs::mount("1m") {
        Ok(t) => t,
        Err(why) => return cannot_run("a_read_only_file_system_is_refused_at_open", &why),
    };
    let path = tmpfs.path().join("keys.db");
    let expected = {
        let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
        let req = request(&key(21), "ro.example.com");
        let mut tx = store.begin().unwrap();
        tx.add_pending("ro", key(21), &req).unwrap();
        tx.commit().unwrap();
        state_of(&store)
    };
    let bytes = std::fs::read(&path).unwrap();
    tmpfs.remount(true).unwrap();
    let remedy = "remount it read-write";
    assert_read_only(
        KeyStore::open_with(&path, PASS, &options()),
        remedy,
        "opening an existing store",
    );
    assert_read_only(
        KeyStore::create_with(tmpfs.path().join("new.db"), PASS, &options()),
        remedy,
        "creating a store",
    );
    tmpfs.remount(false).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
    assert!(!tmpfs.path().join("new.db").exists());
    assert_intact(&path, PASS, &expected, "read-write again");
}

/// Issue 13, "Read-only file system mid-session": the file system under an open store turns
/// read-only (the FUSE file system refuses every change with `EROFS`).
#[test]
fn a_file_system_turned_read_only_under_an_open_store_fails_writes_cleanly() {
    writes_refused_under_an_open_store(
        "a_file_system_turned_read_only_under_an_open_store",
        Errno::EROFS,
        "remount it read-write",
    );
}

/// Issue 13, "permission loss mid-session": the store's files lose their write permission
/// under an open store. A file system that checks each write (NFS, FUSE) says so at the next
/// write, `EACCES` (or `EPERM`, an immutable file); the FUSE file system answers so. (A local
/// file system checks only at open, and root passes it anyway: `chmod` cannot show this.)
#[test]
fn write_permission_taken_away_under_an_open_store_fails_writes_cleanly() {
    for errno in [Errno::EACCES, Errno::EPERM] {
        writes_refused_under_an_open_store(
            "write_permission_taken_away_under_an_open_store",
            errno,
            "fix the permissions",
        );
    }
}

/// The file system under an open store refuses every change with `errno`. Reads go on; every
/// write fails with `ReadOnly`, whose message says `remedy`, and changes nothing; once
/// changes are allowed again, writes go on and the store reopens with everything it
/// acknowledged.
fn writes_refused_under_an_open_store(test: &str, errno: Errno, remedy: &str) {
    use crate::common::power_fs::{self, PowerFs};
    if let Some(why) = power_fs::unavailable() {
        return cannot_run(test, &why);
    }
    let dir = tempfile::tempdir().unwrap();
    let fs = PowerFs::new();
    let mounted = match fs.mount(dir.path()) {
        Ok(m) => m,
        Err(e) => return cannot_run(test, &format!("mounting the FUSE file system: {e}")),
    };
    let path = mounted.path().join("keys.db");
    let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
    let req = request(&key(22), "mid.example.com");
    let cert = ca().sign_server(&req.to_pem(), &["mid.example.com"], &[]);
    let mut tx = store.begin().unwrap();
    tx.add_pending("mid", key(22), &req).unwrap();
    tx.install_certificate(cert.as_bytes()).unwrap();
    tx.commit().unwrap();
    let before = state_of(&store);

    fs.refuse_changes(Some(errno));
    // Reads work.
    assert_eq!(state_of(&store), before);
    store.check(&HealthOptions::new()).unwrap();
    store.export("mid", "export password").unwrap();
    // Writes fail, typed, and change nothing.
    let bind = || {
        let mut tx = store.begin()?;
        tx.bind("0.0.0.0:443".parse().unwrap(), "mid")?;
        tx.commit()
    };
    assert_read_only(bind(), remedy, &format!("{test}, {errno:?}: bind"));
    assert_read_only(
        store.change_passphrase(PASS, "another passphrase"),
        remedy,
        &format!("{test}, {errno:?}: change_passphrase"),
    );
    assert_eq!(state_of(&store), before, "{test}, {errno:?}");

    fs.refuse_changes(None);
    bind().unwrap();
    let after = state_of(&store);
    assert_eq!(after.1, before.1 + 1, "{test}, {errno:?}");
    drop(store);
    assert_intact(
        &path,
        PASS,
        &after,
        &format!("{test}, {errno:?}: writable again"),
    );
}
