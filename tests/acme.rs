//! ACME issuance and renewal (feature `acme`) against a real ACME server: Debian's pebble on
//! loopback, one per test (tests/common/pebble.rs). Pebble's validator really connects to our
//! http-01 responder and to a tokio-rustls server whose certificates come from
//! `tls::StoreResolver` (tls-alpn-01); dns-01 goes through challtestsrv's management API. The
//! chains verify with `openssl verify` against pebble's root; the served certificates are read
//! with `openssl s_client`.

#[path = "common/pebble.rs"]
mod pebble;

#[path = "acme/cli.rs"]
mod cli;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use keymanager::acme::{
    self, AccountOptions, Acme, ChallengeKind, Dns01Provider, DnsFuture, ExternalAccountBinding,
    Http01Responder, IssueRequest, OrderState, Progress, RenewOutcome, Solver,
};
use keymanager::error::AcmeError;
use keymanager::tls::{ACME_TLS_ALPN, StoreResolver};
use keymanager::{EntryState, Error, KdfParams, KeyStore, StoreOptions};
use pebble::{Pebble, PebbleOptions};

fn options() -> StoreOptions {
    StoreOptions::new().kdf(KdfParams::new(64, 1, 1).unwrap())
}

fn memory_store() -> KeyStore {
    KeyStore::open_in_memory_with("passphrase", &options()).unwrap()
}

fn account_options(pebble: &Pebble) -> AccountOptions {
    AccountOptions::new(pebble.directory())
        .contact("mailto:admin@example.test")
        .agree_to_terms(true)
        .ca_root(pebble.api_root())
        .validation_timeout(Duration::from_secs(60))
}

async fn account(store: &KeyStore, pebble: &Pebble) -> Acme {
    Acme::account(store, account_options(pebble)).await.unwrap()
}

/// The entry's chain verifies with `openssl verify` against pebble's root, for `names`.
fn assert_chain_verifies(store: &KeyStore, pebble: &Pebble, name: &str, names: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let export = store.export(name, "export-password").unwrap();
    let pems: Vec<String> = pem::parse_many(export.chain_pem())
        .unwrap()
        .iter()
        .map(pem::encode)
        .collect();
    assert!(
        pems.len() >= 2,
        "leaf and intermediate: {}",
        export.chain_pem()
    );
    std::fs::write(dir.path().join("leaf.pem"), &pems[0]).unwrap();
    std::fs::write(dir.path().join("chain.pem"), pems[1..].concat()).unwrap();
    std::fs::write(dir.path().join("root.pem"), pebble.root_pem()).unwrap();
    let out = openssl(
        dir.path(),
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain.pem",
            "-purpose",
            "sslserver",
            "leaf.pem",
        ],
    );
    assert!(out.contains("leaf.pem: OK"), "{out}");
    let text = openssl(
        dir.path(),
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "subjectAltName",
        ],
    );
    for n in names {
        assert!(text.contains(n), "{n} not in {text}");
    }
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_issues_into_the_store_and_the_chain_verifies() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    assert!(acme.created());
    let responder = Http01Responder::bind(&store, ([127, 0, 0, 1], pebble.http_port()).into())
        .await
        .unwrap();
    let steps = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&steps);
    let acme = acme.on_progress(move |p| seen.lock().unwrap().push(p.clone()));
    let issued = acme
        .issue(
            &IssueRequest::new("www", ["www.example.test", "alt.example.test"]),
            &Solver::http01(),
        )
        .await
        .unwrap();
    drop(responder);
    assert_eq!(issued.name(), "www");
    assert!(!issued.resumed());
    let entry = store.entry("www").unwrap();
    assert_eq!(entry.state(), EntryState::Installed);
    assert_chain_verifies(
        &store,
        &pebble,
        "www",
        &["www.example.test", "alt.example.test"],
    );

    // The order is recorded as installed, the entry as managed, the challenges are gone.
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].state(), OrderState::Installed);
    assert_eq!(orders[0].url(), Some(issued.order_url()));
    let managed = acme::managed(&store).unwrap();
    assert_eq!(managed.len(), 1);
    assert_eq!(managed[0].name(), "www");
    assert_eq!(managed[0].challenge(), ChallengeKind::Http01);
    assert!(managed[0].renew_at() < entry.not_after().unwrap());
    let steps = steps.lock().unwrap();
    for wanted in [Progress::Finalize, Progress::Download] {
        assert!(steps.contains(&wanted), "{steps:?}");
    }
    assert_eq!(pebble.new_orders(), 1);
}
