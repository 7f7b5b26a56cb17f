//! The dry runs' steps: what each step of a machine would do, from core's decisions
//! ([`capacity`], [`traffic`]) and what is there now.

use super::*;

/// The last two actions of every run: record the state and report, then notify.
pub(super) fn record_and_notify(app: &str, target: &str, run_id: &str, topic: &str) -> [String; 2] {
    [
        format!(
            "Record: {} -> active region {target}, epoch + 1; report at {}; release the lock",
            state_parameter(app),
            report_parameter(app, run_id)
        ),
        format!("Notify: the report to {topic}"),
    ]
}

/// A header line, then the actions numbered.
pub(super) fn numbered(header: &str, steps: &[String]) -> String {
    let mut text = format!("{header}\n");
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(text, "  {:>2}. {s}", i + 1);
    }
    text
}

/// What a run does once the database is on its way, in both directions: `target` scaled to
/// active, traffic moved there, then verified.
pub(super) async fn shift_steps(
    sdk: &SdkConfig,
    plan: &ValidPlan,
    target: &str,
) -> Result<Vec<String>> {
    let mut steps = database_capacity_steps(sdk, plan, target, DbLevel::Active).await;
    steps.extend(compute_steps(sdk, plan, target, Level::Active).await);
    steps.extend(traffic_steps(sdk, plan, target).await?);
    steps.extend(verify_steps(plan, target)?);
    Ok(steps)
}

/// The compute changes a run would make in `region`, from what is there now: what dr-scale-up
/// sets (core's [`capacity::after`]), rendered.
pub(super) async fn compute_steps(
    sdk: &SdkConfig,
    plan: &ValidPlan,
    region: &str,
    level: Level,
) -> Vec<String> {
    let Ok(targets) = capacity::targets(plan, region, level) else {
        return vec![];
    };
    let ecs = EcsAdapter::new(sdk);
    let asg = AsgAdapter::new(sdk);
    let mut steps = Vec::new();
    for t in &targets {
        let now = match &t.resource {
            Resource::Ecs { cluster, service } => ecs
                .describe_service(region, cluster, service)
                .await
                .map(|v| {
                    v.map(|v| Capacity {
                        min: None,
                        desired: v.desired,
                    })
                }),
            Resource::Asg { name } => asg.describe_group(region, name).await.map(|g| {
                g.map(|g| Capacity {
                    min: Some(g.min),
                    desired: g.desired,
                })
            }),
            // the cluster's token is for lifeboat's functions; the dry run shows the plan's side
            Resource::Workload(_) => Err(lifeboat_core::Error::precondition(
                "the dry run does not read the cluster",
            )),
        };
        steps.push(compute_line(region, t, level, now));
    }
    steps
}

/// The database capacity changes a run would ask of `region`'s cluster, from what is there now:
/// what db-failover requests (core's [`db_capacity::step`]), rendered. Nothing when the plan sets
/// no database capacity for the region.
pub(super) async fn database_capacity_steps(
    sdk: &SdkConfig,
    plan: &ValidPlan,
    region: &str,
    level: DbLevel,
) -> Vec<String> {
    let (Ok(Some(target)), Ok(arn)) = (
        db_capacity::target(plan, region, level),
        plan.cluster_arn(region),
    ) else {
        return vec![];
    };
    let db = RdsGlobalDatabase::new(sdk, PROBE_TIMEOUT);
    let now = db.describe_capacity(region, arn).await;
    database_capacity_lines(region, &target, now)
}

/// A database capacity step's lines: each change, what is already on its way, what is left alone.
pub(super) fn database_capacity_lines(
    region: &str,
    target: &db_capacity::DbTarget,
    now: Result<lifeboat_core::ports::ClusterCapacityView>,
) -> Vec<String> {
    let what = match target.level {
        DbLevel::Active => "Database capacity (beside the promotion; traffic waits for it)",
        DbLevel::Standby => "Standby database (after verify)",
    };
    let view = match now {
        Ok(view) => view,
        Err(e) => {
            let mut want = Vec::new();
            if let Some(class) = &target.instance_class {
                want.push(format!("instances {class}"));
            }
            if let Some(range) = target.serverless {
                want.push(db_capacity::acu_text(range));
            }
            return vec![format!(
                "{what}: {region} cluster unknown ({e}) -> {}",
                want.join(", ")
            )];
        }
    };
    let step = db_capacity::step(target, &view);
    let mut lines: Vec<String> = step
        .changes
        .iter()
        .map(|c| format!("{what}: {}", c.describe(region)))
        .collect();
    lines.extend(
        step.waiting
            .iter()
            .filter(|w| !w.ends_with("requested"))
            .map(|w| format!("{what}: {region} {w}")),
    );
    lines.extend(
        step.left_alone
            .iter()
            .map(|w| format!("{what}: {region} {w}")),
    );
    if lines.is_empty() {
        lines.push(format!(
            "{what}: {region} cluster already at the plan's level"
        ));
    }
    lines
}

/// One resource's line of a dry run: what it is now, what the step would set
/// (`ECS <region>/<cluster>/<service> desired 1 -> 6`,
/// `Auto Scaling <region>/<group> min 1 desired 1 -> min 4 desired 6`).
pub(super) fn compute_line(
    region: &str,
    target: &capacity::Target,
    level: Level,
    now: Result<Option<Capacity>>,
) -> String {
    let what = match level {
        Level::Active => "Compute (in parallel with the database)",
        Level::Standby => "Standby (after verify)",
        Level::Fenced => "Fence",
    };
    let (name, show): (String, fn(Capacity) -> String) = match &target.resource {
        Resource::Ecs { cluster, service } => {
            (format!("ECS {region}/{cluster}/{service} desired"), |c| {
                c.desired.to_string()
            })
        }
        Resource::Asg { name } => (format!("Auto Scaling {region}/{name}"), |c| {
            format!("min {} desired {}", c.min.unwrap_or(0), c.desired)
        }),
        Resource::Workload(w) => (format!("Kubernetes {region}/{w} replicas"), |c| {
            c.desired.to_string()
        }),
    };
    let want = target.capacity;
    let (now, after) = match now {
        Ok(Some(now)) => (show(now), capacity::after(target, level, now)),
        Ok(None) => ("MISSING".to_string(), want),
        Err(e) => (format!("unknown: {e}"), want),
    };
    let kept = if after == want {
        String::new()
    } else {
        format!(" (kept: above the plan's {})", show(want))
    };
    format!("{what}: {name} {now} -> {}{kept}", show(after))
}

/// The traffic changes a run into `target` would make: what dns-flip sets (core's
/// [`traffic::flip_into`]), rendered, with the records as they read now.
pub(super) async fn traffic_steps(
    sdk: &SdkConfig,
    plan: &ValidPlan,
    target: &str,
) -> Result<Vec<String>> {
    let mut steps = Vec::new();
    match traffic::flip_into(plan, target)? {
        Flip::Records(zones) => {
            let r53 = Route53Adapter::new(sdk);
            for zone in &zones {
                let keys: Vec<(String, String)> = zone
                    .records
                    .iter()
                    .map(|r| (r.name.clone(), r.record_type.clone()))
                    .collect();
                let current = r53.read_records(&zone.zone_id, &keys).await;
                let already = current.as_ref().is_ok_and(|values| {
                    zone.records.iter().zip(values).all(|(want, now)| {
                        now.as_ref()
                            .is_some_and(|now| traffic::same_record(now, want))
                    })
                });
                for (i, r) in zone.records.iter().enumerate() {
                    let now = match &current {
                        Ok(values) => match values.get(i) {
                            Some(Some(v)) => v.values.join(","),
                            _ => "MISSING".into(),
                        },
                        Err(e) => format!("unknown: {e}"),
                    };
                    steps.push(format!(
                        "Traffic: UPSERT {} {} in {}: {now} -> {} (TTL {}), then wait for INSYNC{}",
                        r.name,
                        r.record_type,
                        zone.zone_id,
                        r.values.join(","),
                        r.ttl,
                        if already {
                            " (the zone already reads so: left alone)"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        Flip::HealthChecks(checks) => {
            for s in checks {
                steps.push(format!(
                    "Traffic: health check {} ({}) {}",
                    s.id,
                    s.region,
                    if s.on { "not inverted" } else { "inverted" }
                ));
            }
        }
        Flip::Domains {
            provider,
            token_parameter,
            domains,
        } => {
            // The dry run does not read the provider's token: the flip reads the records first
            // and sends nothing for a set that already reads as planned.
            for d in &domains {
                for r in &d.records {
                    steps.push(format!(
                        "Traffic: set {} {} in {} at {} to {} (TTL {}), a request per value (token from {token_parameter}), then read back",
                        r.name,
                        r.record_type,
                        d.domain,
                        provider.name(),
                        r.values.join(","),
                        r.ttl
                    ));
                }
            }
        }
        Flip::RoutingControls {
            controls,
            endpoints,
        } => {
            let states: Vec<String> = controls
                .iter()
                .map(|s| format!("{}={}", s.id, if s.on { "On" } else { "Off" }))
                .collect();
            let regions: Vec<&str> = endpoints.iter().map(|e| e.region.as_str()).collect();
            steps.push(format!(
                "Traffic: one UpdateRoutingControlStates (ARC data plane, through the first of {} cluster endpoints that answers: {}): {}",
                regions.len(),
                regions.join(", "),
                states.join(", ")
            ));
        }
    }
    Ok(steps)
}

/// What verify checks after traffic moved into `target`.
pub(super) fn verify_steps(plan: &ValidPlan, target: &str) -> Result<Vec<String>> {
    let tp = plan.region(target)?;
    let mut steps = Vec::new();
    for ep in tp.health_endpoints.iter().chain(&tp.public_checks) {
        steps.push(format!(
            "Verify: GET {} expects HTTP {}{}",
            ep.url,
            ep.expect_status,
            ep.expect_body_contains
                .as_deref()
                .map_or(String::new(), |b| format!(" containing '{b}'"))
        ));
    }
    steps.push(format!(
        "Verify: {} is the writer",
        plan.database_label(target)
    ));
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_says_what_the_database_capacity_step_would_ask() {
        let plan = ValidPlan::parse(&lifeboat_core::fakes::plan_with_instance_classes(
            include_str!("../../../../examples/plan.yaml"),
            "db.r6g.2xlarge",
        ))
        .expect("valid");
        let target = db_capacity::target(&plan, "us-west-2", DbLevel::Active)
            .expect("region")
            .expect("planned");
        let view = lifeboat_core::ports::ClusterCapacityView {
            cluster_arn: "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2".into(),
            status: "available".into(),
            serverless: Some(lifeboat_core::plan::AcuRange {
                min_acu: 0.5,
                max_acu: 16.0,
            }),
            instances: vec![lifeboat_core::ports::DbInstanceView {
                id: "usw2-1".into(),
                class: "db.r6g.large".into(),
                status: "available".into(),
                pending_class: None,
            }],
        };
        let lines = database_capacity_lines("us-west-2", &target, Ok(view));
        assert_eq!(
            lines,
            [
                "Database capacity (beside the promotion; traffic waits for it): instance us-west-2/usw2-1 db.r6g.large -> db.r6g.2xlarge",
                "Database capacity (beside the promotion; traffic waits for it): us-west-2 cluster range 0.5-16 ACU -> 8-64 ACU",
            ]
        );
        let unknown = database_capacity_lines(
            "us-west-2",
            &target,
            Err(Error::new(lifeboat_core::ErrorKind::Transient, "timed out")),
        );
        assert_eq!(unknown.len(), 1);
        assert!(
            unknown[0].contains("unknown") && unknown[0].contains("8-64 ACU"),
            "{unknown:?}"
        );
    }

    #[test]
    fn a_dry_run_line_says_what_the_scale_step_would_set() {
        let web = capacity::Target {
            resource: Resource::Ecs {
                cluster: "shop".into(),
                service: "web".into(),
            },
            capacity: Capacity {
                min: None,
                desired: 6,
            },
        };
        let ecs = |desired| Ok(Some(Capacity { min: None, desired }));
        assert_eq!(
            compute_line("us-west-2", &web, Level::Active, ecs(1)),
            "Compute (in parallel with the database): ECS us-west-2/shop/web desired 1 -> 6"
        );
        assert_eq!(
            compute_line("us-west-2", &web, Level::Active, ecs(8)),
            "Compute (in parallel with the database): ECS us-west-2/shop/web desired 8 -> 8 \
             (kept: above the plan's 6)"
        );
        assert_eq!(
            compute_line("us-west-2", &web, Level::Active, Ok(None)),
            "Compute (in parallel with the database): ECS us-west-2/shop/web desired MISSING -> 6"
        );
        let workers = capacity::Target {
            resource: Resource::Asg {
                name: "workers".into(),
            },
            capacity: Capacity {
                min: Some(1),
                desired: 1,
            },
        };
        let now = Ok(Some(Capacity {
            min: Some(4),
            desired: 6,
        }));
        assert_eq!(
            compute_line("us-west-2", &workers, Level::Standby, now),
            "Standby (after verify): Auto Scaling us-west-2/workers min 4 desired 6 -> min 1 desired 1"
        );
    }
}
