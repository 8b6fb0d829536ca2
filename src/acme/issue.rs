//! The order's life: [`issue`] (and the renewals, through [`run`]) from the pending entry to
//! the installed chain, recorded in the store at each step that must survive a crash.

use std::time::SystemTime;

use instant_acme::{
    AuthorizationStatus, CertificateIdentifier, ChallengeStatus, NewOrder, Order, OrderStatus,
    RetryPolicy,
};

use super::challenge::ChallengeKind;
use super::problem::{blocking, bounded, from_acme, from_problem};
use super::tls_alpn::{challenge_certificate, sni_of};
use super::{Acme, Identifier, IssueRequest, Issued, OrderState, Progress, Solver};
use crate::error::{AcmeError, Error, Result, StoreError};
use crate::name::DistinguishedName;
use crate::request::CertificateRequest;
use crate::store::{InstallOptions, KeyStore};

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
            bits: request.bits,
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

/// The open order of `request.name` if there is one; else its pending entry (made now, or
/// left by an earlier attempt) and a new order record, committed together.
fn prepare_issue(
    store: &KeyStore,
    directory: &str,
    request: &IssueRequest,
    kind: ChallengeKind,
) -> Result<Prepared> {
    if let Some(open) = store.acme_open_order(&request.name)? {
        return prepare_resume(store, directory, open);
    }
    let existing = store.acme_pending_request(&request.name)?;
    let mut tx = store.begin()?;
    let csr = match existing {
        Some(csr) => {
            let wanted = texts(&request.identifiers);
            let have = texts(&identifiers_of(&csr));
            if !same_set(&wanted, &have) {
                return Err(AcmeError::InvalidOptions {
                    reason: format!(
                        "the pending entry `{}` requests {} but this call asks for {}: remove the \
                         pending entry or ask for its names",
                        request.name,
                        have.join(", "),
                        wanted.join(", ")
                    ),
                }
                .into());
            }
            csr
        }
        None => tx.create_pending(&request.name, &builder_for(request)?, request.bits)?,
    };
    let identifiers = identifiers_of(&csr);
    let order_id = tx.acme_insert_order(
        directory,
        &request.name,
        &texts(&identifiers),
        kind.as_str(),
    )?;
    tx.commit()?;
    Ok(Prepared {
        order_id,
        entry: request.name.clone(),
        url: None,
        request_der: csr.to_der(),
        identifiers,
        resumed: false,
    })
}

/// The recorded open order `open`, with its pending entry's request.
pub(super) fn prepare_resume(
    store: &KeyStore,
    directory: &str,
    open: crate::store::acme::AcmeOrderRow,
) -> Result<Prepared> {
    if open.directory != directory {
        return Err(AcmeError::InvalidOptions {
            reason: format!(
                "entry `{}` has an open order at another CA ({}): use that directory, or cancel \
                 the order first",
                open.entry, open.directory
            ),
        }
        .into());
    }
    let Some(csr) = store.acme_pending_request(&open.entry)? else {
        // The pending entry was removed: the order can serve nothing.
        let mut tx = store.begin()?;
        let note = "its pending entry was removed";
        tx.acme_close_order(open.id, OrderState::Cancelled.as_str(), Some(note))?;
        tx.commit()?;
        return Err(StoreError::NotFound { name: open.entry }.into());
    };
    Ok(Prepared {
        order_id: open.id,
        entry: open.entry,
        url: open.url,
        request_der: csr.to_der(),
        identifiers: identifiers_of(&csr),
        resumed: true,
    })
}

/// The request's builder: the first DNS name as the common name, every identifier in the
/// subjectAltName.
fn builder_for(request: &IssueRequest) -> Result<crate::request::CertificateRequestBuilder> {
    let first_dns = request.identifiers.iter().find_map(|i| match i {
        Identifier::Dns(d) => Some(d.clone()),
        Identifier::Ip(_) => None,
    });
    let dn = match &first_dns {
        Some(cn) if !cn.starts_with("*.") => DistinguishedName::builder()
            .common_name(cn.clone())
            .build()?,
        _ => DistinguishedName::builder()
            .organization("ACME certificate")
            .build()?,
    };
    let mut builder = CertificateRequest::builder(dn);
    for identifier in &request.identifiers {
        builder = match identifier {
            Identifier::Dns(d) => builder.dns_name(d.clone()),
            Identifier::Ip(ip) => builder.ip_address(*ip),
        };
    }
    Ok(builder)
}

/// The identifiers a request asks for: its DNS names, then its addresses.
pub(super) fn identifiers_of(csr: &CertificateRequest) -> Vec<Identifier> {
    let mut out: Vec<Identifier> = csr.dns_names().into_iter().map(Identifier::Dns).collect();
    out.extend(csr.ip_addresses().into_iter().map(Identifier::Ip));
    out
}

fn texts(identifiers: &[Identifier]) -> Vec<String> {
    identifiers.iter().map(ToString::to_string).collect()
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_ascii_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
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
        Err(e) => Err(e),
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

/// Where a run got to: the order's record id, URL, whether the order is dead at the CA.
struct Track {
    order_id: i64,
    url: Option<String>,
    dead: bool,
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
                let policy = retry_policy(inner.validation_timeout);
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
                let policy = retry_policy(inner.validation_timeout);
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

/// Polls every 250 ms at first, then 1.5 times longer each time, for at most `timeout`.
fn retry_policy(timeout: std::time::Duration) -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(std::time::Duration::from_millis(250))
        .backoff(1.5)
        .timeout(timeout)
}

/// Places a new order for the prepared request and records its URL (committed before any
/// challenge is answered).
async fn place(
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
    Ok(order)
}

/// Records the open order as cancelled (with why) and a new record for the same pending
/// entry, in one commit.
async fn replace_record(
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

async fn update_order(
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

fn state_of(status: OrderStatus) -> OrderState {
    match status {
        OrderStatus::Pending => OrderState::Pending,
        OrderStatus::Ready => OrderState::Ready,
        OrderStatus::Processing => OrderState::Processing,
        OrderStatus::Valid => OrderState::Valid,
        OrderStatus::Invalid => OrderState::Failed,
    }
}

/// Answers each pending authorization's challenge: the answer committed to the store (or set
/// by the DNS provider) first, then the CA told it is ready.
async fn solve(acme: &Acme, order: &mut Order, solver: &Solver, track: &mut Track) -> Result<()> {
    let inner = &acme.inner;
    let limit = inner.request_timeout;
    let kind = solver.kind;
    let order_id = track.order_id;
    {
        let store = inner.store.clone();
        let kind = kind.as_str();
        blocking(move || {
            let mut tx = store.begin()?;
            tx.acme_set_order_challenge(order_id, kind)?;
            tx.commit()
        })
        .await?;
    }
    let mut authorizations = order.authorizations();
    loop {
        let next = tokio::time::timeout(limit, authorizations.next())
            .await
            .map_err(|_| AcmeError::Timeout {
                during: "reading an authorization",
                waited: limit,
            })?;
        let Some(authz) = next else { break };
        let mut authz = authz.map_err(|e| from_acme("reading an authorization", None, limit, e))?;
        let identifier_text = authz.identifier().to_string();
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                track.dead = true;
                return Err(AcmeError::OrderInvalid {
                    url: track.url.clone().unwrap_or_default(),
                    detail: format!("the authorization for {identifier_text} is {other:?}"),
                }
                .into());
            }
        }
        let identifier = match &authz.identifier().identifier {
            instant_acme::Identifier::Ip(ip) => Identifier::Ip(*ip),
            other => Identifier::Dns(match other {
                instant_acme::Identifier::Dns(d) => d.clone(),
                _ => identifier_text.clone(),
            }),
        };
        let offered: Vec<String> = authz
            .challenges
            .iter()
            .map(
                |c| match ChallengeKind::parse(&challenge_type_name(&c.r#type)) {
                    Some(k) => k.as_str().to_owned(),
                    None => challenge_type_name(&c.r#type),
                },
            )
            .collect();
        let Some(mut challenge) = authz.challenge(kind.to_instant()) else {
            return Err(AcmeError::NoChallenge {
                identifier: identifier_text,
                kind: kind.as_str(),
                offered,
            }
            .into());
        };
        acme.progress(Progress::Challenge {
            identifier: identifier_text.clone(),
            kind,
        });
        let key_authorization = challenge.key_authorization();
        let store = inner.store.clone();
        match kind {
            ChallengeKind::Http01 => {
                let (token, answer) = (
                    challenge.token.clone(),
                    key_authorization.as_str().as_bytes().to_vec(),
                );
                blocking(move || {
                    let mut tx = store.begin()?;
                    tx.acme_put_challenge(order_id, "http-01", &token, &answer, None)?;
                    tx.commit()
                })
                .await?;
            }
            ChallengeKind::TlsAlpn01 => {
                let cert = challenge_certificate(&identifier, key_authorization.digest().as_ref())?;
                let sni = sni_of(&identifier);
                blocking(move || {
                    let mut tx = store.begin()?;
                    tx.acme_put_challenge(
                        order_id,
                        "tls-alpn-01",
                        &sni,
                        &cert.certificate,
                        Some(&cert.key_pkcs8),
                    )?;
                    tx.commit()
                })
                .await?;
            }
            ChallengeKind::Dns01 => {
                let provider = solver
                    .dns
                    .clone()
                    .ok_or_else(|| AcmeError::InvalidOptions {
                        reason: "a dns-01 solver needs a DNS provider: use Solver::dns01".into(),
                    })?;
                // A wildcard's record is its base name's (RFC 8555 §8.4).
                let base = identifier_text.trim_start_matches("*.");
                let record = format!("_acme-challenge.{base}");
                let value = key_authorization.dns_value();
                set_txt(&*provider, &record, &value, inner.validation_timeout).await?;
                track.dns_records.push(record.clone());
                blocking(move || {
                    let mut tx = store.begin()?;
                    tx.acme_put_challenge(order_id, "dns-01", &record, value.as_bytes(), None)?;
                    tx.commit()
                })
                .await?;
            }
        }
        if challenge.status == ChallengeStatus::Pending {
            bounded(
                "telling the CA the challenge is ready",
                limit,
                challenge.set_ready(),
            )
            .await
            .map_err(|e| dead(track, e))?;
        }
    }
    Ok(())
}

fn challenge_type_name(t: &instant_acme::ChallengeType) -> String {
    match t {
        instant_acme::ChallengeType::Http01 => "http-01".into(),
        instant_acme::ChallengeType::Dns01 => "dns-01".into(),
        instant_acme::ChallengeType::TlsAlpn01 => "tls-alpn-01".into(),
        instant_acme::ChallengeType::DeviceAttest01 => "device-attest-01".into(),
        instant_acme::ChallengeType::Unknown(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

async fn set_txt(
    provider: &dyn super::Dns01Provider,
    record: &str,
    value: &str,
    limit: std::time::Duration,
) -> Result<()> {
    match tokio::time::timeout(limit, provider.set_txt(record, value)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(AcmeError::Dns01Provider {
            record: record.to_owned(),
            reason: e.to_string(),
        }
        .into()),
        Err(_) => Err(AcmeError::Timeout {
            during: "setting the dns-01 TXT record",
            waited: limit,
        }
        .into()),
    }
}

/// Removes the TXT records a run set (best effort: a failure only leaves a stale record).
async fn clear_dns(solver: &Solver, track: &Track) {
    if let Some(provider) = &solver.dns {
        for record in &track.dns_records {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                provider.clear_txt(record),
            )
            .await;
        }
    }
}

/// Why an invalid order is invalid: the first failed challenge's problem (it names the
/// identifier), else the order's own.
async fn invalid_reason(order: &mut Order, limit: std::time::Duration) -> Error {
    let url = order.url().to_owned();
    let order_problem = order.state().error.clone();
    let mut authorizations = order.authorizations();
    while let Ok(Some(Ok(authz))) = tokio::time::timeout(limit, authorizations.next()).await {
        let identifier = authz.identifier().to_string();
        for challenge in &authz.challenges {
            if let Some(problem) = &challenge.error {
                return from_problem(problem, Some(&identifier)).into();
            }
        }
    }
    if let Some(problem) = &order_problem {
        return from_problem(problem, None).into();
    }
    AcmeError::OrderInvalid {
        url,
        detail: "the CA gave no reason".into(),
    }
    .into()
}

/// Installs the chain through the store's install path (every check applies), records the
/// order as installed and the entry as managed, and clears the challenges: one commit.
async fn install(
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
            super::renew::renew_at(not_before, not_after, &policy),
        )?;
        tx.commit()?;
        Ok((name, not_after))
    })
    .await?;
    Ok(Issued {
        name,
        order_url: track.url.clone().unwrap_or_default(),
        not_after,
        resumed: prepared.resumed,
        chain_pem,
    })
}

/// Records a failure on the order: dead orders are marked failed and their challenges
/// removed; live ones stay open (resumed by the next call) with the error noted.
async fn record_failure(acme: &Acme, track: &Track, e: &Error) -> Result<()> {
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

/// [`Acme::cancel`].
pub(super) async fn cancel(acme: &Acme, name: &str) -> Result<bool> {
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
            let mut authorizations = order.authorizations();
            while let Ok(Some(Ok(mut authz))) =
                tokio::time::timeout(limit, authorizations.next()).await
            {
                if authz.status == AuthorizationStatus::Pending {
                    let _ = tokio::time::timeout(limit, authz.deactivate()).await;
                }
            }
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
