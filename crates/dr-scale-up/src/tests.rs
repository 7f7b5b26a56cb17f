//! GIVEN / WHEN / THEN tests of dr-scale-up over in-memory fakes.

use lifeboat_core::ErrorKind;
use lifeboat_core::fakes::*;
use serde_json::json;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";

type Fakes = Handler<
    FakeEcs,
    FakeAsg,
    FakeGlobalDatabase,
    FakeParameters,
    FakeParameters,
    FakeNotifier,
    FixedClock,
    FakeKubernetes,
    FakeEksTokens,
>;

/// GIVEN the example shop: us-west-2 at standby capacity (web 1, checkout 1, workers 1/1, max
/// 10), the database written in us-east-1.
fn given_a_standby_region() -> Fakes {
    let ecs = FakeEcs::default();
    let asg = FakeAsg::default();
    for region in ["us-east-1", "us-west-2"] {
        ecs.add(region, "shop", "web", 1);
        ecs.add(region, "shop", "checkout", 1);
    }
    asg.add("us-west-2", "shop-workers-usw2", 1, 10, 1);
    asg.add("us-east-1", "shop-workers-use1", 4, 10, 6);
    Handler {
        config: Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: "/lifeboat/shop/plan".into(),
                region: "us-west-2".into(),
            },
            concurrency: 4,
            peer_region: "us-east-1".into(),
        },
        ports: Ports {
            ecs,
            asg,
            db: FakeGlobalDatabase::new("shop-global", EAST, WEST),
            params: FakeParameters::with("/lifeboat/shop/plan", PLAN),
            peer_params: FakeParameters::default(),
            notifier: FakeNotifier::default(),
            clock: FixedClock::at(time::macros::datetime!(2026-12-03 03:00 UTC)),
            k8s: FakeKubernetes::new(K8S_TOKEN),
            eks: FakeEksTokens::default(),
        },
    }
}

fn resources(r: &Response) -> Vec<(String, bool)> {
    match r {
        Response::Steady { resources, .. }
        | Response::Serving { resources, .. }
        | Response::Scaling { resources, .. } => resources
            .iter()
            .map(|r| (r.resource.clone(), r.steady))
            .collect(),
        other => panic!("not a status: {other:?}"),
    }
}

#[tokio::test]
async fn start_sets_every_service_and_group_to_active_capacity() {
    let h = given_a_standby_region();
    let out = h.handle(json!({"action": "start"})).await.unwrap();
    let Response::Scaled { changed, .. } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(changed.len(), 3, "{out:?}");
    assert_eq!(
        h.ports.ecs.get("us-west-2", "shop", "web").unwrap().desired,
        6
    );
    assert_eq!(
        h.ports
            .ecs
            .get("us-west-2", "shop", "checkout")
            .unwrap()
            .desired,
        4
    );
    let g = h.ports.asg.get("us-west-2", "shop-workers-usw2").unwrap();
    assert_eq!((g.min, g.desired), (4, 6));
    // The previous values come back, so the change can be undone.
    let web = changed
        .iter()
        .find(|c| c.resource == "ecs:shop/web")
        .unwrap();
    assert_eq!(web.before.desired, 1);
    // The home region is untouched.
    assert_eq!(
        h.ports.ecs.get("us-east-1", "shop", "web").unwrap().desired,
        1
    );
}

#[tokio::test]
async fn status_is_scaling_until_tasks_run_then_steady() {
    let h = given_a_standby_region();
    h.handle(json!({"action": "start"})).await.unwrap();
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Scaling { .. }), "{out:?}");
    assert!(resources(&out).iter().any(|(_, steady)| !steady));
    h.ports.ecs.settle();
    h.ports.asg.settle();
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Steady { .. }), "{out:?}");
}

#[tokio::test]
async fn a_region_steady_at_standby_is_not_steady_at_active() {
    let h = given_a_standby_region();
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Scaling { .. }), "{out:?}");
    let out = h
        .handle(json!({"action": "status", "level": "standby"}))
        .await
        .unwrap();
    assert!(matches!(out, Response::Steady { .. }), "{out:?}");
}

#[tokio::test]
async fn start_twice_changes_nothing_the_second_time() {
    let h = given_a_standby_region();
    h.handle(json!({"action": "start"})).await.unwrap();
    let calls = h.ports.ecs.calls().len() + h.ports.asg.calls().len();
    let out = h.handle(json!({"action": "start"})).await.unwrap();
    let Response::Scaled {
        changed, unchanged, ..
    } = out
    else {
        panic!()
    };
    assert!(changed.is_empty());
    assert_eq!(unchanged.len(), 3);
    assert_eq!(h.ports.ecs.calls().len() + h.ports.asg.calls().len(), calls);
}

#[tokio::test]
async fn start_never_lowers_a_service_that_is_already_above_the_plan() {
    let h = given_a_standby_region();
    h.ports.ecs.add("us-west-2", "shop", "web", 9);
    h.handle(json!({"action": "start"})).await.unwrap();
    assert_eq!(
        h.ports.ecs.get("us-west-2", "shop", "web").unwrap().desired,
        9
    );
}

#[tokio::test]
async fn capacity_above_a_groups_max_is_refused_with_the_reason_and_nothing_changes() {
    let h = given_a_standby_region();
    h.ports.asg.add("us-west-2", "shop-workers-usw2", 1, 4, 1);
    let err = h.handle(json!({"action": "start"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.message().contains("shop-workers-usw2"), "{err}");
    assert!(err.message().contains("max size 4"), "{err}");
    assert!(h.ports.ecs.calls().is_empty());
    assert!(h.ports.asg.calls().is_empty());
}

#[tokio::test]
async fn a_missing_service_is_not_found_and_nothing_changes() {
    let h = given_a_standby_region();
    h.ports
        .ecs
        .services
        .lock()
        .unwrap()
        .retain(|(r, _, s), _| !(r == "us-west-2" && s == "checkout"));
    let err = h.handle(json!({"action": "start"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("ecs:shop/checkout"), "{err}");
    assert!(h.ports.ecs.calls().is_empty() && h.ports.asg.calls().is_empty());
}

#[tokio::test]
async fn an_unreachable_region_is_transient() {
    let h = given_a_standby_region();
    h.ports
        .ecs
        .dark_regions
        .lock()
        .unwrap()
        .insert("us-west-2".into());
    let err = h.handle(json!({"action": "start"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn scale_down_is_refused_while_the_region_holds_the_writer() {
    let h = given_a_standby_region();
    let err = h
        .handle(json!({"action": "scale_down", "region": "us-east-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.message().contains("writer"), "{err}");
    assert!(h.ports.asg.calls().is_empty());
}

#[tokio::test]
async fn scale_down_returns_a_region_to_standby_capacity() {
    let h = given_a_standby_region();
    h.handle(json!({"action": "start"})).await.unwrap();
    let out = h
        .handle(json!({"action": "scale_down", "region": "us-west-2"}))
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            Response::Scaled {
                level: Level::Standby,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(
        h.ports.ecs.get("us-west-2", "shop", "web").unwrap().desired,
        1
    );
    let g = h.ports.asg.get("us-west-2", "shop-workers-usw2").unwrap();
    assert_eq!((g.min, g.desired), (1, 1));
}

#[tokio::test]
async fn bad_requests_are_invalid_input_and_change_nothing() {
    let h = given_a_standby_region();
    for bad in [
        json!({"action": "explode"}),
        json!({"action": "scale_down"}),
        json!({"action": "start", "target_region": "mars-north-1"}),
        json!({"action": "start", "extra": true}),
        json!("start"),
    ] {
        let err = h.handle(bad.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }
    assert!(h.ports.ecs.calls().is_empty() && h.ports.asg.calls().is_empty());
}

#[test]
fn the_sample_events_parse() {
    for file in ["start.json", "status.json", "scale-down.json"] {
        let path = format!(
            "{}/../../events/dr-scale-up/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let _: Request = serde_json::from_str(&text).expect(&path);
    }
}

// --- fencing the old primary (issue 18, item 2) ---------------------------------------------

fn outcome<'a>(fence: &'a FenceReport, resource: &str) -> &'a FenceOutcome {
    &fence
        .actions
        .iter()
        .find(|a| a.resource == resource)
        .unwrap_or_else(|| panic!("no action on {resource}: {fence:?}"))
        .outcome
}

/// The guard's fence of us-east-1's Patroni cluster, from its response.
fn home_database_fence(out: &Response) -> &FenceOutcome {
    let Response::Guarded { fence, .. } = out else {
        panic!("{out:?}")
    };
    let fence = fence.as_ref().expect("a fence");
    outcome(fence, "database:us-east-1 Patroni cluster")
}

/// GIVEN the home region serving at active capacity (web 6, checkout 4, workers 4/6).
fn given_home_at_active() -> Fakes {
    let h = given_a_standby_region();
    h.ports.ecs.add("us-east-1", "shop", "web", 6);
    h.ports.ecs.add("us-east-1", "shop", "checkout", 4);
    h
}

#[tokio::test]
async fn fence_takes_the_old_primarys_compute_to_the_fenced_level_and_records_each_resource() {
    let h = given_home_at_active();
    let out = h
        .handle(json!({"action": "fence", "region": "us-east-1", "run_id": "r1"}))
        .await
        .unwrap();
    let Response::Fenced { fence } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(fence.region, "us-east-1");
    assert_eq!(
        outcome(fence, "ecs:shop/web"),
        &FenceOutcome::Fenced {
            before: 6,
            after: 0
        }
    );
    assert!(fence.complete(), "{fence:?}");
    assert_eq!(
        h.ports
            .ecs
            .get("us-east-1", "shop", "checkout")
            .unwrap()
            .desired,
        0
    );
    let g = h.ports.asg.get("us-east-1", "shop-workers-use1").unwrap();
    assert_eq!((g.min, g.desired), (0, 0));
    // The region failed over into is untouched.
    assert_eq!(
        h.ports.ecs.get("us-west-2", "shop", "web").unwrap().desired,
        1
    );
    // A repeat changes nothing and says so.
    let again = h
        .handle(json!({"action": "fence", "region": "us-east-1"}))
        .await
        .unwrap();
    let Response::Fenced { fence } = &again else {
        panic!("{again:?}")
    };
    assert_eq!(
        outcome(fence, "ecs:shop/web"),
        &FenceOutcome::AlreadyFenced { desired: 0 }
    );
    assert!(!fence.changed());
}

#[tokio::test]
async fn a_dark_region_is_recorded_unreachable_never_an_error() {
    let h = given_home_at_active();
    h.ports
        .ecs
        .dark_regions
        .lock()
        .unwrap()
        .insert("us-east-1".into());
    h.ports
        .asg
        .dark_regions
        .lock()
        .unwrap()
        .insert("us-east-1".into());
    let out = h
        .handle(json!({"action": "fence", "region": "us-east-1"}))
        .await
        .expect("a dark region never blocks the failover");
    let Response::Fenced { fence } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(fence.actions.len(), 3);
    for a in &fence.actions {
        assert!(
            matches!(a.outcome, FenceOutcome::Unreachable { .. }),
            "{a:?}"
        );
    }
    assert!(!fence.complete());
}

#[tokio::test]
async fn fence_names_a_region_of_the_plan() {
    let h = given_home_at_active();
    let err = h
        .handle(json!({"action": "fence", "region": "eu-west-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = h.handle(json!({"action": "fence"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(h.ports.ecs.calls().is_empty());
}

/// GIVEN the copy in the home region, after a failover: us-west-2 holds the writer, and
/// us-east-1 is back with its compute still at active capacity.
fn given_home_copy_after_a_failover() -> Fakes {
    let mut h = given_home_at_active();
    h.config.plan.region = "us-east-1".into();
    h.config.peer_region = "us-west-2".into();
    h.ports.db = FakeGlobalDatabase::new("shop-global", WEST, EAST);
    h
}

#[tokio::test]
async fn the_returning_home_region_fences_itself_notes_it_and_announces_once() {
    let h = given_home_copy_after_a_failover();
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded {
        verdict,
        fence,
        announced,
        ..
    } = &out
    else {
        panic!("{out:?}")
    };
    assert!(
        matches!(verdict, GuardVerdict::Fence { writer_region, .. } if writer_region == "us-west-2"),
        "{verdict:?}"
    );
    assert!(fence.as_ref().is_some_and(|f| f.complete() && f.changed()));
    assert!(announced.is_some());
    assert_eq!(
        h.ports.ecs.get("us-east-1", "shop", "web").unwrap().desired,
        0
    );
    let msgs = h.ports.notifier.messages();
    assert_eq!(msgs.len(), 1);
    let Published {
        topic,
        subject,
        message,
    } = &msgs[0];
    assert_eq!(topic, "arn:aws:sns:us-east-1:123456789012:lifeboat-shop");
    assert!(subject.contains("us-east-1 fenced itself"), "{subject}");
    assert!(
        message.contains("ecs:shop/web: fenced (6 -> 0)"),
        "{message}"
    );
    assert!(message.contains("lifeboat failback"), "{message}");
    let marker: FenceMarker =
        serde_json::from_str(&h.ports.params.value("/lifeboat/shop/fence").unwrap()).unwrap();
    assert_eq!(marker.writer_region, "us-west-2");

    // The next tick finds it fenced: nothing changes, nothing is announced again.
    let again = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { announced, .. } = &again else {
        panic!("{again:?}")
    };
    assert!(announced.is_none());
    assert_eq!(h.ports.notifier.messages().len(), 1);
}

#[tokio::test]
async fn a_failback_into_home_holds_off_the_guard() {
    let h = given_home_copy_after_a_failover();
    h.ports.peer_params.values.lock().unwrap().insert(
        "/lifeboat/shop/lock".into(),
        json!({"run_id": "shop-us-east-1-20261203t0300", "target_region": "us-east-1",
               "acquired_at": "2026-12-03T03:00:00Z"})
        .to_string(),
    );
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { verdict, fence, .. } = &out else {
        panic!("{out:?}")
    };
    assert!(
        matches!(verdict, GuardVerdict::RunInProgress { .. }),
        "{verdict:?}"
    );
    assert!(fence.is_none());
    assert!(
        h.ports.ecs.calls().is_empty(),
        "the failback owns home's capacity"
    );
    assert!(h.ports.notifier.messages().is_empty());
}

#[tokio::test]
async fn the_guard_fences_even_when_the_other_lock_cannot_be_read_and_says_so() {
    let h = given_home_copy_after_a_failover();
    let h = Handler {
        config: h.config,
        ports: Ports {
            ecs: h.ports.ecs,
            asg: h.ports.asg,
            db: h.ports.db,
            params: h.ports.params,
            peer_params: DarkParameters,
            notifier: h.ports.notifier,
            clock: h.ports.clock,
            k8s: h.ports.k8s,
            eks: h.ports.eks,
        },
    };
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { verdict, .. } = &out else {
        panic!("{out:?}")
    };
    assert!(
        matches!(verdict, GuardVerdict::Fence { unread_locks, .. } if unread_locks.len() == 1),
        "{verdict:?}"
    );
    assert_eq!(
        h.ports.ecs.get("us-east-1", "shop", "web").unwrap().desired,
        0
    );
    let msgs = h.ports.notifier.messages();
    assert!(
        msgs[0]
            .message
            .contains("Could not read a run lock (us-west-2"),
        "{}",
        msgs[0].message
    );
}

#[tokio::test]
async fn a_home_region_that_holds_the_writer_serves_and_its_old_note_goes() {
    let mut h = given_home_copy_after_a_failover();
    h.ports.db = FakeGlobalDatabase::new("shop-global", EAST, WEST);
    h.ports
        .params
        .values
        .lock()
        .unwrap()
        .insert("/lifeboat/shop/fence".into(), "{}".into());
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { verdict, .. } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(verdict, &GuardVerdict::Serving);
    assert!(h.ports.ecs.calls().is_empty());
    assert!(h.ports.params.value("/lifeboat/shop/fence").is_none());
}

#[tokio::test]
async fn the_dr_copy_never_fences_its_standby() {
    let h = given_a_standby_region();
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { verdict, .. } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(verdict, &GuardVerdict::NotHome);
    assert!(h.ports.ecs.calls().is_empty());
}

/// GIVEN the example shop with `traffic.shift_at_capacity_percent: 50` (warm standby: traffic
/// may shift at half the active capacity).
fn given_a_plan_that_shifts_at_half_capacity() -> Fakes {
    let h = given_a_standby_region();
    let plan = PLAN.replace(
        "  mode: routing_control\n",
        "  mode: routing_control\n  shift_at_capacity_percent: 50\n",
    );
    assert_ne!(plan, PLAN);
    *h.ports.params.values.lock().unwrap() = [("/lifeboat/shop/plan".to_string(), plan)]
        .into_iter()
        .collect();
    h
}

/// Sets what runs now in us-west-2: web, checkout, the workers' instances in service.
fn running(h: &Fakes, web: u32, checkout: u32, workers: u32) {
    for (service, n) in [("web", web), ("checkout", checkout)] {
        let mut s = h.ports.ecs.services.lock().unwrap();
        let v = s
            .get_mut(&("us-west-2".into(), "shop".into(), service.into()))
            .unwrap();
        v.running = n;
        v.pending = v.desired.saturating_sub(n);
    }
    let mut g = h.ports.asg.groups.lock().unwrap();
    let v = g
        .get_mut(&("us-west-2".into(), "shop-workers-usw2".into()))
        .unwrap();
    v.in_service = workers;
    v.instances = v.desired;
}

#[tokio::test]
async fn a_region_serves_once_every_resource_has_the_plans_share_running() {
    // GIVEN a plan that shifts at 50 %: web 6 -> 3, checkout 4 -> 2, workers 6 -> 3
    let h = given_a_plan_that_shifts_at_half_capacity();
    // WHEN scale-up starts and nothing new runs yet
    h.handle(json!({"action": "start"})).await.unwrap();
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Scaling { .. }), "{out:?}");
    // one resource short of its share: still scaling
    running(&h, 3, 2, 2);
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Scaling { .. }), "{out:?}");
    running(&h, 2, 4, 6);
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Scaling { .. }), "{out:?}");
    // THEN each at its share: serving, with what runs
    running(&h, 3, 2, 3);
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    let Response::Serving {
        shift_at_capacity_percent,
        resources,
        ..
    } = &out
    else {
        panic!("{out:?}")
    };
    assert_eq!(*shift_at_capacity_percent, 50);
    let ready: Vec<(String, u32, u32)> = resources
        .iter()
        .map(|r| (r.resource.clone(), r.ready, r.desired))
        .collect();
    assert_eq!(
        ready,
        [
            ("ecs:shop/web".to_string(), 3, 6),
            ("ecs:shop/checkout".to_string(), 2, 4),
            ("asg:shop-workers-usw2".to_string(), 3, 6)
        ]
    );
    // and full capacity is still steady
    h.ports.ecs.settle();
    h.ports.asg.settle();
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Steady { .. }), "{out:?}");
}

#[tokio::test]
async fn a_region_whose_desired_count_is_not_yet_set_does_not_serve_at_its_share() {
    // GIVEN a plan that shifts at 50 %, and a region at standby (start not yet run): web and
    // checkout run 1 of desired 1, which is not half of 6
    let h = given_a_plan_that_shifts_at_half_capacity();
    running(&h, 3, 2, 3);
    // WHEN status is asked before start set the desired counts
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    // THEN it is scaling: serving needs the active desired counts set (scale-up goes on)
    assert!(matches!(out, Response::Scaling { .. }), "{out:?}");
}

#[tokio::test]
async fn full_capacity_first_never_serves_early_and_standby_never_serves() {
    // GIVEN the example plan (no share: full capacity first), half of everything running
    let h = given_a_standby_region();
    h.handle(json!({"action": "start"})).await.unwrap();
    running(&h, 5, 3, 5);
    // THEN it is scaling until every task and instance runs
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Scaling { .. }), "{out:?}");
    // AND a plan with a share never answers serving for the standby level
    let h = given_a_plan_that_shifts_at_half_capacity();
    h.handle(json!({"action": "start"})).await.unwrap();
    running(&h, 3, 2, 3);
    let out = h
        .handle(json!({"action": "status", "level": "standby"}))
        .await
        .unwrap();
    assert!(matches!(out, Response::Scaling { .. }), "{out:?}");
}

// ---- PostgreSQL under Patroni (issue 22): the returning home region's database is fenced by
// its own copy, as its compute is.

/// GIVEN the home copy (us-east-1) of a Patroni shop after a failover with data loss: us-east-1
/// was dark, us-west-2's standby cluster was promoted onto timeline 2, and us-east-1 came back
/// as it was, a primary of its own on timeline 1 (two primaries). The REST password is in the
/// home region's store.
async fn given_home_back_as_its_own_patroni_primary() -> Fakes {
    let mut h = given_home_copy_after_a_failover();
    let plan_text = plan_with_patroni(PLAN);
    h.ports.params = FakeParameters::with("/lifeboat/shop/plan", &plan_text);
    h.ports
        .params
        .put("/lifeboat/shop/patroni-password", "rest-pw")
        .await
        .unwrap();
    h.ports.db = FakeGlobalDatabase::new("other-global", EAST, WEST);
    h.ports.db.patroni = FakePatroni::new("us-east-1", "us-west-2");
    h.ports
        .db
        .patroni
        .failed_over_while_dark("us-east-1", "us-west-2");
    // the copy that ran the failover recorded us-west-2 active (its store, the peer's here)
    h.ports
        .peer_params
        .put(
            "/lifeboat/shop/state",
            r#"{"active_region":"us-west-2","epoch":1,"last_run":null}"#,
        )
        .await
        .unwrap();
    h
}

#[tokio::test]
async fn a_patroni_home_back_on_a_newer_timeline_number_than_the_writer_is_still_demoted() {
    // GIVEN home back as its own primary after crashing and being promoted again by its own
    // Patroni twice: timeline 3, the writer (made active by lifeboat's run) on timeline 2
    let h = given_home_back_as_its_own_patroni_primary().await;
    h.ports.db.patroni.promoted_again("us-east-1");
    h.ports.db.patroni.promoted_again("us-east-1");
    let home = h.ports.db.patroni.leader("us-east-1").unwrap();
    let writer = h.ports.db.patroni.leader("us-west-2").unwrap();
    assert!(home.timeline > writer.timeline, "{home:?} {writer:?}");
    // WHEN its own copy's guard runs
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    // THEN it is demoted all the same: the writer is the region lifeboat's run made active, and
    // a timeline number says nothing about which primary the shop writes to. Fails on d10e20c:
    // the fence went through the promotion rule, which refused to demote a source on a newer
    // timeline than the target's, and home kept taking writes beside the shop's.
    let fenced = home_database_fence(&out);
    assert!(matches!(fenced, FenceOutcome::Demoted { .. }), "{fenced:?}");
    assert_eq!(
        h.ports.db.patroni.changes().last().map(String::as_str),
        Some("us-east-1 standby_cluster=pg1.us-west-2.test:5432")
    );
}

#[tokio::test]
async fn a_patroni_home_back_as_its_own_primary_is_demoted_by_its_own_copy_once() {
    // Fails on 12b6e81: two primaries read as "two writers", the guard's verdict was Unknown,
    // and home's old primary kept taking writes beside the shop's.
    let h = given_home_back_as_its_own_patroni_primary().await;
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded {
        verdict,
        fence,
        announced,
        ..
    } = &out
    else {
        panic!("{out:?}")
    };
    assert!(
        matches!(verdict, GuardVerdict::Fence { writer_region, .. } if writer_region == "us-west-2"),
        "{verdict:?}"
    );
    let fence = fence.as_ref().expect("fenced");
    assert!(fence.complete() && fence.changed(), "{fence:?}");
    assert!(
        matches!(
            outcome(fence, "database:us-east-1 Patroni cluster"),
            FenceOutcome::Demoted { .. }
        ),
        "{fence:?}"
    );
    // THEN home's cluster was made a standby cluster of the writer's primary
    assert_eq!(
        h.ports.db.patroni.changes(),
        vec![
            "us-west-2 promoted".to_string(),
            "us-east-1 standby_cluster=pg1.us-west-2.test:5432".to_string()
        ]
    );
    assert!(announced.is_some());
    let msgs = h.ports.notifier.messages();
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0]
            .message
            .contains("database:us-east-1 Patroni cluster: demoted"),
        "{}",
        msgs[0].message
    );
    // the password never reaches what a person reads
    assert!(!msgs[0].message.contains("rest-pw"));

    // WHEN Patroni has applied it, THEN the next tick finds it read-only: nothing changes,
    // nothing is announced again
    h.ports.db.patroni.tick();
    let again = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded {
        fence, announced, ..
    } = &again
    else {
        panic!("{again:?}")
    };
    let fence = fence.as_ref().expect("fence");
    assert!(
        matches!(
            outcome(fence, "database:us-east-1 Patroni cluster"),
            FenceOutcome::ReadOnly { .. }
        ),
        "{fence:?}"
    );
    assert!(announced.is_none());
    assert_eq!(h.ports.notifier.messages().len(), 1);
    assert_eq!(h.ports.db.patroni.changes().len(), 2);
}

#[tokio::test]
async fn a_patroni_fence_refused_for_its_password_is_recorded_and_not_complete() {
    let h = given_home_back_as_its_own_patroni_primary().await;
    *h.ports.db.patroni.password.lock().unwrap() = Some("rotated".into());
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { fence, .. } = &out else {
        panic!("{out:?}")
    };
    let fence = fence.as_ref().expect("fence");
    assert!(!fence.complete(), "{fence:?}");
    let FenceOutcome::Failed { detail } = outcome(fence, "database:us-east-1 Patroni cluster")
    else {
        panic!("{fence:?}")
    };
    assert!(!detail.contains("rest-pw"), "{detail}");
    assert_eq!(h.ports.db.patroni.changes().len(), 1, "nothing demoted");
}

#[tokio::test]
async fn an_aurora_home_gets_no_database_action_from_the_guard() {
    // Aurora demotes the old primary itself: the guard's report names compute only
    let h = given_home_copy_after_a_failover();
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { fence, .. } = &out else {
        panic!("{out:?}")
    };
    let fence = fence.as_ref().expect("fence");
    assert!(
        fence
            .actions
            .iter()
            .all(|a| !a.resource.starts_with("database:")),
        "{fence:?}"
    );
}

/// The example plan with no `compute` in either region (a stack whose compute lifeboat does not
/// scale, e.g. droplets that always run).
fn plan_without_compute() -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    for line in PLAN.lines() {
        let indent = line.len() - line.trim_start().len();
        if skipping && (line.trim().is_empty() || indent > 4) {
            continue;
        }
        skipping = indent == 4 && line.trim_start().starts_with("compute:");
        if !skipping {
            out.push(line);
        }
    }
    let plan = out.join("\n");
    assert!(!plan.contains("ecs_services"), "{plan}");
    plan
}

#[tokio::test]
async fn a_plan_without_compute_scales_nothing_and_is_steady_at_once() {
    let mut h = given_a_standby_region();
    h.ports.params = FakeParameters::with("/lifeboat/shop/plan", &plan_without_compute());
    let out = h.handle(json!({"action": "start"})).await.unwrap();
    let Response::Scaled { changed, .. } = &out else {
        panic!("{out:?}")
    };
    assert!(changed.is_empty(), "{out:?}");
    let out = h.handle(json!({"action": "status"})).await.unwrap();
    assert!(matches!(out, Response::Steady { .. }), "{out:?}");
    // nothing was touched in either region
    assert_eq!(
        h.ports.ecs.get("us-west-2", "shop", "web").unwrap().desired,
        1
    );
    let out = h
        .handle(json!({"action": "fence", "region": "us-east-1"}))
        .await
        .unwrap();
    assert!(format!("{out:?}").contains("actions: []"), "{out:?}");
}

#[tokio::test]
async fn two_patroni_primaries_without_lifeboats_record_are_not_guessed_at() {
    // GIVEN home back as its own primary, and no run state in either copy naming the region
    // lifeboat made active: timelines cannot tell the two primaries apart (a crashed primary
    // is promoted again by its own Patroni), so the guard fences nothing
    let h = given_home_back_as_its_own_patroni_primary().await;
    h.ports
        .peer_params
        .delete("/lifeboat/shop/state")
        .await
        .unwrap();
    let out = h.handle(json!({"action": "guard"})).await.unwrap();
    let Response::Guarded { verdict, fence, .. } = &out else {
        panic!("{out:?}")
    };
    assert!(
        matches!(verdict, GuardVerdict::Unknown { .. }),
        "{verdict:?}"
    );
    assert!(fence.is_none());
    assert_eq!(h.ports.db.patroni.changes().len(), 1, "nothing demoted");
}

// ---------------------------------------------------------------------------------------------
// Issue 23 item 2: Kubernetes workloads (a plan's compute.kubernetes)

const K8S_TOKEN: &str = "k8s-fake-token-k8s-fake-token-k8s-fake-token-0000";
const K8S_API: &str = "https://lke-usw2.example.com:443";
const K8S_TOKEN_PARAMETER: &str = "/lifeboat/shop/k8s-usw2-token";

fn deployment(name: &str) -> lifeboat_core::kubernetes::WorkloadRef {
    lifeboat_core::kubernetes::WorkloadRef {
        kind: lifeboat_core::kubernetes::WorkloadKind::Deployment,
        namespace: "shop".into(),
        name: name.into(),
    }
}

/// GIVEN the example shop with us-west-2's cluster in the plan: web at 1 (active 4) and the
/// stateful set queue at 0 (active 2), the token in its SecureString.
fn given_a_standby_cluster() -> Fakes {
    let h = given_a_standby_region();
    let mut plan: lifeboat_core::plan::Plan = serde_norway::from_str(PLAN).unwrap();
    plan.regions
        .get_mut("us-west-2")
        .unwrap()
        .compute
        .kubernetes = Some(lifeboat_core::plan::KubernetesPlan {
        api_url: K8S_API.into(),
        token_parameter: Some(K8S_TOKEN_PARAMETER.into()),
        eks: None,
        ca_parameter: None,
        deployments: vec![lifeboat_core::plan::WorkloadPlan {
            namespace: "shop".into(),
            name: "web".into(),
            standby_replicas: 1,
            active_replicas: 4,
        }],
        statefulsets: vec![lifeboat_core::plan::WorkloadPlan {
            namespace: "shop".into(),
            name: "queue".into(),
            standby_replicas: 0,
            active_replicas: 2,
        }],
    });
    h.ports.params.insert(
        "/lifeboat/shop/plan",
        &serde_json::to_string(&plan).unwrap(),
    );
    h.ports.params.insert(K8S_TOKEN_PARAMETER, K8S_TOKEN);
    h.ports.k8s.add(K8S_API, deployment("web"), 1);
    let queue = lifeboat_core::kubernetes::WorkloadRef {
        kind: lifeboat_core::kubernetes::WorkloadKind::StatefulSet,
        ..deployment("queue")
    };
    h.ports.k8s.add(K8S_API, queue, 0);
    h
}

#[tokio::test]
async fn kubernetes_workloads_scale_to_active_and_are_steady_only_once_every_pod_is_ready() {
    let h = given_a_standby_cluster();
    let out = h.handle(json!({"action": "start"})).await.unwrap();
    let Response::Scaled { changed, .. } = &out else {
        panic!("{out:?}")
    };
    let ids: Vec<&str> = changed.iter().map(|c| c.resource.as_str()).collect();
    assert!(ids.contains(&"k8s:deployments/shop/web"), "{ids:?}");
    assert!(ids.contains(&"k8s:statefulsets/shop/queue"), "{ids:?}");
    assert_eq!(
        h.ports.k8s.replicas(K8S_API, &deployment("web")),
        Some((4, 1))
    );

    // status: scaling while pods come up, steady once all are ready
    let mut states = Vec::new();
    for _ in 0..12 {
        let r = h.handle(json!({"action": "status"})).await.unwrap();
        let web = resources(&r)
            .into_iter()
            .find(|(id, _)| id == "k8s:deployments/shop/web")
            .unwrap();
        states.push(web.1);
        if matches!(r, Response::Steady { .. }) {
            break;
        }
    }
    assert_eq!(states.first(), Some(&false), "{states:?}");
    assert_eq!(states.last(), Some(&true), "{states:?}");

    // a repeat changes nothing
    let again = h.handle(json!({"action": "start"})).await.unwrap();
    let Response::Scaled { changed, .. } = &again else {
        panic!("{again:?}")
    };
    assert!(
        changed.iter().all(|c| !c.resource.starts_with("k8s:")),
        "{changed:?}"
    );
}

#[tokio::test]
async fn pods_that_never_become_ready_keep_the_region_scaling() {
    let h = given_a_standby_cluster();
    h.ports.k8s.hold(K8S_API, &deployment("web"));
    h.handle(json!({"action": "start"})).await.unwrap();
    for _ in 0..8 {
        let r = h.handle(json!({"action": "status"})).await.unwrap();
        assert!(!matches!(r, Response::Steady { .. }), "{r:?}");
    }
}

#[tokio::test]
async fn without_its_token_nothing_is_changed_and_the_parameter_is_named() {
    let h = given_a_standby_cluster();
    h.ports.params.remove(K8S_TOKEN_PARAMETER);
    let e = h.handle(json!({"action": "start"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
    assert!(e.message().contains(K8S_TOKEN_PARAMETER), "{e}");
    assert!(
        h.ports.k8s.calls.lock().unwrap().is_empty(),
        "no call reached the cluster"
    );
    assert_eq!(
        h.ports
            .ecs
            .get("us-west-2", "shop", "web")
            .map(|v| v.desired),
        Some(1),
        "nothing else changed"
    );

    // a wrong token: AccessDenied, the token in no error
    h.ports
        .params
        .insert(K8S_TOKEN_PARAMETER, "a-revoked-token");
    let e = h.handle(json!({"action": "start"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccessDenied, "{e}");
    assert!(!format!("{e:?}").contains("a-revoked-token"));
}

#[tokio::test]
async fn a_fence_of_a_dark_cluster_is_recorded_and_the_way_home_returns_workloads_to_standby() {
    let h = given_a_standby_cluster();
    h.handle(json!({"action": "start"})).await.unwrap();
    // the failback's scale-down (us-east-1 holds the writer in the example)
    let out = h
        .handle(json!({"action": "scale_down", "region": "us-west-2"}))
        .await
        .unwrap();
    let Response::Scaled { level, .. } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(*level, Level::Standby);
    assert_eq!(
        h.ports
            .k8s
            .replicas(K8S_API, &deployment("web"))
            .map(|r| r.0),
        Some(1)
    );

    // a fence of us-west-2 while its cluster does not answer: recorded, not an error
    h.ports.k8s.dark.lock().unwrap().insert(K8S_API.into());
    let out = h
        .handle(json!({"action": "fence", "region": "us-west-2"}))
        .await
        .unwrap();
    let Response::Fenced { fence } = &out else {
        panic!("{out:?}")
    };
    let web = outcome(fence, "k8s:deployments/shop/web");
    assert!(matches!(web, FenceOutcome::Unreachable { .. }), "{web:?}");
}

// Issue 23 item 2 (EKS): the cluster is reached with the IAM-authenticated token, signed for it
// by this function's role; no token is read from a parameter.

const EKS_CA_PARAMETER: &str = "/lifeboat/shop/kubernetes/usw2-ca";

/// GIVEN the standby cluster of [`given_a_standby_cluster`], on EKS: the plan names the cluster
/// `shop-usw2` and its CA instead of a token, and the cluster accepts only the token signed for
/// it.
fn given_a_standby_eks_cluster() -> Fakes {
    let mut h = given_a_standby_cluster();
    let mut plan: lifeboat_core::plan::Plan =
        serde_json::from_str(&h.ports.params.value("/lifeboat/shop/plan").unwrap()).unwrap();
    let k = plan
        .regions
        .get_mut("us-west-2")
        .and_then(|r| r.compute.kubernetes.as_mut())
        .unwrap();
    k.token_parameter = None;
    k.eks = Some(lifeboat_core::plan::EksClusterPlan {
        cluster_name: "shop-usw2".into(),
    });
    k.ca_parameter = Some(EKS_CA_PARAMETER.into());
    h.ports.params.insert(
        "/lifeboat/shop/plan",
        &serde_json::to_string(&plan).unwrap(),
    );
    h.ports.params.remove(K8S_TOKEN_PARAMETER);
    h.ports.params.insert(
        EKS_CA_PARAMETER,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    );
    let k8s = FakeKubernetes::new(&FakeEksTokens::token_for("us-west-2", "shop-usw2"));
    for (w, n) in [
        (deployment("web"), 1),
        (
            lifeboat_core::kubernetes::WorkloadRef {
                kind: lifeboat_core::kubernetes::WorkloadKind::StatefulSet,
                ..deployment("queue")
            },
            0,
        ),
    ] {
        k8s.add(K8S_API, w, n);
    }
    h.ports.k8s = k8s;
    h
}

#[tokio::test]
async fn an_eks_cluster_is_scaled_with_a_token_signed_for_it_and_no_token_parameter() {
    let h = given_a_standby_eks_cluster();
    // WHEN the scale-up starts
    let out = h.handle(json!({"action": "start"})).await.unwrap();
    // THEN the workloads are scaled with the token signed for shop-usw2 in us-west-2
    let Response::Scaled { changed, .. } = &out else {
        panic!("{out:?}")
    };
    assert!(
        changed
            .iter()
            .any(|c| c.resource == "k8s:deployments/shop/web"),
        "{changed:?}"
    );
    assert_eq!(
        h.ports.k8s.replicas(K8S_API, &deployment("web")),
        Some((4, 1))
    );
    let signed = h.ports.eks.signed.lock().unwrap().clone();
    assert!(!signed.is_empty());
    assert!(
        signed.iter().all(|s| s == "us-west-2 shop-usw2"),
        "{signed:?}"
    );
    // (the token parameter of the token-based plan is gone: nothing needed it)
    assert_eq!(h.ports.params.value(K8S_TOKEN_PARAMETER), None);
}

#[tokio::test]
async fn without_credentials_to_sign_with_or_the_clusters_ca_nothing_is_changed() {
    let h = given_a_standby_eks_cluster();
    *h.ports.eks.unavailable.lock().unwrap() = true;
    let e = h.handle(json!({"action": "start"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert!(
        h.ports.k8s.calls.lock().unwrap().is_empty(),
        "no call reached the cluster"
    );
    assert_eq!(
        h.ports
            .ecs
            .get("us-west-2", "shop", "web")
            .map(|v| v.desired),
        Some(1),
        "nothing else changed"
    );

    *h.ports.eks.unavailable.lock().unwrap() = false;
    h.ports.params.remove(EKS_CA_PARAMETER);
    let e = h.handle(json!({"action": "start"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
    assert!(e.message().contains(EKS_CA_PARAMETER), "{e}");
    assert!(
        h.ports.k8s.calls.lock().unwrap().is_empty(),
        "no call reached the cluster"
    );
}
