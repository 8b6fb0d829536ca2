//! Answering the order's challenges (http-01 and tls-alpn-01 from the store, dns-01 through the
//! caller's provider), and reading why an order failed validation.

use instant_acme::{AuthorizationStatus, ChallengeStatus, Order};

use super::{Track, dead};
use crate::acme::challenge::ChallengeKind;
use crate::acme::problem::{blocking, bounded, from_acme, from_problem};
use crate::acme::tls_alpn::{challenge_certificate, sni_of};
use crate::acme::{Acme, Dns01Provider, Identifier, Progress, Solver};
use crate::error::{AcmeError, Error, Result};

/// Answers each pending authorization's challenge: the answer committed to the store (or set
/// by the DNS provider) first, then the CA told it is ready.
pub(super) async fn solve(
    acme: &Acme,
    order: &mut Order,
    solver: &Solver,
    track: &mut Track,
) -> Result<()> {
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
    provider: &dyn Dns01Provider,
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
pub(super) async fn clear_dns(solver: &Solver, track: &Track) {
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
pub(super) async fn invalid_reason(order: &mut Order, limit: std::time::Duration) -> Error {
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
