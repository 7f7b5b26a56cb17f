//! Runtime glue shared by lifeboat's Lambda functions: tracing, typed environment config,
//! event parsing with typed errors, and the mapping of error kinds to stable `errorType`s.

use std::fmt;

use lambda_runtime::Diagnostic;
use lifeboat_core::{Error, ErrorKind};
use serde::de::DeserializeOwned;

/// JSON logs to stdout (CloudWatch Logs), level from `RUST_LOG` (default `info`).
/// Call once at the top of `main`.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .without_time()
        .try_init();
}

/// The error a handler returns: a lifeboat error whose kind becomes the Lambda `errorType`
/// (`Transient`, `Throttled`, `PreconditionFailed`, `InvalidInput`, `NotFound`,
/// `AccessDenied`, `Internal`), the names the state machine's `Retry`/`Catch` match on.
pub struct LambdaError(pub Error);

impl From<Error> for LambdaError {
    fn from(e: Error) -> Self {
        LambdaError(e)
    }
}

impl fmt::Debug for LambdaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.kind(), self.0)
    }
}

impl fmt::Display for LambdaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<LambdaError> for Diagnostic {
    fn from(e: LambdaError) -> Self {
        Diagnostic {
            error_type: e.0.kind().as_str().to_string(),
            error_message: e.0.to_string(),
        }
    }
}

/// Log a handler's failure once, with its kind, and hand it to the runtime.
pub fn report(e: Error) -> LambdaError {
    match e.kind() {
        ErrorKind::InvalidInput
        | ErrorKind::PreconditionFailed
        | ErrorKind::NotFound
        | ErrorKind::ApprovalOutdated => {
            tracing::warn!(error_type = e.kind().as_str(), error = %e, "refused")
        }
        _ => tracing::error!(error_type = e.kind().as_str(), error = %e, "failed"),
    }
    LambdaError(e)
}

/// Parse an event into its type; a malformed event is `InvalidInput` naming where it is wrong.
///
/// Functions take the raw JSON from the runtime and parse it here (rather than letting the
/// runtime fail with its own untyped `Runtime.UnmarshalError`), so that bad input gets lifeboat's
/// typed error and changes nothing.
pub fn parse_event<T: DeserializeOwned>(what: &str, value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value)
        .map_err(|e| Error::invalid_input(format!("malformed {what}: {e}")))
}

/// Typed access to the function's environment.
#[derive(Debug, Clone)]
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        Env(|k| std::env::var(k).ok())
    }
}

/// The variable that names the other copy's region ([`Env::peer_region`]).
pub const PEER_REGION_VAR: &str = "LIFEBOAT_PEER_REGION";

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// A required, non-empty variable.
    pub fn required(&self, name: &str) -> Result<String, Error> {
        (self.0)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::invalid_input(format!("environment variable {name} is not set")))
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A whole number of milliseconds within `max`, or `default`.
    pub fn millis(&self, name: &str, default: u64, max: u64) -> Result<std::time::Duration, Error> {
        match self.optional(name) {
            None => Ok(std::time::Duration::from_millis(default)),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .map(std::time::Duration::from_millis)
                .ok_or_else(|| {
                    Error::invalid_input(format!("{name} must be milliseconds in 1..={max}"))
                }),
        }
    }

    /// A whole number within `min..=max`, or `default`.
    pub fn number(&self, name: &str, default: u32, min: u32, max: u32) -> Result<u32, Error> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    Error::invalid_input(format!("{name} must be a whole number in {min}..={max}"))
                }),
        }
    }

    /// The function's region (`AWS_REGION`, set by Lambda): the region it fails over *into*.
    /// The plan's other region (`LIFEBOAT_PEER_REGION`), where the other copy runs: a region
    /// name, not `own`.
    pub fn peer_region(&self, own: &str) -> Result<String, Error> {
        // Named through the constant: only the functions that call this require it.
        let peer = self.required(PEER_REGION_VAR)?;
        if lifeboat_core::plan::is_region_name(&peer) && peer != own {
            Ok(peer)
        } else {
            Err(Error::invalid_input(format!(
                "LIFEBOAT_PEER_REGION must be the plan's other region, not '{peer}'"
            )))
        }
    }

    pub fn region(&self) -> Result<String, Error> {
        let region = self.required("AWS_REGION")?;
        if lifeboat_core::plan::is_region_name(&region) {
            Ok(region)
        } else {
            Err(Error::invalid_input(format!(
                "AWS_REGION '{region}' is not a region name"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_becomes_its_stable_error_type() {
        for kind in ErrorKind::ALL {
            let d: Diagnostic = LambdaError(Error::new(kind, "boom")).into();
            assert_eq!(d.error_type, kind.as_str());
            assert_eq!(d.error_message, "boom");
        }
    }

    #[test]
    fn malformed_events_are_invalid_input() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct E {
            action: String,
        }
        let err = parse_event::<E>("request", serde_json::json!({"act": 1})).expect_err("bad");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("action"), "{err}");
    }

    #[test]
    fn env_is_typed() {
        let env = Env(|k: &str| match k {
            "AWS_REGION" => Some("us-west-2".to_string()),
            "EMPTY" => Some("  ".to_string()),
            "MS" => Some("250".to_string()),
            "BAD_MS" => Some("0".to_string()),
            _ => None,
        });
        assert_eq!(env.region().expect("region"), "us-west-2");
        assert!(env.required("EMPTY").is_err());
        assert!(env.required("MISSING").is_err());
        assert_eq!(env.millis("MS", 1, 1000).expect("ms").as_millis(), 250);
        assert!(env.millis("BAD_MS", 1, 1000).is_err());
        assert_eq!(env.millis("NONE", 7, 1000).expect("default").as_millis(), 7);
        let bad = Env(|_: &str| Some("../x".to_string()));
        assert!(bad.region().is_err());
    }
}

/// The invocation of a scheduled function: an EventBridge scheduled event.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Scheduled {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    #[serde(default)]
    pub time: Option<String>,
}

impl Scheduled {
    /// Parse `event` as the schedule's event; anything else is `InvalidInput` naming `function`.
    pub fn parse(function: &str, event: serde_json::Value) -> Result<Self, Error> {
        let scheduled: Scheduled = parse_event("scheduled event", event)?;
        if scheduled.source != "aws.events" || scheduled.detail_type != "Scheduled Event" {
            return Err(Error::invalid_input(format!(
                "{function} runs on a schedule; got source '{}' / detail-type '{}'",
                scheduled.source, scheduled.detail_type
            )));
        }
        Ok(scheduled)
    }
}

/// Where EMF lines go.
pub trait LineSink: Send + Sync {
    fn line(&self, line: &str);
}

/// Standard output: in Lambda, CloudWatch Logs, which extracts EMF metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutLines;

impl LineSink for StdoutLines {
    #[allow(
        clippy::print_stdout,
        reason = "EMF lines must be whole JSON lines on stdout"
    )]
    fn line(&self, line: &str) {
        println!("{line}");
    }
}

/// What most lifeboat functions need from their environment: where the plan is, and where the
/// function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConfig {
    /// SSM parameter holding the plan (`LIFEBOAT_PLAN_PARAMETER`).
    pub plan_parameter: String,
    /// The region this copy runs in (`AWS_REGION`): the default target.
    pub region: String,
}

impl PlanConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, Error> {
        Ok(Self {
            plan_parameter: env.required("LIFEBOAT_PLAN_PARAMETER")?,
            region: env.region()?,
        })
    }
}

/// Serve `handle` under the Lambda runtime: each event's JSON payload in, the handler's answer
/// (or its error, as a typed `errorType`) out. Call at the end of `main`, after the handler has
/// been built once.
pub async fn serve<H, Fut, R>(handle: H) -> Result<(), lambda_runtime::Error>
where
    H: Fn(serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<R, Error>>,
    R: serde::Serialize,
{
    let handle = &handle;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            handle(event.payload).await.map_err(report)
        },
    ))
    .await
}
