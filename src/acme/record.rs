//! What the store records about ACME: the orders ([`OrderRecord`], [`orders`]) and the entries
//! ACME manages ([`Managed`], [`managed`]).

use std::fmt;
use std::time::SystemTime;

use super::{ChallengeKind, renew};
use crate::error::{Error, Result, StoreError};
use crate::store::KeyStore;

/// Where a recorded order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OrderState {
    /// Recorded with its pending key, not yet placed at the CA (or the CA's answer was lost).
    Placing,
    /// Placed; challenges not yet validated.
    Pending,
    /// Validated; waiting for the request.
    Ready,
    /// Finalized; the CA is issuing.
    Processing,
    /// Issued; the certificate is not installed yet.
    Valid,
    /// Done: the certificate is installed.
    Installed,
    /// The CA refused or invalidated the order; see the error.
    Failed,
    /// Given up (by [`Acme::cancel`](super::Acme::cancel), or replaced by a new order when the
    /// CA no longer had it).
    Cancelled,
}

impl OrderState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrderState::Placing => "placing",
            OrderState::Pending => "pending",
            OrderState::Ready => "ready",
            OrderState::Processing => "processing",
            OrderState::Valid => "valid",
            OrderState::Installed => "installed",
            OrderState::Failed => "failed",
            OrderState::Cancelled => "cancelled",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<OrderState> {
        Some(match s {
            "placing" => OrderState::Placing,
            "pending" => OrderState::Pending,
            "ready" => OrderState::Ready,
            "processing" => OrderState::Processing,
            "valid" => OrderState::Valid,
            "installed" => OrderState::Installed,
            "failed" => OrderState::Failed,
            "cancelled" => OrderState::Cancelled,
            _ => return None,
        })
    }

    /// Whether the order is still in flight (a later call resumes it).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            OrderState::Placing
                | OrderState::Pending
                | OrderState::Ready
                | OrderState::Processing
                | OrderState::Valid
        )
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order as recorded in the store: see [`orders`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub(crate) entry: String,
    pub(crate) directory: String,
    pub(crate) url: Option<String>,
    pub(crate) state: OrderState,
    pub(crate) identifiers: Vec<String>,
    pub(crate) challenge: ChallengeKind,
    pub(crate) created: SystemTime,
    pub(crate) updated: SystemTime,
    pub(crate) resumed: u32,
    pub(crate) error: Option<String>,
}

impl OrderRecord {
    /// The pending entry the order is for.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// The CA's directory URL.
    pub fn directory(&self) -> &str {
        &self.directory
    }

    /// The order's URL at the CA (`None` while [`OrderState::Placing`]).
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// Where it is.
    pub fn state(&self) -> OrderState {
        self.state
    }

    /// The identifiers ordered.
    pub fn identifiers(&self) -> &[String] {
        &self.identifiers
    }

    /// The challenge type used.
    pub fn challenge(&self) -> ChallengeKind {
        self.challenge
    }

    /// When it was recorded.
    pub fn created(&self) -> SystemTime {
        self.created
    }

    /// When it last changed.
    pub fn updated(&self) -> SystemTime {
        self.updated
    }

    /// How many times a later call resumed it.
    pub fn resumed(&self) -> u32 {
        self.resumed
    }

    /// The last error met on it (for a failed, cancelled, or open order whose last attempt
    /// failed).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// An entry ACME manages: see [`managed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Managed {
    pub(crate) name: String,
    pub(crate) directory: String,
    pub(crate) challenge: ChallengeKind,
    pub(crate) bits: usize,
    pub(crate) renew_at: SystemTime,
    pub(crate) failures: u32,
    pub(crate) retry_at: Option<SystemTime>,
    pub(crate) last_error: Option<String>,
}

impl Managed {
    /// The entry's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory URL of the CA that issued it.
    pub fn directory(&self) -> &str {
        &self.directory
    }

    /// The challenge type it was issued with (renewals use it again).
    pub fn challenge(&self) -> ChallengeKind {
        self.challenge
    }

    /// The key size renewals use.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// When its renewal is due: a third of the lifetime before the end, minus jitter; or, once
    /// a renewal check has read the CA's ARI window, a random time inside that window (kept
    /// while the window holds it).
    pub fn renew_at(&self) -> SystemTime {
        self.renew_at
    }

    /// Failed renewal attempts in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// After a failure: no attempt before this time.
    pub fn retry_at(&self) -> Option<SystemTime> {
        self.retry_at
    }

    /// The last renewal error.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}

/// Every ACME order recorded in the store, in flight or done, oldest first. A quick read.
pub fn orders(store: &KeyStore) -> Result<Vec<OrderRecord>> {
    store
        .acme_orders()?
        .into_iter()
        .map(record_from_row)
        .collect()
}

/// Every entry ACME manages (issued by [`Acme::issue`](super::Acme::issue), kept by the
/// renewals), by name. A quick read.
pub fn managed(store: &KeyStore) -> Result<Vec<Managed>> {
    store
        .acme_managed()?
        .into_iter()
        .map(renew::managed_from_row)
        .collect()
}

/// A store row as the public record.
fn record_from_row(row: crate::store::acme::AcmeOrderRow) -> Result<OrderRecord> {
    let corrupt = |what: &str| -> Error {
        StoreError::Corrupt {
            reason: format!("an ACME order record has an unknown {what}"),
        }
        .into()
    };
    Ok(OrderRecord {
        state: OrderState::parse(&row.state).ok_or_else(|| corrupt("state"))?,
        challenge: ChallengeKind::parse(&row.challenge).ok_or_else(|| corrupt("challenge type"))?,
        entry: row.entry,
        directory: row.directory,
        url: row.url,
        identifiers: row.identifiers,
        created: row.created,
        updated: row.updated,
        resumed: u32::try_from(row.resumed).unwrap_or(u32::MAX),
        error: row.error,
    })
}
