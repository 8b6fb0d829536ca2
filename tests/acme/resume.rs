//! Orders that outlive a call: a process killed mid-order is resumed by the next one (no
//! second order at the CA), and an open order is cancelled on request.

use std::path::Path;
use std::time::Duration;

use keymanager::acme::{
    self, AccountOptions, Acme, Dns01Provider, DnsFuture, Http01Responder, IssueRequest,
    OrderState, Solver,
};
use keymanager::error::AcmeError;
use keymanager::{EntryState, Error};

use crate::common::acme::{ChalltestProvider, Refusing, account, assert_chain_verifies, issue};
use crate::common::fixtures::{memory_store, store_in};
use crate::common::pebble::Pebble;
use crate::common::rerun_test;

/// The environment variable that makes [`child_places_an_order_then_hangs`] run.
const CHILD_ENV: &str = "KEYMANAGER_ACME_TEST_CHILD";

/// A DNS provider that never returns: the child hangs right after its order is recorded.
struct Hang;

impl Dns01Provider for Hang {
    fn set_txt<'a>(&'a self, _: &'a str, _: &'a str) -> DnsFuture<'a> {
        Box::pin(std::future::pending())
    }

    fn clear_txt<'a>(&'a self, _: &'a str) -> DnsFuture<'a> {
        Box::pin(std::future::pending())
    }
}

/// The child process of `sigkill_mid_order_resumes_the_same_order`: opens the store, creates
/// the account, places the order, and hangs in the challenge until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of sigkill_mid_order_resumes_the_same_order"]
async fn child_places_an_order_then_hangs() {
    let spec = std::env::var(CHILD_ENV).expect("run by sigkill_mid_order_resumes_the_same_order");
    let parts: Vec<&str> = spec.split('\t').collect();
    let store = store_in(Path::new(parts[0]));
    let acme = Acme::account(
        &store,
        AccountOptions::new(parts[1])
            .agree_to_terms(true)
            .ca_root(parts[2]),
    )
    .await
    .unwrap();
    let _ = acme
        .issue(
            &IssueRequest::new("crash", ["crash.example.test"]),
            &Solver::dns01(Hang),
        )
        .await;
    unreachable!("the DNS provider never returns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_order_resumes_the_same_order() {
    let pebble = Pebble::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let spec = format!(
        "{}\t{}\t{}",
        dir.path().display(),
        pebble.directory(),
        pebble.api_root().display()
    );
    let mut child = rerun_test(module_path!(), "child_places_an_order_then_hangs")
        .arg("--ignored")
        .env(CHILD_ENV, spec)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the child has committed its order's URL, then SIGKILL it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let recorded = loop {
        let orders = acme::orders(&store).unwrap();
        if let Some(order) = orders.iter().find(|o| o.url().is_some()) {
            break order.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child recorded no order"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(recorded.state(), OrderState::Pending);
    assert_eq!(pebble.new_orders(), 1);
    assert_eq!(store.entry("crash").unwrap().state(), EntryState::Pending);

    // A restart: the child's account is reused, the same order is resumed, no new order.
    let acme = account(&store, &pebble).await;
    assert!(!acme.created(), "the account the child created is reused");
    let _responder = Http01Responder::bind(&store, ([127, 0, 0, 1], pebble.http_port()).into())
        .await
        .unwrap();
    let issued = issue(&acme, "crash", "crash.example.test", &Solver::http01()).await;
    assert!(issued.resumed());
    assert_eq!(Some(issued.order_url()), recorded.url());
    assert_eq!(pebble.new_orders(), 1, "no second new-order");
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].state(), OrderState::Installed);
    assert_eq!(orders[0].resumed(), 1);
    assert_chain_verifies(&store, &pebble, "crash", &["crash.example.test"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_order_is_cancelled_on_request_and_the_next_call_places_a_new_one() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    let request = IssueRequest::new("open", ["open.example.test"]);
    let err = acme
        .issue(&request, &Solver::dns01(Refusing))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Acme(AcmeError::Dns01Provider { record, reason })
            if record == "_acme-challenge.open.example.test" && reason.contains("down")),
        "{err:?}"
    );
    // A provider failure leaves the order open, with the error noted, to be resumed.
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders[0].state(), OrderState::Pending);
    assert!(orders[0].error().unwrap().contains("down"));

    assert!(acme.cancel("open").await.unwrap());
    assert!(!acme.cancel("open").await.unwrap(), "nothing open any more");
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders[0].state(), OrderState::Cancelled);
    assert_eq!(orders[0].error(), Some("cancelled by request"));

    // The same pending key, a new order.
    let fingerprint = store.entry("open").unwrap().fingerprint();
    let issued = acme
        .issue(&request, &Solver::dns01(ChalltestProvider(pebble.dns())))
        .await
        .unwrap();
    assert!(!issued.resumed());
    assert_eq!(pebble.new_orders(), 2);
    assert_eq!(store.entry("open").unwrap().fingerprint(), fingerprint);
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[1].state(), OrderState::Installed);
}
