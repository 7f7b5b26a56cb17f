//! A run's report: what happened, when, and where things stand; its notification subject and
//! its plain text (the e-mail body, and what `lifeboat report` prints). Written by run-ledger.

use serde::{Deserialize, Serialize};

use crate::capacity::CapacityAtShift;
use crate::decision::PromotionMode;
use crate::fence::FenceReport;
use crate::run::{RunKind, RunOutcome, lock_parameter};
use crate::text::bounded;
use crate::timeline::Timeline;

/// The error a state caught (`Catch` with `ResultPath`), as Step Functions shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    /// Absent or null when the failure carried none (a `SendTaskFailure` without a cause).
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

/// Who decided, through which channel, when (from failover-approval's output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decided {
    pub decision: String,
    pub by: String,
    pub via: String,
    pub at: String,
    /// The promotion the person approved.
    #[serde(default)]
    pub promotion: Option<PromotionMode>,
}

/// A run's report: what happened, when, and where things stand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Failover or failback (reports written before failbacks existed are failovers).
    #[serde(default)]
    pub kind: RunKind,
    pub app: String,
    pub run_id: String,
    pub source_region: String,
    pub target_region: String,
    pub outcome: RunOutcome,
    pub trigger: String,
    pub execution_arn: String,
    pub timeline: Timeline,
    /// Trigger to traffic verified in the target (successful runs).
    pub rto_seconds: Option<f64>,
    pub rpo_estimate_seconds: Option<f64>,
    /// The promotion the database step ran: a switchover, or a failover with data loss (and
    /// whether a person overrode the RPO guard for it).
    #[serde(default)]
    pub promotion: Option<PromotionMode>,
    /// Who approved (or rejected), through which channel, when.
    #[serde(default)]
    pub decided: Option<Decided>,
    /// Verify attempts made before the checks passed (or the deadline).
    #[serde(default)]
    pub verify_attempts: Option<u32>,
    /// How the old primary region was fenced (a failover with data loss), action by action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<FenceReport>,
    /// The target region's compute when traffic shifted (a failover that got past promotion ‖
    /// scale-up): full capacity, or the plan's share with scale-up going on to full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_at_shift: Option<CapacityAtShift>,
    /// What the run did with the plan's cache (plans with a cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::cache::CacheReport>,
    pub error: Option<CaughtError>,
    /// Steps begun and not finished: what a failure left half-done.
    pub open_steps: Vec<String>,
    pub active_region: String,
    pub epoch: u64,
    /// Whether the run lock was released (kept after a failure: a person decides).
    pub lock_released: bool,
    /// Where the report is kept.
    pub parameter: String,
}

/// The notification subject (SNS allows 100 characters).
pub fn subject(report: &Report) -> String {
    let what = match report.outcome {
        RunOutcome::Succeeded => match report.rto_seconds {
            Some(rto) => format!("succeeded, RTO {rto:.0} s"),
            None => "succeeded".to_string(),
        },
        RunOutcome::Failed => "FAILED, a person must act".to_string(),
        RunOutcome::Aborted => "aborted, nothing moved".to_string(),
    };
    bounded(
        &format!(
            "lifeboat {}: {} into {} {what}",
            report.app, report.kind, report.target_region
        ),
        100,
    )
}

/// The report as plain text (e-mail body).
pub fn render_text(report: &Report) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} of '{}' from {} into {}: {:?}",
        match report.kind {
            RunKind::Failover => "Failover",
            RunKind::Failback => "Failback",
        },
        report.app,
        report.source_region,
        report.target_region,
        report.outcome
    );
    let _ = writeln!(t, "Run: {}   Trigger: {}", report.run_id, report.trigger);
    let secs = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{s:.1} s"));
    let _ = writeln!(
        t,
        "RTO: {}   RPO estimate: {}",
        secs(report.rto_seconds),
        match (report.rpo_estimate_seconds, &report.promotion) {
            (None, Some(PromotionMode::Failover { .. })) =>
                "UNKNOWN (no replication-lag datapoint)".to_string(),
            (rpo, _) => secs(rpo),
        }
    );
    let _ = writeln!(
        t,
        "Active region: {} (epoch {})",
        report.active_region, report.epoch
    );
    let _ = writeln!(t, "\nSteps:");
    for step in &report.timeline.steps {
        let offset = (step.started_at - report.timeline.triggered_at).as_seconds_f64();
        let dur = step.duration().map_or("not finished".to_string(), |d| {
            format!("{:.1} s", d.as_secs_f64())
        });
        let _ = writeln!(t, "  +{offset:>7.1} s  {:<10} {dur}", step.name);
    }
    if let Some(e) = &report.error {
        let _ = writeln!(
            t,
            "\nError: {}: {}",
            e.error,
            e.cause.as_deref().unwrap_or("(no cause given)")
        );
    }
    if !report.open_steps.is_empty() {
        let _ = writeln!(
            t,
            "Half-done: {} (re-run is safe: every step is idempotent)",
            report.open_steps.join(", ")
        );
    }
    if let Some(f) = &report.fence {
        let _ = writeln!(
            t,
            "Fence of {} (the old primary){}:",
            f.region,
            if f.complete() {
                ""
            } else {
                " - NOT COMPLETE: a person must check the resources marked below"
            }
        );
        for line in f.lines() {
            let _ = writeln!(t, "  - {line}");
        }
    }
    if let Some(p) = &report.promotion {
        let _ = writeln!(
            t,
            "Promotion: {}",
            match p {
                PromotionMode::Switchover => "switchover (no data loss)".to_string(),
                PromotionMode::Failover { lag, overridden } => format!(
                    "failover WITH DATA LOSS (lag at promotion {}){}",
                    lag.map_or("UNKNOWN".to_string(), |l| format!(
                        "{:.1} s",
                        l.as_secs_f64()
                    )),
                    if *overridden {
                        "; the RPO guard was OVERRIDDEN by a person"
                    } else {
                        ""
                    }
                ),
            }
        );
    }
    if let Some(c) = &report.capacity_at_shift {
        let _ = writeln!(t, "Capacity at shift: {}", c.line());
    }
    if let Some(c) = &report.cache {
        let _ = writeln!(t, "Cache: {}", c.line());
    }
    if let Some(d) = &report.decided {
        let _ = writeln!(
            t,
            "Decision: {} by {} via {} at {}",
            d.decision, d.by, d.via, d.at
        );
    }
    if let Some(n) = report.verify_attempts.filter(|n| *n > 1) {
        let _ = writeln!(t, "Verify: {n} attempts");
    }
    if report.outcome == RunOutcome::Aborted {
        match report.kind {
            RunKind::Failover => {
                let _ = writeln!(
                    t,
                    "Nothing moved. A person can start a run at any time: lifeboat failover --to {}.",
                    report.target_region
                );
            }
            // The copy serving the shop brings it home: ask it again there.
            RunKind::Failback => {
                let _ = writeln!(
                    t,
                    "Nothing moved: the shop is still served from {}. A person can ask again once \
                     the cause is fixed: lifeboat failback --region {}.",
                    report.source_region, report.source_region
                );
            }
        }
    }
    if !report.lock_released {
        let _ = writeln!(
            t,
            "The run lock is kept for resumption: something may be half-done and a person decides.\n\
             To resume once the cause is fixed: start the state machine again with this \
             execution's input under a new name (e.g. {}-resume-1); every step is idempotent \
             and what is done stays done. As this execution has ended, the lock is stale: \
             lifeboat status and readiness report it, and the next legitimate run takes it \
             over (with an audit line). To give up instead: delete {}.",
            report.run_id,
            lock_parameter(&report.app)
        );
    }
    let _ = writeln!(t, "\nReport: SSM parameter {}", report.parameter);
    t
}
