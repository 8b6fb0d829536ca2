//! How a store is opened and how a certificate is installed: [`StoreOptions`], [`KdfParams`],
//! [`InstallOptions`].
//!
//! One style for all of them: private fields, `new()` (the defaults) and by-value setters,
//! so that adding an option later breaks no caller.

use std::time::{Duration, SystemTime};

use super::seal::Cost;
use crate::error::{Result, StoreError};

/// How a store is opened: the busy timeout and, for a new store or a passphrase change, the
/// key derivation's cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    pub(super) busy_timeout: Duration,
    pub(super) kdf: KdfParams,
    pub(super) min_generation: u64,
    pub(super) max_kdf: KdfParams,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            kdf: KdfParams::RECOMMENDED,
            min_generation: 0,
            max_kdf: KdfParams::DEFAULT_MAX,
        }
    }
}

impl StoreOptions {
    /// The defaults: a 5 s busy timeout and [`KdfParams::RECOMMENDED`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a writer waits for another writer before [`StoreError::Busy`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The highest Argon2id cost a store may ask for (default [`KdfParams::DEFAULT_MAX`]:
    /// 1 GiB, 10 passes, 64 lanes). The cost is read from the file, so a file crafted with a
    /// huge one would make every open take seconds and gigabytes: a stored cost above any of
    /// these is refused before deriving anything ([`StoreError::KdfCostTooHigh`]), and so is
    /// a [`kdf`](Self::kdf) above them for a new store or a passphrase change.
    pub fn max_kdf(mut self, max: KdfParams) -> Self {
        self.max_kdf = max;
        self
    }

    /// Refuse to open a store whose [generation](super::KeyStore::generation) is older than
    /// `generation` ([`StoreError::RolledBack`]): for an operator who records the generation
    /// outside the file (after each change, or from a monitoring job), so that a whole older
    /// copy of the file put in its place is refused. Default 0: any.
    pub fn min_generation(mut self, generation: u64) -> Self {
        self.min_generation = generation;
        self
    }

    /// The Argon2id cost used when creating a store or changing its passphrase. An existing
    /// store always uses the parameters stored in it.
    pub fn kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }

    /// A very cheap key derivation (64 KiB, one pass, one lane), so that unit tests open
    /// stores in microseconds. Unit tests only; the integration tests have
    /// `tests/common/fixtures.rs`.
    #[cfg(test)]
    pub(crate) fn fast_for_tests() -> Self {
        Self::new().kdf(KdfParams::new(64, 1, 1).unwrap())
    }
}

/// Argon2id cost parameters ([RFC 9106 §3.1]).
///
/// [RFC 9106 §3.1]: https://datatracker.ietf.org/doc/html/rfc9106#section-3.1
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub(super) cost: Cost,
}

impl KdfParams {
    /// 19 MiB of memory, 2 passes, 1 lane: OWASP's recommended Argon2id minimum.
    pub const RECOMMENDED: KdfParams = KdfParams {
        cost: Cost {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        },
    };

    /// The default of [`StoreOptions::max_kdf`]: 1 GiB of memory, 10 passes, 64 lanes.
    pub const DEFAULT_MAX: KdfParams = KdfParams {
        cost: Cost {
            memory_kib: 1024 * 1024,
            iterations: 10,
            parallelism: 64,
        },
    };

    /// Custom parameters: memory in KiB (at least 8 per lane, at most 4 GiB), passes (1 to
    /// 100), lanes (1 to 64). Lower costs make a stolen file cheaper to attack; use them for
    /// tests only.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self> {
        let cost = Cost {
            memory_kib,
            iterations,
            parallelism,
        };
        check_cost(cost).map_err(|reason| StoreError::InvalidOptions { reason })?;
        Ok(Self { cost })
    }

    /// Memory in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.cost.memory_kib
    }

    /// Passes over memory.
    pub fn iterations(&self) -> u32 {
        self.cost.iterations
    }

    /// Lanes.
    pub fn parallelism(&self) -> u32 {
        self.cost.parallelism
    }
}

/// Checks a cost (stored, or to be written) against the caller's maximum.
pub(super) fn check_max(cost: Cost, max: &KdfParams) -> Result<()> {
    let max = max.cost;
    if cost.memory_kib > max.memory_kib
        || cost.iterations > max.iterations
        || cost.parallelism > max.parallelism
    {
        return Err(StoreError::KdfCostTooHigh {
            memory_kib: cost.memory_kib,
            iterations: cost.iterations,
            parallelism: cost.parallelism,
            max_memory_kib: max.memory_kib,
            max_iterations: max.iterations,
            max_parallelism: max.parallelism,
        }
        .into());
    }
    Ok(())
}

/// Checks Argon2 parameters, given or read from a file: the reason they are out of range.
pub(super) fn check_cost(c: Cost) -> std::result::Result<(), String> {
    if !(1..=64).contains(&c.parallelism) {
        return Err(format!(
            "Argon2 lanes must be 1 to 64, not {}",
            c.parallelism
        ));
    }
    if !(1..=100).contains(&c.iterations) {
        return Err(format!(
            "Argon2 passes must be 1 to 100, not {}",
            c.iterations
        ));
    }
    if c.memory_kib < 8 * c.parallelism || c.memory_kib > 4 * 1024 * 1024 {
        return Err(format!(
            "Argon2 memory must be 8 KiB per lane to 4 GiB, not {} KiB",
            c.memory_kib
        ));
    }
    Ok(())
}

/// Options of [`Transaction::install_certificate_with`](super::Transaction::install_certificate_with)
/// and [`Transaction::import`](super::Transaction::import).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallOptions {
    pub(super) allow_invalid_dates: bool,
    pub(super) now: Option<SystemTime>,
}

impl InstallOptions {
    /// The defaults: dates are checked, against the current time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Install even if the certificate is expired or not yet valid (default: `false`).
    pub fn allow_invalid_dates(mut self, allow: bool) -> Self {
        self.allow_invalid_dates = allow;
        self
    }

    /// Check the certificate's validity at `now` instead of the current time.
    pub fn now(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }
}
