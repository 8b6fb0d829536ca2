//! A CA that refuses: rate limits (RFC 8555 §6.7 `rateLimited`, with `Retry-After` in both of
//! its forms, RFC 9110 §10.2.3) and an order the CA no longer has. Pebble never rate-limits and
//! keeps its orders, so these run through tests/common/ari_proxy.rs: real pebble behind a proxy
//! that answers the chosen request in pebble's place.

use std::time::{Duration, SystemTime};

use keymanager::acme::{self, Acme, Http01Responder, IssueRequest, OrderState, Solver};
use keymanager::error::AcmeError;
use keymanager::{EntryState, Error, KeyStore};

use crate::common::acme::{
    ChalltestProvider, Refusing, account_error, account_options_at, assert_chain_verifies,
    only_pending,
};
use crate::common::ari_proxy::{Answer, AriProxy, Endpoint, RateLimit, whole_seconds};
use crate::common::fixtures::memory_store;
use crate::common::pebble::Pebble;

/// pebble and the proxy in front of it (its renewal information unused here).
async fn proxied() -> (Pebble, AriProxy) {
    let pebble = Pebble::start();
    let proxy = AriProxy::start(&pebble, Answer::Fail).await;
    (pebble, proxy)
}

/// [`proxied`], a store, and an account through the proxy.
async fn proxied_account() -> (Pebble, AriProxy, KeyStore, Acme) {
    let (pebble, proxy) = proxied().await;
    let store = memory_store();
    let acme = Acme::account(&store, account_options_at(&pebble, &proxy.directory()))
        .await
        .unwrap();
    (pebble, proxy, store, acme)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_new_order_carries_retry_after_and_the_next_call_reuses_the_pending_key() {
    let (pebble, proxy, store, acme) = proxied_account().await;
    let http = ([127, 0, 0, 1], pebble.http_port()).into();
    let _responder = Http01Responder::bind(&store, http).await.unwrap();
    let request = IssueRequest::new("site", ["site.example.test"]);
    let detail = "too many new orders (300) from this account in the last 3h0m0s (test)";
    proxy.rate_limit(Some(RateLimit {
        endpoint: Endpoint::NewOrder,
        retry_after: "120".into(),
        detail: detail.into(),
    }));

    let before = SystemTime::now();
    let err = acme.issue(&request, &Solver::http01()).await.unwrap_err();
    let after = SystemTime::now();
    let Error::Acme(AcmeError::RateLimited {
        detail: got,
        retry_after: Some(at),
    }) = &err
    else {
        panic!("expected RateLimited with a time, got {err:?}")
    };
    assert_eq!(got, detail);
    // 120 s after the answer came, which was between `before` and `after`.
    let wait = Duration::from_secs(120);
    assert!(
        before + wait <= *at && *at <= after + wait,
        "{at:?} not 120 s after {before:?}..{after:?}"
    );
    let message = err.to_string();
    assert!(message.contains(detail), "{message}");
    assert!(message.contains("the CA says to retry in"), "{message}");
    // One new-order, refused, not retried; pebble saw none.
    assert_eq!(proxy.rate_limited(), 1);
    assert!(proxy.new_orders().is_empty());
    assert_eq!(pebble.new_orders(), 0);

    // The store: the pending key and the order's record, which says it was never placed and
    // why; nothing installed or managed.
    let (pending, order) = only_pending(&store, OrderState::Placing);
    assert_eq!(order.url(), None);
    let noted = order.error().unwrap();
    assert!(
        noted.contains(detail) && noted.contains("retry in"),
        "{noted}"
    );

    // Switched back: the next call places the order for the same pending key and installs.
    proxy.rate_limit(None);
    let issued = acme.issue(&request, &Solver::http01()).await.unwrap();
    assert!(!issued.resumed(), "there was no order to resume");
    assert_eq!(proxy.rate_limited(), 1);
    assert_eq!(pebble.new_orders(), 1);
    let entry = store.entry("site").unwrap();
    assert_eq!(entry.state(), EntryState::Installed);
    assert_eq!(entry.fingerprint(), pending.fingerprint());
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders.len(), 1, "the same record");
    assert_eq!(orders[0].state(), OrderState::Installed);
    assert_eq!(orders[0].url(), Some(issued.order_url()));
    assert_chain_verifies(&store, &pebble, "site", &["site.example.test"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_new_account_carries_the_retry_after_date_and_stores_no_account() {
    let (pebble, proxy) = proxied().await;
    let store = memory_store();
    let options = account_options_at(&pebble, &proxy.directory());
    let at = whole_seconds(SystemTime::now()) + Duration::from_secs(3600);
    let detail = "too many new accounts from this address (test)";
    proxy.rate_limit(Some(RateLimit {
        endpoint: Endpoint::NewAccount,
        retry_after: httpdate::fmt_http_date(at),
        detail: detail.into(),
    }));

    let err = account_error(&store, options.clone()).await;
    assert!(
        matches!(&err, Error::Acme(AcmeError::RateLimited { detail: d, retry_after: Some(t) })
            if d == detail && *t == at),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(detail), "{message}");
    assert!(message.contains("the CA says to retry in"), "{message}");
    assert_eq!(proxy.rate_limited(), 1);

    // No account was stored: once the limit is lifted, the next call creates one.
    proxy.rate_limit(None);
    let acme = Acme::account(&store, options).await.unwrap();
    assert!(acme.created());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_ca_no_longer_has_is_recorded_cancelled_and_a_new_one_placed() {
    let (pebble, proxy, store, acme) = proxied_account().await;
    let request = IssueRequest::new("lost", ["lost.example.test"]);
    // A failing DNS provider leaves the order open at the CA, its URL recorded.
    let err = acme
        .issue(&request, &Solver::dns01(Refusing))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Acme(AcmeError::Dns01Provider { .. })),
        "{err:?}"
    );
    let open = acme::orders(&store).unwrap().remove(0);
    assert_eq!(open.state(), OrderState::Pending);
    let url = open.url().unwrap();
    let fingerprint = store.entry("lost").unwrap().fingerprint();

    // The CA forgets it (pebble's answer to an order it does not have: a bare 404).
    proxy.forget(url);
    let issued = acme
        .issue(&request, &Solver::dns01(ChalltestProvider(pebble.dns())))
        .await
        .unwrap();
    assert!(!issued.resumed(), "a new order was placed");
    assert_ne!(issued.order_url(), url);
    assert_eq!(pebble.new_orders(), 2);
    assert_eq!(store.entry("lost").unwrap().fingerprint(), fingerprint);
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].url(), Some(url));
    assert_eq!(orders[0].state(), OrderState::Cancelled);
    let why = orders[0].error().unwrap();
    assert!(why.contains("no longer has it"), "{why}");
    assert_eq!(orders[1].state(), OrderState::Installed);
    assert_eq!(orders[1].url(), Some(issued.order_url()));
    assert_chain_verifies(&store, &pebble, "lost", &["lost.example.test"]);
}
