//! GIVEN / WHEN / THEN tests of db-failover over in-memory fakes.

use std::time::Duration;

use lifeboat_core::ErrorKind;
use lifeboat_core::fakes::*;
use lifeboat_core::ports::{GlobalOperation, PgRole};
use serde_json::json;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";

type Fakes = Handler<FakeGlobalDatabase, FakeLag, FakeParameters, FakeCacheNodes, FixedClock>;

/// GIVEN a global database written in us-east-1, db-failover in us-west-2, lag 3 s.
fn given_a_global_database() -> Fakes {
    let lag = FakeLag::default();
    lag.set("shop-usw2", Duration::from_secs(3));
    Handler {
        config: Config {
            plan_parameter: "/lifeboat/shop/plan".into(),
            region: "us-west-2".into(),
        },
        ports: Ports {
            db: FakeGlobalDatabase::new("shop-global", EAST, WEST),
            lag,
            params: FakeParameters::with("/lifeboat/shop/plan", PLAN),
            cache: FakeCacheNodes::default(),
            clock: FixedClock::at(time::OffsetDateTime::now_utc()),
        },
    }
}

fn start() -> Value {
    json!({"action": "start"})
}

#[tokio::test]
async fn start_switches_over_while_the_primary_answers() {
    let h = given_a_global_database();
    let out = h.handle(start()).await.expect("started");
    let Response::Start(StartOutcome::Started {
        promotion,
        from_region,
        rpo_estimate_seconds,
        ..
    }) = out
    else {
        panic!("expected started, got {out:?}")
    };
    assert_eq!(promotion, PromotionMode::Switchover);
    assert_eq!(from_region, "us-east-1");
    assert_eq!(rpo_estimate_seconds, Some(0.0));
    assert_eq!(h.ports.db.calls(), [format!("switchover {WEST}")]);
}

#[tokio::test]
async fn start_fails_over_with_data_loss_when_the_primary_is_dark_and_lag_within_guard() {
    let h = given_a_global_database();
    h.ports.db.go_dark("us-east-1");
    let out = h.handle(start()).await.expect("started");
    let Response::Start(StartOutcome::Started {
        promotion,
        rpo_estimate_seconds,
        ..
    }) = out
    else {
        panic!("expected started")
    };
    assert!(matches!(
        promotion,
        PromotionMode::Failover {
            overridden: false,
            ..
        }
    ));
    assert_eq!(rpo_estimate_seconds, Some(3.0));
    assert_eq!(h.ports.db.calls(), [format!("failover {WEST}")]);
}

#[tokio::test]
async fn a_planned_start_only_ever_switches_over() {
    // GIVEN the writer's region dark, lag within the guard: a failover would be allowed
    let h = given_a_global_database();
    h.ports.db.go_dark("us-east-1");
    // WHEN the promotion is planned (failback)
    let err = h
        .handle(json!({"action": "start", "planned": true, "allow_data_loss_override": true}))
        .await
        .expect_err("refused");
    // THEN it is refused, naming why, and nothing changed
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("switchover (RPO 0)"), "{err}");
    assert!(h.ports.db.calls().is_empty());
    // AND with the writer answering it is a switchover
    let h = given_a_global_database();
    let out = h
        .handle(json!({"action": "start", "planned": true}))
        .await
        .expect("started");
    assert!(matches!(
        out,
        Response::Start(StartOutcome::Started {
            promotion: PromotionMode::Switchover,
            ..
        })
    ));
}

#[tokio::test]
async fn start_refuses_lag_above_the_guard_unless_overridden() {
    let h = given_a_global_database();
    h.ports.db.go_dark("us-east-1");
    h.ports.lag.set("shop-usw2", Duration::from_secs(31));
    let err = h.handle(start()).await.expect_err("refused");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("RPO guard"), "{err}");
    assert!(h.ports.db.calls().is_empty(), "a refusal changes nothing");

    let out = h
        .handle(json!({"action": "start", "allow_data_loss_override": true}))
        .await
        .expect("overridden");
    assert!(matches!(
        out,
        Response::Start(StartOutcome::Started {
            promotion: PromotionMode::Failover {
                overridden: true,
                ..
            },
            ..
        })
    ));
}

#[tokio::test]
async fn the_approved_override_reaches_the_promotion() {
    // GIVEN the primary dark and the lag above the guard (and, separately, unknown)
    for lag in [Some(Duration::from_secs(90)), None] {
        let h = given_a_global_database();
        h.ports.db.go_dark("us-east-1");
        match lag {
            Some(l) => h.ports.lag.set("shop-usw2", l),
            None => h.ports.lag.clear("shop-usw2"),
        }
        // WHEN the workflow passes the promotion a person approved: a failover, overridden
        let approved =
            json!({"mode": "failover", "lag": lag.map(|l| l.as_secs_f64()), "overridden": true});
        let out = h
            .handle(json!({"action": "start", "approved": approved}))
            .await
            .expect("the override applies");
        // THEN it fails over with data loss
        assert!(
            matches!(
                out,
                Response::Start(StartOutcome::Started {
                    promotion: PromotionMode::Failover {
                        overridden: true,
                        ..
                    },
                    ..
                })
            ),
            "{lag:?}: {out:?}"
        );
        assert_eq!(h.ports.db.calls(), [format!("failover {WEST}")], "{lag:?}");
    }
}

#[tokio::test]
async fn nothing_riskier_than_the_approved_promotion_runs() {
    // GIVEN a switchover was approved, and the primary has gone dark since
    let h = given_a_global_database();
    h.ports.db.go_dark("us-east-1");
    let err = h
        .handle(json!({"action": "start", "approved": {"mode": "switchover"}}))
        .await
        .expect_err("asks again");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::ApprovalOutdated);
    assert!(
        err.to_string().contains("only a failover with data loss"),
        "{err}"
    );
    assert!(h.ports.db.calls().is_empty(), "nothing changed");
    // GIVEN a failover was approved at 1 s of lag, and the lag is 20 s now
    let approved = json!({"mode": "failover", "lag": 1.0, "overridden": false});
    h.ports.lag.set("shop-usw2", Duration::from_secs(20));
    let err = h
        .handle(json!({"action": "start", "approved": approved}))
        .await
        .expect_err("asks again");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::ApprovalOutdated);
    assert!(h.ports.db.calls().is_empty(), "nothing changed");
    // a safer mode than approved goes on: the primary answers again -> switchover
    let h = given_a_global_database();
    h.handle(json!({"action": "start", "approved": approved}))
        .await
        .expect("switchover");
    assert_eq!(h.ports.db.calls(), [format!("switchover {WEST}")]);
}

#[tokio::test]
async fn start_never_promotes_into_an_unavailable_target() {
    let h = given_a_global_database();
    h.ports.db.set_cluster_status(WEST, "modifying");
    let err = h.handle(start()).await.expect_err("refused");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::PreconditionFailed);
    assert!(h.ports.db.calls().is_empty());
}

#[tokio::test]
async fn start_is_idempotent() {
    let h = given_a_global_database();
    h.handle(start()).await.expect("started");
    // The fake completes at once: the target is now the writer.
    let again = h.handle(start()).await.expect("again");
    assert_eq!(
        again,
        Response::Start(StartOutcome::AlreadyDone {
            writer_region: "us-west-2".into()
        })
    );
    assert_eq!(
        h.ports.db.calls().len(),
        1,
        "a second start changes nothing"
    );
}

#[tokio::test]
async fn start_during_our_promotion_reports_it_and_other_operations_refuse() {
    let h = given_a_global_database();
    let set_op = |to: &str, status: &str| {
        let mut v = h.ports.db.view.lock().expect("lock");
        v.as_mut().expect("view").operation = Some(GlobalOperation {
            status: status.into(),
            from_cluster_arn: Some(EAST.into()),
            to_cluster_arn: Some(to.into()),
            data_loss_allowed: false,
        });
    };
    set_op(WEST, "switching-over");
    assert_eq!(
        h.handle(start()).await.expect("in progress"),
        Response::Start(StartOutcome::InProgress {
            rds_status: "switching-over".into(),
            to_region: "us-west-2".into()
        })
    );
    assert_eq!(
        h.handle(json!({"action": "status"})).await.expect("status"),
        Response::Status(Status::InProgress {
            rds_status: "switching-over".into()
        })
    );
    set_op(WEST, "cancelling");
    let err = h.handle(start()).await.expect_err("cancelling");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::PreconditionFailed);
    assert!(matches!(
        h.handle(json!({"action": "status"})).await.expect("status"),
        Response::Status(Status::Failed { .. })
    ));
    assert!(h.ports.db.calls().is_empty());
}

#[tokio::test]
async fn status_reports_done_and_failed() {
    let h = given_a_global_database();
    let before = h.handle(json!({"action": "status"})).await.expect("status");
    assert!(
        matches!(before, Response::Status(Status::Failed { writer_region: Some(ref w), .. }) if w == "us-east-1")
    );
    h.handle(start()).await.expect("started");
    let after = h.handle(json!({"action": "status"})).await.expect("status");
    let Response::Status(Status::Done {
        writer_region,
        secondaries,
        capacity,
    }) = after
    else {
        panic!("expected done")
    };
    assert_eq!(writer_region, "us-west-2");
    assert_eq!(secondaries.len(), 1);
    // the example plan's active range, set beside the promotion
    let range = capacity.and_then(|c| c.serverless).expect("range");
    assert_eq!((range.min_acu, range.max_acu), (8.0, 64.0));
}

/// GIVEN the DR cluster at its standby size: one db.r6g.large instance, 0.5-16 ACU.
fn given_a_small_dr_database() -> Fakes {
    let mut h = given_a_global_database();
    h.ports.params = FakeParameters::with(
        "/lifeboat/shop/plan",
        &plan_with_instance_classes(PLAN, "db.r6g.2xlarge"),
    );
    h.ports
        .db
        .set_capacity(WEST, Some((0.5, 16.0)), &[("usw2-1", "db.r6g.large")]);
    h.ports
        .db
        .set_capacity(EAST, Some((8.0, 64.0)), &[("use1-1", "db.r6g.2xlarge")]);
    h
}

#[tokio::test]
async fn the_database_is_done_only_once_the_target_has_the_plans_active_capacity() {
    let h = given_a_small_dr_database();
    // WHEN the promotion starts
    h.handle(start()).await.expect("started");
    // THEN the capacity changes are requested beside it, the instance class applied at once
    assert_eq!(h.ports.db.calls(), [format!("switchover {WEST}")]);
    assert_eq!(
        h.ports.db.capacity_calls(),
        [
            "modify-instance usw2-1 db.r6g.2xlarge".to_string(),
            format!("modify-range {WEST} 8-64"),
        ]
    );
    // AND while the instance changes class the database step is not done (traffic waits)
    let during = h.handle(json!({"action": "status"})).await.expect("status");
    let Response::Status(Status::Scaling { waiting, requested }) = during else {
        panic!("expected scaling, got {during:?}")
    };
    assert!(requested.is_empty(), "nothing asked twice: {requested:?}");
    assert!(
        waiting
            .iter()
            .any(|w| w.contains("usw2-1") && w.contains("changing to db.r6g.2xlarge")),
        "{waiting:?}"
    );
    // WHEN the change completes THEN it is done, at the active level
    h.ports.db.finish_modifications();
    let after = h.handle(json!({"action": "status"})).await.expect("status");
    let Response::Status(Status::Done {
        capacity: Some(capacity),
        ..
    }) = after
    else {
        panic!("expected done, got {after:?}")
    };
    assert_eq!(capacity.instances[0].class, "db.r6g.2xlarge");
    assert_eq!(h.ports.db.capacity_calls().len(), 2);
}

#[tokio::test]
async fn a_refused_promotion_changes_no_capacity() {
    let h = given_a_small_dr_database();
    h.ports.db.go_dark("us-east-1");
    h.ports.lag.set("shop-usw2", Duration::from_secs(120));
    let err = h.handle(start()).await.expect_err("above the guard");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::PreconditionFailed);
    assert!(h.ports.db.calls().is_empty());
    assert!(h.ports.db.capacity_calls().is_empty());
}

#[tokio::test]
async fn a_failback_returns_the_region_it_leaves_to_standby_capacity() {
    let h = given_a_small_dr_database();
    h.handle(start()).await.expect("started");
    h.ports.db.finish_modifications();
    // WHEN the failback has moved the writer home and asks for standby capacity
    let out = h
        .handle(json!({"action": "scale_capacity", "region": "us-west-2", "level": "standby"}))
        .await
        .expect("scaled");
    let Response::Capacity(c) = out else {
        panic!("expected a capacity answer, got {out:?}")
    };
    assert_eq!(c.state, CapacityState::Scaling);
    assert_eq!(
        h.ports.db.capacity_calls()[2..],
        [
            "modify-instance usw2-1 db.r6g.large".to_string(),
            format!("modify-range {WEST} 0.5-16"),
        ]
    );
    h.ports.db.finish_modifications();
    let again = h
        .handle(json!({"action": "scale_capacity", "region": "us-west-2", "level": "standby"}))
        .await
        .expect("scaled");
    assert!(matches!(
        again,
        Response::Capacity(CapacityOutcome {
            state: CapacityState::Ready,
            ..
        })
    ));
    // AND a region the plan sets no capacity for is left alone
    let home = h
        .handle(json!({"action": "scale_capacity", "region": "us-east-1", "level": "standby"}))
        .await
        .expect("answered");
    assert!(matches!(
        home,
        Response::Capacity(CapacityOutcome {
            state: CapacityState::NotPlanned,
            ..
        })
    ));
    assert_eq!(h.ports.db.capacity_calls().len(), 4);
}

#[tokio::test]
async fn a_capacity_request_for_no_such_region_or_level_changes_nothing() {
    let h = given_a_small_dr_database();
    for event in [
        json!({"action": "scale_capacity", "region": "eu-west-1", "level": "active"}),
        json!({"action": "scale_capacity", "region": "us-west-2", "level": "huge"}),
        json!({"action": "scale_capacity", "region": "us-west-2"}),
    ] {
        let err = h.handle(event.clone()).await.expect_err("bad");
        assert_eq!(
            err.kind(),
            lifeboat_core::ErrorKind::InvalidInput,
            "{event}: {err}"
        );
    }
    assert!(h.ports.db.capacity_calls().is_empty());
}

#[tokio::test]
async fn bad_requests_are_invalid_input_and_change_nothing() {
    let h = given_a_global_database();
    for event in [
        json!({}),
        json!({"action": "promote"}),
        json!({"action": "start", "target_region": 5}),
        json!({"action": "start", "allow_data_loss": true}),
        json!({"action": "start", "target_region": "eu-west-1"}),
        json!([1, 2]),
    ] {
        let err = h.handle(event.clone()).await.expect_err("bad");
        assert_eq!(
            err.kind(),
            lifeboat_core::ErrorKind::InvalidInput,
            "{event}: {err}"
        );
    }
    assert!(h.ports.db.calls().is_empty());
}

#[tokio::test]
async fn the_example_events_parse() {
    for file in [
        "start.json",
        "start-override-rpo-guard.json",
        "status.json",
        "scale-capacity-standby.json",
    ] {
        let path = format!(
            "{}/../../events/db-failover/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("sample event");
        let _: Request = serde_json::from_str(&text).expect(&path);
    }
}

/// GIVEN the primary dark and a 4-minute-old lag datapoint (guard 30 s), WHEN db-failover is
/// asked to start on its own, THEN it refuses as "lag unknown" and changes nothing; a person's
/// approved override still fails over with data loss, and says the lag was unknown.
#[tokio::test]
async fn a_stale_lag_datapoint_is_unknown_at_promotion_time_too() {
    let h = given_a_global_database();
    h.ports.db.go_dark("us-east-1");
    h.ports.lag.set_aged(
        "shop-usw2",
        Duration::from_secs(1),
        Duration::from_secs(240),
    );
    let err = h.handle(start()).await.expect_err("refused");
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("unknown"), "{err}");
    assert!(h.ports.db.calls().is_empty());
    let approved = json!({"mode": "failover", "lag": null, "overridden": true});
    let out = h
        .handle(json!({"action": "start", "approved": approved}))
        .await
        .expect("the override applies");
    assert!(
        matches!(
            out,
            Response::Start(StartOutcome::Started {
                promotion: PromotionMode::Failover {
                    lag: None,
                    overridden: true,
                },
                ..
            })
        ),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_control_plane_fault_is_not_an_outage_no_failover_with_data_loss() {
    // GIVEN us-east-1's RDS API dark while its database endpoint accepts connections
    let h = given_a_global_database();
    h.ports.db.control_plane_dark("us-east-1");
    // WHEN the promotion starts (lag 3 s, within the guard)
    let err = h.handle(start()).await.expect_err("refused");
    // THEN it is refused, naming the data plane, and nothing changed
    assert_eq!(err.kind(), lifeboat_core::ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("accepts connections"), "{err}");
    assert!(h.ports.db.calls().is_empty(), "a refusal changes nothing");
    // A person's explicit override still goes (and is recorded as overridden).
    let out = h
        .handle(json!({"action": "start", "allow_data_loss_override": true}))
        .await
        .expect("overridden");
    assert!(matches!(
        out,
        Response::Start(StartOutcome::Started {
            promotion: PromotionMode::Failover {
                overridden: true,
                ..
            },
            ..
        })
    ));
}

// -- the cache ---------------------------------------------------------------------------------

const CACHE_PLAN: &str = include_str!("../../../examples/plan-digitalocean.yaml");
const CACHE_PASSWORD: &str = "/lifeboat/shop/cache-password";

/// GIVEN the plan with a cache, its password in SSM, the writer in us-east-1 and the cache as
/// the example lays it out: east's master 10.10.0.11 watched by east's Sentinels, west's nodes
/// replicating it, west's Sentinels watching nothing.
fn given_a_cache() -> Fakes {
    let mut h = given_a_global_database();
    h.ports.params = FakeParameters::with("/lifeboat/shop/plan", CACHE_PLAN);
    h.ports.params.insert(CACHE_PASSWORD, "s3cret-cache");
    let c = FakeCacheNodes::new(Some("s3cret-cache"));
    c.node("10.10.0.11:6379", None, 500)
        .node("10.10.0.12:6379", Some("10.10.0.11:6379"), 500)
        .node("10.20.0.11:6379", Some("10.10.0.11:6379"), 480)
        .node("10.20.0.12:6379", Some("10.10.0.11:6379"), 490);
    for s in ["10.10.0.21:26379", "10.10.0.22:26379", "10.10.0.23:26379"] {
        c.sentinel(s, Some("10.10.0.11:6379"));
    }
    for s in ["10.20.0.21:26379", "10.20.0.22:26379", "10.20.0.23:26379"] {
        c.sentinel(s, None);
    }
    h.ports.cache = c;
    h
}

fn promote_west(h: &Fakes) {
    h.ports
        .db
        .view
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .members
        .iter_mut()
        .for_each(|m| {
            m.is_writer = m.cluster_arn == WEST;
        });
}

#[tokio::test]
async fn the_cache_moves_only_into_the_region_whose_database_is_the_writer() {
    let h = given_a_cache();
    // WHEN the cache is asked to move before the database has
    let err = h
        .handle(json!({"action": "cache", "target_region": "us-west-2", "run_id": "r1"}))
        .await
        .unwrap_err();
    // THEN it is refused and nothing is touched
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(h.ports.cache.writes.lock().unwrap().is_empty());

    // WHEN the database is the writer in us-west-2
    promote_west(&h);
    let out = h
        .handle(json!({"action": "cache", "target_region": "us-west-2", "run_id": "r1"}))
        .await
        .unwrap();
    // THEN west's node furthest along is the master, watched by west's Sentinels; east's
    // Sentinels stopped watching before east's nodes became its replicas
    let Response::Cache(CacheStep {
        state: CacheState::Ready,
        cache: Some(cache),
    }) = out
    else {
        panic!("{out:?}");
    };
    assert_eq!(cache.master, "10.20.0.12:6379");
    assert_eq!(cache.behind_bytes, Some(10));
    let writes = h.ports.cache.writes.lock().unwrap().clone();
    assert_eq!(writes[0], "replicaof 10.20.0.12:6379 no one", "{writes:?}");
    assert_eq!(
        writes[1], "replicaof 10.20.0.11:6379 10.20.0.12:6379",
        "{writes:?}"
    );
    assert!(
        writes[2..5]
            .iter()
            .all(|w| w.starts_with("monitor 10.20.") && w.ends_with("10.20.0.12:6379 auth-pass")),
        "{writes:?}"
    );
    assert!(
        writes[5..8].iter().all(|w| w.starts_with("remove 10.10.")),
        "{writes:?}"
    );
    assert_eq!(
        &writes[8..],
        [
            "replicaof 10.10.0.11:6379 10.20.0.12:6379",
            "replicaof 10.10.0.12:6379 10.20.0.12:6379"
        ]
    );

    // AND a repeat changes nothing
    let again = h
        .handle(json!({"action": "cache", "target_region": "us-west-2"}))
        .await
        .unwrap();
    let Response::Cache(CacheStep {
        cache: Some(again), ..
    }) = again
    else {
        panic!("{again:?}");
    };
    assert!(
        again.done.is_empty() && again.fenced.is_empty(),
        "{again:?}"
    );
    assert_eq!(h.ports.cache.writes.lock().unwrap().len(), writes.len());
}

#[tokio::test]
async fn a_cache_without_its_password_or_with_a_wrong_one_changes_nothing() {
    let h = given_a_cache();
    promote_west(&h);
    h.ports.params.remove(CACHE_PASSWORD);
    let err = h
        .handle(json!({"action": "cache", "target_region": "us-west-2"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains("cache.password_parameter"), "{err}");
    h.ports.params.insert(CACHE_PASSWORD, "not-it");
    let err = h
        .handle(json!({"action": "cache", "target_region": "us-west-2"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    assert!(
        !err.message().contains("not-it") && !err.message().contains("s3cret"),
        "{err}"
    );
    assert!(h.ports.cache.writes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_plan_without_a_cache_has_nothing_to_move() {
    let h = given_a_global_database();
    let out = h
        .handle(json!({"action": "cache", "target_region": "us-west-2"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        Response::Cache(CacheStep {
            state: CacheState::NotPlanned,
            cache: None
        })
    );
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        json!({"state": "not_planned"})
    );
}

// ---- PostgreSQL under Patroni: the same decision, its own adapter ----

const PATRONI_PASSWORD: &str = "/lifeboat/shop/patroni-password";

/// GIVEN the example plan under Patroni: us-east-1's cluster the primary, us-west-2's its
/// standby cluster, the REST API's password in its SecureString.
fn given_patroni() -> Fakes {
    let mut h = given_a_global_database();
    h.ports.db.patroni = FakePatroni::new("us-east-1", "us-west-2");
    h.ports.params = FakeParameters::with("/lifeboat/shop/plan", &plan_with_patroni(PLAN));
    h.ports.params.insert(PATRONI_PASSWORD, "rest-pw");
    h
}

fn status_after(approved: Option<Value>) -> Value {
    match approved {
        Some(a) => json!({"action": "status", "approved": a}),
        None => json!({"action": "status"}),
    }
}

#[tokio::test]
async fn patroni_switchover_demotes_the_source_waits_for_the_standby_then_promotes() {
    let h = given_patroni();
    // WHEN started while the primary answers
    let out = h.handle(start()).await.expect("started");
    let Response::Start(StartOutcome::Started {
        promotion,
        rpo_estimate_seconds,
        ..
    }) = out
    else {
        panic!("expected started, got {out:?}")
    };
    assert_eq!(promotion, PromotionMode::Switchover);
    assert_eq!(rpo_estimate_seconds, Some(0.0));
    // THEN the source is demoted first (it takes no more writes), nothing promoted yet
    assert_eq!(
        h.ports.db.patroni.changes(),
        ["us-east-1 standby_cluster=pg1.us-west-2.test:5432"]
    );
    // and each status drives the next step until the target's leader is the primary
    let mut seen = Vec::new();
    for _ in 0..5 {
        h.ports.db.patroni.tick();
        let out = h.handle(status_after(None)).await.expect("status");
        seen.push(format!("{out:?}"));
        if matches!(out, Response::Status(Status::Done { .. })) {
            break;
        }
    }
    assert!(seen.last().is_some_and(|s| s.contains("Done")), "{seen:?}");
    assert_eq!(
        h.ports.db.patroni.changes(),
        [
            "us-east-1 standby_cluster=pg1.us-west-2.test:5432",
            "us-west-2 promoted"
        ]
    );
    let leader = h.ports.db.patroni.leader("us-west-2").expect("leader");
    assert_eq!(leader.role, PgRole::Primary);
    // a repeated start changes nothing
    let again = h.handle(start()).await.expect("again");
    assert!(
        matches!(again, Response::Start(StartOutcome::AlreadyDone { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn patroni_failover_with_the_primary_dark_is_refused_without_a_persons_override() {
    let h = given_patroni();
    h.ports.db.patroni.go_dark("us-east-1");
    // the lag of a dark primary is unknown: never taken as zero
    let err = h.handle(start()).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(h.ports.db.patroni.changes().is_empty(), "nothing changed");
    // WHEN a person overrode the RPO guard
    let out = h
        .handle(json!({"action": "start", "allow_data_loss_override": true}))
        .await
        .expect("started");
    let Response::Start(StartOutcome::Started { promotion, .. }) = out else {
        panic!("expected started, got {out:?}")
    };
    assert!(matches!(
        promotion,
        PromotionMode::Failover {
            overridden: true,
            ..
        }
    ));
    assert_eq!(h.ports.db.patroni.changes(), ["us-west-2 promoted"]);
    // THEN status with the approved failover goes on to done
    h.ports.db.patroni.tick();
    let approved = serde_json::to_value(promotion).expect("json");
    let out = h
        .handle(status_after(Some(approved)))
        .await
        .expect("status");
    assert!(
        matches!(out, Response::Status(Status::Done { .. })),
        "{out:?}"
    );
}

#[tokio::test]
async fn patroni_a_planned_promotion_never_fails_over() {
    let h = given_patroni();
    h.ports.db.patroni.go_dark("us-east-1");
    let err = h
        .handle(json!({"action": "start", "planned": true, "allow_data_loss_override": true}))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(h.ports.db.patroni.changes().is_empty());
}

#[tokio::test]
async fn patroni_a_wrong_or_missing_password_is_refused_and_changes_nothing() {
    let h = given_patroni();
    h.ports.params.insert(PATRONI_PASSWORD, "wrong-pw-5e1");
    let err = h.handle(start()).await.expect_err("401");
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    assert!(!err.to_string().contains("wrong-pw-5e1"), "{err}");
    assert!(h.ports.db.patroni.changes().is_empty());
    h.ports.params.remove(PATRONI_PASSWORD);
    let err = h.handle(start()).await.expect_err("no password");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains("password_parameter"), "{err}");
}

#[tokio::test]
async fn patroni_has_no_database_capacity_to_scale() {
    let h = given_patroni();
    let out = h
        .handle(json!({"action": "scale_capacity", "region": "us-west-2", "level": "active"}))
        .await
        .expect("capacity");
    assert!(
        matches!(
            out,
            Response::Capacity(CapacityOutcome {
                state: CapacityState::NotPlanned,
                ..
            })
        ),
        "{out:?}"
    );
}

// ---- MySQL / MariaDB (issue 23): the same decision, lifeboat moves the servers itself ----

/// GIVEN the example plan under MySQL: us-east-1's server takes writes, us-west-2's replicates
/// it read-only; lifeboat's passwords in their SecureStrings.
fn given_mysql() -> Fakes {
    let mut h = given_a_global_database();
    h.ports.db.mysql = FakeMysql::new("us-east-1", "us-west-2");
    h.ports.params = FakeParameters::with("/lifeboat/shop/plan", &plan_with_mysql(PLAN));
    mysql_parameters(&h.ports.params);
    h
}

fn east_server() -> String {
    FakeMysql::addr("us-east-1")
}

fn west_server() -> String {
    FakeMysql::addr("us-west-2")
}

#[tokio::test]
async fn mysql_switchover_makes_the_source_read_only_waits_for_the_replica_then_promotes() {
    let h = given_mysql();
    // GIVEN the replica still has three of the source's transactions to apply
    h.ports.db.mysql.set("us-west-2", |s| s.unapplied = 3);
    for _ in 0..3 {
        h.ports
            .db
            .mysql
            .write("us-east-1")
            .expect("the shop writes");
    }
    // WHEN started while the source answers
    let out = h.handle(start()).await.expect("started");
    let Response::Start(StartOutcome::Started {
        promotion,
        rpo_estimate_seconds,
        ..
    }) = out
    else {
        panic!("expected started, got {out:?}")
    };
    assert_eq!(promotion, PromotionMode::Switchover);
    assert_eq!(rpo_estimate_seconds, Some(0.0));
    // THEN the source takes no more writes first; nothing is promoted yet
    assert_eq!(
        h.ports.db.mysql.changes.lock().unwrap().clone(),
        [format!("read_only {} on", east_server())]
    );
    assert!(
        h.ports.db.mysql.write("us-east-1").is_err(),
        "the source refuses writes"
    );
    // AND each status waits for the replica to hold every transaction, then promotes it
    let mut seen = Vec::new();
    for _ in 0..6 {
        let out = h.handle(status_after(None)).await.expect("status");
        seen.push(format!("{out:?}"));
        if matches!(out, Response::Status(Status::Done { .. })) {
            break;
        }
        h.ports.db.mysql.tick();
    }
    assert!(seen.iter().any(|s| s.contains("catching up")), "{seen:?}");
    assert!(seen.last().is_some_and(|s| s.contains("Done")), "{seen:?}");
    assert_eq!(
        h.ports.db.mysql.changes.lock().unwrap().clone(),
        [
            format!("read_only {} on", east_server()),
            format!("detach {}", west_server()),
            format!("read_only {} off", west_server()),
            format!("follow {} {}", east_server(), west_server()),
        ]
    );
    let (east, west) = (
        h.ports.db.mysql.server("us-east-1"),
        h.ports.db.mysql.server("us-west-2"),
    );
    assert_eq!(
        west.history.len(),
        8,
        "every order reached us-west-2 (RPO 0)"
    );
    assert!(!west.read_only && west.source.is_none());
    assert!(east.read_only && east.source == Some(west_server()));
    let again = h.handle(start()).await.expect("again");
    assert!(
        matches!(again, Response::Start(StartOutcome::AlreadyDone { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn mysql_failover_with_the_source_dark_needs_a_persons_override_and_applies_what_was_received()
 {
    let h = given_mysql();
    // GIVEN us-west-2 received three transactions it has not applied, then us-east-1 went dark
    h.ports.db.mysql.set("us-west-2", |s| s.unapplied = 3);
    for _ in 0..3 {
        h.ports
            .db
            .mysql
            .write("us-east-1")
            .expect("the shop writes");
    }
    h.ports
        .db
        .mysql
        .dark_regions
        .lock()
        .unwrap()
        .insert("us-east-1".into());
    // WHEN started: the lag of a dark source's replica is unknown, never 0
    let err = h.handle(start()).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(
        h.ports.db.mysql.changes.lock().unwrap().is_empty(),
        "nothing changed"
    );
    // WHEN a person overrode the RPO guard
    let out = h
        .handle(json!({"action": "start", "allow_data_loss_override": true}))
        .await
        .expect("started");
    let Response::Start(StartOutcome::Started { promotion, .. }) = out else {
        panic!("expected started, got {out:?}")
    };
    assert!(matches!(
        promotion,
        PromotionMode::Failover {
            overridden: true,
            ..
        }
    ));
    // THEN the target first applies what it received (nothing promoted while it does)
    assert!(h.ports.db.mysql.changes.lock().unwrap().is_empty());
    let approved = serde_json::to_value(promotion).expect("json");
    let mut seen = Vec::new();
    for _ in 0..6 {
        h.ports.db.mysql.tick();
        let out = h
            .handle(status_after(Some(approved.clone())))
            .await
            .expect("status");
        seen.push(format!("{out:?}"));
        if matches!(out, Response::Status(Status::Done { .. })) {
            break;
        }
    }
    assert!(seen.iter().any(|s| s.contains("applying")), "{seen:?}");
    assert!(seen.last().is_some_and(|s| s.contains("Done")), "{seen:?}");
    assert_eq!(
        h.ports.db.mysql.changes.lock().unwrap().clone(),
        [
            format!("detach {}", west_server()),
            format!("read_only {} off", west_server()),
        ]
    );
    assert_eq!(h.ports.db.mysql.server("us-west-2").history.len(), 8);
    // a status without the approved failover never promotes without the source
    let h = given_mysql();
    h.ports
        .db
        .mysql
        .dark_regions
        .lock()
        .unwrap()
        .insert("us-east-1".into());
    let err = h.handle(status_after(None)).await.expect_err("switchover");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(h.ports.db.mysql.changes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn mysql_a_wrong_or_missing_password_is_refused_and_changes_nothing() {
    let h = given_mysql();
    h.ports
        .params
        .insert(MYSQL_PASSWORD_PARAMETER, "wrong-pw-9c3");
    let err = h.handle(start()).await.expect_err("1045");
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    assert!(!err.to_string().contains("wrong-pw-9c3"), "{err}");
    assert!(h.ports.db.mysql.changes.lock().unwrap().is_empty());
    for missing in [
        MYSQL_PASSWORD_PARAMETER,
        MYSQL_REPLICATION_PASSWORD_PARAMETER,
    ] {
        let h = given_mysql();
        h.ports.params.remove(missing);
        let err = h.handle(start()).await.expect_err("no password");
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
        assert!(err.message().contains(missing), "{err}");
        assert!(h.ports.db.mysql.changes.lock().unwrap().is_empty());
    }
}
