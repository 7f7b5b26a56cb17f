//! Failback: may the shop come home now? A pure decision over a snapshot of the world.
//!
//! A failback is a *planned* switchover back to the plan's primary ("home") region, so it must
//! lose nothing and must not start while anything is unsettled. It is refused, with **every**
//! reason named (an operator fixes them all at once, not one per attempt), unless:
//!
//! * the shop is failed over: a member other than home's is the writer;
//! * the old primary has rejoined the global database as a secondary: home's cluster is a
//!   member, not the writer, `available`, and its synchronization is `connected` (not
//!   `pending-resync`, the rebuild after a failover with data loss);
//! * home's replication lag is known and at most `database.failback_max_lag_seconds`;
//! * home's health endpoints have answered OK, without a failure, for at least
//!   `failback.home_healthy_minutes`;
//! * no run holds the lock and no switchover/failover is under way on the global cluster.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::decision::Approval;
use crate::plan::ValidPlan;
use crate::ports::{HealthHistory, ParameterStore, ReplicationLagSource};
use crate::run::LockRecord;

/// Home's member of the global database, as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeMember {
    pub is_writer: bool,
    /// `connected`, `pending-resync`, ... (`None`: not reported).
    pub synchronization_status: Option<String>,
    /// Whether home's cluster is `available` (described from home's region).
    pub cluster_available: bool,
}

/// What lifeboat knows when deciding on a failback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailbackSnapshot {
    /// The region holding the writer now (`None`: no member is the writer).
    pub writer_region: Option<String>,
    /// Home's member (`None`: home's cluster is not a member of the global database).
    pub home_member: Option<HomeMember>,
    /// A switchover/failover under way on the global cluster (its FailoverState status).
    pub operation_in_progress: Option<String>,
    /// Home's replication lag behind the writer, if known.
    pub home_lag: Option<Duration>,
    /// How long home's health endpoints have answered OK without a failure (`None`: failing
    /// now, or no probe history).
    pub home_healthy_for: Option<Duration>,
    /// The run holding the lock while its execution runs, if any.
    pub lock: Option<LockRecord>,
    /// A lock whose execution no longer runs: not a run in progress; reported, and taken over
    /// by the failback when it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_lock: Option<Box<crate::store::StaleLock>>,
    /// The other region's copy holds its run lock for a running execution (read where
    /// reachable): the two copies never run at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_copy_lock: Option<OtherCopyLock>,
    /// The other copy's lock could not be read (its region may be dark): why. Recorded; the
    /// failback is not held back by it (its own guards need the home region up anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_copy_unread: Option<String>,
}

/// A run lock held in the other region's copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherCopyLock {
    pub region: String,
    pub lock: LockRecord,
}

/// Why a failback may not start now. Each names what to wait for or fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FailbackRefusal {
    #[error("{home} is already the writer: there is nothing to fail back")]
    AlreadyHome { home: String },
    #[error("no member of the global database is the writer right now")]
    WriterUnknown,
    #[error(
        "{home}'s cluster is not a member of the global database: add it back as a secondary first"
    )]
    HomeNotAMember { home: String },
    #[error(
        "{home}'s cluster is still being rebuilt as a secondary (synchronization {status}): wait until it is connected"
    )]
    HomeNotSynchronized { home: String, status: String },
    #[error("{home}'s cluster is not available")]
    HomeClusterUnavailable { home: String },
    #[error(
        "{home}'s replication lag is {lag_seconds:.1}s, above the failback threshold of {max_seconds}s"
    )]
    LagAboveThreshold {
        home: String,
        lag_seconds: f64,
        max_seconds: u32,
    },
    #[error(
        "{home}'s replication lag is unknown (no recent datapoint): cannot check the failback threshold of {max_seconds}s"
    )]
    LagUnknown { home: String, max_seconds: u32 },
    #[error(
        "{home}'s health endpoints have been OK for {healthy_minutes:.1} min, fewer than the plan's {required_minutes} min"
    )]
    HomeNotHealthyLongEnough {
        home: String,
        healthy_minutes: f64,
        required_minutes: u32,
    },
    #[error("{home}'s health endpoints are failing now (or have no probe history)")]
    HomeUnhealthy { home: String },
    #[error("run {run_id} (into {target_region}) holds the lock")]
    RunInProgress {
        run_id: String,
        target_region: String,
    },
    #[error(
        "run {run_id} (into {target_region}) of the copy in {region} is in progress: the two copies never run at once"
    )]
    OtherCopyRunning {
        run_id: String,
        target_region: String,
        region: String,
    },
    #[error("a global database operation is under way ({status})")]
    OperationInProgress { status: String },
    #[error(
        "the shop is served from {serving}, not {here}: the copy of lifeboat in {serving} brings it home"
    )]
    NotServingHere { serving: String, here: String },
}

/// A failback lifeboat may start: from where, to where, and who decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailbackGo {
    /// The region serving now.
    pub from_region: String,
    /// Home.
    pub to_region: String,
    pub approval: Approval,
}

/// Decide whether a failback may start. `requested_by_operator`: a person asked (no second
/// approval); otherwise the plan's approval policy applies.
pub fn decide_failback(
    plan: &ValidPlan,
    s: &FailbackSnapshot,
    requested_by_operator: bool,
) -> Result<FailbackGo, Vec<FailbackRefusal>> {
    let home = plan.primary_region().to_string();
    let mut why = Vec::new();

    match s.writer_region.as_deref() {
        None => why.push(FailbackRefusal::WriterUnknown),
        Some(w) if w == home => why.push(FailbackRefusal::AlreadyHome { home: home.clone() }),
        Some(_) => {}
    }
    match &s.home_member {
        None => why.push(FailbackRefusal::HomeNotAMember { home: home.clone() }),
        Some(m) => {
            let status = m.synchronization_status.as_deref().unwrap_or("unknown");
            if !m.is_writer && status != "connected" {
                why.push(FailbackRefusal::HomeNotSynchronized {
                    home: home.clone(),
                    status: status.to_string(),
                });
            }
            if !m.cluster_available {
                why.push(FailbackRefusal::HomeClusterUnavailable { home: home.clone() });
            }
        }
    }
    let max_seconds = plan.database().failback_max_lag_seconds;
    match s.home_lag {
        None => why.push(FailbackRefusal::LagUnknown {
            home: home.clone(),
            max_seconds,
        }),
        Some(lag) if lag > Duration::from_secs(u64::from(max_seconds)) => {
            why.push(FailbackRefusal::LagAboveThreshold {
                home: home.clone(),
                lag_seconds: lag.as_secs_f64(),
                max_seconds,
            });
        }
        Some(_) => {}
    }
    let required_minutes = plan.failback().home_healthy_minutes;
    match s.home_healthy_for {
        None => why.push(FailbackRefusal::HomeUnhealthy { home: home.clone() }),
        Some(d) if d < Duration::from_secs(u64::from(required_minutes) * 60) => {
            why.push(FailbackRefusal::HomeNotHealthyLongEnough {
                home: home.clone(),
                healthy_minutes: d.as_secs_f64() / 60.0,
                required_minutes,
            });
        }
        Some(_) => {}
    }
    if let Some(lock) = &s.lock {
        why.push(FailbackRefusal::RunInProgress {
            run_id: lock.run_id.to_string(),
            target_region: lock.target_region.clone(),
        });
    }
    if let Some(other) = &s.other_copy_lock {
        why.push(FailbackRefusal::OtherCopyRunning {
            run_id: other.lock.run_id.to_string(),
            target_region: other.lock.target_region.clone(),
            region: other.region.clone(),
        });
    }
    if let Some(status) = &s.operation_in_progress {
        why.push(FailbackRefusal::OperationInProgress {
            status: status.clone(),
        });
    }

    if !why.is_empty() {
        return Err(why);
    }
    // Known here (an unknown writer is a refusal above); said again rather than assumed.
    let Some(from_region) = s.writer_region.clone() else {
        return Err(vec![FailbackRefusal::WriterUnknown]);
    };
    Ok(FailbackGo {
        from_region,
        to_region: home,
        approval: Approval::for_run(plan, requested_by_operator),
    })
}

/// One period of the canary's `PrimaryHealthy` metric: its start and its minimum (1: every probe
/// in the period passed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthPoint {
    pub at: time::OffsetDateTime,
    pub minimum: f64,
}

/// How long a region has been healthy, from the canary's periods: from the start of the earliest
/// period of the unbroken healthy run that ends with the latest period, to `now`. `None` when the
/// latest period had a failed probe, or no period started within `stale_after` of `now` (the
/// canary has not looked: nothing is known).
pub fn healthy_run(
    points: &[HealthPoint],
    now: time::OffsetDateTime,
    stale_after: Duration,
) -> Option<Duration> {
    let mut points: Vec<HealthPoint> = points.to_vec();
    points.sort_by_key(|p| p.at);
    let latest = points.last()?;
    let stale = time::Duration::try_from(stale_after).unwrap_or(time::Duration::MAX);
    if latest.minimum < 1.0 || now - latest.at > stale {
        return None;
    }
    let since = points
        .iter()
        .rev()
        .take_while(|p| p.minimum >= 1.0)
        .last()
        .map_or(latest.at, |p| p.at);
    Duration::try_from(now - since).ok()
}

/// Gather what [`decide_failback`] decides on, through `from_region` (the copy that brings the
/// shop home) and home's own endpoints. `own_run`: a run that holds the lock itself (the state
/// machine's Assess) does not count as a run in progress.
#[allow(clippy::too_many_arguments)]
pub async fn snapshot<D, L, H, P, W>(
    db: &D,
    lag: &L,
    health: &H,
    params: &P,
    workflows: &W,
    plan: &ValidPlan,
    from_region: &str,
    own_run: Option<&crate::run::RunId>,
    now: time::OffsetDateTime,
) -> crate::Result<FailbackSnapshot>
where
    D: crate::ports::AnyDatabase,
    L: ReplicationLagSource,
    H: HealthHistory,
    P: ParameterStore,
    W: crate::ports::WorkflowStarter,
{
    let home = plan.primary_region();
    // Which region lifeboat made active (this copy's run state): of two Patroni primaries, the
    // writer is that region's.
    let active = crate::store::read_state(params, plan.app())
        .await?
        .map(|s| s.active_region);
    let db_view =
        crate::database::home_view(db, lag, params, plan, from_region, active.as_deref(), now)
            .await?;
    let required = u64::from(plan.failback().home_healthy_minutes) * 60;
    // Look back a little further than required, so that "long enough" is visible as such.
    let window = Duration::from_secs(required + 600);
    let home_healthy_for = health
        .healthy_for(from_region, plan.app(), home, window)
        .await?;
    let (lock, stale_lock) =
        match crate::store::inspect_lock(params, workflows, plan.app(), now).await? {
            crate::store::LockView::Free => (None, None),
            crate::store::LockView::Live(l) => (Some(l), None),
            crate::store::LockView::Stale(s) => (None, Some(Box::new(s))),
        };
    let lock = lock.filter(|l| Some(&l.run_id) != own_run);
    Ok(FailbackSnapshot {
        writer_region: db_view.writer_region,
        home_member: db_view.home_member,
        operation_in_progress: db_view.operation_in_progress,
        home_lag: db_view.home_lag,
        home_healthy_for,
        lock,
        stale_lock,
        other_copy_lock: None,
        other_copy_unread: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::RunId;

    const PLAN: &str = include_str!("../../../examples/plan.yaml");

    fn plan() -> ValidPlan {
        ValidPlan::parse(PLAN).expect("the example plan is valid")
    }

    /// GIVEN the shop failed over into us-west-2, us-east-1 rejoined, connected, 0.3 s behind,
    /// healthy for 45 min, nothing running.
    fn settled() -> FailbackSnapshot {
        FailbackSnapshot {
            writer_region: Some("us-west-2".into()),
            home_member: Some(HomeMember {
                is_writer: false,
                synchronization_status: Some("connected".into()),
                cluster_available: true,
            }),
            operation_in_progress: None,
            home_lag: Some(Duration::from_millis(300)),
            home_healthy_for: Some(Duration::from_secs(45 * 60)),
            lock: None,
            stale_lock: None,
            other_copy_lock: None,
            other_copy_unread: None,
        }
    }

    fn reasons(r: Result<FailbackGo, Vec<FailbackRefusal>>) -> Vec<String> {
        match r {
            Ok(go) => panic!("expected a refusal, got {go:?}"),
            Err(why) => why
                .iter()
                .map(|w| {
                    serde_json::to_value(w).expect("json")["reason"]
                        .as_str()
                        .expect("reason")
                        .to_string()
                })
                .collect(),
        }
    }

    #[test]
    fn a_settled_shop_may_come_home_with_the_plans_approval() {
        let go = decide_failback(&plan(), &settled(), false).expect("may fail back");
        assert_eq!(go.from_region, "us-west-2");
        assert_eq!(go.to_region, "us-east-1");
        assert!(matches!(
            go.approval,
            Approval::Required {
                timeout_minutes: 15,
                ..
            }
        ));
        let go = decide_failback(&plan(), &settled(), true).expect("may fail back");
        assert_eq!(go.approval, Approval::RequestedByOperator);
    }

    #[test]
    fn each_unmet_condition_is_refused_by_name() {
        type Break = fn(&mut FailbackSnapshot);
        let cases: Vec<(&str, Break)> = vec![
            ("already_home", |s| {
                s.writer_region = Some("us-east-1".into())
            }),
            ("writer_unknown", |s| s.writer_region = None),
            ("home_not_a_member", |s| s.home_member = None),
            ("home_not_synchronized", |s| {
                if let Some(m) = s.home_member.as_mut() {
                    m.synchronization_status = Some("pending-resync".into());
                }
            }),
            ("home_cluster_unavailable", |s| {
                if let Some(m) = s.home_member.as_mut() {
                    m.cluster_available = false;
                }
            }),
            ("lag_above_threshold", |s| {
                s.home_lag = Some(Duration::from_millis(1_500))
            }),
            ("lag_unknown", |s| s.home_lag = None),
            ("home_not_healthy_long_enough", |s| {
                s.home_healthy_for = Some(Duration::from_secs(29 * 60 + 59))
            }),
            ("home_unhealthy", |s| s.home_healthy_for = None),
            ("run_in_progress", |s| {
                s.lock = Some(LockRecord {
                    run_id: RunId::parse("shop-to-us-east-1-1795309200").expect("run id"),
                    target_region: "us-east-1".into(),
                    acquired_at: time::macros::datetime!(2026-11-22 03:00 UTC),
                    execution_arn: None,
                })
            }),
            ("operation_in_progress", |s| {
                s.operation_in_progress = Some("switching-over".into())
            }),
        ];
        for (expected, break_it) in cases {
            let mut s = settled();
            break_it(&mut s);
            assert_eq!(
                reasons(decide_failback(&plan(), &s, true)),
                vec![expected.to_string()],
                "{expected}"
            );
        }
    }

    #[test]
    fn the_healthy_run_starts_after_the_last_failed_probe() {
        use time::macros::datetime;
        let now = datetime!(2026-11-22 04:10:30 UTC);
        let p = |m: u8, minimum: f64| HealthPoint {
            at: datetime!(2026-11-22 04:00 UTC) + time::Duration::minutes(i64::from(m)),
            minimum,
        };
        let stale = Duration::from_secs(180);
        // GIVEN failures until 04:03, healthy periods 04:04..04:10 (given out of order)
        let points = vec![
            p(10, 1.0),
            p(2, 0.0),
            p(3, 0.0),
            p(4, 1.0),
            p(9, 1.0),
            p(5, 1.0),
        ];
        assert_eq!(
            healthy_run(&points, now, stale),
            Some(Duration::from_secs(6 * 60 + 30))
        );
        // GIVEN only healthy periods in the window: healthy since the earliest one
        assert_eq!(
            healthy_run(&[p(1, 1.0), p(10, 1.0)], now, stale),
            Some(Duration::from_secs(9 * 60 + 30))
        );
        // GIVEN the latest period failed, or no period at all, or only old ones: unknown
        assert_eq!(healthy_run(&[p(9, 1.0), p(10, 0.0)], now, stale), None);
        assert_eq!(healthy_run(&[], now, stale), None);
        assert_eq!(healthy_run(&[p(1, 1.0), p(5, 1.0)], now, stale), None);
    }

    #[test]
    fn the_thresholds_are_inclusive_and_every_reason_is_named_at_once() {
        let mut s = settled();
        s.home_lag = Some(Duration::from_secs(1));
        s.home_healthy_for = Some(Duration::from_secs(30 * 60));
        assert!(decide_failback(&plan(), &s, false).is_ok());

        // GIVEN right after a failover with data loss: home resyncing, lag unknown, unhealthy
        let mut s = settled();
        s.home_member = Some(HomeMember {
            is_writer: false,
            synchronization_status: Some("pending-resync".into()),
            cluster_available: true,
        });
        s.home_lag = None;
        s.home_healthy_for = None;
        let why = decide_failback(&plan(), &s, true).expect_err("refused");
        assert_eq!(why.len(), 3, "{why:?}");
        let text: Vec<String> = why.iter().map(ToString::to_string).collect();
        assert!(text[0].contains("pending-resync"), "{text:?}");
        assert!(text[1].contains("threshold of 1s"), "{text:?}");
        assert!(text[2].contains("us-east-1"), "{text:?}");
    }
}
