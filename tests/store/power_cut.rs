//! Power cuts (issue 13): the store on a FUSE file system that forgets every write not yet
//! synced (`tests/common/power_fs.rs`), a workload of commits, and the power cut at a random
//! change (a write, a truncation, a file created or removed, a sync), many times over. After
//! each cut the file system holds only what was synced; it is mounted again and the store
//! reopened: every commit that returned `Ok` is there, the one the cut interrupted is there
//! whole or not at all, `check()` passes, and the generation is exactly one per commit kept
//! (so it never goes backwards).
//!
//! Every other cut keeps part of what was not synced: a random prefix of each file's
//! unsynced writes, the last one possibly torn at a sector, as a disk that had flushed part
//! of its cache.
//!
//! Two workloads: the crash test's rotation (`store_workload`: add_pending, remove, unbind,
//! bind in each commit), and every writing operation in turn (add_pending,
//! install_certificate, bind, renew, the renewal's install, create_pending,
//! change_passphrase, remove_with_bindings), checked against a model: the same steps on an
//! in-memory store.
//!
//! A SIGKILL (`crash.rs`) cannot show this: the page cache survives a killed process, not a
//! power cut.
//!
//! `KEYMANAGER_POWER_CUTS` sets the number of cuts of the first workload (the second makes a
//! fifth as many; CI's defaults below; the long run, `scripts/power-cuts.sh`, makes
//! thousands); `KEYMANAGER_POWER_SEED` where they land. Without `/dev/fuse` or `fusermount3`
//! the tests say so and fail under CI (`common::faults::cannot_run`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use keymanager::error::StoreError;
use keymanager::{CertificateRequest, DistinguishedName, Error, HealthOptions, KeyStore};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::ca;
use crate::common::faults::{cannot_run, report};
use crate::common::fixtures::{self, PASSPHRASE as PASS, fast_options as options};
use crate::common::power_fs::{self, PowerFs};
use crate::common::store_workload;

/// Cuts in a default run (CI), within the time budget of `cargo test`; the long run sets more.
const CUTS: usize = 300;

/// Commits a round makes at most before the power is cut by hand (when the armed cut lies
/// beyond them).
const STEPS_PER_ROUND: u64 = 6;

#[test]
fn power_cuts_lose_no_acknowledged_commit() {
    let workload = store_workload::Workload::generate();
    run(
        "power_cuts_lose_no_acknowledged_commit",
        cuts(1),
        &mut Rotation(workload),
    );
}

#[test]
fn power_cuts_during_every_writing_operation_lose_nothing() {
    run(
        "power_cuts_during_every_writing_operation_lose_nothing",
        cuts(5),
        &mut Lifecycle::default(),
    );
}

/// `KEYMANAGER_POWER_CUTS` (or [`CUTS`]), divided by `share`.
fn cuts(share: usize) -> usize {
    let cuts: usize = std::env::var("KEYMANAGER_POWER_CUTS")
        .ok()
        .map_or(CUTS, |v| {
            v.parse().expect("KEYMANAGER_POWER_CUTS: a number")
        });
    cuts.div_ceil(share)
}

/// A workload of numbered steps, one commit each, whose state after step `i` is known.
trait Steps {
    /// Prepares the store, before any cut.
    fn setup(&mut self, store: &KeyStore);
    /// The passphrase of the store after step `j` (`None`: before the first).
    fn passphrase(&self, _j: Option<u64>) -> &str {
        PASS
    }
    /// The step the store's state is the state after: `acknowledged`, or the next one (which
    /// a cut interrupted after it was durable); anything else is an error.
    fn observe(
        &mut self,
        store: &KeyStore,
        acknowledged: Option<u64>,
    ) -> Result<Option<u64>, String>;
    /// Runs step `i` (one commit).
    fn step(&mut self, store: &KeyStore, i: u64) -> keymanager::Result<()>;
    /// The operation step `i` makes, for the report.
    fn operation(&self, _i: u64) -> &'static str {
        "rotation"
    }
}

/// The next step after `j`.
fn next(j: Option<u64>) -> u64 {
    j.map_or(0, |j| j + 1)
}

/// Mounts a [`PowerFs`], sets the store up, then makes `cuts` power cuts at random changes
/// while `steps` runs, checking the store after each.
fn run(test: &str, cuts: usize, steps: &mut dyn Steps) {
    if let Some(why) = power_fs::unavailable() {
        return cannot_run(test, &why);
    }
    let started = Instant::now();
    let mount_dir = tempfile::tempdir().unwrap();
    let fs = PowerFs::new();
    let path = mount_dir.path().join("keys.db");
    {
        let _mounted = match fs.mount(mount_dir.path()) {
            Ok(m) => m,
            Err(e) => {
                return cannot_run(test, &format!("mounting the FUSE file system failed: {e}"));
            }
        };
        let store = KeyStore::create_with(&path, PASS, &options()).unwrap();
        steps.setup(&store);
    }
    // Where the cuts land: `KEYMANAGER_POWER_SEED` (the long run picks a new one each time).
    let seed: u64 = std::env::var("KEYMANAGER_POWER_SEED")
        .ok()
        .map_or(13, |v| v.parse().expect("KEYMANAGER_POWER_SEED: a number"));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // The last acknowledged step, and the generation before the first step.
    let mut acknowledged: Option<u64> = None;
    let mut base = None;
    let (mut interrupted, mut committed) = (0, 0);
    let mut cut_in = std::collections::BTreeMap::new();
    // Changes one step makes, measured in the first round, to spread the cuts over them.
    let mut per_step = 1;
    for round in 0..=cuts {
        let mounted = fs.mount(mount_dir.path()).unwrap();
        let store = open(&path, steps, acknowledged).unwrap_or_else(|e| {
            panic!("{test}, round {round}: the store does not open after a cut: {e}")
        });
        store
            .check(&HealthOptions::new())
            .unwrap_or_else(|e| panic!("{test}, round {round}: the store fails its check: {e}"));
        let j = steps.observe(&store, acknowledged).unwrap_or_else(|e| {
            panic!("{test}, round {round}: acknowledged {acknowledged:?}: {e}")
        });
        let generation = store.generation().unwrap();
        let base = *base.get_or_insert(generation);
        assert_eq!(
            generation,
            base + next(j),
            "{test}, round {round}: the generation is not one per commit the store holds"
        );
        acknowledged = j;
        if round == cuts {
            break;
        }

        // The next commits, with the power cut at a random change among them; every other
        // cut keeps part of what was not synced (torn writes included).
        if round > 0 {
            fs.cut_after(rng.random_range(1..=per_step * STEPS_PER_ROUND));
        }
        fs.partial_writes((round % 2 == 1).then(|| rng.random()));
        for i in next(j)..next(j) + STEPS_PER_ROUND {
            let before = fs.counts().0;
            match steps.step(&store, i) {
                Ok(()) => {
                    acknowledged = Some(i);
                    committed += 1;
                    if round == 0 {
                        per_step = per_step.max(fs.counts().0 - before);
                    }
                }
                Err(_) => {
                    interrupted += 1;
                    *cut_in.entry(steps.operation(i)).or_insert(0) += 1;
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
    assert!(
        interrupted > cuts / 3,
        "{test}: too few cuts landed inside a commit to test anything: {interrupted} of {cuts}"
    );
    let (changes, syncs) = fs.counts();
    assert!(
        syncs > 0,
        "SQLite never synced: the test would not see lost writes"
    );
    report(&format!(
        "{test} (seed {seed}): {cuts} power cuts, {interrupted} inside a commit, {committed} \
         acknowledged commits, 0 lost; {per_step} changes per commit; {changes} changes and \
         {syncs} syncs in all; cuts inside each operation: {cut_in:?}; {:?}",
        started.elapsed()
    ));
}

/// Opens the store with the passphrase of the acknowledged step, or of the next one (a cut
/// that interrupted a passphrase change after it was durable).
fn open(path: &Path, steps: &dyn Steps, acknowledged: Option<u64>) -> keymanager::Result<KeyStore> {
    match KeyStore::open_with(path, steps.passphrase(acknowledged), &options()) {
        Err(Error::Store(StoreError::WrongPassphrase)) => {
            KeyStore::open_with(path, steps.passphrase(Some(next(acknowledged))), &options())
        }
        other => other,
    }
}

/// The crash test's workload: each commit removes two pending entries and a binding and adds
/// two and a binding.
struct Rotation(store_workload::Workload);

impl Steps for Rotation {
    fn setup(&mut self, store: &KeyStore) {
        let cert =
            ca::root_only().sign_server(&self.0.srv_request_pem(), &["srv.example.com"], &[]);
        self.0.setup(store, &cert);
    }

    fn observe(
        &mut self,
        store: &KeyStore,
        acknowledged: Option<u64>,
    ) -> Result<Option<u64>, String> {
        let j = store_workload::observe(&store.entries().unwrap())?;
        match (acknowledged, j) {
            (None, None) | (None, Some(0)) => Ok(j),
            (Some(n), Some(j)) if j == n || j == n + 1 => Ok(Some(j)),
            _ => Err(format!("the store holds step {j:?}")),
        }
    }

    fn step(&mut self, store: &KeyStore, i: u64) -> keymanager::Result<()> {
        self.0.step(store, i)
    }
}

/// Every writing operation in turn, eight steps a cycle (see the module docs); the expected
/// state after each step is the state of a model, an in-memory store that ran the same steps
/// (with the same seeded keys, so the same requests and certificates).
#[derive(Default)]
struct Lifecycle {
    model: Option<KeyStore>,
    /// What the model held after each step.
    states: Vec<Vec<String>>,
    /// What it held before the first.
    initial: Vec<String>,
    /// Certificates by request (PEM): signed once, installed in the model and the store.
    certificates: RefCell<HashMap<String, String>>,
    /// The renewal requests of step 3, by cycle, as the model made them.
    renewals: RefCell<HashMap<u64, CertificateRequest>>,
}

/// Steps in a cycle.
const CYCLE: u64 = 8;
const OTHER_PASSPHRASE: &str = "the other passphrase";

impl Lifecycle {
    fn certificate(&self, request: &CertificateRequest) -> String {
        self.certificates
            .borrow_mut()
            .entry(request.to_pem())
            .or_insert_with(|| {
                ca::root_only().sign_server(&request.to_pem(), &["life.example.com"], &[])
            })
            .clone()
    }

    /// Step `i` on `store`, whose passphrase is `passphrase(i - 1)`.
    fn apply(&self, store: &KeyStore, i: u64) -> keymanager::Result<()> {
        let cycle = i / CYCLE;
        let key = 24 + (cycle % 4) as usize;
        let dn: DistinguishedName = "CN=life.example.com".parse().unwrap();
        let request = CertificateRequest::builder(dn.clone())
            .dns_name("life.example.com")
            .sign(&fixtures::key(key))
            .unwrap();
        let mut tx = store.begin()?;
        match i % CYCLE {
            0 => tx.add_pending("life", fixtures::key(key), &request)?,
            1 => {
                tx.install_certificate(self.certificate(&request).as_bytes())?;
            }
            2 => tx.bind("0.0.0.0:443".parse().unwrap(), "life")?,
            3 => {
                let request =
                    tx.renew_with_rng(&mut ChaCha8Rng::seed_from_u64(cycle), "life", 2048)?;
                // The same in the model and the store (the same seeded key).
                self.renewals.borrow_mut().entry(cycle).or_insert(request);
            }
            4 => {
                let request = self.renewals.borrow()[&cycle].clone();
                tx.install_certificate(self.certificate(&request).as_bytes())?;
            }
            5 => {
                tx.create_pending_with_rng(
                    &mut ChaCha8Rng::seed_from_u64(1000 + cycle),
                    "made here",
                    &CertificateRequest::builder(dn),
                    2048,
                )?;
            }
            6 => {
                drop(tx);
                let (old, new) = (self.passphrase(Some(i - 1)), self.passphrase(Some(i)));
                return store.change_passphrase(old, new);
            }
            _ => {
                tx.remove_with_bindings("life")?;
                tx.remove("made here")?;
            }
        }
        tx.commit()
    }

    /// The model's state after step `i`, running the steps it has not run yet.
    fn expected(&mut self, i: u64) -> &[String] {
        while self.states.len() as u64 <= i {
            let step = self.states.len() as u64;
            let model = self.model.as_ref().unwrap();
            self.apply(model, step).unwrap();
            let state = state_of(model);
            self.states.push(state);
        }
        &self.states[i as usize]
    }
}

impl Steps for Lifecycle {
    fn setup(&mut self, store: &KeyStore) {
        self.model = Some(fixtures::memory_store());
        self.initial = state_of(store);
        assert_eq!(self.initial, state_of(self.model.as_ref().unwrap()));
    }

    fn passphrase(&self, j: Option<u64>) -> &str {
        // Step 6 of each cycle changes it, to and fro.
        let changes = j.map_or(0, |j| (j + CYCLE - 6) / CYCLE);
        if changes % 2 == 1 {
            OTHER_PASSPHRASE
        } else {
            PASS
        }
    }

    fn observe(
        &mut self,
        store: &KeyStore,
        acknowledged: Option<u64>,
    ) -> Result<Option<u64>, String> {
        let found = state_of(store);
        let here = match acknowledged {
            None => self.initial.clone(),
            Some(j) => self.expected(j).to_vec(),
        };
        if found == here {
            return Ok(acknowledged);
        }
        let following = next(acknowledged);
        if found == self.expected(following) {
            return Ok(Some(following));
        }
        Err(format!(
            "the store holds {found:?}: neither the state after the acknowledged step \
             ({here:?}) nor after the next ({:?})",
            self.expected(following)
        ))
    }

    fn operation(&self, i: u64) -> &'static str {
        [
            "add_pending",
            "install_certificate",
            "bind",
            "renew",
            "install (renewal)",
            "create_pending",
            "change_passphrase",
            "remove",
        ][(i % CYCLE) as usize]
    }

    fn step(&mut self, store: &KeyStore, i: u64) -> keymanager::Result<()> {
        // The model first, so that the renewal's certificate is known.
        self.expected(i);
        self.apply(store, i)
    }
}

/// What a store holds, as the model compares it: each entry's name, state, key and bindings.
fn state_of(store: &KeyStore) -> Vec<String> {
    store
        .entries()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {:?} {} {:?}",
                e.name(),
                e.state(),
                e.fingerprint(),
                e.bindings()
            )
        })
        .collect()
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
    drop(mounted);

    // With partial writes, a cut keeps a prefix of the unsynced writes, the last one maybe
    // torn at a 512-byte sector: never anything else, and not always the same.
    let mut kept = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let mounted = fs.mount(dir.path()).unwrap();
        let path = mounted.path().join("partial");
        let mut file = std::fs::File::create(&path).unwrap();
        file.sync_all().unwrap();
        std::fs::File::open(mounted.path())
            .unwrap()
            .sync_all()
            .unwrap();
        let chunks: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i + 1; 1024]).collect();
        for chunk in &chunks {
            file.write_all(chunk).unwrap();
        }
        fs.partial_writes(Some(seed));
        fs.cut_now();
        drop((file, mounted));
        fs.power_on();
        fs.partial_writes(None);
        let mounted = fs.mount(dir.path()).unwrap();
        let data = std::fs::read(mounted.path().join("partial")).unwrap();
        let written = chunks.concat();
        assert!(
            data.len().is_multiple_of(512) && written.starts_with(&data),
            "seed {seed}: kept {} bytes that are not a prefix of the writes",
            data.len()
        );
        kept.insert(data.len());
        std::fs::remove_file(mounted.path().join("partial")).unwrap();
    }
    assert!(
        kept.len() > 2,
        "partial writes kept always the same: {kept:?}"
    );
}
