//! run-ledger: the failover workflow's bookkeeping, around the steps that move things.
//!
//! * `assess` (first state): the run must hold the lock; the readiness snapshot is taken again
//!   (the same code alarm-to-failover decided on); go only if the target cluster is available and
//!   the promotion the plan allows now is possible (switchover when the primary answers, failover
//!   within the RPO guard or with the run's explicit override). Otherwise `PreconditionFailed`
//!   naming the reason: the workflow ends as *aborted*, nothing moved. After an approval timeout
//!   (`after_approval_timeout`), it goes on only if the plan says `proceed` and the primary still
//!   does not answer, and says how long to wait until the outage has lasted the plan's minutes.
//!   It also hands the workflow its pacing (poll interval, polls before a step's deadline).
//! * `record` (last state, on every path): the timeline from the execution's own history (each
//!   step's start and end), the RTO (trigger to traffic verified) and the RPO estimate; writes the
//!   report to `/lifeboat/<app>/runs/<run_id>` and the run state (active region and epoch after a
//!   success); releases the run lock after a success or an abort. After a failure the lock stays:
//!   something may be half-done, and a person decides (the report names the open steps).
//! * `notify`: publishes the report to the target region's topic.

use lifeboat_core::decision::{Approval, PromotionMode, Readiness, choose_promotion};
use lifeboat_core::fence::{self, FenceReport};
use lifeboat_core::plan::{OnTimeout, ValidPlan};
use lifeboat_core::ports::{
    AlarmReader, Clock, Created, ExecutionHistory, Notifier, ParameterStore, ReplicationLagSource,
};
use lifeboat_core::run::{
    LastRun, RunKind, RunOutcome, RunRequest, RunState, encode, lock_parameter, state_parameter,
};
use lifeboat_core::store;
use lifeboat_core::text::bounded;
use lifeboat_core::timeline::Timeline;
use lifeboat_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function's configuration (from its environment, read once at init).
#[derive(Debug, Clone)]
pub struct Config {
    pub plan: lifeboat_lambda::PlanConfig,
    /// Seconds between two status polls of a step (`LIFEBOAT_POLL_SECONDS`, default 5).
    pub poll_seconds: u32,
    /// How long a promotion, a scale-up or a DNS sync may take before the run fails
    /// (`LIFEBOAT_STEP_DEADLINE_SECONDS`, default 1800).
    pub step_deadline_seconds: u32,
    /// The topic this copy announces on when the plan cannot be read (`LIFEBOAT_TOPIC_ARN`;
    /// the template sets it to the plan's topic in this region).
    pub fallback_topic_arn: Option<String>,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &lifeboat_lambda::Env<F>) -> Result<Self> {
        Ok(Self {
            plan: lifeboat_lambda::PlanConfig::from_env(env)?,
            poll_seconds: env.number("LIFEBOAT_POLL_SECONDS", 5, 1, 300)?,
            step_deadline_seconds: env.number(
                "LIFEBOAT_STEP_DEADLINE_SECONDS",
                lifeboat_core::plan::DEFAULT_STEP_DEADLINE_SECONDS,
                1,
                86_400,
            )?,
            fallback_topic_arn: env.optional("LIFEBOAT_TOPIC_ARN"),
        })
    }
}

/// What a step returned, as far as the report needs it (the database promotion's RPO).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BranchResult {
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub start: Option<StartSummary>,
    /// The fence branch: what dr-scale-up did to the old primary's compute.
    #[serde(default)]
    pub fence: Option<FenceReport>,
    /// The fence branch's error, when dr-scale-up could not run (recorded, never a blocker).
    #[serde(default)]
    pub fence_error: Option<CaughtError>,
    /// The step's last status answer; for the compute step, what ran when it ended (steady, or
    /// serving at the plan's share).
    #[serde(default)]
    pub status: Option<StatusSummary>,
    /// The database branch's cache step: db-failover's answer, or the error it was caught with.
    #[serde(default)]
    pub cache: Option<CacheBranch>,
}

/// The cache step as the database branch recorded it: `{value: {state, cache}}` when
/// db-failover answered, `{Error, Cause}` when it could not move the cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheBranch {
    #[serde(default)]
    pub value: Option<CacheStepSummary>,
    #[serde(default, rename = "Error")]
    pub error: Option<String>,
    #[serde(default, rename = "Cause")]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheStepSummary {
    #[serde(default)]
    pub state: Option<lifeboat_core::cache::CacheState>,
    #[serde(default)]
    pub cache: Option<lifeboat_core::cache::CacheOutcome>,
}

impl CacheBranch {
    /// The report's cache part; `None` for a plan without a cache.
    fn report(&self) -> Option<lifeboat_core::cache::CacheReport> {
        match (&self.value, &self.error) {
            (Some(v), _) if v.state == Some(lifeboat_core::cache::CacheState::NotPlanned) => None,
            (Some(v), _) => Some(lifeboat_core::cache::CacheReport {
                outcome: v.cache.clone(),
                error: None,
            }),
            (None, Some(e)) => Some(lifeboat_core::cache::CacheReport {
                outcome: None,
                error: Some(bounded(
                    &format!(
                        "{e}: {}",
                        self.cause.as_deref().unwrap_or("(no cause given)")
                    ),
                    1_000,
                )),
            }),
            (None, None) => None,
        }
    }
}

/// The part of a step's last `status` answer the report uses: dr-scale-up's resources (the
/// database step's status names none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusSummary {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub resources: Vec<lifeboat_core::capacity::ResourceCapacity>,
}

/// The part of a step's `start` answer the report uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartSummary {
    #[serde(default)]
    pub state: Option<String>,
    /// The promotion the database step ran (db-failover's `started`).
    #[serde(default)]
    pub promotion: Option<PromotionMode>,
    #[serde(default)]
    pub rpo_estimate_seconds: Option<f64>,
}

/// A request, as the state machine (or `cargo lambda invoke`) sends it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Assess {
        run: RunRequest,
        /// Nobody answered the approval request in time.
        #[serde(default)]
        after_approval_timeout: bool,
        /// This execution (`$$.Execution.Id`): the lock's lease is renewed to it (a resumed
        /// run's new execution holds the lease from now on).
        #[serde(default)]
        execution_arn: Option<String>,
    },
    Record {
        run: RunRequest,
        outcome: RunOutcome,
        /// This execution (`$$.Execution.Id`): its history is the timeline.
        execution_arn: String,
        /// What failed or aborted the run (the caught error).
        #[serde(default)]
        error: Option<CaughtError>,
        /// The parallel promotion ‖ scale-up branches' results, when the run got that far.
        #[serde(default)]
        branches: Option<Vec<BranchResult>>,
        /// The person's decision (`$.approval`: failover-approval's output), when one was made.
        #[serde(default)]
        approval: Option<Decided>,
        /// Verify attempts made (`$.verify_attempts.count`).
        #[serde(default)]
        verify_attempts: Option<u32>,
    },
    Notify {
        report: Box<Report>,
    },
    /// Recording failed (the parameter store may be dark): tell the topic anyway, from what the
    /// workflow holds, without reading anything.
    NotifyUnrecorded {
        run: RunRequest,
        execution_arn: String,
        #[serde(default)]
        error: Option<CaughtError>,
        #[serde(default)]
        record_error: Option<CaughtError>,
    },
}

/// What `assess` found: the go, and the workflow's pacing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The promotion possible now; `None` when the target is the writer already (a resumed run).
    pub promotion: Option<PromotionMode>,
    pub readiness: Readiness,
    /// Whether the workflow waits for a person.
    pub approval_required: bool,
    pub approval_timeout_seconds: u32,
    pub on_timeout: OnTimeout,
    /// After an approval timeout with `proceed`: seconds until the outage has lasted the plan's
    /// minutes (0: go now).
    pub wait_seconds: u32,
    #[serde(flatten)]
    pub pacing: lifeboat_core::steps::Pacing,
}

/// What `notify` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notified {
    pub message_id: String,
    pub subject: String,
    /// Whether the announcement was recorded, so that a retry of this step answers with it
    /// instead of publishing again. False only when the parameter store refused the record after
    /// the message went out.
    #[serde(default)]
    pub announcement_recorded: bool,
}

/// What the announcement marker holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Announcement {
    execution_arn: String,
    message_id: String,
    subject: String,
}

/// An execution's state machine and name, `<machine>/<name>`, from its ARN
/// (`arn:aws:states:<region>:<account>:execution:<machine>:<name>`).
fn execution_name(execution_arn: &str) -> Result<String> {
    let machine_and_name = lifeboat_core::plan::Arn::parse(execution_arn)
        .filter(|a| a.service == "states")
        .and_then(|a| a.resource.strip_prefix("execution:"))
        .and_then(|r| r.split_once(':'));
    match machine_and_name {
        Some((machine, name)) if !machine.is_empty() && !name.is_empty() && !name.contains(':') => {
            Ok(format!("{machine}/{name}"))
        }
        _ => Err(Error::invalid_input(format!(
            "'{}' is not an execution ARN",
            bounded(execution_arn, 200)
        ))),
    }
}

/// The EventBridge detail-type of Step Functions' execution status changes.
pub const EXECUTION_STATUS_CHANGE: &str = "Step Functions Execution Status Change";

/// What an execution status change event carries (the part lifeboat reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionStatusChange {
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
    pub name: String,
    pub status: String,
    /// The execution's input (a JSON document as a string).
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

/// What the safety net did with a closed execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Closed {
    pub execution_arn: String,
    pub status: String,
    /// Whether this call recorded the run (false: the workflow had, or it still runs).
    pub recorded: bool,
    /// Whether this call announced it (false: the workflow, or an earlier delivery, had).
    pub announced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<Report>>,
}

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Assessment(Box<Assessment>),
    Report(Box<Report>),
    Notified(Notified),
    Closed(Closed),
}

/// States whose entry means the workflow announced the run itself.
const ANNOUNCING_STATES: &[&str] = &[
    "Notify",
    "Aborted: notify",
    "Failed: notify",
    "Failed: notify without record",
];

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Db, Lag, Alarms, Params, History, Topic, Time> {
    pub db: Db,
    pub lag: Lag,
    pub alarms: Alarms,
    pub params: Params,
    pub history: History,
    pub notifier: Topic,
    pub clock: Time,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<Db, Lag, Alarms, Params, History, Topic, Time> {
    pub config: Config,
    pub ports: Ports<Db, Lag, Alarms, Params, History, Topic, Time>,
}

/// Steps of the workflow that are bookkeeping, not part of the timeline.
pub const BOOKKEEPING_STEPS: &[&str] = &["Begin", "Record", "Notify", "Done", "Aborted", "Failed"];

/// Steps that move nothing: a run closed before any other step began left everything as it was.
pub const NOTHING_MOVED_STEPS: &[&str] = &["Assess", "Approval"];

/// What a `record` takes besides the run and its outcome.
#[derive(Debug, Default)]
struct Extras {
    branches: Option<Vec<BranchResult>>,
    decided: Option<Decided>,
    verify_attempts: Option<u32>,
    /// The execution's state events, when the caller has read them already.
    events: Option<Vec<lifeboat_core::ports::StateEvent>>,
}

/// The report parameter of a run.
pub use lifeboat_core::params::report as report_parameter;
pub use lifeboat_core::report::{CaughtError, Decided, Report, render_text, subject};

impl<Db, Lag, Alarms, Params, History, Topic, Time>
    Handler<Db, Lag, Alarms, Params, History, Topic, Time>
where
    Db: lifeboat_core::ports::AnyDatabase,
    Lag: ReplicationLagSource,
    Alarms: AlarmReader,
    Params: ParameterStore,
    History: ExecutionHistory,
    Topic: Notifier,
    Time: Clock,
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        if event.get("detail-type").and_then(Value::as_str) == Some(EXECUTION_STATUS_CHANGE) {
            let envelope: aws_lambda_events::eventbridge::EventBridgeEvent<ExecutionStatusChange> =
                lifeboat_lambda::parse_event("execution status change event", event)?;
            return self.closed(envelope.detail).await.map(Response::Closed);
        }
        let request: Request = lifeboat_lambda::parse_event("run-ledger request", event)?;
        match request {
            Request::Assess {
                run,
                after_approval_timeout,
                execution_arn,
            } => self
                .assess(&run, after_approval_timeout, execution_arn.as_deref())
                .await
                .map(|a| Response::Assessment(Box::new(a))),
            Request::Record {
                run,
                outcome,
                execution_arn,
                error,
                branches,
                approval,
                verify_attempts,
            } => self
                .record(
                    &run,
                    outcome,
                    &execution_arn,
                    error,
                    Extras {
                        branches,
                        decided: approval,
                        verify_attempts,
                        events: None,
                    },
                )
                .await
                .map(|r| Response::Report(Box::new(r))),
            Request::Notify { report } => self.notify(&report).await.map(Response::Notified),
            Request::NotifyUnrecorded {
                run,
                execution_arn,
                error,
                record_error,
            } => self
                .notify_unrecorded(&run, &execution_arn, error, record_error)
                .await
                .map(Response::Notified),
        }
    }

    async fn plan_for(&self, run: &RunRequest) -> Result<ValidPlan> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        if plan.app() != run.app {
            return Err(Error::invalid_input(format!(
                "run {} is for app '{}', this copy serves '{}'",
                run.run_id,
                run.app,
                plan.app()
            )));
        }
        // The copy in R fails over into R, and brings the shop home from R.
        let here = self.config.plan.region.as_str();
        let fits = match run.kind {
            RunKind::Failover => run.target_region == here,
            RunKind::Failback => {
                run.source_region == here && run.target_region == plan.primary_region()
            }
        };
        if !fits {
            return Err(Error::invalid_input(format!(
                "run {} is a {} from {} into {}; this copy runs in {here}",
                run.run_id, run.kind, run.source_region, run.target_region
            )));
        }
        plan.region(&run.source_region)?;
        Ok(plan)
    }

    async fn assess(
        &self,
        run: &RunRequest,
        after_approval_timeout: bool,
        execution_arn: Option<&str>,
    ) -> Result<Assessment> {
        let p = &self.ports;
        let plan = self.plan_for(run).await?;
        store::hold_lock(&p.params, plan.app(), &run.run_id, execution_arn).await?;
        let readiness = lifeboat_core::steps::readiness(
            &p.db,
            &p.lag,
            &p.alarms,
            &p.params,
            &plan,
            &run.target_region,
            &run.source_region,
            &run.trigger,
            p.clock.now(),
        )
        .await?;
        tracing::info!(run_id = %run.run_id, readiness = ?readiness, after_approval_timeout, "assess");
        if !readiness.target_cluster_available {
            return Err(Error::precondition(format!(
                "the target cluster in {} is not available: never promote into an unhealthy target",
                run.target_region
            )));
        }
        let overridden = matches!(
            run.promotion,
            PromotionMode::Failover {
                overridden: true,
                ..
            }
        );
        let promotion = if readiness.writer_region.as_deref() == Some(run.target_region.as_str()) {
            None
        } else {
            let guard = plan.rpo_guard();
            Some(
                choose_promotion(
                    lifeboat_core::decision::PrimaryEvidence::of(&run.source_region, &readiness),
                    readiness.replication_lag,
                    guard,
                    overridden,
                )
                .map_err(|why| Error::precondition(format!("no go: {why}")))?,
            )
        };
        let approval = plan.approval();
        let mut wait_seconds = 0;
        if after_approval_timeout {
            if approval.on_timeout != OnTimeout::Proceed {
                return Err(Error::precondition(
                    "nobody approved in time and the plan says abort on timeout",
                ));
            }
            if readiness.primary_reachable {
                return Err(Error::precondition(
                    "nobody approved in time and the primary answers again: a person must decide",
                ));
            }
            let needed = i64::from(approval.proceed_after_outage_minutes.unwrap_or(0)) * 60;
            let lasted = (p.clock.now() - run.trigger.at()).whole_seconds();
            wait_seconds = u32::try_from((needed - lasted).max(0)).unwrap_or(u32::MAX);
        }
        let pacing = lifeboat_core::steps::pacing(
            &plan,
            &run.target_region,
            matches!(promotion, Some(PromotionMode::Switchover)),
            self.config.poll_seconds,
            self.config.step_deadline_seconds,
        );
        Ok(Assessment {
            promotion,
            readiness,
            approval_required: matches!(run.approval, Approval::Required { .. }),
            approval_timeout_seconds: approval.timeout_minutes.saturating_mul(60).max(1),
            on_timeout: approval.on_timeout,
            wait_seconds,
            pacing,
        })
    }

    async fn record(
        &self,
        run: &RunRequest,
        outcome: RunOutcome,
        execution_arn: &str,
        error: Option<CaughtError>,
        extras: Extras,
    ) -> Result<Report> {
        let Extras {
            branches,
            decided,
            verify_attempts,
            events,
        } = extras;
        let p = &self.ports;
        let plan = self.plan_for(run).await?;
        let app = plan.app();
        let now = p.clock.now();
        let events = match events {
            Some(events) => events,
            None => p.history.state_events(execution_arn).await?,
        };
        let mut timeline =
            Timeline::from_state_events(run.trigger.at(), &events, BOOKKEEPING_STEPS);
        if outcome == RunOutcome::Succeeded {
            timeline.verified_at = timeline.step("Verify").and_then(|s| s.ended_at);
        }
        timeline.rpo_estimate_seconds = branches
            .iter()
            .flatten()
            .filter_map(|b| b.start.as_ref())
            .find_map(|s| s.rpo_estimate_seconds);
        let promotion = branches
            .iter()
            .flatten()
            .filter_map(|b| b.start.as_ref())
            .find_map(|s| s.promotion);
        let fence_branch = branches.iter().flatten().find(|b| {
            b.step.as_deref() == Some("fence") && (b.fence.is_some() || b.fence_error.is_some())
        });
        let fence = fence_branch.map(|b| {
            fence::run_fence(
                &run.source_region,
                b.fence.clone(),
                b.fence_error.as_ref().map(|e| {
                    format!(
                        "{}: {}",
                        e.error,
                        e.cause.as_deref().unwrap_or("(no cause given)")
                    )
                }),
                lifeboat_core::database::run_fence_action(&plan, &run.source_region),
            )
        });
        // The compute branch ended when traffic could shift: its last status is the capacity the
        // shift found.
        let capacity_at_shift = branches
            .iter()
            .flatten()
            .find(|b| b.step.as_deref() == Some("compute"))
            .and_then(|b| b.status.as_ref())
            .map(|s| {
                lifeboat_core::capacity::CapacityAtShift::new(
                    plan.traffic().shift_at_capacity_percent,
                    s.resources.clone(),
                )
            });
        let cache = branches
            .iter()
            .flatten()
            .find_map(|b| b.cache.as_ref())
            .and_then(CacheBranch::report);
        let open_steps: Vec<String> = timeline
            .open_steps()
            .into_iter()
            .map(str::to_string)
            .collect();

        let previous = store::read_state(&p.params, app).await?;
        let (mut active_region, mut epoch) = previous
            .as_ref()
            .map(|s| (s.active_region.clone(), s.epoch))
            .unwrap_or_else(|| (plan.primary_region().to_string(), 0));
        if outcome == RunOutcome::Succeeded {
            active_region = run.target_region.clone();
            epoch += 1;
        }
        let state = RunState {
            active_region: active_region.clone(),
            epoch,
            last_run: Some(LastRun {
                run_id: run.run_id.clone(),
                target_region: run.target_region.clone(),
                started_at: run.decided_at,
                ended_at: Some(now),
                outcome: Some(outcome),
            }),
        };
        let error = error.map(|e| CaughtError {
            error: bounded(&e.error, 200),
            cause: e.cause.map(|c| bounded(&c, 600)),
        });
        let parameter = report_parameter(app, run.run_id.as_str());
        let mut report = Report {
            kind: run.kind,
            app: app.to_string(),
            run_id: run.run_id.to_string(),
            source_region: run.source_region.clone(),
            target_region: run.target_region.clone(),
            outcome,
            trigger: describe_trigger(run),
            execution_arn: execution_arn.to_string(),
            rto_seconds: timeline.rto().map(|d| d.as_secs_f64()),
            rpo_estimate_seconds: timeline.rpo_estimate_seconds,
            timeline,
            promotion,
            decided: decided.map(|d| Decided {
                decision: bounded(&d.decision, 20),
                by: bounded(&d.by, 200),
                via: bounded(&d.via, 40),
                at: bounded(&d.at, 40),
                promotion: d.promotion,
            }),
            verify_attempts,
            fence,
            capacity_at_shift,
            cache,
            error,
            open_steps,
            active_region,
            epoch,
            lock_released: false,
            parameter: parameter.clone(),
        };
        p.params
            .put(&state_parameter(app), &encode(&state)?)
            .await?;
        let release = outcome != RunOutcome::Failed;
        if release {
            report.lock_released = store::release_lock(&p.params, app, &run.run_id).await?;
        }
        p.params.put(&parameter, &encode(&report)?).await?;
        tracing::info!(
            run_id = %run.run_id,
            outcome = ?outcome,
            rto_seconds = ?report.rto_seconds,
            open_steps = ?report.open_steps,
            lock = %lock_parameter(app),
            lock_released = report.lock_released,
            "recorded"
        );
        Ok(report)
    }

    /// The safety net: an execution closed. If the workflow recorded and announced it itself,
    /// nothing to do; otherwise (stopped by a person, timed out, a runtime error, the history
    /// limit, recording failed) record it now and announce it once.
    async fn closed(&self, change: ExecutionStatusChange) -> Result<Closed> {
        let p = &self.ports;
        let mut closed = Closed {
            execution_arn: change.execution_arn.clone(),
            status: change.status.clone(),
            recorded: false,
            announced: false,
            report: None,
        };
        if change.status == "RUNNING" {
            return Ok(closed);
        }
        #[derive(Deserialize)]
        struct Input {
            run: RunRequest,
        }
        let input: Input =
            serde_json::from_str(change.input.as_deref().unwrap_or("")).map_err(|e| {
                Error::invalid_input(format!(
                    "execution {} is not a lifeboat run (its input has no run: {e})",
                    change.name
                ))
            })?;
        let run = input.run;
        let plan = self.plan_for(&run).await?;
        let app = plan.app();
        let events = p.history.state_events(&change.execution_arn).await?;
        let announced_by_workflow = events
            .iter()
            .any(|e| e.entered && ANNOUNCING_STATES.contains(&e.state.as_str()));
        let parameter = report_parameter(app, run.run_id.as_str());
        let existing: Option<Report> = match p.params.get(&parameter).await? {
            Some(text) => Some(lifeboat_core::run::decode(&parameter, &text)?),
            None => None,
        };
        let report = match existing.filter(|r| r.execution_arn == change.execution_arn) {
            Some(r) => r,
            None => {
                let timeline =
                    Timeline::from_state_events(run.trigger.at(), &events, BOOKKEEPING_STEPS);
                let moved = timeline
                    .steps
                    .iter()
                    .any(|s| !NOTHING_MOVED_STEPS.contains(&s.name.as_str()));
                let outcome = match (change.status.as_str(), moved) {
                    ("SUCCEEDED", _) => RunOutcome::Succeeded,
                    (_, true) => RunOutcome::Failed,
                    (_, false) => RunOutcome::Aborted,
                };
                let error = CaughtError {
                    error: change
                        .error
                        .clone()
                        .unwrap_or_else(|| format!("Execution.{}", change.status)),
                    cause: Some(change.cause.clone().unwrap_or_else(|| {
                        match change.status.as_str() {
                            "ABORTED" => "the execution was stopped (StopExecution) before it recorded the run".to_string(),
                            "TIMED_OUT" => "the execution reached its timeout before it recorded the run".to_string(),
                            other => format!("the execution ended {other} before it recorded the run"),
                        }
                    })),
                };
                closed.recorded = true;
                self.record(
                    &run,
                    outcome,
                    &change.execution_arn,
                    Some(error),
                    Extras {
                        events: Some(events),
                        ..Extras::default()
                    },
                )
                .await?
            }
        };
        if !announced_by_workflow {
            let marker = lifeboat_core::params::closed_notice(app, &change.name);
            let body = encode(&serde_json::json!({ "execution_arn": change.execution_arn }))?;
            if p.params.create(&marker, &body).await? == Created::Created {
                if let Err(e) = self.notify(&report).await {
                    // Not announced: let the next delivery try again.
                    p.params.delete(&marker).await?;
                    return Err(e.context("announcing the closed execution"));
                }
                closed.announced = true;
            }
        }
        tracing::info!(execution = %change.execution_arn, status = %change.status, recorded = closed.recorded, announced = closed.announced, "execution closed");
        closed.report = Some(Box::new(report));
        Ok(closed)
    }

    /// Recording failed: one message on the topic from what the workflow holds. The topic is the
    /// plan's when the plan can be read, else this copy's configured topic.
    async fn notify_unrecorded(
        &self,
        run: &RunRequest,
        execution_arn: &str,
        error: Option<CaughtError>,
        record_error: Option<CaughtError>,
    ) -> Result<Notified> {
        let topic = match store::load_plan(&self.ports.params, &self.config.plan.plan_parameter)
            .await
            .and_then(|plan| {
                Ok(plan
                    .region(&run.target_region)?
                    .notification_topic_arn
                    .clone())
            }) {
            Ok(t) => t,
            Err(e) => self.config.fallback_topic_arn.clone().ok_or_else(|| {
                e.context("the plan cannot be read and LIFEBOAT_TOPIC_ARN is not set")
            })?,
        };
        let subject = bounded(
            &format!(
                "lifeboat {}: {} into {} ended UNRECORDED, a person must act",
                run.app, run.kind, run.target_region
            ),
            100,
        );
        let describe = |e: &Option<CaughtError>| {
            e.as_ref().map_or("-".to_string(), |e| {
                format!(
                    "{}: {}",
                    bounded(&e.error, 200),
                    bounded(e.cause.as_deref().unwrap_or("(no cause given)"), 600)
                )
            })
        };
        let message = format!(
            "The {} of '{}' from {} into {} (run {}) ended, but its state could not be recorded.\n\n\
             What ended it: {}\nWhy recording failed: {}\nExecution: {execution_arn}\n\n\
             What to do: look at the execution's history for how far it got (lifeboat status shows \
             the writer and the traffic). The run lock may still be held; once it is stale \
             (its execution has ended) the next run takes it over and says so. To resume, start \
             the state machine again with this execution's input under a new name; every step \
             is idempotent.\n",
            run.kind,
            run.app,
            run.source_region,
            run.target_region,
            run.run_id,
            describe(&error),
            describe(&record_error),
        );
        // The parameter store may be the reason recording failed: a marker that cannot be read
        // does not hold the notice back (a second message is better than none).
        let marker = lifeboat_core::params::announced(&run.app, &execution_name(execution_arn)?);
        match self.announcement(&marker, execution_arn).await {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, marker = %marker, "the announcement marker cannot be read; announcing anyway");
            }
        }
        self.announce(&marker, execution_arn, &topic, subject, &message)
            .await
    }

    async fn notify(&self, report: &Report) -> Result<Notified> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        let topic = &plan.region(&report.target_region)?.notification_topic_arn;
        let marker =
            lifeboat_core::params::announced(plan.app(), &execution_name(&report.execution_arn)?);
        if let Some(done) = self.announcement(&marker, &report.execution_arn).await? {
            return Ok(done);
        }
        self.announce(
            &marker,
            &report.execution_arn,
            topic,
            subject(report),
            &render_text(report),
        )
        .await
    }

    /// The announcement already made for this execution, if any: a retry of the announcing step
    /// (its sandbox was lost after the publish, its answer timed out) answers with it.
    async fn announcement(&self, marker: &str, execution_arn: &str) -> Result<Option<Notified>> {
        let Some(text) = self.ports.params.get(marker).await? else {
            return Ok(None);
        };
        let made: Announcement = lifeboat_core::run::decode(marker, &text)?;
        if made.execution_arn != execution_arn {
            // Another execution's (never expected: the marker names machine and execution).
            tracing::warn!(marker = %marker, recorded = %made.execution_arn, "the announcement marker is another execution's; announcing");
            return Ok(None);
        }
        tracing::info!(marker = %marker, message_id = %made.message_id, "already announced; not publishing again");
        Ok(Some(Notified {
            message_id: made.message_id,
            subject: made.subject,
            announcement_recorded: true,
        }))
    }

    /// Publish, then record that it went out. SNS standard topics have no deduplication id, so
    /// this is at-least-once: a sandbox lost between the publish and the record repeats the
    /// message on retry. A record the store refuses does not fail the step, which would publish
    /// again; the answer says so instead.
    async fn announce(
        &self,
        marker: &str,
        execution_arn: &str,
        topic: &str,
        subject: String,
        message: &str,
    ) -> Result<Notified> {
        let message_id = self
            .ports
            .notifier
            .publish(topic, &subject, message)
            .await?;
        let made = Announcement {
            execution_arn: execution_arn.to_string(),
            message_id: message_id.clone(),
            subject: subject.clone(),
        };
        let announcement_recorded = match self.ports.params.create(marker, &encode(&made)?).await {
            Ok(Created::Created) => true,
            Ok(Created::AlreadyExists) => {
                tracing::warn!(marker = %marker, message_id = %message_id, "announced, but another announcement holds the marker");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, marker = %marker, message_id = %message_id, "announced, but the announcement could not be recorded: a retry of this step would announce again");
                false
            }
        };
        Ok(Notified {
            message_id,
            subject,
            announcement_recorded,
        })
    }
}

fn describe_trigger(run: &RunRequest) -> String {
    use lifeboat_core::trigger::Trigger;
    match &run.trigger {
        Trigger::Alarm { name, region, .. } => format!("alarm {name} in {region}"),
        Trigger::Canary { .. } => "canary: the primary's health endpoints failed".to_string(),
        Trigger::Alert { alert, region, .. } => {
            format!("Alertmanager: {alert} says {region} is down")
        }
        Trigger::Manual { .. } => "started by an operator".to_string(),
    }
}

#[cfg(test)]
mod tests;
