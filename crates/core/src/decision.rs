//! Pure decisions. Given a trigger and a readiness snapshot, what should lifeboat do?
//!
//! * ignore (flap, duplicate, run in progress, already active, inside the minimum interval)
//! * refuse (target not ready, database state unknown, lag above the RPO guard or unknown)
//! * start a run, asking a person first or not, as a switchover (RPO 0, the primary answers)
//!   or a failover that may lose the writes not yet replicated (the primary does not answer
//!   and the lag is within the guard, or a person explicitly overrode the guard).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plan::{OnTimeout, ValidPlan};
use crate::run::{LockRecord, RunId};
use crate::trigger::Trigger;

/// What lifeboat knows about the world when deciding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    /// The region whose member cluster is the writer; `None` while no member is the writer.
    pub writer_region: Option<String>,
    /// A switchover/failover already under way on the global cluster (its FailoverState status).
    pub operation_in_progress: Option<String>,
    /// Whether the target region's cluster is `available`.
    pub target_cluster_available: bool,
    /// Whether the primary's database answered (its cluster described as `available` from its own
    /// region within the probe timeout).
    pub primary_reachable: bool,
    /// When it did not: whether its data plane still answers (a connection to the plan's
    /// `db_endpoint` succeeded). `None`: not checked (the API answered, or the plan names no
    /// endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_data_plane: Option<bool>,
    /// Replication lag of the target cluster, if known from a datapoint no older than the RPO
    /// guard ([`usable_lag`]).
    #[serde(with = "opt_secs", default)]
    pub replication_lag: Option<Duration>,
    /// How long ago the newest lag datapoint's period ended (also when it was too old to count).
    #[serde(with = "opt_secs", default, skip_serializing_if = "Option::is_none")]
    pub replication_lag_age: Option<Duration>,
    /// Whether the triggering alarm is still in ALARM when re-read (`None`: not re-read).
    pub alarm_still_firing: Option<bool>,
    /// The other region's run lock could not be read (its region may be dark): why. The run
    /// went ahead without knowing whether the other copy runs; recorded here, shown to the
    /// approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_lock_unread: Option<String>,
}

/// Serialize an optional duration as fractional seconds.
mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    /// Seconds, or an error for what is not a duration (negative, or beyond what a duration
    /// holds): never a panic on input, never a silent "unknown".
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let v: Option<f64> = Option::deserialize(d)?;
        v.map(|s| {
            Duration::try_from_secs_f64(s).map_err(|_| {
                serde::de::Error::custom(format!(
                    "{s} is not a duration in seconds (non-negative and at most {})",
                    u64::MAX
                ))
            })
        })
        .transpose()
    }
}

/// How the database is promoted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PromotionMode {
    /// Planned switchover: replication catches up first, no data loss (RPO 0).
    Switchover,
    /// Unplanned failover: writes not yet replicated may be lost.
    Failover {
        /// Lag when decided: the RPO estimate.
        #[serde(with = "opt_secs", default)]
        lag: Option<Duration>,
        /// A person overrode the RPO guard (absent: not overridden).
        #[serde(default)]
        overridden: bool,
    },
}

/// Whether a person must approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "approval", rename_all = "snake_case")]
pub enum Approval {
    Required {
        timeout_minutes: u32,
        on_timeout: OnTimeout,
        proceed_after_outage_minutes: Option<u32>,
    },
    /// The plan does not require approval.
    NotRequiredByPlan,
    /// An operator asked for this run: a person has decided already.
    RequestedByOperator,
}

impl Approval {
    /// Who decides a run: nobody more when an operator asked for it, else the plan's policy.
    pub fn for_run(plan: &ValidPlan, requested_by_operator: bool) -> Approval {
        let ap = plan.approval();
        if requested_by_operator {
            Approval::RequestedByOperator
        } else if ap.required {
            Approval::Required {
                timeout_minutes: ap.timeout_minutes,
                on_timeout: ap.on_timeout,
                proceed_after_outage_minutes: ap.proceed_after_outage_minutes,
            }
        } else {
            Approval::NotRequiredByPlan
        }
    }
}

/// Why nothing happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum IgnoreReason {
    #[error("the alarm is no longer in ALARM when re-read (flap)")]
    Flap,
    #[error("run {run_id} for this incident already holds the lock (duplicate event)")]
    Duplicate { run_id: RunId },
    #[error("run {run_id} (into {target_region}) is in progress")]
    RunInProgress {
        run_id: RunId,
        target_region: String,
    },
    #[error(
        "run {run_id} (into {target_region}) of the copy in {region} is in progress: the two copies never run at once"
    )]
    OtherCopyRunning {
        run_id: RunId,
        target_region: String,
        region: String,
    },
    #[error("{region} is already the active writer region")]
    AlreadyActive { region: String },
    #[error(
        "a global database operation is already under way ({status}); lifeboat does not interfere"
    )]
    OperationInProgress { status: String },
    #[error("the last run ended at {last_ended}; the plan allows the next run from {next_allowed}")]
    InsideMinimumInterval {
        #[serde(with = "time::serde::rfc3339")]
        last_ended: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        next_allowed: OffsetDateTime,
    },
}

/// Why lifeboat refuses to act (a person should look).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    #[error("the target cluster in {region} is not available")]
    TargetNotReady { region: String },
    #[error(
        "the writer is in {writer_region}, not in the plan's primary region {home}: bringing the shop home is a failback (`lifeboat failback`, with its own guards: rejoined, caught up, healthy long enough, a planned switchover), never an automatic failover; if {writer_region} itself is lost, a person decides (`lifeboat failover --to {home}`)"
    )]
    HomeIsAFailback { writer_region: String, home: String },
    #[error("no member of the global database is the writer right now")]
    WriterUnknown,
    #[error(
        "the primary's RDS API does not answer, but its database endpoint in {region} accepts connections: the primary may still take writes, so an unplanned failover could lose them and split the writer; nothing was changed. A control-plane fault is not an outage: wait, or a person decides (`lifeboat failover --allow-data-loss`)"
    )]
    PrimaryDataPlaneAnswers { region: String },
    #[error(
        "the primary does not answer and replication lag is {lag_seconds:.1}s, above the RPO guard of {guard_seconds}s: an unplanned failover would lose more than the plan allows (override explicitly to proceed)"
    )]
    LagAboveGuard {
        lag_seconds: f64,
        guard_seconds: u64,
    },
    #[error(
        "the primary does not answer and replication lag is unknown: cannot check the RPO guard of {guard_seconds}s (override explicitly to proceed)"
    )]
    LagUnknown { guard_seconds: u64 },
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Ignore {
        why: IgnoreReason,
    },
    Refuse {
        why: Refusal,
    },
    Start {
        promotion: PromotionMode,
        approval: Approval,
        /// This incident's run already held the lock: start (or find) its execution again.
        resumed: bool,
    },
}

/// The cheap part of the decision, from the lock and the last run alone (read before any
/// expensive readiness probe): another run in progress, or too soon after the last one.
/// Returns `Ok(true)` when this incident's own run already holds the lock.
///
/// `lock` is the *live* lock only (a stale one protects nothing, see [`crate::run::lease`]).
/// The minimum interval between runs holds back automatic triggers only: a person can always
/// act (`trigger` manual).
pub fn precheck(
    plan: &ValidPlan,
    trigger: &Trigger,
    run_id: &RunId,
    lock: Option<&LockRecord>,
    last_run_ended: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<bool, IgnoreReason> {
    if let Some(lock) = lock {
        if lock.run_id == *run_id {
            return Ok(true);
        }
        return Err(IgnoreReason::RunInProgress {
            run_id: lock.run_id.clone(),
            target_region: lock.target_region.clone(),
        });
    }
    if let Some(last_ended) = last_run_ended.filter(|_| !trigger.is_manual()) {
        let gap = time::Duration::seconds(i64::from(plan.triggers().min_seconds_between_runs));
        let next_allowed = last_ended + gap;
        if now < next_allowed {
            return Err(IgnoreReason::InsideMinimumInterval {
                last_ended,
                next_allowed,
            });
        }
    }
    Ok(false)
}

/// The lag a failover with data loss may be judged on: the newest datapoint's, only when that
/// datapoint's period ended no longer ago than the RPO guard. An older datapoint says nothing
/// about the data written since: it counts as unknown (a person's override still works).
pub fn usable_lag(sample: Option<crate::ports::LagSample>, guard: Duration) -> Option<Duration> {
    sample.filter(|s| s.age <= guard).map(|s| s.lag)
}

/// What is known of the primary when choosing how to promote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryEvidence<'a> {
    pub region: &'a str,
    /// Its RDS API described its cluster as available.
    pub answers: bool,
    /// Its data plane (a connection to its endpoint) answers; `None`: not known.
    pub data_plane: Option<bool>,
}

impl<'a> PrimaryEvidence<'a> {
    pub fn of(region: &'a str, r: &Readiness) -> Self {
        Self {
            region,
            answers: r.primary_reachable,
            data_plane: r.primary_data_plane,
        }
    }
}

/// Switchover when the primary answers; otherwise failover only within the RPO guard, unless a
/// person overrides. "Does not answer" means its data plane fails too: a primary whose database
/// endpoint still accepts connections is never failed over with data loss automatically.
pub fn choose_promotion(
    primary: PrimaryEvidence<'_>,
    lag: Option<Duration>,
    guard: Duration,
    allow_data_loss_override: bool,
) -> Result<PromotionMode, Refusal> {
    if primary.answers {
        return Ok(PromotionMode::Switchover);
    }
    if primary.data_plane == Some(true) {
        // Only a person may fail over a primary that may still take writes; the record says so.
        return if allow_data_loss_override {
            Ok(PromotionMode::Failover {
                lag,
                overridden: true,
            })
        } else {
            Err(Refusal::PrimaryDataPlaneAnswers {
                region: primary.region.to_string(),
            })
        };
    }
    let guard_seconds = guard.as_secs();
    match lag {
        Some(lag) if lag <= guard => Ok(PromotionMode::Failover {
            lag: Some(lag),
            overridden: false,
        }),
        _ if allow_data_loss_override => Ok(PromotionMode::Failover {
            lag,
            overridden: true,
        }),
        Some(lag) => Err(Refusal::LagAboveGuard {
            lag_seconds: lag.as_secs_f64(),
            guard_seconds,
        }),
        None => Err(Refusal::LagUnknown { guard_seconds }),
    }
}

/// Whether the promotion possible now is riskier than the one a person approved (or the run was
/// decided on): a failover where a switchover was approved, an unknown lag where a lag was
/// shown, or a lag that grew past what was shown by more than [`LAG_TOLERANCE`]. `Some(why)`:
/// the run must not go on silently; it asks again (or stops, reported).
pub fn exceeds_approval(approved: &PromotionMode, now: &PromotionMode) -> Option<String> {
    let secs = |l: Option<Duration>| {
        l.map_or("unknown".to_string(), |l| {
            format!("{:.1} s", l.as_secs_f64())
        })
    };
    match (approved, now) {
        (_, PromotionMode::Switchover) => None,
        (PromotionMode::Switchover, PromotionMode::Failover { lag, .. }) => Some(format!(
            "a switchover (no data loss) was approved, but the primary no longer answers: only a failover with data loss is possible now (lag {})",
            secs(*lag)
        )),
        (
            PromotionMode::Failover { lag: shown, .. },
            PromotionMode::Failover { lag: now_lag, .. },
        ) => match (shown, now_lag) {
            (None, _) => None,
            (Some(_), None) => Some(format!(
                "a failover losing up to {} of writes was approved, but the lag is now unknown",
                secs(*shown)
            )),
            (Some(a), Some(b)) if *b > *a + LAG_TOLERANCE => Some(format!(
                "a failover losing up to {} of writes was approved, but the lag is now {}",
                secs(*shown),
                secs(*now_lag)
            )),
            _ => None,
        },
    }
}

/// How much a lag reading may exceed the approved one before the approval no longer covers it
/// (readings of a dark primary's lag jitter by a datapoint).
pub const LAG_TOLERANCE: Duration = Duration::from_secs(1);

/// Everything the decision looks at.
#[derive(Debug, Clone)]
pub struct DecisionInput<'a> {
    pub plan: &'a ValidPlan,
    pub target_region: &'a str,
    pub trigger: &'a Trigger,
    pub run_id: &'a RunId,
    pub lock: Option<&'a LockRecord>,
    pub last_run_ended: Option<OffsetDateTime>,
    pub readiness: &'a Readiness,
    pub now: OffsetDateTime,
    /// A person explicitly accepts data loss beyond the RPO guard.
    pub allow_data_loss_override: bool,
}

/// The whole decision.
pub fn decide(input: &DecisionInput<'_>) -> Decision {
    let r = input.readiness;
    if r.alarm_still_firing == Some(false) {
        return Decision::Ignore {
            why: IgnoreReason::Flap,
        };
    }
    let resumed = match precheck(
        input.plan,
        input.trigger,
        input.run_id,
        input.lock,
        input.last_run_ended,
        input.now,
    ) {
        Ok(resumed) => resumed,
        Err(why) => return Decision::Ignore { why },
    };
    if let Some(status) = &r.operation_in_progress {
        return Decision::Ignore {
            why: IgnoreReason::OperationInProgress {
                status: status.clone(),
            },
        };
    }
    match r.writer_region.as_deref() {
        Some(w) if w == input.target_region => {
            return Decision::Ignore {
                why: IgnoreReason::AlreadyActive {
                    region: w.to_string(),
                },
            };
        }
        // Only the failback brings the shop home: an automatic trigger in the home region's
        // copy while another region holds the writer is refused (a person may still decide).
        Some(w)
            if input.target_region == input.plan.primary_region() && !input.trigger.is_manual() =>
        {
            return Decision::Refuse {
                why: Refusal::HomeIsAFailback {
                    writer_region: w.to_string(),
                    home: input.target_region.to_string(),
                },
            };
        }
        Some(_) => {}
        None => {
            return Decision::Refuse {
                why: Refusal::WriterUnknown,
            };
        }
    }
    if !r.target_cluster_available {
        return Decision::Refuse {
            why: Refusal::TargetNotReady {
                region: input.target_region.to_string(),
            },
        };
    }
    let promotion = match choose_promotion(
        PrimaryEvidence::of(
            r.writer_region.as_deref().unwrap_or("the primary region"),
            r,
        ),
        r.replication_lag,
        input.plan.rpo_guard(),
        input.allow_data_loss_override,
    ) {
        Ok(p) => p,
        Err(why) => return Decision::Refuse { why },
    };
    // A failover asks a person as the plan says, whoever started it: an operator who starts one
    // (with or without the data-loss override) is one person; the plan's approval is the second.
    let approval = Approval::for_run(input.plan, false);
    Decision::Start {
        promotion,
        approval,
        resumed,
    }
}

#[cfg(test)]
mod tests;
