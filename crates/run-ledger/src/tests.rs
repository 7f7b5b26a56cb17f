//! GIVEN / WHEN / THEN tests of the handler over in-memory fakes.

use std::time::Duration;

use lifeboat_core::decision::{Approval, PromotionMode, Readiness};
use lifeboat_core::fakes::*;
use lifeboat_core::ports::StateEvent;
use lifeboat_core::run::{LockRecord, RunId, RunKind, RunOutcome, RunRequest, decode, encode};
use lifeboat_core::trigger::Trigger;
use lifeboat_core::{ErrorKind, store};
use serde_json::json;
use time::macros::datetime;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";
const EXECUTION: &str = "arn:aws:states:us-west-2:123456789012:execution:lifeboat-failover:run-1";
const T0: time::OffsetDateTime = datetime!(2026-11-22 03:00 UTC);

type Fakes = Handler<
    FakeGlobalDatabase,
    FakeLag,
    FakeAlarms,
    FakeParameters,
    FakeHistory,
    FakeNotifier,
    FixedClock,
>;

/// GIVEN a shop whose primary us-east-1 is dark, lifeboat in us-west-2, lag 2 s, and run-1
/// holding the lock.
async fn given_a_run_in_progress() -> (Fakes, RunRequest) {
    let lag = FakeLag::default();
    lag.set("shop-usw2", Duration::from_secs(2));
    let db = FakeGlobalDatabase::new("shop-global", EAST, WEST);
    db.go_dark("us-east-1");
    let h = Handler {
        config: Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: "/lifeboat/shop/plan".into(),
                region: "us-west-2".into(),
            },
            poll_seconds: 2,
            step_deadline_seconds: 61,
            fallback_topic_arn: None,
        },
        ports: Ports {
            db,
            lag,
            alarms: FakeAlarms::default(),
            params: FakeParameters::with("/lifeboat/shop/plan", PLAN),
            history: FakeHistory::default(),
            notifier: FakeNotifier::default(),
            clock: FixedClock::at(T0 + time::Duration::seconds(90)),
        },
    };
    let run = RunRequest {
        kind: RunKind::Failover,
        app: "shop".into(),
        run_id: RunId::parse("run-1").expect("id"),
        source_region: "us-east-1".into(),
        target_region: "us-west-2".into(),
        plan_parameter: "/lifeboat/shop/plan".into(),
        trigger: Trigger::Canary {
            probed_region: "us-east-1".into(),
            failures: 3,
            probes: 3,
            evidence: vec!["https://use1.shop.example.com/health: timeout".into()],
            at: T0,
        },
        promotion: PromotionMode::Failover {
            lag: Some(Duration::from_secs(2)),
            overridden: false,
        },
        approval: Approval::Required {
            timeout_minutes: 15,
            on_timeout: lifeboat_core::plan::OnTimeout::Abort,
            proceed_after_outage_minutes: None,
        },
        readiness: Readiness {
            peer_lock_unread: None,
            primary_data_plane: None,
            writer_region: Some("us-east-1".into()),
            operation_in_progress: None,
            target_cluster_available: true,
            primary_reachable: false,
            replication_lag: Some(Duration::from_secs(2)),
            replication_lag_age: None,
            alarm_still_firing: None,
        },
        decided_at: T0 + time::Duration::seconds(5),
    };
    let lock = LockRecord {
        run_id: run.run_id.clone(),
        target_region: "us-west-2".into(),
        acquired_at: T0,
        execution_arn: None,
    };
    h.ports
        .params
        .put("/lifeboat/shop/lock", &encode(&lock).expect("encode"))
        .await
        .expect("lock");
    (h, run)
}

fn assess(run: &RunRequest, after_timeout: bool) -> Value {
    json!({"action": "assess", "run": run, "after_approval_timeout": after_timeout})
}

fn ev(state: &str, entered: bool, secs: i64) -> StateEvent {
    StateEvent {
        state: state.into(),
        entered,
        at: T0 + time::Duration::seconds(secs),
    }
}

/// A successful execution's history: assess 10-11, approval 11-40, database ‖ compute 40-100,
/// traffic 100-110, verify 110-112, then the recording.
fn a_successful_history() -> Vec<StateEvent> {
    vec![
        ev("Assess", true, 10),
        ev("Assess", false, 11),
        ev("Approval", true, 11),
        ev("Approval", false, 40),
        ev("Database: start", true, 40),
        ev("Compute: start", true, 40),
        ev("Database: start", false, 41),
        ev("Compute: start", false, 41),
        ev("Compute: status", true, 70),
        ev("Compute: status", false, 71),
        ev("Database: status", true, 99),
        ev("Database: status", false, 100),
        ev("Traffic: shift", true, 100),
        ev("Traffic: status", false, 110),
        ev("Verify", true, 110),
        ev("Verify", false, 112),
        ev("Record", true, 113),
    ]
}

fn record(run: &RunRequest, outcome: &str, error: Option<Value>) -> Value {
    let mut v = json!({
        "action": "record", "run": run, "outcome": outcome, "execution_arn": EXECUTION,
        "branches": [
            {"step": "database", "start": {"state": "started", "rpo_estimate_seconds": 2.0, "promotion": {"mode": "failover"}}},
            {"step": "compute", "start": {"state": "scaled", "changed": []}}
        ]
    });
    if let Some(e) = error {
        v["error"] = e;
    }
    v
}

#[tokio::test]
async fn assess_goes_with_a_failover_within_the_guard_and_hands_over_the_pacing() {
    // GIVEN a dark primary and lag 2 s (guard 30 s)
    let (h, run) = given_a_run_in_progress().await;
    // WHEN the workflow assesses
    let Response::Assessment(a) = h.handle(assess(&run, false)).await.expect("go") else {
        panic!("not an assessment")
    };
    // THEN go, as an unplanned failover, waiting for a person for the plan's 15 minutes
    assert!(matches!(a.promotion, Some(PromotionMode::Failover { .. })));
    assert!(a.approval_required);
    assert_eq!(a.approval_timeout_seconds, 900);
    assert_eq!(a.pacing.poll_seconds, 2);
    assert_eq!(a.pacing.max_polls, 31);
    assert_eq!(a.wait_seconds, 0);
}

#[tokio::test]
async fn assess_refuses_a_run_without_the_lock_and_an_unavailable_target() {
    let (h, run) = given_a_run_in_progress().await;
    // GIVEN another run holds the lock
    let other = LockRecord {
        run_id: RunId::parse("run-2").expect("id"),
        target_region: "us-west-2".into(),
        acquired_at: T0,
        execution_arn: None,
    };
    h.ports
        .params
        .put("/lifeboat/shop/lock", &encode(&other).expect("encode"))
        .await
        .expect("put");
    let err = h.handle(assess(&run, false)).await.expect_err("no lock");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("run-2"), "{err}");

    // GIVEN the lock is ours again but the target cluster is not available
    let (h, run) = given_a_run_in_progress().await;
    h.ports.db.set_cluster_status(WEST, "modifying");
    let err = h.handle(assess(&run, false)).await.expect_err("unhealthy");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("not available"), "{err}");
}

#[tokio::test]
async fn assess_refuses_when_the_lag_grew_above_the_guard_since_the_decision() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.lag.set("shop-usw2", Duration::from_secs(45));
    let err = h.handle(assess(&run, false)).await.expect_err("no go");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("no go"), "{err}");
}

#[tokio::test]
async fn after_an_approval_timeout_the_plan_decides() {
    // GIVEN the example plan says abort
    let (h, run) = given_a_run_in_progress().await;
    let err = h.handle(assess(&run, true)).await.expect_err("abort");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("abort"), "{err}");

    // GIVEN a plan that proceeds after 5 minutes of outage, 90 s after the trigger
    let (h, run) = given_a_run_in_progress().await;
    let plan = PLAN.replace(
        "on_timeout: abort ",
        "on_timeout: proceed\n  proceed_after_outage_minutes: 5\n ",
    );
    h.ports
        .params
        .put("/lifeboat/shop/plan", &plan)
        .await
        .expect("plan");
    let Response::Assessment(a) = h.handle(assess(&run, true)).await.expect("proceed") else {
        panic!("not an assessment")
    };
    // THEN wait until the outage has lasted 5 minutes
    assert_eq!(a.wait_seconds, 300 - 90);
}

#[tokio::test]
async fn a_success_records_the_timeline_moves_the_active_region_and_frees_the_lock() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    // WHEN the run is recorded as succeeded
    let Response::Report(r) = h
        .handle(record(&run, "succeeded", None))
        .await
        .expect("recorded")
    else {
        panic!("not a report")
    };
    // THEN the steps, the RTO (trigger to verified) and the RPO estimate
    let names: Vec<&str> = r.timeline.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Assess", "Approval", "Database", "Compute", "Traffic", "Verify"
        ]
    );
    assert_eq!(r.rto_seconds, Some(112.0));
    assert_eq!(r.rpo_estimate_seconds, Some(2.0));
    assert!(r.open_steps.is_empty());
    // AND the state says us-west-2 is active, epoch 1; the lock is gone; the report is kept
    let state = store::read_state(&h.ports.params, "shop")
        .await
        .expect("read")
        .expect("state");
    assert_eq!(state.active_region, "us-west-2");
    assert_eq!(state.epoch, 1);
    assert_eq!(
        state.last_run.and_then(|l| l.outcome),
        Some(RunOutcome::Succeeded)
    );
    assert!(r.lock_released);
    assert!(h.ports.params.value("/lifeboat/shop/lock").is_none());
    let kept: Report = decode(
        "/lifeboat/shop/runs/run-1",
        &h.ports
            .params
            .value("/lifeboat/shop/runs/run-1")
            .expect("report kept"),
    )
    .expect("decode");
    assert_eq!(kept, *r);
}

#[tokio::test]
async fn a_failure_keeps_the_lock_names_the_half_done_step_and_leaves_the_active_region() {
    let (h, run) = given_a_run_in_progress().await;
    // GIVEN the database step never finished
    h.ports.history.set(
        EXECUTION,
        vec![
            ev("Assess", true, 10),
            ev("Assess", false, 11),
            ev("Database: start", true, 12),
            ev("Database: start", false, 13),
            ev("Database: status", true, 20),
        ],
    );
    let error =
        json!({"Error": "PromotionFailed", "Cause": "the global cluster operation was cancelled"});
    let Response::Report(r) = h
        .handle(record(&run, "failed", Some(error)))
        .await
        .expect("recorded")
    else {
        panic!("not a report")
    };
    assert_eq!(r.open_steps, ["Database"]);
    assert_eq!(r.rto_seconds, None);
    assert_eq!(r.active_region, "us-east-1");
    assert_eq!(r.epoch, 0);
    assert!(!r.lock_released);
    assert!(h.ports.params.value("/lifeboat/shop/lock").is_some());
    // AND the notification says so
    let Response::Notified(n) = h
        .handle(json!({"action": "notify", "report": r}))
        .await
        .expect("notified")
    else {
        panic!("not notified")
    };
    assert!(n.subject.contains("FAILED"), "{}", n.subject);
    let sent = h.ports.notifier.messages();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].topic.contains("us-west-2"), "{}", sent[0].topic);
    assert!(sent[0].message.contains("PromotionFailed"));
    assert!(sent[0].message.contains("Half-done: Database"));
    assert!(sent[0].message.contains("/lifeboat/shop/lock"));
    assert!(sent[0].message.contains("run-1-resume-1"));
}

#[tokio::test]
async fn an_abort_frees_the_lock_and_changes_no_region() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(
        EXECUTION,
        vec![
            ev("Assess", true, 10),
            ev("Assess", false, 11),
            ev("Approval", true, 11),
            ev("Approval", false, 30),
        ],
    );
    // (Step Functions may hand over a null Cause.)
    let error = json!({"Error": "ApprovalRejected", "Cause": null});
    let Response::Report(r) = h
        .handle(record(&run, "aborted", Some(error)))
        .await
        .expect("recorded")
    else {
        panic!("not a report")
    };
    assert!(r.lock_released);
    assert_eq!(r.active_region, "us-east-1");
    assert!(subject(&r).contains("aborted"));
}

#[tokio::test]
async fn bad_input_is_invalid_and_changes_nothing() {
    let (h, run) = given_a_run_in_progress().await;
    let before = h.ports.params.snapshot();
    for bad in [
        json!({"action": "launch"}),
        json!({"action": "record", "run": run, "outcome": "maybe", "execution_arn": EXECUTION}),
        json!({"action": "assess"}),
        json!("assess"),
    ] {
        let err = h.handle(bad.clone()).await.expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
    }
    // A run for another region is not this copy's to record.
    let mut elsewhere = run.clone();
    elsewhere.target_region = "us-east-1".into();
    let err = h
        .handle(record(&elsewhere, "succeeded", None))
        .await
        .expect_err("other region");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(h.ports.params.snapshot(), before);
    assert!(h.ports.notifier.messages().is_empty());
}

#[tokio::test]
async fn an_unknown_execution_is_not_found_and_records_nothing() {
    let (h, run) = given_a_run_in_progress().await;
    let before = h.ports.params.snapshot();
    let err = h
        .handle(record(&run, "succeeded", None))
        .await
        .expect_err("no history");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(h.ports.params.snapshot(), before);
}

#[tokio::test]
async fn the_example_events_parse() {
    for file in ["assess.json", "record.json", "notify.json"] {
        let path = format!(
            "{}/../../events/run-ledger/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("sample event");
        let _: Request = serde_json::from_str(&text).expect(&path);
    }
}

/// GIVEN a run that promoted with data loss while no replication-lag datapoint existed (the
/// person's override), WHEN its report is rendered for the topic, THEN the RPO reads UNKNOWN,
/// never a blank that could pass for zero.
#[tokio::test]
async fn a_failover_with_an_unknown_lag_reports_the_rpo_as_unknown() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let Response::Report(mut r) = h
        .handle(record(&run, "succeeded", None))
        .await
        .expect("recorded")
    else {
        panic!("not a report")
    };
    r.rpo_estimate_seconds = None;
    r.promotion = Some(PromotionMode::Failover {
        lag: None,
        overridden: true,
    });
    let text = render_text(&r);
    assert!(
        text.contains("RPO estimate: UNKNOWN (no replication-lag datapoint)"),
        "{text}"
    );
    assert!(
        text.contains("lag at promotion UNKNOWN); the RPO guard was OVERRIDDEN"),
        "{text}"
    );
}

#[tokio::test]
async fn the_fence_of_the_old_primary_is_recorded_action_by_action() {
    // GIVEN a failover with data loss whose fence branch found us-east-1's ECS dark and its
    // group already fenced
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let mut req = record(&run, "succeeded", None);
    req["branches"].as_array_mut().unwrap().push(json!({
        "step": "fence",
        "fence": {"region": "us-east-1", "actions": [
            {"resource": "ecs:shop/web", "outcome": "unreachable", "detail": "us-east-1: timed out"},
            {"resource": "asg:shop-workers-use1", "outcome": "already_fenced", "desired": 0}
        ]}
    }));
    // WHEN the run is recorded
    let Response::Report(r) = h.handle(req).await.expect("recorded") else {
        panic!("not a report")
    };
    // THEN every action is in the report, with the database's (Aurora's) own
    let f = r.fence.as_ref().expect("fence recorded");
    assert_eq!(f.region, "us-east-1");
    assert_eq!(f.actions.len(), 3, "{f:?}");
    assert_eq!(f.actions[2].resource, "database:shop-use1");
    assert!(!f.complete());
    let text = render_text(&r);
    assert!(
        text.contains("Fence of us-east-1 (the old primary) - NOT COMPLETE"),
        "{text}"
    );
    assert!(
        text.contains("ecs:shop/web: UNREACHABLE (us-east-1: timed out)"),
        "{text}"
    );
    assert!(
        text.contains("database:shop-use1: demoted by Aurora"),
        "{text}"
    );
}

#[tokio::test]
async fn a_fence_that_could_not_run_is_recorded_not_hidden() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let mut req = record(&run, "succeeded", None);
    req["branches"].as_array_mut().unwrap().push(json!({
        "step": "fence", "fence": null,
        "fence_error": {"Error": "States.Timeout", "Cause": "no answer in 60 s"}
    }));
    let Response::Report(r) = h.handle(req).await.expect("recorded") else {
        panic!("not a report")
    };
    let f = r.fence.as_ref().expect("fence recorded");
    assert_eq!(f.actions[0].resource, "compute");
    assert!(render_text(&r).contains("compute: FAILED (States.Timeout: no answer in 60 s)"));
}

#[tokio::test]
async fn a_switchover_records_no_fence() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let mut req = record(&run, "succeeded", None);
    req["branches"]
        .as_array_mut()
        .unwrap()
        .push(json!({"step": "fence", "fence": null}));
    let Response::Report(r) = h.handle(req).await.expect("recorded") else {
        panic!("not a report")
    };
    assert!(r.fence.is_none());
    assert!(!render_text(&r).contains("Fence of"));
}

/// GIVEN runs that ended ABORTED (nothing moved), WHEN their reports are rendered, THEN each
/// says how to start again with the command of its own kind: a failback is asked for again
/// with `lifeboat failback` at the copy serving the shop, never with a failover command (which
/// would move the shop away from home). Fails on bfc4edf (every aborted report said `lifeboat
/// failover --to <target>`).
#[tokio::test]
async fn an_aborted_run_says_how_to_start_again_with_the_command_of_its_kind() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let error = json!({"Error": "ApprovalRejected", "Cause": "rejected by ops@example.com"});
    let Response::Report(mut r) = h
        .handle(record(&run, "aborted", Some(error)))
        .await
        .expect("recorded")
    else {
        panic!("not a report")
    };
    let text = render_text(&r);
    assert!(
        text.contains("Error: ApprovalRejected: rejected by ops@example.com"),
        "{text}"
    );
    assert!(
        text.contains(&format!("lifeboat failover --to {}", r.target_region)),
        "{text}"
    );

    r.kind = RunKind::Failback;
    (r.source_region, r.target_region) = (r.target_region.clone(), r.source_region.clone());
    let text = render_text(&r);
    assert!(
        text.contains(&format!("lifeboat failback --region {}", r.source_region)),
        "{text}"
    );
    assert!(!text.contains("lifeboat failover"), "{text}");
}

/// GIVEN run-1 recorded as succeeded: the handler and its report.
async fn given_a_run_recorded_as_succeeded() -> (Fakes, Box<Report>) {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let Response::Report(r) = h
        .handle(record(&run, "succeeded", None))
        .await
        .expect("recorded")
    else {
        panic!("not a report")
    };
    (h, r)
}

/// GIVEN a run's report announced by Notify, WHEN Step Functions runs Notify again (its
/// sandbox was lost after SNS accepted the message and before the function answered, chaos
/// seed 108, and every step is retried on `Runtime.ExitError`), THEN the report is not
/// published a second time and the retry answers with the first announcement. Fails on 77b42e7
/// (two messages).
#[tokio::test]
async fn a_notify_retried_after_it_published_does_not_announce_again() {
    let (h, r) = given_a_run_recorded_as_succeeded().await;
    let notify = json!({"action": "notify", "report": r});
    let Response::Notified(first) = h.handle(notify.clone()).await.expect("notified") else {
        panic!("not notified")
    };
    let Response::Notified(again) = h.handle(notify).await.expect("notified again") else {
        panic!("not notified")
    };
    assert_eq!(h.ports.notifier.messages().len(), 1);
    assert_eq!(again, first);
    assert!(first.announcement_recorded);
    assert!(
        h.ports
            .params
            .value("/lifeboat/shop/notices/announced/lifeboat-failover/run-1")
            .is_some()
    );
}

/// GIVEN a run whose recording failed, WHEN its unrecorded notice is delivered twice (a retry
/// after a lost sandbox), THEN one message reaches the topic. Fails on 77b42e7.
#[tokio::test]
async fn an_unrecorded_notice_retried_after_it_published_does_not_announce_again() {
    let (h, run) = given_a_run_in_progress().await;
    let notice = json!({"action": "notify_unrecorded", "run": run, "execution_arn": EXECUTION,
        "record_error": {"Error": "Transient", "Cause": "ssm: timed out"}});
    let Response::Notified(first) = h.handle(notice.clone()).await.expect("notified") else {
        panic!("not notified")
    };
    let Response::Notified(again) = h.handle(notice).await.expect("notified again") else {
        panic!("not notified")
    };
    assert_eq!(h.ports.notifier.messages().len(), 1);
    assert_eq!(again, first);
}

/// GIVEN the parameter store refuses the announcement's marker, WHEN Notify publishes the
/// report, THEN the step succeeds (the report went out; failing it would make Step Functions
/// publish it again) and its answer says the announcement was not recorded.
#[tokio::test]
async fn a_report_announced_whose_marker_cannot_be_written_is_not_failed_into_a_second_message() {
    let (h, r) = given_a_run_recorded_as_succeeded().await;
    h.ports
        .params
        .refuse_writes_under("/lifeboat/shop/notices/announced/");
    let Response::Notified(n) = h
        .handle(json!({"action": "notify", "report": r}))
        .await
        .expect("the report went out")
    else {
        panic!("not notified")
    };
    assert!(!n.announcement_recorded);
    assert_eq!(h.ports.notifier.messages().len(), 1);
}

/// GIVEN the parameter store is dark, WHEN a run whose recording failed is announced, THEN the
/// message still goes out (silence is worse than a second message).
#[tokio::test]
async fn an_unrecorded_notice_goes_out_when_its_marker_cannot_be_read() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.params.refuse_reads_under("/lifeboat/shop/notices/");
    let notice = json!({"action": "notify_unrecorded", "run": run, "execution_arn": EXECUTION});
    let Response::Notified(n) = h.handle(notice).await.expect("notified") else {
        panic!("not notified")
    };
    assert_eq!(h.ports.notifier.messages().len(), 1);
    assert!(n.subject.contains("UNRECORDED"), "{}", n.subject);
}

#[tokio::test]
async fn the_report_shows_the_capacity_traffic_shifted_at() {
    // GIVEN a failover whose compute step ended serving at the plan's share: web 3 of 6 running,
    // the workers' 6 instances in service (dr-scale-up's status answer, as the branch holds it)
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let mut req = record(&run, "succeeded", None);
    req["branches"][0]["status"] = json!({"state": "promoted", "writer_region": "us-west-2"});
    req["branches"][1]["status"] = json!({
        "state": "serving", "region": "us-west-2", "shift_at_capacity_percent": 50,
        "resources": [
            {"resource": "ecs:shop/web", "desired": 6, "ready": 3, "steady": false,
             "detail": "3 running, 3 pending, rollout COMPLETED"},
            {"resource": "asg:shop-workers-usw2", "desired": 6, "ready": 6, "steady": true,
             "detail": "6 of 6 instances in service"}
        ]
    });
    // WHEN the run is recorded
    let Response::Report(r) = h.handle(req).await.expect("recorded") else {
        panic!("not a report")
    };
    // THEN the report holds what ran when traffic shifted, and says scale-up went on
    let c = r.capacity_at_shift.as_ref().expect("capacity recorded");
    assert_eq!((c.ready, c.desired, c.percent()), (9, 12, 75));
    assert!(!c.full());
    let text = render_text(&r);
    assert!(
        text.contains(
            "Capacity at shift: 9 of 12 tasks and instances ready (75 %; the plan shifts at full \
             capacity); scale-up went on to full capacity after the shift (ecs:shop/web 3 of 6)"
        ),
        "{text}"
    );
    // AND a run recorded before the compute step ended has none
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let Response::Report(r) = h
        .handle(record(&run, "failed", None))
        .await
        .expect("recorded")
    else {
        panic!("not a report")
    };
    assert_eq!(r.capacity_at_shift, None);
}

#[tokio::test]
async fn the_cache_step_is_recorded_with_what_was_fenced_and_what_was_not_reached() {
    // GIVEN the database branch recorded the cache moved, the old region partly dark
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let mut req = record(&run, "succeeded", None);
    req["branches"].as_array_mut().unwrap().push(json!({
        "step": "database",
        "cache": {"value": {"state": "ready", "cache": {
            "master": "10.20.0.12:6379",
            "done": ["10.20.0.12:6379 becomes the master", "sentinel 10.20.0.21:26379 watches 10.20.0.12:6379"],
            "fenced": ["sentinel 10.10.0.21:26379 stops watching"],
            "not_reached": ["10.10.0.11:6379"],
            "behind_bytes": null
        }}}
    }));
    // WHEN the run is recorded
    let Response::Report(r) = h.handle(req).await.expect("recorded") else {
        panic!("not a report")
    };
    // THEN the report says where the cache's master is and what was left as it was
    let text = render_text(&r);
    assert!(
        text.contains("Cache: master 10.20.0.12:6379; 10.20.0.12:6379 becomes the master"),
        "{text}"
    );
    assert!(text.contains("NOT REACHED in the old region (left as they were; a person checks them): 10.10.0.11:6379"), "{text}");
    assert!(text.contains("what it had last is unknown"), "{text}");
}

#[tokio::test]
async fn a_cache_that_could_not_move_is_recorded_not_hidden_and_no_cache_records_nothing() {
    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let mut req = record(&run, "failed", None);
    req["branches"].as_array_mut().unwrap().push(json!({
        "step": "database",
        "cache": {"Error": "AccessDenied", "Cause": "redis 10.20.0.11:6379: WRONGPASS \u{1b}[31m"}
    }));
    let Response::Report(r) = h.handle(req).await.expect("recorded") else {
        panic!("not a report")
    };
    let text = render_text(&r);
    assert!(
        text.contains("Cache: NOT MOVED: AccessDenied: redis 10.20.0.11:6379: WRONGPASS"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "inert: {text}");

    let (h, run) = given_a_run_in_progress().await;
    h.ports.history.set(EXECUTION, a_successful_history());
    let mut req = record(&run, "succeeded", None);
    req["branches"].as_array_mut().unwrap().push(json!({
        "step": "database", "cache": {"value": {"state": "not_planned"}}
    }));
    let Response::Report(r) = h.handle(req).await.expect("recorded") else {
        panic!("not a report")
    };
    assert_eq!(r.cache, None);
    assert!(!render_text(&r).contains("Cache:"));
}

#[tokio::test]
async fn a_patroni_runs_fence_says_what_happens_to_its_database_not_aurora() {
    // Fails on 12b6e81: a Patroni plan's report said the old primary's database was "demoted by
    // Aurora's global failover", which nothing had done: a person reading it was misled.
    let (h, run) = given_a_run_in_progress().await;
    h.ports
        .params
        .put("/lifeboat/shop/plan", &plan_with_patroni(PLAN))
        .await
        .expect("plan");
    h.ports.history.set(EXECUTION, a_successful_history());
    let mut req = record(&run, "succeeded", None);
    req["branches"].as_array_mut().unwrap().push(json!({
        "step": "fence",
        "fence": {"region": "us-east-1", "actions": [
            {"resource": "ecs:shop/web", "outcome": "unreachable", "detail": "us-east-1: timed out"}
        ]}
    }));
    let Response::Report(r) = h.handle(req).await.expect("recorded") else {
        panic!("not a report")
    };
    let f = r.fence.as_ref().expect("fence recorded");
    let db = f.actions.last().expect("the database's action");
    assert_eq!(db.resource, "database:us-east-1 Patroni cluster");
    let text = render_text(&r);
    assert!(!text.contains("Aurora"), "{text}");
    assert!(
        text.contains("its own copy makes it a standby cluster of the new primary"),
        "{text}"
    );
}
