//! ACME issuance and renewal (feature `acme`) against a real ACME server: Debian's pebble on
//! loopback, one per test (tests/common/pebble.rs). Pebble's validator really connects to our
//! http-01 responder and to a tokio-rustls server whose certificates come from
//! `tls::StoreResolver` (tls-alpn-01); dns-01 goes through challtestsrv's management API. The
//! chains verify with `openssl verify` against pebble's root; the served certificates are read
//! with `openssl s_client`.

mod common;

// The command line and the example server (tests/acme/cli.rs).
#[path = "acme"]
mod cli_and_example {
    mod cli;
}

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::fixtures::memory_store;
use common::pebble::{Pebble, PebbleOptions};
use keymanager::acme::{
    self, AccountOptions, Acme, ChallengeKind, Dns01Provider, DnsFuture, ExternalAccountBinding,
    Http01Responder, IssueRequest, OrderState, Progress, RenewOutcome, Solver, TlsAlpn01Responder,
};
use keymanager::error::AcmeError;
use keymanager::tls::{ACME_TLS_ALPN, StoreResolver};
use keymanager::{EntryState, Error, KeyStore};

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

/// Why `Acme::account` fails (it must).
async fn account_error(store: &KeyStore, options: AccountOptions) -> Error {
    Acme::account(store, options).await.unwrap_err()
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

/// A TLS server on 127.0.0.1:`port` (tokio-rustls) whose certificates come from the store
/// through `StoreResolver`, offering ALPN `acme-tls/1` as tls-alpn-01 needs: a connection that
/// negotiated it is closed after the handshake, others get a line of text.
async fn tls_server(
    store: &KeyStore,
    port: u16,
) -> (Arc<StoreResolver>, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncWriteExt;
    let local: SocketAddr = ([127, 0, 0, 1], port).into();
    let listener = tokio::net::TcpListener::bind(local).await.unwrap();
    let resolver = StoreResolver::new(store, local).unwrap();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(sock).await {
                    if tls.get_ref().1.alpn_protocol() != Some(ACME_TLS_ALPN) {
                        let _ = tls.write_all(b"hello\n").await;
                    }
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    (resolver, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_is_answered_by_the_store_resolver() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    let (_resolver, server) = tls_server(&store, pebble.tls_port()).await;
    let issued = acme
        .issue(
            // The address's challenge is asked for by its reverse name (RFC 8738 §6).
            &IssueRequest::new("tls", ["tls.example.test"]).ip([127, 0, 0, 1].into()),
            &Solver::tls_alpn01(),
        )
        .await
        .unwrap();
    server.abort();
    assert_eq!(issued.name(), "tls");
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
    acme.issue(
        &IssueRequest::new("tls2", ["tls2.example.test"]),
        &Solver::tls_alpn01(),
    )
    .await
    .unwrap();
    drop(responder);
    assert_chain_verifies(&store, &pebble, "tls2", &["tls2.example.test"]);
}

/// dns-01 through challtestsrv's management API, as a user's DNS provider would.
struct ChalltestProvider(common::pebble::ChalltestDns);

impl Dns01Provider for ChalltestProvider {
    fn set_txt<'a>(&'a self, record: &'a str, value: &'a str) -> DnsFuture<'a> {
        let (dns, record, value) = (self.0, record.to_owned(), value.to_owned());
        Box::pin(async move {
            let status = tokio::task::spawn_blocking(move || dns.set_txt(&record, &value)).await?;
            if status == 200 {
                Ok(())
            } else {
                Err(format!("challtestsrv answered {status}").into())
            }
        })
    }

    fn clear_txt<'a>(&'a self, record: &'a str) -> DnsFuture<'a> {
        let (dns, record) = (self.0, record.to_owned());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || dns.clear_txt(&record)).await?;
            Ok(())
        })
    }
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
    let entries = store.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].state(), EntryState::Pending);
    assert!(acme::managed(&store).unwrap().is_empty());
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].state(), OrderState::Failed);
    assert!(orders[0].error().unwrap().contains("blocked.test"));

    // A later call uses the same pending key (the store is otherwise unchanged) and
    // records a second order.
    let again = acme.issue(&request, &Solver::http01()).await.unwrap_err();
    assert!(matches!(
        again,
        Error::Acme(AcmeError::RejectedIdentifier { .. })
    ));
    let after = store.entries().unwrap();
    assert_eq!(after, entries);
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
    let entries = store.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].state(), EntryState::Pending);
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders[0].state(), OrderState::Failed);
    assert!(acme::managed(&store).unwrap().is_empty());
}

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
    let store = KeyStore::open_with(
        parts[0],
        common::fixtures::PASSPHRASE,
        &common::fixtures::fast_options(),
    )
    .unwrap();
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
    let path = dir.path().join("keys.db");
    let store = KeyStore::open_with(
        &path,
        common::fixtures::PASSPHRASE,
        &common::fixtures::fast_options(),
    )
    .unwrap();
    let spec = format!(
        "{}\t{}\t{}",
        path.display(),
        pebble.directory(),
        pebble.api_root().display()
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_places_an_order_then_hangs",
            "--test-threads=1",
        ])
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
    let issued = acme
        .issue(
            &IssueRequest::new("crash", ["crash.example.test"]),
            &Solver::http01(),
        )
        .await
        .unwrap();
    assert!(issued.resumed());
    assert_eq!(Some(issued.order_url()), recorded.url());
    assert_eq!(pebble.new_orders(), 1, "no second new-order");
    let orders = acme::orders(&store).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].state(), OrderState::Installed);
    assert_eq!(orders[0].resumed(), 1);
    assert_chain_verifies(&store, &pebble, "crash", &["crash.example.test"]);
}

/// The SHA-256 fingerprint of the certificate `openssl s_client` is served at 127.0.0.1:`port`
/// for `sni`.
fn served_fingerprint(port: u16, sni: &str) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            sni,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let served = String::from_utf8_lossy(&out.stdout).into_owned();
    let pem = pem::parse(served.as_bytes()).unwrap_or_else(|e| panic!("{e}: {served}"));
    fingerprint(pem.contents())
}

fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

fn leaf_der(store: &KeyStore, name: &str) -> Vec<u8> {
    let export = store.export(name, "export-password").unwrap();
    pem::parse_many(export.chain_pem()).unwrap()[0]
        .contents()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_when_due_serves_the_old_certificate_until_the_new_one_commits() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    let port = pebble.tls_port();
    let (resolver, server) = tls_server(&store, port).await;
    let sni = "site.example.test";
    acme.issue(&IssueRequest::new("site", [sni]), &Solver::tls_alpn01())
        .await
        .unwrap();
    let mut tx = store.begin().unwrap();
    tx.bind(format!("127.0.0.1:{port}").parse().unwrap(), "site")
        .unwrap();
    tx.commit().unwrap();
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
async fn the_account_is_reused_across_opens() {
    let pebble = Pebble::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let url = {
        let store = KeyStore::open_with(
            &path,
            common::fixtures::PASSPHRASE,
            &common::fixtures::fast_options(),
        )
        .unwrap();
        let acme = account(&store, &pebble).await;
        assert!(acme.created());
        acme.account_url().to_owned()
    };
    let store = KeyStore::open_with(
        &path,
        common::fixtures::PASSPHRASE,
        &common::fixtures::fast_options(),
    )
    .unwrap();
    let acme = account(&store, &pebble).await;
    assert!(!acme.created());
    assert_eq!(acme.account_url(), url);
    // Without agreement, no account is created: the stored one still loads.
    let reloaded = Acme::account(
        &store,
        AccountOptions::new(pebble.directory()).ca_root(pebble.api_root()),
    )
    .await
    .unwrap();
    assert_eq!(reloaded.account_url(), url);
    let fresh = memory_store();
    let err = account_error(
        &fresh,
        AccountOptions::new(pebble.directory()).ca_root(pebble.api_root()),
    )
    .await;
    assert!(
        matches!(err, Error::Acme(AcmeError::TermsNotAgreed { .. })),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_account_binding_is_required_and_accepted() {
    // The HMAC key as CAs print it: base64url.
    let hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    let pebble = Pebble::start_with(PebbleOptions {
        eab_keys: vec![("kid-1".into(), hmac.into())],
        ..Default::default()
    });
    let store = memory_store();
    let err = account_error(&store, account_options(&pebble)).await;
    assert!(
        matches!(err, Error::Acme(AcmeError::ExternalAccountRequired { .. })),
        "{err:?}"
    );
    let eab = ExternalAccountBinding::from_base64url("kid-1", hmac).unwrap();
    let acme = Acme::account(
        &store,
        account_options(&pebble).external_account_binding(eab),
    )
    .await
    .unwrap();
    assert!(acme.created());
}

/// A DNS provider that refuses: the order stays open at the CA.
struct Refusing;

impl Dns01Provider for Refusing {
    fn set_txt<'a>(&'a self, _: &'a str, _: &'a str) -> DnsFuture<'a> {
        Box::pin(async { Err("the provider's API is down".into()) })
    }

    fn clear_txt<'a>(&'a self, _: &'a str) -> DnsFuture<'a> {
        Box::pin(async { Ok(()) })
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_backs_off_keeps_the_old_certificate_and_recovers() {
    let pebble = Pebble::start();
    let store = memory_store();
    let acme = account(&store, &pebble).await;
    let http = ([127, 0, 0, 1], pebble.http_port()).into();
    let responder = Http01Responder::bind(&store, http).await.unwrap();
    acme.issue(
        &IssueRequest::new("back", ["back.example.test"]),
        &Solver::http01(),
    )
    .await
    .unwrap();
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
    assert_eq!(
        store.entry("back (renewal)").unwrap().state(),
        EntryState::Pending
    );

    // Backing off: not tried again before retry_at.
    let renewals = acme
        .renew_due_with(later + Duration::from_secs(599), &Solver::http01(), &policy)
        .await
        .unwrap();
    assert!(renewals.is_empty());

    // After it, with the responder back: renewed with the pending renewal's key.
    let renewal_key = store.entry("back (renewal)").unwrap().fingerprint();
    let _responder = Http01Responder::bind(&store, http).await.unwrap();
    let renewals = acme
        .renew_due_with(later + Duration::from_secs(600), &Solver::http01(), &policy)
        .await
        .unwrap();
    assert!(matches!(renewals[0].outcome(), RenewOutcome::Renewed(_)));
    let entry = store.entry("back").unwrap();
    assert_eq!(entry.fingerprint(), renewal_key);
    assert_ne!(leaf_der(&store, "back"), old);
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
