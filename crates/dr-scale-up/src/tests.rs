//! GIVEN / WHEN / THEN tests of dr-scale-up over in-memory fakes.

use lifeboat_core::ErrorKind;
use lifeboat_core::fakes::*;
use serde_json::json;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";

type Fakes = Handler<FakeEcs, FakeAsg, FakeGlobalDatabase, FakeParameters>;

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
            plan_parameter: "/lifeboat/shop/plan".into(),
            region: "us-west-2".into(),
            concurrency: 4,
        },
        ports: Ports {
            ecs,
            asg,
            db: FakeGlobalDatabase::new("shop-global", EAST, WEST),
            params: FakeParameters::with("/lifeboat/shop/plan", PLAN),
        },
    }
}

fn resources(r: &Response) -> Vec<(String, bool)> {
    match r {
        Response::Steady { resources, .. } | Response::Scaling { resources, .. } => resources
            .iter()
            .map(|r| (r.resource.clone(), r.steady))
            .collect(),
        Response::Scaled { .. } => panic!("not a status: {r:?}"),
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
