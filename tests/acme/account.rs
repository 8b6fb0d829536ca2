//! The ACME account: reused across opens of the store, and external account binding.

use keymanager::Error;
use keymanager::acme::{AccountOptions, Acme, ExternalAccountBinding};
use keymanager::error::AcmeError;

use crate::common::acme::{account, account_error, account_options};
use crate::common::fixtures::{memory_store, store_in};
use crate::common::pebble::{Pebble, PebbleOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_is_reused_across_opens() {
    let pebble = Pebble::start();
    let dir = tempfile::tempdir().unwrap();
    let url = {
        let store = store_in(dir.path());
        let acme = account(&store, &pebble).await;
        assert!(acme.created());
        acme.account_url().to_owned()
    };
    let store = store_in(dir.path());
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
