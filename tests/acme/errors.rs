//! Failures, each typed, installing nothing: a refused identifier, an unreachable challenge,
//! refused nonces, a silent CA and a closed port.

use std::time::Duration;

use keymanager::Error;
use keymanager::acme::{self, AccountOptions, IssueRequest, OrderState, Solver};
use keymanager::error::AcmeError;

use crate::common::acme::{account, account_error, account_options, only_pending};
use crate::common::fixtures::memory_store;
use crate::common::pebble::{Pebble, PebbleOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_identifier_is_typed_and_the_key_stays_pending_for_the_next_call() {
    let pebble = Pebble::start_with(PebbleOptions {
        blocklist: vec!["blocked.test".into()],
        ..Default::default()
    });
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    let request = IssueRequest::new("bad", ["www.blocked.test"]);
    let err = acme.issue(&request, &Solver::http01()).await.unwrap_err();
    let Error::Acme(AcmeError::RejectedIdentifier { detail }) = &err else {
        panic!("expected RejectedIdentifier, got {err:?}")
    };
    assert!(detail.contains("blocked.test"), "{detail}");
    assert!(err.to_string().contains(detail.as_str()));

    // Nothing installed or managed; the key is pending; the record says what happened.
    let (entry, order) = only_pending(&store, OrderState::Failed);
    assert!(order.error().unwrap().contains("blocked.test"));

    // A later call uses the same pending key (the store is otherwise unchanged) and
    // records a second order.
    let again = acme.issue(&request, &Solver::http01()).await.unwrap_err();
    assert!(matches!(
        again,
        Error::Acme(AcmeError::RejectedIdentifier { .. })
    ));
    assert_eq!(store.entries().unwrap(), [entry]);
    assert_eq!(acme::orders(&store).unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_challenge_is_a_connection_error_and_installs_nothing() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    // Nothing listens on pebble's http-01 port.
    let err = acme
        .issue(
            &IssueRequest::new("dark", ["dark.example.test"]),
            &Solver::http01(),
        )
        .await
        .unwrap_err();
    let Error::Acme(AcmeError::Connection { identifier, detail }) = &err else {
        panic!("expected Connection, got {err:?}")
    };
    assert_eq!(identifier, "dark.example.test");
    assert!(!detail.is_empty());
    assert!(
        err.to_string().contains("port"),
        "says what to check: {err}"
    );
    only_pending(&store, OrderState::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_refused_every_time_end_in_a_typed_bad_nonce_error() {
    let pebble = Pebble::start_with(PebbleOptions {
        nonce_reject: Some(100),
        ..Default::default()
    });
    let store = memory_store();
    let err = account_error(&store, account_options(&pebble)).await;
    assert!(
        matches!(err, Error::Acme(AcmeError::BadNonce { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("try again"));
    // Three tries of instant-acme's, three times: nine new-account requests, no account.
    assert_eq!(pebble.log().matches("POST /sign-me-up").count(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_ca_is_a_named_timeout_and_a_closed_port_a_network_error() {
    let store = memory_store();
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let _held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let err = account_error(
        &store,
        AccountOptions::new(format!("https://127.0.0.1:{port}/dir"))
            .agree_to_terms(true)
            .request_timeout(Duration::from_millis(500)),
    )
    .await;
    let Error::Acme(AcmeError::Timeout { during, waited }) = &err else {
        panic!("expected Timeout, got {err:?}")
    };
    assert_eq!(*waited, Duration::from_millis(500));
    assert!(during.contains("account"), "{during}");

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = account_error(
        &store,
        AccountOptions::new(format!("https://127.0.0.1:{port}/dir")).agree_to_terms(true),
    )
    .await;
    assert!(
        matches!(&err, Error::Acme(AcmeError::Network { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("check the directory URL"), "{err}");
    assert!(store.entries().unwrap().is_empty());

    let err = account_error(&store, AccountOptions::new("http://127.0.0.1/dir")).await;
    assert!(
        matches!(err, Error::Acme(AcmeError::InvalidOptions { .. })),
        "{err:?}"
    );
}
