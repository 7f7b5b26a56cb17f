//! lifeboat-http: HTTP adapters that are not AWS APIs.
//!
//! * [`Http`] implements [`HttpGetter`] (health endpoints and the public name, with a timeout
//!   and a bounded body) and [`WebhookPoster`] (Slack incoming webhooks).
//!
//! * [`digitalocean::DigitalOceanDns`] implements [`DomainRecords`](lifeboat_core::ports::DomainRecords)
//!   through DigitalOcean's DNS API, [`linode::LinodeDns`] through Linode's (DNS Manager).
//!
//! * [`kubernetes::KubernetesApi`] implements
//!   [`KubernetesWorkloads`](lifeboat_core::ports::KubernetesWorkloads) through a cluster's API.
//!
//! * [`patroni::PatroniRest`] implements [`PatroniClusters`](lifeboat_core::ports::PatroniClusters)
//!   through Patroni's REST API (PostgreSQL under Patroni, one cluster per region).
//!
//! One `reqwest::Client` (rustls, system roots) is built once per function and shared.

pub mod digitalocean;
mod domains;
pub mod kubernetes;
pub mod linode;
pub mod patroni;

use std::time::{Duration, Instant};

use lifeboat_core::ports::{HttpGetter, HttpObservation, Secret, WebhookPoster};
use lifeboat_core::{Error, ErrorKind, Result};

/// At most this much of a body is kept as evidence.
pub const BODY_LIMIT: usize = 4096;

/// The HTTP client lifeboat uses for health checks and webhooks.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    webhook_timeout: Duration,
}

impl Http {
    /// A client that follows at most 3 redirects and sends `lifeboat/<version>` as user agent.
    pub fn new() -> Result<Self> {
        Ok(Self {
            client: client()?,
            webhook_timeout: Duration::from_secs(5),
        })
    }
}

/// lifeboat's HTTP client: at most 3 redirects, `lifeboat/<version>` as user agent.
fn client() -> Result<reqwest::Client> {
    client_builder()
        .build()
        .map_err(|e| Error::internal(format!("HTTP client: {e}")))
}

/// [`client`]'s settings, for a client that adds to them (a cluster's CA certificate).
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("lifeboat/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(3))
        .connect_timeout(Duration::from_secs(5))
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl HttpGetter for Http {
    async fn get(&self, url: &str, timeout: Duration) -> HttpObservation {
        let started = Instant::now();
        let exchange = async {
            let mut response = self.client.get(url).send().await?;
            let status = response.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                let room = BODY_LIMIT.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= BODY_LIMIT {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, String::from_utf8_lossy(&body).into_owned()))
        };
        match tokio_timeout(timeout, exchange).await {
            None => HttpObservation::TimedOut {
                elapsed_ms: millis(started),
            },
            Some(Ok((status, body))) => HttpObservation::Response {
                status,
                body,
                elapsed_ms: millis(started),
            },
            Some(Err(e)) if e.is_timeout() => HttpObservation::TimedOut {
                elapsed_ms: millis(started),
            },
            Some(Err(e)) => HttpObservation::Failed {
                reason: describe(&e),
                elapsed_ms: millis(started),
            },
        }
    }
}

/// The whole exchange (connect, headers, body) is bounded by `timeout`.
async fn tokio_timeout<F: std::future::Future>(timeout: Duration, f: F) -> Option<F::Output> {
    tokio::time::timeout(timeout, f).await.ok()
}

/// Send `request` (bounded by `timeout`) and read its whole body. `label` names the exchange in
/// errors (`DigitalOcean GET ...`); no answer, or a body cut off, is `Transient`.
async fn exchange_bytes(
    label: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<(reqwest::StatusCode, Vec<u8>)> {
    let response = request.timeout(timeout).send().await.map_err(|e| {
        Error::new(
            ErrorKind::Transient,
            format!("{label}: {}", describe(&e.without_url())),
        )
    })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| {
        Error::new(
            ErrorKind::Transient,
            format!("{label}: HTTP {status}, {}", describe(&e.without_url())),
        )
    })?;
    Ok((status, body.to_vec()))
}

/// One exchange with a vendor's JSON API under a bearer token (DigitalOcean, Linode, a Kubernetes
/// cluster): a success's body read as `T` (a 204 reads as JSON `null`: `None` for an `Option`),
/// a body that does not parse `Internal`; a refusal an error of `kind_of(status)` carrying the
/// vendor's own words as `said` reads them from its error form (bounded and inert there; a body
/// not in that form shows nothing). `label` names the exchange (`Linode list records`).
async fn bearer_json<T: for<'de> serde::Deserialize<'de>>(
    label: &str,
    request: reqwest::RequestBuilder,
    token: &Secret,
    timeout: Duration,
    kind_of: fn(u16) -> ErrorKind,
    said: fn(&[u8]) -> Option<String>,
) -> Result<T> {
    let (status, body) =
        exchange_bytes(label, request.bearer_auth(token.expose()), timeout).await?;
    if status.is_success() {
        let body: &[u8] = if status == reqwest::StatusCode::NO_CONTENT {
            b"null"
        } else {
            &body
        };
        return serde_json::from_slice(body).map_err(|e| {
            Error::with_source(
                ErrorKind::Internal,
                format!("{label}: HTTP {status} with a body lifeboat cannot read"),
                e,
            )
        });
    }
    let said = said(&body)
        .filter(|s| !s.is_empty())
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    Err(Error::new(
        kind_of(status.as_u16()),
        format!("{label}: HTTP {status}{said}"),
    ))
}

/// The error kind of an HTTP API's refusal: 429 `Throttled`, 401/403 `AccessDenied`, 404
/// `NotFound`, another 4xx `InvalidInput`, anything else (5xx) `Transient`.
fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        429 => ErrorKind::Throttled,
        401 | 403 => ErrorKind::AccessDenied,
        404 => ErrorKind::NotFound,
        400..=499 => ErrorKind::InvalidInput,
        _ => ErrorKind::Transient,
    }
}

/// A short reason without the URL (the caller knows it) and with the root cause.
fn describe(e: &reqwest::Error) -> String {
    let mut reason = if e.is_connect() {
        "could not connect".to_string()
    } else if e.is_redirect() {
        "too many redirects".to_string()
    } else if e.is_body() || e.is_decode() {
        "broken response body".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(root) = last {
        reason.push_str(": ");
        reason.push_str(&root);
    }
    reason
}

impl WebhookPoster for Http {
    async fn post_json(&self, url: &Secret, body_json: &str) -> Result<()> {
        let response = self
            .client
            .post(url.expose())
            .header("content-type", "application/json")
            .body(body_json.to_string())
            .timeout(self.webhook_timeout)
            .send()
            .await
            // The webhook URL is a credential: errors must not carry it.
            .map_err(|e| {
                let kind = ErrorKind::Transient;
                Error::new(
                    kind,
                    format!("webhook POST: {}", describe(&e.without_url())),
                )
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let kind = match status.as_u16() {
            429 => ErrorKind::Throttled,
            401 | 403 => ErrorKind::AccessDenied,
            404 | 410 => ErrorKind::NotFound,
            400..=499 => ErrorKind::InvalidInput,
            _ => ErrorKind::Transient,
        };
        Err(Error::new(kind, format!("webhook POST: HTTP {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn a_response_is_observed_with_a_bounded_body() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/healthz"))
            .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(10_000)))
            .mount(&server)
            .await;
        let http = Http::new().unwrap();
        let got = http
            .get(&format!("{}/healthz", server.uri()), Duration::from_secs(2))
            .await;
        match got {
            HttpObservation::Response { status, body, .. } => {
                assert_eq!(status, 200);
                assert_eq!(body.len(), BODY_LIMIT);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_slow_answer_is_a_timeout() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let got = Http::new()
            .unwrap()
            .get(&server.uri(), Duration::from_millis(200))
            .await;
        assert!(
            matches!(got, HttpObservation::TimedOut { elapsed_ms } if elapsed_ms < 2000),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn nobody_listening_is_a_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let got = Http::new()
            .unwrap()
            .get(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(2))
            .await;
        assert!(matches!(got, HttpObservation::Failed { .. }), "{got:?}");
    }

    #[tokio::test]
    async fn webhook_errors_never_carry_the_url() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(body_string_contains("\"text\""))
            .respond_with(ResponseTemplate::new(200))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        let http = Http::new().unwrap();
        let url = Secret::new(format!("{}/services/T000/B000/XXXXSECRET", server.uri()));
        http.post_json(&url, r#"{"text":"hi"}"#).await.unwrap();
        let err = http.post_json(&url, r#"{"text":"hi"}"#).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(!format!("{err:?}").contains("XXXXSECRET"));
        let nobody = Secret::new("http://127.0.0.1:1/services/XXXXSECRET");
        let err = http.post_json(&nobody, "{}").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(!format!("{err:?}").contains("XXXXSECRET"), "{err:?}");
    }
}
