//! `lifeboat status`: read (AWS), decide (core's [`status`]), render.

use super::*;

/// `status`.
pub async fn status(global: &Global) -> Result<Output> {
    let home = global.region()?;
    let home_sdk = sdk(global, &home).await?;
    let plan = load_plan(global, &home_sdk).await?;
    let db = lifeboat_aws::rds::databases(&home_sdk, PROBE_TIMEOUT)?;
    let gid = plan.database_name();
    // the database's logins (MySQL) are read where the plan lives: the home region's copy
    let home_params = SsmParameterStore::new(&home_sdk);

    // The writer, through the first region that answers.
    let mut writer = None;
    let mut db_error = None;
    for region in plan.region_names() {
        match lifeboat_core::database::writer_region(&db, &home_params, &plan, region).await {
            Ok(w) => {
                writer = w;
                db_error = None;
                break;
            }
            Err(e) => db_error = Some(e.to_string()),
        }
    }
    // The standby's lag.
    let standby =
        lifeboat_core::status::standby_region(&plan, writer.as_deref()).map(str::to_string);
    let mut lag_s = None;
    if let Some(standby) = &standby {
        let measured = lifeboat_core::database::standby_lag(
            &db,
            &CloudWatch::new(&home_sdk),
            &home_params,
            &plan,
            standby,
            time::OffsetDateTime::now_utc(),
        )
        .await;
        if let Ok((Some(lag), age)) = measured {
            lag_s = Some(lifeboat_core::ports::LagSample {
                lag,
                age: age.unwrap_or_default(),
            });
        }
    }

    // Each region's copy: its recorded state and its lock (a lease on a running execution:
    // judged, not just read).
    let mut copies = Vec::new();
    for region in plan.region_names() {
        let region_sdk = sdk(global, region).await?;
        let params = SsmParameterStore::new(&region_sdk);
        let executions = SfnWorkflow::new(&region_sdk, String::new());
        copies.push(lifeboat_core::status::RegionCopy {
            region: region.to_string(),
            state: store::read_state(&params, plan.app())
                .await
                .map_err(|e| e.to_string()),
            lock: store::inspect_lock(
                &params,
                &executions,
                plan.app(),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| e.to_string()),
        });
    }
    let decided = lifeboat_core::status::decide(&plan, &copies, lag_s);
    let (active, newest, lag_usable) = (
        decided.active_region.clone(),
        decided.newest.clone(),
        decided.lag_usable,
    );
    let regions: Vec<Value> = copies
        .iter()
        .map(|c| {
            json!({
                "region": c.region,
                "state": c.state.as_ref().ok().cloned().flatten(),
                "lock": c.live_lock(),
                "stale_lock": c.stale_lock(),
                "error": c.error(),
            })
        })
        .collect();

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

    let in_progress: Vec<Value> = decided.in_progress.iter().map(|l| json!(l)).collect();
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
