//! `lifeboat failback` (and its dry run).

use super::*;

pub(super) type FailbackHandler = failback_orchestrator::Handler<
    lifeboat_aws::rds::Databases,
    CloudWatch,
    CloudWatch,
    SsmParameterStore,
    SfnWorkflow,
    SystemClock,
    SsmParameterStore,
    SfnWorkflow,
>;

/// `failback [--dry-run]`: bring the shop home from the region serving it (`--region`).
pub async fn failback(
    global: &Global,
    dry_run: bool,
    state_machine_arn: Option<&str>,
    wait: bool,
) -> Result<Output> {
    // The copy that serves the shop after a failover brings it home: read and start through it.
    let from = global.region()?;
    let sdk = sdk(global, &from).await?;
    let arn = match state_machine_arn {
        Some(a) => a.to_string(),
        None => {
            SfnExecutions::new(&sdk)
                .state_machine_arn(&format!("lifeboat-{}-failback", global.app))
                .await?
        }
    };
    let peer_region = load_plan(global, &sdk)
        .await?
        .other_region(&from)?
        .to_string();
    let peer = global.settings()?.load(&peer_region).await;
    let peer_arn = lifeboat_core::plan::arn_in_region(&arn, &from, &peer_region);
    let handler: FailbackHandler = failback_orchestrator::Handler {
        config: failback_orchestrator::Config {
            plan: failback_orchestrator::PlanConfig {
                plan_parameter: global.plan_parameter(),
                region: from.clone(),
            },
            peer_region,
            state_machine_arn: arn.clone(),
            poll_seconds: 5,
            step_deadline_seconds: 1800,
        },
        ports: failback_orchestrator::Ports {
            db: lifeboat_aws::rds::databases(&sdk, PROBE_TIMEOUT)?,
            lag: CloudWatch::new(&sdk),
            health: CloudWatch::new(&sdk),
            params: SsmParameterStore::new(&sdk),
            workflow: SfnWorkflow::new(&sdk, arn.clone()),
            clock: SystemClock,
            peer_params: SsmParameterStore::new(&peer),
            peer_workflow: SfnWorkflow::new(&peer, peer_arn),
        },
    };
    let assessed = handler.assess_request(Some(&operator())).await?;
    if dry_run {
        return failback_dry_run(&sdk, &arn, &assessed).await;
    }
    let outcome = handler.act(assessed).await?;
    let json = to_json("the outcome", &outcome)?;
    match outcome {
        FailbackOutcome::Refused { reasons, .. } => Ok(Output {
            text: refusal_text("lifeboat refused the failback", &reasons),
            json,
            exit: Exit::NotReady,
        }),
        FailbackOutcome::Started {
            run_id,
            execution_arn,
            duplicate,
            request,
        } => {
            started(
                &sdk,
                &format!("failback from {from} home to {}", request.target_region),
                &from,
                run_id.as_str(),
                &execution_arn,
                duplicate,
                wait,
                json,
            )
            .await
        }
    }
}

/// A run was started: say so, and with `--wait` follow it to its end. `region`: the copy that
/// runs it (where its report is kept).
#[allow(clippy::too_many_arguments)]
pub(super) async fn started(
    sdk: &SdkConfig,
    what: &str,
    region: &str,
    run_id: &str,
    execution_arn: &str,
    duplicate: bool,
    wait: bool,
    json: Value,
) -> Result<Output> {
    let mut text = format!(
        "{what} {}: run {run_id}\n  execution {execution_arn}\n",
        if duplicate {
            "already started"
        } else {
            "started"
        }
    );
    let mut exit = Exit::Ok;
    if wait {
        let status = follow(sdk, execution_arn).await?;
        let _ = writeln!(text, "  ended: {status}");
        let _ = writeln!(
            text,
            "  report: lifeboat report {run_id} --region {region} [--html report.html]"
        );
        if status != "SUCCEEDED" {
            exit = Exit::Failed;
        }
    } else {
        let _ = writeln!(
            text,
            "  follow it with: lifeboat status --region {region}; then lifeboat report {run_id} --region {region}"
        );
    }
    Ok(Output { text, json, exit })
}

pub(super) fn refusal_text(head: &str, reasons: &[FailbackRefusal]) -> String {
    let mut text = format!("{head}: {} condition(s) not met\n", reasons.len());
    for r in reasons {
        let _ = writeln!(text, "  - {r}");
    }
    text
}

/// The actions of a failback, in order, from what is there now; changes nothing.
pub(super) async fn failback_dry_run(
    sdk: &SdkConfig,
    state_machine_arn: &str,
    a: &failback_orchestrator::Assessed,
) -> Result<Output> {
    let plan = &a.plan;
    let (from, home) = (a.from_region.as_str(), a.to_region.as_str());
    let go = match &a.decision {
        Err(reasons) => {
            return Ok(Output {
                text: format!(
                    "DRY RUN: {}Nothing was changed.",
                    refusal_text("lifeboat would refuse the failback", reasons)
                ),
                json: json!({"dry_run": true, "would_start": false, "refusals": reasons, "snapshot": a.snapshot}),
                exit: Exit::NotReady,
            });
        }
        Ok(go) => go,
    };
    let app = plan.app();
    let hp = plan.region(home)?;
    let mut steps = vec![
        format!(
            "take the run lock {} for run {}",
            lock_parameter(app),
            a.run_id
        ),
        format!(
            "start the state machine {state_machine_arn} (execution {})",
            a.run_id
        ),
        "Assess: take the failback snapshot again, holding the lock; go only if every condition \
         still holds"
            .to_string(),
        match &go.approval {
            Approval::RequestedByOperator => {
                "Approval: none (an operator asked for this failback)".to_string()
            }
            Approval::NotRequiredByPlan => "Approval: none (the plan does not require one)".into(),
            Approval::Required {
                timeout_minutes, ..
            } => format!(
                "Approval: ask through the topic, wait up to {timeout_minutes} min (a timeout aborts)"
            ),
        },
        format!(
            "Database: switchover of {} to {} (planned, RPO 0; never with data loss), then wait until it is the writer",
            plan.database_name(),
            plan.database_label(home)
        ),
    ];
    steps.extend(shift_steps(sdk, plan, home).await?);
    steps.extend(compute_steps(sdk, plan, from, Level::Standby).await);
    steps.extend(database_capacity_steps(sdk, plan, from, DbLevel::Standby).await);
    steps.extend(record_and_notify(
        app,
        home,
        a.run_id.as_str(),
        &hp.notification_topic_arn,
    ));
    let text = numbered(
        &format!(
            "DRY RUN: failback of '{app}' from {from} home to {home} (run {}). Nothing was changed.",
            a.run_id
        ),
        &steps,
    );
    Ok(Output {
        text,
        json: json!({
            "dry_run": true,
            "would_start": true,
            "run_id": a.run_id,
            "source_region": from,
            "target_region": home,
            "snapshot": a.snapshot,
            "actions": steps,
        }),
        exit: Exit::Ok,
    })
}
