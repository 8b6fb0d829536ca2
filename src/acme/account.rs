//! [`Acme::account`]: load the store's account for a directory, or register one and seal it.

use std::sync::Arc;

use instant_acme::{Account, AccountBuilder, AccountCredentials, ExternalAccountKey, NewAccount};
use zeroize::Zeroizing;

use super::http::{CaClient, RetryAfter, with_retry_after};
use super::problem::{blocking, bounded};
use super::{AccountOptions, Acme, Inner};
use crate::error::{AcmeError, Error, Result, StoreError};
use crate::store::KeyStore;

pub(super) async fn load_or_create(store: &KeyStore, options: AccountOptions) -> Result<Acme> {
    let slot = RetryAfter::default();
    load_or_create_with(store, options, &slot)
        .await
        .map_err(|e| with_retry_after(e, &slot))
}

async fn load_or_create_with(
    store: &KeyStore,
    options: AccountOptions,
    slot: &RetryAfter,
) -> Result<Acme> {
    let directory = options.directory.clone();
    if !directory.starts_with("https://") {
        return Err(AcmeError::InvalidOptions {
            reason: format!(
                "the directory URL `{}` is not https://: ACME runs over HTTPS only",
                directory.escape_debug()
            ),
        }
        .into());
    }
    let limit = options.request_timeout;
    let stored = {
        let (store, directory) = (store.clone(), directory.clone());
        blocking(move || store.acme_account(&directory)).await?
    };
    let (account, created) = match stored {
        Some(json) => {
            let credentials: AccountCredentials =
                serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt {
                    reason: format!("the stored ACME account for {directory} does not parse ({e})"),
                })?;
            let account = bounded(
                "loading the ACME directory",
                limit,
                builder(&options, slot)?.from_credentials(credentials),
            )
            .await?;
            (account, false)
        }
        None => {
            if !options.agree_to_terms {
                return Err(AcmeError::TermsNotAgreed { directory }.into());
            }
            let contact: Vec<&str> = options.contact.iter().map(String::as_str).collect();
            let eab = options
                .eab
                .as_ref()
                .map(|e| ExternalAccountKey::new(e.key_id.clone(), &e.hmac_key));
            let new_account = NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            };
            // A refused nonce created nothing: try again (instant-acme already retried twice).
            let mut retries = 2;
            let (account, credentials) = loop {
                let created = bounded(
                    "creating the ACME account",
                    limit,
                    builder(&options, slot)?.create(&new_account, directory.clone(), eab.as_ref()),
                )
                .await;
                match created {
                    Err(Error::Acme(AcmeError::BadNonce { .. })) if retries > 0 => retries -= 1,
                    other => break other?,
                }
            };
            let json = Zeroizing::new(serde_json::to_vec(&credentials).map_err(|e| {
                AcmeError::Protocol {
                    during: "saving the ACME account",
                    reason: e.to_string(),
                }
            })?);
            let (store, directory, url, contact) = (
                store.clone(),
                directory.clone(),
                account.id().to_owned(),
                options.contact.clone(),
            );
            blocking(move || {
                let mut tx = store.begin()?;
                tx.acme_put_account(&directory, &url, &contact, &json)?;
                tx.commit()
            })
            .await?;
            (account, true)
        }
    };
    Ok(Acme {
        inner: Arc::new(Inner {
            store: store.clone(),
            account,
            directory,
            created,
            request_timeout: options.request_timeout,
            validation_timeout: options.validation_timeout,
            poll_interval: options.poll_interval,
            deactivate_authorizations: options.deactivate_authorizations,
            progress: None,
            retry_after: Arc::clone(slot),
        }),
    })
}

/// The HTTPS client: the system's roots, or the given root for a private CA; it records the
/// CA's `Retry-After` in `slot`.
fn builder(options: &AccountOptions, slot: &RetryAfter) -> Result<AccountBuilder> {
    let client = CaClient::new(options.ca_root.as_deref(), Arc::clone(slot))?;
    Ok(Account::builder_with_http(Box::new(client)))
}
