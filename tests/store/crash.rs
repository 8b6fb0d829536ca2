//! Crash consistency: a child process commits transactions in a loop and logs each one after
//! `commit` returns; the parent kills it with SIGKILL at random moments, [`KILLS`] times
//! (`KEYMANAGER_KILLS`), split between two stores.
//! After every kill the store must open, pass SQLite's integrity check, hold every logged
//! (acknowledged) transaction, and hold no half-applied one.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use keymanager::KeyStore;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::faults::report;
use crate::common::fixtures::{PASSPHRASE as PASS, fast_options as options};
use crate::common::store_workload::{self, Workload, observe};
use crate::common::{ca, rerun_test};

const CHILD_ENV: &str = "KEYMANAGER_STORE_CRASH_CHILD";
/// Kills in a default run (CI); `KEYMANAGER_KILLS` sets another count (the long run,
/// `scripts/power-cuts.sh`, makes 1000 by default).
const KILLS: usize = 300;

fn kills() -> usize {
    std::env::var("KEYMANAGER_KILLS")
        .ok()
        .map_or(KILLS, |v| v.parse().expect("KEYMANAGER_KILLS: a number"))
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join("keys.db")
}

/// The child: runs only when re-executed by [`kill_at_random_moments`].
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let workload = Workload::load(&dir);
    let store = KeyStore::open_with(db_path(&dir), PASS, &options()).unwrap();
    let next = observe(&store.entries().unwrap())
        .unwrap()
        .map_or(0, |j| j + 1);
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join("log"))
        .unwrap();
    for i in next.. {
        workload.step(&store, i).unwrap();
        // Acknowledged: commit returned.
        log.write_all(format!("{i}\n").as_bytes()).unwrap();
        log.sync_data().unwrap();
    }
}

// The kills are split between two stores, in two tests that the harness runs side by side
// (each round mostly waits on its child): half the wall time of one test doing all of them.
#[test]
fn survives_sigkill_at_random_moments() {
    if std::env::var_os(CHILD_ENV).is_none() {
        kill_at_random_moments(2024, kills().div_ceil(2));
    }
}

#[test]
fn survives_sigkill_at_random_moments_in_a_second_store() {
    if std::env::var_os(CHILD_ENV).is_none() {
        kill_at_random_moments(2025, kills() / 2);
    }
}

/// `kills` rounds of: start the child on the store, let it commit, kill it at a random moment
/// (drawn from `seed`), check the store.
fn kill_at_random_moments(seed: u64, kills: usize) {
    if kills == 0 {
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let workload = Workload::generate();
    workload.save(dir.path());
    {
        let ca = ca::root_only();
        let cert = ca.sign_server(&workload.srv_request_pem(), &["srv.example.com"], &[]);
        let store = KeyStore::create_with(db_path(dir.path()), PASS, &options()).unwrap();
        workload.setup(&store, &cert);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut progressed = 0;
    let mut last_j = None;
    for round in 0..kills {
        let mut child = rerun_test(module_path!(), "crash_child")
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Let it start (open the store, which takes longer on a loaded machine) and log one
        // more commit, then give it a random few milliseconds more, so that the kill lands
        // anywhere in the next commits: inside a transaction, in a commit, between them.
        let before = last_logged(dir.path());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                panic!("round {round}: the child exited by itself ({status}): {err}");
            }
            if last_logged(dir.path()) != before || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let wait = rng.random_range(0..60u64);
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();

        let acknowledged = last_logged(dir.path());
        let path = db_path(dir.path());
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let check: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(check, "ok", "round {round}");
            let fk: i64 = conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(fk, 0, "round {round}: foreign key violations");
        }
        let store = KeyStore::open_with(&path, PASS, &options()).unwrap();
        let entries = store.entries().unwrap();
        let j = observe(&entries).unwrap_or_else(|e| panic!("round {round}: {e}"));
        // Nothing acknowledged (logged) or already seen is lost, and at most one commit per
        // child is unacknowledged: the one the kill interrupted before it was logged.
        let floor = acknowledged.max(last_j);
        match (floor, j) {
            (None, None) => {}
            (None, Some(j)) => assert_eq!(j, 0, "round {round}"),
            (Some(n), Some(j)) => assert!(
                j == n || j == n + 1,
                "round {round}: acknowledged {acknowledged:?}, seen {last_j:?}, store holds {j}"
            ),
            (Some(n), None) => panic!("round {round}: {n} was committed but the store is empty"),
        }
        // Every key still opens: resolve decrypts srv's key.
        let srv = store
            .resolve(
                None,
                SocketAddr::new(
                    "192.0.2.1".parse().unwrap(),
                    store_workload::endpoint(j.unwrap_or(0)).port(),
                ),
            )
            .unwrap();
        if j.is_some() {
            assert_eq!(srv.unwrap().name(), "srv");
        }
        if j != last_j {
            progressed += 1;
        }
        last_j = j;
    }
    let total = last_logged(dir.path()).unwrap_or(0);
    assert!(
        progressed > kills / 2 && total > kills as u64,
        "the child made too little progress to test anything: {progressed} rounds, {total} commits"
    );
    report(&format!(
        "kill_at_random_moments (seed {seed}): {kills} kills, {total} acknowledged commits, {:?}",
        started.elapsed()
    ));
}

/// The last complete line of the log.
fn last_logged(dir: &Path) -> Option<u64> {
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    let complete = &log[..log.rfind('\n').map_or(0, |i| i + 1)];
    complete.lines().last().map(|l| l.parse().unwrap())
}
