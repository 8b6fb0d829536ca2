//! Renewals: when each managed entry is due, [`renew_due`] and the background [`Renewer`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use instant_acme::CertificateIdentifier;
use rand::RngExt;
use rand::rngs::SysRng;
use tokio::task::JoinHandle;

use super::challenge::ChallengeKind;
use super::issue::{self, Prepared, Target};
use super::problem::blocking;
use super::{Acme, DEFAULT_BITS, Issued, Managed, Progress, Solver};
use crate::certificate::Certificate;
use crate::error::{Error, Result, StoreError};
use crate::store::acme::AcmeManagedRow;

/// When renewals happen and how failures back off.
///
/// A certificate is due when a third of its lifetime is left, minus a random jitter of up to
/// `jitter_percent` of its lifetime (2 % by default: for a 90-day certificate, up to 43 hours
/// earlier), so that a fleet issued at once does not renew at once. When the CA offers ARI
/// (RFC 9773), its suggested window decides instead, at a random point inside it. After
/// `n` failures in a row the next attempt waits `backoff_base × 2^(n-1)`, at most
/// `backoff_cap` (10 minutes and 1 day by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewPolicy {
    jitter_percent: u8,
    backoff_base: Duration,
    backoff_cap: Duration,
}

impl Default for RenewPolicy {
    fn default() -> Self {
        Self {
            jitter_percent: 2,
            backoff_base: Duration::from_secs(600),
            backoff_cap: Duration::from_secs(24 * 3600),
        }
    }
}

impl RenewPolicy {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest jitter, in percent of the lifetime (at most 30).
    pub fn jitter_percent(mut self, percent: u8) -> Self {
        self.jitter_percent = percent.min(30);
        self
    }

    /// The first backoff after a failure, and the longest.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap.max(base);
        self
    }

    /// The wait after `failures` failures in a row.
    pub fn backoff_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.backoff_base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.backoff_cap)
            .min(self.backoff_cap)
    }
}

/// The renewal time of a certificate valid from `not_before` to `not_after`: a third of its
/// lifetime before the end, minus the policy's random jitter.
pub(super) fn renew_at(
    not_before: SystemTime,
    not_after: SystemTime,
    policy: &RenewPolicy,
) -> SystemTime {
    let lifetime = not_after.duration_since(not_before).unwrap_or_default();
    let base = not_after.checked_sub(lifetime / 3).unwrap_or(not_before);
    let max_jitter = lifetime.as_secs() * u64::from(policy.jitter_percent) / 100;
    let jitter = if max_jitter == 0 {
        0
    } else {
        rand::rng().random_range(0..=max_jitter)
    };
    base.checked_sub(Duration::from_secs(jitter))
        .unwrap_or(base)
}

/// One entry's renewal, as [`Acme::renew_due`] reports it.
#[derive(Debug)]
pub struct Renewal {
    name: String,
    outcome: RenewOutcome,
}

impl Renewal {
    /// The entry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What happened.
    pub fn outcome(&self) -> &RenewOutcome {
        &self.outcome
    }

    /// The outcome, owned.
    pub fn into_outcome(self) -> RenewOutcome {
        self.outcome
    }
}

/// What a due renewal came to.
#[derive(Debug)]
#[non_exhaustive]
pub enum RenewOutcome {
    /// The new certificate is installed and serving.
    Renewed(Issued),
    /// It failed; the old certificate keeps serving. Recorded in the store with the next
    /// attempt's time.
    Failed {
        /// Why.
        error: Error,
        /// No attempt before this time.
        retry_at: SystemTime,
    },
}

/// [`Acme::renew_due`].
pub(super) async fn renew_due(
    acme: &Acme,
    now: SystemTime,
    solver: &Solver,
    policy: &RenewPolicy,
) -> Result<Vec<Renewal>> {
    let store = acme.inner.store.clone();
    let rows = blocking(move || store.acme_managed()).await?;
    let mut out = Vec::new();
    for row in rows {
        if row.directory != acme.inner.directory {
            continue;
        }
        if row.retry_at.is_some_and(|t| t > now) {
            continue;
        }
        let leaf = {
            let (store, name) = (acme.inner.store.clone(), row.entry.clone());
            blocking(move || store.acme_leaf(&name)).await
        };
        let leaf = match leaf {
            Ok(Some(der)) => Certificate::from_der(&der).ok(),
            Ok(None) | Err(Error::Store(StoreError::NotFound { .. })) => {
                // The entry was removed: stop managing it.
                let (store, name) = (acme.inner.store.clone(), row.entry.clone());
                blocking(move || {
                    let mut tx = store.begin()?;
                    tx.acme_unmanage(&name)?;
                    tx.commit()
                })
                .await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (due, replaces) = match ari_window(acme, leaf.as_ref()).await {
            Some((start, end, id)) => {
                // RFC 9773 §4.2: a uniformly random time in the window. It is recorded and
                // kept while the window holds it (`managed` shows it); picking anew at every
                // call would renew near the window's start, not spread over it.
                let at = if (start..=end).contains(&row.renew_at) {
                    row.renew_at
                } else {
                    let span = end.duration_since(start).unwrap_or_default().as_secs();
                    let at = start + Duration::from_secs(rand::rng().random_range(0..=span));
                    let (store, name) = (acme.inner.store.clone(), row.entry.clone());
                    blocking(move || {
                        let mut tx = store.begin()?;
                        tx.acme_set_renew_at(&name, at)?;
                        tx.commit()
                    })
                    .await?;
                    at
                };
                (at <= now, Some(id))
            }
            None => (row.renew_at <= now, None),
        };
        if !due {
            continue;
        }
        let bits = usize::try_from(row.key_bits).unwrap_or(DEFAULT_BITS);
        let outcome = match renew_entry(acme, &row.entry, bits, solver, policy, replaces).await {
            Ok(issued) => RenewOutcome::Renewed(issued),
            Err(error) => {
                let error = acme.retry_after(error);
                let failures = u32::try_from(row.failures)
                    .unwrap_or(u32::MAX)
                    .saturating_add(1);
                // Whole seconds, as the store keeps it.
                let retry_at = whole_seconds(now + policy.backoff_after(failures));
                let (store, name, text) = (
                    acme.inner.store.clone(),
                    row.entry.clone(),
                    error.to_string(),
                );
                blocking(move || {
                    let mut tx = store.begin()?;
                    tx.acme_renewal_failed(&name, failures, retry_at, &text)?;
                    tx.commit()
                })
                .await?;
                RenewOutcome::Failed { error, retry_at }
            }
        };
        out.push(Renewal {
            name: row.entry,
            outcome,
        });
    }
    Ok(out)
}

/// [`Acme::renew`]: renews `name` now.
pub(super) async fn renew_one(acme: &Acme, name: &str, solver: &Solver) -> Result<Issued> {
    let (store, entry) = (acme.inner.store.clone(), name.to_owned());
    let managed = blocking(move || store.acme_managed()).await?;
    let bits = managed
        .iter()
        .find(|m| m.entry == entry)
        .and_then(|m| usize::try_from(m.key_bits).ok())
        .unwrap_or(DEFAULT_BITS);
    let (store, entry) = (acme.inner.store.clone(), name.to_owned());
    let leaf = blocking(move || store.acme_leaf(&entry))
        .await?
        .and_then(|der| Certificate::from_der(&der).ok());
    let replaces = ari_window(acme, leaf.as_ref()).await.map(|(_, _, id)| id);
    renew_entry(acme, name, bits, solver, &RenewPolicy::default(), replaces).await
}

/// Renews `name` through the store's renewal: the entry in state `Renewal` linked to `name`
/// (made now, or left by an earlier attempt, with its open order resumed), then the order,
/// then the install that moves the name and bindings to the new certificate.
async fn renew_entry(
    acme: &Acme,
    name: &str,
    bits: usize,
    solver: &Solver,
    policy: &RenewPolicy,
    replaces: Option<CertificateIdentifier<'static>>,
) -> Result<Issued> {
    let store = acme.inner.store.clone();
    let directory = acme.inner.directory.clone();
    let (name, kind) = (name.to_owned(), solver.kind);
    acme.progress(Progress::Key { name: name.clone() });
    let prepared = blocking(move || prepare_renewal(&store, &directory, &name, bits, kind)).await?;
    issue::run(
        acme,
        prepared,
        solver,
        Target {
            bits,
            replaces,
            policy: policy.clone(),
        },
    )
    .await
}

fn prepare_renewal(
    store: &crate::store::KeyStore,
    directory: &str,
    name: &str,
    bits: usize,
    kind: ChallengeKind,
) -> Result<Prepared> {
    // The renewal is found by its link to `name`, never by its name: an entry merely called
    // `name (renewal)` is not taken for it.
    let existing = match store.renewal_of(name)? {
        Some(renewal) => {
            if let Some(open) = store.acme_open_order(renewal.name())? {
                return issue::prepare_resume(store, directory, open);
            }
            let csr = store.acme_pending_request(renewal.name())?;
            csr.map(|csr| (renewal.name().to_owned(), csr))
        }
        None => None,
    };
    let mut tx = store.begin()?;
    let (renewal, csr) = match existing {
        Some(found) => found,
        None => tx.renew_named(&mut SysRng, name, bits)?,
    };
    let identifiers = issue::identifiers_of(&csr);
    let texts: Vec<String> = identifiers.iter().map(ToString::to_string).collect();
    let order_id = tx.acme_insert_order(directory, &renewal, &texts, kind.as_str())?;
    tx.commit()?;
    Ok(Prepared {
        order_id,
        entry: renewal,
        url: None,
        request_der: csr.to_der(),
        identifiers,
        resumed: false,
    })
}

/// The CA's suggested renewal window for `leaf` and its ARI identifier, when the directory
/// offers `renewalInfo` (RFC 9773); `None` otherwise or on any failure (the lifetime rule
/// then decides).
async fn ari_window(
    acme: &Acme,
    leaf: Option<&Certificate>,
) -> Option<(SystemTime, SystemTime, CertificateIdentifier<'static>)> {
    let leaf = leaf?;
    let aki = leaf.authority_key_id()?.to_vec();
    let id = CertificateIdentifier::new(
        rustls::pki_types::Der::from_slice(&aki),
        rustls::pki_types::Der::from_slice(leaf.serial_der()),
    )
    .into_owned();
    let (info, _) = tokio::time::timeout(
        acme.inner.request_timeout,
        acme.inner.account.renewal_info(&id),
    )
    .await
    .ok()?
    .ok()?;
    let at = |unix: i64| -> Option<SystemTime> {
        UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(unix).ok()?))
    };
    Some((
        at(info.suggested_window.start.unix_timestamp())?,
        at(info.suggested_window.end.unix_timestamp())?,
        id,
    ))
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

/// A store row as the public record.
pub(super) fn managed_from_row(row: AcmeManagedRow) -> Result<Managed> {
    Ok(Managed {
        challenge: ChallengeKind::parse(&row.challenge).ok_or_else(|| StoreError::Corrupt {
            reason: "an ACME entry record has an unknown challenge type".into(),
        })?,
        bits: usize::try_from(row.key_bits).unwrap_or(DEFAULT_BITS),
        failures: u32::try_from(row.failures).unwrap_or(u32::MAX),
        name: row.entry,
        directory: row.directory,
        renew_at: row.renew_at,
        retry_at: row.retry_at,
        last_error: row.last_error,
    })
}

/// The background renewal task made by [`Acme::spawn_renewer`]. Stops when dropped.
pub struct Renewer {
    task: JoinHandle<()>,
}

impl fmt::Debug for Renewer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renewer").finish_non_exhaustive()
    }
}

impl Renewer {
    /// Stops the task (a renewal in progress is abandoned where it is: its order stays
    /// recorded and the next run resumes it).
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) fn spawn(
    acme: Acme,
    solver: Solver,
    every: Duration,
    report: impl Fn(Result<Vec<Renewal>>) + Send + Sync + 'static,
) -> Renewer {
    let every = every.max(Duration::from_secs(1));
    let task = tokio::spawn(async move {
        loop {
            let result = acme.renew_due(SystemTime::now(), &solver).await;
            report(result);
            tokio::time::sleep(every).await;
        }
    });
    Renewer { task }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RenewPolicy::new().backoff(Duration::from_secs(60), Duration::from_secs(300));
        let waits: Vec<u64> = (1..=5).map(|n| p.backoff_after(n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 300, 300]);
        assert_eq!(p.backoff_after(1000).as_secs(), 300);
    }

    #[test]
    fn renewal_is_a_third_before_the_end_minus_jitter() {
        let start = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let end = start + Duration::from_secs(90 * 86_400);
        let third = end - Duration::from_secs(30 * 86_400);
        let policy = RenewPolicy::new();
        for _ in 0..100 {
            let at = renew_at(start, end, &policy);
            assert!(at <= third);
            assert!(at >= third - Duration::from_secs(90 * 86_400 * 2 / 100));
        }
        assert_eq!(
            renew_at(start, end, &RenewPolicy::new().jitter_percent(0)),
            third
        );
    }
}
