//! Issuance against pebble by each challenge type: http-01 from the store's responder,
//! tls-alpn-01 from `StoreResolver` (and the standalone responder), dns-01 through a provider;
//! the chains verify with `openssl verify`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keymanager::acme::{
    self, ChallengeKind, Http01Responder, IssueRequest, OrderState, Progress, Solver,
    TlsAlpn01Responder,
};
use keymanager::{EntryState, KeyType};

use crate::common::acme::{ChalltestProvider, account, assert_chain_verifies, issue, tls_server};
use crate::common::fixtures::memory_store;
use crate::common::pebble::Pebble;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_issues_into_the_store_and_the_chain_verifies() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    assert!(acme.created());
    let _responder = Http01Responder::bind(&store, ([127, 0, 0, 1], pebble.http_port()).into())
        .await
        .unwrap();
    let steps = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&steps);
    let acme = acme.on_progress(move |p| seen.lock().unwrap().push(p.clone()));
    let issued = acme
        .issue(
            // An IP identifier too (RFC 8738): pebble validates 127.0.0.1 like a name.
            &IssueRequest::new("www", ["www.example.test", "alt.example.test"])
                .ip([127, 0, 0, 1].into()),
            &Solver::http01(),
        )
        .await
        .unwrap();
    assert_eq!(issued.name(), "www");
    assert!(!issued.resumed());
    let entry = store.entry("www").unwrap();
    assert_eq!(entry.state(), EntryState::Installed);
    assert_chain_verifies(
        &store,
        &pebble,
        "www",
        &[
            "www.example.test",
            "alt.example.test",
            "IP Address:127.0.0.1",
        ],
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
    {
        let steps = steps.lock().unwrap();
        for wanted in [Progress::Finalize, Progress::Download] {
            assert!(steps.contains(&wanted), "{steps:?}");
        }
    }
    assert_eq!(pebble.new_orders(), 1);

    // Renewing on request, before it is due: a new key and certificate under the same name.
    let renewed = acme.renew("www", &Solver::http01()).await.unwrap();
    assert_eq!(renewed.name(), "www");
    assert_ne!(
        store.entry("www").unwrap().fingerprint(),
        entry.fingerprint()
    );
    assert_eq!(store.entries().unwrap().len(), 1);
    assert_eq!(pebble.new_orders(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_is_answered_by_the_store_resolver() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    let (_resolver, server) = tls_server(&store, pebble.tls_port()).await;
    let issued = acme
        .issue(
            // The address's challenge is asked for by its reverse name (RFC 8738 §6). An ECDSA
            // key: the CA certifies it as any other.
            &IssueRequest::new("tls", ["tls.example.test"])
                .ip([127, 0, 0, 1].into())
                .key_type(KeyType::EcdsaP256),
            &Solver::tls_alpn01(),
        )
        .await
        .unwrap();
    server.abort();
    assert_eq!(issued.name(), "tls");
    let ecdsa = store.entry("tls").unwrap();
    assert_eq!(ecdsa.key_type(), KeyType::EcdsaP256);
    assert_chain_verifies(
        &store,
        &pebble,
        "tls",
        &["tls.example.test", "IP Address:127.0.0.1"],
    );
    assert_eq!(
        acme::managed(&store).unwrap()[0].challenge(),
        ChallengeKind::TlsAlpn01
    );

    // The standalone responder (for a command line with no server on 443) answers too.
    let address = ([127, 0, 0, 1], pebble.tls_port()).into();
    let mut attempts = 0;
    let responder = loop {
        // The aborted server's socket closes asynchronously.
        match TlsAlpn01Responder::bind(&store, address).await {
            Ok(r) => break r,
            Err(_) if attempts < 250 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    issue(&acme, "tls2", "tls2.example.test", &Solver::tls_alpn01()).await;
    assert_chain_verifies(&store, &pebble, "tls2", &["tls2.example.test"]);
    // A renewal keeps the key type: a new P-256 key.
    acme.renew("tls", &Solver::tls_alpn01()).await.unwrap();
    drop(responder);
    let renewed = store.entry("tls").unwrap();
    assert_eq!(renewed.key_type(), KeyType::EcdsaP256);
    assert_ne!(renewed.fingerprint(), ecdsa.fingerprint());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns01_goes_through_the_provider_and_covers_a_wildcard() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    let names = ["dns.example.test", "*.dns.example.test"];
    acme.issue(
        &IssueRequest::new("dns", names),
        &Solver::dns01(ChalltestProvider(pebble.dns())),
    )
    .await
    .unwrap();
    assert_chain_verifies(&store, &pebble, "dns", &names);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http01_responder_answers_only_known_tokens() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let store = memory_store();
    let responder = Http01Responder::bind(&store, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for path in [
        "/.well-known/acme-challenge/unknownToken123",
        "/.well-known/acme-challenge/../../etc/passwd",
        "/index.html",
    ] {
        let mut sock = tokio::net::TcpStream::connect(responder.local_addr())
            .await
            .unwrap();
        sock.write_all(format!("GET {path} HTTP/1.1\r\nHost: a.test\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        sock.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 404"), "{path}: {answer}");
    }
    assert_eq!(
        acme::http01_response(&store, "unknownToken123").unwrap(),
        None
    );
}
