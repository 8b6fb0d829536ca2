//! The HTTPS client instant-acme talks to the CA through: hyper with rustls (as instant-acme's
//! own), plus what instant-acme does not hand out: the `Retry-After` of a refused request,
//! which a `rateLimited` error then carries. It also gives a bare `404` a problem document
//! (see `with_problem_document`).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::{AcmeError, Error, Result};

/// The last `Retry-After` the CA sent with a refusal (429 or 503), shared with the account.
pub(super) type RetryAfter = Arc<Mutex<Option<SystemTime>>>;

/// hyper + rustls, recording `Retry-After`.
pub(super) struct CaClient {
    inner: Client<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>,
    retry_after: RetryAfter,
}

impl CaClient {
    /// Trusts the system's roots (the platform verifier, as instant-acme does), or only the
    /// PEM root in `ca_root` (private and test CAs).
    pub(super) fn new(ca_root: Option<&Path>, retry_after: RetryAfter) -> Result<CaClient> {
        let builder = HttpsConnectorBuilder::new();
        let builder = match ca_root {
            Some(path) => {
                let unusable = |reason: String| -> Error {
                    AcmeError::InvalidOptions {
                        reason: format!(
                            "the CA root {} is not usable ({reason}): give a PEM file with its \
                             CERTIFICATE",
                            path.display()
                        ),
                    }
                    .into()
                };
                let mut roots = rustls::RootCertStore::empty();
                let mut found = 0;
                for cert in
                    CertificateDer::pem_file_iter(path).map_err(|e| unusable(e.to_string()))?
                {
                    let cert = cert.map_err(|e| unusable(e.to_string()))?;
                    roots.add(cert).map_err(|e| unusable(e.to_string()))?;
                    found += 1;
                }
                if found == 0 {
                    return Err(unusable("it holds no certificate".into()));
                }
                let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider()?)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| unusable(e.to_string()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                builder.with_tls_config(config)
            }
            // The process's crypto provider, as the resolver signs with (src/tls.rs).
            None => builder
                .with_provider_and_platform_verifier(crate::tls::provider()?)
                .map_err(|e| AcmeError::Network {
                    during: "loading the system's root certificates",
                    reason: e.to_string(),
                })?,
        };
        let connector = builder.https_only().enable_http1().enable_http2().build();
        Ok(CaClient {
            inner: Client::builder(TokioExecutor::new()).build(connector),
            retry_after,
        })
    }
}

impl HttpClient for CaClient {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<BytesResponse, instant_acme::Error>> + Send>>
    {
        let post = req.method() == http::Method::POST;
        let response = HttpClient::request(&self.inner, req);
        let slot = Arc::clone(&self.retry_after);
        Box::pin(async move {
            let mut response = response.await?;
            let status = response.parts.status.as_u16();
            if status == 429 || status == 503 {
                let when = response
                    .parts
                    .headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                *slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = when;
            }
            if status == 404 && post {
                response = with_problem_document(response).await?;
            }
            Ok(response)
        })
    }
}

/// A `404` to a POST with no problem document (RFC 8555 §6.7) gets one, `malformed`, as
/// Let's Encrypt's Boulder answers: pebble answers an order, authorization or certificate it
/// does not have with a bare `404`, which instant-acme would report as JSON that does not parse
/// (a protocol error, which keeps a resumed order open forever) instead of the CA's refusal
/// (which records the forgotten order cancelled and places a new one).
async fn with_problem_document(
    mut response: BytesResponse,
) -> std::result::Result<BytesResponse, instant_acme::Error> {
    let body = response
        .body
        .into_bytes()
        .await
        .map_err(instant_acme::Error::Other)?;
    let body = if serde_json::from_slice::<instant_acme::Problem>(&body).is_ok() {
        body
    } else {
        let problem = serde_json::json!({
            "type": "urn:ietf:params:acme:error:malformed",
            "detail": "the CA has no such resource (404 Not Found, with no problem document)",
            "status": 404,
        });
        Bytes::from(problem.to_string())
    };
    response.body = Box::new(body);
    Ok(response)
}

/// `Retry-After = HTTP-date / delay-seconds` (RFC 9110 §10.2.3), as a time.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<SystemTime> {
    let value = value.trim();
    match value.parse::<u64>() {
        Ok(secs) => now.checked_add(Duration::from_secs(secs)),
        Err(_) => httpdate::parse_http_date(value).ok(),
    }
}

/// Puts the recorded `Retry-After` into a `rateLimited` error that has none.
pub(super) fn with_retry_after(e: Error, slot: &RetryAfter) -> Error {
    match e {
        Error::Acme(AcmeError::RateLimited {
            detail,
            retry_after: None,
        }) => {
            let recorded = *slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            AcmeError::RateLimited {
                detail,
                retry_after: recorded,
            }
            .into()
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(now + Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 16:04:05 GMT", now),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_141_045))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn a_bare_404_gets_a_problem_document_and_a_given_one_stays() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let answer = |body: &'static str| {
            let (parts, ()) = http::Response::builder()
                .status(404)
                .body(())
                .unwrap()
                .into_parts();
            let response = BytesResponse {
                parts,
                body: Box::new(Bytes::from_static(body.as_bytes())),
            };
            let mut response = rt.block_on(with_problem_document(response)).unwrap();
            let body = rt.block_on(response.body.into_bytes()).unwrap();
            serde_json::from_slice::<instant_acme::Problem>(&body).unwrap()
        };
        let bare = answer("");
        assert_eq!(
            bare.r#type.as_deref(),
            Some("urn:ietf:params:acme:error:malformed")
        );
        assert_eq!(bare.status, Some(404));
        let given = answer(
            r#"{"type":"urn:ietf:params:acme:error:malformed","detail":"No order for ID 7"}"#,
        );
        assert_eq!(given.detail.as_deref(), Some("No order for ID 7"));
    }

    #[test]
    fn a_rate_limit_gets_the_recorded_time() {
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(5);
        let slot: RetryAfter = Arc::new(Mutex::new(Some(when)));
        let e = with_retry_after(
            AcmeError::RateLimited {
                detail: "slow down".into(),
                retry_after: None,
            }
            .into(),
            &slot,
        );
        assert!(matches!(
            e,
            Error::Acme(AcmeError::RateLimited { retry_after: Some(t), .. }) if t == when
        ));
    }
}
