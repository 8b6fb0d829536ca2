//! The order's life: [`issue`] (and the renewals, through [`run`]) from the pending entry to
//! the installed chain, recorded in the store at each step that must survive a crash.
//!
//! One file per stage: [`prepare`] makes the pending entry and the order's record, [`order`]
//! places or resumes the order at the CA, [`solve`] answers its challenges, and [`install`]
//! puts the downloaded chain in the store; this file drives them ([`run`]).

mod install;
mod order;
mod prepare;
mod solve;

use instant_acme::{CertificateIdentifier, OrderStatus, RetryPolicy};

use self::install::{install, record_failure};
use self::order::{deactivate, place, replace_record, state_of, update_order};
use self::prepare::prepare_issue;
use self::solve::{clear_dns, invalid_reason, solve};
use super::problem::{blocking, bounded, from_acme};
use super::{Acme, Identifier, Inner, IssueRequest, Issued, Progress, Solver};
use crate::error::{AcmeError, Error, Result};

pub(super) use self::order::cancel;
pub(super) use self::prepare::{identifiers_of, prepare_resume};

/// An order ready to be driven: its record, its pending entry and request.
pub(super) struct Prepared {
    pub(super) order_id: i64,
    pub(super) entry: String,
    pub(super) url: Option<String>,
    pub(super) request_der: Vec<u8>,
    pub(super) identifiers: Vec<Identifier>,
    pub(super) resumed: bool,
}

/// What to do once the chain is in hand.
pub(super) struct Target {
    /// The key size renewals will use.
    pub(super) bits: usize,
    /// The certificate the order replaces (ARI), when the CA offers ARI.
    pub(super) replaces: Option<CertificateIdentifier<'static>>,
    /// How renewal times are drawn.
    pub(super) policy: super::RenewPolicy,
}

pub(super) async fn issue(acme: &Acme, request: &IssueRequest, solver: &Solver) -> Result<Issued> {
    check_request(request)?;
    let store = acme.inner.store.clone();
    let directory = acme.inner.directory.clone();
    let req = request.clone();
    let kind = solver.kind;
    acme.progress(Progress::Key {
        name: request.name.clone(),
    });
    let prepared = blocking(move || prepare_issue(&store, &directory, &req, kind)).await?;
    run(
        acme,
        prepared,
        solver,
        Target {
            bits: request.key_type.bits(),
            replaces: None,
            policy: super::RenewPolicy::default(),
        },
    )
    .await
}

fn check_request(request: &IssueRequest) -> Result<()> {
    if request.identifiers.is_empty() {
        return Err(AcmeError::InvalidOptions {
            reason: format!(
                "no identifier to certify for `{}`: give at least one DNS name (--dns)",
                request.name
            ),
        }
        .into());
    }
    Ok(())
}

/// Drives a prepared order to the installed certificate; on failure, records it on the order
/// and leaves the pending key.
pub(super) async fn run(
    acme: &Acme,
    mut prepared: Prepared,
    solver: &Solver,
    target: Target,
) -> Result<Issued> {
    let mut track = Track {
        order_id: prepared.order_id,
        url: prepared.url.clone(),
        dead: false,
        placed: false,
        dns_records: Vec::new(),
    };
    // instant-acme retries a refused nonce twice; past that (pebble refuses 5 % of them), the
    // order is still open at the CA: resume it, at most twice more.
    let mut retries = 2;
    let outcome = loop {
        match drive(acme, &prepared, solver, &target, &mut track).await {
            Err(Error::Acme(AcmeError::BadNonce { .. })) if retries > 0 && !track.dead => {
                retries -= 1;
                prepared.url.clone_from(&track.url);
            }
            other => break other,
        }
    };
    let outcome = match outcome {
        Ok(pem) => install(acme, &prepared, solver, &target, &track, pem).await,
        // With the CA's Retry-After, so that the record says it too.
        Err(e) => Err(acme.retry_after(e)),
    };
    if let Err(e) = &outcome {
        // Dead orders clean up their challenges; live ones keep them for the resumption.
        // The original error is what the caller must see; if even the record cannot be
        // written (the store is busy or failing), the order keeps its last recorded state
        // and the next call resumes it from there.
        let _ = record_failure(acme, &track, e).await;
    }
    if track.dead || outcome.is_ok() {
        clear_dns(solver, &track).await;
    }
    outcome
}

/// Where a run got to: the order's record id, URL, whether the order is dead at the CA, and
/// whether this run placed it (rather than resuming an earlier run's).
struct Track {
    order_id: i64,
    url: Option<String>,
    dead: bool,
    placed: bool,
    dns_records: Vec<String>,
}

/// Whether an error means the CA is done with the order (versus a failure to reach it).
fn kills_order(e: &Error) -> bool {
    match e {
        Error::Acme(a) => !matches!(
            a,
            AcmeError::Timeout { .. }
                | AcmeError::Network { .. }
                | AcmeError::RateLimited { .. }
                | AcmeError::BadNonce { .. }
                | AcmeError::ServerInternal { .. }
                | AcmeError::Dns01Provider { .. }
                | AcmeError::Runtime { .. }
                | AcmeError::Protocol { .. }
        ),
        // Store failures (busy, disk) leave the order as it is.
        Error::Store(_) => false,
        _ => true,
    }
}

async fn drive(
    acme: &Acme,
    prepared: &Prepared,
    solver: &Solver,
    target: &Target,
    track: &mut Track,
) -> Result<String> {
    let inner = &acme.inner;
    let limit = inner.request_timeout;
    let mut order = match prepared.url.clone() {
        Some(url) => {
            acme.progress(Progress::Resume {
                name: prepared.entry.clone(),
                url: url.clone(),
            });
            match bounded(
                "resuming the order",
                limit,
                inner.account.order(url.clone()),
            )
            .await
            {
                Ok(mut order) => {
                    let status = order.state().status;
                    if status == OrderStatus::Invalid {
                        replace_record(acme, prepared, track, "the CA had invalidated it").await?;
                        None
                    } else {
                        update_order(acme, track.order_id, None, Some(state_of(status)), true)
                            .await?;
                        Some(order)
                    }
                }
                Err(e) if kills_order(&e) => {
                    let why = format!("the CA no longer has it ({e})");
                    replace_record(acme, prepared, track, &why).await?;
                    None
                }
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    let mut order = match order.take() {
        Some(order) => order,
        None => place(acme, prepared, target, track).await?,
    };
    loop {
        match order.state().status {
            OrderStatus::Pending => {
                solve(acme, &mut order, solver, track).await?;
                acme.progress(Progress::Validate);
                let policy = retry_policy(inner);
                let status = match order.poll_ready(&policy).await {
                    Ok(status) => status,
                    // The order's own problem rarely names the identifier: the failed
                    // challenge does.
                    Err(instant_acme::Error::Api(_)) => OrderStatus::Invalid,
                    Err(e) => {
                        let limit = inner.validation_timeout;
                        let e = from_acme("waiting for validation", None, limit, e);
                        return Err(dead(track, e));
                    }
                };
                if status == OrderStatus::Invalid {
                    let e = invalid_reason(&mut order, limit).await;
                    track.dead = true;
                    return Err(e);
                }
            }
            OrderStatus::Ready => {
                acme.progress(Progress::Finalize);
                bounded(
                    "finalizing the order",
                    limit,
                    order.finalize_csr(&prepared.request_der),
                )
                .await
                .map_err(|e| dead(track, e))?;
            }
            OrderStatus::Processing | OrderStatus::Valid => {
                acme.progress(Progress::Download);
                let policy = retry_policy(inner);
                let pem = order.poll_certificate(&policy).await.map_err(|e| {
                    dead(
                        track,
                        from_acme(
                            "waiting for the certificate",
                            None,
                            inner.validation_timeout,
                            e,
                        ),
                    )
                })?;
                if inner.deactivate_authorizations {
                    let valid = instant_acme::AuthorizationStatus::Valid;
                    deactivate(&mut order, valid, limit).await;
                }
                return Ok(pem);
            }
            OrderStatus::Invalid => {
                let e = invalid_reason(&mut order, limit).await;
                track.dead = true;
                return Err(e);
            }
        }
    }
}

/// Marks the order dead when `e` means the CA is done with it.
fn dead(track: &mut Track, e: Error) -> Error {
    if kills_order(&e) {
        track.dead = true;
    }
    e
}

/// Polls after the account's poll interval at first, then 1.5 times longer each time, for at
/// most its validation timeout. (instant-acme sleeps before it checks the deadline: a first
/// wait longer than the timeout would time out without polling once.)
fn retry_policy(inner: &Inner) -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(inner.poll_interval.min(inner.validation_timeout))
        .backoff(1.5)
        .timeout(inner.validation_timeout)
}
