//! The end of an order: the downloaded chain installed through the store's install path, or
//! the failure recorded on the order.

use std::time::SystemTime;

use super::{Prepared, Target, Track};
use crate::acme::problem::blocking;
use crate::acme::{Acme, Issued, OrderState, Progress, Solver};
use crate::error::{Error, Result};
use crate::store::InstallOptions;

/// Installs the chain through the store's install path (every check applies), records the
/// order as installed and the entry as managed, and clears the challenges: one commit.
pub(super) async fn install(
    acme: &Acme,
    prepared: &Prepared,
    solver: &Solver,
    target: &Target,
    track: &Track,
    pem: String,
) -> Result<Issued> {
    acme.progress(Progress::Install {
        name: prepared.entry.clone(),
    });
    let store = acme.inner.store.clone();
    let directory = acme.inner.directory.clone();
    let order_id = track.order_id;
    let kind = solver.kind.as_str();
    let bits = target.bits;
    let policy = target.policy.clone();
    let chain_pem = pem.clone();
    let (name, not_after) = blocking(move || {
        let mut tx = store.begin()?;
        let name = tx.install_certificate_with(pem.as_bytes(), InstallOptions::default())?;
        let entry = tx.entry(&name)?;
        let (not_before, not_after) = match (entry.not_before(), entry.not_after()) {
            (Some(b), Some(a)) => (b, a),
            _ => (SystemTime::now(), SystemTime::now()),
        };
        tx.acme_close_order(order_id, OrderState::Installed.as_str(), None)?;
        tx.acme_manage(
            &name,
            &directory,
            kind,
            bits,
            crate::acme::renew::renew_at(not_before, not_after, &policy),
        )?;
        tx.commit()?;
        Ok((name, not_after))
    })
    .await?;
    Ok(Issued {
        name,
        order_url: track.url.clone().unwrap_or_default(),
        not_after,
        // A record without a URL (the CA refused the new order, or its answer was lost), or one
        // whose order the CA no longer had, got a new order: nothing was resumed.
        resumed: prepared.resumed && !track.placed,
        chain_pem,
    })
}

/// Records a failure on the order: dead orders are marked failed and their challenges
/// removed; live ones stay open (resumed by the next call) with the error noted.
pub(super) async fn record_failure(acme: &Acme, track: &Track, e: &Error) -> Result<()> {
    let store = acme.inner.store.clone();
    // The CA issued but the store refused the chain: nothing is left to resume either.
    let refused = matches!(e, Error::Install(_) | Error::Certificate(_));
    let (id, dead, text) = (track.order_id, track.dead || refused, e.to_string());
    blocking(move || {
        let mut tx = store.begin()?;
        if dead {
            tx.acme_close_order(id, OrderState::Failed.as_str(), Some(&text))?;
        } else {
            // Still open at the CA: the next call resumes it, with its challenges.
            tx.acme_update_order(id, None, None, Some(&text), false)?;
        }
        tx.commit()
    })
    .await
}
