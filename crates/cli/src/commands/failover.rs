//! `lifeboat failover` (and its dry run).

use super::*;

pub(super) type FailoverHandler = alarm_to_failover::wiring::AwsHandler;

pub(super) async fn failover_handler(
    global: &Global,
    sdk: &SdkConfig,
    to: &str,
    state_machine_arn: Option<&str>,
) -> Result<FailoverHandler> {
    let arn = match state_machine_arn {
        Some(a) => a.to_string(),
        None => {
            SfnExecutions::new(sdk)
                .state_machine_arn(&format!("lifeboat-{}-failover", global.app))
                .await?
        }
    };
    // The other copy's lock is read where reachable (the two copies never run at once).
    let peer_region = load_plan(global, sdk).await?.other_region(to)?.to_string();
    let peer = global.settings()?.load(&peer_region).await;
    let config = alarm_to_failover::Config {
        plan: alarm_to_failover::PlanConfig {
            plan_parameter: global.plan_parameter(),
            region: to.to_string(),
        },
        state_machine_arn: arn.clone(),
        peer_region,
    };
    alarm_to_failover::wiring::over_aws(config, sdk, &peer, PROBE_TIMEOUT)
}

pub(super) fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("{user} (lifeboat CLI)")
}

/// `failover --to REGION [--dry-run]`.
pub async fn failover(
    global: &Global,
    to: &str,
    dry_run: bool,
    allow_data_loss: bool,
    state_machine_arn: Option<&str>,
    wait: bool,
) -> Result<Output> {
    // lifeboat in region R fails over *into* R: everything is read and started through R.
    let sdk = sdk(global, to).await?;
    let handler = failover_handler(global, &sdk, to, state_machine_arn).await?;
    if dry_run {
        let assessed = handler.assess_manual(&operator(), allow_data_loss).await?;
        return dry_run_plan(&sdk, &handler, &assessed).await;
    }
    let outcome = handler.manual(&operator(), allow_data_loss).await?;
    let json = to_json("the outcome", &outcome)?;
    match outcome {
        Outcome::Started {
            run_id,
            execution_arn,
            duplicate,
            ..
        } => {
            started(
                &sdk,
                &format!("failover into {to}"),
                to,
                run_id.as_str(),
                &execution_arn,
                duplicate,
                wait,
                json,
            )
            .await
        }
        Outcome::Refused { message, .. } => Ok(Output {
            text: format!("lifeboat refused the failover into {to}: {message}"),
            json,
            exit: Exit::NotReady,
        }),
        Outcome::Ignored { message, .. } => Ok(Output {
            text: format!("lifeboat did not start a failover into {to}: {message}"),
            json,
            exit: Exit::NotReady,
        }),
    }
}

/// The actions of a failover, in order, from what is there now; changes nothing.
pub(super) async fn dry_run_plan(
    sdk: &SdkConfig,
    handler: &FailoverHandler,
    a: &Assessed,
) -> Result<Output> {
    let plan = &a.plan;
    let target = a.target.as_str();
    let tp = plan.region(target)?;
    let mut steps: Vec<String> = Vec::new();
    let (promotion, approval) = match &a.decision {
        Decision::Start {
            promotion,
            approval,
            ..
        } => (promotion, approval),
        Decision::Refuse { why } => {
            return Ok(Output {
                text: format!(
                    "DRY RUN: lifeboat would refuse a failover into {target}: {why}\nNothing was changed."
                ),
                json: json!({"dry_run": true, "would_start": false, "decision": a.decision, "readiness": a.readiness}),
                exit: Exit::NotReady,
            });
        }
        Decision::Ignore { why } => {
            return Ok(Output {
                text: format!(
                    "DRY RUN: lifeboat would not start a failover into {target}: {why}\nNothing was changed."
                ),
                json: json!({"dry_run": true, "would_start": false, "decision": a.decision, "readiness": a.readiness}),
                exit: Exit::NotReady,
            });
        }
    };
    let app = plan.app();
    steps.push(format!(
        "take the run lock {} for run {}",
        lock_parameter(app),
        a.run_id
    ));
    steps.push(format!(
        "start the state machine {} (execution {})",
        handler.config.state_machine_arn, a.run_id
    ));
    steps.push(
        "Assess: take the readiness snapshot again; go only if the target is available and the \
         promotion is still possible"
            .into(),
    );
    steps.push(match approval {
        Approval::RequestedByOperator => {
            "Approval: none (an operator asked for this failover)".into()
        }
        Approval::NotRequiredByPlan => "Approval: none (the plan does not require one)".into(),
        Approval::Required {
            timeout_minutes, ..
        } => format!("Approval: ask through the topic, wait up to {timeout_minutes} min"),
    });
    let gid = plan.database_name();
    let label = plan.database_label(target);
    steps.push(match promotion {
        PromotionMode::Switchover => format!(
            "Database: switchover of {gid} to {label} (planned, RPO 0), then wait until it is the writer"
        ),
        PromotionMode::Failover { lag, overridden } => format!(
            "Database: failover of {gid} to {} ALLOWING DATA LOSS (lag {}{}), then wait until it is \
             the writer",
            label,
            lag.map_or("unknown".into(), |l| format!("{:.1} s", l.as_secs_f64())),
            if *overridden {
                ", RPO guard overridden"
            } else {
                ""
            }
        ),
    });
    steps.extend(shift_steps(sdk, plan, target).await?);
    steps.extend(record_and_notify(
        app,
        target,
        a.run_id.as_str(),
        &tp.notification_topic_arn,
    ));
    let text = numbered(
        &format!(
            "DRY RUN: failover of '{app}' from {} into {target} (run {}). Nothing was changed.",
            a.source, a.run_id
        ),
        &steps,
    );
    Ok(Output {
        text,
        json: json!({
            "dry_run": true,
            "would_start": true,
            "run_id": a.run_id,
            "source_region": a.source,
            "target_region": target,
            "decision": a.decision,
            "readiness": a.readiness,
            "actions": steps,
        }),
        exit: Exit::Ok,
    })
}
