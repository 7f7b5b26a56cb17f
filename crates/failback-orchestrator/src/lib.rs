//! failback-orchestrator: may the shop come home now? If so, start the failback run.
//!
//! It runs in the copy of the region that serves the shop after a failover, and brings the shop
//! home (the plan's primary region) with a planned switchover: RPO 0, both regions up. (The copy
//! in region R fails over *into* R, and brings the shop home *from* R: its run lock and run state
//! are the ones the failover wrote.)
//!
//! * `request` (an operator through `lifeboat failback`, or `cargo lambda invoke`): take the
//!   failback snapshot — the global database seen from here, home's cluster described from home,
//!   home's replication lag (CloudWatch), how long the canary has seen home healthy (its
//!   `PrimaryHealthy` metric), the run lock — and decide (`lifeboat_core::failback`). A refusal
//!   names **every** unmet condition and changes nothing. A go takes the run lock and starts the
//!   failback state machine with the run (`{"run": ...}`) as input.
//! * `assess` (the failback machine's first state): the same snapshot and decision again, the run
//!   holding the lock; `PreconditionFailed` naming every reason (the machine records the run as
//!   aborted: nothing moved), else whether a person must approve, and the workflow's pacing.

use lifeboat_core::decision::{PromotionMode, Readiness};
use lifeboat_core::failback::{FailbackGo, FailbackRefusal, FailbackSnapshot, decide_failback};
use lifeboat_core::plan::ValidPlan;
use lifeboat_core::ports::{
    Clock, HealthHistory, ParameterStore, ReplicationLagSource, WorkflowStarter,
};
use lifeboat_core::run::{RunId, RunKind, RunRequest};
use lifeboat_core::store::{self, RunStart};
use lifeboat_core::trigger::Trigger;
use lifeboat_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The plan settings of [`Config`] (re-exported for callers that build a handler).
pub use lifeboat_lambda::PlanConfig;
use time::OffsetDateTime;

/// The function's configuration (from its environment, read once at init).
#[derive(Debug, Clone)]
pub struct Config {
    pub plan: lifeboat_lambda::PlanConfig,
    /// The failback state machine (`LIFEBOAT_FAILBACK_STATE_MACHINE_ARN`).
    pub state_machine_arn: String,
    /// The plan's other region (`LIFEBOAT_PEER_REGION`): its copy's run lock is read.
    pub peer_region: String,
    /// Seconds between two status polls of a step (`LIFEBOAT_POLL_SECONDS`, default 5).
    pub poll_seconds: u32,
    /// How long a switchover, a scale-up or a DNS sync may take before the run fails
    /// (`LIFEBOAT_STEP_DEADLINE_SECONDS`, default 1800).
    pub step_deadline_seconds: u32,
}

impl Config {
    /// The other copy's failback machine (the same name in the other region): its executions'
    /// status judges the other copy's lock lease.
    pub fn peer_state_machine_arn(&self) -> String {
        lifeboat_core::plan::arn_in_region(
            &self.state_machine_arn,
            &self.plan.region,
            &self.peer_region,
        )
    }
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &lifeboat_lambda::Env<F>) -> Result<Self> {
        let plan = lifeboat_lambda::PlanConfig::from_env(env)?;
        let peer_region = env.peer_region(&plan.region)?;
        Ok(Self {
            plan,
            state_machine_arn: env.required("LIFEBOAT_FAILBACK_STATE_MACHINE_ARN")?,
            peer_region,
            poll_seconds: env.number("LIFEBOAT_POLL_SECONDS", 5, 1, 300)?,
            step_deadline_seconds: env.number("LIFEBOAT_STEP_DEADLINE_SECONDS", 1800, 1, 86_400)?,
        })
    }
}

/// A request, as an operator, the state machine or `cargo lambda invoke` sends it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// May the shop come home now? If so, start the run.
    Request {
        /// Who asks (a person: no second approval). Absent: the plan's approval policy applies.
        #[serde(default)]
        requested_by: Option<String>,
    },
    /// The failback machine's first state: decide again, holding the lock.
    Assess {
        run: Box<RunRequest>,
        /// This execution (`$$.Execution.Id`): the lock's lease is renewed to it.
        #[serde(default)]
        execution_arn: Option<String>,
    },
}

/// What a `request` came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Not now: every unmet condition, named. Nothing was changed.
    Refused {
        message: String,
        reasons: Vec<FailbackRefusal>,
        snapshot: Box<FailbackSnapshot>,
    },
    /// The failback run is under way.
    Started {
        run_id: RunId,
        execution_arn: String,
        request: Box<RunRequest>,
        /// This run had been started already (a repeated request in the same window).
        duplicate: bool,
    },
}

/// What `assess` found: the go, and the workflow's pacing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub from_region: String,
    pub to_region: String,
    /// Whether the workflow waits for a person.
    pub approval_required: bool,
    pub approval_timeout_seconds: u32,
    #[serde(flatten)]
    pub pacing: lifeboat_core::steps::Pacing,
    pub snapshot: FailbackSnapshot,
}

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Outcome(Box<Outcome>),
    Assessment(Box<Assessment>),
}

/// Everything a decision was made on, and the decision (nothing changed yet).
#[derive(Debug, Clone)]
pub struct Assessed {
    pub plan: ValidPlan,
    pub run_id: RunId,
    /// The region serving now (this copy's).
    pub from_region: String,
    /// Home.
    pub to_region: String,
    pub trigger: Trigger,
    pub snapshot: FailbackSnapshot,
    pub decision: std::result::Result<FailbackGo, Vec<FailbackRefusal>>,
    pub now: OffsetDateTime,
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Db, Lag, Health, Params, Runs, Time, PeerParams, PeerWorkflow> {
    pub db: Db,
    pub lag: Lag,
    pub health: Health,
    pub params: Params,
    pub workflow: Runs,
    pub clock: Time,
    /// The other region's parameter store: its copy's run lock, read where reachable.
    pub peer_params: PeerParams,
    /// Judges the other copy's lock lease.
    pub peer_workflow: PeerWorkflow,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<Db, Lag, Health, Params, Runs, Time, PeerParams, PeerWorkflow> {
    pub config: Config,
    pub ports: Ports<Db, Lag, Health, Params, Runs, Time, PeerParams, PeerWorkflow>,
}

/// Every refusal in one sentence each, on one line.
pub fn describe(reasons: &[FailbackRefusal]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A refusal: every reason, and the snapshot it was decided on.
fn refused(
    app: &str,
    home: &str,
    reasons: Vec<FailbackRefusal>,
    snapshot: FailbackSnapshot,
) -> Outcome {
    Outcome::Refused {
        message: format!(
            "lifeboat will not fail '{app}' back to {home} now: {}",
            describe(&reasons)
        ),
        reasons,
        snapshot: Box::new(snapshot),
    }
}

impl<Db, Lag, Health, Params, Runs, Time, PeerParams, PeerWorkflow>
    Handler<Db, Lag, Health, Params, Runs, Time, PeerParams, PeerWorkflow>
where
    Db: lifeboat_core::ports::AnyDatabase,
    Lag: ReplicationLagSource,
    Health: HealthHistory,
    Params: ParameterStore,
    Runs: WorkflowStarter,
    Time: Clock,
    PeerParams: ParameterStore,
    PeerWorkflow: WorkflowStarter,
{
    /// The other copy's lock, into the snapshot: a live one refuses the failback, an unreadable
    /// one is recorded.
    async fn with_other_copy(
        &self,
        plan: &ValidPlan,
        from: &str,
        mut snapshot: FailbackSnapshot,
        now: OffsetDateTime,
    ) -> Result<FailbackSnapshot> {
        let peer = plan.other_region(from)?.to_string();
        match store::inspect_lock(
            &self.ports.peer_params,
            &self.ports.peer_workflow,
            plan.app(),
            now,
        )
        .await
        {
            Ok(store::LockView::Live(lock)) => {
                snapshot.other_copy_lock =
                    Some(lifeboat_core::failback::OtherCopyLock { region: peer, lock });
            }
            Ok(_) => {}
            Err(e) => {
                let why = format!(
                    "could not read the run lock of the copy in {peer}: {}",
                    lifeboat_core::text::inert(&e.to_string(), 300)
                );
                tracing::warn!(why = %why, "the other copy's lock is unknown");
                snapshot.other_copy_unread = Some(why);
            }
        }
        Ok(snapshot)
    }

    pub async fn handle(&self, event: Value) -> Result<Response> {
        let request: Request =
            lifeboat_lambda::parse_event("failback-orchestrator request", event)?;
        match request {
            Request::Request { requested_by } => {
                let assessed = self.assess_request(requested_by.as_deref()).await?;
                self.act(assessed)
                    .await
                    .map(|o| Response::Outcome(Box::new(o)))
            }
            Request::Assess { run, execution_arn } => self
                .assess_run(&run, execution_arn.as_deref())
                .await
                .map(|a| Response::Assessment(Box::new(a))),
        }
    }

    /// What a `request` would decide, without changing anything (`lifeboat failback --dry-run`).
    pub async fn assess_request(&self, requested_by: Option<&str>) -> Result<Assessed> {
        let p = &self.ports;
        let plan = store::load_plan(&p.params, &self.config.plan.plan_parameter).await?;
        let from = self.config.plan.region.clone();
        let home = plan.primary_region().to_string();
        plan.region(&from)
            .map_err(|e| e.context("this function's region"))?;
        let now = p.clock.now();
        let trigger = Trigger::Manual {
            requested_by: requested_by
                .unwrap_or("failback-orchestrator (the plan's approval applies)")
                .to_string(),
            at: now,
        };
        let run_id = RunId::for_failback(
            plan.app(),
            &home,
            now,
            plan.triggers().incident_window_seconds,
        );
        let snapshot = lifeboat_core::failback::snapshot(
            &p.db,
            &p.lag,
            &p.health,
            &p.params,
            &p.workflow,
            &plan,
            &from,
            None,
            now,
        )
        .await?;
        let snapshot = self.with_other_copy(&plan, &from, snapshot, now).await?;
        let decision = self.decide(&plan, &snapshot, requested_by.is_some(), &from);
        tracing::info!(run_id = %run_id, snapshot = ?snapshot, decision = ?decision, "failback decided");
        Ok(Assessed {
            plan,
            run_id,
            from_region: from,
            to_region: home,
            trigger,
            snapshot,
            decision,
            now,
        })
    }

    /// The decision, plus the rule that the copy serving the shop brings it home.
    fn decide(
        &self,
        plan: &ValidPlan,
        snapshot: &FailbackSnapshot,
        requested_by_operator: bool,
        from: &str,
    ) -> std::result::Result<FailbackGo, Vec<FailbackRefusal>> {
        let decided = decide_failback(plan, snapshot, requested_by_operator);
        let stray = snapshot
            .writer_region
            .as_deref()
            .filter(|w| *w != plan.primary_region() && *w != from)
            .map(|w| FailbackRefusal::NotServingHere {
                serving: w.to_string(),
                here: from.to_string(),
            });
        match (decided, stray) {
            (decided, None) => decided,
            (Ok(_), Some(stray)) => Err(vec![stray]),
            (Err(mut why), Some(stray)) => {
                why.push(stray);
                Err(why)
            }
        }
    }

    /// Carry out a decision: report a refusal, or take the lock and start the run.
    pub async fn act(&self, assessed: Assessed) -> Result<Outcome> {
        let Assessed {
            plan,
            run_id,
            from_region,
            to_region,
            trigger,
            snapshot,
            decision,
            now,
        } = assessed;
        let go = match decision {
            Err(reasons) => {
                return Ok(refused(plan.app(), &to_region, reasons, snapshot));
            }
            Ok(go) => go,
        };
        let p = &self.ports;
        let readiness = Readiness {
            peer_lock_unread: snapshot.other_copy_unread.clone(),
            primary_data_plane: None,
            writer_region: snapshot.writer_region.clone(),
            operation_in_progress: snapshot.operation_in_progress.clone(),
            target_cluster_available: snapshot
                .home_member
                .as_ref()
                .is_some_and(|m| m.cluster_available),
            primary_reachable: lifeboat_core::database::writer_answers(
                &p.db,
                &p.params,
                &plan,
                &from_region,
            )
            .await,
            replication_lag: snapshot.home_lag,
            replication_lag_age: None,
            alarm_still_firing: None,
        };
        let request = RunRequest {
            kind: RunKind::Failback,
            app: plan.app().to_string(),
            run_id: run_id.clone(),
            source_region: from_region,
            target_region: to_region,
            plan_parameter: self.config.plan.plan_parameter.clone(),
            trigger,
            promotion: PromotionMode::Switchover,
            approval: go.approval,
            readiness,
            decided_at: now,
        };
        match store::start_run(&p.params, &p.workflow, &request, now).await? {
            RunStart::Started {
                run_id,
                execution_arn,
                duplicate,
                took_over,
            } => {
                if let Some(stale) = &took_over {
                    tracing::warn!(stale_run = %stale.lock.run_id, why = %stale.why, run_id = %run_id, "the failback took over a stale run lock");
                }
                Ok(Outcome::Started {
                    run_id: run_id.clone(),
                    execution_arn,
                    request: Box::new(RunRequest { run_id, ..request }),
                    duplicate,
                })
            }
            // Taken between the snapshot and now.
            RunStart::HeldBy(holder) => {
                let reasons = vec![FailbackRefusal::RunInProgress {
                    run_id: holder.run_id.to_string(),
                    target_region: holder.target_region.clone(),
                }];
                Ok(refused(
                    plan.app(),
                    &request.target_region,
                    reasons,
                    snapshot,
                ))
            }
        }
    }

    /// The machine's Assess: the run must be a failback from this copy's region that holds the
    /// lock; then the same decision again.
    async fn assess_run(
        &self,
        run: &RunRequest,
        execution_arn: Option<&str>,
    ) -> Result<Assessment> {
        let p = &self.ports;
        let plan = store::load_plan(&p.params, &self.config.plan.plan_parameter).await?;
        let from = self.config.plan.region.as_str();
        if run.kind != RunKind::Failback
            || run.app != plan.app()
            || run.source_region != from
            || run.target_region != plan.primary_region()
        {
            return Err(Error::invalid_input(format!(
                "run {} is a {} of '{}' from {} into {}; this copy brings '{}' home from {from} to {}",
                run.run_id,
                run.kind,
                run.app,
                run.source_region,
                run.target_region,
                plan.app(),
                plan.primary_region()
            )));
        }
        store::hold_lock(&p.params, plan.app(), &run.run_id, execution_arn).await?;
        let snapshot = lifeboat_core::failback::snapshot(
            &p.db,
            &p.lag,
            &p.health,
            &p.params,
            &p.workflow,
            &plan,
            from,
            Some(&run.run_id),
            p.clock.now(),
        )
        .await?;
        let snapshot = self
            .with_other_copy(&plan, from, snapshot, p.clock.now())
            .await?;
        let operator = matches!(
            run.approval,
            lifeboat_core::decision::Approval::RequestedByOperator
        );
        let go = self
            .decide(&plan, &snapshot, operator, from)
            .map_err(|why| Error::precondition(format!("no failback now: {}", describe(&why))))?;
        tracing::info!(run_id = %run.run_id, snapshot = ?snapshot, "failback assessed");
        // a failback is a planned switchover
        let pacing = lifeboat_core::steps::pacing(
            &plan,
            &go.to_region,
            true,
            self.config.poll_seconds,
            self.config.step_deadline_seconds,
        );
        Ok(Assessment {
            from_region: go.from_region,
            to_region: go.to_region,
            approval_required: matches!(
                run.approval,
                lifeboat_core::decision::Approval::Required { .. }
            ),
            approval_timeout_seconds: plan.approval().timeout_minutes.saturating_mul(60).max(1),
            pacing,
            snapshot,
        })
    }
}

#[cfg(test)]
mod tests;
