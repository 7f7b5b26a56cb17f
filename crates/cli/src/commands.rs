//! The commands. Each returns an [`Output`]: text for people, JSON for scripts, an exit code.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use alarm_to_failover::{Assessed, Outcome};
use aws_config::SdkConfig;
use failback_orchestrator::Outcome as FailbackOutcome;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::compute::{AsgAdapter, EcsAdapter};
use lifeboat_aws::rds::RdsGlobalDatabase;
use lifeboat_aws::route53::{ArcAdapter, Route53Adapter};
use lifeboat_aws::s3::S3Buckets;
use lifeboat_aws::sfn::{SfnExecutions, SfnWorkflow};
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::decision::{Approval, Decision, PromotionMode};
use lifeboat_core::failback::FailbackRefusal;
use lifeboat_core::plan::{Plan, PlanError, TrafficMode, ValidPlan, cluster_id_from_arn};
use lifeboat_core::ports::{
    AutoScalingGroups, EcsServices, GlobalDatabase, ParameterStore, RecordSets,
    ReplicationLagSource, SystemClock,
};
use lifeboat_core::readiness::{Account, Severity, evaluate};
use lifeboat_core::run::{RunState, lock_parameter, state_parameter};
use lifeboat_core::{Error, Result, store};
use run_ledger::{Report, report_parameter};
use serde_json::{Value, json};

use crate::{Exit, Global, Output};

/// How long the primary's database may take to answer before it counts as dark.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

async fn sdk(global: &Global, region: &str) -> Result<SdkConfig> {
    Ok(global.settings()?.load(region).await)
}

async fn load_plan(global: &Global, sdk: &SdkConfig) -> Result<ValidPlan> {
    store::load_plan(&SsmParameterStore::new(sdk), &global.plan_parameter()).await
}

/// `plan validate FILE`.
pub fn plan_validate(file: &Path) -> Result<Output> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        let msg = format!("cannot read {}: {e}", file.display());
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::not_found(msg)
        } else {
            Error::invalid_input(msg)
        }
    })?;
    match Plan::parse(&text).and_then(Plan::validate) {
        Ok(plan) => Ok(Output {
            text: format!(
                "{}: valid plan for app '{}' (primary {}, regions {})",
                file.display(),
                plan.app(),
                plan.primary_region(),
                plan.region_names().join(", ")
            ),
            json: json!({"valid": true, "app": plan.app(), "problems": []}),
            exit: Exit::Ok,
        }),
        Err(PlanError::Invalid(problems)) => {
            let mut text = format!("{}: {} problem(s)\n", file.display(), problems.len());
            for p in &problems {
                let _ = writeln!(text, "  {}: {}", p.field, p.message);
            }
            Ok(Output {
                text,
                json: json!({"valid": false, "problems": problems
                    .iter()
                    .map(|p| json!({"field": p.field, "message": p.message}))
                    .collect::<Vec<_>>()}),
                exit: Exit::Invalid,
            })
        }
        Err(other) => Ok(Output {
            text: format!("{}: {other}", file.display()),
            json: json!({"valid": false, "problems": [{"field": "", "message": other.to_string()}]}),
            exit: Exit::Invalid,
        }),
    }
}

/// `readiness [--to REGION]`.
pub async fn readiness(
    global: &Global,
    to: Option<&str>,
    link_secret_parameter: Option<&str>,
) -> Result<Output> {
    let region = global.region()?;
    let target = to.unwrap_or(&region).to_string();
    let sdk = sdk(global, &target).await?;
    let plan = load_plan(global, &sdk).await?;
    let route53 = Route53Adapter::new(&sdk);
    let account = Account {
        db: &RdsGlobalDatabase::new(&sdk, PROBE_TIMEOUT),
        lag: &CloudWatch::new(&sdk),
        ecs: &EcsAdapter::new(&sdk),
        asg: &AsgAdapter::new(&sdk),
        records: &route53,
        health_checks: &route53,
        routing: &ArcAdapter::new(&sdk),
        topics: &SnsNotifier::new(&sdk),
        params: &SsmParameterStore::new(&sdk),
        buckets: &S3Buckets::new(&sdk),
    };
    let secret = link_secret_parameter
        .map(str::to_string)
        .unwrap_or_else(|| lifeboat_core::params::approval_link_secret(&global.app));
    let now = time::OffsetDateTime::now_utc();
    let report = evaluate(&account, &plan, &target, &[secret], now).await?;
    Ok(Output {
        text: report.text(),
        json: serde_json::to_value(&report).unwrap_or(Value::Null),
        exit: if report.worst() == Severity::Critical {
            Exit::NotReady
        } else {
            Exit::Ok
        },
    })
}

/// `status`.
pub async fn status(global: &Global) -> Result<Output> {
    let home = global.region()?;
    let home_sdk = sdk(global, &home).await?;
    let plan = load_plan(global, &home_sdk).await?;
    let db = RdsGlobalDatabase::new(&home_sdk, PROBE_TIMEOUT);
    let gid = &plan.database().global_cluster_id;

    // The writer, through the first region that answers.
    let mut writer = None;
    let mut db_error = None;
    for region in plan.region_names() {
        match db.describe_global(region, gid).await {
            Ok(view) => {
                writer = lifeboat_core::steps::writer_region(&plan, &view).map(str::to_string);
                db_error = None;
                break;
            }
            Err(e) => db_error = Some(e.to_string()),
        }
    }
    // The standby's lag.
    let standby = match &writer {
        Some(w) => plan.other_region(w).ok().map(str::to_string),
        None => None,
    };
    let mut lag_s = None;
    if let Some(standby) = &standby {
        let arn = &plan.region(standby)?.db_cluster_arn;
        if let Some(id) = cluster_id_from_arn(arn) {
            lag_s = CloudWatch::new(&home_sdk)
                .replication_lag(standby, id)
                .await
                .ok()
                .flatten();
        }
    }

    // Whether a failover with data loss could be judged on it (not older than the guard).
    let lag_usable = lifeboat_core::decision::usable_lag(lag_s, plan.rpo_guard()).is_some();

    // Each region's copy: its recorded state and its lock.
    let mut regions = Vec::new();
    let mut newest: Option<(String, RunState)> = None;
    for region in plan.region_names() {
        let region_sdk = sdk(global, region).await?;
        let params = SsmParameterStore::new(&region_sdk);
        let state = store::read_state(&params, plan.app()).await;
        // A lock is a lease on a running execution: judged, not just read.
        let executions = SfnWorkflow::new(&region_sdk, String::new());
        let lock = store::inspect_lock(
            &params,
            &executions,
            plan.app(),
            time::OffsetDateTime::now_utc(),
        )
        .await;
        if let Ok(Some(s)) = &state
            && newest.as_ref().is_none_or(|(_, n)| s.epoch > n.epoch)
        {
            newest = Some((region.to_string(), s.clone()));
        }
        regions.push(json!({
            "region": region,
            "state": state.as_ref().ok().cloned().flatten(),
            "lock": lock.as_ref().ok().and_then(|l| l.live().cloned()),
            "stale_lock": lock.as_ref().ok().and_then(|l| l.stale().cloned()),
            "error": state.err().or(lock.err()).map(|e| e.to_string()),
        }));
    }
    let active = newest
        .as_ref()
        .map(|(_, s)| s.active_region.clone())
        .unwrap_or_else(|| plan.primary_region().to_string());

    // The last run's report.
    let mut last = Value::Null;
    if let Some((region, state)) = &newest
        && let Some(run) = &state.last_run
    {
        let params = SsmParameterStore::new(&sdk(global, region).await?);
        let name = report_parameter(plan.app(), run.run_id.as_str());
        let report: Option<Report> = params
            .get(&name)
            .await
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str(&t).ok());
        last = json!({
            "run_id": run.run_id,
            "target_region": run.target_region,
            "outcome": run.outcome,
            "started_at": fmt_time(run.started_at),
            "ended_at": run.ended_at.map(fmt_time),
            "rto_seconds": report.as_ref().and_then(|r| r.rto_seconds),
            "rpo_estimate_seconds": report.as_ref().and_then(|r| r.rpo_estimate_seconds),
        });
    }

    let in_progress: Vec<&Value> = regions
        .iter()
        .filter(|r| !r["lock"].is_null())
        .map(|r| &r["lock"])
        .collect();
    let mut text = format!("lifeboat {}\n", plan.app());
    let _ = writeln!(text, "  active region   {active}");
    let _ = writeln!(
        text,
        "  database writer {}",
        writer.as_deref().map_or_else(
            || format!(
                "unknown ({})",
                db_error.as_deref().unwrap_or("no writer member")
            ),
            |w| format!("{w} ({gid})")
        )
    );
    let _ = writeln!(
        text,
        "  replication lag {}",
        match (lag_s, &standby) {
            (Some(l), Some(s)) if !lag_usable => {
                format!(
                    "STALE: {:.1} s measured {:.0} s ago, older than the guard of {} s: counts as unknown ({s})",
                    l.lag.as_secs_f64(),
                    l.age.as_secs_f64(),
                    plan.database().rpo_guard_seconds
                )
            }
            (Some(l), Some(s)) => format!(
                "{:.1} s ({s}; guard {} s)",
                l.lag.as_secs_f64(),
                plan.database().rpo_guard_seconds
            ),
            (None, Some(s)) => format!("no recent datapoint ({s})"),
            _ => "unknown".into(),
        }
    );
    if in_progress.is_empty() {
        let _ = writeln!(text, "  runs            none in progress");
    } else {
        for l in &in_progress {
            let _ = writeln!(
                text,
                "  run in progress {} (into {}, since {})",
                l["run_id"].as_str().unwrap_or("?"),
                l["target_region"].as_str().unwrap_or("?"),
                l["acquired_at"].as_str().unwrap_or("?")
            );
        }
    }
    for r in &regions {
        let stale = &r["stale_lock"];
        if !stale.is_null() {
            let _ = writeln!(
                text,
                "  STALE LOCK      in {}: run {} ({}); nothing runs under it: the next legitimate run takes it over, or delete {}",
                r["region"].as_str().unwrap_or("?"),
                stale["lock"]["run_id"].as_str().unwrap_or("?"),
                stale["why"].as_str().unwrap_or("?"),
                lifeboat_core::run::lock_parameter(plan.app()),
            );
        }
    }
    if last.is_null() {
        let _ = writeln!(text, "  last run        none recorded");
    } else {
        let secs = |v: &Value| v.as_f64().map_or("-".to_string(), |s| format!("{s:.1} s"));
        let _ = writeln!(
            text,
            "  last run        {} into {}: {} (RTO {}, RPO {})",
            last["run_id"].as_str().unwrap_or("?"),
            last["target_region"].as_str().unwrap_or("?"),
            last["outcome"].as_str().unwrap_or("in progress"),
            secs(&last["rto_seconds"]),
            secs(&last["rpo_estimate_seconds"]),
        );
    }
    Ok(Output {
        text,
        json: json!({
            "app": plan.app(),
            "active_region": active,
            "writer_region": writer,
            "replication_lag_seconds": lag_s.map(|l| l.lag.as_secs_f64()),
            "replication_lag_age_seconds": lag_s.map(|l| l.age.as_secs_f64()),
            "replication_lag_usable": lag_usable,
            "standby_region": standby,
            "runs_in_progress": in_progress,
            "regions": regions,
            "last_run": last,
        }),
        exit: Exit::Ok,
    })
}

type FailoverHandler = alarm_to_failover::Handler<
    RdsGlobalDatabase,
    CloudWatch,
    CloudWatch,
    SsmParameterStore,
    SfnWorkflow,
    SnsNotifier,
    SystemClock,
    SsmParameterStore,
    SfnWorkflow,
>;

async fn failover_handler(
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
        plan_parameter: global.plan_parameter(),
        region: to.to_string(),
        state_machine_arn: arn.clone(),
        peer_region,
    };
    let peer_arn = config.peer_state_machine_arn();
    Ok(alarm_to_failover::Handler {
        config,
        ports: alarm_to_failover::Ports {
            db: RdsGlobalDatabase::new(sdk, PROBE_TIMEOUT),
            lag: CloudWatch::new(sdk),
            alarms: CloudWatch::new(sdk),
            params: SsmParameterStore::new(sdk),
            workflow: SfnWorkflow::new(sdk, arn),
            notifier: SnsNotifier::new(sdk),
            clock: SystemClock,
            peer_params: SsmParameterStore::new(&peer),
            peer_workflow: SfnWorkflow::new(&peer, peer_arn),
        },
    })
}

fn operator() -> String {
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
    let json = serde_json::to_value(&outcome).unwrap_or(Value::Null);
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

type FailbackHandler = failback_orchestrator::Handler<
    RdsGlobalDatabase,
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
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: global.plan_parameter(),
                region: from.clone(),
            },
            peer_region,
            state_machine_arn: arn.clone(),
            poll_seconds: 5,
            step_deadline_seconds: 1800,
        },
        ports: failback_orchestrator::Ports {
            db: RdsGlobalDatabase::new(&sdk, PROBE_TIMEOUT),
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
    let json = serde_json::to_value(&outcome).unwrap_or(Value::Null);
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
async fn started(
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

fn refusal_text(head: &str, reasons: &[FailbackRefusal]) -> String {
    let mut text = format!("{head}: {} condition(s) not met\n", reasons.len());
    for r in reasons {
        let _ = writeln!(text, "  - {r}");
    }
    text
}

/// The actions of a failback, in order, from what is there now; changes nothing.
async fn failback_dry_run(
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
            plan.database().global_cluster_id,
            hp.db_cluster_arn
        ),
    ];
    steps.extend(compute_steps(sdk, plan, home, Level::Active).await);
    steps.extend(traffic_steps(sdk, plan, home, from).await?);
    steps.extend(verify_steps(plan, home)?);
    steps.extend(compute_steps(sdk, plan, from, Level::Standby).await);
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

/// Follow an execution until it ends, with a spinner on a terminal.
async fn follow(sdk: &SdkConfig, execution_arn: &str) -> Result<String> {
    let sfn = SfnExecutions::new(sdk);
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = std::time::Instant::now();
    loop {
        let status = sfn.status(execution_arn).await?;
        bar.set_message(format!(
            "run {status} ({:.0} s)",
            started.elapsed().as_secs_f64()
        ));
        if status != "RUNNING" {
            bar.finish_and_clear();
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The actions of a failover, in order, from what is there now; changes nothing.
async fn dry_run_plan(sdk: &SdkConfig, handler: &FailoverHandler, a: &Assessed) -> Result<Output> {
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
    let gid = &plan.database().global_cluster_id;
    steps.push(match promotion {
        PromotionMode::Switchover => format!(
            "Database: switchover of {gid} to {} (planned, RPO 0), then wait until it is the writer",
            tp.db_cluster_arn
        ),
        PromotionMode::Failover { lag, overridden } => format!(
            "Database: failover of {gid} to {} ALLOWING DATA LOSS (lag {}{}), then wait until it is \
             the writer",
            tp.db_cluster_arn,
            lag.map_or("unknown".into(), |l| format!("{:.1} s", l.as_secs_f64())),
            if *overridden {
                ", RPO guard overridden"
            } else {
                ""
            }
        ),
    });
    steps.extend(compute_steps(sdk, plan, target, Level::Active).await);
    steps.extend(traffic_steps(sdk, plan, target, &a.source).await?);
    steps.extend(verify_steps(plan, target)?);
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

/// The last two actions of every run: record the state and report, then notify.
fn record_and_notify(app: &str, target: &str, run_id: &str, topic: &str) -> [String; 2] {
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
fn numbered(header: &str, steps: &[String]) -> String {
    let mut text = format!("{header}\n");
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(text, "  {:>2}. {s}", i + 1);
    }
    text
}

/// Which of the plan's capacities a compute step goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Active,
    Standby,
}

/// The compute changes a run would make in `region`, from what is there now.
async fn compute_steps(
    sdk: &SdkConfig,
    plan: &ValidPlan,
    region: &str,
    level: Level,
) -> Vec<String> {
    let Ok(rp) = plan.region(region) else {
        return vec![];
    };
    let what = match level {
        Level::Active => "Compute (in parallel with the database)",
        Level::Standby => "Standby (after verify)",
    };
    let mut steps = Vec::new();
    let ecs = EcsAdapter::new(sdk);
    for s in &rp.compute.ecs_services {
        let now = match ecs.describe_service(region, &s.cluster, &s.service).await {
            Ok(Some(v)) => v.desired.to_string(),
            Ok(None) => "MISSING".into(),
            Err(e) => format!("unknown: {e}"),
        };
        let to = match level {
            Level::Active => s.active_count,
            Level::Standby => s.standby_count,
        };
        steps.push(format!(
            "{what}: ECS {region}/{}/{} desired {now} -> {to}",
            s.cluster, s.service
        ));
    }
    let asg = AsgAdapter::new(sdk);
    for g in &rp.compute.autoscaling_groups {
        let now = match asg.describe_group(region, &g.name).await {
            Ok(Some(v)) => format!("min {} desired {}", v.min, v.desired),
            Ok(None) => "MISSING".into(),
            Err(e) => format!("unknown: {e}"),
        };
        let to = match level {
            Level::Active => &g.active,
            Level::Standby => &g.standby,
        };
        steps.push(format!(
            "{what}: Auto Scaling {region}/{} {now} -> min {} desired {}",
            g.name, to.min, to.desired
        ));
    }
    steps
}

/// The traffic changes a run into `target`, away from `source`, would make.
async fn traffic_steps(
    sdk: &SdkConfig,
    plan: &ValidPlan,
    target: &str,
    source: &str,
) -> Result<Vec<String>> {
    let tp = plan.region(target)?;
    let mut steps = Vec::new();
    match plan.traffic().mode {
        TrafficMode::RecordUpsert => {
            let r53 = Route53Adapter::new(sdk);
            for zone in &tp.traffic.hosted_zones {
                let keys: Vec<(String, String)> = zone
                    .records
                    .iter()
                    .map(|r| (r.name.clone(), r.record_type.clone()))
                    .collect();
                let current = r53.read_records(&zone.zone_id, &keys).await;
                for (i, r) in zone.records.iter().enumerate() {
                    let now = match &current {
                        Ok(values) => match values.get(i) {
                            Some(Some(v)) => v.values.join(","),
                            _ => "MISSING".into(),
                        },
                        Err(e) => format!("unknown: {e}"),
                    };
                    steps.push(format!(
                        "Traffic: UPSERT {} {} in {}: {now} -> {} (TTL {}), then wait for INSYNC",
                        r.name,
                        r.record_type,
                        zone.zone_id,
                        r.values.join(","),
                        r.ttl
                    ));
                }
            }
        }
        TrafficMode::HealthCheck => {
            let other = plan.region(source)?;
            for id in &tp.traffic.health_check_ids {
                steps.push(format!(
                    "Traffic: health check {id} ({target}) not inverted"
                ));
            }
            for id in &other.traffic.health_check_ids {
                steps.push(format!("Traffic: health check {id} ({}) inverted", source));
            }
        }
        TrafficMode::RoutingControl => {
            let other = plan.region(source)?;
            let on: Vec<String> = tp
                .traffic
                .routing_control_arns
                .iter()
                .map(|arn| format!("{arn}=On"))
                .chain(
                    other
                        .traffic
                        .routing_control_arns
                        .iter()
                        .map(|arn| format!("{arn}=Off")),
                )
                .collect();
            let endpoints: Vec<&str> = plan
                .traffic()
                .arc_cluster_endpoints
                .iter()
                .map(|e| e.region.as_str())
                .collect();
            steps.push(format!(
                "Traffic: one UpdateRoutingControlStates (ARC data plane, through the first of {} cluster endpoints that answers: {}): {}",
                endpoints.len(),
                endpoints.join(", "),
                on.join(", ")
            ));
        }
    }
    Ok(steps)
}

/// What verify checks after traffic moved into `target`.
fn verify_steps(plan: &ValidPlan, target: &str) -> Result<Vec<String>> {
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
    steps.push(format!("Verify: {} is the writer", tp.db_cluster_arn));
    Ok(steps)
}

/// The region a run went into, from its id (`<app>-to-<region>-<window>`).
pub fn run_region(run: &str) -> Option<&str> {
    let (_, rest) = run.rsplit_once("-to-")?;
    let (region, _) = rest.rsplit_once('-')?;
    lifeboat_core::plan::is_region_name(region).then_some(region)
}

/// `report RUN [--html FILE]`.
pub async fn report(global: &Global, run: &str, html: Option<&Path>) -> Result<Output> {
    let run_id = lifeboat_core::run::RunId::parse(run)?;
    // A failover's report is kept by the copy it went into; a failback's (`-back-to-`) by the
    // copy it came home from (--region).
    let region = match run_region(run) {
        Some(r) if !run.contains("-back-to-") => r.to_string(),
        _ => global.region()?,
    };
    let params = SsmParameterStore::new(&sdk(global, &region).await?);
    let name = report_parameter(&global.app, run_id.as_str());
    let text = params.get(&name).await?.ok_or_else(|| {
        Error::not_found(format!(
            "no report at {name} in {region} (has the run ended? is --app right?)"
        ))
    })?;
    let report: Report = serde_json::from_str(&text)
        .map_err(|e| Error::internal(format!("the report at {name} is not readable: {e}")))?;
    let mut out = crate::html::text(&report);
    if let Some(path) = html {
        std::fs::write(path, crate::html::page(&report))
            .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", path.display())))?;
        let _ = writeln!(out, "HTML report: {}", path.display());
    }
    Ok(Output {
        text: out,
        json: serde_json::to_value(&report).unwrap_or(Value::Null),
        exit: Exit::Ok,
    })
}

/// `drill [ARGS]`: the local drill, from a lifeboat checkout (the current directory or
/// `LIFEBOAT_REPO`).
pub fn drill(args: &[String]) -> Result<Exit> {
    let root = std::env::var_os("LIFEBOAT_REPO")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let script = root.join("scripts/drill.py");
    if !script.is_file() {
        return Err(Error::not_found(format!(
            "{} not found: run `lifeboat drill` from a lifeboat checkout (or set LIFEBOAT_REPO); \
             `make drill` sets everything up",
            script.display()
        )));
    }
    let python = root.join(".venv/bin/python");
    let python = if python.is_file() {
        python
    } else {
        std::path::PathBuf::from("python3")
    };
    let status = std::process::Command::new(python)
        .arg(&script)
        .args(args)
        .current_dir(&root)
        .status()
        .map_err(|e| Error::internal(format!("cannot run the drill: {e}")))?;
    Ok(match status.code() {
        Some(0) => Exit::Ok,
        Some(2) => Exit::Invalid,
        _ => Exit::Failed,
    })
}

fn fmt_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_id_names_its_region() {
        assert_eq!(
            run_region("shop-to-us-west-2-1795309200"),
            Some("us-west-2")
        );
        assert_eq!(
            run_region("shop-to-us-west-2-1795309200-resume-1"),
            None,
            "a resumed run's id is not parsed; --region names it"
        );
        assert_eq!(run_region("nonsense"), None);
    }
}
