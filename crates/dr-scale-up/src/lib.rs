//! dr-scale-up: bring the target region's compute to the plan's active capacity, report when it
//! has settled, and return a region to standby capacity (failback).
//!
//! * `start`: every ECS service's desired count and every Auto Scaling group's min / desired to
//!   the plan's active capacity, all at once (bounded concurrency). Nothing is lowered: a service
//!   that auto scaling already took above the plan keeps its count. Before changing anything,
//!   every resource is described: a missing one is `NotFound`, an active capacity above a group's
//!   max is `PreconditionFailed` with the reason, and nothing is changed.
//! * `status`: `steady` when every ECS service runs its desired count with its deployment
//!   complete and every group has its desired instances in service, at (at least) the level
//!   asked for; `serving` (the active level, a plan with `traffic.shift_at_capacity_percent`
//!   below 100) when every resource has its desired count set and at least that share of its
//!   active capacity ready ([`lifeboat_core::capacity::can_serve`]): the failover shifts traffic
//!   then, and scale-up goes on to full.
//! * `scale_down`: a region back to standby capacity; refused (`PreconditionFailed`) while that
//!   region holds the database writer.
//! * `fence` (a failover with data loss): the old primary region's compute to the plan's fenced
//!   level (`fencing.compute_count`), as far as it can be reached. Every resource's outcome is
//!   recorded (fenced, already fenced, unreachable, failed); nothing is an error, so a dark
//!   region never blocks the failover.
//! * `guard` (the copy's schedule): the returning home region fences itself when another region
//!   holds the writer ([`lifeboat_core::fence::home_guard`]), notes it in its store and says so
//!   on its topic, once. Under Patroni its database too: a cluster back as a primary of its own
//!   is made a standby cluster of the writer ([`lifeboat_core::database::fence_home`]).
//!
//! Every action is idempotent: a repeat finds the values set and changes nothing.

use std::collections::BTreeMap;

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use lifeboat_core::capacity::{self, Resource, Target};
use lifeboat_core::fence::{
    self, FenceAction, FenceMarker, FenceOutcome, FenceReport, GuardVerdict,
};
use lifeboat_core::kubernetes::steady;
use lifeboat_core::plan::{ClusterAuth, ValidPlan};
use lifeboat_core::ports::{
    AutoScalingGroups, Clock, ClusterAccess, EcsServiceView, EcsServices, EksTokens,
    KubernetesWorkloads, Notifier, ParameterStore, Secret,
};
use lifeboat_core::steps::{asg_steady, ecs_steady};
use lifeboat_core::{Error, ErrorKind, Result, store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function's configuration (from its environment, read once at init).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the plan is (`LIFEBOAT_PLAN_PARAMETER`) and the region this copy runs in
    /// (`AWS_REGION`): the default target.
    pub plan: lifeboat_lambda::PlanConfig,
    /// How many resources are changed or described at once (`LIFEBOAT_SCALE_CONCURRENCY`,
    /// default 16).
    pub concurrency: usize,
    /// The plan's other region (`LIFEBOAT_PEER_REGION`): its copy's run lock is read by `guard`.
    pub peer_region: String,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &lifeboat_lambda::Env<F>) -> Result<Self> {
        let concurrency = match env.optional("LIFEBOAT_SCALE_CONCURRENCY") {
            None => 16,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    Error::invalid_input(format!(
                        "LIFEBOAT_SCALE_CONCURRENCY must be 1..=64, not '{v}'"
                    ))
                })?,
        };
        let plan = lifeboat_lambda::PlanConfig::from_env(env)?;
        let peer_region = env.peer_region(&plan.region)?;
        Ok(Self {
            plan,
            concurrency,
            peer_region,
        })
    }
}

pub use lifeboat_core::capacity::{Capacity, Level};

/// A request, as the state machine (or `cargo lambda invoke`) sends it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Start {
        /// Region to scale up (default: the function's own region).
        #[serde(default)]
        target_region: Option<String>,
        #[serde(default)]
        run_id: Option<String>,
    },
    Status {
        #[serde(default)]
        target_region: Option<String>,
        /// The level to be steady at (default `active`).
        #[serde(default)]
        level: Level,
    },
    ScaleDown {
        /// Region to return to standby capacity (required: no default for a scale-down).
        region: String,
        #[serde(default)]
        run_id: Option<String>,
    },
    /// Take the old primary region's compute out of service (a failover with data loss).
    Fence {
        /// The region to fence (required).
        region: String,
        #[serde(default)]
        run_id: Option<String>,
    },
    /// The copy's schedule: fence this region if it is the home region and another region
    /// holds the writer.
    Guard {},
}

/// A change made (or found made), with the value before, so it can be undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `ecs:<cluster>/<service>` or `asg:<name>`.
    pub resource: String,
    pub before: Capacity,
    pub after: Capacity,
}

/// One resource's state, as `status` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceStatus {
    pub resource: String,
    pub desired: u32,
    /// Running tasks / instances in service.
    pub ready: u32,
    pub steady: bool,
    pub detail: String,
}

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Response {
    /// `start` / `scale_down`: what was changed, and what already was as asked.
    Scaled {
        region: String,
        level: Level,
        changed: Vec<Change>,
        unchanged: Vec<String>,
    },
    /// `status`: every resource has settled at the level.
    Steady {
        region: String,
        resources: Vec<ResourceStatus>,
    },
    /// `status` at the active level, when the plan shifts traffic before full capacity
    /// (`traffic.shift_at_capacity_percent` below 100): every resource has at least that share
    /// of its active capacity ready and its desired count set; scale-up goes on to full.
    Serving {
        region: String,
        /// The plan's share.
        shift_at_capacity_percent: u32,
        resources: Vec<ResourceStatus>,
    },
    /// `status`: still scaling.
    Scaling {
        region: String,
        resources: Vec<ResourceStatus>,
    },
    /// `fence`: what each resource came to.
    Fenced { fence: FenceReport },
    /// `guard`: the verdict, the fence when there was one, and the announcement's message id
    /// when one was made.
    Guarded {
        region: String,
        #[serde(flatten)]
        verdict: GuardVerdict,
        #[serde(skip_serializing_if = "Option::is_none")]
        fence: Option<FenceReport>,
        #[serde(skip_serializing_if = "Option::is_none")]
        announced: Option<String>,
    },
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<Ecs, Asg, Db, Params, PeerParams, Topic, Time, K8s, Eks> {
    pub ecs: Ecs,
    pub asg: Asg,
    /// The Kubernetes clusters' APIs (a plan's `compute.kubernetes`).
    pub k8s: K8s,
    /// EKS's IAM-authenticated tokens, signed with this function's role (a cluster's `eks`).
    pub eks: Eks,
    pub db: Db,
    /// This region's parameter store (the plan, this copy's lock, the fence marker).
    pub params: Params,
    /// The other region's parameter store (its copy's lock), read where reachable.
    pub peer_params: PeerParams,
    pub notifier: Topic,
    pub clock: Time,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<Ecs, Asg, Db, Params, PeerParams, Topic, Time, K8s, Eks> {
    pub config: Config,
    pub ports: Ports<Ecs, Asg, Db, Params, PeerParams, Topic, Time, K8s, Eks>,
}

/// What a described resource is now.
#[derive(Debug, Clone)]
struct Observed {
    now: Capacity,
    max: Option<u32>,
    ready: u32,
    steady: bool,
    detail: String,
}

/// What to do with one resource.
#[derive(Debug, Clone)]
struct Step {
    target: Target,
    before: Capacity,
    after: Capacity,
}

impl<Ecs, Asg, Db, Params, PeerParams, Topic, Time, K8s, Eks>
    Handler<Ecs, Asg, Db, Params, PeerParams, Topic, Time, K8s, Eks>
where
    Ecs: EcsServices,
    Asg: AutoScalingGroups,
    Db: lifeboat_core::ports::AnyDatabase,
    Params: ParameterStore,
    PeerParams: ParameterStore,
    Topic: Notifier,
    Time: Clock,
    K8s: KubernetesWorkloads,
    Eks: EksTokens,
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        let request: Request = lifeboat_lambda::parse_event("dr-scale-up request", event)?;
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        match request {
            Request::Start {
                target_region,
                run_id,
            } => {
                let region = self.target(&plan, target_region)?;
                let out = self.scale(&plan, &region, Level::Active).await;
                tracing::info!(run_id = run_id.as_deref().unwrap_or("-"), region = %region, outcome = ?out, "start");
                out
            }
            Request::Status {
                target_region,
                level,
            } => {
                let region = self.target(&plan, target_region)?;
                self.status(&plan, &region, level).await
            }
            Request::ScaleDown { region, run_id } => {
                plan.region(&region)?;
                let writer = lifeboat_core::database::writer_region(
                    &self.ports.db,
                    &self.ports.params,
                    &plan,
                    &self.config.plan.region,
                )
                .await?;
                if writer.as_deref() == Some(region.as_str()) {
                    return Err(Error::precondition(format!(
                        "{region} holds the database writer: it serves the shop and is not \
                         scaled down (fail back first)"
                    )));
                }
                let out = self.scale(&plan, &region, Level::Standby).await;
                tracing::info!(run_id = run_id.as_deref().unwrap_or("-"), region = %region, outcome = ?out, "scale_down");
                out
            }
            Request::Fence { region, run_id } => {
                plan.region(&region)?;
                let fence = self.fence(&plan, &region).await?;
                tracing::warn!(run_id = run_id.as_deref().unwrap_or("-"), region = %region, actions = ?fence.lines(), "fence");
                Ok(Response::Fenced { fence })
            }
            Request::Guard {} => self.guard(&plan).await,
        }
    }

    /// Every compute resource of `region` to the fenced level, each on its own: a resource that
    /// cannot be reached or changed is recorded and the others go on. Errors only for a region
    /// the plan does not name.
    async fn fence(&self, plan: &ValidPlan, region: &str) -> Result<FenceReport> {
        let targets = capacity::targets(plan, region, Level::Fenced)?;
        let actions: Vec<FenceAction> = stream::iter(targets)
            .map(|t| async move {
                let outcome = self.fence_one(plan, region, &t).await;
                FenceAction {
                    resource: t.resource.id(),
                    outcome,
                }
            })
            .buffered(self.config.concurrency)
            .collect()
            .await;
        Ok(FenceReport {
            region: region.to_string(),
            actions,
        })
    }

    async fn fence_one(&self, plan: &ValidPlan, region: &str, target: &Target) -> FenceOutcome {
        let observed = match self.observe(plan, region, target).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                return FenceOutcome::Failed {
                    detail: format!("does not exist in {region}"),
                };
            }
            Err(e) => return FenceOutcome::of_error(&e),
        };
        let desired = target.capacity.desired;
        if !capacity::above_fence(target, observed.now) {
            return FenceOutcome::AlreadyFenced {
                desired: observed.now.desired,
            };
        }
        let r = self.set(plan, region, target, target.capacity).await;
        match r {
            Ok(()) => FenceOutcome::Fenced {
                before: observed.now.desired,
                after: desired,
            },
            Err(e) => FenceOutcome::of_error(&e),
        }
    }

    /// The returning region's rule, executed: fence, note, announce (once).
    async fn guard(&self, plan: &ValidPlan) -> Result<Response> {
        let region = self.config.plan.region.clone();
        plan.region(&region)?;
        let app = plan.app();
        let marker_name = fence::fence_parameter(app);
        let verdict = fence::observe(
            &self.ports.db,
            &self.ports.params,
            &self.ports.peer_params,
            plan,
            &region,
        )
        .await?;
        let (fence, announced) = match &verdict {
            GuardVerdict::Fence {
                writer_region,
                unread_locks,
            } => {
                let mut report = self.fence(plan, &region).await?;
                // the database too, where the provider leaves that to lifeboat (Patroni)
                if let Some(db) = lifeboat_core::database::fence_home(
                    &self.ports.db,
                    &self.ports.params,
                    plan,
                    &region,
                    writer_region,
                )
                .await
                {
                    report.actions.push(db);
                }
                let noted = self.ports.params.get(&marker_name).await?;
                let announced = if noted.is_none() || report.changed() {
                    let id = self
                        .announce(plan, &region, writer_region, unread_locks, &report)
                        .await?;
                    let marker = FenceMarker {
                        writer_region: writer_region.clone(),
                        fenced_at: self.ports.clock.now(),
                        report: report.clone(),
                    };
                    let text = serde_json::to_string(&marker).map_err(|e| {
                        Error::internal(format!("fence marker does not serialise: {e}"))
                    })?;
                    self.ports.params.put(&marker_name, &text).await?;
                    Some(id)
                } else {
                    None
                };
                tracing::warn!(region = %region, writer = %writer_region, actions = ?report.lines(), announced = announced.is_some(), "guard: fenced");
                (Some(report), announced)
            }
            GuardVerdict::Serving => {
                // Serving again (a failback brought the shop home): the old note goes.
                if self.ports.params.get(&marker_name).await?.is_some() {
                    self.ports.params.delete(&marker_name).await?;
                }
                (None, None)
            }
            other => {
                tracing::info!(region = %region, verdict = ?other, "guard");
                (None, None)
            }
        };
        Ok(Response::Guarded {
            region,
            verdict,
            fence,
            announced,
        })
    }

    async fn announce(
        &self,
        plan: &ValidPlan,
        region: &str,
        writer_region: &str,
        unread_locks: &[String],
        report: &FenceReport,
    ) -> Result<String> {
        let app = plan.app();
        let subject =
            format!("lifeboat {app}: {region} fenced itself ({writer_region} holds the writer)");
        let mut message = format!(
            "{region} is back, and {writer_region} holds the database writer since a failover. \
             Before anything else, lifeboat's copy in {region} took its region out of service \
             so that one region serves writes:\n"
        );
        for line in report.lines() {
            message.push_str(&format!("  - {line}\n"));
        }
        if !report.complete() {
            message.push_str(
                "Not every resource could be fenced: a person must check the ones marked above.\n",
            );
        }
        for l in unread_locks {
            message.push_str(&format!(
                "Could not read a run lock ({l}); fenced anyway (safety first).\n"
            ));
        }
        message.push_str(&format!(
            "This copy starts no failover into {region} while {writer_region} holds the writer. \
             To bring the shop home: `lifeboat failback` (rejoined, caught up, healthy long \
             enough, then a planned switchover).\n"
        ));
        let topic = &plan.region(region)?.notification_topic_arn;
        self.ports.notifier.publish(topic, &subject, &message).await
    }

    fn target(&self, plan: &ValidPlan, requested: Option<String>) -> Result<String> {
        let target = requested.unwrap_or_else(|| self.config.plan.region.clone());
        plan.region(&target)?;
        Ok(target)
    }

    async fn observe(
        &self,
        plan: &ValidPlan,
        region: &str,
        target: &Target,
    ) -> Result<Option<Observed>> {
        match &target.resource {
            Resource::Ecs { cluster, service } => Ok(self
                .ports
                .ecs
                .describe_service(region, cluster, service)
                .await?
                .map(ecs_observed)),
            Resource::Asg { name } => {
                Ok(self
                    .ports
                    .asg
                    .describe_group(region, name)
                    .await?
                    .map(|g| Observed {
                        now: Capacity {
                            min: Some(g.min),
                            desired: g.desired,
                        },
                        max: Some(g.max),
                        ready: g.in_service,
                        steady: asg_steady(&g),
                        detail: format!("{} of {} instances in service", g.in_service, g.instances),
                    }))
            }
            Resource::Workload(w) => {
                let access = self.cluster_access(plan, region).await?;
                match self.ports.k8s.workload(&access, w).await {
                    Ok(v) => Ok(Some(Observed {
                        now: Capacity {
                            min: None,
                            desired: v.replicas,
                        },
                        max: None,
                        ready: v.ready,
                        steady: steady(&v, v.replicas),
                        detail: format!(
                            "{} ready, {} updated, {} available; generation {} observed {}",
                            v.ready, v.updated, v.available, v.generation, v.observed_generation
                        ),
                    })),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// How to reach `region`'s Kubernetes cluster: the plan's API URL and CA certificate (read
    /// from this copy's parameter store now), and a bearer token: the one in its SecureString
    /// (read now: a rotated token is used at once) or, on EKS, one signed now with this
    /// function's role.
    async fn cluster_access(&self, plan: &ValidPlan, region: &str) -> Result<ClusterAccess> {
        let k = plan
            .region(region)?
            .compute
            .kubernetes
            .as_ref()
            .ok_or_else(|| Error::internal(format!("{region} names no Kubernetes cluster")))?;
        let read = |name: &str, what: &str| {
            let name = name.to_string();
            let what = what.to_string();
            async move {
                match self.ports.params.get(&name).await? {
                    Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                    _ => Err(Error::precondition(format!(
                        "the parameter {name} (regions.{region}.compute.kubernetes.{what}) is \
                         missing or empty: nothing was changed in the cluster"
                    ))),
                }
            }
        };
        let token = match k.auth() {
            Some(ClusterAuth::Token { parameter }) => {
                Secret::new(read(parameter, "token_parameter").await?)
            }
            Some(ClusterAuth::Eks { cluster_name }) => {
                self.ports.eks.token(region, cluster_name).await?
            }
            None => {
                return Err(Error::internal(format!(
                    "regions.{region}.compute.kubernetes names no way to authenticate"
                )));
            }
        };
        let ca_pem = match &k.ca_parameter {
            Some(p) => Some(read(p, "ca_parameter").await?),
            None => None,
        };
        Ok(ClusterAccess {
            api_url: k.api_url.clone(),
            token,
            ca_pem,
        })
    }

    /// Set one resource's capacity.
    async fn set(
        &self,
        plan: &ValidPlan,
        region: &str,
        target: &Target,
        to: Capacity,
    ) -> Result<()> {
        match &target.resource {
            Resource::Ecs { cluster, service } => {
                self.ports
                    .ecs
                    .set_desired_count(region, cluster, service, to.desired)
                    .await
            }
            Resource::Asg { name } => {
                self.ports
                    .asg
                    .set_capacity(region, name, to.min.unwrap_or(0), to.desired)
                    .await
            }
            Resource::Workload(w) => {
                let access = self.cluster_access(plan, region).await?;
                self.ports.k8s.scale(&access, w, to.desired).await
            }
        }
    }

    /// Describe every target, in plan order: ECS services ten per `DescribeServices` call (per
    /// cluster), the other resources one by one at once (bounded).
    async fn observe_all(
        &self,
        plan: &ValidPlan,
        region: &str,
        targets: &[Target],
    ) -> Result<Vec<(Target, Option<Observed>)>> {
        let mut clusters: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for t in targets {
            if let Resource::Ecs { cluster, service } = &t.resource {
                clusters.entry(cluster).or_default().push(service.clone());
            }
        }
        let described: BTreeMap<&str, Result<Vec<EcsServiceView>>> =
            join_all(clusters.iter().map(|(cluster, names)| async move {
                (
                    *cluster,
                    self.ports
                        .ecs
                        .describe_services(region, cluster, names)
                        .await,
                )
            }))
            .await
            .into_iter()
            .collect();
        let results: Vec<_> = stream::iter(targets.iter().cloned())
            .map(|t| {
                let described = &described;
                async move {
                    let o = match &t.resource {
                        Resource::Ecs { cluster, service } => {
                            match described.get(cluster.as_str()) {
                                Some(Ok(views)) => Ok(views
                                    .iter()
                                    .find(|v| v.is(service))
                                    .cloned()
                                    .map(ecs_observed)),
                                // the cluster's answer, with its kind, for each of its services
                                Some(Err(e)) => Err(Error::new(e.kind(), e.to_string())),
                                None => Err(Error::internal(format!(
                                    "cluster {cluster} was not described"
                                ))),
                            }
                        }
                        _ => self.observe(plan, region, &t).await,
                    };
                    (t, o)
                }
            })
            .buffered(self.config.concurrency)
            .collect()
            .await;
        let mut out = Vec::with_capacity(results.len());
        let mut failures = Vec::new();
        for (t, o) in results {
            match o {
                Ok(o) => out.push((t, o)),
                Err(e) => failures.push((t.resource.id(), e)),
            }
        }
        match combine(failures) {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    async fn scale(&self, plan: &ValidPlan, region: &str, level: Level) -> Result<Response> {
        let targets = capacity::targets(plan, region, level)?;
        let observed = self.observe_all(plan, region, &targets).await?;

        let mut missing = Vec::new();
        let mut over_max = Vec::new();
        let mut steps = Vec::new();
        for (target, o) in observed {
            let Some(o) = o else {
                missing.push(format!(
                    "{}: does not exist in {region}",
                    target.resource.id()
                ));
                continue;
            };
            let after = capacity::after(&target, level, o.now);
            if let Some(max) = o.max
                && capacity::above_max(after, max)
            {
                over_max.push(format!(
                    "{}: {level:?} capacity (min {}, desired {}) is above the group's max \
                     size {max}; raise the group's max or lower the plan",
                    target.resource.id(),
                    after.min.unwrap_or(0),
                    after.desired,
                ));
            }
            steps.push(Step {
                target,
                before: o.now,
                after,
            });
        }
        if !over_max.is_empty() {
            over_max.extend(missing);
            return Err(Error::precondition(format!(
                "nothing was changed: {}",
                over_max.join("; ")
            )));
        }
        if !missing.is_empty() {
            return Err(Error::not_found(format!(
                "nothing was changed: {}",
                missing.join("; ")
            )));
        }

        let (todo, done): (Vec<Step>, Vec<Step>) =
            steps.into_iter().partition(|s| s.before != s.after);
        let results: Vec<_> = stream::iter(todo)
            .map(|s| async move {
                let r = self.set(plan, region, &s.target, s.after).await;
                (s, r)
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        let mut changed = Vec::new();
        let mut failures = Vec::new();
        for (s, r) in results {
            match r {
                Ok(()) => changed.push(Change {
                    resource: s.target.resource.id(),
                    before: s.before,
                    after: s.after,
                }),
                Err(e) => failures.push((s.target.resource.id(), e)),
            }
        }
        if let Some(e) = combine(failures) {
            let done: Vec<_> = changed.iter().map(|c| c.resource.as_str()).collect();
            return Err(e.context(format!(
                "changed so far: [{}]; the step is safe to repeat",
                done.join(", ")
            )));
        }
        changed.sort_by(|a, b| a.resource.cmp(&b.resource));
        Ok(Response::Scaled {
            region: region.to_string(),
            level,
            changed,
            unchanged: done.iter().map(|s| s.target.resource.id()).collect(),
        })
    }

    async fn status(&self, plan: &ValidPlan, region: &str, level: Level) -> Result<Response> {
        let targets = capacity::targets(plan, region, level)?;
        let observed = self.observe_all(plan, region, &targets).await?;
        let share = plan.traffic().shift_at_capacity_percent;
        let mut resources = Vec::new();
        let mut serving = level == Level::Active && share < capacity::FULL_CAPACITY_PERCENT;
        for (target, o) in observed {
            let o = o.ok_or_else(|| {
                Error::not_found(format!(
                    "{}: does not exist in {region}",
                    target.resource.id()
                ))
            })?;
            let wanted = target.capacity.desired;
            let at_level = capacity::at_level(&target, level, o.now);
            serving &= at_level && capacity::can_serve(&target, o.ready, share);
            resources.push(ResourceStatus {
                resource: target.resource.id(),
                desired: o.now.desired,
                ready: o.ready,
                steady: o.steady && at_level,
                detail: if at_level {
                    o.detail
                } else {
                    format!("desired {} (want {wanted}); {}", o.now.desired, o.detail)
                },
            });
        }
        let region = region.to_string();
        Ok(if resources.iter().all(|r| r.steady) {
            Response::Steady { region, resources }
        } else if serving {
            Response::Serving {
                region,
                shift_at_capacity_percent: share,
                resources,
            }
        } else {
            Response::Scaling { region, resources }
        })
    }
}

/// One error for several failed resources: the kind of the first non-retryable failure (or
/// the first failure when all are retryable), naming every resource.
fn combine(failures: Vec<(String, Error)>) -> Option<Error> {
    let kind = failures
        .iter()
        .map(|(_, e)| e.kind())
        .find(|k| !k.is_retryable())
        .or_else(|| failures.first().map(|(_, e)| e.kind()))?;
    let message = failures
        .iter()
        .map(|(r, e)| format!("{r}: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    Some(Error::new(kind, message))
}

/// What a described service says about the step.
fn ecs_observed(v: EcsServiceView) -> Observed {
    Observed {
        now: Capacity {
            min: None,
            desired: v.desired,
        },
        max: None,
        ready: v.running,
        steady: ecs_steady(&v),
        detail: format!(
            "{} running, {} pending, rollout {}",
            v.running,
            v.pending,
            v.rollout_state.as_deref().unwrap_or("-")
        ),
    }
}

#[cfg(test)]
mod tests;
