//! Load: 2,000 full handshakes from four client threads against a store with 1,000 bound
//! names (sharing four entries, with wildcard certificates), zero failures, each served the
//! certificate of its name.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use keymanager::tls::StoreResolver;

use crate::common::fixtures::store_in;
use crate::common::tls_fixture as fixture;

const ENTRIES: usize = 4;
const NAMES: usize = 1_000;
const CLIENTS: usize = 4;
const PER_CLIENT: usize = 500;

fn name(i: usize) -> String {
    format!("n{i}.k{}.load.test", i % ENTRIES)
}

#[test]
fn two_thousand_handshakes_over_a_thousand_names_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (listener, port) = fixture::listener();
    let leaves: Vec<Vec<u8>> = (0..ENTRIES)
        .map(|k| {
            let wildcard = format!("*.k{k}.load.test");
            fixture::install(&store, &format!("k{k}"), k as u64, &[&wildcard], &[])
        })
        .collect();
    let mut tx = store.begin().unwrap();
    for i in 0..NAMES {
        let endpoint = format!("{}:{port}", name(i)).parse().unwrap();
        tx.bind(endpoint, &format!("k{}", i % ENTRIES)).unwrap();
    }
    tx.commit().unwrap();

    let local = format!("127.0.0.1:{port}").parse().unwrap();
    let resolver = StoreResolver::new(&store, local).unwrap();
    assert_eq!(resolver.snapshot().len(), NAMES);
    assert_eq!(resolver.snapshot().identities().len(), ENTRIES);
    let stats = fixture::serve(listener, Arc::clone(&resolver));

    let leaves = Arc::new(leaves);
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let leaves = Arc::clone(&leaves);
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for j in 0..PER_CLIENT {
                    // Client c takes the names c + 28 j (mod 1,000): 250 names each, all 1,000 together.
                    let i = (c + j * CLIENTS * 7) % NAMES;
                    match fixture::handshake(port, &name(i)) {
                        Ok(leaf) if leaf == leaves[i % ENTRIES] => {}
                        Ok(_) => failures.push(format!("{}: another certificate", name(i))),
                        Err(e) => failures.push(format!("{}: {e}", name(i))),
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    assert!(
        failures.is_empty(),
        "{} failures, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    // The server's connection threads count a connection once the client has closed it.
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while stats.ok.load(Ordering::SeqCst) < CLIENTS * PER_CLIENT && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(stats.ok.load(Ordering::SeqCst), CLIENTS * PER_CLIENT);
    assert_eq!(stats.failed.load(Ordering::SeqCst), 0);
    eprintln!("{} handshakes in {elapsed:?}", CLIENTS * PER_CLIENT);
}
