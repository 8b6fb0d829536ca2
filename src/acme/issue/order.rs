//! The order at the CA: placing it (its URL recorded before any challenge), replacing one the
//! CA no longer has, keeping its record in step, and cancelling it.

use std::time::Duration;

use instant_acme::{AuthorizationStatus, NewOrder, Order, OrderStatus};

use super::prepare::texts;
use super::{Prepared, Target, Track, dead};
use crate::acme::problem::{blocking, bounded};
use crate::acme::{Acme, Identifier, OrderState, Progress};
use crate::error::Result;

/// Places a new order for the prepared request and records its URL (committed before any
/// challenge is answered).
pub(super) async fn place(
    acme: &Acme,
    prepared: &Prepared,
    target: &Target,
    track: &mut Track,
) -> Result<Order> {
    acme.progress(Progress::Order {
        name: prepared.entry.clone(),
    });
    let identifiers: Vec<instant_acme::Identifier> = prepared
        .identifiers
        .iter()
        .map(|i| match i {
            Identifier::Dns(d) => instant_acme::Identifier::Dns(d.clone()),
            Identifier::Ip(ip) => instant_acme::Identifier::Ip(*ip),
        })
        .collect();
    let mut new = NewOrder::new(&identifiers);
    if let Some(replaces) = &target.replaces {
        new = new.replaces(replaces.clone());
    }
    let mut order = bounded(
        "placing the order",
        acme.inner.request_timeout,
        acme.inner.account.new_order(&new),
    )
    .await
    .map_err(|e| dead(track, e))?;
    let url = order.url().to_owned();
    let state = state_of(order.state().status);
    update_order(acme, track.order_id, Some(url.clone()), Some(state), false).await?;
    track.url = Some(url);
    track.placed = true;
    Ok(order)
}

/// Records the open order as cancelled (with why) and a new record for the same pending
/// entry, in one commit.
pub(super) async fn replace_record(
    acme: &Acme,
    prepared: &Prepared,
    track: &mut Track,
    why: &str,
) -> Result<()> {
    let store = acme.inner.store.clone();
    let (old, why) = (track.order_id, why.to_owned());
    let (directory, entry) = (acme.inner.directory.clone(), prepared.entry.clone());
    let ids = texts(&prepared.identifiers);
    let challenge: String = {
        let store = store.clone();
        blocking(move || {
            Ok(store
                .acme_orders()?
                .into_iter()
                .find(|o| o.id == old)
                .map(|o| o.challenge)
                .unwrap_or_else(|| "http-01".into()))
        })
        .await?
    };
    let new_id = blocking(move || {
        let mut tx = store.begin()?;
        let note = format!("cancelled: {why}; replaced by a new order");
        tx.acme_close_order(old, OrderState::Cancelled.as_str(), Some(&note))?;
        let id = tx.acme_insert_order(&directory, &entry, &ids, &challenge)?;
        tx.commit()?;
        Ok(id)
    })
    .await?;
    track.order_id = new_id;
    track.url = None;
    Ok(())
}

pub(super) async fn update_order(
    acme: &Acme,
    id: i64,
    url: Option<String>,
    state: Option<OrderState>,
    resumed: bool,
) -> Result<()> {
    let store = acme.inner.store.clone();
    blocking(move || {
        let mut tx = store.begin()?;
        tx.acme_update_order(
            id,
            url.as_deref(),
            state.map(OrderState::as_str),
            None,
            resumed,
        )?;
        tx.commit()
    })
    .await
}

pub(super) fn state_of(status: OrderStatus) -> OrderState {
    match status {
        OrderStatus::Pending => OrderState::Pending,
        OrderStatus::Ready => OrderState::Ready,
        OrderStatus::Processing => OrderState::Processing,
        OrderStatus::Valid => OrderState::Valid,
        OrderStatus::Invalid => OrderState::Failed,
    }
}

/// [`Acme::cancel`].
pub(in crate::acme) async fn cancel(acme: &Acme, name: &str) -> Result<bool> {
    let store = acme.inner.store.clone();
    let entry = name.to_owned();
    let Some(open) = blocking(move || store.acme_open_order(&entry)).await? else {
        return Ok(false);
    };
    // Best effort: deactivate the pending authorizations, so that the CA stops waiting.
    if let Some(url) = &open.url {
        let limit = acme.inner.request_timeout;
        if let Ok(mut order) = bounded(
            "reading the order",
            limit,
            acme.inner.account.order(url.clone()),
        )
        .await
        {
            deactivate(&mut order, AuthorizationStatus::Pending, limit).await;
        }
    }
    let store = acme.inner.store.clone();
    blocking(move || {
        let mut tx = store.begin()?;
        let note = "cancelled by request";
        tx.acme_close_order(open.id, OrderState::Cancelled.as_str(), Some(note))?;
        tx.commit()
    })
    .await?;
    Ok(true)
}

/// Best effort: deactivates the order's authorizations that are in `status` (RFC 8555
/// §7.5.2), each request bounded by `limit`; failures are ignored.
pub(super) async fn deactivate(order: &mut Order, status: AuthorizationStatus, limit: Duration) {
    let mut authorizations = order.authorizations();
    while let Ok(Some(Ok(mut authz))) = tokio::time::timeout(limit, authorizations.next()).await {
        if authz.status == status {
            let _ = tokio::time::timeout(limit, authz.deactivate()).await;
        }
    }
}
