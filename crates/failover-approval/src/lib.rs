//! failover-approval: a person decides. Two entry points in one function.
//!
//! * **Request** (the state machine's `.waitForTaskToken` task): the task token is kept
//!   server-side (SSM SecureString under a random approval id, never in a link); an approval
//!   request goes to the plan's SNS topic (e-mail-friendly text) and, when the plan names a Slack
//!   webhook, to Slack as a Block Kit card with Approve / Reject buttons. Both show what a person
//!   must weigh: the trigger and outage evidence, what will happen (switchover, or failover with
//!   data loss), the replication lag (RPO risk), target readiness, the deadline and what a timeout
//!   does. Links carry a URL-safe token, HMAC-SHA256-signed, bound to the approval id, the run, the
//!   decision and the deadline ([`token`]).
//! * **Callback** (the Lambda Function URL): `GET /?t=…` only shows a confirmation page (mail
//!   scanners prefetch links: a GET never decides); the page's `POST /` decides. `POST /slack`
//!   takes Slack's interaction callback, verified per Slack's signing spec ([`slack`]). A decision
//!   needs a valid signature (checked in constant time), an unexpired token, the approval record of
//!   the same run, and a create-only "decided" marker (single use); then `SendTaskSuccess` (who,
//!   when, how) or `SendTaskFailure` with error [`REJECTED_ERROR`]. Every answer is a small HTML
//!   page (or plain text for Slack); refusals change nothing.

pub mod page;
pub mod slack;
pub mod token;

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use base64::Engine;
use lifeboat_core::decision::PromotionMode;
use lifeboat_core::plan::{Approver, OnTimeout, ValidPlan};
use lifeboat_core::ports::{
    Clock, Created, Notifier, ParameterStore, Secret, TaskCallbacks, WebhookPoster,
};
use lifeboat_core::run::RunRequest;
use lifeboat_core::trigger::Trigger;
use lifeboat_core::{Error, ErrorKind, Result, store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::page::{escape, facts, page};
use crate::token::{Claims, Decision, LinkRefusal};

/// The `error` of `SendTaskFailure` when a person rejects: the state machine's Catch matches it.
pub const REJECTED_ERROR: &str = "ApprovalRejected";

/// The function's configuration (read once at init; secrets from SSM SecureString).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the plan is (`LIFEBOAT_PLAN_PARAMETER`) and the region this copy runs in
    /// (`AWS_REGION`).
    pub plan: lifeboat_lambda::PlanConfig,
    /// Key that signs approval links (SecureString named by `LIFEBOAT_LINK_SECRET_PARAMETER`).
    pub link_secret: Secret,
    /// Slack app signing secret (SecureString named by `LIFEBOAT_SLACK_SIGNING_SECRET_PARAMETER`);
    /// without it `/slack` answers 404.
    pub slack_signing_secret: Option<Secret>,
    /// The function URL, when the request does not say (`LIFEBOAT_APPROVAL_URL`).
    pub approval_url: Option<String>,
}

impl Config {
    /// Read the environment and load the secrets it names.
    pub async fn load<F: Fn(&str) -> Option<String>, P: ParameterStore>(
        env: &lifeboat_lambda::Env<F>,
        params: &P,
    ) -> Result<Self> {
        let secret = |name: String| async move {
            params
                .get(&name)
                .await?
                .filter(|v| !v.is_empty())
                .map(Secret::new)
                .ok_or_else(|| Error::not_found(format!("secret parameter {name} is missing")))
        };
        let link_secret = secret(env.required("LIFEBOAT_LINK_SECRET_PARAMETER")?).await?;
        let slack_signing_secret = match env.optional("LIFEBOAT_SLACK_SIGNING_SECRET_PARAMETER") {
            Some(name) => Some(secret(name).await?),
            None => None,
        };
        Ok(Self {
            plan: lifeboat_lambda::PlanConfig::from_env(env)?,
            link_secret,
            slack_signing_secret,
            approval_url: env.optional("LIFEBOAT_APPROVAL_URL"),
        })
    }
}

/// The state machine's request (task input of `lambda:invoke.waitForTaskToken`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// Always `request`.
    pub action: RequestAction,
    /// `$$.Task.Token`: kept server-side, never put in a link or a log line.
    pub task_token: String,
    /// The function URL that links point to (default: `LIFEBOAT_APPROVAL_URL`).
    #[serde(default)]
    pub callback_url: Option<String>,
    /// The run, as alarm-to-failover decided it (`$.run`).
    pub run: RunRequest,
    /// The promotion the workflow's assessment found possible now (`$.assessment.value
    /// .promotion`): what the person approves, and what the promotion is bound to. Absent or
    /// null: the run's.
    #[serde(default)]
    pub promotion: Option<PromotionMode>,
    /// The assessment's readiness snapshot (fresher than the run's). Absent or null: the run's.
    #[serde(default)]
    pub readiness: Option<lifeboat_core::decision::Readiness>,
    /// Why the person is asked again (the error that sent the workflow back), if so.
    #[serde(default)]
    pub asked_again: Option<AskedAgain>,
}

/// The error that sent the workflow back to ask again (as Step Functions shapes it).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct AskedAgain {
    #[serde(rename = "Error", default)]
    pub error: Option<String>,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestAction {
    Request,
}

/// What the request entry point did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requested {
    pub approval_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    pub sns_message_id: String,
    /// `sent`, `not configured`, or why it failed (e-mail went out regardless).
    pub slack: String,
}

/// The function's response: the request's outcome, or the Function URL's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    Requested(Requested),
    Page(LambdaFunctionUrlResponse),
}

/// What is kept server-side per approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ApprovalRecord {
    run_id: String,
    target_region: String,
    promotion: PromotionMode,
    task_token: String,
    deadline: i64,
}

/// The single-use marker: who decided what, when, how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DecidedMarker {
    decision: Decision,
    by: String,
    via: String,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    /// Recorded, not yet handed to the run: the process deciding may have died in between
    /// (crash, timeout), so a press of the same decision hands this one over. Markers written
    /// before this field existed were handed over (the default).
    #[serde(default)]
    pending: bool,
}

/// The output a decision sends to the waiting task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionOutput {
    pub decision: Decision,
    /// The promotion the person approved (what the request showed).
    pub promotion: PromotionMode,
    pub by: String,
    pub via: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub run_id: String,
    pub approval_id: String,
}

/// SSM names of an approval record and of its single-use "decided" marker.
pub use lifeboat_core::params::{approval as approval_parameter, decided as decided_parameter};

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Params, Topic, Webhook, Tasks, Time> {
    pub params: Params,
    pub notifier: Topic,
    pub webhook: Webhook,
    pub callbacks: Tasks,
    pub clock: Time,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<Params, Topic, Webhook, Tasks, Time> {
    pub config: Config,
    pub ports: Ports<Params, Topic, Webhook, Tasks, Time>,
}

/// A refusal of a callback: what the person's browser (or Slack) is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    /// The HTTP status.
    status: u16,
    /// The page's title.
    title: &'static str,
    /// One sentence for the person: what happened, and that nothing was changed.
    sentence: String,
}

impl Refusal {
    fn new(status: u16, title: &'static str, sentence: impl Into<String>) -> Self {
        Self {
            status,
            title,
            sentence: sentence.into(),
        }
    }
}

impl<Params, Topic, Webhook, Tasks, Time> Handler<Params, Topic, Webhook, Tasks, Time>
where
    Params: ParameterStore,
    Topic: Notifier,
    Webhook: WebhookPoster,
    Tasks: TaskCallbacks,
    Time: Clock,
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        let is_url_request = event
            .as_object()
            .is_some_and(|o| o.contains_key("requestContext"));
        if is_url_request {
            let request: LambdaFunctionUrlRequest =
                lifeboat_lambda::parse_event("Function URL request", event)?;
            Ok(Response::Page(self.callback(request).await))
        } else {
            let request: ApprovalRequest = lifeboat_lambda::parse_event("approval request", event)?;
            self.request(request).await.map(Response::Requested)
        }
    }
}

mod callback;
mod request;

pub use request::FACT_MAX_CHARS;
use request::*;

#[cfg(test)]
mod tests;
