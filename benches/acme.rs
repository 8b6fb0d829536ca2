//! ACME issuance against a real pebble on loopback (feature `acme`): the time from the
//! `Acme::issue` call to the committed certificate, split into our own CPU time and the rest
//! (waiting on the CA: its processing, our polling intervals, the network).
//!
//! ```sh
//! cargo bench --features acme --bench acme            # needs `apt-get install -y pebble`
//! ```
//!
//! Not criterion: one issuance takes about a second of waiting, so the bench runs a fixed
//! number of them (`ACME_BENCH_RUNS`, 20 by default) and prints medians. Our CPU is the whole
//! process's user + system time (`getrusage(RUSAGE_SELF)`: every tokio worker, the blocking
//! pool, hyper, rustls, SQLite, the http-01 responder); pebble runs in its own process and is
//! not counted. Key generation is left out as the goal asks: each run's pending key is made
//! before the clock starts (`Acme::issue` then uses it), and its cost is printed on its own.

#[path = "../tests/common/pebble.rs"]
#[allow(dead_code)] // the tests' fixture: the bench uses part of it
mod pebble;

use std::time::{Duration, Instant};

use keymanager::acme::{AccountOptions, Acme, Http01Responder, IssueRequest, Solver};
use keymanager::{CertificateRequest, DistinguishedName, KdfParams, KeyStore, StoreOptions};

fn main() {
    let runs: usize = std::env::var("ACME_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pebble = pebble::Pebble::start();
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1).unwrap());
    let store = KeyStore::create_with(dir.path().join("keys.db"), "passphrase", &options).unwrap();
    let acme = rt.block_on(async {
        Acme::account(
            &store,
            AccountOptions::new(pebble.directory())
                .agree_to_terms(true)
                .ca_root(pebble.api_root()),
        )
        .await
        .unwrap()
    });
    let _responder = rt.block_on(async {
        Http01Responder::bind(&store, ([127, 0, 0, 1], pebble.http_port()).into())
            .await
            .unwrap()
    });
    let (mut walls, mut cpus, mut keygens) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..=runs {
        let name = format!("bench{i}");
        let host = format!("bench{i}.example.test");
        // The key and request, outside the clock.
        let cpu0 = process_cpu();
        let mut tx = store.begin().unwrap();
        let dn: DistinguishedName = format!("CN={host}").parse().unwrap();
        tx.create_pending(&name, &CertificateRequest::builder(dn), 2048)
            .unwrap();
        tx.commit().unwrap();
        let keygen = process_cpu() - cpu0;

        let (wall0, cpu0) = (Instant::now(), process_cpu());
        rt.block_on(acme.issue(
            &IssueRequest::new(&name, [host.as_str()]),
            &Solver::http01(),
        ))
        .unwrap();
        let (wall, cpu) = (wall0.elapsed(), process_cpu() - cpu0);
        if i == 0 {
            continue; // warm-up: connection set-up, first TLS handshake
        }
        walls.push(wall);
        cpus.push(cpu);
        keygens.push(keygen);
    }
    let (wall, cpu) = (median(&mut walls), median(&mut cpus));
    let total_cpu: Duration = cpus.iter().sum();
    let total_wall: Duration = walls.iter().sum();
    println!(
        "ACME issuance against pebble on loopback, http-01, RSA 2048, {runs} runs (after one warm-up)"
    );
    println!(
        "  issue call -> committed certificate: median wall {:.1} ms, median our CPU {:.2} ms ({:.2} %)",
        ms(wall),
        ms(cpu),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    println!(
        "  sums: wall {:.0} ms, our CPU {:.1} ms ({:.2} %); waiting on the CA {:.0} ms",
        ms(total_wall),
        ms(total_cpu),
        100.0 * total_cpu.as_secs_f64() / total_wall.as_secs_f64(),
        ms(total_wall.saturating_sub(total_cpu))
    );
    println!(
        "  key generation + pending commit (outside the clock): median CPU {:.1} ms",
        ms(median(&mut keygens))
    );
    println!("  pebble saw {} new orders", pebble.new_orders());
}

/// This process's user + system CPU time so far, all threads.
fn process_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own; no other invariant.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
