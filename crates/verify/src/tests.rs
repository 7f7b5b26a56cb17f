//! GIVEN / WHEN / THEN tests of verify over in-memory fakes.

use lifeboat_core::ErrorKind;
use lifeboat_core::fakes::*;
use serde_json::json;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";
const REGIONAL: &str = "https://usw2.shop.example.com/healthz";
const PUBLIC: &str = "https://www.shop.example.com/healthz";

type Fakes = Handler<FakeHttp, FakeGlobalDatabase, FakeParameters, FakeCacheNodes>;

/// GIVEN traffic moved to us-west-2, its database the writer, its endpoint and the public name
/// answering "ok usw2".
fn given_a_shifted_shop() -> Fakes {
    let http = FakeHttp::default();
    http.answer(REGIONAL, 200, "ok usw2");
    http.answer(PUBLIC, 200, "ok region=us-west-2");
    Handler {
        config: Config {
            plan_parameter: "/lifeboat/shop/plan".into(),
            region: "us-west-2".into(),
        },
        ports: Ports {
            http,
            db: FakeGlobalDatabase::new("shop-global", WEST, EAST),
            params: FakeParameters::with("/lifeboat/shop/plan", PLAN),
            cache: FakeCacheNodes::default(),
        },
    }
}

fn failed(r: &Response) -> Vec<CheckKind> {
    r.checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.kind)
        .collect()
}

#[tokio::test]
async fn every_check_passing_passes() {
    let h = given_a_shifted_shop();
    let r = h.handle(json!({})).await.unwrap();
    assert!(r.passed, "{r:?}");
    assert_eq!(r.checks.len(), 3);
    assert_eq!(h.ports.http.requests().len(), 2);
}

#[tokio::test]
async fn a_503_from_the_region_fails_with_the_evidence() {
    let h = given_a_shifted_shop();
    h.ports.http.answer(REGIONAL, 503, "down");
    let r = h.handle(json!({})).await.unwrap();
    assert!(!r.passed);
    assert_eq!(failed(&r), [CheckKind::RegionalEndpoint]);
    assert!(r.checks.iter().any(|c| c.evidence.contains("HTTP 503")));
}

#[tokio::test]
async fn the_public_name_still_answering_from_the_old_region_fails() {
    let h = given_a_shifted_shop();
    h.ports.http.answer(PUBLIC, 200, "ok region=us-east-1");
    let r = h.handle(json!({})).await.unwrap();
    assert_eq!(failed(&r), [CheckKind::PublicName]);
}

#[tokio::test]
async fn a_timeout_fails() {
    let h = given_a_shifted_shop();
    h.ports.http.time_out(PUBLIC);
    let r = h.handle(json!({})).await.unwrap();
    assert_eq!(failed(&r), [CheckKind::PublicName]);
    assert!(r.checks.iter().any(|c| c.evidence.contains("timed out")));
}

#[tokio::test]
async fn the_writer_elsewhere_fails() {
    let h = given_a_shifted_shop();
    let r = h
        .handle(json!({"target_region": "us-east-1"}))
        .await
        .unwrap();
    assert!(!r.passed);
    assert!(failed(&r).contains(&CheckKind::DatabaseWriter));
}

#[tokio::test]
async fn bad_requests_are_invalid_input() {
    let h = given_a_shifted_shop();
    let err = h.handle(json!({"target": "us-west-2"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(h.ports.http.requests().is_empty());
}

#[test]
fn the_sample_event_parses() {
    let path = format!(
        "{}/../../events/verify/verify.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let _: Request = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
}

// -- the cache ---------------------------------------------------------------------------------

const CACHE_PLAN: &str = include_str!("../../../examples/plan-digitalocean.yaml");

/// GIVEN the shifted shop with the plan's cache: west's 10.20.0.12 the master, 10.20.0.11 its
/// replica, and `watching` what west's Sentinels watch.
fn given_a_cache(watching: Option<&str>) -> Fakes {
    let mut h = given_a_shifted_shop();
    h.ports.params = FakeParameters::with("/lifeboat/shop/plan", CACHE_PLAN);
    h.ports
        .params
        .insert("/lifeboat/shop/cache-password", "s3cret-cache");
    h.ports
        .http
        .answer("https://usw2.shop.example.com/healthz", 200, "ok");
    let c = FakeCacheNodes::new(Some("s3cret-cache"));
    c.node("10.20.0.12:6379", None, 9)
        .node("10.20.0.11:6379", Some("10.20.0.12:6379"), 9);
    for s in ["10.20.0.21:26379", "10.20.0.22:26379", "10.20.0.23:26379"] {
        c.sentinel(s, watching);
    }
    h.ports.cache = c;
    h
}

#[tokio::test]
async fn verify_sees_the_cache_master_the_target_regions_sentinels_watch() {
    let h = given_a_cache(Some("10.20.0.12:6379"));
    let r = h
        .handle(json!({"target_region": "us-west-2"}))
        .await
        .unwrap();
    let cache = r
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::CacheMaster)
        .expect("a cache check");
    assert!(cache.passed, "{cache:?}");
    assert!(cache.evidence.contains("10.20.0.12:6379"), "{cache:?}");
}

#[tokio::test]
async fn a_cache_the_sentinels_do_not_watch_fails_verify_with_why() {
    // GIVEN the cache did not move: west's Sentinels watch nothing
    let h = given_a_cache(None);
    let r = h
        .handle(json!({"target_region": "us-west-2"}))
        .await
        .unwrap();
    assert!(!r.passed);
    assert_eq!(failed(&r), vec![CheckKind::CacheMaster]);
    let cache = r.checks.iter().find(|c| !c.passed).unwrap();
    assert!(cache.evidence.contains("watches no master"), "{cache:?}");
    // AND a plan without a cache has no cache check
    let h = given_a_shifted_shop();
    let r = h
        .handle(json!({"target_region": "us-west-2"}))
        .await
        .unwrap();
    assert!(r.checks.iter().all(|c| c.kind != CheckKind::CacheMaster));
}
