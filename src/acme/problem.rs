//! instant-acme's errors and the CA's problem documents (RFC 8555 §6.7) as [`AcmeError`]s,
//! and the bounds on every wait: nothing of instant-acme's reaches the public API.

use std::future::Future;
use std::time::Duration;

use crate::error::{AcmeError, Error, Result};

/// The prefix of ACME's problem types.
const ACME_URN: &str = "urn:ietf:params:acme:error:";

/// Runs one exchange with the CA, bounded by `limit`; its error as ours.
pub(super) async fn bounded<T>(
    during: &'static str,
    limit: Duration,
    fut: impl Future<Output = std::result::Result<T, instant_acme::Error>>,
) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(from_acme(during, None, limit, e)),
        Err(_) => Err(AcmeError::Timeout {
            during,
            waited: limit,
        }
        .into()),
    }
}

/// Runs a synchronous store operation on tokio's blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Error::from(AcmeError::Runtime {
            reason: format!("a blocking store task failed: {e}"),
        })
    })?
}

/// An instant-acme error as ours; `identifier` names what was being validated, `limit` the
/// bound of a wait that timed out.
pub(super) fn from_acme(
    during: &'static str,
    identifier: Option<&str>,
    limit: Duration,
    e: instant_acme::Error,
) -> Error {
    use instant_acme::Error as E;
    let err = match e {
        E::Api(problem) => from_problem(&problem, identifier),
        E::Timeout(_) => AcmeError::Timeout {
            during,
            waited: limit,
        },
        E::Hyper(e) => AcmeError::Network {
            during,
            reason: chain(&e),
        },
        E::Other(e) => AcmeError::Network {
            during,
            reason: chain(&*e),
        },
        E::InvalidUri(e) => AcmeError::InvalidOptions {
            reason: format!("the directory URL is not a URL ({e}): give the CA's https:// URL"),
        },
        E::Http(e) => AcmeError::InvalidOptions {
            reason: format!("a URL from the CA is not usable ({e})"),
        },
        E::Json(e) => AcmeError::Protocol {
            during,
            reason: format!("its JSON does not parse ({e}); is the URL an ACME directory?"),
        },
        E::Unsupported(what) => AcmeError::Protocol {
            during,
            reason: format!("the CA does not support {what}"),
        },
        other => AcmeError::Protocol {
            during,
            reason: other.to_string(),
        },
    };
    err.into()
}

/// The source chain of an error, as one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// A problem document as the variant named after its type.
pub(super) fn from_problem(p: &instant_acme::Problem, identifier: Option<&str>) -> AcmeError {
    let kind = p.r#type.clone().unwrap_or_default();
    let short = kind.strip_prefix(ACME_URN).unwrap_or(&kind);
    let mut detail = p.detail.clone().unwrap_or_else(|| "no detail given".into());
    // The subproblems name the identifiers (RFC 8555 §6.7.1).
    let mut first_identifier = None;
    for sub in &p.subproblems {
        let id = sub
            .identifier
            .as_ref()
            .map(|i| i.authorized(false).to_string());
        if first_identifier.is_none() {
            first_identifier.clone_from(&id);
        }
        detail.push_str(&format!(
            "; {}: {}",
            id.as_deref().unwrap_or("(no identifier)"),
            sub.detail.as_deref().unwrap_or("")
        ));
    }
    let identifier = identifier
        .map(str::to_owned)
        .or(first_identifier)
        .unwrap_or_else(|| "(unnamed)".into());
    match short {
        "rateLimited" => AcmeError::RateLimited {
            retry_after: retry_after_from_detail(&detail),
            detail,
        },
        "badCSR" => AcmeError::BadCsr { detail },
        "rejectedIdentifier" => AcmeError::RejectedIdentifier { detail },
        "unsupportedIdentifier" => AcmeError::UnsupportedIdentifier { detail },
        "caa" => AcmeError::Caa { detail },
        "connection" => AcmeError::Connection { identifier, detail },
        "dns" => AcmeError::Dns { identifier, detail },
        "incorrectResponse" => AcmeError::IncorrectResponse { identifier, detail },
        "tls" => AcmeError::TlsValidation { identifier, detail },
        "unauthorized" => AcmeError::Unauthorized { detail },
        "externalAccountRequired" => AcmeError::ExternalAccountRequired { detail },
        "accountDoesNotExist" => AcmeError::AccountDoesNotExist { detail },
        "badNonce" => AcmeError::BadNonce { detail },
        "serverInternal" => AcmeError::ServerInternal { detail },
        _ => AcmeError::Problem {
            kind: if kind.is_empty() {
                "no type given".into()
            } else {
                kind.clone()
            },
            detail,
        },
    }
}

/// instant-acme does not hand out a failed response's headers; Let's Encrypt's rate-limit
/// detail names the time to retry (`retry after 2026-12-01 16:04:05 UTC`). Read it from
/// there when it is present.
fn retry_after_from_detail(detail: &str) -> Option<std::time::SystemTime> {
    let at = detail.find("retry after ")? + "retry after ".len();
    let text = detail.get(at..at + 19)?;
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { text.get(r)?.parse().ok() };
    if b.get(4) != Some(&b'-') || b.get(10) != Some(&b' ') {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    let secs = u64::try_from(secs).ok()?;
    std::time::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: &str, detail: &str) -> instant_acme::Problem {
        serde_json::from_value(serde_json::json!({
            "type": format!("{ACME_URN}{kind}"),
            "detail": detail,
            "status": 403,
        }))
        .unwrap()
    }

    #[test]
    fn problems_become_their_variants_with_the_detail() {
        let e = from_problem(&problem("rejectedIdentifier", "no .test names"), None);
        assert_eq!(
            e,
            AcmeError::RejectedIdentifier {
                detail: "no .test names".into()
            }
        );
        assert!(e.to_string().contains("no .test names"));
        let e = from_problem(&problem("connection", "refused"), Some("a.test"));
        assert!(
            matches!(e, AcmeError::Connection { ref identifier, .. } if identifier == "a.test")
        );
        let e = from_problem(&problem("somethingNew", "x"), None);
        assert!(matches!(e, AcmeError::Problem { ref kind, .. } if kind.ends_with("somethingNew")));
    }

    #[test]
    fn rate_limits_carry_the_retry_time() {
        let e = from_problem(
            &problem(
                "rateLimited",
                "too many certificates (5) already issued for this exact set of domains in the last 168h0m0s, retry after 2026-12-01 16:04:05 UTC: see https://letsencrypt.org/docs/rate-limits/",
            ),
            None,
        );
        let AcmeError::RateLimited { retry_after, .. } = e else {
            panic!("{e:?}")
        };
        let secs = retry_after
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // date -u -d '2026-12-01 16:04:05' +%s
        assert_eq!(secs, 1_796_141_045);
    }
}
