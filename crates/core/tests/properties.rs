//! Property tests of the pure core (issue 19 item 2): random worlds, events, locks and clock
//! steps through trigger classification, the failover decision and the failback decision,
//! checking the safety invariants where the core alone decides them:
//!
//! * I2 one run: a start never happens while another run holds the lock; one incident window
//!   names one run; a run id is always a valid execution name;
//! * I4 data loss only as decided: a failover with data loss only within the RPO guard on a
//!   primary known dark (API and data plane), or with a person's recorded override;
//! * I5 approval: every start asks a person exactly as the plan says;
//! * the failback goes only when every one of its conditions holds, and names each that fails.
//!
//! A failing case is shrunk to a minimal one and printed; proptest saves its seed in
//! `properties.proptest-regressions` beside this file, which is committed and replayed first on
//! every later run (a regression test). More cases: `PROPTEST_CASES=100000 cargo test -p
//! lifeboat-core --test properties`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use lifeboat_core::decision::{
    Approval, Decision, DecisionInput, IgnoreReason, PromotionMode, Readiness, Refusal, decide,
    exceeds_approval,
};
use lifeboat_core::failback::{
    FailbackSnapshot, HealthPoint, HomeMember, OtherCopyLock, decide_failback, healthy_run,
};
use lifeboat_core::plan::{Plan, ValidPlan};
use lifeboat_core::ports::ExecutionStatus;
use lifeboat_core::run::{Lease, LockRecord, RunId, lease};
use lifeboat_core::trigger::{
    ALARM_STATE_CHANGE, AlarmChange, AlarmState, CANARY_SKEW_SECONDS, CanaryReport, Observation,
    Trigger, classify,
};
use proptest::prelude::*;
use time::OffsetDateTime;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const ALARM: &str = "lifeboat-shop-primary-unhealthy";
const EXAMPLE: &str = include_str!("../../../examples/plan.yaml");
const T0: i64 = 1_796_300_000;

/// `PROPTEST_CASES` when set (a longer run), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn plan(approval_required: bool, window: u32, min_between: u32) -> ValidPlan {
    let mut p = Plan::parse(EXAMPLE).expect("example");
    p.approval.required = approval_required;
    p.triggers.incident_window_seconds = window;
    p.triggers.min_seconds_between_runs = min_between;
    p.validate().expect("a valid variant of the example")
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(T0 + secs).expect("in range")
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof![Just(EAST.to_string()), Just(WEST.to_string())]
}

fn any_plan() -> impl Strategy<Value = ValidPlan> {
    // the minimum interval is at least the window, or 0 (the plan's own rule)
    (any::<bool>(), 60u32..3_600, 0u32..7_200, any::<bool>())
        .prop_map(|(a, w, extra, none)| plan(a, w, if none { 0 } else { w + extra }))
}

fn readiness() -> impl Strategy<Value = Readiness> {
    (
        prop::option::of(region()),
        prop::option::of(prop_oneof![
            Just("switching-over".to_string()),
            Just("failing-over".to_string())
        ]),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::option::of(0u64..120_000),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(writer, op, target_ok, reachable, data_plane, lag_ms, firing)| Readiness {
                writer_region: writer,
                operation_in_progress: op,
                target_cluster_available: target_ok,
                primary_reachable: reachable,
                primary_data_plane: data_plane,
                replication_lag: lag_ms.map(Duration::from_millis),
                replication_lag_age: None,
                alarm_still_firing: firing,
                peer_lock_unread: None,
            },
        )
}

fn trigger(now: i64) -> impl Strategy<Value = Trigger> {
    prop_oneof![
        Just(Trigger::Alarm {
            name: ALARM.into(),
            region: WEST.into(),
            reason: "threshold crossed".into(),
            at: at(now),
        }),
        (3u32..=5).prop_map(move |f| Trigger::Canary {
            probed_region: EAST.into(),
            failures: f,
            probes: 5,
            evidence: vec![],
            at: at(now),
        }),
        Just(Trigger::Manual {
            requested_by: "arn:aws:iam::123456789012:user/ops".into(),
            at: at(now),
        }),
    ]
}

#[derive(Debug, Clone, Copy)]
enum LockCase {
    None,
    Own,
    Other,
}

fn lock_case() -> impl Strategy<Value = LockCase> {
    prop_oneof![
        Just(LockCase::None),
        Just(LockCase::Own),
        Just(LockCase::Other)
    ]
}

/// Another incident's run.
fn other_run() -> RunId {
    RunId::parse("shop-to-us-west-2-1").expect("id")
}

/// The run lock of `run_id`, into us-west-2, taken at `acquired`.
fn lock_into_west(run_id: RunId, acquired: i64) -> LockRecord {
    LockRecord {
        run_id,
        target_region: WEST.into(),
        acquired_at: at(acquired),
        execution_arn: None,
    }
}

fn lock_of(case: LockCase, own: &RunId, now: i64) -> Option<LockRecord> {
    let run_id = match case {
        LockCase::None => return None,
        LockCase::Own => own.clone(),
        LockCase::Other => other_run(),
    };
    Some(lock_into_west(run_id, now - 30))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(4_000), ..ProptestConfig::default() })]

    /// Every start satisfies I2, I4 and I5; every other outcome names a reason that holds.
    #[test]
    fn every_start_is_safe_and_every_refusal_is_true(
        plan in any_plan(),
        r in readiness(),
        target in region(),
        now in 0i64..100_000,
        trig in (0i64..100_000).prop_flat_map(trigger),
        lock in lock_case(),
        last_ended_ago in prop::option::of(0i64..20_000),
        allow_override in any::<bool>(),
    ) {
        let run_id = RunId::for_incident("shop", &target, trig.at(), plan.triggers().incident_window_seconds);
        let lock = lock_of(lock, &run_id, now);
        let input = DecisionInput {
            plan: &plan,
            target_region: &target,
            trigger: &trig,
            run_id: &run_id,
            lock: lock.as_ref(),
            last_run_ended: last_ended_ago.map(|a| at(now - a)),
            readiness: &r,
            now: at(now),
            allow_data_loss_override: allow_override,
        };
        let guard = plan.rpo_guard();
        match decide(&input) {
            Decision::Start { promotion, approval, resumed } => {
                // I2: nobody else's run holds the lock; a resumed run is this incident's own
                match &lock {
                    Some(l) => prop_assert!(resumed && l.run_id == run_id),
                    None => prop_assert!(!resumed),
                }
                prop_assert!(r.operation_in_progress.is_none());
                prop_assert_ne!(r.alarm_still_firing, Some(false));
                prop_assert!(r.target_cluster_available);
                let writer = r.writer_region.as_deref();
                prop_assert!(writer.is_some() && writer != Some(target.as_str()));
                if target == plan.primary_region() {
                    prop_assert!(trig.is_manual(), "home is reached by failback, or by a person");
                }
                // I4
                match promotion {
                    PromotionMode::Switchover => prop_assert!(r.primary_reachable),
                    PromotionMode::Failover { lag, overridden: false } => {
                        prop_assert!(!r.primary_reachable);
                        prop_assert_ne!(r.primary_data_plane, Some(true));
                        prop_assert!(lag.is_some_and(|l| l <= guard), "{lag:?} > {guard:?}");
                    }
                    PromotionMode::Failover { overridden: true, .. } => {
                        prop_assert!(allow_override);
                        prop_assert!(!r.primary_reachable);
                    }
                }
                // I5: the plan's approval, whoever started it
                prop_assert_eq!(approval, Approval::for_run(&plan, false));
                if plan.approval().required {
                    let required = matches!(approval, Approval::Required { .. });
                    prop_assert!(required);
                }
                // A person's override only widens what may start, and changes nothing else
                if !allow_override {
                    let with = decide(&DecisionInput { allow_data_loss_override: true, ..input.clone() });
                    let same = matches!(with, Decision::Start { promotion: p, .. } if p == promotion);
                    prop_assert!(same, "{with:?}");
                }
            }
            Decision::Ignore { why } => match why {
                IgnoreReason::Flap => prop_assert_eq!(r.alarm_still_firing, Some(false)),
                IgnoreReason::RunInProgress { run_id: holder, .. } => {
                    prop_assert!(lock.as_ref().is_some_and(|l| l.run_id == holder && holder != run_id));
                }
                IgnoreReason::InsideMinimumInterval { .. } => {
                    prop_assert!(!trig.is_manual());
                    prop_assert!(last_ended_ago.is_some_and(|a| a < i64::from(plan.triggers().min_seconds_between_runs)));
                }
                IgnoreReason::OperationInProgress { .. } => prop_assert!(r.operation_in_progress.is_some()),
                IgnoreReason::AlreadyActive { region } => {
                    prop_assert_eq!(Some(region.as_str()), r.writer_region.as_deref());
                    prop_assert_eq!(region, target);
                }
                other => prop_assert!(false, "decide never answers {other:?}"),
            },
            Decision::Refuse { why } => match why {
                Refusal::WriterUnknown => prop_assert!(r.writer_region.is_none()),
                Refusal::TargetNotReady { .. } => prop_assert!(!r.target_cluster_available),
                Refusal::HomeIsAFailback { .. } => {
                    prop_assert!(!trig.is_manual() && target == plan.primary_region());
                }
                Refusal::PrimaryDataPlaneAnswers { .. } => {
                    prop_assert!(!allow_override && !r.primary_reachable && r.primary_data_plane == Some(true));
                }
                Refusal::LagAboveGuard { .. } => {
                    prop_assert!(!allow_override && r.replication_lag.is_some_and(|l| l > guard));
                }
                Refusal::LagUnknown { .. } => {
                    prop_assert!(!allow_override && r.replication_lag.is_none());
                }
            },
        }
    }

    /// What was approved covers itself; a switchover never needs a new approval; a failover
    /// never runs on a switchover's approval.
    #[test]
    fn an_approval_covers_no_more_than_it_showed(
        a_lag in prop::option::of(0u64..120_000),
        b_lag in prop::option::of(0u64..120_000),
        a_switch in any::<bool>(),
        b_switch in any::<bool>(),
    ) {
        let mode = |switch: bool, lag: Option<u64>| if switch {
            PromotionMode::Switchover
        } else {
            PromotionMode::Failover { lag: lag.map(Duration::from_millis), overridden: false }
        };
        let (a, b) = (mode(a_switch, a_lag), mode(b_switch, b_lag));
        prop_assert!(exceeds_approval(&a, &a).is_none());
        if b_switch {
            prop_assert!(exceeds_approval(&a, &b).is_none());
        }
        if a_switch && !b_switch {
            prop_assert!(exceeds_approval(&a, &b).is_some());
        }
        if let (false, false, Some(x), Some(y)) = (a_switch, b_switch, a_lag, b_lag)
            && y > x + 1_000
        {
            prop_assert!(exceeds_approval(&a, &b).is_some());
        }
    }

    /// One incident window names one run; different windows, different runs; every id is a
    /// valid execution name, and so is every attempt of it.
    #[test]
    fn one_incident_window_names_one_run(
        window in 1u32..86_400,
        t1 in -1_000_000i64..1_000_000,
        t2 in -1_000_000i64..1_000_000,
        n in 2u32..1_000,
        target in region(),
    ) {
        let a = RunId::for_incident("shop", &target, at(t1), window);
        let b = RunId::for_incident("shop", &target, at(t2), window);
        let w = i64::from(window);
        let same_window = (T0 + t1).div_euclid(w) == (T0 + t2).div_euclid(w);
        prop_assert_eq!(a == b, same_window);
        prop_assert!(RunId::parse(a.as_str()).is_ok());
        let again = a.attempt(n);
        prop_assert!(RunId::parse(again.as_str()).is_ok());
        prop_assert_ne!(&again, &a);
        prop_assert_eq!(again.attempt(n + 1), a.attempt(n + 1));
        let failback = RunId::for_failback("shop", EAST, at(t1), window);
        prop_assert_ne!(&failback, &a);
        prop_assert!(RunId::parse(failback.as_str()).is_ok());
    }

    /// A lock is live exactly while its execution runs (or, naming none, within the grace).
    #[test]
    fn a_lock_protects_only_a_running_execution(
        status in prop::option::of(prop_oneof![
            Just(ExecutionStatus::Running), Just(ExecutionStatus::Succeeded),
            Just(ExecutionStatus::Failed), Just(ExecutionStatus::TimedOut),
            Just(ExecutionStatus::Aborted), Just(ExecutionStatus::Other),
        ]),
        age in 0i64..10_000,
    ) {
        let lock = lock_into_west(other_run(), 0);
        let live = lease(&lock, status, at(age)) == Lease::Live;
        match status {
            Some(s) => prop_assert_eq!(live, s.is_running()),
            None => prop_assert_eq!(live, age <= lifeboat_core::run::LOCK_GRACE_SECONDS),
        }
    }

    /// Only a transition into ALARM of a plan alarm, unmuted and unsuppressed, or a canary
    /// report about the other region over the plan's threshold and close to now, is a trigger.
    #[test]
    fn only_real_evidence_is_a_trigger(
        plan in any_plan(),
        target in region(),
        plan_alarm in any::<bool>(),
        state in prop_oneof![Just(AlarmState::Ok), Just(AlarmState::Alarm), Just(AlarmState::InsufficientData)],
        previous in prop::option::of(prop_oneof![Just(AlarmState::Ok), Just(AlarmState::Alarm), Just(AlarmState::InsufficientData)]),
        muted in any::<bool>(),
        suppressed in any::<bool>(),
        config_change in any::<bool>(),
        probed in region(),
        failures in 0u32..8,
        probes in 0u32..8,
        skew in -600i64..600,
        other_app in any::<bool>(),
    ) {
        let alarm = AlarmChange {
            detail_type: if config_change { "CloudWatch Alarm Configuration Change".into() } else { ALARM_STATE_CHANGE.into() },
            alarm_name: if plan_alarm { ALARM.into() } else { "another-alarm".into() },
            region: WEST.into(),
            state,
            previous_state: previous,
            at: at(0),
            reason: "r".into(),
            muted_by: muted.then(|| "maintenance".into()),
            actions_suppressed_by: suppressed.then(|| "Alarm".into()),
        };
        let got = classify(&plan, &target, &Observation::Alarm(alarm), at(0)).is_ok();
        prop_assert_eq!(got, !config_change && plan_alarm && state == AlarmState::Alarm
            && previous != Some(AlarmState::Alarm) && !muted && !suppressed);

        let report = CanaryReport {
            app: if other_app { "payments".into() } else { "shop".into() },
            probed_region: probed.clone(),
            failures,
            probes,
            at: at(skew),
            evidence: vec![],
        };
        let got = classify(&plan, &target, &Observation::Canary(report), at(0)).is_ok();
        let from = plan.other_region(&target).expect("two regions");
        prop_assert_eq!(got, !other_app && skew.abs() <= CANARY_SKEW_SECONDS && probed == from
            && failures >= plan.triggers().canary.failures_required && probes > 0 && failures <= probes);
    }

    /// The failback goes exactly when every condition holds, and otherwise names each one that
    /// does not; it always asks as the plan says unless a person asked.
    #[test]
    fn a_failback_goes_only_when_every_condition_holds(
        plan in any_plan(),
        writer in prop::option::of(region()),
        member in prop::option::of((any::<bool>(), prop::option::of(prop_oneof![
            Just("connected".to_string()), Just("pending-resync".to_string())]), any::<bool>())),
        op in prop::option::of(Just("switching-over".to_string())),
        lag_ms in prop::option::of(0u64..5_000),
        healthy_min in prop::option::of(0u64..120),
        locked in any::<bool>(),
        other_locked in any::<bool>(),
        by_operator in any::<bool>(),
    ) {
        let lock = || lock_into_west(other_run(), 0);
        let s = FailbackSnapshot {
            writer_region: writer.clone(),
            home_member: member.clone().map(|(is_writer, sync, available)| HomeMember {
                is_writer, synchronization_status: sync, cluster_available: available,
            }),
            operation_in_progress: op.clone(),
            home_lag: lag_ms.map(Duration::from_millis),
            home_healthy_for: healthy_min.map(|m| Duration::from_secs(m * 60)),
            lock: locked.then(lock),
            stale_lock: None,
            other_copy_lock: other_locked.then(|| OtherCopyLock { region: EAST.into(), lock: lock() }),
            other_copy_unread: None,
        };
        let home = plan.primary_region();
        let failing = [
            writer.is_none() || writer.as_deref() == Some(home),
            member.as_ref().is_none_or(|(w, sync, _)| !w && sync.as_deref() != Some("connected")),
            member.as_ref().is_some_and(|(_, _, available)| !available),
            lag_ms.is_none_or(|l| l > u64::from(plan.database().failback_max_lag_seconds) * 1_000),
            healthy_min.is_none_or(|m| m < u64::from(plan.failback().home_healthy_minutes)),
            locked,
            other_locked,
            op.is_some(),
        ];
        match decide_failback(&plan, &s, by_operator) {
            Ok(go) => {
                prop_assert!(failing.iter().all(|f| !f), "{failing:?}");
                prop_assert_eq!(go.to_region.as_str(), home);
                prop_assert_eq!(Some(go.from_region), writer);
                prop_assert_eq!(go.approval, Approval::for_run(&plan, by_operator));
            }
            Err(why) => {
                prop_assert!(!why.is_empty());
                prop_assert!(failing.iter().any(|f| *f));
                // each failing condition is named (a missing member is one reason, not two)
                let expected = failing.iter().filter(|f| **f).count();
                prop_assert!(why.len() <= expected && why.len() + 1 >= expected, "{why:?} vs {failing:?}");
            }
        }
    }

    /// How long home has been healthy does not depend on the order the periods are read in,
    /// is never more than since the earliest period, and is unknown while the latest failed.
    #[test]
    fn a_healthy_run_is_read_the_same_in_any_order(
        points in prop::collection::vec((0i64..10_000, prop_oneof![Just(0.0f64), Just(1.0f64)]), 0..40),
        seed in any::<u64>(),
        now_after in 0i64..2_000,
    ) {
        let mut pts: Vec<HealthPoint> = points.iter().map(|(t, m)| HealthPoint { at: at(*t), minimum: *m }).collect();
        pts.sort_by_key(|p| p.at);
        pts.dedup_by_key(|p| p.at);
        let now = at(pts.last().map_or(0, |p| p.at.unix_timestamp() - T0) + now_after);
        let stale = Duration::from_secs(1_000);
        let a = healthy_run(&pts, now, stale);
        let mut shuffled = pts.clone();
        // a deterministic shuffle from the seed
        let len = shuffled.len();
        if len > 1 {
            for i in 0..len {
                let j = ((seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i as u64)) % len as u64) as usize;
                shuffled.swap(i, j);
            }
        }
        prop_assert_eq!(healthy_run(&shuffled, now, stale), a);
        if let Some(latest) = pts.last() {
            if latest.minimum < 1.0 || now_after > 1_000 {
                prop_assert!(a.is_none());
            }
            if let Some(d) = a {
                let first = pts[0].at;
                prop_assert!(d <= Duration::try_from(now - first).expect("after"));
            }
        } else {
            prop_assert!(a.is_none());
        }
    }
}

/// One step of a simulated night: what reaches the copy in us-west-2, `dt` seconds after the
/// previous step.
#[derive(Debug, Clone)]
enum Step {
    Alarm {
        dt: i64,
    },
    Canary {
        dt: i64,
    },
    Operator {
        dt: i64,
        allow_data_loss: bool,
    },
    /// The running execution ends (as Step Functions would), moving the writer if it succeeded.
    RunEnds {
        dt: i64,
        succeeded: bool,
    },
    World {
        lag_ms: Option<u64>,
        primary_reachable: bool,
        data_plane: Option<bool>,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0i64..600).prop_map(|dt| Step::Alarm { dt }),
        (0i64..600).prop_map(|dt| Step::Canary { dt }),
        (0i64..600, any::<bool>()).prop_map(|(dt, a)| Step::Operator {
            dt,
            allow_data_loss: a
        }),
        (0i64..3_600, any::<bool>()).prop_map(|(dt, s)| Step::RunEnds { dt, succeeded: s }),
        (
            prop::option::of(0u64..90_000),
            any::<bool>(),
            prop::option::of(any::<bool>())
        )
            .prop_map(|(l, p, d)| Step::World {
                lag_ms: l,
                primary_reachable: p,
                data_plane: d
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1_000), ..ProptestConfig::default() })]

    /// A night of random events, operator requests, clock steps and run ends, through classify
    /// and decide with a create-only lock (as the SSM lock is): never two runs at once (I2), one
    /// run per incident window, and every start within I4.
    #[test]
    fn a_random_night_never_runs_two_failovers_at_once(
        approval in any::<bool>(),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let plan = plan(approval, 900, 3_600);
        let mut now = 0i64;
        let mut writer = EAST.to_string();
        let mut world = Readiness {
            writer_region: Some(EAST.into()),
            operation_in_progress: None,
            target_cluster_available: true,
            primary_reachable: false,
            primary_data_plane: Some(false),
            replication_lag: Some(Duration::from_millis(800)),
            replication_lag_age: None,
            alarm_still_firing: Some(true),
            peer_lock_unread: None,
        };
        let mut lock: Option<LockRecord> = None;
        let mut last_ended: Option<OffsetDateTime> = None;
        let mut started: Vec<(RunId, i64)> = Vec::new();
        for s in steps {
            let (trig, allow, dt) = match s {
                Step::World { lag_ms, primary_reachable, data_plane } => {
                    world.replication_lag = lag_ms.map(Duration::from_millis);
                    world.primary_reachable = primary_reachable;
                    world.primary_data_plane = data_plane;
                    continue;
                }
                Step::RunEnds { dt, succeeded } => {
                    now += dt;
                    if let Some(l) = lock.take() {
                        if succeeded {
                            writer = l.target_region.clone();
                        }
                        last_ended = Some(at(now));
                    }
                    continue;
                }
                Step::Alarm { dt } => {
                    let alarm = AlarmChange {
                        detail_type: ALARM_STATE_CHANGE.into(),
                        alarm_name: ALARM.into(),
                        region: WEST.into(),
                        state: AlarmState::Alarm,
                        previous_state: Some(AlarmState::Ok),
                        at: at(now + dt),
                        reason: "r".into(),
                        muted_by: None,
                        actions_suppressed_by: None,
                    };
                    (classify(&plan, WEST, &Observation::Alarm(alarm), at(now + dt)).ok(), false, dt)
                }
                Step::Canary { dt } => {
                    let report = CanaryReport {
                        app: "shop".into(), probed_region: EAST.into(), failures: 5, probes: 5,
                        at: at(now + dt), evidence: vec![],
                    };
                    (classify(&plan, WEST, &Observation::Canary(report), at(now + dt)).ok(), false, dt)
                }
                Step::Operator { dt, allow_data_loss } => (
                    Some(Trigger::Manual { requested_by: "ops".into(), at: at(now + dt) }),
                    allow_data_loss,
                    dt,
                ),
            };
            now += dt;
            let Some(trig) = trig else { continue };
            let run_id = if trig.is_manual() {
                RunId::for_operator("shop", WEST, trig.at())
            } else {
                RunId::for_incident("shop", WEST, trig.at(), plan.triggers().incident_window_seconds)
            };
            world.writer_region = Some(writer.clone());
            let decision = decide(&DecisionInput {
                plan: &plan,
                target_region: WEST,
                trigger: &trig,
                run_id: &run_id,
                lock: lock.as_ref(),
                last_run_ended: last_ended,
                readiness: &world,
                now: at(now),
                allow_data_loss_override: allow,
            });
            if let Decision::Start { promotion, resumed, .. } = decision {
                // I2: a new start only with no lock held; it takes the (create-only) lock
                if resumed {
                    prop_assert!(lock.as_ref().is_some_and(|l| l.run_id == run_id));
                    continue;
                }
                prop_assert!(lock.is_none(), "a start while {lock:?} runs");
                prop_assert_ne!(writer.as_str(), WEST, "a failover into the writer's region");
                if let PromotionMode::Failover { overridden: false, lag } = promotion {
                    prop_assert!(lag.is_some_and(|l| l <= plan.rpo_guard()));
                }
                if let PromotionMode::Failover { overridden: true, .. } = promotion {
                    prop_assert!(allow);
                }
                // one run per incident window among automatic starts
                if !trig.is_manual() {
                    prop_assert!(!started.iter().any(|(id, _)| *id == run_id), "{run_id} started twice");
                }
                started.push((run_id.clone(), now));
                lock = Some(lock_into_west(run_id, now));
            }
        }
    }
}
