//! Alertmanager's webhook on the function's URL: `POST /alertmanager`, authenticated by the
//! bearer token Alertmanager sends (`http_config.authorization.credentials`), compared in
//! constant time with the plan's SecureString parameter.
//!
//! The answer tells Alertmanager what to do: 2xx (seen, and started, refused or ignored with a
//! reason) is never sent again; 4xx (not authenticated, not a notification) is not retried;
//! 5xx (AWS could not be reached) is retried by Alertmanager, which is the retry this path has.

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine;
use lifeboat_core::ErrorKind;
use lifeboat_core::alertmanager;
use lifeboat_core::ports::Secret;
use lifeboat_core::text::inert;
use lifeboat_core::trigger::Observation;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The path Alertmanager's `webhook_configs[].url` names on the function's URL.
pub const PATH: &str = "/alertmanager";

/// Whether `authorization` (the request's header) carries `token` as a bearer token. Both sides
/// are hashed first, so the comparison takes the same time whatever the lengths.
pub fn bearer_matches(authorization: Option<&str>, token: &Secret) -> bool {
    let Some(given) = authorization.and_then(|h| {
        let (scheme, rest) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    }) else {
        return false;
    };
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(token.expose().as_bytes());
    !token.expose().is_empty() && bool::from(a.as_slice().ct_eq(b.as_slice()))
}

/// The request's body as bytes (a Function URL base64-encodes bodies it does not take for text).
pub fn body_bytes(req: &LambdaFunctionUrlRequest) -> Option<Vec<u8>> {
    let body = req.body.as_deref().unwrap_or_default();
    if req.is_base64_encoded {
        base64::engine::general_purpose::STANDARD.decode(body).ok()
    } else {
        Some(body.as_bytes().to_vec())
    }
}

pub(crate) fn method(req: &LambdaFunctionUrlRequest) -> &str {
    req.request_context
        .http
        .method
        .as_deref()
        .unwrap_or_default()
}

pub(crate) fn path(req: &LambdaFunctionUrlRequest) -> &str {
    req.raw_path.as_deref().unwrap_or_default()
}

/// A JSON answer.
pub(crate) fn answer(status: u16, body: serde_json::Value) -> LambdaFunctionUrlResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    if status == 401 {
        headers.insert(
            "www-authenticate",
            HeaderValue::from_static("Bearer realm=\"lifeboat\""),
        );
    }
    if status == 405 {
        headers.insert("allow", HeaderValue::from_static("POST"));
    }
    let mut r = LambdaFunctionUrlResponse::default();
    r.status_code = i64::from(status);
    r.headers = headers;
    r.body = Some(body.to_string());
    r.is_base64_encoded = false;
    r
}

/// A refusal: status and one sentence (inert, bounded).
pub(crate) fn refused(status: u16, message: &str) -> LambdaFunctionUrlResponse {
    answer(
        status,
        json!({ "outcome": "refused_request", "message": inert(message, 500) }),
    )
}

/// The status an error of lifeboat's answers with: retried by Alertmanager when retrying may
/// help (AWS unreachable or throttling), not when the input or the set-up is wrong.
pub(crate) fn status_of(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::InvalidInput => 400,
        ErrorKind::Transient | ErrorKind::Throttled => 503,
        _ => 500,
    }
}

/// The notification, read: `Observation::Alertmanager`, or `InvalidInput` saying why not.
pub(crate) fn observation(req: &LambdaFunctionUrlRequest) -> lifeboat_core::Result<Observation> {
    let body = body_bytes(req)
        .ok_or_else(|| lifeboat_core::Error::invalid_input("the body is not valid base64"))?;
    alertmanager::parse(&body).map(Observation::Alertmanager)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let token = Secret::new("correct horse battery staple");
        assert!(bearer_matches(
            Some("Bearer correct horse battery staple"),
            &token
        ));
        assert!(bearer_matches(
            Some("bearer   correct horse battery staple "),
            &token
        ));
        for wrong in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic correct horse battery staple"),
            Some("Bearer correct horse battery stapl"),
            Some("Bearer correct horse battery staple2"),
            Some("correct horse battery staple"),
        ] {
            assert!(!bearer_matches(wrong, &token), "{wrong:?}");
        }
        // an empty token in the parameter store accepts nobody
        assert!(!bearer_matches(Some("Bearer "), &Secret::new("")));
    }
}
