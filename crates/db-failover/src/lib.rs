//! db-failover: promote the target region's Aurora cluster, and report on it.
//!
//! * `start`: switchover (RPO 0) when the primary answers; failover with data loss when it does
//!   not and the lag is within the plan's RPO guard (or a person explicitly overrode it);
//!   otherwise `PreconditionFailed` naming the reason. Idempotent: when the target is the writer
//!   already it reports so and changes nothing; when the promotion is already under way it
//!   reports that. `planned: true` (failback) allows only the switchover.
//!   Once the promotion is requested (or under way, or done), the target's database capacity
//!   is raised to the plan's active level (`regions.<target>.database_capacity`): instance class
//!   changes and the Serverless v2 range run beside the promotion.
//! * `status`: `done` (target is the writer, its capacity at the plan's active level),
//!   `scaling` (the writer, its capacity still on its way: a change RDS could not take earlier,
//!   while an instance was busy, is requested now), `in_progress` (with the RDS phase), or
//!   `failed` (the operation was cancelled or never took: nothing is moving and the writer is
//!   elsewhere).
//! * `cache`: once the target's cluster is the writer, move the plan's cache there
//!   (`lifeboat_core::cache::promote`: the target's Redis promoted, or a cold one checked; the
//!   old region fenced where it answers), with the password read from its SecureString;
//!   `not_planned` without a cache.
//! * `scale_capacity`: bring one region's cluster to a level (`standby` when a failback leaves
//!   it); `ready`, `scaling` or `not_planned`.

pub use lifeboat_core::cache::{CacheState, CacheStep};
use lifeboat_core::db_capacity::{self, DbChange, DbLevel};
use lifeboat_core::decision::{PromotionMode, choose_promotion};
use lifeboat_core::mysql::{self, MyMode, MyState};
use lifeboat_core::patroni::{self, PgMode, PgState};
use lifeboat_core::plan::{DatabaseProvider, RegionCachePlan, ValidPlan, cluster_id_from_arn};
use lifeboat_core::ports::{
    CacheNodes, Clock, ClusterCapacityView, DatabaseCapacity, GlobalClusterView, GlobalMember,
    ParameterStore, ReplicationLagSource,
};
use lifeboat_core::store;
use lifeboat_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function's configuration (from its environment, read once at init).
pub use lifeboat_lambda::PlanConfig as Config;

/// A request, as the state machine (or `cargo lambda invoke`) sends it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Start {
        /// Region to promote into (default: the function's own region).
        #[serde(default)]
        target_region: Option<String>,
        /// The run this belongs to (for the logs and the report).
        #[serde(default)]
        run_id: Option<String>,
        /// A person explicitly accepts data loss beyond the RPO guard.
        #[serde(default)]
        allow_data_loss_override: bool,
        /// Planned (failback): a switchover only, never a failover with data loss.
        #[serde(default)]
        planned: bool,
        /// The promotion a person approved (or, without approval, the run's assessment decided
        /// on): its override of the RPO guard applies, and nothing riskier runs silently
        /// (`ApprovalOutdated`: the workflow asks again).
        #[serde(default)]
        approved: Option<PromotionMode>,
    },
    Status {
        #[serde(default)]
        target_region: Option<String>,
        /// The promotion the run approved (as for `start`). Under Patroni each status call
        /// drives the promotion's next step, and a target promoted while its source was dark
        /// needs the approved failover to go on; without it only a switchover's steps run.
        #[serde(default)]
        approved: Option<PromotionMode>,
    },
    /// Move the plan's cache into `target_region` once the database is the writer there
    /// (`lifeboat_core::cache::promote`): `not_planned` when the plan has no cache.
    Cache {
        #[serde(default)]
        target_region: Option<String>,
        #[serde(default)]
        run_id: Option<String>,
    },
    /// Bring `region`'s cluster to the plan's database capacity at `level`.
    ScaleCapacity {
        region: String,
        level: DbLevel,
        #[serde(default)]
        run_id: Option<String>,
    },
}

/// What `start` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StartOutcome {
    /// We asked RDS to promote.
    Started {
        promotion: PromotionMode,
        from_region: String,
        to_region: String,
        /// The RPO estimate: 0 for a switchover, the lag at promotion for a failover.
        rpo_estimate_seconds: Option<f64>,
        rds_status: Option<String>,
    },
    /// The promotion into the target is already under way (an earlier start).
    InProgress {
        rds_status: String,
        to_region: String,
    },
    /// The target is the writer already: nothing to do.
    AlreadyDone { writer_region: String },
}

/// What `status` sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Done {
        writer_region: String,
        /// The other members (`synchronization_status` is `pending-resync` after a failover
        /// until the old primary has been rebuilt as a secondary).
        secondaries: Vec<GlobalMember>,
        /// The writer's capacity, at the plan's active level (when the plan sets one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        capacity: Option<ClusterCapacityView>,
    },
    /// The target is the writer; its capacity is on its way to the plan's active level.
    Scaling {
        waiting: Vec<String>,
        requested: Vec<DbChange>,
    },
    InProgress {
        rds_status: String,
    },
    Failed {
        detail: String,
        writer_region: Option<String>,
    },
}

/// What a capacity step did and sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityOutcome {
    pub region: String,
    pub level: DbLevel,
    /// `ready`, `scaling` or `not_planned` (the plan sets no database capacity for the region).
    pub state: CapacityState,
    /// The changes requested by this call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested: Vec<DbChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<String>,
    /// The cluster as described before the changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<ClusterCapacityView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityState {
    Ready,
    Scaling,
    NotPlanned,
}

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Start(StartOutcome),
    Status(Status),
    Capacity(CapacityOutcome),
    Cache(CacheStep),
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Db, Lag, Params, Cache, Time> {
    pub db: Db,
    pub lag: Lag,
    pub params: Params,
    /// The plan's cache nodes and Sentinels (Redis).
    pub cache: Cache,
    /// Patroni's lag is measured against now.
    pub clock: Time,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<Db, Lag, Params, Cache, Time> {
    pub config: Config,
    pub ports: Ports<Db, Lag, Params, Cache, Time>,
}

impl<
    Db: lifeboat_core::ports::AnyDatabase + DatabaseCapacity,
    Lag: ReplicationLagSource,
    Params: ParameterStore,
    Cache: CacheNodes,
    Time: Clock,
> Handler<Db, Lag, Params, Cache, Time>
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        let request: Request = lifeboat_lambda::parse_event("db-failover request", event)?;
        let plan = store::load_plan(&self.ports.params, &self.config.plan_parameter).await?;
        match request {
            Request::Start {
                target_region,
                run_id,
                allow_data_loss_override,
                planned,
                approved,
            } => {
                let target = self.target(&plan, target_region)?;
                let allow_override = allow_data_loss_override
                    || matches!(
                        approved,
                        Some(PromotionMode::Failover {
                            overridden: true,
                            ..
                        })
                    );
                let out = match plan.database_provider() {
                    DatabaseProvider::AuroraGlobal => {
                        self.start(&plan, &target, allow_override, planned, approved)
                            .await
                    }
                    DatabaseProvider::Patroni | DatabaseProvider::Mysql => {
                        self.start_replicated(&plan, &target, allow_override, planned, approved)
                            .await
                    }
                };
                tracing::info!(run_id = run_id.as_deref().unwrap_or("-"), target = %target, outcome = ?out, "start");
                let out = out?;
                // The promotion is requested (or under way, or done): the target's capacity
                // goes to the active level beside it. Nothing is scaled when start refused.
                let capacity = self.scale(&plan, &target, DbLevel::Active).await?;
                tracing::info!(run_id = run_id.as_deref().unwrap_or("-"), target = %target, capacity = ?capacity, "capacity");
                Ok(Response::Start(out))
            }
            Request::Status {
                target_region,
                approved,
            } => {
                let target = self.target(&plan, target_region)?;
                match plan.database_provider() {
                    DatabaseProvider::AuroraGlobal => self.status(&plan, &target).await,
                    DatabaseProvider::Patroni | DatabaseProvider::Mysql => {
                        self.status_replicated(&plan, &target, approved.as_ref())
                            .await
                    }
                }
                .map(Response::Status)
            }
            Request::Cache {
                target_region,
                run_id,
            } => {
                let target = self.target(&plan, target_region)?;
                let out = self.cache(&plan, &target).await;
                tracing::info!(run_id = run_id.as_deref().unwrap_or("-"), target = %target, outcome = ?out, "cache");
                out.map(Response::Cache)
            }
            Request::ScaleCapacity {
                region,
                level,
                run_id,
            } => {
                plan.region(&region)?;
                let out = self.scale(&plan, &region, level).await;
                tracing::info!(run_id = run_id.as_deref().unwrap_or("-"), region = %region, outcome = ?out, "scale_capacity");
                out.map(Response::Capacity)
            }
        }
    }

    /// The cache moves only into the region whose database is the writer (one writer for both):
    /// asked before the database moved, it is `PreconditionFailed` and changes nothing.
    async fn cache(&self, plan: &ValidPlan, target: &str) -> Result<CacheStep> {
        let Some(cache) = plan.cache() else {
            return Ok(CacheStep {
                state: CacheState::NotPlanned,
                cache: None,
            });
        };
        let writer = lifeboat_core::database::writer_region(
            &self.ports.db,
            &self.ports.params,
            plan,
            target,
        )
        .await?;
        if writer.as_deref() != Some(target) {
            return Err(Error::precondition(format!(
                "the cache moves with the database, and {target}'s database is not the writer: nothing was changed"
            )));
        }
        let password = lifeboat_core::cache::password(&self.ports.params, cache).await?;
        let region = |name: &str| -> Result<&RegionCachePlan> {
            plan.region(name)?
                .cache
                .as_ref()
                .ok_or_else(|| Error::internal(format!("a valid plan with a cache names {name}'s")))
        };
        let other = plan.other_region(target)?;
        let out = lifeboat_core::cache::promote(
            &self.ports.cache,
            cache,
            region(target)?,
            region(other)?,
            password.as_ref(),
        )
        .await?;
        Ok(CacheStep {
            state: CacheState::Ready,
            cache: Some(out),
        })
    }

    fn target(&self, plan: &ValidPlan, requested: Option<String>) -> Result<String> {
        let target = requested.unwrap_or_else(|| self.config.region.clone());
        plan.region(&target)?;
        Ok(target)
    }

    async fn describe(
        &self,
        plan: &ValidPlan,
        target: &str,
    ) -> Result<(GlobalClusterView, String)> {
        let target_arn = plan.cluster_arn(target)?.to_string();
        let view = self
            .ports
            .db
            .describe_global(target, plan.global_cluster_id()?)
            .await?;
        if view.member(&target_arn).is_none() {
            return Err(Error::precondition(format!(
                "{target_arn} is not a member of global cluster {}",
                view.id
            )));
        }
        Ok((view, target_arn))
    }

    async fn start(
        &self,
        plan: &ValidPlan,
        target: &str,
        allow_override: bool,
        planned: bool,
        approved: Option<PromotionMode>,
    ) -> Result<StartOutcome> {
        let db = &self.ports.db;
        let (view, target_arn) = self.describe(plan, target).await?;
        if let Some(op) = &view.operation {
            return if op.to_cluster_arn.as_deref() == Some(target_arn.as_str())
                && op.status != "cancelling"
            {
                Ok(StartOutcome::InProgress {
                    rds_status: op.status.clone(),
                    to_region: target.to_string(),
                })
            } else {
                Err(Error::precondition(format!(
                    "another global database operation is under way ({}, to {})",
                    op.status,
                    op.to_cluster_arn.as_deref().unwrap_or("?")
                )))
            };
        }
        let writer_arn = view
            .writer_arn()
            .ok_or_else(|| Error::precondition("no member of the global database is the writer"))?
            .to_string();
        if writer_arn == target_arn {
            return Ok(StartOutcome::AlreadyDone {
                writer_region: target.to_string(),
            });
        }
        let source = plan.region_of_cluster(&writer_arn).ok_or_else(|| {
            Error::precondition(format!(
                "the writer {writer_arn} is not one of the plan's clusters"
            ))
        })?;
        let target_status = db.describe_cluster(target, &target_arn).await?.status;
        if target_status != "available" {
            return Err(Error::precondition(format!(
                "the target cluster {target_arn} is {target_status}, not available: lifeboat never promotes into an unhealthy target"
            )));
        }
        let primary_reachable =
            lifeboat_core::steps::primary_answers(db, source, &writer_arn).await;
        if planned && !primary_reachable {
            return Err(Error::precondition(format!(
                "a planned promotion is a switchover (RPO 0), and the writer in {source} does not answer: nothing was changed"
            )));
        }
        let target_id = cluster_id_from_arn(&target_arn)
            .ok_or_else(|| Error::internal("a valid plan has cluster ARNs"))?;
        let lag = if primary_reachable {
            None
        } else {
            lifeboat_core::decision::usable_lag(
                self.ports.lag.replication_lag(target, target_id).await?,
                plan.rpo_guard(),
            )
        };
        let data_plane =
            lifeboat_core::steps::primary_data_plane(db, plan, source, primary_reachable).await?;
        let primary = lifeboat_core::decision::PrimaryEvidence {
            region: source,
            answers: primary_reachable,
            data_plane,
        };
        let promotion = decide(plan, primary, lag, allow_override, approved.as_ref())?;
        let gid = plan.global_cluster_id()?;
        let (after, rpo) = match promotion {
            PromotionMode::Switchover => {
                (db.switchover(target, gid, &target_arn).await?, Some(0.0))
            }
            PromotionMode::Failover { lag, .. } => (
                db.failover_allow_data_loss(target, gid, &target_arn)
                    .await?,
                lag.map(|l| l.as_secs_f64()),
            ),
        };
        Ok(StartOutcome::Started {
            promotion,
            from_region: source.to_string(),
            to_region: target.to_string(),
            rpo_estimate_seconds: rpo,
            rds_status: after.operation.map(|o| o.status),
        })
    }

    /// One capacity step for `region`'s cluster at `level`: describe, decide (core), request
    /// the changes RDS can take now.
    async fn scale(
        &self,
        plan: &ValidPlan,
        region: &str,
        level: DbLevel,
    ) -> Result<CapacityOutcome> {
        let Some(target) = db_capacity::target(plan, region, level)? else {
            return Ok(CapacityOutcome {
                region: region.to_string(),
                level,
                state: CapacityState::NotPlanned,
                requested: Vec::new(),
                waiting: Vec::new(),
                left_alone: Vec::new(),
                capacity: None,
            });
        };
        let arn = plan.cluster_arn(region)?;
        let view = self.ports.db.describe_capacity(region, arn).await?;
        let mut step = db_capacity::step(&target, &view);
        let mut requested = Vec::with_capacity(step.changes.len());
        for change in std::mem::take(&mut step.changes) {
            let sent = match &change {
                DbChange::InstanceClass {
                    instance_id, to, ..
                } => {
                    self.ports
                        .db
                        .modify_instance_class(region, instance_id, to)
                        .await
                }
                DbChange::ServerlessRange {
                    cluster_arn, to, ..
                } => {
                    self.ports
                        .db
                        .modify_serverless_range(region, cluster_arn, *to)
                        .await
                }
            };
            match sent {
                Ok(()) => requested.push(change),
                // The instance or cluster became busy since it was described (RDS's
                // InvalidDBInstanceState / InvalidDBClusterStateFault): still on its way, asked
                // again at the next step, within the step deadline.
                Err(e) if e.kind() == lifeboat_core::ErrorKind::PreconditionFailed => {
                    step.waiting
                        .push(format!("RDS refused for now: {}", e.message()));
                }
                Err(e) => return Err(e),
            }
        }
        step.changes = requested;
        Ok(CapacityOutcome {
            region: region.to_string(),
            level,
            state: if step.ready() {
                CapacityState::Ready
            } else {
                CapacityState::Scaling
            },
            requested: step.changes,
            waiting: step.waiting,
            left_alone: step.left_alone,
            capacity: Some(view),
        })
    }

    /// Under Patroni: the same decision as Aurora's (core), made on the evidence both
    /// regions' members give ([`lifeboat_core::database::evidence`]), then the first step of
    /// [`patroni::promote`]; `status` drives the rest.
    /// Patroni or MySQL: lifeboat itself demotes the source and promotes the target, one step
    /// per call (the state machine's Status loop drives the rest).
    async fn start_replicated(
        &self,
        plan: &ValidPlan,
        target: &str,
        allow_override: bool,
        planned: bool,
        approved: Option<PromotionMode>,
    ) -> Result<StartOutcome> {
        let source = plan.other_region(target)?;
        let now = self.ports.clock.now();
        let ev = lifeboat_core::database::evidence(
            &self.ports.db,
            &self.ports.lag,
            &self.ports.params,
            plan,
            target,
            source,
            now,
        )
        .await?;
        if ev.writer_region.as_deref() == Some(target) {
            return Ok(StartOutcome::AlreadyDone {
                writer_region: target.to_string(),
            });
        }
        if ev.operation_in_progress.is_some() {
            // an earlier start demoted the source: its switchover goes on (RPO 0)
            let out = self.drive(plan, target, false).await?;
            return Ok(StartOutcome::InProgress {
                rds_status: out.status(),
                to_region: target.to_string(),
            });
        }
        if !ev.target_available {
            return Err(Error::precondition(match plan.database_provider() {
                DatabaseProvider::Mysql => format!(
                    "{target}'s MySQL server does not answer: lifeboat never promotes into an unhealthy target"
                ),
                _ => format!(
                    "{target}'s Patroni cluster has no running leader: lifeboat never promotes into an unhealthy target"
                ),
            }));
        }
        if planned && !ev.primary_reachable {
            return Err(Error::precondition(format!(
                "a planned promotion is a switchover (RPO 0), and the primary in {source} does not answer: nothing was changed"
            )));
        }
        let primary = lifeboat_core::decision::PrimaryEvidence {
            region: source,
            answers: ev.primary_reachable,
            data_plane: ev.primary_data_plane,
        };
        let lag = if ev.primary_reachable {
            None
        } else {
            ev.replication_lag
        };
        let promotion = decide(plan, primary, lag, allow_override, approved.as_ref())?;
        let (failover, rpo) = match &promotion {
            PromotionMode::Switchover => (false, Some(0.0)),
            PromotionMode::Failover { lag, .. } => (true, lag.map(|l| l.as_secs_f64())),
        };
        let out = self.drive(plan, target, failover).await?;
        Ok(StartOutcome::Started {
            promotion,
            from_region: source.to_string(),
            to_region: target.to_string(),
            rpo_estimate_seconds: rpo,
            rds_status: Some(out.status()),
        })
    }

    /// One step of the promotion into `target` by the plan's provider (each call safe to
    /// repeat). `failover`: the run's decision allowed promoting without the source.
    async fn drive(&self, plan: &ValidPlan, target: &str, failover: bool) -> Result<Step> {
        let source = plan.other_region(target)?;
        if plan.database_provider() == DatabaseProvider::Mysql {
            let login = mysql::login(&self.ports.params, plan, true).await?;
            let mode = if failover {
                MyMode::Failover
            } else {
                MyMode::Switchover
            };
            let out = mysql::promote(
                &self.ports.db,
                plan.mysql_server(target)?,
                plan.mysql_server(source)?,
                mode,
                &login,
            )
            .await?;
            let ops: Vec<String> = out.ops.iter().map(ToString::to_string).collect();
            tracing::info!(target = %target, state = ?out.state, ops = ?ops, fenced = ?out.fenced, note = ?out.note, "mysql");
            return Ok(match out.state {
                MyState::Done => Step::Done,
                MyState::Demoting => Step::InProgress("making the source's server read-only"),
                MyState::CatchingUp => {
                    Step::InProgress("the target is catching up with the read-only source")
                }
                MyState::Applying => {
                    Step::InProgress("the target is applying the transactions it received")
                }
            });
        }
        let auth = patroni::auth(&self.ports.params, plan).await?;
        let mode = if failover {
            PgMode::Failover
        } else {
            PgMode::Switchover
        };
        let out = patroni::promote(
            &self.ports.db,
            plan.patroni_members(target)?,
            plan.patroni_members(source)?,
            mode,
            &auth,
        )
        .await?;
        tracing::info!(target = %target, leader = %out.leader, state = ?out.state, ops = ?out.ops, fenced = ?out.fenced, "patroni");
        Ok(Step::Patroni(out.state))
    }

    /// Patroni or MySQL: drive the promotion's next step and say where it stands. `done` once
    /// the target takes writes (and a source that answers as a writer is demoted).
    async fn status_replicated(
        &self,
        plan: &ValidPlan,
        target: &str,
        approved: Option<&PromotionMode>,
    ) -> Result<Status> {
        let failover = matches!(approved, Some(PromotionMode::Failover { .. }));
        let out = self.drive(plan, target, failover).await?;
        Ok(if out.done() {
            Status::Done {
                writer_region: target.to_string(),
                secondaries: Vec::new(),
                capacity: None,
            }
        } else {
            Status::InProgress {
                rds_status: out.status(),
            }
        })
    }

    async fn status(&self, plan: &ValidPlan, target: &str) -> Result<Status> {
        let (view, target_arn) = self.describe(plan, target).await?;
        let writer_region = view
            .writer_arn()
            .and_then(|a| plan.region_of_cluster(a))
            .map(str::to_string);
        if let Some(op) = &view.operation {
            if op.to_cluster_arn.as_deref() == Some(target_arn.as_str())
                && op.status != "cancelling"
            {
                return Ok(Status::InProgress {
                    rds_status: op.status.clone(),
                });
            }
            return Ok(Status::Failed {
                detail: format!(
                    "the global database operation is {} (to {}), not a promotion into {target}",
                    op.status,
                    op.to_cluster_arn.as_deref().unwrap_or("?")
                ),
                writer_region,
            });
        }
        if view.writer_arn() == Some(target_arn.as_str()) {
            let capacity = self.scale(plan, target, DbLevel::Active).await?;
            if capacity.state == CapacityState::Scaling {
                return Ok(Status::Scaling {
                    waiting: capacity.waiting,
                    requested: capacity.requested,
                });
            }
            return Ok(Status::Done {
                writer_region: target.to_string(),
                secondaries: view
                    .members
                    .iter()
                    .filter(|m| !m.is_writer)
                    .cloned()
                    .collect(),
                capacity: capacity.capacity,
            });
        }
        Ok(Status::Failed {
            detail: format!(
                "nothing is moving and the writer is {}: the promotion into {target} was cancelled or never started",
                writer_region.as_deref().unwrap_or("unknown")
            ),
            writer_region,
        })
    }
}

/// The run's decision (core), the same for every provider: the promotion the evidence allows,
/// and never one riskier than the person approved (`ApprovalOutdated`).
fn decide(
    plan: &ValidPlan,
    primary: lifeboat_core::decision::PrimaryEvidence<'_>,
    lag: Option<std::time::Duration>,
    allow_override: bool,
    approved: Option<&PromotionMode>,
) -> Result<PromotionMode> {
    let promotion = choose_promotion(primary, lag, plan.rpo_guard(), allow_override)
        .map_err(|refusal| Error::precondition(refusal.to_string()))?;
    if let Some(why) =
        approved.and_then(|a| lifeboat_core::decision::exceeds_approval(a, &promotion))
    {
        return Err(Error::new(
            lifeboat_core::ErrorKind::ApprovalOutdated,
            format!("nothing was changed: {why}; a person must approve the new mode"),
        ));
    }
    Ok(promotion)
}

/// A Patroni promotion's state in the words the report shows.
/// Where one step of a promotion by Patroni or MySQL left it.
enum Step {
    Patroni(PgState),
    Done,
    InProgress(&'static str),
}

impl Step {
    fn done(&self) -> bool {
        matches!(self, Step::Done | Step::Patroni(PgState::Done))
    }

    fn status(&self) -> String {
        match self {
            Step::Patroni(state) => pg_status(state),
            Step::Done => "done".into(),
            Step::InProgress(s) => (*s).to_string(),
        }
    }
}

fn pg_status(state: &PgState) -> String {
    match state {
        PgState::Done => "done".into(),
        PgState::Demoting => "demoting the source's primary".into(),
        PgState::CatchingUp { behind_bytes } => {
            format!("the target is catching up ({behind_bytes} WAL bytes behind)")
        }
        PgState::Promoting => "promoting the target's standby cluster".into(),
    }
}

#[cfg(test)]
mod tests;
