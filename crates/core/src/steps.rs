//! Pure helpers shared by the failover steps (scale-up, traffic, verify).

use crate::decision::Readiness;
use crate::error::Result;
use crate::plan::{HealthEndpoint, ValidPlan};
use crate::ports::{
    AlarmReader, AsgView, EcsServiceView, GlobalClusterView, GlobalDatabase, HttpObservation,
    RecordValue, ReplicationLagSource,
};
use crate::trigger::{AlarmState, Trigger};

/// How a workflow paces its polling, handed to it by its Assess step (one rule for the failover
/// and the failback machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pacing {
    /// Seconds between two status polls of a step.
    pub poll_seconds: u32,
    /// Polls of one step before its deadline, all at `poll_seconds` (the failback machine).
    pub max_polls: u32,
    /// Seconds between two verify attempts.
    pub verify_interval_seconds: u32,
    /// Verify attempts before the run fails: the plan's verify deadline, covered.
    pub verify_max_attempts: u32,
    /// The failover machine's phases, each polled every `poll_seconds` until shortly before its
    /// expected end at published durations, then faster: the last poll interval of a phase on
    /// the critical path costs about half a fast interval instead of half a poll interval.
    pub database: PhasePacing,
    pub compute: PhasePacing,
    pub traffic: PhasePacing,
}

/// One phase's polling: `fast_after_polls` polls `poll_seconds` apart, then every
/// `fast_poll_seconds`; the deadline after `max_polls` polls (the step deadline, in time, as
/// before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhasePacing {
    /// When the phase is expected to end at published durations (seconds from its start).
    pub expected_seconds: u32,
    pub fast_after_polls: u32,
    pub fast_poll_seconds: u32,
    pub max_polls: u32,
}

/// Published durations the polls are paced by. They steer how often a status is asked, never
/// what it is judged to be.
pub mod published {
    /// An Aurora Global Database failover (detach and promote, managed): typically a minute.
    pub const AURORA_FAILOVER_SECONDS: u32 = 60;
    /// A managed switchover (replication caught up first): a minute or two.
    pub const AURORA_SWITCHOVER_SECONDS: u32 = 90;
    /// New ECS tasks pulled, started and running.
    pub const ECS_TASK_START_SECONDS: u32 = 60;
    /// New EC2 instances launched, booted and in service.
    pub const EC2_INSTANCE_START_SECONDS: u32 = 120;
    /// A Route 53 change `INSYNC` on every authoritative server: within 60 seconds.
    pub const ROUTE53_INSYNC_SECONDS: u32 = 60;
}

/// The fast interval near a phase's end (never longer than the poll interval).
pub const FAST_POLL_SECONDS: u32 = 1;
/// Route 53 answers five requests a second per account: a traffic status asks `GetChange` once
/// per hosted zone, so its fast polls keep within two requests a second, leaving the rest to
/// everything else the account does.
pub const ROUTE53_POLL_BUDGET_PER_SECOND: u32 = 2;

/// The pacing for `plan` with the functions' poll interval and step deadline, for a run into
/// `target_region` (`switchover`: a planned promotion).
pub fn pacing(
    plan: &ValidPlan,
    target_region: &str,
    switchover: bool,
    poll_seconds: u32,
    step_deadline_seconds: u32,
) -> Pacing {
    let poll = poll_seconds.max(1);
    let deadline = step_deadline_seconds;
    let promotion = if switchover {
        published::AURORA_SWITCHOVER_SECONDS
    } else {
        published::AURORA_FAILOVER_SECONDS
    };
    // The database step ends when the target is the writer and its capacity is at the plan's
    // active level: an instance class change runs beside the promotion.
    let class_change = plan
        .region(target_region)
        .ok()
        .and_then(|r| r.database_capacity.as_ref())
        .and_then(|db| db.instance_class.as_ref())
        .map_or(0, |_| {
            u32::try_from(crate::db_capacity::INSTANCE_CLASS_CHANGE_SECONDS).unwrap_or(u32::MAX)
        });
    let database = promotion.max(class_change);
    // Pacing steers only how often a status is asked: a region the plan does not name (refused
    // by assess before any phase runs) paces as one with nothing to wait for.
    let zones = plan.region(target_region).map_or(0, |r| {
        u32::try_from(r.traffic.hosted_zones.len()).unwrap_or(u32::MAX)
    });
    let (traffic_expected, traffic_fast) = match plan.traffic().mode {
        crate::plan::TrafficMode::RecordUpsert => (
            published::ROUTE53_INSYNC_SECONDS,
            zones.div_ceil(ROUTE53_POLL_BUDGET_PER_SECOND),
        ),
        // health checks and routing controls: nothing to wait for after the change
        _ => (0, poll),
    };
    Pacing {
        poll_seconds: poll,
        max_polls: deadline.div_ceil(poll).max(1),
        verify_interval_seconds: poll,
        verify_max_attempts: plan
            .traffic()
            .verify_deadline_seconds
            .div_ceil(poll)
            .saturating_add(1),
        database: phase(database, poll, FAST_POLL_SECONDS, deadline),
        compute: phase(
            expected_scale_up_seconds(plan, target_region),
            poll,
            FAST_POLL_SECONDS,
            deadline,
        ),
        traffic: phase(traffic_expected, poll, traffic_fast, deadline),
    }
}

/// A phase expected to end after `expected` seconds: polls `poll` apart while the next one
/// still lands a poll before the expected end, then every `fast` (1 s to `poll`), up to
/// `deadline` in all.
fn phase(expected: u32, poll: u32, fast: u32, deadline: u32) -> PhasePacing {
    let fast = fast.clamp(1, poll);
    let slow = (expected.saturating_sub(poll) / poll).min(deadline / poll);
    let rest = deadline.saturating_sub(slow * poll);
    PhasePacing {
        expected_seconds: expected,
        fast_after_polls: slow,
        fast_poll_seconds: fast,
        max_polls: slow.saturating_add(rest.div_ceil(fast)).max(1),
    }
}

/// How long the target region's compute is expected to take to reach the share the plan shifts
/// at: the instances' start if a group must grow to get there, else the tasks' start if a
/// service must, else nothing (warm standby at its share already).
pub fn expected_scale_up_seconds(plan: &ValidPlan, target_region: &str) -> u32 {
    use crate::capacity::{Level, Resource, can_serve, targets};
    let share = plan.traffic().shift_at_capacity_percent;
    // As in `pacing`: a region the plan does not name has nothing to wait for.
    let (Ok(active), Ok(standby)) = (
        targets(plan, target_region, Level::Active),
        targets(plan, target_region, Level::Standby),
    ) else {
        return 0;
    };
    // `targets` lists a region's resources in the plan's order at every level.
    active
        .iter()
        .zip(&standby)
        .filter(|(a, s)| !can_serve(a, s.capacity.desired, share))
        .map(|(a, _)| match a.resource {
            Resource::Asg { .. } => published::EC2_INSTANCE_START_SECONDS,
            // a pod starts as a task does (an image pulled, a container started)
            Resource::Ecs { .. } | Resource::Workload(_) => published::ECS_TASK_START_SECONDS,
        })
        .max()
        .unwrap_or(0)
}

/// Whether the primary's database answers: its cluster, described through its own region's
/// endpoint (within the adapter's probe timeout), is `available`. A failure to answer is the
/// answer `false` (a dark region), logged, never an error.
pub async fn primary_answers<D: GlobalDatabase>(db: &D, region: &str, cluster_arn: &str) -> bool {
    match db.describe_cluster(region, cluster_arn).await {
        Ok(c) => c.is_available(),
        Err(e) => {
            tracing::warn!(region, error = %e, "primary database does not answer");
            false
        }
    }
}

/// When the primary's cluster does not answer through its RDS API: whether its data plane still
/// does (a connection to the plan's `db_endpoint`). `None` when the API answered (nothing to
/// tell apart) or the plan names no endpoint.
pub async fn primary_data_plane<D: GlobalDatabase>(
    db: &D,
    plan: &ValidPlan,
    region: &str,
    api_answers: bool,
) -> Result<Option<bool>> {
    if api_answers {
        return Ok(None);
    }
    let Some(endpoint) = &plan.region(region)?.db_endpoint else {
        return Ok(None);
    };
    Ok(Some(match db.endpoint_accepts(endpoint).await {
        Ok(()) => {
            tracing::warn!(region, endpoint = %endpoint, "the primary's RDS API does not answer, but its database endpoint accepts connections");
            true
        }
        Err(e) => {
            tracing::warn!(region, endpoint = %endpoint, error = %e, "the primary's database endpoint does not answer either");
            false
        }
    }))
}

/// The readiness snapshot a decision is made on: who the writer is, whether an operation is under
/// way, whether the target cluster is available and the primary answers, the target's replication
/// lag, and (for an alarm trigger) whether the alarm still fires when re-read. One code for
/// alarm-to-failover's decision and the state machine's Assess step. `now` is when Patroni's
/// lag is measured.
#[allow(clippy::too_many_arguments)] // three ports, the plan, the move and its time
pub async fn readiness<D, L, A, S>(
    db: &D,
    lag: &L,
    alarms: &A,
    params: &S,
    plan: &ValidPlan,
    target: &str,
    source: &str,
    trigger: &Trigger,
    now: time::OffsetDateTime,
) -> Result<Readiness>
where
    D: crate::ports::AnyDatabase,
    L: ReplicationLagSource,
    A: AlarmReader,
    S: crate::ports::ParameterStore,
{
    let db_seen = crate::database::evidence(db, lag, params, plan, target, source, now).await?;
    let alarm_still_firing = match trigger {
        Trigger::Alarm { name, region, .. } => {
            let region = if region.is_empty() {
                target
            } else {
                region.as_str()
            };
            match alarms.alarm_state(region, name).await {
                Ok(state) => state.map(|s| s == AlarmState::Alarm),
                Err(e) => {
                    tracing::warn!(alarm = %name, error = %e, "could not re-read the alarm");
                    None
                }
            }
        }
        _ => None,
    };
    Ok(Readiness {
        peer_lock_unread: None,
        writer_region: db_seen.writer_region,
        operation_in_progress: db_seen.operation_in_progress,
        target_cluster_available: db_seen.target_available,
        primary_reachable: db_seen.primary_reachable,
        primary_data_plane: db_seen.primary_data_plane,
        replication_lag: db_seen.replication_lag,
        replication_lag_age: db_seen.replication_lag_age,
        alarm_still_firing,
    })
}

/// Judge one HTTP observation against what the endpoint must answer: `Ok` with a short
/// description, or `Err` with the evidence of the failure. Either names the URL.
pub fn judge(endpoint: &HealthEndpoint, seen: &HttpObservation) -> Result<String, String> {
    let url = &endpoint.url;
    match seen {
        HttpObservation::Response {
            status,
            body,
            elapsed_ms,
        } => {
            if *status != endpoint.expect_status {
                return Err(format!(
                    "{url}: HTTP {status} (expected {}) in {elapsed_ms} ms",
                    endpoint.expect_status
                ));
            }
            if let Some(want) = &endpoint.expect_body_contains
                && !body.contains(want.as_str())
            {
                // The body is the endpoint's: untrusted, shown inert and short.
                return Err(format!(
                    "{url}: HTTP {status} but the body lacks '{want}' (got '{}')",
                    crate::text::inert(body, 80)
                ));
            }
            Ok(format!("{url}: HTTP {status} in {elapsed_ms} ms"))
        }
        HttpObservation::TimedOut { elapsed_ms } => {
            Err(format!("{url}: timed out after {elapsed_ms} ms"))
        }
        HttpObservation::Failed { reason, elapsed_ms } => {
            Err(format!("{url}: {reason} after {elapsed_ms} ms"))
        }
    }
}

/// The plan region whose cluster is the global database's writer, if any.
pub fn writer_region<'p>(plan: &'p ValidPlan, view: &GlobalClusterView) -> Option<&'p str> {
    view.writer_arn()
        .and_then(|arn| plan.region_of_cluster(arn))
}

/// An ECS service has settled at `desired`: that many tasks run, none pending, and one
/// deployment remains whose rollout (when reported) is complete.
pub fn ecs_steady(view: &EcsServiceView) -> bool {
    view.running == view.desired
        && view.pending == 0
        && view.deployments <= 1
        && view
            .rollout_state
            .as_deref()
            .is_none_or(|s| s == "COMPLETED")
}

/// An Auto Scaling group has settled: as many instances in service as desired, and no others.
pub fn asg_steady(view: &AsgView) -> bool {
    view.in_service == view.desired && view.instances == view.desired
}

/// Route 53 limits for one `ChangeResourceRecordSets` request: at most 1,000 `ResourceRecord`
/// elements and 32,000 characters of `Value`, where an UPSERT counts twice.
pub const MAX_RECORDS_PER_BATCH: usize = 1000;
pub const MAX_VALUE_CHARS_PER_BATCH: usize = 32_000;

/// Split UPSERTs into as few change batches as the API allows: one, unless the records exceed
/// the limits (order kept; a batch never splits one record set).
pub fn upsert_batches(records: &[RecordValue]) -> Vec<Vec<RecordValue>> {
    let mut batches: Vec<Vec<RecordValue>> = Vec::new();
    let (mut n, mut chars) = (0usize, 0usize);
    for r in records {
        let rn = 2 * r.values.len().max(1);
        let rc = 2 * r.values.iter().map(String::len).sum::<usize>();
        let full = n + rn > MAX_RECORDS_PER_BATCH || chars + rc > MAX_VALUE_CHARS_PER_BATCH;
        match batches.last_mut() {
            Some(batch) if !full => batch.push(r.clone()),
            _ => {
                batches.push(vec![r.clone()]);
                (n, chars) = (0, 0);
            }
        }
        n += rn;
        chars += rc;
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/plan.yaml");
    const RECORD_UPSERT: &str = include_str!("../../../examples/plan-record-upsert.yaml");

    /// Where a phase's polls fall, in seconds from its start.
    fn poll_times(p: PhasePacing, poll: u32) -> Vec<u32> {
        let mut t = 0;
        (1..=p.max_polls)
            .map(|n| {
                t += if n > p.fast_after_polls {
                    p.fast_poll_seconds
                } else {
                    poll
                };
                t
            })
            .collect()
    }

    #[test]
    fn each_phase_is_polled_faster_near_its_expected_end_within_the_same_deadline() {
        // GIVEN the example (pilot light: us-west-2's workers grow from 1 to 6 instances;
        // routing controls), polls every 5 s, a deadline of 1800 s
        let plan = ValidPlan::parse(EXAMPLE).unwrap();
        let p = pacing(&plan, "us-west-2", false, 5, 1800);
        // THEN the promotion is polled every 5 s up to 55 s, then every second
        assert_eq!(p.database.expected_seconds, 60);
        let db = poll_times(p.database, 5);
        assert_eq!(&db[..12], &[5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 56]);
        // a promotion that ends at 70 s is seen at 70 s, not 75 s
        assert_eq!(db.iter().find(|t| **t >= 70), Some(&70));
        // AND the scale-up waits for its instances (120 s), the switchover for 90 s
        assert_eq!(p.compute.expected_seconds, 120);
        assert_eq!(poll_times(p.compute, 5)[22..24], [115, 116]);
        assert_eq!(
            pacing(&plan, "us-west-2", true, 5, 1800)
                .database
                .expected_seconds,
            90
        );
        // AND routing controls have nothing to wait for: the poll interval as before
        assert_eq!(p.traffic.expected_seconds, 0);
        assert_eq!(p.traffic.fast_poll_seconds, 5);
        // AND every phase's last poll is at its deadline, as the poll interval alone had it
        for phase in [p.database, p.compute, p.traffic] {
            let last = *poll_times(phase, 5).last().unwrap();
            assert!((1800..1805).contains(&last), "{phase:?}: {last}");
        }
        assert_eq!(
            p.max_polls, 360,
            "the failback machine's count is unchanged"
        );
    }

    #[test]
    fn warm_standby_is_polled_fast_from_the_start_and_route53_within_its_budget() {
        // GIVEN a plan whose standby runs the share it shifts at
        let mut plan = crate::plan::Plan::parse(EXAMPLE).unwrap();
        plan.traffic.shift_at_capacity_percent = 50;
        for r in plan.regions.values_mut() {
            for s in &mut r.compute.ecs_services {
                s.standby_count = s.active_count / 2;
            }
            for g in &mut r.compute.autoscaling_groups {
                g.standby = g.active;
                g.standby.desired = g.active.desired / 2;
                g.standby.min = g.standby.desired;
            }
        }
        let plan = plan.validate().unwrap();
        let p = pacing(&plan, "us-west-2", false, 5, 1800);
        assert_eq!(p.compute.expected_seconds, 0);
        assert_eq!(
            (p.compute.fast_after_polls, p.compute.fast_poll_seconds),
            (0, 1)
        );
        assert_eq!(p.compute.max_polls, 1800);
        // AND one service short of its share waits for its tasks
        let mut short = crate::plan::Plan::parse(EXAMPLE).unwrap();
        short.traffic.shift_at_capacity_percent = 50;
        for g in short
            .regions
            .values_mut()
            .flat_map(|r| &mut r.compute.autoscaling_groups)
        {
            g.standby = g.active;
        }
        let short = short.validate().unwrap();
        assert_eq!(expected_scale_up_seconds(&short, "us-west-2"), 60);

        // GIVEN records upserted in Route 53 (one hosted zone): INSYNC within 60 s
        let plan = ValidPlan::parse(RECORD_UPSERT).unwrap();
        let p = pacing(&plan, "us-west-2", false, 5, 1800);
        assert_eq!(p.traffic.expected_seconds, 60);
        assert_eq!(p.traffic.fast_poll_seconds, 1);
        // AND with ten zones, GetChange for each stays within two requests a second
        let mut many = crate::plan::Plan::parse(RECORD_UPSERT).unwrap();
        let zones = &mut many
            .regions
            .get_mut("us-west-2")
            .unwrap()
            .traffic
            .hosted_zones;
        let z = zones[0].clone();
        zones.extend((1..10).map(|i| crate::plan::HostedZoneRecords {
            zone_id: format!("Z{i}"),
            ..z.clone()
        }));
        let many = many.validate().unwrap();
        assert_eq!(
            pacing(&many, "us-west-2", false, 5, 1800)
                .traffic
                .fast_poll_seconds,
            5
        );
    }

    fn rec(i: usize, values: usize) -> RecordValue {
        RecordValue {
            name: format!("r{i}.example.com"),
            record_type: "A".into(),
            ttl: 60,
            values: (0..values).map(|v| format!("10.0.0.{v}")).collect(),
        }
    }

    #[test]
    fn an_answer_passes_only_with_the_expected_status_and_body() {
        let ep = HealthEndpoint {
            url: "http://x/healthz".into(),
            expect_status: 200,
            expect_body_contains: Some("ok".into()),
            timeout_ms: 2000,
        };
        let answer = |status, body: &str| HttpObservation::Response {
            status,
            body: body.into(),
            elapsed_ms: 5,
        };
        assert!(judge(&ep, &answer(200, "all ok")).is_ok());
        let e = judge(&ep, &answer(503, "ok")).unwrap_err();
        assert!(e.contains("HTTP 503"), "{e}");
        assert!(judge(&ep, &answer(200, "degraded")).is_err());
        let e = judge(&ep, &HttpObservation::TimedOut { elapsed_ms: 2001 }).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
    }

    #[test]
    fn a_zone_of_ordinary_size_is_one_batch() {
        let records: Vec<_> = (0..100).map(|i| rec(i, 1)).collect();
        let batches = upsert_batches(&records);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0], records);
    }

    #[test]
    fn batches_split_at_the_record_element_limit_counting_upserts_twice() {
        // 500 single-value UPSERTs = 1,000 elements: exactly one batch; 501 need two.
        assert_eq!(
            upsert_batches(&(0..500).map(|i| rec(i, 1)).collect::<Vec<_>>()).len(),
            1
        );
        let b = upsert_batches(&(0..501).map(|i| rec(i, 1)).collect::<Vec<_>>());
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [500, 1]);
    }

    #[test]
    fn batches_split_at_the_value_character_limit() {
        let long = |i| RecordValue {
            name: format!("t{i}.example.com"),
            record_type: "TXT".into(),
            ttl: 60,
            values: vec!["x".repeat(4000)],
        };
        // 4,000 chars x2 per UPSERT: 4 fit in 32,000, the 5th starts a new batch.
        let b = upsert_batches(&(0..5).map(long).collect::<Vec<_>>());
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [4, 1]);
    }

    #[test]
    fn steadiness_needs_every_task_running_and_the_rollout_complete() {
        let mut v = EcsServiceView {
            cluster: "c".into(),
            service: "s".into(),
            status: "ACTIVE".into(),
            desired: 6,
            running: 6,
            pending: 0,
            rollout_state: Some("COMPLETED".into()),
            deployments: 1,
        };
        assert!(ecs_steady(&v));
        v.rollout_state = Some("IN_PROGRESS".into());
        assert!(!ecs_steady(&v));
        v.rollout_state = None;
        v.running = 5;
        assert!(!ecs_steady(&v));
        let mut g = AsgView {
            name: "g".into(),
            min: 4,
            max: 10,
            desired: 6,
            in_service: 6,
            instances: 6,
        };
        assert!(asg_steady(&g));
        g.instances = 7;
        assert!(!asg_steady(&g));
    }
}
