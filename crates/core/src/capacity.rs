//! Compute capacity: which capacity each of a region's ECS services and Auto Scaling groups gets
//! at a level, and what a scale step sets from what is there now. Executed by dr-scale-up,
//! rendered by the CLI's dry runs; the rule lives here only.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plan::ValidPlan;

/// The plan's default share of active capacity before traffic shifts: full capacity first.
pub const FULL_CAPACITY_PERCENT: u32 = 100;

/// Which of the plan's capacities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The capacity that carries the shop (`active_count`, `active`).
    #[default]
    Active,
    /// The pilot-light capacity of the region that does not serve (`standby_count`, `standby`).
    Standby,
    /// The plan's fenced level (`fencing.compute_count`): a region that must not serve.
    Fenced,
}

/// One resource's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    /// Auto Scaling groups only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    pub desired: u32,
}

/// A compute resource the plan names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Ecs {
        cluster: String,
        service: String,
    },
    Asg {
        name: String,
    },
    /// A deployment or stateful set of the region's Kubernetes cluster.
    Workload(crate::kubernetes::WorkloadRef),
}

impl Resource {
    /// `ecs:<cluster>/<service>`, `asg:<name>` or `k8s:<kind>/<namespace>/<name>`: how reports
    /// and answers name it.
    pub fn id(&self) -> String {
        match self {
            Resource::Ecs { cluster, service } => format!("ecs:{cluster}/{service}"),
            Resource::Asg { name } => format!("asg:{name}"),
            Resource::Workload(w) => format!("k8s:{w}"),
        }
    }
}

/// One planned resource and the capacity the level asks of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub resource: Resource,
    pub capacity: Capacity,
}

/// Every compute resource of `region` with the capacity `level` asks of it: ECS services first,
/// then Auto Scaling groups, then the Kubernetes cluster's deployments and stateful sets, each
/// in the plan's order.
pub fn targets(plan: &ValidPlan, region: &str, level: Level) -> Result<Vec<Target>> {
    let compute = &plan.region(region)?.compute;
    let fenced = plan.fencing().compute_count;
    let ecs = compute.ecs_services.iter().map(|s| Target {
        resource: Resource::Ecs {
            cluster: s.cluster.clone(),
            service: s.service.clone(),
        },
        capacity: Capacity {
            min: None,
            desired: match level {
                Level::Active => s.active_count,
                Level::Standby => s.standby_count,
                Level::Fenced => fenced,
            },
        },
    });
    let asg = compute.autoscaling_groups.iter().map(|g| {
        let c = match level {
            Level::Active => g.active,
            Level::Standby => g.standby,
            Level::Fenced => crate::plan::Capacity {
                min: fenced,
                desired: fenced,
            },
        };
        Target {
            resource: Resource::Asg {
                name: g.name.clone(),
            },
            capacity: Capacity {
                min: Some(c.min),
                desired: c.desired,
            },
        }
    });
    let workloads = compute.kubernetes.iter().flat_map(|k| {
        let of = |kind: crate::kubernetes::WorkloadKind, list: &[crate::plan::WorkloadPlan]| {
            list.iter()
                .map(|w| Target {
                    resource: Resource::Workload(crate::kubernetes::WorkloadRef {
                        kind,
                        namespace: w.namespace.clone(),
                        name: w.name.clone(),
                    }),
                    capacity: Capacity {
                        min: None,
                        desired: match level {
                            Level::Active => w.active_replicas,
                            Level::Standby => w.standby_replicas,
                            Level::Fenced => fenced,
                        },
                    },
                })
                .collect::<Vec<_>>()
        };
        let mut all = of(crate::kubernetes::WorkloadKind::Deployment, &k.deployments);
        all.extend(of(
            crate::kubernetes::WorkloadKind::StatefulSet,
            &k.statefulsets,
        ));
        all
    });
    Ok(ecs.chain(asg).chain(workloads).collect())
}

/// What a scale step sets, from what is there `now`. Scale-up never lowers what is there (a
/// service that auto scaling already took above the plan keeps its count); standby and fenced
/// set the plan's values exactly.
pub fn after(target: &Target, level: Level, now: Capacity) -> Capacity {
    let want = target.capacity;
    match level {
        Level::Active => Capacity {
            min: want.min.map(|m| m.max(now.min.unwrap_or(0))),
            desired: want.desired.max(now.desired),
        },
        Level::Standby | Level::Fenced => want,
    }
}

/// Whether `now` is at `level` for `target`: at least the active count, exactly the standby or
/// fenced count.
pub fn at_level(target: &Target, level: Level, now: Capacity) -> bool {
    match level {
        Level::Active => now.desired >= target.capacity.desired,
        Level::Standby | Level::Fenced => now.desired == target.capacity.desired,
    }
}

/// How many of `active` tasks or instances must run before traffic may shift at `percent` of
/// active capacity: `ceil(active × percent / 100)`, and at least one when any are planned (a
/// region with none of a service running cannot serve it, whatever the share).
pub fn serving_floor(active: u32, percent: u32) -> u32 {
    let floor = (u64::from(active) * u64::from(percent.min(FULL_CAPACITY_PERCENT))).div_ceil(100);
    // floor <= active, so it fits in u32.
    u32::try_from(floor)
        .unwrap_or(active)
        .max(u32::from(active > 0))
}

/// Whether a resource scaling up to `target`'s active capacity can take its share of traffic:
/// `ready` (running tasks, instances in service) at least [`serving_floor`] of the plan's active
/// count. At 100 % this is every planned task or instance.
pub fn can_serve(target: &Target, ready: u32, percent: u32) -> bool {
    ready >= serving_floor(target.capacity.desired, percent)
}

/// One resource as the compute step saw it when traffic shifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceCapacity {
    /// `ecs:<cluster>/<service>` or `asg:<name>`.
    pub resource: String,
    /// The desired count set (at least the plan's active count).
    pub desired: u32,
    /// Running tasks / instances in service.
    pub ready: u32,
}

/// The target region's compute when traffic shifted: what the report shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityAtShift {
    /// The plan's `traffic.shift_at_capacity_percent`.
    pub planned_percent: u32,
    /// Tasks and instances running / in service, over all resources.
    pub ready: u32,
    /// Their desired counts, over all resources.
    pub desired: u32,
    pub resources: Vec<ResourceCapacity>,
}

impl CapacityAtShift {
    pub fn new(planned_percent: u32, resources: Vec<ResourceCapacity>) -> Self {
        Self {
            planned_percent,
            ready: resources.iter().map(|r| r.ready).sum(),
            desired: resources.iter().map(|r| r.desired).sum(),
            resources,
        }
    }

    /// Whether every resource had its desired count when traffic shifted.
    pub fn full(&self) -> bool {
        self.resources.iter().all(|r| r.ready >= r.desired)
    }

    /// The share of the desired tasks and instances that were ready, in whole percent (100 for
    /// a region with nothing planned).
    pub fn percent(&self) -> u32 {
        if self.desired == 0 {
            return FULL_CAPACITY_PERCENT;
        }
        let p = u64::from(self.ready.min(self.desired)) * 100 / u64::from(self.desired);
        // p <= 100
        u32::try_from(p).unwrap_or(FULL_CAPACITY_PERCENT)
    }

    /// One line for the report: `7 of 13 tasks and instances (53 %; the plan shifts at 50 %);
    /// scale-up goes on to full capacity`.
    pub fn line(&self) -> String {
        let plan = if self.planned_percent >= FULL_CAPACITY_PERCENT {
            "the plan shifts at full capacity".to_string()
        } else {
            format!("the plan shifts at {} %", self.planned_percent)
        };
        let tail = if self.full() {
            String::new()
        } else {
            let short: Vec<String> = self
                .resources
                .iter()
                .filter(|r| r.ready < r.desired)
                .map(|r| format!("{} {} of {}", r.resource, r.ready, r.desired))
                .collect();
            format!(
                "; scale-up went on to full capacity after the shift ({})",
                short.join(", ")
            )
        };
        format!(
            "{} of {} tasks and instances ready ({} %; {plan}){tail}",
            self.ready,
            self.desired,
            self.percent()
        )
    }
}

/// Whether fencing has anything to lower: the resource runs above the fenced level (its desired
/// count, or a group's minimum). A fence never raises anything.
pub fn above_fence(target: &Target, now: Capacity) -> bool {
    now.desired > target.capacity.desired
        || now
            .min
            .zip(target.capacity.min)
            .is_some_and(|(now, want)| now > want)
}

/// Whether `capacity` exceeds a group's maximum size (Auto Scaling refuses it).
pub fn above_max(capacity: Capacity, max: u32) -> bool {
    capacity.desired > max || capacity.min.unwrap_or(0) > max
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = include_str!("../../../examples/plan.yaml");

    fn plan() -> ValidPlan {
        ValidPlan::parse(PLAN).expect("the example plan is valid")
    }

    fn ecs(desired: u32) -> Capacity {
        Capacity { min: None, desired }
    }

    fn asg(min: u32, desired: u32) -> Capacity {
        Capacity {
            min: Some(min),
            desired,
        }
    }

    #[test]
    fn each_level_takes_its_capacity_from_the_plan() {
        let p = plan();
        let active = targets(&p, "us-west-2", Level::Active).expect("region");
        let standby = targets(&p, "us-west-2", Level::Standby).expect("region");
        let fenced = targets(&p, "us-west-2", Level::Fenced).expect("region");
        let compute = &p.region("us-west-2").expect("region").compute;
        assert_eq!(
            active.len(),
            compute.ecs_services.len() + compute.autoscaling_groups.len()
        );
        assert_eq!(
            active[0].resource.id(),
            format!(
                "ecs:{}/{}",
                compute.ecs_services[0].cluster, compute.ecs_services[0].service
            )
        );
        assert_eq!(
            active[0].capacity,
            ecs(compute.ecs_services[0].active_count)
        );
        assert_eq!(
            standby[0].capacity,
            ecs(compute.ecs_services[0].standby_count)
        );
        let g = &compute.autoscaling_groups[0];
        let last = active.len() - 1;
        assert_eq!(active[last].capacity, asg(g.active.min, g.active.desired));
        assert_eq!(
            standby[last].capacity,
            asg(g.standby.min, g.standby.desired)
        );
        let f = p.fencing().compute_count;
        assert!(fenced.iter().all(|t| t.capacity.desired == f));
        assert!(targets(&p, "eu-west-1", Level::Active).is_err());
    }

    #[test]
    fn scale_up_never_lowers_and_standby_sets_exactly() {
        let t = Target {
            resource: Resource::Asg { name: "g".into() },
            capacity: asg(4, 6),
        };
        assert_eq!(after(&t, Level::Active, asg(1, 1)), asg(4, 6));
        assert_eq!(after(&t, Level::Active, asg(5, 9)), asg(5, 9));
        assert_eq!(after(&t, Level::Standby, asg(5, 9)), asg(4, 6));
        let e = Target {
            resource: Resource::Ecs {
                cluster: "c".into(),
                service: "s".into(),
            },
            capacity: ecs(6),
        };
        assert_eq!(after(&e, Level::Active, ecs(8)), ecs(8));
        assert!(at_level(&e, Level::Active, ecs(8)));
        assert!(!at_level(&e, Level::Standby, ecs(8)));
        assert!(at_level(&e, Level::Standby, ecs(6)));
    }

    #[test]
    fn a_fence_only_lowers() {
        let t = Target {
            resource: Resource::Asg { name: "g".into() },
            capacity: asg(0, 0),
        };
        assert!(above_fence(&t, asg(0, 1)));
        assert!(above_fence(&t, asg(1, 0)));
        assert!(!above_fence(&t, asg(0, 0)));
        assert!(above_max(asg(0, 7), 6));
        assert!(above_max(asg(7, 0), 6));
        assert!(!above_max(asg(6, 6), 6));
        assert!(!above_max(ecs(6), 6));
    }

    #[test]
    fn a_region_can_serve_at_its_share_of_every_resource_and_never_with_none_running() {
        assert_eq!(serving_floor(6, 100), 6);
        assert_eq!(serving_floor(6, 50), 3);
        assert_eq!(serving_floor(7, 50), 4, "rounded up: half of 7 is 4 tasks");
        assert_eq!(
            serving_floor(4, 1),
            1,
            "a share of a service is at least one task"
        );
        assert_eq!(serving_floor(0, 50), 0, "nothing planned, nothing needed");
        assert_eq!(serving_floor(u32::MAX, 100), u32::MAX);
        assert_eq!(
            serving_floor(10, 250),
            10,
            "never more than the active count"
        );
        let t = Target {
            resource: Resource::Ecs {
                cluster: "c".into(),
                service: "s".into(),
            },
            capacity: ecs(6),
        };
        assert!(!can_serve(&t, 2, 50));
        assert!(can_serve(&t, 3, 50));
        assert!(!can_serve(&t, 5, FULL_CAPACITY_PERCENT));
        assert!(can_serve(&t, 6, FULL_CAPACITY_PERCENT));
    }

    #[test]
    fn the_capacity_at_shift_says_what_was_ready_and_what_was_still_coming() {
        let r = |resource: &str, desired, ready| ResourceCapacity {
            resource: resource.into(),
            desired,
            ready,
        };
        let early = CapacityAtShift::new(50, vec![r("ecs:shop/web", 6, 3), r("asg:w", 6, 6)]);
        assert_eq!((early.ready, early.desired, early.percent()), (9, 12, 75));
        assert!(!early.full());
        assert_eq!(
            early.line(),
            "9 of 12 tasks and instances ready (75 %; the plan shifts at 50 %); scale-up went on \
             to full capacity after the shift (ecs:shop/web 3 of 6)"
        );
        let full = CapacityAtShift::new(100, vec![r("ecs:shop/web", 6, 6)]);
        assert!(full.full());
        assert_eq!(
            full.line(),
            "6 of 6 tasks and instances ready (100 %; the plan shifts at full capacity)"
        );
        assert_eq!(CapacityAtShift::new(100, vec![]).percent(), 100);
    }
}
