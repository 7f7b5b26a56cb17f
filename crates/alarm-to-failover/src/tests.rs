//! GIVEN / WHEN / THEN tests of the handler over in-memory fakes.

use std::time::Duration;

use lifeboat_core::fakes::*;
use lifeboat_core::ports::ExecutionStatus;
use lifeboat_core::trigger::AlarmState;
use serde_json::json;
use time::macros::datetime;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";
const ALARM: &str = "lifeboat-shop-primary-unhealthy";

type Fakes = Handler<
    FakeGlobalDatabase,
    FakeLag,
    FakeAlarms,
    FakeParameters,
    FakeWorkflow,
    FakeNotifier,
    FixedClock,
    FakeParameters,
    FakeWorkflow,
>;

/// GIVEN a shop whose primary is us-east-1, lifeboat in us-west-2, lag 2 s, the alarm in ALARM.
fn given_a_shop() -> Fakes {
    let lag = FakeLag::default();
    lag.set("shop-usw2", Duration::from_secs(2));
    let alarms = FakeAlarms::default();
    alarms.set(ALARM, AlarmState::Alarm);
    Handler {
        config: Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: "/lifeboat/shop/plan".into(),
                region: "us-west-2".into(),
            },
            state_machine_arn:
                "arn:aws:states:us-west-2:123456789012:stateMachine:lifeboat-failover".into(),
            peer_region: "us-east-1".into(),
        },
        ports: Ports {
            db: FakeGlobalDatabase::new("shop-global", EAST, WEST),
            lag,
            alarms,
            params: FakeParameters::with("/lifeboat/shop/plan", PLAN),
            workflow: FakeWorkflow::default(),
            notifier: FakeNotifier::default(),
            clock: FixedClock::at(datetime!(2026-11-22 03:00:30 UTC)),
            peer_params: FakeParameters::default(),
            peer_workflow: FakeWorkflow::default(),
        },
    }
}

fn alarm_event(name: &str, state: &str, previous: &str) -> Value {
    json!({
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-22T03:00:10Z",
        "region": "us-west-2",
        "resources": [format!("arn:aws:cloudwatch:us-west-2:123456789012:alarm:{name}")],
        "detail": {
            "alarmName": name,
            "state": {"value": state, "reason": "Threshold Crossed: 3 of 5 probes failed",
                      "reasonData": "{\"version\":\"1.0\"}", "timestamp": "2026-11-22T03:00:10.000+0000"},
            "previousState": {"value": previous, "reason": "ok", "timestamp": "2026-11-22T02:00:00.000+0000"},
            "configuration": {"metrics": []}
        }
    })
}

/// WHEN the plan's alarm goes from OK into ALARM.
async fn fire(h: &Fakes) -> Outcome {
    h.handle(alarm_event(ALARM, "ALARM", "OK"))
        .await
        .expect("handled")
}

/// The machine-readable reason of an ignored or refused outcome.
fn reason_of(o: &Outcome) -> serde_json::Value {
    serde_json::to_value(o).expect("json")["reason"]["reason"].clone()
}

fn outcome_name(o: &Outcome) -> String {
    serde_json::to_value(o).expect("json")["outcome"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

#[tokio::test]
async fn an_alarm_into_alarm_starts_one_switchover_run_with_approval() {
    let h = given_a_shop();
    let out = fire(&h).await;
    let Outcome::Started {
        run_id,
        request,
        duplicate,
        ..
    } = &out
    else {
        panic!("expected a start, got {out:?}")
    };
    assert!(!duplicate);
    assert_eq!(h.ports.workflow.names(), [run_id.to_string()]);
    assert_eq!(
        request.promotion,
        lifeboat_core::decision::PromotionMode::Switchover
    );
    assert!(matches!(
        request.approval,
        lifeboat_core::decision::Approval::Required { .. }
    ));
    let input = h.ports.workflow.input(run_id.as_str()).expect("input");
    assert_eq!(input["run"]["target_region"], "us-west-2");
    assert_eq!(input["run"]["source_region"], "us-east-1");
    assert!(
        h.ports.params.value("/lifeboat/shop/lock").is_some(),
        "the lock is held"
    );
    assert!(
        h.ports.db.calls().is_empty(),
        "deciding changes nothing in the database"
    );
}

#[tokio::test]
async fn twenty_copies_of_an_alarm_start_exactly_one_run() {
    let h = given_a_shop();
    let mut started = 0;
    for _ in 0..20 {
        let out = fire(&h).await;
        if matches!(
            out,
            Outcome::Started {
                duplicate: false,
                ..
            }
        ) {
            started += 1;
        }
    }
    assert_eq!(started, 1);
    assert_eq!(h.ports.workflow.names().len(), 1);
}

#[tokio::test]
async fn non_transitions_and_other_alarms_change_nothing() {
    let h = given_a_shop();
    let before = h.ports.params.snapshot();
    for (event, reason) in [
        (alarm_event(ALARM, "OK", "ALARM"), "not_into_alarm"),
        (
            alarm_event(ALARM, "INSUFFICIENT_DATA", "OK"),
            "not_into_alarm",
        ),
        (alarm_event(ALARM, "ALARM", "ALARM"), "already_in_alarm"),
        (alarm_event("cpu-high", "ALARM", "OK"), "not_a_plan_alarm"),
    ] {
        let out = h.handle(event).await.expect("handled");
        let v = serde_json::to_value(&out).expect("json");
        assert_eq!(v["outcome"], "ignored");
        assert_eq!(v["reason"]["reason"], reason, "{v}");
    }
    assert!(h.ports.workflow.names().is_empty());
    assert_eq!(h.ports.params.snapshot(), before);
}

#[tokio::test]
async fn a_muted_alarm_is_reported_and_not_acted_on() {
    let h = given_a_shop();
    let mut event = alarm_event(ALARM, "ALARM", "OK");
    event["detail"]["muteDetail"] = json!({"mutedBy": ["deploy-window"]});
    let out = h.handle(event).await.expect("handled");
    let v = serde_json::to_value(&out).expect("json");
    assert_eq!(v["reason"]["reason"], "muted");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("deploy-window"),
        "{v}"
    );
    assert!(h.ports.workflow.names().is_empty());
}

#[tokio::test]
async fn a_suppressed_composite_alarm_is_not_acted_on() {
    let h = given_a_shop();
    let mut event = alarm_event(ALARM, "ALARM", "OK");
    event["detail"]["state"]["actionsSuppressedBy"] = json!("WaitPeriod");
    let out = h.handle(event).await.expect("handled");
    assert_eq!(reason_of(&out), "actions_suppressed");
}

#[tokio::test]
async fn a_flap_is_ignored_when_the_alarm_is_back_to_ok() {
    let h = given_a_shop();
    h.ports.alarms.set(ALARM, AlarmState::Ok);
    let out = fire(&h).await;
    assert_eq!(reason_of(&out), "flap");
    assert!(h.ports.workflow.names().is_empty());
}

#[tokio::test]
async fn a_dark_primary_within_the_guard_fails_over_with_data_loss() {
    let h = given_a_shop();
    h.ports.db.go_dark("us-east-1");
    let out = fire(&h).await;
    let Outcome::Started { request, .. } = out else {
        panic!("expected a start")
    };
    assert_eq!(
        request.promotion,
        lifeboat_core::decision::PromotionMode::Failover {
            lag: Some(Duration::from_secs(2)),
            overridden: false
        }
    );
}

#[tokio::test]
async fn lag_above_the_guard_is_refused_and_announced_once() {
    let h = given_a_shop();
    h.ports.db.go_dark("us-east-1");
    h.ports.lag.set("shop-usw2", Duration::from_secs(45));
    for _ in 0..3 {
        let out = fire(&h).await;
        assert_eq!(outcome_name(&out), "refused");
    }
    let messages = h.ports.notifier.messages();
    assert_eq!(messages.len(), 1, "nobody is paged twice for one incident");
    assert!(
        messages[0].message.contains("45.0s"),
        "{}",
        messages[0].message
    );
    assert!(
        messages[0]
            .topic
            .ends_with(":us-west-2:123456789012:lifeboat-shop")
    );
    assert!(h.ports.workflow.names().is_empty());
    assert!(h.ports.params.value("/lifeboat/shop/lock").is_none());
}

#[tokio::test]
async fn a_refusal_that_could_not_be_announced_is_announced_on_the_next_delivery() {
    let h = given_a_shop();
    h.ports.db.go_dark("us-east-1");
    h.ports.lag.set("shop-usw2", Duration::from_secs(45));
    h.ports
        .notifier
        .fail_next(lifeboat_core::ErrorKind::Transient);
    let err = h
        .handle(alarm_event(ALARM, "ALARM", "OK"))
        .await
        .expect_err("not announced");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::Transient);
    assert!(h.ports.notifier.messages().is_empty());
    let out = fire(&h).await;
    assert!(
        matches!(out, Outcome::Refused { notified: true, .. }),
        "{out:?}"
    );
    assert_eq!(h.ports.notifier.messages().len(), 1);
}

#[tokio::test]
async fn a_start_that_fails_for_good_releases_the_lock_and_a_transient_one_keeps_it() {
    use lifeboat_core::ErrorKind;
    let h = given_a_shop();
    h.ports.workflow.fail_next(ErrorKind::AccessDenied);
    let err = h
        .handle(alarm_event(ALARM, "ALARM", "OK"))
        .await
        .expect_err("denied");
    assert_eq!(
        err.kind(),
        ErrorKind::AccessDenied,
        "the kind survives: {err}"
    );
    assert!(
        h.ports.params.value("/lifeboat/shop/lock").is_none(),
        "nothing started: lock freed"
    );

    h.ports.workflow.fail_next(ErrorKind::Transient);
    let err = h
        .handle(alarm_event(ALARM, "ALARM", "OK"))
        .await
        .expect_err("transient");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(
        h.ports.params.value("/lifeboat/shop/lock").is_some(),
        "kept for the retry"
    );

    // The retry (EventBridge redelivery) resumes the same run and starts it once.
    let out = h
        .handle(alarm_event(ALARM, "ALARM", "OK"))
        .await
        .expect("retried");
    assert!(
        matches!(
            out,
            Outcome::Started {
                duplicate: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(h.ports.workflow.names().len(), 1);
}

#[tokio::test]
async fn another_run_in_progress_wins() {
    let h = given_a_shop();
    // GIVEN another run's execution runs and holds the lock
    h.ports
        .workflow
        .started
        .lock()
        .expect("lock")
        .push(Started {
            name: "shop-to-us-west-2-1".into(),
            input: "{}".into(),
        });
    h.ports.params.values.lock().expect("lock").insert(
        "/lifeboat/shop/lock".into(),
        json!({"run_id": "shop-to-us-west-2-1", "target_region": "us-west-2",
               "acquired_at": "2026-11-22T02:00:00Z",
               "execution_arn": FakeWorkflow::arn("shop-to-us-west-2-1")})
        .to_string(),
    );
    let out = fire(&h).await;
    assert_eq!(reason_of(&out), "run_in_progress");
    assert_eq!(h.ports.workflow.names(), ["shop-to-us-west-2-1"]);
}

/// GIVEN a lock left by an execution that has ended (or that names none, long ago).
fn given_a_stale_lock(h: &Fakes, execution: Option<&str>) {
    let mut lock = json!({"run_id": "shop-to-us-west-2-1", "target_region": "us-west-2",
                          "acquired_at": "2026-11-22T02:00:00Z"});
    if let Some(name) = execution {
        h.ports.workflow.close(name, ExecutionStatus::Failed);
        lock["execution_arn"] = json!(FakeWorkflow::arn(name));
    }
    h.ports
        .params
        .values
        .lock()
        .expect("lock")
        .insert("/lifeboat/shop/lock".into(), lock.to_string());
}

#[tokio::test]
async fn a_stale_lock_never_hides_an_outage_it_is_taken_over_and_announced() {
    for execution in [Some("shop-to-us-west-2-1"), None] {
        let h = given_a_shop();
        given_a_stale_lock(&h, execution);
        let out = fire(&h).await;
        let Outcome::Started { run_id, .. } = &out else {
            panic!("{execution:?}: a run starts: {out:?}");
        };
        let lock = lifeboat_core::store::read_lock(&h.ports.params, "shop")
            .await
            .expect("read")
            .expect("held");
        assert_eq!(
            &lock.run_id, run_id,
            "{execution:?}: the new run holds the lock"
        );
        assert_eq!(lock.execution_arn, Some(FakeWorkflow::arn(run_id.as_str())));
        let pages: Vec<_> = h.ports.notifier.messages();
        assert_eq!(pages.len(), 1, "{execution:?}: {pages:?}");
        assert!(pages[0].subject.contains("STALE RUN LOCK"), "{pages:?}");
        assert!(
            pages[0]
                .message
                .contains(&format!("Run {run_id} has taken it over")),
            "{pages:?}"
        );
    }
}

#[tokio::test]
async fn a_stale_lock_is_announced_once_even_when_no_run_starts() {
    let h = given_a_shop();
    given_a_stale_lock(&h, Some("shop-to-us-west-2-1"));
    // the alarm is back to OK when re-read: a flap, nothing starts
    h.ports.alarms.set(ALARM, AlarmState::Ok);
    for _ in 0..3 {
        let out = fire(&h).await;
        assert!(matches!(out, Outcome::Ignored { .. }), "{out:?}");
    }
    let pages = h.ports.notifier.messages();
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(
        pages[0].message.contains("No run has taken it over yet"),
        "{pages:?}"
    );
}

#[tokio::test]
async fn a_name_taken_by_a_closed_execution_starts_a_new_attempt_and_frees_no_lock_to_it() {
    let h = given_a_shop();
    // GIVEN this incident's run ran and was aborted (its lock released), and the plan allows
    // another run at once
    let first = RunId::for_incident("shop", "us-west-2", datetime!(2026-11-22 03:00:10 UTC), 900);
    h.ports
        .workflow
        .close(first.as_str(), ExecutionStatus::Failed);
    let state = json!({"active_region": "us-east-1", "epoch": 0, "last_run": {
        "run_id": first, "target_region": "us-west-2", "started_at": "2026-11-22T03:00:10Z",
        "ended_at": "2026-11-22T03:00:20Z", "outcome": "aborted"}});
    h.ports
        .params
        .values
        .lock()
        .expect("lock")
        .insert("/lifeboat/shop/state".into(), state.to_string());
    let plan = PLAN.replace(
        "min_seconds_between_runs: 3600",
        "min_seconds_between_runs: 0",
    );
    assert_ne!(plan, PLAN);
    h.ports
        .params
        .values
        .lock()
        .expect("lock")
        .insert("/lifeboat/shop/plan".into(), plan);
    // WHEN the alarm fires again in the same window
    let out = fire(&h).await;
    // THEN a new attempt runs under its own name, holding the lock
    let Outcome::Started {
        run_id, duplicate, ..
    } = &out
    else {
        panic!("a new attempt starts: {out:?}");
    };
    assert_eq!(run_id.as_str(), format!("{first}-a2"));
    assert!(!duplicate);
    assert_eq!(h.ports.workflow.names(), [format!("{first}-a2")]);
    let lock = lifeboat_core::store::read_lock(&h.ports.params, "shop")
        .await
        .expect("read")
        .expect("held");
    assert_eq!(&lock.run_id, run_id);
}

#[tokio::test]
async fn a_closed_unrecorded_run_of_this_incident_is_never_run_twice() {
    let h = given_a_shop();
    let first = RunId::for_incident("shop", "us-west-2", datetime!(2026-11-22 03:00:10 UTC), 900);
    h.ports
        .workflow
        .close(first.as_str(), ExecutionStatus::Failed);
    let out = fire(&h).await;
    assert!(
        matches!(&out, Outcome::Started { run_id, duplicate: true, .. } if *run_id == first),
        "{out:?}"
    );
    assert!(h.ports.workflow.names().is_empty(), "nothing new started");
}

#[tokio::test]
async fn a_canary_report_over_threshold_starts_a_run() {
    let h = given_a_shop();
    let event = json!({
        "version": "0", "id": "1", "detail-type": CANARY_DETAIL_TYPE, "source": CANARY_SOURCE,
        "account": "123456789012", "time": "2026-11-22T03:00:20Z", "region": "us-west-2",
        "resources": [],
        "detail": {"app": "shop", "probed_region": "us-east-1", "failures": 4, "probes": 5,
                   "at": "2026-11-22T03:00:20Z", "evidence": ["https://use1.shop.example.com/healthz: 503"]}
    });
    let out = h.handle(event).await.expect("handled");
    assert_eq!(outcome_name(&out), "started");
}

#[tokio::test]
async fn malformed_events_are_invalid_input_and_change_nothing() {
    let h = given_a_shop();
    let before = h.ports.params.snapshot();
    for event in [
        json!(null),
        json!("ALARM"),
        json!({"detail-type": "CloudWatch Alarm State Change"}),
        json!({"detail-type": 5, "source": "aws.ec2", "detail": {}}),
        json!({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch", "detail": {"alarmName": 7}}),
        json!({"detail-type": CANARY_DETAIL_TYPE, "source": CANARY_SOURCE, "detail": {"app": "shop"}}),
    ] {
        let err = h.handle(event.clone()).await.expect_err("malformed");
        assert_eq!(
            err.kind(),
            lifeboat_core::ErrorKind::InvalidInput,
            "{event}: {err}"
        );
    }
    assert_eq!(h.ports.params.snapshot(), before);
    assert!(h.ports.workflow.names().is_empty());
}

#[tokio::test]
async fn a_missing_plan_is_not_found() {
    let mut h = given_a_shop();
    h.config.plan.plan_parameter = "/lifeboat/other/plan".into();
    let err = h
        .handle(alarm_event(ALARM, "ALARM", "OK"))
        .await
        .expect_err("no plan");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::NotFound);
}

#[tokio::test]
async fn the_example_events_parse() {
    for file in ["alarm-state-change.json", "canary-primary-unhealthy.json"] {
        let path = format!(
            "{}/../../events/alarm-to-failover/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("sample event");
        let event: Value = serde_json::from_str(&text).expect("json");
        parse_observation(event).expect(&path);
    }
}

/// GIVEN the primary dark and the newest lag datapoint 4 minutes old (a lag of 1 s, well
/// within the 30 s guard, but measured before the last 4 minutes of writes), WHEN the alarm
/// fires, THEN the lag counts as unknown: refused, announced once, nothing started.
#[tokio::test]
async fn a_lag_datapoint_older_than_the_guard_counts_as_unknown() {
    let h = given_a_shop();
    h.ports.db.go_dark("us-east-1");
    h.ports.lag.set_aged(
        "shop-usw2",
        Duration::from_secs(1),
        Duration::from_secs(240),
    );
    let out = fire(&h).await;
    let Outcome::Refused { reason, .. } = &out else {
        panic!("not refused: {out:?}");
    };
    assert_eq!(
        *reason,
        lifeboat_core::decision::Refusal::LagUnknown { guard_seconds: 30 }
    );
    assert!(h.ports.workflow.names().is_empty());
    assert_eq!(h.ports.notifier.messages().len(), 1);
    // a datapoint within the guard's age is judged as before
    let h = given_a_shop();
    h.ports.db.go_dark("us-east-1");
    h.ports
        .lag
        .set_aged("shop-usw2", Duration::from_secs(1), Duration::from_secs(20));
    assert_eq!(outcome_name(&fire(&h).await), "started");
}

fn canary_event(at: &str) -> Value {
    json!({
        "version": "0", "id": "1", "detail-type": CANARY_DETAIL_TYPE, "source": CANARY_SOURCE,
        "account": "123456789012", "time": at, "region": "us-west-2", "resources": [],
        "detail": {"app": "shop", "probed_region": "us-east-1", "failures": 5, "probes": 5,
                   "at": at, "evidence": ["https://use1.shop.example.com/healthz: 503"]}
    })
}

/// Well-formed CloudWatch events that are not a plan alarm's state change (a configuration
/// change, another source) are ignored with success and a reason: never an error, which would
/// make EventBridge or Lambda deliver them again.
#[tokio::test]
async fn other_well_formed_events_are_ignored_with_success() {
    let h = given_a_shop();
    for (source, detail_type) in [
        ("aws.cloudwatch", "CloudWatch Alarm Configuration Change"),
        (
            "aws.cloudwatch",
            "CloudWatch Alarm Contributor State Change",
        ),
        ("aws.ec2", "EC2 Instance State-change Notification"),
    ] {
        let mut event = alarm_event(ALARM, "ALARM", "OK");
        event["source"] = json!(source);
        event["detail-type"] = json!(detail_type);
        event["detail"] = json!({"alarmName": ALARM, "operation": "update"});
        let out = h.handle(event).await.expect("ignored, not an error");
        assert_eq!(outcome_name(&out), "ignored", "{detail_type}");
        assert_eq!(reason_of(&out), json!("not_a_trigger"), "{detail_type}");
    }
    assert!(h.ports.workflow.names().is_empty());
}

/// CloudWatch's direct alarm action (the alarm invokes the function itself) is accepted under
/// the same rules as the EventBridge event.
#[tokio::test]
async fn a_direct_alarm_action_is_a_trigger_under_the_same_rules() {
    let direct = |state: &str, previous: &str| {
        json!({
            "source": "aws.cloudwatch",
            "alarmArn": format!("arn:aws:cloudwatch:us-west-2:123456789012:alarm:{ALARM}"),
            "accountId": "123456789012",
            "time": "2026-11-22T03:00:10.000+0000",
            "region": "us-west-2",
            "alarmData": {
                "alarmName": ALARM,
                "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "2026-11-22T03:00:10.000+0000"},
                "previousState": {"value": previous, "reason": "ok", "timestamp": "2026-11-22T02:00:00.000+0000"},
                "configuration": {"metrics": []}
            }
        })
    };
    let h = given_a_shop();
    let out = h.handle(direct("OK", "ALARM")).await.expect("handled");
    assert_eq!(outcome_name(&out), "ignored");
    let out = h.handle(direct("ALARM", "OK")).await.expect("handled");
    assert_eq!(outcome_name(&out), "started");
    let out = h.handle(direct("ALARM", "OK")).await.expect("handled");
    assert!(
        matches!(
            out,
            Outcome::Started {
                duplicate: true,
                ..
            }
        ),
        "{out:?}"
    );
}

/// Only a report of now speaks for the canary: a canary event timed an hour ago (or in the
/// future) is ignored, and a muted failover alarm holds back the canary's reports too.
#[tokio::test]
async fn a_forged_or_old_canary_report_and_a_mute_hold_back_the_canary() {
    let h = given_a_shop();
    let out = h
        .handle(canary_event("2026-11-22T02:00:30Z"))
        .await
        .expect("handled");
    assert_eq!(reason_of(&out), json!("out_of_time"), "{out:?}");
    let out = h
        .handle(canary_event("2026-11-22T03:10:30Z"))
        .await
        .expect("handled");
    assert_eq!(reason_of(&out), json!("out_of_time"), "{out:?}");
    h.ports
        .alarms
        .mute(ALARM, "its actions are disabled (DisableAlarmActions)");
    let out = h
        .handle(canary_event("2026-11-22T03:00:20Z"))
        .await
        .expect("handled");
    assert_eq!(reason_of(&out), json!("muted"), "{out:?}");
    assert!(out_message(&out).contains("DisableAlarmActions"), "{out:?}");
    assert!(h.ports.workflow.names().is_empty());
    assert!(h.ports.notifier.messages().is_empty());
}

fn out_message(o: &Outcome) -> String {
    serde_json::to_value(o).expect("json")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// GIVEN a canary event whose evidence holds a 1 MiB line, a Slack mention, a disguised link,
/// an ANSI escape and a right-to-left override, WHEN it starts a run, THEN what the function
/// keeps (its response, the run request the workflow gets, its logs) is bounded and inert.
#[tokio::test]
async fn hostile_event_text_is_kept_bounded_and_inert() {
    let h = given_a_shop();
    let mut event = canary_event("2026-11-22T03:00:20Z");
    let mut evidence: Vec<String> = vec![
        "x".repeat(1 << 20),
        "<!channel> approve now".into(),
        "<https://evil.example|Approve>".into(),
        "\u{1b}[31mred\u{202e}txt\u{200b}".into(),
    ];
    evidence.extend((0..40).map(|i| format!("line {i}")));
    event["detail"]["evidence"] = json!(evidence);
    let out = h.handle(event).await.expect("handled");
    assert_eq!(outcome_name(&out), "started");
    let response = serde_json::to_string(&out).expect("json");
    assert!(response.len() < 16_000, "{} bytes", response.len());
    assert!(!response.contains('\u{202e}') && !response.contains('\u{1b}'));
    assert!(response.contains("\\\\u{202e}"), "{response}");
    let Outcome::Started { request, .. } = out else {
        panic!()
    };
    let lifeboat_core::trigger::Trigger::Canary { evidence, .. } = &request.trigger else {
        panic!()
    };
    assert_eq!(evidence.len(), EVIDENCE_LINES);
    assert!(evidence.iter().all(|e| e.chars().count() <= EVIDENCE_CHARS));
}

// --- the two copies never run at once (issue 18, item 3) ------------------------------------

fn peer_lock(h: &Fakes, execution: &str) {
    h.ports.peer_params.values.lock().unwrap().insert(
        "/lifeboat/shop/lock".into(),
        json!({"run_id": "shop-to-us-east-1-1795315000", "target_region": "us-east-1",
               "acquired_at": "2026-11-22T02:50:00Z",
               "execution_arn": FakeWorkflow::arn(execution)})
        .to_string(),
    );
}

#[tokio::test]
async fn a_run_in_the_other_copy_holds_this_one_back() {
    // GIVEN the copy in us-east-1 runs (its lock names a running execution)
    let h = given_a_shop();
    peer_lock(&h, "shop-to-us-east-1-1795315000");
    h.ports
        .peer_workflow
        .start("shop-to-us-east-1-1795315000", "{}")
        .await
        .unwrap();
    // WHEN this copy's alarm fires
    let out = fire(&h).await;
    // THEN nothing starts here, and the reason names the other copy's run
    assert_eq!(reason_of(&out), "other_copy_running", "{out:?}");
    assert!(h.ports.workflow.names().is_empty());
    assert!(h.ports.params.value("/lifeboat/shop/lock").is_none());
}

#[tokio::test]
async fn a_stale_lock_in_the_other_copy_holds_nothing_back() {
    let h = given_a_shop();
    peer_lock(&h, "shop-to-us-east-1-1795315000");
    h.ports
        .peer_workflow
        .close("shop-to-us-east-1-1795315000", ExecutionStatus::Failed);
    let out = fire(&h).await;
    assert_eq!(outcome_name(&out), "started", "{out:?}");
}

#[tokio::test]
async fn an_unreadable_other_lock_is_recorded_and_the_run_goes_on() {
    let h = given_a_shop();
    let h = Handler {
        config: h.config,
        ports: Ports {
            db: h.ports.db,
            lag: h.ports.lag,
            alarms: h.ports.alarms,
            params: h.ports.params,
            workflow: h.ports.workflow,
            notifier: h.ports.notifier,
            clock: h.ports.clock,
            peer_params: DarkParameters,
            peer_workflow: h.ports.peer_workflow,
        },
    };
    let out = h
        .handle(alarm_event(ALARM, "ALARM", "OK"))
        .await
        .expect("handled");
    let Outcome::Started { request, .. } = &out else {
        panic!("{out:?}")
    };
    let why = request.readiness.peer_lock_unread.as_deref().unwrap_or("");
    assert!(
        why.contains("could not read the run lock of the copy in us-east-1"),
        "{why}"
    );
}

// -- Alertmanager's webhook (issue 22, item 2) ---------------------------------------------------

const AM_TOKEN: &str = "am-token-3f9c1e7d";
const AM_TOKEN_PARAMETER: &str = "/lifeboat/shop/alertmanager-token";

/// GIVEN the shop, its plan naming Alertmanager's `PrimaryRegionDown{severity="critical"}` about
/// us-east-1, and the webhook's token in the parameter store.
fn given_a_shop_with_alertmanager() -> Fakes {
    let h = given_a_shop();
    let plan = PLAN.replace(
        "  canary: { failures_required: 3, of_probes: 5 }\n",
        "  canary: { failures_required: 3, of_probes: 5 }
  alertmanager:
    token_parameter: /lifeboat/shop/alertmanager-token
    alerts:
      - { alertname: PrimaryRegionDown, labels: { severity: critical }, region: us-east-1 }
",
    );
    assert_ne!(plan, PLAN);
    h.ports.params.insert("/lifeboat/shop/plan", &plan);
    h.ports.params.insert(AM_TOKEN_PARAMETER, AM_TOKEN);
    h
}

/// Alertmanager's notification (payload version 4) of PrimaryRegionDown, `status` for the group
/// and the alert.
fn am_notification(status: &str) -> Value {
    json!({
        "receiver": "lifeboat", "status": status, "version": "4", "truncatedAlerts": 0,
        "groupKey": "{}/{severity=\"critical\"}:{alertname=\"PrimaryRegionDown\"}",
        "groupLabels": {"alertname": "PrimaryRegionDown"}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "PrimaryRegionDown", "severity": "critical", "region": "nyc3"},
            "annotations": {"summary": "the primary region does not answer"},
            "startsAt": "2026-11-22T03:00:05.5Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": "1a30ba71cca2921f"
        }]
    })
}

/// A Function URL request as Lambda delivers it.
fn url_request(method: &str, path: &str, authorization: Option<&str>, body: &str) -> Value {
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    headers.insert("user-agent".into(), json!("Alertmanager/0.25.0"));
    if let Some(a) = authorization {
        headers.insert("authorization".into(), json!(a));
    }
    json!({
        "version": "2.0", "rawPath": path, "rawQueryString": "", "headers": headers,
        "requestContext": {
            "accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.us-west-2.on.aws",
            "domainPrefix": "abc", "requestId": "r1", "routeKey": "$default", "stage": "$default",
            "time": "22/Nov/2026:03:00:30 +0000", "timeEpoch": 1_795_402_830_000_i64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "Alertmanager/0.25.0"}
        },
        "body": body, "isBase64Encoded": false
    })
}

/// WHEN Alertmanager posts `body` with the token (or `authorization` as given).
async fn post(h: &Fakes, authorization: Option<&str>, body: &str) -> (u16, Value) {
    let r = h
        .serve_url(url_request("POST", "/alertmanager", authorization, body))
        .await
        .expect("a response, never an error");
    let body = r.body.unwrap_or_default();
    assert!(
        !body.contains(AM_TOKEN),
        "the token is never echoed: {body}"
    );
    (
        u16::try_from(r.status_code).expect("status"),
        serde_json::from_str(&body).expect("a JSON answer"),
    )
}

fn bearer() -> String {
    format!("Bearer {AM_TOKEN}")
}

/// Nothing happened: no execution, no lock, no message.
fn nothing_changed(h: &Fakes) {
    assert!(h.ports.workflow.names().is_empty(), "no execution");
    assert!(
        h.ports.params.value("/lifeboat/shop/lock").is_none(),
        "no lock"
    );
    assert!(h.ports.notifier.messages().is_empty(), "no message");
}

#[tokio::test]
async fn a_firing_plan_alert_with_the_token_starts_one_run_and_its_repeats_name_the_same_run() {
    let h = given_a_shop_with_alertmanager();
    // WHEN Alertmanager posts the firing alert, then repeats it (group_interval, repeat_interval)
    let body = am_notification("firing").to_string();
    let (status, first) = post(&h, Some(&bearer()), &body).await;
    let (status2, repeat) = post(&h, Some(&bearer()), &body).await;
    // THEN one run started, timed at the alert's start; the repeat names the same run
    assert_eq!((status, status2), (200, 200), "{first} {repeat}");
    assert_eq!(first["outcome"], "started", "{first}");
    assert_eq!(first["duplicate"], false);
    assert_eq!(repeat["outcome"], "started", "{repeat}");
    assert_eq!(repeat["duplicate"], true);
    assert_eq!(first["run_id"], repeat["run_id"]);
    let run = RunId::for_incident(
        "shop",
        "us-west-2",
        datetime!(2026-11-22 03:00:05.5 UTC),
        900,
    );
    assert_eq!(h.ports.workflow.names(), [run.to_string()]);
    assert!(
        first.get("request").is_none(),
        "the run request stays inside"
    );
}

#[tokio::test]
async fn a_request_without_the_plans_bearer_token_changes_nothing() {
    let h = given_a_shop_with_alertmanager();
    let body = am_notification("firing").to_string();
    for authorization in [
        None,
        Some("Bearer wrong-token".to_string()),
        Some(format!("Basic {AM_TOKEN}")),
        Some(format!("Bearer {AM_TOKEN}x")),
        Some(AM_TOKEN.to_string()),
    ] {
        let (status, answer) = post(&h, authorization.as_deref(), &body).await;
        assert_eq!(status, 401, "{authorization:?}: {answer}");
    }
    nothing_changed(&h);
}

#[tokio::test]
async fn bad_bodies_are_a_clean_400_and_start_nothing() {
    let h = given_a_shop_with_alertmanager();
    let mut v3 = am_notification("firing");
    v3["version"] = json!("3");
    let mut no_start = am_notification("firing");
    no_start["alerts"][0]
        .as_object_mut()
        .expect("alert")
        .remove("startsAt");
    for body in [
        String::new(),
        "not json".to_string(),
        "{}".to_string(),
        v3.to_string(),
        no_start.to_string(),
        format!("{{\"version\": \"4\", \"x\": \"{}\"}}", "y".repeat(300_000)),
    ] {
        let (status, answer) = post(&h, Some(&bearer()), &body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["message"].as_str().expect("a message");
        assert!(message.chars().count() <= 500, "{message}");
    }
    nothing_changed(&h);
}

#[tokio::test]
async fn resolved_muted_and_unplanned_alerts_are_answered_and_start_nothing() {
    let h = given_a_shop_with_alertmanager();
    // a resolved notification
    let (status, answer) = post(
        &h,
        Some(&bearer()),
        &am_notification("resolved").to_string(),
    )
    .await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")));
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("resolved")),
        "{answer}"
    );
    // an alert the plan does not name
    let mut other = am_notification("firing");
    other["alerts"][0]["labels"]["alertname"] = json!("DiskFull");
    let (status, answer) = post(&h, Some(&bearer()), &other.to_string()).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")));
    // a person muted the failover alarm: automatic triggers are held back, Alertmanager's too
    h.ports.alarms.mute(ALARM, "maintenance window");
    let (status, answer) = post(&h, Some(&bearer()), &am_notification("firing").to_string()).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")));
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("maintenance window")),
        "{answer}"
    );
    nothing_changed(&h);
}

#[tokio::test]
async fn the_url_answers_only_its_route_and_only_when_the_plan_names_alertmanager() {
    let h = given_a_shop_with_alertmanager();
    let body = am_notification("firing").to_string();
    let status = |r: LambdaFunctionUrlResponse| r.status_code;
    let get = h
        .serve_url(url_request("GET", "/alertmanager", Some(&bearer()), &body))
        .await
        .expect("response");
    assert_eq!(status(get), 405);
    let elsewhere = h
        .serve_url(url_request("POST", "/", Some(&bearer()), &body))
        .await
        .expect("response");
    assert_eq!(status(elsewhere), 404);
    // a plan without triggers.alertmanager
    h.ports.params.insert("/lifeboat/shop/plan", PLAN);
    let (code, answer) = post(&h, Some(&bearer()), &body).await;
    assert_eq!(code, 404, "{answer}");
    nothing_changed(&h);
}

#[tokio::test]
async fn an_unreadable_token_is_a_retryable_answer_and_a_missing_one_a_set_up_error() {
    let h = given_a_shop_with_alertmanager();
    let body = am_notification("firing").to_string();
    // WHEN SSM cannot be read now: 503, which Alertmanager retries
    h.ports.params.refuse_reads_under(AM_TOKEN_PARAMETER);
    let (code, _) = post(&h, Some(&bearer()), &body).await;
    assert_eq!(code, 503);
    nothing_changed(&h);
    // WHEN the parameter does not exist: 500, the set-up is wrong
    let h = given_a_shop_with_alertmanager();
    h.ports.params.remove(AM_TOKEN_PARAMETER);
    let (code, answer) = post(&h, Some(&bearer()), &body).await;
    assert_eq!(code, 500, "{answer}");
    nothing_changed(&h);
}

#[tokio::test]
async fn the_webhook_function_takes_url_requests_only_and_alarm_to_failover_events_only() {
    let h = given_a_shop_with_alertmanager();
    // an alarm event reaching the webhook's function is refused, nothing started
    let e = h
        .serve_url(alarm_event(ALARM, "ALARM", "OK"))
        .await
        .expect_err("not a URL request");
    assert_eq!(e.kind(), lifeboat_core::ErrorKind::InvalidInput);
    // a URL request reaching alarm-to-failover is refused, nothing started
    let body = am_notification("firing").to_string();
    let e = h
        .handle(url_request("POST", "/alertmanager", Some(&bearer()), &body))
        .await
        .expect_err("not an event");
    assert_eq!(e.kind(), lifeboat_core::ErrorKind::InvalidInput);
    nothing_changed(&h);
}

#[tokio::test]
async fn the_example_notification_is_a_url_request_the_webhook_reads() {
    // GIVEN events/alertmanager-webhook/notification.json (its token is not the plan's)
    let path = format!(
        "{}/../../events/alertmanager-webhook/notification.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("sample")).expect("json");
    let h = given_a_shop_with_alertmanager();
    // THEN the webhook reads it as a request and refuses it for the token; with the plan's
    // token its body is a notification of the plan's alert
    let r = h.serve_url(event.clone()).await.expect("a response");
    assert_eq!(r.status_code, 401);
    let request: LambdaFunctionUrlRequest =
        serde_json::from_value(event).expect("a Function URL request");
    let Observation::Alertmanager(n) = webhook::observation(&request).expect("a notification")
    else {
        panic!("an Alertmanager observation")
    };
    assert_eq!(n.alerts[0].alertname(), "PrimaryRegionDown");
    nothing_changed(&h);
}
