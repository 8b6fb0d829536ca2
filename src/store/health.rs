//! [`KeyStore::check`](super::KeyStore::check): the store's health, as an operator (or a
//! monitoring job) wants to know it before a certificate runs out.
//!
//! ```text
//! expired / expiring   an installed certificate past, or within a window of, its notAfter
//! stale pending        a request the CA has not answered for longer than a window
//! weak key             an RSA modulus under a size (2048 bits by default)
//! unbound              an installed entry no endpoint serves
//! host not covered     a host-name binding its entry's certificate does not name
//! ```
//!
//! Every entry is read through its integrity check first, as everywhere in the store: a
//! tampered entry fails the whole check with [`StoreError::Tampered`](crate::error::StoreError::Tampered)
//! rather than being reported as merely unhealthy.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::certificate::Certificate;
use crate::endpoint::Endpoint;
use crate::error::{Result, StoreError};

use super::install::covers_binding;
use super::transaction::Session;
use super::{Entry, EntryState};
use crate::key::{KeyAlgorithm, KeyType};
use crate::time::format_utc;

/// A day, for the default windows.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// What [`KeyStore::check`](super::KeyStore::check) looks for: its windows and thresholds.
/// `new()` (the defaults) and by-value setters, as the other options of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthOptions {
    expiring_within: Duration,
    pending_older_than: Duration,
    min_key_bits: usize,
    min_ecdsa_bits: usize,
    now: Option<SystemTime>,
}

impl Default for HealthOptions {
    fn default() -> Self {
        Self {
            expiring_within: 30 * DAY,
            pending_older_than: 14 * DAY,
            min_key_bits: 2048,
            min_ecdsa_bits: 256,
            now: None,
        }
    }
}

impl HealthOptions {
    /// The defaults: 30 days, 14 days, 2048 bits (RSA), 256 bits (ECDSA), now.
    pub fn new() -> Self {
        Self::default()
    }

    /// An installed certificate that ends within this window from now is
    /// [`HealthProblem::Expiring`]. Default: 30 days.
    pub fn expiring_within(mut self, window: Duration) -> Self {
        self.expiring_within = window;
        self
    }

    /// A pending entry (or renewal) created longer ago than this is
    /// [`HealthProblem::StalePending`].
    /// Default: 14 days.
    pub fn pending_older_than(mut self, age: Duration) -> Self {
        self.pending_older_than = age;
        self
    }

    /// An RSA key with fewer bits is [`HealthProblem::WeakKey`]. Default: 2048.
    pub fn min_key_bits(mut self, bits: usize) -> Self {
        self.min_key_bits = bits;
        self
    }

    /// An ECDSA key on a curve of fewer bits is [`HealthProblem::WeakKey`]. Default: 256
    /// (P-256 and P-384 pass, as NIST SP 800-57 and the CA/Browser Forum allow both); 384
    /// flags P-256 keys, for a policy that asks for P-384.
    pub fn min_ecdsa_bits(mut self, bits: usize) -> Self {
        self.min_ecdsa_bits = bits;
        self
    }

    /// Check against `now` instead of the current time.
    pub fn now(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }
}

/// The result of [`KeyStore::check`](super::KeyStore::check): every problem found, by entry
/// name, then in the order of [`HealthProblem`]'s variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    entries: usize,
    problems: Vec<HealthProblem>,
}

impl HealthReport {
    /// How many entries were checked.
    pub fn entries_checked(&self) -> usize {
        self.entries
    }

    /// The problems found; empty for a healthy store.
    pub fn problems(&self) -> &[HealthProblem] {
        &self.problems
    }

    /// Whether no problem was found.
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One problem found by [`KeyStore::check`](super::KeyStore::check). Its
/// [`Display`](fmt::Display) says what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthProblem {
    /// The installed certificate has expired: clients refuse it.
    Expired {
        /// The entry.
        entry: String,
        /// The certificate's notAfter.
        not_after: SystemTime,
    },
    /// The installed certificate ends within [`HealthOptions::expiring_within`].
    Expiring {
        /// The entry.
        entry: String,
        /// The certificate's notAfter.
        not_after: SystemTime,
    },
    /// A pending request older than [`HealthOptions::pending_older_than`]: the CA has not
    /// answered it, or its certificate was never installed.
    StalePending {
        /// The entry.
        entry: String,
        /// When the entry was created.
        created: SystemTime,
    },
    /// The key is smaller than [`HealthOptions::min_key_bits`] (RSA) or
    /// [`HealthOptions::min_ecdsa_bits`] (ECDSA).
    WeakKey {
        /// The entry.
        entry: String,
        /// The key's type (and so its algorithm).
        key_type: KeyType,
        /// The key's size: the RSA modulus's, or the ECDSA curve's.
        bits: usize,
    },
    /// An installed entry with no endpoint bound to it: nothing serves it.
    Unbound {
        /// The entry.
        entry: String,
    },
    /// A host-name binding whose name the entry's certificate does not cover: clients that
    /// ask for that host get a name mismatch.
    HostNotCovered {
        /// The entry.
        entry: String,
        /// The binding.
        endpoint: Endpoint,
    },
}

impl HealthProblem {
    /// The entry the problem is about.
    pub fn entry(&self) -> &str {
        match self {
            HealthProblem::Expired { entry, .. }
            | HealthProblem::Expiring { entry, .. }
            | HealthProblem::StalePending { entry, .. }
            | HealthProblem::WeakKey { entry, .. }
            | HealthProblem::Unbound { entry }
            | HealthProblem::HostNotCovered { entry, .. } => entry,
        }
    }

    /// A stable, machine-readable name of the kind of problem: `expired`, `expiring`,
    /// `stale-pending`, `weak-key`, `unbound` or `host-not-covered`.
    pub fn kind(&self) -> &'static str {
        match self {
            HealthProblem::Expired { .. } => "expired",
            HealthProblem::Expiring { .. } => "expiring",
            HealthProblem::StalePending { .. } => "stale-pending",
            HealthProblem::WeakKey { .. } => "weak-key",
            HealthProblem::Unbound { .. } => "unbound",
            HealthProblem::HostNotCovered { .. } => "host-not-covered",
        }
    }
}

impl fmt::Display for HealthProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthProblem::Expired { entry, not_after } => write!(
                f,
                "`{entry}`: its certificate expired on {}; renew the entry and install the new certificate",
                format_utc(*not_after)
            ),
            HealthProblem::Expiring { entry, not_after } => write!(
                f,
                "`{entry}`: its certificate expires on {}; renew the entry now",
                format_utc(*not_after)
            ),
            HealthProblem::StalePending { entry, created } => write!(
                f,
                "`{entry}`: pending since {} without a certificate; install the CA's answer, or remove the entry",
                format_utc(*created)
            ),
            HealthProblem::WeakKey {
                entry,
                key_type,
                bits,
            } => write!(
                f,
                "`{entry}`: its key has only {bits} bits ({key_type}); renew the entry with a larger key"
            ),
            HealthProblem::Unbound { entry } => write!(
                f,
                "`{entry}`: installed but bound to no endpoint; bind it, or remove it if it is no longer needed"
            ),
            HealthProblem::HostNotCovered { entry, endpoint } => write!(
                f,
                "`{entry}`: bound to {endpoint}, a host its certificate does not name; unbind it, or renew with that name"
            ),
        }
    }
}

/// The report for every entry of the snapshot `session` reads.
pub(super) fn check(session: &Session<'_>, options: &HealthOptions) -> Result<HealthReport> {
    let now = options.now.unwrap_or_else(SystemTime::now);
    super::rows::check_references(session.conn)?;
    // One entry in memory at a time: a store of 100,000 entries is checked in constant
    // memory but for the problems found.
    let mut entries = 0;
    let mut problems = Vec::new();
    session.for_each_entry("ORDER BY e.name", rusqlite::params![], |entry| {
        entries += 1;
        problems.extend(entry_problems(session, &entry, now, options)?);
        Ok(())
    })?;
    Ok(HealthReport { entries, problems })
}

/// The problems of one (integrity-checked) entry.
fn entry_problems(
    session: &Session<'_>,
    entry: &Entry,
    now: SystemTime,
    options: &HealthOptions,
) -> Result<Vec<HealthProblem>> {
    let mut problems = record_problems(entry, now, options);
    let hosts: Vec<&Endpoint> = entry
        .bindings()
        .iter()
        .filter(|e| e.host_name().is_some())
        .collect();
    if entry.state() == EntryState::Installed && !hosts.is_empty() {
        let leaf = leaf_of(session, entry.name())?;
        for endpoint in hosts {
            let covered = endpoint
                .host_name()
                .is_some_and(|host| covers_binding(&leaf, host));
            if !covered {
                problems.push(HealthProblem::HostNotCovered {
                    entry: entry.name().to_owned(),
                    endpoint: endpoint.clone(),
                });
            }
        }
    }
    Ok(problems)
}

/// The problems the entry's record shows, without its certificate: dates, key size, bindings.
fn record_problems(entry: &Entry, now: SystemTime, options: &HealthOptions) -> Vec<HealthProblem> {
    let name = || entry.name().to_owned();
    let mut problems = Vec::new();
    match entry.state() {
        EntryState::Installed => {
            if let Some(not_after) = entry.not_after() {
                let soon = now
                    .checked_add(options.expiring_within)
                    .is_none_or(|limit| not_after <= limit);
                if not_after < now {
                    problems.push(HealthProblem::Expired {
                        entry: name(),
                        not_after,
                    });
                } else if soon {
                    problems.push(HealthProblem::Expiring {
                        entry: name(),
                        not_after,
                    });
                }
            }
        }
        EntryState::Pending | EntryState::Renewal => {
            let stale = now
                .checked_sub(options.pending_older_than)
                .is_some_and(|limit| entry.created() < limit);
            if stale {
                problems.push(HealthProblem::StalePending {
                    entry: name(),
                    created: entry.created(),
                });
            }
        }
    }
    let min_bits = match entry.key_type().algorithm() {
        KeyAlgorithm::Ecdsa => options.min_ecdsa_bits,
        _ => options.min_key_bits,
    };
    if entry.key_bits() < min_bits {
        problems.push(HealthProblem::WeakKey {
            entry: name(),
            key_type: entry.key_type(),
            bits: entry.key_bits(),
        });
    }
    if entry.state() == EntryState::Installed && entry.bindings().is_empty() {
        problems.push(HealthProblem::Unbound { entry: name() });
    }
    problems
}

/// The leaf certificate of the installed entry `name` (already integrity-checked).
fn leaf_of(session: &Session<'_>, name: &str) -> Result<Certificate> {
    let row = session.row_by_name(name)?;
    session
        .chain(row.id)?
        .first()
        .and_then(|der| Certificate::from_der(der).ok())
        .ok_or_else(|| {
            StoreError::Tampered {
                entry: name.to_owned(),
                what: "its certificate does not parse".into(),
            }
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::CertificateRequest;
    use crate::store::{KeyStore, StoreOptions};

    fn store() -> KeyStore {
        let options = StoreOptions::fast_for_tests();
        KeyStore::open_in_memory_with("pass", &options).unwrap()
    }

    #[test]
    fn an_empty_store_is_healthy() {
        let report = store().check(&HealthOptions::default()).unwrap();
        assert!(report.is_healthy());
        assert_eq!(report.entries_checked(), 0);
    }

    #[test]
    fn a_pending_entry_goes_stale_after_the_window() {
        use rand::SeedableRng;
        let store = store();
        let mut tx = store.begin().unwrap();
        let dn = "CN=www.example.com".parse().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        tx.create_pending_with_rng(&mut rng, "www", &CertificateRequest::builder(dn), 2048)
            .unwrap();
        tx.commit().unwrap();

        let fresh = store.check(&HealthOptions::default()).unwrap();
        assert!(fresh.is_healthy(), "{:?}", fresh.problems());
        assert_eq!(fresh.entries_checked(), 1);

        let later = HealthOptions::new().now(SystemTime::now() + 15 * DAY);
        let report = store.check(&later).unwrap();
        assert_eq!(report.problems().len(), 1);
        let problem = &report.problems()[0];
        assert_eq!(problem.kind(), "stale-pending");
        assert_eq!(problem.entry(), "www");
        assert!(
            problem.to_string().contains("remove the entry"),
            "{problem}"
        );

        let strict = HealthOptions::new().min_key_bits(3072);
        let report = store.check(&strict).unwrap();
        assert_eq!(
            report.problems(),
            [HealthProblem::WeakKey {
                entry: "www".into(),
                key_type: KeyType::Rsa { bits: 2048 },
                bits: 2048
            }]
        );
    }

    fn installed(not_after: SystemTime, bindings: Vec<Endpoint>) -> Entry {
        Entry {
            name: "www".into(),
            state: EntryState::Installed,
            subject: "CN=www.example.com".into(),
            dns_names: vec!["www.example.com".into()],
            not_before: Some(std::time::UNIX_EPOCH),
            not_after: Some(not_after),
            key_bits: 2048,
            key_type: KeyType::Rsa { bits: 2048 },
            fingerprint: crate::fingerprint::Fingerprint::from([7; 32]),
            bindings,
            created: std::time::UNIX_EPOCH,
            installed: Some(std::time::UNIX_EPOCH),
            renewal_of: None,
        }
    }

    #[test]
    fn an_installed_record_is_expired_expiring_or_unbound() {
        let now = std::time::UNIX_EPOCH + 1000 * DAY;
        let options = HealthOptions::default();
        let bound = vec!["0.0.0.0:443".parse::<Endpoint>().unwrap()];
        let kinds = |e: &Entry| -> Vec<&'static str> {
            record_problems(e, now, &options)
                .iter()
                .map(HealthProblem::kind)
                .collect()
        };
        assert!(kinds(&installed(now + 31 * DAY, bound.clone())).is_empty());
        assert_eq!(
            kinds(&installed(now + 30 * DAY, bound.clone())),
            ["expiring"]
        );
        assert_eq!(kinds(&installed(now - DAY, bound.clone())), ["expired"]);
        assert_eq!(kinds(&installed(now + 90 * DAY, vec![])), ["unbound"]);
        let problem = &record_problems(&installed(now - DAY, bound), now, &options)[0];
        assert!(
            problem
                .to_string()
                .contains("expired on 1972-09-26T00:00:00Z"),
            "{problem}"
        );
    }

    #[test]
    fn a_renewal_waiting_too_long_is_stale_as_a_pending_entry_is() {
        let now = std::time::UNIX_EPOCH + 1000 * DAY;
        let options = HealthOptions::default();
        let waiting = |state, renewal_of: Option<&str>, age| Entry {
            name: "www (renewal)".into(),
            state,
            not_before: None,
            not_after: None,
            created: now - age,
            installed: None,
            renewal_of: renewal_of.map(str::to_owned),
            ..installed(now, vec![])
        };
        for (state, of) in [
            (EntryState::Renewal, Some("www")),
            (EntryState::Pending, None),
        ] {
            let kinds = |age| -> Vec<&'static str> {
                record_problems(&waiting(state, of, age), now, &options)
                    .iter()
                    .map(HealthProblem::kind)
                    .collect()
            };
            assert!(kinds(13 * DAY).is_empty(), "{state:?}");
            assert_eq!(kinds(15 * DAY), ["stale-pending"], "{state:?}");
        }
    }
}
