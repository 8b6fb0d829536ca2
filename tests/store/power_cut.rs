//! Power cuts (issue 13): the store on a FUSE file system that forgets every write not yet
//! synced (`tests/common/power_fs.rs`), a workload of commits, and the power cut at a random
//! change (a write, a truncation, a file created or removed, a sync), many times over. After
//! each cut the file system holds only what was synced; it is mounted again and the store
//! reopened: every commit that returned `Ok` is there, the one the cut interrupted is there
//! whole or not at all, `check()` passes, and the generation never went backwards.
//!
//! A SIGKILL (`crash.rs`) cannot show this: the page cache survives a killed process, not a
//! power cut.
//!
//! `KEYMANAGER_POWER_CUTS` sets the number of cuts (CI's default below; the long run,
//! `scripts/power-cuts.sh`, makes 1000). Without `/dev/fuse` or `fusermount3` the test says
//! so and fails under CI (`common::faults::cannot_run`).

use std::time::Instant;

use keymanager::{HealthOptions, KeyStore};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::ca;
use crate::common::faults::cannot_run;
use crate::common::fixtures::{PASSPHRASE as PASS, fast_options as options};
use crate::common::power_fs::{self, PowerFs};
use crate::common::store_workload::{Workload, observe};

/// Cuts in a default run (CI): the time budget of `cargo test`; the long run sets more.
const CUTS: usize = 300;

/// Commits a round makes at most before the power is cut by hand (when the armed cut lies
/// beyond them).
const STEPS_PER_ROUND: u64 = 6;

#[test]
fn power_cuts_lose_no_acknowledged_commit() {
    if let Some(why) = power_fs::unavailable() {
        return cannot_run("power_cuts_lose_no_acknowledged_commit", &why);
    }
    let cuts: usize = std::env::var("KEYMANAGER_POWER_CUTS")
        .ok()
        .map_or(CUTS, |v| {
            v.parse().expect("KEYMANAGER_POWER_CUTS: a number")
        });
    let started = Instant::now();
    let mount_dir = tempfile::tempdir().unwrap();
    let fs = PowerFs::new();
    let path = mount_dir.path().join("keys.db");
    let workload = Workload::generate();
    {
        let _mounted = match fs.mount(mount_dir.path()) {
            Ok(m) => m,
            Err(e) => {
                return cannot_run(
                    "power_cuts_lose_no_acknowledged_commit",
                    &format!("mounting the FUSE file system failed: {e}"),
                );
            }
        };
        let cert =
            ca::root_only().sign_server(&workload.srv_request_pem(), &["srv.example.com"], &[]);
        let store = KeyStore::open_with(&path, PASS, &options()).unwrap();
        workload.setup(&store, &cert);
    }

    // Where the cuts land: `KEYMANAGER_POWER_SEED` (the long run picks a new one each time).
    let seed: u64 = std::env::var("KEYMANAGER_POWER_SEED")
        .ok()
        .map_or(13, |v| v.parse().expect("KEYMANAGER_POWER_SEED: a number"));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // The last acknowledged step, and the newest generation seen after a cut.
    let mut acknowledged: Option<u64> = None;
    let mut generation = 0;
    let (mut interrupted, mut committed_total) = (0, 0);
    // Changes one step makes, measured in the first round, to spread the cuts over them.
    let mut per_step = 0;
    for round in 0..cuts {
        let mounted = fs.mount(mount_dir.path()).unwrap();
        let store = KeyStore::open_with(&path, PASS, &options())
            .unwrap_or_else(|e| panic!("round {round}: the store does not open after a cut: {e}"));
        store
            .check(&HealthOptions::new())
            .unwrap_or_else(|e| panic!("round {round}: the store fails its check: {e}"));
        let entries = store.entries().unwrap();
        let j = observe(&entries).unwrap_or_else(|e| panic!("round {round}: {e}"));
        match (acknowledged, j) {
            (None, None) | (None, Some(0)) => {}
            (Some(n), Some(j)) if j == n || j == n + 1 => {}
            _ => panic!("round {round}: acknowledged {acknowledged:?}, the store holds {j:?}"),
        }
        let now = store.generation().unwrap();
        assert!(
            now >= generation,
            "round {round}: generation {now} after a cut, {generation} before"
        );
        generation = now;
        acknowledged = j;

        // The next commits, with the power cut at a random change among them.
        if round > 0 {
            fs.cut_after(rng.random_range(1..=per_step * STEPS_PER_ROUND));
        }
        let next = j.map_or(0, |j| j + 1);
        for i in next..next + STEPS_PER_ROUND {
            let before = fs.counts().0;
            match workload.step(&store, i) {
                Ok(()) => {
                    acknowledged = Some(i);
                    committed_total += 1;
                    if round == 0 {
                        per_step = per_step.max(fs.counts().0 - before);
                    }
                }
                Err(_) => {
                    interrupted += 1;
                    break;
                }
            }
            if fs.is_off() {
                break;
            }
        }
        fs.cut_now();
        drop(store);
        drop(mounted);
        fs.power_on();
    }
    // The last state, once more.
    let _mounted = fs.mount(mount_dir.path()).unwrap();
    let store = KeyStore::open_with(&path, PASS, &options()).unwrap();
    store.check(&HealthOptions::new()).unwrap();
    assert!(
        interrupted > cuts / 3,
        "too few cuts landed inside a commit to test anything: {interrupted} of {cuts}"
    );
    let (changes, syncs) = fs.counts();
    assert!(
        syncs > 0,
        "SQLite never synced: the test would not see lost writes"
    );
    eprintln!(
        "power cuts (seed {seed}): {cuts} cuts, {interrupted} inside a commit, {committed_total} acknowledged \
         commits, 0 lost, final generation {}; {per_step} changes per commit; {changes} \
         changes and {syncs} syncs in all; {:?}",
        store.generation().unwrap(),
        started.elapsed()
    );
}

/// The harness itself: what was not synced is gone after a cut (data, and names not synced
/// by a directory sync), what was synced stays; and a database that does not sync
/// (`synchronous = OFF`) loses acknowledged commits here, as the store must not.
#[test]
fn the_power_cut_file_system_forgets_what_was_not_synced() {
    use std::io::Write;
    if let Some(why) = power_fs::unavailable() {
        return cannot_run(
            "the_power_cut_file_system_forgets_what_was_not_synced",
            &why,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let fs = PowerFs::new();
    let mounted = match fs.mount(dir.path()) {
        Ok(m) => m,
        Err(e) => {
            return cannot_run(
                "the_power_cut_file_system_forgets_what_was_not_synced",
                &format!("mounting the FUSE file system failed: {e}"),
            );
        }
    };
    let root = mounted.path().to_path_buf();
    let conn = rusqlite::Connection::open(root.join("unsafe.db")).unwrap();
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER);",
    )
    .unwrap();
    for x in 0..20 {
        conn.execute("INSERT INTO t VALUES (?1)", [x]).unwrap();
    }
    // Then plain files (SQLite syncs nothing with synchronous = OFF).
    let mut kept = std::fs::File::create(root.join("kept")).unwrap();
    kept.write_all(b"synced").unwrap();
    kept.sync_all().unwrap();
    std::fs::File::open(&root).unwrap().sync_all().unwrap(); // the directory
    kept.write_all(b" and not synced").unwrap();
    let mut unnamed = std::fs::File::create(root.join("unnamed")).unwrap();
    unnamed.write_all(b"synced, but its name is not").unwrap();
    unnamed.sync_all().unwrap();
    drop((kept, unnamed));

    fs.cut_now();
    drop(conn);
    drop(mounted);
    fs.power_on();

    let mounted = fs.mount(dir.path()).unwrap();
    let root = mounted.path();
    assert_eq!(std::fs::read(root.join("kept")).unwrap(), b"synced");
    assert!(!root.join("unnamed").exists(), "a name not synced survived");
    let acknowledged = 20;
    let survived: i64 = rusqlite::Connection::open(root.join("unsafe.db"))
        .and_then(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
        .unwrap_or(0);
    assert!(
        survived < acknowledged,
        "synchronous = OFF kept all {acknowledged} commits: the cut dropped nothing"
    );
}
