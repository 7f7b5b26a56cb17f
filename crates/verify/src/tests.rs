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

type Fakes = Handler<FakeHttp, FakeGlobalDatabase, FakeParameters>;

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
