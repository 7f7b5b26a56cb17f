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
use lifeboat_core::plan::{OnTimeout, ValidPlan};
use lifeboat_core::ports::{
    AlarmReader, Clock, ExecutionHistory, GlobalDatabase, Notifier, ParameterStore,
    ReplicationLagSource,
};
use lifeboat_core::run::{
    LastRun, RunKind, RunOutcome, RunRequest, RunState, encode, lock_parameter, state_parameter,
};
use lifeboat_core::store;
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
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &lifeboat_lambda::Env<F>) -> Result<Self> {
        Ok(Self {
            plan: lifeboat_lambda::PlanConfig::from_env(env)?,
            poll_seconds: env.number("LIFEBOAT_POLL_SECONDS", 5, 1, 300)?,
            step_deadline_seconds: env.number("LIFEBOAT_STEP_DEADLINE_SECONDS", 1800, 1, 86_400)?,
        })
    }
}

/// The error a state caught (`Catch` with `ResultPath`), as Step Functions shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    /// Absent or null when the failure carried none (a `SendTaskFailure` without a cause).
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

/// What a step returned, as far as the report needs it (the database promotion's RPO).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BranchResult {
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub start: Option<StartSummary>,
}

/// The part of a step's `start` answer the report uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartSummary {
    #[serde(default)]
    pub state: Option<String>,
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
    },
    Notify {
        report: Box<Report>,
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
    pub poll_seconds: u32,
    /// Polls of one step before its deadline.
    pub max_polls: u32,
}

/// A run's report: what happened, when, and where things stand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Failover or failback (reports written before failbacks existed are failovers).
    #[serde(default)]
    pub kind: RunKind,
    pub app: String,
    pub run_id: String,
    pub source_region: String,
    pub target_region: String,
    pub outcome: RunOutcome,
    pub trigger: String,
    pub execution_arn: String,
    pub timeline: Timeline,
    /// Trigger to traffic verified in the target (successful runs).
    pub rto_seconds: Option<f64>,
    pub rpo_estimate_seconds: Option<f64>,
    pub error: Option<CaughtError>,
    /// Steps begun and not finished: what a failure left half-done.
    pub open_steps: Vec<String>,
    pub active_region: String,
    pub epoch: u64,
    /// Whether the run lock was released (kept after a failure: a person decides).
    pub lock_released: bool,
    /// Where the report is kept.
    pub parameter: String,
}

/// What `notify` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notified {
    pub message_id: String,
    pub subject: String,
}

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Assessment(Box<Assessment>),
    Report(Box<Report>),
    Notified(Notified),
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<D, L, A, P, H, N, C> {
    pub db: D,
    pub lag: L,
    pub alarms: A,
    pub params: P,
    pub history: H,
    pub notifier: N,
    pub clock: C,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<D, L, A, P, H, N, C> {
    pub config: Config,
    pub ports: Ports<D, L, A, P, H, N, C>,
}

/// Steps of the workflow that are bookkeeping, not part of the timeline.
pub const BOOKKEEPING_STEPS: &[&str] = &["Record", "Notify", "Done", "Aborted", "Failed"];

/// The report parameter of a run.
pub fn report_parameter(app: &str, run_id: &str) -> String {
    format!("/lifeboat/{app}/runs/{run_id}")
}

impl<D, L, A, P, H, N, C> Handler<D, L, A, P, H, N, C>
where
    D: GlobalDatabase,
    L: ReplicationLagSource,
    A: AlarmReader,
    P: ParameterStore,
    H: ExecutionHistory,
    N: Notifier,
    C: Clock,
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        let request: Request = lifeboat_lambda::parse_event("run-ledger request", event)?;
        match request {
            Request::Assess {
                run,
                after_approval_timeout,
            } => self
                .assess(&run, after_approval_timeout)
                .await
                .map(|a| Response::Assessment(Box::new(a))),
            Request::Record {
                run,
                outcome,
                execution_arn,
                error,
                branches,
            } => self
                .record(&run, outcome, &execution_arn, error, branches)
                .await
                .map(|r| Response::Report(Box::new(r))),
            Request::Notify { report } => self.notify(&report).await.map(Response::Notified),
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

    async fn assess(&self, run: &RunRequest, after_approval_timeout: bool) -> Result<Assessment> {
        let p = &self.ports;
        let plan = self.plan_for(run).await?;
        match store::read_lock(&p.params, plan.app()).await? {
            Some(holder) if holder.run_id == run.run_id => {}
            Some(holder) => {
                return Err(Error::precondition(format!(
                    "run {} does not hold the run lock (run {} does): it must not move anything",
                    run.run_id, holder.run_id
                )));
            }
            None => {
                return Err(Error::precondition(format!(
                    "run {} does not hold the run lock (nobody does): it must not move anything",
                    run.run_id
                )));
            }
        }
        let readiness = lifeboat_core::steps::readiness(
            &p.db,
            &p.lag,
            &p.alarms,
            &plan,
            &run.target_region,
            &run.source_region,
            &run.trigger,
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
                    readiness.primary_reachable,
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
        let poll = self.config.poll_seconds.max(1);
        Ok(Assessment {
            promotion,
            readiness,
            approval_required: matches!(run.approval, Approval::Required { .. }),
            approval_timeout_seconds: approval.timeout_minutes.saturating_mul(60).max(1),
            on_timeout: approval.on_timeout,
            wait_seconds,
            poll_seconds: poll,
            max_polls: self.config.step_deadline_seconds.div_ceil(poll).max(1),
        })
    }

    async fn record(
        &self,
        run: &RunRequest,
        outcome: RunOutcome,
        execution_arn: &str,
        error: Option<CaughtError>,
        branches: Option<Vec<BranchResult>>,
    ) -> Result<Report> {
        let p = &self.ports;
        let plan = self.plan_for(run).await?;
        let app = plan.app();
        let now = p.clock.now();
        let events = p.history.state_events(execution_arn).await?;
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
            error: truncate(&e.error, 200),
            cause: e.cause.map(|c| truncate(&c, 600)),
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

    async fn notify(&self, report: &Report) -> Result<Notified> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        let topic = &plan.region(&report.target_region)?.notification_topic_arn;
        let subject = subject(report);
        let message_id = self
            .ports
            .notifier
            .publish(topic, &subject, &render_text(report))
            .await?;
        Ok(Notified {
            message_id,
            subject,
        })
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

fn describe_trigger(run: &RunRequest) -> String {
    use lifeboat_core::trigger::Trigger;
    match &run.trigger {
        Trigger::Alarm { name, region, .. } => format!("alarm {name} in {region}"),
        Trigger::Canary { .. } => "canary: the primary's health endpoints failed".to_string(),
        Trigger::Manual { .. } => "started by an operator".to_string(),
    }
}

/// The notification subject (SNS allows 100 characters).
pub fn subject(report: &Report) -> String {
    let what = match report.outcome {
        RunOutcome::Succeeded => match report.rto_seconds {
            Some(rto) => format!("succeeded, RTO {rto:.0} s"),
            None => "succeeded".to_string(),
        },
        RunOutcome::Failed => "FAILED, a person must act".to_string(),
        RunOutcome::Aborted => "aborted, nothing moved".to_string(),
    };
    truncate(
        &format!(
            "lifeboat {}: {} into {} {what}",
            report.app, report.kind, report.target_region
        ),
        99,
    )
}

/// The report as plain text (e-mail body).
pub fn render_text(report: &Report) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} of '{}' from {} into {}: {:?}",
        match report.kind {
            RunKind::Failover => "Failover",
            RunKind::Failback => "Failback",
        },
        report.app,
        report.source_region,
        report.target_region,
        report.outcome
    );
    let _ = writeln!(t, "Run: {}   Trigger: {}", report.run_id, report.trigger);
    let secs = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{s:.1} s"));
    let _ = writeln!(
        t,
        "RTO: {}   RPO estimate: {}",
        secs(report.rto_seconds),
        secs(report.rpo_estimate_seconds)
    );
    let _ = writeln!(
        t,
        "Active region: {} (epoch {})",
        report.active_region, report.epoch
    );
    let _ = writeln!(t, "\nSteps:");
    for step in &report.timeline.steps {
        let offset = (step.started_at - report.timeline.triggered_at).as_seconds_f64();
        let dur = step.duration().map_or("not finished".to_string(), |d| {
            format!("{:.1} s", d.as_secs_f64())
        });
        let _ = writeln!(t, "  +{offset:>7.1} s  {:<10} {dur}", step.name);
    }
    if let Some(e) = &report.error {
        let _ = writeln!(
            t,
            "\nError: {}: {}",
            e.error,
            e.cause.as_deref().unwrap_or("(no cause given)")
        );
    }
    if !report.open_steps.is_empty() {
        let _ = writeln!(
            t,
            "Half-done: {} (re-run is safe: every step is idempotent)",
            report.open_steps.join(", ")
        );
    }
    if !report.lock_released {
        let _ = writeln!(
            t,
            "The run lock stays held: no other run starts until a person has looked.\n\
             To resume once the cause is fixed: start the state machine again with this \
             execution's input under a new name (e.g. {}-resume-1); every step is idempotent \
             and what is done stays done. To give up instead: delete {}.",
            report.run_id,
            lock_parameter(&report.app)
        );
    }
    let _ = writeln!(t, "\nReport: SSM parameter {}", report.parameter);
    t
}

#[cfg(test)]
mod tests;
