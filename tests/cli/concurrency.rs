//! Two `keymanager` processes at once on the same store: each succeeds, or gets a clean
//! Busy (exit code 5, nothing changed); the store is never left corrupt.

use std::process::{Child, Output, Stdio};
use std::time::Duration;

use crate::common::fixtures::PASSPHRASE;
use crate::common::km::{Km, code, text};

const BUSY: i32 = 5;

fn spawn(km: &Km, args: &[&str]) -> Child {
    km.cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Success, or a clean Busy that names itself and says what to do.
fn ok_or_busy(out: &Output) -> bool {
    match code(out) {
        0 => true,
        BUSY => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.starts_with("error: the key store is busy"),
                "{stderr}"
            );
            assert!(stderr.contains("--busy-timeout"), "{stderr}");
            false
        }
        _ => panic!("neither success nor Busy: {}", text(out)),
    }
}

#[test]
fn two_writers_at_once_both_succeed_or_one_is_busy() {
    let km = Km::new();
    km.ok(&["new", "first", "--cn", "first.example.com"]);

    // Both generate a key while holding the write lock; with the default 5 s wait both
    // normally succeed, one after the other.
    let a = spawn(&km, &["new", "a", "--cn", "a.example.com"]);
    let b = spawn(&km, &["new", "b", "--cn", "b.example.com"]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let made: Vec<&str> = [("a", &a), ("b", &b)]
        .into_iter()
        .filter(|(_, out)| ok_or_busy(out))
        .map(|(name, _)| name)
        .collect();
    assert!(!made.is_empty(), "at least one of them gets the lock");
    let names: Vec<String> = km
        .entries()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = vec!["first".to_string()];
    expected.extend(made.iter().map(|s| s.to_string()));
    expected.sort();
    assert_eq!(names, expected, "exactly the successful commands' entries");
}

#[test]
fn a_writer_that_cannot_get_the_lock_gets_a_clean_busy_and_changes_nothing() {
    let km = Km::new();
    km.ok(&["new", "first", "--cn", "first.example.com"]);
    let before = km.entries();

    // Another process (this test, as a server would) holds the write lock.
    let store = keymanager::KeyStore::open(&km.store, PASSPHRASE).unwrap();
    let mut tx = store.begin().unwrap();
    let out = km.run(&["--busy-timeout", "200", "remove", "first"]);
    assert!(!ok_or_busy(&out), "must be busy: {}", text(&out));
    // Readers do not wait for the writer.
    assert_eq!(km.entries(), before);
    // The writer's own change is not seen until it commits.
    tx.remove("first").unwrap();
    assert_eq!(km.entries(), before);
    tx.rollback().unwrap();

    // Once the lock is free, the same command goes through.
    km.ok(&["--busy-timeout", "200", "remove", "first"]);
    assert!(km.entries().is_empty());
}

#[test]
fn an_impatient_writer_during_key_generation_succeeds_after_or_is_busy() {
    let km = Km::new();
    km.ok(&["new", "first", "--cn", "first.example.com"]);
    let before = km.entries();

    // A holds the write lock while it generates a 4096-bit key; B starts meanwhile and will
    // not wait. B finds the lock taken (Busy, nothing changed) or, on a slow start, runs after
    // A; both outcomes leave a sound store.
    let a = spawn(
        &km,
        &["new", "slow", "--cn", "slow.example.com", "--bits", "4096"],
    );
    std::thread::sleep(Duration::from_millis(150));
    let b = km.run(&["--busy-timeout", "0", "remove", "first"]);
    let a = a.wait_with_output().unwrap();
    assert_eq!(code(&a), 0, "{}", text(&a));
    let removed = ok_or_busy(&b);

    let after = km.entries();
    let names: Vec<&str> = after.iter().map(|e| e["name"].as_str().unwrap()).collect();
    if removed {
        assert_eq!(names, ["slow"]);
    } else {
        assert_eq!(names, ["first", "slow"]);
        assert_eq!(after[0], before[0], "the busy command changed nothing");
    }
    // Every entry passes its integrity check.
    let check = km.run(&["check"]);
    assert!(matches!(code(&check), 0 | 8), "{}", text(&check));
}
