//! Certificates from an ACME CA (RFC 8555: Let's Encrypt and every public CA), issued and
//! renewed into the [`KeyStore`] (feature `acme`).
//!
//! The protocol (JWS, nonces, the directory, orders, `finalize`, ARI) is
//! [`instant-acme`](https://docs.rs/instant-acme)'s; this module adds what a key manager
//! brings: the key and its request are made and kept by the store, the order is recorded in
//! the store so a killed process resumes it, the certificate is installed through
//! [`Transaction::install_certificate_with`] with all of its checks, and challenges are
//! answered from the store, so any process sharing the store file can answer them.
//!
//! ```text
//! Acme::account ─► one account per directory URL, its key sealed in the store, reused
//! Acme::issue   ─► 1. pending key + request      (create_pending_from, committed)
//!                  2. new order, its URL recorded (committed before any challenge)
//!                  3. challenges: http-01 (store → http01_response / Http01Responder),
//!                     tls-alpn-01 (store → tls::StoreResolver), dns-01 (your Dns01Provider)
//!                  4. finalize with the store's own request, download the chain
//!                  5. install_certificate_with + "managed by ACME" record, one commit
//! Acme::renew_due(now) ─► each managed entry whose renewal time has come: Transaction::renew,
//!                  then 2–5; the old certificate serves until the new one commits
//! ```
//!
//! # Crashes, failures and resumption
//!
//! The order's URL is committed before any challenge is answered. A process killed after
//! that resumes **that** order at the next [`Acme::issue`] (or [`Acme::renew_due`]) for the
//! same entry: no second order is placed (CAs rate-limit new orders). A failed order leaves the
//! store as it was apart from its record ([`orders`]); the key stays pending, and the next
//! call resumes the order if the CA still has it, or records it as cancelled and places a new
//! one for the same pending key.
//!
//! # Async and blocking
//!
//! Everything here is async (tokio) except the store reads ([`orders`], [`managed`],
//! [`http01_response`]), which are quick. Store writes that can be slow (RSA key generation,
//! seconds at 4096 bits) run on tokio's blocking pool (`spawn_blocking`), never on the async
//! threads, so this module needs a multi-threaded runtime or one with a blocking pool (any
//! `tokio::runtime::Runtime`). [`KeyStore::open`] (Argon2, by design slow) is the caller's:
//! call it before entering async code or inside `spawn_blocking`.
//!
//! # Example
//!
//! ```no_run
//! use keymanager::acme::{Acme, AccountOptions, Http01Responder, IssueRequest, Solver};
//! use keymanager::KeyStore;
//!
//! # async fn run() -> keymanager::Result<()> {
//! let store = KeyStore::open("/etc/myserver/keys.db", "passphrase")?;
//! let options = AccountOptions::new("https://acme-staging-v02.api.letsencrypt.org/directory")
//!     .contact("mailto:admin@example.com")
//!     .agree_to_terms(true);
//! let acme = Acme::account(&store, options).await?;
//!
//! // Answer http-01 on port 80 from the store (or call `http01_response` from your router).
//! let _responder = Http01Responder::bind(&store, "0.0.0.0:80".parse().unwrap()).await?;
//! let issued = acme
//!     .issue(&IssueRequest::new("www", ["www.example.com"]), &Solver::http01())
//!     .await?;
//! println!("{} valid until {:?}", issued.name(), issued.not_after());
//!
//! // Later, periodically (or `acme.spawn_renewer(..)`):
//! for renewal in acme.renew_due(std::time::SystemTime::now(), &Solver::http01()).await? {
//!     println!("{}: {:?}", renewal.name(), renewal.outcome());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`Transaction::install_certificate_with`]: crate::Transaction::install_certificate_with

mod account;
mod challenge;
mod http;
mod issue;
mod problem;
mod record;
mod renew;
mod request;
mod tls_alpn;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use crate::error::{AcmeError, Result};
use crate::store::KeyStore;

pub use challenge::{
    ChallengeKind, Dns01Provider, DnsFuture, HTTP01_PATH, Http01Responder, Solver,
    TlsAlpn01Responder, http01_response,
};
pub use record::{Managed, OrderRecord, OrderState, managed, orders};
pub use renew::{RenewOutcome, RenewPolicy, Renewal, Renewer};
pub use request::{Identifier, IssueRequest};

/// The first wait between polls of an order, by default: [`AccountOptions::poll_interval`].
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// The shortest first wait between polls: a zero would poll in a busy loop.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// The default key size of issued certificates, in bits.
pub const DEFAULT_BITS: usize = 2048;

// ---------------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------------

/// How to reach a CA and register (or reload) the account there: see [`Acme::account`].
#[derive(Clone)]
pub struct AccountOptions {
    pub(crate) directory: String,
    pub(crate) contact: Vec<String>,
    pub(crate) agree_to_terms: bool,
    pub(crate) eab: Option<ExternalAccountBinding>,
    pub(crate) ca_root: Option<PathBuf>,
    pub(crate) request_timeout: Duration,
    pub(crate) validation_timeout: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) deactivate_authorizations: bool,
}

impl fmt::Debug for AccountOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountOptions")
            .field("directory", &self.directory)
            .field("contact", &self.contact)
            .field("agree_to_terms", &self.agree_to_terms)
            .field("eab", &self.eab)
            .field("ca_root", &self.ca_root)
            .field("request_timeout", &self.request_timeout)
            .field("validation_timeout", &self.validation_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("deactivate_authorizations", &self.deactivate_authorizations)
            .finish()
    }
}

impl AccountOptions {
    /// The CA's directory URL (`https://...`), e.g. Let's Encrypt's staging directory
    /// `https://acme-staging-v02.api.letsencrypt.org/directory`. No contact, terms not agreed,
    /// no external account binding, the system's roots, 30 s per request, 120 s to validate,
    /// polled from 250 ms on.
    pub fn new(directory: impl Into<String>) -> Self {
        Self {
            directory: directory.into(),
            contact: Vec::new(),
            agree_to_terms: false,
            eab: None,
            ca_root: None,
            request_timeout: Duration::from_secs(30),
            validation_timeout: Duration::from_secs(120),
            poll_interval: DEFAULT_POLL_INTERVAL,
            deactivate_authorizations: false,
        }
    }

    /// Adds a contact URL (`mailto:admin@example.com`); used when the account is created.
    pub fn contact(mut self, contact: impl Into<String>) -> Self {
        self.contact.push(contact.into());
        self
    }

    /// Agrees to the CA's terms of service, which every public CA requires to create an account.
    pub fn agree_to_terms(mut self, agree: bool) -> Self {
        self.agree_to_terms = agree;
        self
    }

    /// The external account binding the CA gave you (commercial CAs require one).
    pub fn external_account_binding(mut self, eab: ExternalAccountBinding) -> Self {
        self.eab = Some(eab);
        self
    }

    /// A PEM file holding the root certificate that the ACME API's own TLS certificate chains
    /// to, for private and test CAs (pebble); public CAs need none.
    pub fn ca_root(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.ca_root = Some(pem_file.into());
        self
    }

    /// The longest wait for one request to the CA (30 s by default); past it,
    /// [`AcmeError::Timeout`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The longest wait for the CA to validate the challenges, and then to issue
    /// (120 s by default each); past it, [`AcmeError::Timeout`] and the order stays open, to be
    /// resumed by the next call.
    pub fn validation_timeout(mut self, timeout: Duration) -> Self {
        self.validation_timeout = timeout;
        self
    }

    /// The first wait between two polls of an order while the CA validates, then while it
    /// issues; each later wait is 1.5 times the one before, until
    /// [`validation_timeout`](Self::validation_timeout). 250 ms by default, which suits public
    /// CAs (they validate in about a second and send `Retry-After` when they want to be left
    /// alone); a CA on the same network answers sooner. At least 10 ms: shorter waits are
    /// raised to it; at most the validation timeout: longer ones are cut to it.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(MIN_POLL_INTERVAL);
        self
    }

    /// Deactivates the order's authorizations once its certificate is downloaded
    /// ([RFC 8555 §7.5.2](https://www.rfc-editor.org/rfc/rfc8555#section-7.5.2)). A CA may
    /// otherwise reuse a valid authorization for later orders of the same account (Let's
    /// Encrypt does, for a period it sets; pebble does at random): with this on, every order proves control of
    /// its names again, and whoever steals the account key cannot issue for them without
    /// solving a challenge. Off by default, as in certbot: reuse saves a challenge round.
    /// Best effort: a failure to deactivate does not fail the issuance.
    pub fn deactivate_authorizations(mut self, deactivate: bool) -> Self {
        self.deactivate_authorizations = deactivate;
        self
    }

    /// The directory URL.
    pub fn directory(&self) -> &str {
        &self.directory
    }
}

/// An external account binding (RFC 8555 §7.3.4): the key id and HMAC key a CA gives you to
/// tie the ACME account to your account with it. The HMAC key is zeroized on drop and never
/// shown by `Debug`.
#[derive(Clone)]
pub struct ExternalAccountBinding {
    pub(crate) key_id: String,
    pub(crate) hmac_key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for ExternalAccountBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalAccountBinding")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ExternalAccountBinding {
    /// A binding from the key id and the raw HMAC key bytes.
    pub fn new(key_id: impl Into<String>, hmac_key: impl Into<Vec<u8>>) -> Self {
        Self {
            key_id: key_id.into(),
            hmac_key: Zeroizing::new(hmac_key.into()),
        }
    }

    /// A binding from the key id and the HMAC key as CAs print it: base64url, padded or not.
    /// A key that does not decode is [`AcmeError::InvalidOptions`].
    pub fn from_base64url(key_id: impl Into<String>, hmac_key: &str) -> Result<Self> {
        let key = challenge::base64url_decode(hmac_key.trim()).ok_or_else(|| {
            AcmeError::InvalidOptions {
                reason: "the external account binding's HMAC key is not base64url text: copy it \
                         again from the CA's account page"
                    .into(),
            }
        })?;
        if key.is_empty() {
            return Err(AcmeError::InvalidOptions {
                reason: "the external account binding's HMAC key is empty".into(),
            }
            .into());
        }
        Ok(Self::new(key_id, key.to_vec()))
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// An ACME account at one CA, with the store its certificates go to. Cheap to clone.
///
/// Made by [`Acme::account`]; the store holds one account per directory URL, its key sealed
/// like the server keys, and every later run reloads it.
#[derive(Clone)]
pub struct Acme {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: KeyStore,
    pub(crate) account: instant_acme::Account,
    pub(crate) directory: String,
    pub(crate) created: bool,
    pub(crate) request_timeout: Duration,
    pub(crate) validation_timeout: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) deactivate_authorizations: bool,
    pub(crate) progress: Option<ProgressHook>,
    /// The last `Retry-After` the CA sent with a refusal.
    pub(crate) retry_after: http::RetryAfter,
}

/// Called at each step of an issuance: see [`Acme::on_progress`].
pub type ProgressHook = Arc<dyn Fn(&Progress) + Send + Sync>;

impl fmt::Debug for Acme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acme")
            .field("directory", &self.inner.directory)
            .field("account", &self.inner.account.id())
            .finish_non_exhaustive()
    }
}

impl Acme {
    /// Loads the store's account for `options.directory`, or registers a new one and seals its
    /// key and credentials in the store (one account per directory URL, reused by every later
    /// run). Creating one needs [`AccountOptions::agree_to_terms`] (else
    /// [`AcmeError::TermsNotAgreed`]) and, at CAs that require it, an external account binding
    /// ([`AcmeError::ExternalAccountRequired`]).
    ///
    /// Contacts the CA (its directory, and a new-account request the first time).
    pub async fn account(store: &KeyStore, options: AccountOptions) -> Result<Acme> {
        account::load_or_create(store, options).await
    }

    /// Reports each step of [`issue`](Self::issue) and the renewals to `hook` (for a spinner
    /// or a log line). The hook runs on the async task: keep it quick.
    pub fn on_progress(self, hook: impl Fn(&Progress) + Send + Sync + 'static) -> Acme {
        let inner = &self.inner;
        Acme {
            inner: Arc::new(Inner {
                store: inner.store.clone(),
                account: inner.account.clone(),
                directory: inner.directory.clone(),
                created: inner.created,
                request_timeout: inner.request_timeout,
                validation_timeout: inner.validation_timeout,
                poll_interval: inner.poll_interval,
                deactivate_authorizations: inner.deactivate_authorizations,
                progress: Some(Arc::new(hook)),
                retry_after: Arc::clone(&inner.retry_after),
            }),
        }
    }

    /// The directory URL.
    pub fn directory(&self) -> &str {
        &self.inner.directory
    }

    /// The account's URL at the CA.
    pub fn account_url(&self) -> &str {
        self.inner.account.id()
    }

    /// Whether [`account`](Self::account) registered a new account (`false`: it reloaded the
    /// store's).
    pub fn created(&self) -> bool {
        self.inner.created
    }

    /// The store certificates go to.
    pub fn store(&self) -> &KeyStore {
        &self.inner.store
    }

    /// Gets a certificate for `request` into the store: the pending entry `request.name` (its
    /// key and request made by the store), an order at the CA recorded in the store, the
    /// challenges answered through `solver`, the store's own request sent to finalize, and the
    /// chain installed with [`Transaction::install_certificate_with`]'s checks; the entry is
    /// then managed by ACME ([`managed`], [`renew_due`](Self::renew_due)).
    ///
    /// If the store already has an open order for this entry (a process was killed, or an
    /// earlier call failed), that order is resumed instead of placing a new one; if the CA no
    /// longer has it, it is recorded as cancelled and a new order is placed for the same
    /// pending key. If the entry exists and is pending with no order, its key and request are
    /// used.
    ///
    /// Errors: a CA problem ([`AcmeError`]'s variants name them: rejected identifier, rate
    /// limit with Retry-After, failed validation, ...), [`AcmeError::Timeout`],
    /// [`AcmeError::Network`], an install error; in each case nothing is installed, the
    /// order's record says how it ended (failed, or still open with the error noted), and the
    /// key stays pending for the next call.
    ///
    /// [`Transaction::install_certificate_with`]: crate::Transaction::install_certificate_with
    pub async fn issue(&self, request: &IssueRequest, solver: &Solver) -> Result<Issued> {
        issue::issue(self, request, solver)
            .await
            .map_err(|e| self.retry_after(e))
    }

    /// Renews the ACME-managed entry `name` now, whatever its renewal time: a new key and
    /// request through [`Transaction::renew`] (the old certificate keeps serving), an order
    /// (with `replaces` when the CA offers ARI), then the install, which moves the name and
    /// bindings to the new certificate in one commit. Resumes an open renewal order instead of
    /// placing a second one.
    ///
    /// [`Transaction::renew`]: crate::Transaction::renew
    pub async fn renew(&self, name: &str, solver: &Solver) -> Result<Issued> {
        renew::renew_one(self, name, solver)
            .await
            .map_err(|e| self.retry_after(e))
    }

    /// Renews every entry this account manages whose renewal time has come at `now` (the
    /// window suggested by the CA's ARI when its directory offers `renewalInfo`: a random time
    /// in it, recorded as [`Managed::renew_at`] and kept while the window holds it; else when a
    /// third of the certificate's lifetime is left, minus a random jitter), skipping those
    /// backing off after a failure. A failure is recorded in the store with the next attempt
    /// time (exponential backoff, capped: [`RenewPolicy`]) and reported in the result; it does
    /// not stop the other renewals. `now` is a parameter so that tests can move the clock.
    pub async fn renew_due(&self, now: SystemTime, solver: &Solver) -> Result<Vec<Renewal>> {
        renew::renew_due(self, now, solver, &RenewPolicy::default()).await
    }

    /// [`renew_due`](Self::renew_due) with a renewal policy.
    pub async fn renew_due_with(
        &self,
        now: SystemTime,
        solver: &Solver,
        policy: &RenewPolicy,
    ) -> Result<Vec<Renewal>> {
        renew::renew_due(self, now, solver, policy).await
    }

    /// Starts a tokio task that calls [`renew_due`](Self::renew_due) with the current time
    /// every `every`, reporting each result to `report`. Must be called inside a tokio
    /// runtime. The task ends when the returned [`Renewer`] is stopped or dropped.
    pub fn spawn_renewer(
        &self,
        solver: Solver,
        every: Duration,
        report: impl Fn(Result<Vec<Renewal>>) + Send + Sync + 'static,
    ) -> Renewer {
        renew::spawn(self.clone(), solver, every, report)
    }

    /// Gives up the open order of entry `name`: records it as cancelled (and deactivates its
    /// pending authorizations at the CA when it can). The pending key stays; the next
    /// [`issue`](Self::issue) places a new order for it. Returns whether there was an open
    /// order.
    pub async fn cancel(&self, name: &str) -> Result<bool> {
        issue::cancel(self, name)
            .await
            .map_err(|e| self.retry_after(e))
    }

    /// A `rateLimited` error with the `Retry-After` the CA sent, when it sent one.
    pub(crate) fn retry_after(&self, e: crate::Error) -> crate::Error {
        http::with_retry_after(e, &self.inner.retry_after)
    }

    pub(crate) fn progress(&self, step: Progress) {
        if let Some(hook) = &self.inner.progress {
            hook(&step);
        }
    }
}

/// A certificate [`Acme::issue`] or a renewal installed: committed and served from now on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub(crate) name: String,
    pub(crate) order_url: String,
    pub(crate) not_after: SystemTime,
    pub(crate) resumed: bool,
    pub(crate) chain_pem: String,
}

impl Issued {
    /// The entry's name in the store.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The order's URL at the CA.
    pub fn order_url(&self) -> &str {
        &self.order_url
    }

    /// The end of the certificate's validity.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// Whether an order recorded by an earlier run was resumed (rather than a new one placed).
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The chain as installed, leaf first, PEM.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }
}

/// A step of an issuance, as reported to [`Acme::on_progress`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Preparing in the store (blocking pool): the key and request, unless the entry is
    /// pending already or has an open order, and the order's record.
    Key {
        /// The entry.
        name: String,
    },
    /// Placing a new order.
    Order {
        /// The entry.
        name: String,
    },
    /// Resuming the recorded order at `url`.
    Resume {
        /// The entry.
        name: String,
        /// The order's URL.
        url: String,
    },
    /// Answering the challenge for an identifier.
    Challenge {
        /// The identifier.
        identifier: String,
        /// The challenge type.
        kind: ChallengeKind,
    },
    /// Waiting for the CA to validate.
    Validate,
    /// Sending the request to finalize.
    Finalize,
    /// Downloading the chain.
    Download,
    /// Installing and committing.
    Install {
        /// The entry.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_interval_below_the_floor_is_raised_to_it() {
        let options = |d| AccountOptions::new("https://ca.test/dir").poll_interval(d);
        assert_eq!(options(Duration::ZERO).poll_interval, MIN_POLL_INTERVAL);
        assert_eq!(
            options(Duration::from_millis(9)).poll_interval,
            MIN_POLL_INTERVAL
        );
        let two = Duration::from_secs(2);
        assert_eq!(options(two).poll_interval, two);
        let default = AccountOptions::new("https://ca.test/dir");
        assert_eq!(default.poll_interval, DEFAULT_POLL_INTERVAL);
    }
}
