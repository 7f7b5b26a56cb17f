//! GIVEN / WHEN / THEN tests of the handler over in-memory fakes.

use std::time::Duration;

use lifeboat_core::ErrorKind;
use lifeboat_core::decision::Approval;
use lifeboat_core::fakes::*;
use lifeboat_core::run::{LockRecord, lock_parameter};
use serde_json::json;
use time::macros::datetime;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";
const NOW: time::OffsetDateTime = datetime!(2026-11-22 05:00 UTC);

type Fakes = Handler<
    FakeGlobalDatabase,
    FakeLag,
    FakeHealthHistory,
    FakeParameters,
    FakeWorkflow,
    FixedClock,
    FakeParameters,
    FakeWorkflow,
>;

/// GIVEN the shop failed over into us-west-2 (lifeboat here runs in us-west-2); us-east-1 has
/// rejoined as a connected secondary 0.2 s behind and the canary has seen it healthy for 40 min
/// (the example plan requires 30).
fn settled() -> Fakes {
    let lag = FakeLag::default();
    lag.set("shop-use1", Duration::from_millis(200));
    let health = FakeHealthHistory::default();
    health.set("us-east-1", Some(Duration::from_secs(40 * 60)));
    Handler {
        config: Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: "/lifeboat/shop/plan".into(),
                region: "us-west-2".into(),
            },
            state_machine_arn:
                "arn:aws:states:us-west-2:123456789012:stateMachine:lifeboat-shop-failback".into(),
            poll_seconds: 2,
            step_deadline_seconds: 61,
            peer_region: "us-east-1".into(),
        },
        ports: Ports {
            db: FakeGlobalDatabase::new("shop-global", WEST, EAST),
            lag,
            health,
            params: FakeParameters::with("/lifeboat/shop/plan", PLAN),
            workflow: FakeWorkflow::default(),
            clock: FixedClock::at(NOW),
            peer_params: FakeParameters::default(),
            peer_workflow: FakeWorkflow::default(),
        },
    }
}

async fn request(h: &Fakes, by: Option<&str>) -> Outcome {
    let event = match by {
        Some(who) => json!({"action": "request", "requested_by": who}),
        None => json!({"action": "request"}),
    };
    match h.handle(event).await.expect("handled") {
        Response::Outcome(o) => *o,
        other => panic!("not an outcome: {other:?}"),
    }
}

fn refusals(o: &Outcome) -> Vec<String> {
    match o {
        Outcome::Refused { reasons, .. } => reasons
            .iter()
            .map(|r| {
                serde_json::to_value(r).expect("json")["reason"]
                    .as_str()
                    .expect("reason")
                    .to_string()
            })
            .collect(),
        Outcome::Started { .. } => vec![],
    }
}

#[tokio::test]
async fn a_settled_shop_goes_home_with_a_planned_switchover() {
    let h = settled();
    // WHEN an operator asks
    let out = request(&h, Some("ana")).await;
    // THEN the failback run starts, holding the lock, as a switchover into us-east-1
    let Outcome::Started {
        run_id, request, ..
    } = out
    else {
        panic!("not started: {out:?}");
    };
    assert!(
        run_id.as_str().starts_with("shop-back-to-us-east-1-"),
        "{run_id}"
    );
    assert_eq!(request.kind, RunKind::Failback);
    assert_eq!(request.source_region, "us-west-2");
    assert_eq!(request.target_region, "us-east-1");
    assert_eq!(request.promotion, PromotionMode::Switchover);
    assert_eq!(request.approval, Approval::RequestedByOperator);
    assert_eq!(h.ports.workflow.names(), vec![run_id.to_string()]);
    let input = h.ports.workflow.input(run_id.as_str()).expect("input");
    assert_eq!(input["run"]["kind"], "failback");
    let lock = h
        .ports
        .params
        .value(&lock_parameter("shop"))
        .expect("lock taken");
    assert!(lock.contains(run_id.as_str()), "{lock}");
    // nothing on the database was touched: the machine does that, after Assess
    assert!(h.ports.db.calls().is_empty());

    // AND the machine's Assess agrees, holding the lock
    let assessment = match h
        .handle(json!({"action": "assess", "run": *request}))
        .await
        .expect("assessed")
    {
        Response::Assessment(a) => a,
        other => panic!("not an assessment: {other:?}"),
    };
    assert_eq!(assessment.to_region, "us-east-1");
    assert!(!assessment.approval_required);
    assert_eq!(
        (assessment.pacing.poll_seconds, assessment.pacing.max_polls),
        (2, 31)
    );
}

#[tokio::test]
async fn without_a_person_asking_the_plans_approval_applies() {
    let h = settled();
    let Outcome::Started { request, .. } = request(&h, None).await else {
        panic!("not started");
    };
    assert!(matches!(request.approval, Approval::Required { .. }));
    let Response::Assessment(a) = h
        .handle(json!({"action": "assess", "run": *request}))
        .await
        .expect("assessed")
    else {
        panic!("not an assessment");
    };
    assert!(a.approval_required);
    assert_eq!(a.approval_timeout_seconds, 15 * 60);
}

#[tokio::test]
async fn every_unmet_condition_is_named_and_nothing_changes() {
    // GIVEN right after the failover: home resyncing, lag unknown, the canary sees it failing,
    // and the failover run still holds the lock
    let h = settled();
    {
        let mut view = h.ports.db.view.lock().expect("view");
        let view = view.as_mut().expect("view");
        view.members[1].synchronization_status = Some("pending-resync".into());
    }
    h.ports.lag.samples.lock().expect("lag").clear();
    h.ports.health.set("us-east-1", None);
    let lock = LockRecord {
        run_id: RunId::parse("shop-to-us-west-2-1795310100").expect("id"),
        target_region: "us-west-2".into(),
        acquired_at: NOW,
        execution_arn: None,
    };
    h.ports
        .params
        .put(
            &lock_parameter("shop"),
            &serde_json::to_string(&lock).expect("json"),
        )
        .await
        .expect("put");
    let before = h.ports.params.snapshot();

    let out = request(&h, Some("ana")).await;

    assert_eq!(
        refusals(&out),
        vec![
            "home_not_synchronized",
            "lag_unknown",
            "home_unhealthy",
            "run_in_progress"
        ]
    );
    let Outcome::Refused { message, .. } = &out else {
        panic!("refused");
    };
    assert!(
        message.contains("pending-resync") && message.contains("shop-to-us-west-2-1795310100"),
        "{message}"
    );
    assert_eq!(h.ports.params.snapshot(), before, "nothing written");
    assert!(h.ports.workflow.names().is_empty());
    assert!(h.ports.db.calls().is_empty());
}

#[tokio::test]
async fn each_threshold_refuses_alone() {
    // GIVEN lag 1.5 s (plan: 1 s)
    let h = settled();
    h.ports.lag.set("shop-use1", Duration::from_millis(1_500));
    assert_eq!(
        refusals(&request(&h, Some("ana")).await),
        vec!["lag_above_threshold"]
    );
    // GIVEN healthy for 29 min (plan: 30)
    let h = settled();
    h.ports
        .health
        .set("us-east-1", Some(Duration::from_secs(29 * 60)));
    assert_eq!(
        refusals(&request(&h, Some("ana")).await),
        vec!["home_not_healthy_long_enough"]
    );
    // GIVEN home is the writer already
    let h = settled();
    *h.ports.db.view.lock().expect("view") = Some(
        FakeGlobalDatabase::new("shop-global", EAST, WEST)
            .view
            .lock()
            .expect("view")
            .clone()
            .expect("view"),
    );
    assert_eq!(
        refusals(&request(&h, Some("ana")).await),
        vec!["already_home"]
    );
}

#[tokio::test]
async fn the_copy_that_does_not_serve_the_shop_refuses() {
    // GIVEN the shop served from us-west-2, and this copy runs in us-east-1 (home)
    let mut h = settled();
    h.config.plan.region = "us-east-1".into();
    let out = request(&h, Some("ana")).await;
    assert_eq!(refusals(&out), vec!["not_serving_here"]);
    assert!(h.ports.workflow.names().is_empty());
}

#[tokio::test]
async fn assess_refuses_a_run_without_the_lock_or_once_things_changed() {
    let h = settled();
    let Outcome::Started { request: run, .. } = request(&h, Some("ana")).await else {
        panic!("not started");
    };
    // WHEN home's lag rises before the machine assesses
    h.ports.lag.set("shop-use1", Duration::from_secs(5));
    let err = h
        .handle(json!({"action": "assess", "run": &*run}))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(
        err.to_string().contains("above the failback threshold"),
        "{err}"
    );

    // WHEN the lock is gone
    h.ports.lag.set("shop-use1", Duration::from_millis(100));
    h.ports
        .params
        .delete(&lock_parameter("shop"))
        .await
        .expect("delete");
    let err = h
        .handle(json!({"action": "assess", "run": &*run}))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(
        err.to_string().contains("does not hold the run lock"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_input_is_invalid_and_changes_nothing() {
    let h = settled();
    let before = h.ports.params.snapshot();
    for event in [
        json!({}),
        json!({"action": "go-home"}),
        json!({"action": "request", "requested_by": 7}),
        json!({"action": "assess"}),
        json!("failback"),
    ] {
        let err = h.handle(event.clone()).await.expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{event}");
    }
    // a failover run handed to the failback machine is refused as invalid input
    let Outcome::Started { request: run, .. } = request(&settled(), Some("ana")).await else {
        panic!("not started");
    };
    let mut failover = (*run).clone();
    failover.kind = RunKind::Failover;
    let err = h
        .handle(json!({"action": "assess", "run": failover}))
        .await
        .expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(h.ports.params.snapshot(), before);
    assert!(h.ports.workflow.names().is_empty());
}

#[tokio::test]
async fn a_start_that_fails_for_good_releases_the_lock() {
    let h = settled();
    h.ports.workflow.fail_next(ErrorKind::InvalidInput);
    let err = h
        .handle(json!({"action": "request", "requested_by": "ana"}))
        .await
        .expect_err("failed");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(h.ports.params.value(&lock_parameter("shop")), None);
}

#[tokio::test]
async fn the_sample_events_parse() {
    let sample = |name: &str| -> Request {
        let path = format!(
            "{}/../../events/failback-orchestrator/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("sample");
        serde_json::from_str(&text).expect("a request")
    };
    assert!(matches!(
        sample("request"),
        Request::Request {
            requested_by: Some(_)
        }
    ));
    let Request::Assess { run, .. } = sample("assess") else {
        panic!("assess");
    };
    assert_eq!(run.kind, RunKind::Failback);
    assert_eq!(
        (run.source_region.as_str(), run.target_region.as_str()),
        ("us-west-2", "us-east-1")
    );
}

#[tokio::test]
async fn a_run_in_the_home_copy_refuses_the_failback() {
    // GIVEN the copy in us-east-1 runs (an operator's failover into us-east-1)
    let h = settled();
    h.ports.peer_params.values.lock().unwrap().insert(
        "/lifeboat/shop/lock".into(),
        json!({"run_id": "shop-to-us-east-1-1795315000-op", "target_region": "us-east-1",
               "acquired_at": "2026-11-22T02:50:00Z",
               "execution_arn": FakeWorkflow::arn("shop-to-us-east-1-1795315000-op")})
        .to_string(),
    );
    h.ports
        .peer_workflow
        .start("shop-to-us-east-1-1795315000-op", "{}")
        .await
        .unwrap();
    // WHEN an operator asks to fail back
    let out = request(&h, Some("ops@shop")).await;
    // THEN refused, naming the other copy's run; nothing started
    let Outcome::Refused { reasons, .. } = &out else {
        panic!("{out:?}")
    };
    assert!(
        reasons
            .iter()
            .any(|r| matches!(r, FailbackRefusal::OtherCopyRunning { region, .. } if region == "us-east-1")),
        "{reasons:?}"
    );
    assert!(h.ports.workflow.names().is_empty());
}

#[tokio::test]
async fn an_unreadable_home_copy_lock_is_recorded_in_the_snapshot() {
    let h = settled();
    let h = Handler {
        config: h.config,
        ports: Ports {
            db: h.ports.db,
            lag: h.ports.lag,
            health: h.ports.health,
            params: h.ports.params,
            workflow: h.ports.workflow,
            clock: h.ports.clock,
            peer_params: DarkParameters,
            peer_workflow: h.ports.peer_workflow,
        },
    };
    let out = h
        .handle(json!({"action": "request", "requested_by": "ops@shop"}))
        .await
        .unwrap();
    let v = serde_json::to_value(&out).unwrap();
    assert!(
        v.to_string()
            .contains("could not read the run lock of the copy in us-east-1"),
        "{v}"
    );
}

// ---- PostgreSQL under Patroni (issue 22): the same decision, read from both regions' members.

const EAST_REGION: &str = "us-east-1";
const WEST_REGION: &str = "us-west-2";

fn rest_auth() -> lifeboat_core::ports::PatroniAuth {
    lifeboat_core::ports::PatroniAuth {
        username: "lifeboat".into(),
        password: lifeboat_core::ports::Secret::new("rest-pw"),
    }
}

/// GIVEN a Patroni plan and the shop served from us-west-2's cluster (the primary); us-east-1's
/// cluster a standby cluster streaming from it, caught up; the canary has seen home healthy for
/// 40 min. (Aurora's fake describes nothing about this shop: a Patroni plan never asks it.)
fn settled_on_patroni() -> Fakes {
    let mut h = settled();
    h.ports.params = FakeParameters::with("/lifeboat/shop/plan", &plan_with_patroni(PLAN));
    h.ports.db = FakeGlobalDatabase::new("other-global", EAST, WEST);
    h.ports.db.patroni = FakePatroni::new(WEST_REGION, EAST_REGION);
    h.ports.lag.samples.lock().expect("lag").clear();
    h
}

/// GIVEN the same plan right after a failover with data loss into us-west-2: us-east-1 was
/// dark, us-west-2's standby cluster was promoted onto a new timeline; then us-east-1 came back
/// as it was, a primary of its own on the old timeline.
async fn failed_over_on_patroni_and_home_back_as_its_own_primary() -> Fakes {
    let mut h = settled_on_patroni();
    h.ports.db.patroni = FakePatroni::new(EAST_REGION, WEST_REGION);
    h.ports
        .db
        .patroni
        .failed_over_while_dark(EAST_REGION, WEST_REGION);
    // this copy's run recorded us-west-2 active
    h.ports
        .params
        .put(
            "/lifeboat/shop/state",
            r#"{"active_region":"us-west-2","epoch":1,"last_run":null}"#,
        )
        .await
        .expect("state");
    h
}

#[tokio::test]
async fn a_patroni_shop_goes_home_when_home_streams_from_the_writer_and_has_it_all() {
    // Fails on 12b6e81: the failback snapshot asked for the plan's global cluster, which a
    // Patroni plan has none of (PreconditionFailed), so a Patroni shop could never come home.
    let h = settled_on_patroni();
    let out = request(&h, Some("ana")).await;
    let Outcome::Started { request, .. } = out else {
        panic!("not started: {out:?}");
    };
    assert_eq!(request.source_region, WEST_REGION);
    assert_eq!(request.target_region, EAST_REGION);
    assert_eq!(request.promotion, PromotionMode::Switchover);
    assert!(
        request.readiness.primary_reachable,
        "{:?}",
        request.readiness
    );
    assert_eq!(
        request.readiness.replication_lag,
        Some(Duration::ZERO),
        "measured from both leaders"
    );
    // reads only: no Patroni configuration was changed, Aurora never asked
    assert!(h.ports.db.patroni.changes().is_empty());
    assert!(h.ports.db.calls().is_empty(), "{:?}", h.ports.db.calls());
}

#[tokio::test]
async fn a_patroni_home_behind_the_writer_waits_with_its_lag_named() {
    // GIVEN the writer wrote what home has not received; home's newest replayed transaction
    // committed 4 s ago (the plan allows 1 s)
    let h = settled_on_patroni();
    h.ports.db.patroni.write(WEST_REGION, 8192);
    h.ports
        .db
        .patroni
        .set_replayed_at(EAST_REGION, NOW - time::Duration::seconds(4));
    let out = request(&h, Some("ana")).await;
    assert_eq!(refusals(&out), vec!["lag_above_threshold"]);
    // AND with no replayed time at all, the lag is unknown, never zero
    let h = settled_on_patroni();
    h.ports.db.patroni.write(WEST_REGION, 8192);
    assert_eq!(
        refusals(&request(&h, Some("ana")).await),
        vec!["lag_unknown"]
    );
    assert!(h.ports.workflow.names().is_empty());
}

#[tokio::test]
async fn a_patroni_home_back_as_its_own_primary_is_named_unfenced_and_refused() {
    let h = failed_over_on_patroni_and_home_back_as_its_own_primary().await;
    let out = request(&h, Some("ana")).await;
    // THEN the writer is the region lifeboat made active (its run state), and home is named as
    // a primary of its own, not fenced: no failback over two writers
    let Outcome::Refused {
        message, snapshot, ..
    } = &out
    else {
        panic!("not refused: {out:?}");
    };
    assert_eq!(snapshot.writer_region.as_deref(), Some(WEST_REGION));
    assert_eq!(
        refusals(&out),
        vec!["home_not_synchronized", "lag_unknown"],
        "{message}"
    );
    assert!(message.contains("not fenced yet"), "{message}");
    assert!(h.ports.workflow.names().is_empty());
}

#[tokio::test]
async fn a_fenced_patroni_home_that_forked_is_not_connected_until_rebuilt() {
    // GIVEN home back as its own primary, then fenced by the promotion asked again: a standby
    // cluster of the writer whose timeline forked, so it does not stream
    let h = failed_over_on_patroni_and_home_back_as_its_own_primary().await;
    let plan = lifeboat_core::plan::ValidPlan::parse(&plan_with_patroni(PLAN)).expect("plan");
    let fenced = lifeboat_core::patroni::promote(
        &h.ports.db,
        plan.patroni_members(WEST_REGION).expect("west"),
        plan.patroni_members(EAST_REGION).expect("east"),
        lifeboat_core::patroni::PgMode::Failover,
        &rest_auth(),
    )
    .await
    .expect("fenced");
    assert!(fenced.fenced.is_some(), "{fenced:?}");
    h.ports.db.patroni.tick();
    let out = request(&h, Some("ana")).await;
    let Outcome::Refused { message, .. } = &out else {
        panic!("not refused: {out:?}");
    };
    assert_eq!(
        refusals(&out),
        vec!["home_not_synchronized", "lag_unknown"],
        "{message}"
    );
    assert!(message.contains("not streaming"), "{message}");
}

#[tokio::test]
async fn two_patroni_primaries_without_lifeboats_record_are_refused_as_an_error() {
    // GIVEN both regions' leaders primaries and no run state naming the region lifeboat made
    // active: neither is known to be the writer
    let h = settled_on_patroni();
    {
        let mut members = h.ports.db.patroni.members.lock().expect("members");
        for m in members.values_mut() {
            m.view.role = lifeboat_core::ports::PgRole::Primary;
            m.view.location = Some(1000);
        }
    }
    let err = h
        .handle(json!({"action": "request", "requested_by": "ana"}))
        .await
        .expect_err("two writers");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(h.ports.workflow.names().is_empty());
}
