//! Renewals: when due, the old certificate serves until the new one commits; a failure backs
//! off, keeps the old certificate, and recovers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use keymanager::acme::{self, Http01Responder, Progress, RenewOutcome, Solver};
use keymanager::error::AcmeError;
use keymanager::{EntryState, Error};

use keymanager::acme::Acme;

use crate::common::acme::{
    account, account_options, fingerprint, issue, leaf_der, served_fingerprint, tls_server,
};
use crate::common::fixtures::memory_store;
use crate::common::pebble::{Pebble, PebbleOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_when_due_serves_the_old_certificate_until_the_new_one_commits() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    let port = pebble.tls_port();
    let (resolver, server) = tls_server(&store, port).await;
    let sni = "site.example.test";
    issue(&acme, "site", sni, &Solver::tls_alpn01()).await;
    {
        let mut tx = store.begin().unwrap();
        tx.bind(format!("127.0.0.1:{port}").parse().unwrap(), "site")
            .unwrap();
        tx.commit().unwrap();
    }
    resolver.refresh().unwrap();
    let old = fingerprint(&leaf_der(&store, "site"));
    assert_eq!(served_fingerprint(port, sni), old);

    // Not due now: nothing happens.
    assert!(
        acme.renew_due(SystemTime::now(), &Solver::tls_alpn01())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(acme::orders(&store).unwrap().len(), 1);

    // Four years on (pebble's certificates last five): due. Just before the commit, the old
    // certificate is still the one served.
    let served_before_commit = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&served_before_commit);
    let watching = Arc::clone(&resolver);
    let acme = acme.on_progress(move |p| {
        if let Progress::Install { .. } = p {
            watching.refresh().unwrap();
            seen.lock().unwrap().push(served_fingerprint(port, sni));
        }
    });
    let later = SystemTime::now() + Duration::from_secs(4 * 365 * 86_400);
    let renewals = acme.renew_due(later, &Solver::tls_alpn01()).await.unwrap();
    assert_eq!(renewals.len(), 1);
    assert_eq!(renewals[0].name(), "site");
    let RenewOutcome::Renewed(issued) = renewals[0].outcome() else {
        panic!("{:?}", renewals[0].outcome())
    };
    assert_eq!(issued.name(), "site");
    assert_eq!(*served_before_commit.lock().unwrap(), vec![old.clone()]);

    // After the commit: the new certificate, same name and binding, no renewal entry left.
    resolver.refresh().unwrap();
    let new = fingerprint(&leaf_der(&store, "site"));
    assert_ne!(new, old);
    assert_eq!(served_fingerprint(port, sni), new);
    let entries = store.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].bindings().len(), 1);
    let managed = acme::managed(&store).unwrap();
    assert!(managed[0].renew_at() > later - Duration::from_secs(4 * 365 * 86_400));
    assert_eq!(managed[0].failures(), 0);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_backs_off_keeps_the_old_certificate_and_recovers() {
    let pebble = Pebble::start();
    let store = memory_store();
    // Without deactivation, pebble may reuse the first order's authorization (1% of the time,
    // even at PEBBLE_AUTHZREUSE=0) and the renewal would need no challenge at all.
    let options = account_options(&pebble).deactivate_authorizations(true);
    let acme = Acme::account(&store, options).await.unwrap();
    let http = ([127, 0, 0, 1], pebble.http_port()).into();
    let responder = Http01Responder::bind(&store, http).await.unwrap();
    issue(&acme, "back", "back.example.test", &Solver::http01()).await;
    drop(responder);
    let old = leaf_der(&store, "back");

    // Due, but the challenge cannot be reached: a failure, recorded with its backoff. (Whole
    // seconds: the store keeps times in seconds.)
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs() + 4 * 365 * 86_400);
    let policy =
        acme::RenewPolicy::new().backoff(Duration::from_secs(600), Duration::from_secs(3600));
    let renewals = acme
        .renew_due_with(later, &Solver::http01(), &policy)
        .await
        .unwrap();
    let RenewOutcome::Failed { error, retry_at } = renewals[0].outcome() else {
        panic!("{:?}", renewals[0].outcome())
    };
    assert!(
        matches!(error, Error::Acme(AcmeError::Connection { .. })),
        "{error:?}"
    );
    assert_eq!(*retry_at, later + Duration::from_secs(600));
    let managed = &acme::managed(&store).unwrap()[0];
    assert_eq!(managed.failures(), 1);
    assert_eq!(managed.retry_at(), Some(*retry_at));
    assert!(managed.last_error().unwrap().contains("back.example.test"));
    assert_eq!(leaf_der(&store, "back"), old, "the old certificate stays");
    let renewal = store.renewal_of("back").unwrap().unwrap();
    assert_eq!(renewal.state(), EntryState::Renewal);
    assert_eq!(renewal.renewal_of(), Some("back"));

    // Backing off: not tried again before retry_at.
    let renewals = acme
        .renew_due_with(later + Duration::from_secs(599), &Solver::http01(), &policy)
        .await
        .unwrap();
    assert!(renewals.is_empty());

    // After it, with the responder back: renewed with the pending renewal's key.
    let renewal_key = renewal.fingerprint();
    let _responder = Http01Responder::bind(&store, http).await.unwrap();
    let renewals = acme
        .renew_due_with(later + Duration::from_secs(600), &Solver::http01(), &policy)
        .await
        .unwrap();
    assert!(matches!(renewals[0].outcome(), RenewOutcome::Renewed(_)));
    let entry = store.entry("back").unwrap();
    assert_eq!(entry.fingerprint(), renewal_key);
    assert_ne!(leaf_der(&store, "back"), old);
    assert_eq!(store.renewal_of("back").unwrap(), None);
    let managed = &acme::managed(&store).unwrap()[0];
    assert_eq!((managed.failures(), managed.retry_at()), (0, None));

    // The background renewer runs renew_due on its own: nothing is due now.
    let (sent, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let renewer = acme.spawn_renewer(Solver::http01(), Duration::from_secs(1), move |r| {
        let _ = sent.send(r.map(|v| v.len()));
    });
    let first = tokio::time::timeout(Duration::from_secs(30), reports.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.unwrap(), 0);
    renewer.stop();
}

/// With pebble reusing every valid authorization, a renewal needs no challenge at all (the
/// control), unless the account deactivates its authorizations once each certificate is in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_authorizations_make_every_order_prove_control_again() {
    let pebble = Pebble::start_with(PebbleOptions {
        authz_reuse: Some(100),
        ..PebbleOptions::default()
    });
    let http = ([127, 0, 0, 1], pebble.http_port()).into();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs() + 4 * 365 * 86_400);
    for deactivate in [false, true] {
        let store = memory_store();
        let options = account_options(&pebble).deactivate_authorizations(deactivate);
        let acme = Acme::account(&store, options).await.unwrap();
        let responder = Http01Responder::bind(&store, http).await.unwrap();
        issue(&acme, "reuse", "reuse.example.test", &Solver::http01()).await;
        drop(responder);
        // Nothing answers http-01 now.
        let renewals = acme.renew_due(later, &Solver::http01()).await.unwrap();
        match (deactivate, renewals[0].outcome()) {
            (false, RenewOutcome::Renewed(_)) => {}
            (true, RenewOutcome::Failed { error, .. }) => assert!(
                matches!(error, Error::Acme(AcmeError::Connection { .. })),
                "{error:?}"
            ),
            (_, other) => panic!("deactivate = {deactivate}: {other:?}"),
        }
    }
}
