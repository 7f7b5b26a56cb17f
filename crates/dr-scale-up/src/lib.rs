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
//!   asked for.
//! * `scale_down`: a region back to standby capacity; refused (`PreconditionFailed`) while that
//!   region holds the database writer.
//!
//! Every action is idempotent: a repeat finds the values set and changes nothing.

use futures::stream::{self, StreamExt};
use lifeboat_core::plan::{ComputePlan, ValidPlan};
use lifeboat_core::ports::{AutoScalingGroups, EcsServices, GlobalDatabase, ParameterStore};
use lifeboat_core::steps::{asg_steady, ecs_steady, writer_region};
use lifeboat_core::{Error, Result, store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function's configuration (from its environment, read once at init).
#[derive(Debug, Clone)]
pub struct Config {
    /// SSM parameter holding the plan (`LIFEBOAT_PLAN_PARAMETER`).
    pub plan_parameter: String,
    /// The region this copy runs in (`AWS_REGION`): the default target.
    pub region: String,
    /// How many resources are changed or described at once (`LIFEBOAT_SCALE_CONCURRENCY`,
    /// default 16).
    pub concurrency: usize,
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
        let base = lifeboat_lambda::PlanConfig::from_env(env)?;
        Ok(Self {
            plan_parameter: base.plan_parameter,
            region: base.region,
            concurrency,
        })
    }
}

/// Which of the plan's capacities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Active,
    Standby,
}

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
}

/// One resource's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    /// Auto Scaling groups only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    pub desired: u32,
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
    /// `status`: still scaling.
    Scaling {
        region: String,
        resources: Vec<ResourceStatus>,
    },
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<E, A, D, P> {
    pub ecs: E,
    pub asg: A,
    pub db: D,
    pub params: P,
}

/// The handler: built once at init, called per request.
#[derive(Debug)]
pub struct Handler<E, A, D, P> {
    pub config: Config,
    pub ports: Ports<E, A, D, P>,
}

/// One planned resource and the capacity the level asks for.
#[derive(Debug, Clone)]
enum Target {
    Ecs {
        cluster: String,
        service: String,
        desired: u32,
    },
    Asg {
        name: String,
        min: u32,
        desired: u32,
    },
}

impl Target {
    fn resource(&self) -> String {
        match self {
            Target::Ecs {
                cluster, service, ..
            } => format!("ecs:{cluster}/{service}"),
            Target::Asg { name, .. } => format!("asg:{name}"),
        }
    }
}

fn targets(compute: &ComputePlan, level: Level) -> Vec<Target> {
    let ecs = compute.ecs_services.iter().map(|s| Target::Ecs {
        cluster: s.cluster.clone(),
        service: s.service.clone(),
        desired: match level {
            Level::Active => s.active_count,
            Level::Standby => s.standby_count,
        },
    });
    let asg = compute.autoscaling_groups.iter().map(|g| {
        let c = match level {
            Level::Active => g.active,
            Level::Standby => g.standby,
        };
        Target::Asg {
            name: g.name.clone(),
            min: c.min,
            desired: c.desired,
        }
    });
    ecs.chain(asg).collect()
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

impl<E, A, D, P> Handler<E, A, D, P>
where
    E: EcsServices,
    A: AutoScalingGroups,
    D: GlobalDatabase,
    P: ParameterStore,
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        let request: Request = lifeboat_lambda::parse_event("dr-scale-up request", event)?;
        let plan = store::load_plan(&self.ports.params, &self.config.plan_parameter).await?;
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
                let view = self
                    .ports
                    .db
                    .describe_global(&self.config.region, &plan.database().global_cluster_id)
                    .await?;
                if writer_region(&plan, &view) == Some(region.as_str()) {
                    return Err(Error::precondition(format!(
                        "{region} holds the database writer: it serves the shop and is not \
                         scaled down (fail back first)"
                    )));
                }
                let out = self.scale(&plan, &region, Level::Standby).await;
                tracing::info!(run_id = run_id.as_deref().unwrap_or("-"), region = %region, outcome = ?out, "scale_down");
                out
            }
        }
    }

    fn target(&self, plan: &ValidPlan, requested: Option<String>) -> Result<String> {
        let target = requested.unwrap_or_else(|| self.config.region.clone());
        plan.region(&target)?;
        Ok(target)
    }

    async fn observe(&self, region: &str, target: &Target) -> Result<Option<Observed>> {
        match target {
            Target::Ecs {
                cluster, service, ..
            } => Ok(self
                .ports
                .ecs
                .describe_service(region, cluster, service)
                .await?
                .map(|v| Observed {
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
                })),
            Target::Asg { name, .. } => {
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
        }
    }

    /// Describe every target at once (bounded), in plan order.
    async fn observe_all(
        &self,
        region: &str,
        targets: &[Target],
    ) -> Result<Vec<(Target, Option<Observed>)>> {
        let results: Vec<_> = stream::iter(targets.iter().cloned())
            .map(|t| async move {
                let o = self.observe(region, &t).await;
                (t, o)
            })
            .buffered(self.config.concurrency)
            .collect()
            .await;
        let mut out = Vec::with_capacity(results.len());
        let mut failures = Vec::new();
        for (t, o) in results {
            match o {
                Ok(o) => out.push((t, o)),
                Err(e) => failures.push((t.resource(), e)),
            }
        }
        match combine(failures) {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    async fn scale(&self, plan: &ValidPlan, region: &str, level: Level) -> Result<Response> {
        let targets = targets(&plan.region(region)?.compute, level);
        let observed = self.observe_all(region, &targets).await?;

        let mut missing = Vec::new();
        let mut over_max = Vec::new();
        let mut steps = Vec::new();
        for (target, o) in observed {
            let Some(o) = o else {
                missing.push(format!("{}: does not exist in {region}", target.resource()));
                continue;
            };
            let after = match (&target, level) {
                // Scale-up never lowers what is there already.
                (Target::Ecs { desired, .. }, Level::Active) => Capacity {
                    min: None,
                    desired: (*desired).max(o.now.desired),
                },
                (Target::Ecs { desired, .. }, Level::Standby) => Capacity {
                    min: None,
                    desired: *desired,
                },
                (Target::Asg { min, desired, .. }, Level::Active) => Capacity {
                    min: Some((*min).max(o.now.min.unwrap_or(0))),
                    desired: (*desired).max(o.now.desired),
                },
                (Target::Asg { min, desired, .. }, Level::Standby) => Capacity {
                    min: Some(*min),
                    desired: *desired,
                },
            };
            if let Some(max) = o.max
                && (after.desired > max || after.min.unwrap_or(0) > max)
            {
                over_max.push(format!(
                    "{}: {level:?} capacity (min {}, desired {}) is above the group's max \
                     size {max}; raise the group's max or lower the plan",
                    target.resource(),
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
                let r = match &s.target {
                    Target::Ecs {
                        cluster, service, ..
                    } => {
                        self.ports
                            .ecs
                            .set_desired_count(region, cluster, service, s.after.desired)
                            .await
                    }
                    Target::Asg { name, .. } => {
                        self.ports
                            .asg
                            .set_capacity(region, name, s.after.min.unwrap_or(0), s.after.desired)
                            .await
                    }
                };
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
                    resource: s.target.resource(),
                    before: s.before,
                    after: s.after,
                }),
                Err(e) => failures.push((s.target.resource(), e)),
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
            unchanged: done.iter().map(|s| s.target.resource()).collect(),
        })
    }

    async fn status(&self, plan: &ValidPlan, region: &str, level: Level) -> Result<Response> {
        let targets = targets(&plan.region(region)?.compute, level);
        let observed = self.observe_all(region, &targets).await?;
        let mut resources = Vec::new();
        for (target, o) in observed {
            let o = o.ok_or_else(|| {
                Error::not_found(format!("{}: does not exist in {region}", target.resource()))
            })?;
            let wanted = match target {
                Target::Ecs { desired, .. } | Target::Asg { desired, .. } => desired,
            };
            let at_level = match level {
                Level::Active => o.now.desired >= wanted,
                Level::Standby => o.now.desired == wanted,
            };
            resources.push(ResourceStatus {
                resource: target.resource(),
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

#[cfg(test)]
mod tests;
