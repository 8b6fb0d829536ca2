//! Renewal by ACME renewal information (ARI, RFC 9773): the CA's suggested window decides when
//! an entry renews, and the new order names the certificate it replaces. Pebble 2.4 offers no
//! ARI, so these run through tests/common/ari_proxy.rs: real pebble behind a proxy that adds
//! `renewalInfo` and answers it with the window each test sets.

use std::time::{Duration, SystemTime};

use keymanager::KeyStore;
use keymanager::acme::{self, Acme, Http01Responder, RenewOutcome, Solver};

use crate::common::acme::{account_options_at, issue, leaf_der};
use crate::common::ari_proxy::{Answer, AriProxy, whole_seconds};
use crate::common::fixtures::memory_store;
use crate::common::pebble::Pebble;

const DAY: Duration = Duration::from_secs(86_400);

/// pebble, the proxy in front of it answering `answer`, a store, and the entry `site` issued
/// through the proxy by http-01 (its responder returned, to keep it serving).
async fn issued(answer: Answer) -> (Pebble, AriProxy, KeyStore, Acme, Http01Responder) {
    let pebble = Pebble::start();
    let proxy = AriProxy::start(&pebble, answer).await;
    let store = memory_store();
    let acme = Acme::account(&store, account_options_at(&pebble, &proxy.directory()))
        .await
        .unwrap();
    let http = ([127, 0, 0, 1], pebble.http_port()).into();
    let responder = Http01Responder::bind(&store, http).await.unwrap();
    issue(&acme, "site", "site.example.test", &Solver::http01()).await;
    // Issuing does not ask for renewal information, nor replace anything.
    assert!(proxy.asked().is_empty());
    assert_eq!(proxy.new_orders(), [None]);
    (pebble, proxy, store, acme, responder)
}

/// The ARI CertID of a certificate (RFC 9773 §4.1): base64url(AKI keyIdentifier) "."
/// base64url(serial's DER content octets), read here with x509-cert.
fn cert_id(der: &[u8]) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    use x509_cert::der::{Decode, oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER};
    let cert = x509_cert::Certificate::from_der(der).unwrap();
    let tbs = cert.tbs_certificate();
    let aki = tbs
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == ID_CE_AUTHORITY_KEY_IDENTIFIER)
        .unwrap();
    let aki =
        x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes()).unwrap();
    format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(aki.key_identifier.unwrap().as_bytes()),
        Base64UrlUnpadded::encode_string(tbs.serial_number().as_bytes())
    )
}

fn renew_at(store: &KeyStore) -> SystemTime {
    acme::managed(store).unwrap()[0].renew_at()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_in_the_past_renews_now_and_the_order_replaces_the_old_certificate() {
    let now = whole_seconds(SystemTime::now());
    let window = Answer::Window {
        start: now - 2 * DAY,
        end: now - DAY,
    };
    let (_pebble, proxy, store, acme, _responder) = issued(window).await;
    let old = leaf_der(&store, "site");
    // By the lifetime rule this is years away (pebble's certificates last five).
    assert!(renew_at(&store) > now + 365 * DAY);

    let renewals = acme.renew_due(now, &Solver::http01()).await.unwrap();
    assert_eq!(renewals.len(), 1);
    assert!(
        matches!(renewals[0].outcome(), RenewOutcome::Renewed(_)),
        "{:?}",
        renewals[0].outcome()
    );
    assert_ne!(leaf_der(&store, "site"), old);
    assert_eq!(proxy.asked(), [cert_id(&old)]);
    assert_eq!(proxy.new_orders(), [None, Some(cert_id(&old))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_in_the_future_schedules_the_renewal_inside_it() {
    let now = whole_seconds(SystemTime::now());
    let (start, end) = (now + 10 * DAY, now + 20 * DAY);
    let (_pebble, proxy, store, acme, _responder) = issued(Answer::Window { start, end }).await;
    let old = leaf_der(&store, "site");

    assert!(
        acme.renew_due(now, &Solver::http01())
            .await
            .unwrap()
            .is_empty()
    );
    let at = renew_at(&store);
    assert!(start <= at && at <= end, "{at:?} not in {start:?}..{end:?}");
    assert_eq!(proxy.asked(), [cert_id(&old)]);
    assert_eq!(proxy.new_orders(), [None]);

    // The chosen time stays while the window holds it; at that time, the entry renews.
    assert!(
        acme.renew_due(at - Duration::from_secs(1), &Solver::http01())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(renew_at(&store), at);
    let renewals = acme.renew_due(at, &Solver::http01()).await.unwrap();
    assert!(
        matches!(renewals[0].outcome(), RenewOutcome::Renewed(_)),
        "{:?}",
        renewals[0].outcome()
    );
    assert_ne!(leaf_der(&store, "site"), old);
    assert_eq!(proxy.new_orders(), [None, Some(cert_id(&old))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_renewal_information_falls_back_to_a_third_of_the_lifetime() {
    let (_pebble, proxy, store, acme, _responder) = issued(Answer::Fail).await;
    let old = leaf_der(&store, "site");
    let by_lifetime = renew_at(&store);

    let now = SystemTime::now();
    assert!(
        acme.renew_due(now, &Solver::http01())
            .await
            .unwrap()
            .is_empty()
    );
    // It was asked (and failed); the lifetime rule's time stands.
    assert_eq!(proxy.asked(), [cert_id(&old)]);
    assert_eq!(renew_at(&store), by_lifetime);

    let renewals = acme
        .renew_due(by_lifetime, &Solver::http01())
        .await
        .unwrap();
    assert!(
        matches!(renewals[0].outcome(), RenewOutcome::Renewed(_)),
        "{:?}",
        renewals[0].outcome()
    );
    assert_ne!(leaf_der(&store, "site"), old);
    assert_eq!(proxy.asked().len(), 2);
}
