//! alarm-to-failover: turns an alarm or canary event, or an Alertmanager notification on its
//! URL (`POST /alertmanager`, see [`webhook`]), into at most one failover run.
//!
//! 1. Parse the event (EventBridge "CloudWatch Alarm State Change", or lifeboat's canary event
//!    `lifeboat.probe` / "Primary Unhealthy"); malformed input is `InvalidInput`, nothing changes.
//! 2. Load the plan; keep only a plan alarm's transition into ALARM, not muted or suppressed, or
//!    a canary report over the plan's k-of-n threshold. Everything else is reported and ignored.
//! 3. Derive the run id from (app, target region, incident window): every event of one incident
//!    names the same run. Check the lock and the last run first (cheap), then the readiness
//!    snapshot (global database, primary probe, replication lag, the alarm re-read).
//! 4. Decide (lifeboat-core). Refusals are announced once per incident. A start takes the
//!    create-only lock and starts the state machine with the run id as execution name; if the
//!    start fails for good, the lock is released so the next event can try again.

use aws_lambda_events::cloudwatch_alarms::{
    CloudWatchAlarm, CloudWatchAlarmData, CloudWatchAlarmStateValue,
};
use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lifeboat_core::decision::{Decision, DecisionInput, IgnoreReason, Readiness, decide, precheck};
use lifeboat_core::plan::ValidPlan;
use lifeboat_core::ports::{
    AlarmReader, Clock, Notifier, ParameterStore, ReplicationLagSource, Secret, WorkflowStarter,
};
use lifeboat_core::run::{RunId, RunRequest, encode, notice_parameter};
use lifeboat_core::store::{self, LockView, RunStart};
use lifeboat_core::text::inert;
use lifeboat_core::trigger::{
    ALARM_STATE_CHANGE, AlarmChange, AlarmState, CanaryReport, NotActionable, Observation, Trigger,
    classify,
};
use lifeboat_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// EventBridge source and detail-type of lifeboat's canary events.
pub use lifeboat_core::trigger::{CANARY_DETAIL_TYPE, CANARY_SOURCE};
pub use lifeboat_lambda::PlanConfig;

/// The function's configuration (from its environment, read once at init).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the plan is (`LIFEBOAT_PLAN_PARAMETER`) and the region this copy runs in
    /// (`AWS_REGION`), which it fails over *into*.
    pub plan: lifeboat_lambda::PlanConfig,
    /// The failover state machine (`LIFEBOAT_STATE_MACHINE_ARN`).
    pub state_machine_arn: String,
    /// The plan's other region (`LIFEBOAT_PEER_REGION`): its copy's run lock is read before a
    /// run starts.
    pub peer_region: String,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &lifeboat_lambda::Env<F>) -> Result<Self> {
        let plan = lifeboat_lambda::PlanConfig::from_env(env)?;
        let peer_region = env.peer_region(&plan.region)?;
        Ok(Self {
            plan,
            state_machine_arn: env.required("LIFEBOAT_STATE_MACHINE_ARN")?,
            peer_region,
        })
    }

    /// The other copy's failover machine (the same name in the other region): its executions'
    /// status judges the other copy's lock lease.
    pub fn peer_state_machine_arn(&self) -> String {
        lifeboat_core::plan::arn_in_region(
            &self.state_machine_arn,
            &self.plan.region,
            &self.peer_region,
        )
    }
}

/// Why nothing started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IgnoredBecause {
    NotActionable(NotActionable),
    Decision(IgnoreReason),
}

/// What the function decided and why (the Lambda's response).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Seen and deliberately not acted on.
    Ignored {
        message: String,
        reason: IgnoredBecause,
        #[serde(skip_serializing_if = "Option::is_none")]
        run_id: Option<RunId>,
    },
    /// lifeboat will not fail over on its own; a person must look. Announced once per incident.
    Refused {
        message: String,
        reason: lifeboat_core::decision::Refusal,
        run_id: RunId,
        /// Whether this invocation sent the announcement (false: an earlier event of the same
        /// incident did).
        notified: bool,
    },
    /// A run is under way.
    Started {
        run_id: RunId,
        execution_arn: String,
        request: Box<RunRequest>,
        /// Another event of this incident had started (or was starting) the run already.
        duplicate: bool,
    },
}

impl Outcome {
    /// The outcome in short, for a caller that is not a person reading a run (Alertmanager):
    /// what happened, the run and why; not the run request.
    pub fn summary(&self) -> Value {
        match self {
            Outcome::Ignored {
                message, run_id, ..
            } => serde_json::json!({"outcome": "ignored", "message": message, "run_id": run_id}),
            Outcome::Refused {
                message, run_id, ..
            } => serde_json::json!({"outcome": "refused", "message": message, "run_id": run_id}),
            Outcome::Started {
                run_id, duplicate, ..
            } => {
                serde_json::json!({"outcome": "started", "run_id": run_id, "duplicate": duplicate})
            }
        }
    }
}

/// Everything a decision was made on, and the decision (nothing changed yet).
#[derive(Debug, Clone)]
pub struct Assessed {
    pub plan: ValidPlan,
    pub run_id: RunId,
    pub source: String,
    pub target: String,
    pub trigger: Trigger,
    /// `None` when a cheap check (lock, last run) decided before the snapshot was taken.
    pub readiness: Option<Readiness>,
    pub decision: Decision,
    /// A lock left by an execution that no longer runs (reported; a start takes it over).
    pub stale_lock: Option<store::StaleLock>,
    pub now: OffsetDateTime,
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Db, Lag, Alarms, Params, Runs, Topic, Time, PeerParams, PeerWorkflow> {
    pub db: Db,
    pub lag: Lag,
    pub alarms: Alarms,
    pub params: Params,
    pub workflow: Runs,
    pub notifier: Topic,
    pub clock: Time,
    /// The other region's parameter store: its copy's run lock, read where reachable.
    pub peer_params: PeerParams,
    /// Judges the other copy's lock lease (the status of the execution it names).
    pub peer_workflow: PeerWorkflow,
}

/// The handler: built once at init, called per event.
#[derive(Debug)]
pub struct Handler<Db, Lag, Alarms, Params, Runs, Topic, Time, PeerParams, PeerWorkflow> {
    pub config: Config,
    pub ports: Ports<Db, Lag, Alarms, Params, Runs, Topic, Time, PeerParams, PeerWorkflow>,
}

/// Untrusted text kept from an event: at most this many evidence lines, each this long, and an
/// alarm reason this long (all made inert: see [`lifeboat_core::text::inert`]). Everything after
/// (logs, responses, the run request, the approval, the report) holds bounded text only.
pub const EVIDENCE_LINES: usize = 10;
pub const EVIDENCE_CHARS: usize = 300;
pub const REASON_CHARS: usize = 1_024;

/// Reduce an incoming event to an [`Observation`], or `InvalidInput` when it is malformed.
///
/// Accepted: EventBridge's "CloudWatch Alarm State Change", CloudWatch's direct alarm action
/// (the alarm invokes the function: `alarmData` and no `detail-type`), and lifeboat's canary
/// event. Any other well-formed event (an alarm's configuration change, another source) is an
/// [`Observation::Other`]: ignored with success and a reason, never an error that invites
/// redelivery.
pub fn parse_observation(event: Value) -> Result<Observation> {
    if event.get("detail-type").is_none() && event.get("alarmData").is_some() {
        let direct: CloudWatchAlarm<Value, Value> =
            lifeboat_lambda::parse_event("CloudWatch alarm action", event)?;
        // A direct alarm action is sent on a state change only.
        return alarm_change(
            ALARM_STATE_CHANGE.to_string(),
            direct.region,
            direct.alarm_data,
        );
    }
    let envelope: EventBridgeEvent<Value> =
        lifeboat_lambda::parse_event("EventBridge event", event)?;
    match envelope.source.as_str() {
        "aws.cloudwatch" if envelope.detail_type == ALARM_STATE_CHANGE => {
            let detail: CloudWatchAlarmData<Value, Value> =
                lifeboat_lambda::parse_event("alarm event detail", envelope.detail)?;
            alarm_change(envelope.detail_type, envelope.region, detail)
        }
        CANARY_SOURCE if envelope.detail_type == CANARY_DETAIL_TYPE => {
            let report: CanaryReport =
                lifeboat_lambda::parse_event("canary event detail", envelope.detail)?;
            Ok(Observation::Canary(CanaryReport {
                app: inert(&report.app, 100),
                probed_region: inert(&report.probed_region, 50),
                evidence: report
                    .evidence
                    .iter()
                    .take(EVIDENCE_LINES)
                    .map(|e| inert(e, EVIDENCE_CHARS))
                    .collect(),
                ..report
            }))
        }
        _ => Ok(Observation::Other {
            source: inert(&envelope.source, 100),
            detail_type: inert(&envelope.detail_type, 100),
        }),
    }
}

fn alarm_change(
    detail_type: String,
    region: Option<String>,
    detail: CloudWatchAlarmData<Value, Value>,
) -> Result<Observation> {
    let state = detail
        .state
        .as_ref()
        .ok_or_else(|| Error::invalid_input("alarm event has no state"))?;
    let at = to_time(
        state.timestamp.timestamp(),
        state.timestamp.timestamp_subsec_nanos(),
    )?;
    let muted_by = detail
        .other
        .get("muteDetail")
        .filter(|v| !v.is_null())
        .map(describe_mute);
    Ok(Observation::Alarm(AlarmChange {
        detail_type,
        // CloudWatch alarm names have at most 255 characters; a reason is free text.
        alarm_name: inert(&detail.alarm_name, 255),
        region: inert(&region.unwrap_or_default(), 50),
        state: alarm_state(&state.value),
        previous_state: detail
            .previous_state
            .as_ref()
            .map(|s| alarm_state(&s.value)),
        at,
        reason: inert(&state.reason, REASON_CHARS),
        muted_by,
        actions_suppressed_by: state
            .actions_suppressed_by
            .as_deref()
            .map(|s| inert(s, 100)),
    }))
}

fn to_time(secs: i64, nanos: u32) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t + time::Duration::nanoseconds(i64::from(nanos)))
        .map_err(|e| Error::invalid_input(format!("alarm timestamp out of range: {e}")))
}

fn alarm_state(v: &CloudWatchAlarmStateValue) -> AlarmState {
    match v {
        CloudWatchAlarmStateValue::Alarm => AlarmState::Alarm,
        CloudWatchAlarmStateValue::InsufficientData => AlarmState::InsufficientData,
        _ => AlarmState::Ok,
    }
}

/// A short description of a `muteDetail` object, for the report.
fn describe_mute(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut text = inert(&text, 200);
    if text.is_empty() {
        text = "a mute rule".into();
    }
    text
}

impl<Db, Lag, Alarms, Params, Runs, Topic, Time, PeerParams, PeerWorkflow>
    Handler<Db, Lag, Alarms, Params, Runs, Topic, Time, PeerParams, PeerWorkflow>
where
    Db: lifeboat_core::ports::AnyDatabase,
    Lag: ReplicationLagSource,
    Alarms: AlarmReader,
    Params: ParameterStore,
    Runs: WorkflowStarter,
    Topic: Notifier,
    Time: Clock,
    PeerParams: ParameterStore,
    PeerWorkflow: WorkflowStarter,
{
    /// A request on the webhook function's URL (see [`webhook`]); any other event is
    /// `InvalidInput`: that function is not wired to alarms or the canary.
    pub async fn serve_url(&self, event: Value) -> Result<LambdaFunctionUrlResponse> {
        let request: LambdaFunctionUrlRequest =
            lifeboat_lambda::parse_event("Function URL request", event)?;
        Ok(self.webhook(request).await)
    }

    pub async fn handle(&self, event: Value) -> Result<Outcome> {
        let observation = parse_observation(event)?;
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        self.observe(plan, observation).await
    }

    /// `POST /alertmanager`: authenticate, read the notification, then decide as for any
    /// trigger. Every answer is a response; nothing is changed before the token matched.
    pub async fn webhook(&self, req: LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
        if webhook::path(&req) != webhook::PATH {
            return webhook::refused(
                404,
                "not found: lifeboat's Alertmanager webhook is POST /alertmanager",
            );
        }
        if webhook::method(&req) != "POST" {
            return webhook::refused(405, "the Alertmanager webhook takes POST only");
        }
        let plan =
            match store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await {
                Ok(plan) => plan,
                Err(e) => {
                    tracing::error!(error = %e, "Alertmanager webhook: the plan could not be read");
                    return webhook::refused(
                        webhook::status_of(e.kind()).max(500),
                        "the plan could not be read",
                    );
                }
            };
        let Some(am) = plan.triggers().alertmanager.as_ref() else {
            return webhook::refused(
                404,
                "this plan names no Alertmanager alerts (triggers.alertmanager)",
            );
        };
        let token = match self.ports.params.get(&am.token_parameter).await {
            Ok(Some(value)) => Secret::new(value),
            Ok(None) => {
                tracing::error!(parameter = %am.token_parameter, "Alertmanager webhook: the token parameter does not exist");
                return webhook::refused(500, "the webhook's token is not set up");
            }
            Err(e) => {
                tracing::error!(parameter = %am.token_parameter, error = %e, "Alertmanager webhook: the token could not be read");
                return webhook::refused(
                    webhook::status_of(e.kind()).max(500),
                    "the webhook's token could not be read",
                );
            }
        };
        let authorization = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if !webhook::bearer_matches(authorization, &token) {
            tracing::warn!(
                "Alertmanager webhook: refused a request without the plan's bearer token"
            );
            return webhook::refused(
                401,
                "a bearer token is required (Alertmanager's http_config.authorization)",
            );
        }
        let observation = match webhook::observation(&req) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "Alertmanager webhook: not a notification");
                return webhook::refused(400, e.message());
            }
        };
        match self.observe(plan, observation).await {
            Ok(outcome) => webhook::answer(200, outcome.summary()),
            Err(e) => {
                tracing::error!(error = %e, kind = ?e.kind(), "Alertmanager webhook: the decision could not be made");
                webhook::refused(webhook::status_of(e.kind()), e.message())
            }
        }
    }

    /// Classify an observation against the plan and act on it.
    pub async fn observe(&self, plan: ValidPlan, observation: Observation) -> Result<Outcome> {
        let target = self.config.plan.region.as_str();
        let ignored = |why: NotActionable| {
            tracing::info!(reason = %why, "event seen, not acted on");
            Ok(Outcome::Ignored {
                message: why.to_string(),
                reason: IgnoredBecause::NotActionable(why),
                run_id: None,
            })
        };
        let trigger = match classify(&plan, target, &observation, self.ports.clock.now()) {
            Ok(t) => t,
            Err(why) => return ignored(why),
        };
        // A person who muted the failover alarm meant "no automatic failover now": the canary's
        // reports and Alertmanager's alerts are held back too.
        if matches!(trigger, Trigger::Canary { .. } | Trigger::Alert { .. }) {
            for alarm in &plan.triggers().alarms {
                match self.ports.alarms.muted(target, alarm).await {
                    Ok(Some(why)) => {
                        return ignored(NotActionable::Muted {
                            alarm: alarm.clone(),
                            muted_by: why,
                        });
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(alarm = %alarm, error = %e, "could not read whether the alarm is muted");
                    }
                }
            }
        }
        let assessed = self.assess(plan, trigger, false).await?;
        self.act(assessed).await
    }

    /// A failover an operator asked for (`lifeboat failover --to`): the same checks and
    /// decision as for an alarm, with the trigger `Manual` (no approval: a person has decided)
    /// and, only when asked, the RPO guard overridden.
    pub async fn manual(&self, requested_by: &str, allow_data_loss: bool) -> Result<Outcome> {
        let assessed = self.assess_manual(requested_by, allow_data_loss).await?;
        self.act(assessed).await
    }

    /// What [`Handler::manual`] would decide, without changing anything (`--dry-run`).
    pub async fn assess_manual(
        &self,
        requested_by: &str,
        allow_data_loss: bool,
    ) -> Result<Assessed> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        let trigger = Trigger::Manual {
            requested_by: requested_by.to_string(),
            at: self.ports.clock.now(),
        };
        self.assess(plan, trigger, allow_data_loss).await
    }

    /// Read everything the decision needs and decide; changes nothing.
    pub async fn assess(
        &self,
        plan: ValidPlan,
        trigger: Trigger,
        allow_data_loss_override: bool,
    ) -> Result<Assessed> {
        let target = self.config.plan.region.clone();
        let source = plan
            .other_region(&target)
            .map_err(|e| e.context("this function's region"))?
            .to_string();
        let now = self.ports.clock.now();
        // An operator's run is its own; automatic triggers of one incident share one run.
        let run_id = if trigger.is_manual() {
            RunId::for_operator(plan.app(), &target, trigger.at())
        } else {
            RunId::for_incident(
                plan.app(),
                &target,
                trigger.at(),
                plan.triggers().incident_window_seconds,
            )
        };

        // Cheap checks first: a storm of events for a run in progress costs a few reads each.
        // A lock whose execution no longer runs protects nothing: it is stale, and the start
        // takes it over (and says so).
        let view =
            store::inspect_lock(&self.ports.params, &self.ports.workflow, plan.app(), now).await?;
        let stale_lock = view.stale().cloned();
        let lock = view.live().cloned();
        let last_run_ended = store::read_state(&self.ports.params, plan.app())
            .await?
            .and_then(|s| s.last_run)
            .and_then(|r| r.ended_at);
        if let Err(why) = precheck(&plan, &trigger, &run_id, lock.as_ref(), last_run_ended, now) {
            return Ok(Assessed {
                plan,
                run_id,
                source,
                target,
                trigger,
                readiness: None,
                decision: Decision::Ignore { why },
                stale_lock,
                now,
            });
        }

        // The two copies never run at once: the other region's lock, where reachable.
        let peer_lock_unread = match store::inspect_lock(
            &self.ports.peer_params,
            &self.ports.peer_workflow,
            plan.app(),
            now,
        )
        .await
        {
            Ok(LockView::Live(other)) if lock.as_ref().is_none_or(|l| l.run_id != other.run_id) => {
                return Ok(Assessed {
                    plan,
                    run_id,
                    source: source.clone(),
                    target,
                    trigger,
                    readiness: None,
                    decision: Decision::Ignore {
                        why: IgnoreReason::OtherCopyRunning {
                            run_id: other.run_id,
                            target_region: other.target_region,
                            region: source,
                        },
                    },
                    stale_lock,
                    now,
                });
            }
            Ok(_) => None,
            Err(e) => {
                let why = format!(
                    "could not read the run lock of the copy in {source}: {}",
                    lifeboat_core::text::inert(&e.to_string(), 300)
                );
                tracing::warn!(why = %why, "the other copy's lock is unknown; deciding without it");
                Some(why)
            }
        };

        let p = &self.ports;
        let mut readiness = lifeboat_core::steps::readiness(
            &p.db, &p.lag, &p.alarms, &p.params, &plan, &target, &source, &trigger, now,
        )
        .await?;
        readiness.peer_lock_unread = peer_lock_unread;
        let decision = decide(&DecisionInput {
            plan: &plan,
            target_region: &target,
            trigger: &trigger,
            run_id: &run_id,
            lock: lock.as_ref(),
            last_run_ended,
            readiness: &readiness,
            now,
            allow_data_loss_override,
        });
        tracing::info!(run_id = %run_id, decision = ?decision, "decided");
        Ok(Assessed {
            plan,
            run_id,
            source,
            target,
            trigger,
            readiness: Some(readiness),
            decision,
            stale_lock,
            now,
        })
    }

    /// Carry out a decision: announce a refusal once, or take the lock and start the run.
    pub async fn act(&self, assessed: Assessed) -> Result<Outcome> {
        let Assessed {
            plan,
            run_id,
            source,
            target,
            trigger,
            readiness,
            decision,
            stale_lock,
            now,
        } = assessed;
        let missing = || Error::internal("a decision to act was made without a readiness snapshot");
        if let Some(stale) = &stale_lock
            && !matches!(decision, Decision::Start { .. })
        {
            // Nothing takes it over now: a person must hear of it all the same.
            self.announce_stale_lock(&plan, &target, stale, None)
                .await?;
        }
        match decision {
            Decision::Ignore { why } => Ok(ignored(why, run_id)),
            Decision::Refuse { why } => {
                let readiness = readiness.ok_or_else(missing)?;
                let notified = self
                    .announce_refusal(&plan, &target, &run_id, &why, &readiness)
                    .await?;
                Ok(Outcome::Refused {
                    message: why.to_string(),
                    reason: why,
                    run_id,
                    notified,
                })
            }
            Decision::Start {
                promotion,
                approval,
                resumed: _,
            } => {
                let request = RunRequest {
                    kind: lifeboat_core::run::RunKind::Failover,
                    app: plan.app().to_string(),
                    run_id: run_id.clone(),
                    source_region: source,
                    target_region: target,
                    plan_parameter: self.config.plan.plan_parameter.clone(),
                    trigger,
                    promotion,
                    approval,
                    readiness: readiness.ok_or_else(missing)?,
                    decided_at: now,
                };
                self.start(&plan, request, now).await
            }
        }
    }

    async fn announce_refusal(
        &self,
        plan: &ValidPlan,
        target: &str,
        run_id: &RunId,
        why: &lifeboat_core::decision::Refusal,
        readiness: &Readiness,
    ) -> Result<bool> {
        let p = &self.ports;
        let marker = notice_parameter(plan.app(), run_id);
        let body = encode(&serde_json::json!({ "run_id": run_id, "refused": why }))?;
        if p.params.create(&marker, &body).await? == lifeboat_core::ports::Created::AlreadyExists {
            return Ok(false);
        }
        let topic = &plan.region(target)?.notification_topic_arn;
        let subject = format!("lifeboat {}: failover into {target} refused", plan.app());
        let message = format!(
            "lifeboat did not start a failover of '{}' into {target}.\n\nWhy: {why}\n\nRun: {run_id}\nReadiness: {}\n\nA person must decide. To override the RPO guard, start the failover explicitly and accept the data loss.",
            plan.app(),
            // Plain data with string keys always serialises; the refusal goes out regardless.
            serde_json::to_string_pretty(readiness).unwrap_or_default()
        );
        if let Err(e) = p.notifier.publish(topic, &subject, &message).await {
            // Not announced: drop the marker so the next delivery of the event announces it.
            if let Err(cleanup) = p.params.delete(&marker).await {
                tracing::error!(error = %cleanup, "could not remove the refusal marker");
            }
            return Err(e.context("announcing the refusal"));
        }
        Ok(true)
    }

    /// Tell the plan's topic about a stale lock: once per lock (a create-only marker), naming
    /// the run that took it over, if one did.
    async fn announce_stale_lock(
        &self,
        plan: &ValidPlan,
        target: &str,
        stale: &store::StaleLock,
        taken_over_by: Option<&RunId>,
    ) -> Result<()> {
        let p = &self.ports;
        let marker = lifeboat_core::params::stale_lock_notice(plan.app(), &stale.lock.run_id);
        let body = encode(&serde_json::json!({ "stale": stale, "taken_over_by": taken_over_by }))?;
        if p.params.create(&marker, &body).await? == lifeboat_core::ports::Created::AlreadyExists
            && taken_over_by.is_none()
        {
            return Ok(());
        }
        let topic = &plan.region(target)?.notification_topic_arn;
        let subject = format!(
            "lifeboat {}: STALE RUN LOCK of run {}",
            plan.app(),
            stale.lock.run_id
        );
        let next = match taken_over_by {
            Some(run) => {
                format!("Run {run} has taken it over (audit line in alarm-to-failover's log).")
            }
            None => format!(
                "No run has taken it over yet: the next legitimate trigger will, or a person can \
                 start one (lifeboat failover --to {target}), or clear it (lifeboat status shows it)."
            ),
        };
        let message = format!(
            "lifeboat found a stale run lock for '{}'.\n\nWhy stale: {}\nLock: run {} (into {}), taken at {}, execution {}\n\n{next}\n",
            plan.app(),
            stale.why,
            stale.lock.run_id,
            stale.lock.target_region,
            stale.lock.acquired_at,
            stale
                .lock
                .execution_arn
                .as_deref()
                .unwrap_or("(none named)"),
        );
        if let Err(e) = p
            .notifier
            .publish(topic, &lifeboat_core::text::bounded(&subject, 99), &message)
            .await
        {
            if taken_over_by.is_none()
                && let Err(cleanup) = p.params.delete(&marker).await
            {
                tracing::error!(error = %cleanup, "could not remove the stale-lock marker");
            }
            return Err(e.context("announcing the stale run lock"));
        }
        Ok(())
    }

    async fn start(
        &self,
        plan: &ValidPlan,
        request: RunRequest,
        now: OffsetDateTime,
    ) -> Result<Outcome> {
        let p = &self.ports;
        let mut request = request;
        match store::start_run(&p.params, &p.workflow, &request, now).await? {
            RunStart::Started {
                run_id,
                execution_arn,
                duplicate,
                took_over,
            } => {
                if let Some(stale) = &took_over
                    && let Err(e) = self
                        .announce_stale_lock(plan, &request.target_region, stale, Some(&run_id))
                        .await
                {
                    // The run is under way: its start is not undone by a lost page.
                    tracing::error!(error = %e, "the stale-lock takeover was not announced");
                }
                request.run_id = run_id.clone();
                Ok(Outcome::Started {
                    run_id,
                    execution_arn,
                    request: Box::new(request),
                    duplicate,
                })
            }
            RunStart::HeldBy(holder) => Ok(ignored(
                IgnoreReason::RunInProgress {
                    run_id: holder.run_id,
                    target_region: holder.target_region,
                },
                request.run_id,
            )),
        }
    }
}

fn ignored(why: IgnoreReason, run_id: RunId) -> Outcome {
    Outcome::Ignored {
        message: why.to_string(),
        reason: IgnoredBecause::Decision(why),
        run_id: Some(run_id),
    }
}

pub mod webhook;
pub mod wiring;

#[cfg(test)]
mod tests;
