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

    // ---- request -------------------------------------------------------------------------

    async fn request(&self, req: ApprovalRequest) -> Result<Requested> {
        if req.task_token.is_empty() || req.task_token.len() > 2048 {
            return Err(Error::invalid_input("task_token must be 1-2048 characters"));
        }
        let base_url = req
            .callback_url
            .clone()
            .or_else(|| self.config.approval_url.clone())
            .ok_or_else(|| {
                Error::invalid_input("no callback_url in the request and no LIFEBOAT_APPROVAL_URL")
            })?;
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(Error::invalid_input("callback_url must be an http(s) URL"));
        }
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        // What the person approves: the mode and evidence the workflow found just now.
        let mut bound = req.run.clone();
        if let Some(p) = req.promotion {
            bound.promotion = p;
        }
        if let Some(r) = req.readiness.clone() {
            bound.readiness = r;
        }
        let run = &bound;
        if run.app != plan.app() {
            return Err(Error::invalid_input(format!(
                "run is for app '{}', the plan is for '{}'",
                run.app,
                plan.app()
            )));
        }
        let topic = plan
            .region(&run.target_region)?
            .notification_topic_arn
            .clone();
        let now = self.ports.clock.now();
        let timeout_minutes = plan.approval().timeout_minutes;
        let deadline = now + time::Duration::minutes(i64::from(timeout_minutes));

        let id = random_id()?;
        let record = ApprovalRecord {
            run_id: run.run_id.to_string(),
            target_region: run.target_region.clone(),
            promotion: run.promotion,
            task_token: req.task_token.clone(),
            deadline: deadline.unix_timestamp(),
        };
        let record_json = serde_json::to_string(&record)
            .map_err(|e| Error::internal(format!("approval record: {e}")))?;
        match self
            .ports
            .params
            .create_secret(&approval_parameter(plan.app(), &id), &record_json)
            .await?
        {
            Created::Created => {}
            Created::AlreadyExists => {
                return Err(Error::internal("approval id collision; retry the request"));
            }
        }

        let claims = |d| Claims {
            v: 1,
            id: id.clone(),
            run: run.run_id.to_string(),
            d,
            exp: deadline.unix_timestamp(),
        };
        let approve = token::sign(&self.config.link_secret, &claims(Decision::Approve))?;
        let reject = token::sign(&self.config.link_secret, &claims(Decision::Reject))?;
        let sep = if base_url.contains('?') { '&' } else { '?' };
        let approve_link = format!("{base_url}{sep}t={approve}");
        let reject_link = format!("{base_url}{sep}t={reject}");

        let mut facts = request_facts(&plan, run, now, deadline);
        if let Some(again) = &req.asked_again {
            facts.insert(
                0,
                (
                    "ASKED AGAIN".into(),
                    lifeboat_core::text::bounded(
                        again
                            .cause
                            .as_deref()
                            .or(again.error.as_deref())
                            .unwrap_or("the workflow came back to ask"),
                        600,
                    ),
                ),
            );
        }
        // Everything shown is made inert and bounded once, here: alarm reasons, evidence and
        // names come from events and health bodies; each channel escapes it for its markup.
        for (_, v) in &mut facts {
            *v = lifeboat_core::text::inert(v, FACT_MAX_CHARS);
        }
        let title = format!(
            "APPROVAL NEEDED: {} {} to {} ({})",
            plan.app(),
            run.kind,
            run.target_region,
            match run.promotion {
                PromotionMode::Switchover => "switchover, no data loss",
                PromotionMode::Failover { .. } => "failover WITH DATA LOSS",
            }
        );
        let mut text = format!("{title}\n\n");
        for (k, v) in &facts {
            text.push_str(&format!("{k}: {v}\n"));
        }
        text.push_str(&format!(
            "\nApprove: {approve_link}\n\nReject:  {reject_link}\n\n\
             Opening a link shows a confirmation page; nothing happens until you press its \
             button. Each link works once, and only until the deadline.\n"
        ));
        let sns_message_id = self
            .ports
            .notifier
            .publish(&topic, &format!("[lifeboat] {title}"), &text)
            .await?;

        let slack = match &plan.approval().slack_webhook_parameter {
            None => "not configured".to_string(),
            Some(name) => {
                let card = slack::card(&title, &facts, &approve, &reject);
                match self.post_to_slack(name, &card).await {
                    Ok(()) => "sent".to_string(),
                    Err(e) => {
                        tracing::warn!(kind = %e.kind(), error = %e, "Slack approval card not sent; the e-mail was");
                        format!("failed ({}): {}", e.kind(), e.message())
                    }
                }
            }
        };
        tracing::info!(run_id = %run.run_id, approval_id = %id, deadline = %deadline, slack = %slack, "approval requested");
        Ok(Requested {
            approval_id: id,
            deadline,
            sns_message_id,
            slack,
        })
    }

    async fn post_to_slack(&self, parameter: &str, card: &Value) -> Result<()> {
        let url = self
            .ports
            .params
            .get(parameter)
            .await?
            .map(Secret::new)
            .ok_or_else(|| Error::not_found(format!("Slack webhook parameter {parameter}")))?;
        self.ports.webhook.post_json(&url, &card.to_string()).await
    }

    // ---- callback ------------------------------------------------------------------------

    async fn callback(&self, req: LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
        let method = req
            .request_context
            .http
            .method
            .clone()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let path = req.raw_path.clone().unwrap_or_else(|| "/".into());
        let body = match raw_body(&req) {
            Some(b) => b,
            None => {
                return page(
                    400,
                    "Bad request",
                    "<p>The request body could not be read.</p>",
                );
            }
        };
        match (method.as_str(), path.as_str()) {
            ("GET", "/") => self.confirmation_page(&req).await,
            ("POST", "/") => self.decide_from_form(&body).await,
            ("POST", "/slack") => self.decide_from_slack(&req, &body).await,
            (_, "/" | "/slack") => page(405, "Method not allowed", ""),
            _ => page(404, "Not found", ""),
        }
    }

    /// Verify a token and find its approval record (same run, not yet decided).
    async fn check(
        &self,
        token: &str,
    ) -> std::result::Result<(Claims, ApprovalRecord, String), Refusal> {
        let now = self.ports.clock.now();
        let claims = match token::verify(&self.config.link_secret, token, now) {
            Ok(c) => c,
            Err(LinkRefusal::Forged) => {
                return Err(Refusal::new(
                    403,
                    "Not a valid link",
                    "This link is not a valid lifeboat approval link.",
                ));
            }
            Err(LinkRefusal::Expired) => {
                return Err(Refusal::new(
                    410,
                    "Link expired",
                    "This approval link has expired. Nothing was changed.",
                ));
            }
        };
        let app = self.app().await.map_err(unavailable)?;
        let record = self
            .ports
            .params
            .get(&approval_parameter(&app, &claims.id))
            .await
            .map_err(unavailable)?
            .and_then(|v| serde_json::from_str::<ApprovalRecord>(&v).ok());
        let Some(record) = record else {
            return Err(Refusal::new(
                404,
                "Unknown request",
                "There is no such approval request.",
            ));
        };
        if record.run_id != claims.run {
            return Err(Refusal::new(
                403,
                "Not a valid link",
                "This link does not belong to this run.",
            ));
        }
        Ok((claims, record, app))
    }

    async fn app(&self) -> Result<String> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        Ok(plan.app().to_string())
    }

    async fn confirmation_page(&self, req: &LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
        let Some(token) = query_token(req) else {
            return page(
                400,
                "Missing link token",
                "<p>This page needs the link from the approval request.</p>",
            );
        };
        let (claims, record, app) = match self.check(&token).await {
            Ok(x) => x,
            Err(r) => return refused(r),
        };
        match self
            .ports
            .params
            .get(&decided_parameter(&app, &claims.id))
            .await
        {
            // A decision recorded but never handed over is pressed again (the same button).
            Ok(Some(marker)) if pending_as(&marker, claims.d).is_none() => {
                return already_decided(&marker);
            }
            Ok(_) => {}
            Err(e) => return refused(unavailable(e)),
        }
        let (verb, class) = match claims.d {
            Decision::Approve => ("Approve failover", "approve"),
            Decision::Reject => ("Reject failover", "reject"),
        };
        let deadline = OffsetDateTime::from_unix_timestamp(record.deadline)
            .map(format_time)
            .unwrap_or_default();
        let who_field = if self.asks_for_address().await {
            "<p><label>Your e-mail address (the plan names who may decide; recorded with the \
             decision)<br><input name=\"who\" type=\"email\" required maxlength=\"254\" \
             autocomplete=\"email\"></label></p>"
        } else {
            "<p><label>Your name (recorded with the decision)<br>\
             <input name=\"who\" required maxlength=\"64\" autocomplete=\"name\"></label></p>"
        };
        let body = format!(
            "{}<form method=\"post\" action=\"./\">{who_field}\
             <input type=\"hidden\" name=\"t\" value=\"{}\">\
             <p><button class=\"{class}\" type=\"submit\">{verb}</button></p></form>\
             <p class=\"note\">Nothing has happened yet: only this button decides. The link works \
             once.</p>",
            facts(&[
                ("Run".into(), record.run_id.clone()),
                ("Target region".into(), record.target_region.clone()),
                (
                    "Promotion".into(),
                    describe_promotion(&record.promotion, None)
                ),
                ("Deadline".into(), deadline),
            ]),
            escape(&token)
        );
        page(200, &format!("{verb}?"), &body)
    }

    async fn decide_from_form(&self, body: &str) -> LambdaFunctionUrlResponse {
        #[derive(Deserialize)]
        struct Form {
            t: String,
            #[serde(default)]
            who: String,
        }
        let Ok(form) = serde_urlencoded::from_str::<Form>(body) else {
            return page(
                400,
                "Bad request",
                "<p>Use the button on the confirmation page.</p>",
            );
        };
        let who = form.who.trim();
        if who.is_empty() || who.chars().count() > 254 || who.chars().any(char::is_control) {
            return page(
                400,
                "Name needed",
                "<p>Go back and give your name or address (at most 254 characters): it is recorded with the decision.</p>",
            );
        }
        match self.may_decide(Approver::Email { address: who }).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(who = %lifeboat_core::text::inert(who, 64), "an e-mail link decision by someone who is not one of the plan's approvers");
                return page(
                    403,
                    "Not an approver",
                    "<p>The plan names who may decide, by e-mail address: give yours (one of \
                     them). Nothing was sent to the run.</p>",
                );
            }
            Err(r) => return refused(r),
        }
        match self.decide(&form.t, who, "e-mail link").await {
            Ok((decision, record)) => {
                let body = match decision {
                    Decision::Approve => format!(
                        "<p>Thank you, {}. lifeboat now fails over to <b>{}</b>. The report follows by e-mail.</p>",
                        escape(who),
                        escape(&record.target_region)
                    ),
                    Decision::Reject => format!(
                        "<p>Thank you, {}. The failover was rejected: nothing changes.</p>",
                        escape(who)
                    ),
                };
                page(
                    200,
                    match decision {
                        Decision::Approve => "Approved",
                        Decision::Reject => "Rejected",
                    },
                    &body,
                )
            }
            Err(r) => refused(r),
        }
    }

    async fn decide_from_slack(
        &self,
        req: &LambdaFunctionUrlRequest,
        body: &str,
    ) -> LambdaFunctionUrlResponse {
        let Some(secret) = &self.config.slack_signing_secret else {
            return page::text(404, "not found");
        };
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
        let now = self.ports.clock.now();
        if let Err(why) = slack::verify_signature(
            secret,
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            body,
            now,
        ) {
            tracing::warn!(refusal = ?why, "Slack request refused");
            return page::text(401, "request signature refused");
        }
        let Ok(interaction) = slack::parse_interaction(body) else {
            return page::text(400, "unexpected payload");
        };
        let expected = match token::verify(&self.config.link_secret, &interaction.value, now) {
            Ok(c) => match c.d {
                Decision::Approve => slack::APPROVE_ACTION,
                Decision::Reject => slack::REJECT_ACTION,
            },
            Err(_) => "",
        };
        if interaction.action_id != expected {
            return page::text(403, "This button is not valid.");
        }
        match self
            .may_decide(Approver::SlackUser {
                id: &interaction.user_id,
            })
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(user = %lifeboat_core::text::inert(&interaction.user, 120), "a Slack user who is not one of the plan's approvers pressed a button");
                return page::text(
                    403,
                    "You are not one of the plan's approvers: nothing was sent to the run.",
                );
            }
            Err(r) => return page::text(r.status, &r.sentence),
        }
        match self
            .decide(&interaction.value, &interaction.user, "Slack")
            .await
        {
            Ok((Decision::Approve, r)) => page::text(
                200,
                &format!(
                    "Approved by {}: failing over to {}.",
                    interaction.user, r.target_region
                ),
            ),
            Ok((Decision::Reject, _)) => page::text(
                200,
                &format!("Rejected by {}: nothing changes.", interaction.user),
            ),
            Err(r) => page::text(r.status, &r.sentence),
        }
    }

    /// Whether the plan lets `who` decide (anyone, when it names no approvers).
    async fn may_decide(&self, who: Approver<'_>) -> std::result::Result<bool, Refusal> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter)
            .await
            .map_err(unavailable)?;
        Ok(plan.approval().approvers.may_decide(who))
    }

    /// Whether the plan names approvers by e-mail address (the confirmation page asks for one).
    async fn asks_for_address(&self) -> bool {
        store::load_plan(&self.ports.params, &self.config.plan.plan_parameter)
            .await
            .is_ok_and(|p| !p.approval().approvers.is_empty())
    }

    /// Decide once: the create-only marker makes a replay (or the other button) a no-op. The
    /// marker is written pending, the decision handed to the run, then the marker settled; a
    /// decision whose process died in between is handed over by the next press of its button.
    async fn decide(
        &self,
        token: &str,
        who: &str,
        via: &str,
    ) -> std::result::Result<(Decision, ApprovalRecord), Refusal> {
        let (claims, record, app) = self.check(token).await?;
        let marker = DecidedMarker {
            decision: claims.d,
            by: who.to_string(),
            via: via.to_string(),
            at: self.ports.clock.now(),
            pending: true,
        };
        let marker_json = serde_json::to_string(&marker)
            .map_err(|e| unavailable(Error::internal(e.to_string())))?;
        let marker_name = decided_parameter(&app, &claims.id);
        match self.ports.params.create(&marker_name, &marker_json).await {
            Ok(Created::Created) => {}
            Ok(Created::AlreadyExists) => {
                let seen = self
                    .ports
                    .params
                    .get(&marker_name)
                    .await
                    .map_err(unavailable)?
                    .unwrap_or_default();
                return match pending_as(&seen, claims.d) {
                    Some(recorded) => {
                        tracing::warn!(run_id = %record.run_id, approval_id = %claims.id, by = %recorded.by, "a recorded decision was never handed to the run: handing it over");
                        self.hand_over(&claims.id, &marker_name, recorded, record)
                            .await
                    }
                    None => Err(Refusal::new(
                        409,
                        "Already decided",
                        already_decided_sentence(&seen),
                    )),
                };
            }
            Err(e) => return Err(unavailable(e)),
        }
        self.hand_over(&claims.id, &marker_name, marker, record)
            .await
    }

    /// Hand a recorded decision to the waiting run, then settle its marker.
    async fn hand_over(
        &self,
        approval_id: &str,
        marker_name: &str,
        marker: DecidedMarker,
        record: ApprovalRecord,
    ) -> std::result::Result<(Decision, ApprovalRecord), Refusal> {
        let sent = match marker.decision {
            Decision::Approve => {
                let output = DecisionOutput {
                    decision: marker.decision,
                    promotion: record.promotion,
                    by: marker.by.clone(),
                    via: marker.via.clone(),
                    at: marker.at,
                    run_id: record.run_id.clone(),
                    approval_id: approval_id.to_string(),
                };
                match serde_json::to_string(&output) {
                    Ok(json) => {
                        self.ports
                            .callbacks
                            .succeed(&record.task_token, &json)
                            .await
                    }
                    Err(e) => Err(Error::internal(e.to_string())),
                }
            }
            Decision::Reject => {
                let cause = format!(
                    "rejected by {} via {} at {}",
                    marker.by,
                    marker.via,
                    format_time(marker.at)
                );
                self.ports
                    .callbacks
                    .fail(&record.task_token, REJECTED_ERROR, &cause)
                    .await
            }
        };
        match sent {
            Ok(()) => {
                tracing::info!(run_id = %record.run_id, approval_id = %approval_id, decision = marker.decision.as_str(), by = %marker.by, via = %marker.via, "decided");
                self.settle(marker_name, &marker).await;
                Ok((marker.decision, record))
            }
            Err(e) if e.kind().is_retryable() => {
                // Not delivered: undo the marker so the person can press again.
                if let Err(undo) = self.ports.params.delete(marker_name).await {
                    tracing::error!(error = %undo, "could not remove the decided marker");
                }
                Err(unavailable(e))
            }
            Err(e) => {
                tracing::warn!(run_id = %record.run_id, kind = %e.kind(), error = %e, "the run no longer waits for a decision");
                self.settle(marker_name, &marker).await;
                Err(Refusal::new(
                    410,
                    "No longer waiting",
                    "The run is no longer waiting for a decision (it timed out, or was stopped). Nothing was changed.",
                ))
            }
        }
    }

    /// Mark a decision handed over (or past handing over). Not fatal when it cannot be written:
    /// a later press hands it over again, and the run, which already has it, refuses that.
    async fn settle(&self, marker_name: &str, marker: &DecidedMarker) {
        let settled = DecidedMarker {
            pending: false,
            ..marker.clone()
        };
        let written = match serde_json::to_string(&settled) {
            Ok(json) => self.ports.params.put(marker_name, &json).await,
            Err(e) => Err(Error::internal(e.to_string())),
        };
        if let Err(e) = written {
            tracing::warn!(kind = %e.kind(), error = %e, "could not mark the decision handed over");
        }
    }
}

/// The marker, when it is a decision recorded as `decision` and not yet handed to the run.
fn pending_as(marker_json: &str, decision: Decision) -> Option<DecidedMarker> {
    serde_json::from_str::<DecidedMarker>(marker_json)
        .ok()
        .filter(|m| m.pending && m.decision == decision)
}

fn unavailable(e: Error) -> Refusal {
    tracing::error!(kind = %e.kind(), error = %e, "approval callback could not be served");
    match e.kind() {
        ErrorKind::Transient | ErrorKind::Throttled => Refusal::new(
            503,
            "Try again",
            "lifeboat could not record the decision just now. Nothing was changed; please press again in a moment.",
        ),
        _ => Refusal::new(
            500,
            "Error",
            "lifeboat could not serve this request. Nothing was changed.",
        ),
    }
}

fn refused(r: Refusal) -> LambdaFunctionUrlResponse {
    page(
        r.status,
        r.title,
        &format!("<p>{}</p>", escape(&r.sentence)),
    )
}

fn already_decided_sentence(marker_json: &str) -> String {
    match serde_json::from_str::<DecidedMarker>(marker_json) {
        Ok(m) => format!(
            "This request was already decided: {} by {} via {} at {}. Nothing was changed.",
            m.decision.as_str(),
            m.by,
            m.via,
            format_time(m.at)
        ),
        Err(_) => "This request was already decided. Nothing was changed.".into(),
    }
}

fn already_decided(marker_json: &str) -> LambdaFunctionUrlResponse {
    refused(Refusal::new(
        409,
        "Already decided",
        already_decided_sentence(marker_json),
    ))
}

fn raw_body(req: &LambdaFunctionUrlRequest) -> Option<String> {
    let body = req.body.clone().unwrap_or_default();
    if req.is_base64_encoded {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?;
        String::from_utf8(bytes).ok()
    } else {
        Some(body)
    }
}

fn query_token(req: &LambdaFunctionUrlRequest) -> Option<String> {
    if let Some(t) = req.query_string_parameters.get("t") {
        return Some(t.clone());
    }
    let raw = req.raw_query_string.as_deref()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "t")
        .map(|(_, v)| v)
}

fn random_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("random id: {e}")))?;
    Ok(hex::encode(bytes))
}

fn format_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(f)
        .unwrap_or_default()
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn describe_promotion(p: &PromotionMode, guard: Option<u32>) -> String {
    match p {
        PromotionMode::Switchover => {
            "planned switchover: replication catches up first, no data loss (RPO 0)".into()
        }
        PromotionMode::Failover { lag, overridden } => {
            let mut s = format!(
                "UNPLANNED FAILOVER, data loss allowed: writes of the last ~{} may be lost",
                lag.map(secs).unwrap_or_else(|| "(unknown)".into())
            );
            if let Some(g) = guard {
                s.push_str(&format!(" (RPO guard {g} s"));
                s.push_str(if *overridden {
                    ", OVERRIDDEN by a person)"
                } else {
                    ")"
                });
            }
            s
        }
    }
}

fn describe_trigger(t: &Trigger) -> String {
    match t {
        Trigger::Alarm {
            name,
            region,
            reason,
            at,
        } => format!(
            "alarm {name} ({region}) in ALARM since {}: {reason}",
            format_time(*at)
        ),
        Trigger::Canary {
            probed_region,
            failures,
            probes,
            evidence,
            at,
        } => {
            let mut s = format!(
                "canary: {failures} of {probes} probes of {probed_region} failed at {}",
                format_time(*at)
            );
            for e in evidence.iter().take(3) {
                s.push_str(&format!("; {e}"));
            }
            s
        }
        Trigger::Manual { requested_by, at } => {
            format!("requested by {requested_by} at {}", format_time(*at))
        }
    }
}

/// The longest a fact may be (Slack's section fields take at most 2,000 characters).
pub const FACT_MAX_CHARS: usize = 1_500;

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

/// What a person must weigh, in order.
fn request_facts(
    plan: &ValidPlan,
    run: &RunRequest,
    now: OffsetDateTime,
    deadline: OffsetDateTime,
) -> Vec<(String, String)> {
    let r = &run.readiness;
    let ap = plan.approval();
    let on_timeout = match ap.on_timeout {
        OnTimeout::Abort => "nothing changes; the run ends as not approved and is reported".into(),
        OnTimeout::Proceed => format!(
            "lifeboat proceeds on its own once the outage has been confirmed for {} minutes",
            ap.proceed_after_outage_minutes.unwrap_or_default()
        ),
    };
    vec![
        ("Run".into(), run.run_id.to_string()),
        ("What happened".into(), describe_trigger(&run.trigger)),
        (
            "What will happen".into(),
            format!(
                "{} from {} to {}; then scale up {}, move traffic, verify{}",
                describe_promotion(&run.promotion, Some(plan.database().rpo_guard_seconds)),
                run.source_region,
                run.target_region,
                run.target_region,
                match run.kind {
                    lifeboat_core::run::RunKind::Failover => String::new(),
                    lifeboat_core::run::RunKind::Failback => format!(
                        ", then return {} to standby capacity (failback home)",
                        run.source_region
                    ),
                }
            ),
        ),
        (
            "Replication lag (RPO risk)".into(),
            r.replication_lag
                .map(secs)
                .unwrap_or_else(|| "unknown".into()),
        ),
        (
            "Target readiness".into(),
            format!(
                "target database available: {}; primary database answers: {}{}; writer now in: {}{}{}",
                yes_no(r.target_cluster_available),
                yes_no(r.primary_reachable),
                match r.primary_data_plane {
                    Some(true) =>
                        " (its RDS API does not, but its database endpoint ACCEPTS CONNECTIONS)",
                    Some(false) => " (its database endpoint does not either)",
                    None => "",
                },
                r.writer_region.as_deref().unwrap_or("none"),
                match r.alarm_still_firing {
                    Some(true) => "; alarm still firing: yes",
                    Some(false) => "; alarm still firing: NO (recovered?)",
                    None => "",
                },
                match &r.peer_lock_unread {
                    Some(why) => format!("; the other copy: UNKNOWN ({why})"),
                    None => String::new(),
                }
            ),
        ),
        (
            "Deadline".into(),
            format!(
                "{} ({} minutes from {})",
                format_time(deadline),
                (deadline - now).whole_minutes(),
                format_time(now)
            ),
        ),
        ("If nobody answers".into(), on_timeout),
    ]
}

#[cfg(test)]
mod tests;
