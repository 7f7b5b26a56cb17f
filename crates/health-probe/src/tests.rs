//! GIVEN / WHEN / THEN tests of health-probe over in-memory fakes.

use std::sync::Mutex;

use lifeboat_core::ErrorKind;
use lifeboat_core::fakes::*;
use lifeboat_core::ports::HttpObservation;
use lifeboat_core::trigger::Observation;
use serde_json::json;

use super::*;

const PLAN: &str = include_str!("../../../examples/plan.yaml");
const PRIMARY: &str = "https://use1.shop.example.com/healthz";

#[derive(Debug, Default)]
struct Lines(Mutex<Vec<String>>);

impl LineSink for Lines {
    fn line(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
}

type Fakes = Handler<FakeHttp, FakeEvents, FakeParameters, Lines, FixedClock>;

/// GIVEN the canary in us-west-2 and the primary (us-east-1) answering "ok".
fn given_a_canary() -> Fakes {
    let http = FakeHttp::default();
    http.answer(PRIMARY, 200, "ok");
    Handler {
        config: Config {
            plan: lifeboat_lambda::PlanConfig {
                plan_parameter: "/lifeboat/shop/plan".into(),
                region: "us-west-2".into(),
            },
            interval: Duration::ZERO,
            watch: Duration::ZERO,
        },
        ports: Ports {
            http,
            events: FakeEvents::default(),
            params: FakeParameters::with("/lifeboat/shop/plan", PLAN),
            metrics: Lines::default(),
            clock: FixedClock::at(time::macros::datetime!(2026-11-22 03:00 UTC)),
        },
    }
}

fn schedule() -> Value {
    json!({
        "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-22T03:00:00Z", "region": "us-west-2",
        "resources": [], "detail": {}
    })
}

fn emf_line(h: &Fakes) -> Value {
    let lines = h.ports.metrics.0.lock().unwrap();
    assert_eq!(lines.len(), 1, "one EMF line per invocation");
    serde_json::from_str(&lines[0]).unwrap()
}

#[tokio::test]
async fn a_healthy_primary_is_a_metric_and_no_event() {
    let h = given_a_canary();
    let r = h.handle(schedule()).await.unwrap();
    assert_eq!((r.probes, r.failures, r.event_sent), (5, 0, false));
    assert_eq!(h.ports.http.requests().len(), 5);
    let emf = emf_line(&h);
    assert_eq!(emf["PrimaryHealthy"], 1);
    assert_eq!(emf["ProbedRegion"], "us-east-1");
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Lifeboat");
    assert!(h.ports.events.events().is_empty());
}

#[tokio::test]
async fn two_of_five_failures_are_below_the_rule() {
    let h = given_a_canary();
    h.ports
        .http
        .script(PRIMARY, &[(503, ""), (200, "ok"), (503, "")]);
    let r = h.handle(schedule()).await.unwrap();
    assert_eq!((r.failures, r.event_sent), (2, false));
    assert_eq!(emf_line(&h)["PrimaryProbeFailures"], 2);
    assert!(h.ports.events.events().is_empty());
}

#[tokio::test]
async fn three_of_five_failures_put_an_event_that_alarm_to_failover_accepts() {
    let h = given_a_canary();
    h.ports
        .http
        .script(PRIMARY, &[(503, ""), (503, ""), (200, "ok"), (503, "")]);
    let r = h.handle(schedule()).await.unwrap();
    assert_eq!((r.failures, r.event_sent), (3, true));
    assert_eq!(emf_line(&h)["PrimaryHealthy"], 0);
    let events = h.ports.events.events();
    assert_eq!(events.len(), 1);
    let PutEvent {
        region,
        source,
        detail_type,
        detail,
    } = &events[0];
    assert_eq!(region, "us-west-2");
    // As EventBridge would deliver it to alarm-to-failover:
    let delivered = json!({
        "version": "0", "id": "2", "detail-type": detail_type, "source": source,
        "account": "123456789012", "time": "2026-11-22T03:00:20Z", "region": region,
        "resources": [], "detail": serde_json::from_str::<Value>(detail).unwrap()
    });
    let Observation::Canary(report) = alarm_to_failover::parse_observation(delivered).unwrap()
    else {
        panic!("not a canary observation")
    };
    assert_eq!((report.failures, report.probes), (3, 5));
    assert_eq!(report.probed_region, "us-east-1");
    assert!(report.evidence.iter().any(|e| e.contains("HTTP 503")));
}

/// GIVEN the canary watching eight rounds (a round every millisecond for 7 ms), as the
/// template's cadence does every 10 s for 70 s.
fn given_a_canary_watching_eight_rounds() -> Fakes {
    let mut h = given_a_canary();
    h.config.interval = Duration::from_millis(1);
    h.config.watch = Duration::from_millis(7);
    h
}

#[tokio::test]
async fn an_outage_late_in_the_watch_is_reported_the_round_the_rule_is_reached() {
    let h = given_a_canary_watching_eight_rounds();
    let ok = (200, "ok");
    let down = (503, "");
    h.ports
        .http
        .script(PRIMARY, &[ok, ok, ok, ok, down, down, down, down]);
    let r = h.handle(schedule()).await.unwrap();
    assert_eq!((r.failures, r.event_sent), (3, true));
    // the seventh round reached 3 of the last 5: no eighth round
    assert_eq!(h.ports.http.requests().len(), 7);
    assert_eq!(h.ports.events.events().len(), 1);
    assert_eq!(emf_line(&h)["PrimaryHealthy"], 0);
}

#[tokio::test]
async fn an_endpoint_flapping_below_the_rule_sends_no_event() {
    let h = given_a_canary_watching_eight_rounds();
    let ok = (200, "ok");
    let down = (503, "");
    // down one round in three: never 3 of any 5
    h.ports
        .http
        .script(PRIMARY, &[down, ok, ok, down, ok, ok, down, ok]);
    let r = h.handle(schedule()).await.unwrap();
    assert_eq!((r.failures, r.event_sent), (2, false));
    assert_eq!(h.ports.http.requests().len(), 8, "the whole watch");
    assert_eq!(emf_line(&h)["PrimaryProbeFailures"], 2);
    assert!(h.ports.events.events().is_empty());
}

#[tokio::test]
async fn a_slow_answer_within_its_timeout_passes_and_a_single_failure_is_no_outage() {
    let h = given_a_canary_watching_eight_rounds();
    h.ports.http.answers.lock().unwrap().insert(
        PRIMARY.into(),
        HttpObservation::Response {
            status: 200,
            body: "ok".into(),
            elapsed_ms: 1_900,
        },
    );
    h.ports.http.script(PRIMARY, &[(200, "ok"), (503, "")]);
    let r = h.handle(schedule()).await.unwrap();
    assert_eq!((r.failures, r.event_sent), (1, false));
    assert_eq!(h.ports.http.requests().len(), 8);
    assert!(h.ports.events.events().is_empty());
}

#[tokio::test]
async fn anything_but_a_schedule_is_invalid_input_and_probes_nothing() {
    let h = given_a_canary();
    let mut other = schedule();
    other["source"] = json!("aws.cloudwatch");
    for bad in [other, json!({}), json!([1])] {
        let err = h.handle(bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    assert!(h.ports.http.requests().is_empty());
}

#[tokio::test]
async fn the_sample_event_is_a_schedule() {
    let path = format!(
        "{}/../../events/health-probe/scheduled.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let h = given_a_canary();
    assert!(h.handle(event).await.is_ok());
}
