//! GIVEN an Alertmanager notification (payload version 4), WHEN lifeboat reads and classifies
//! it, THEN only a firing alert the plan names about the region it fails over from is a trigger.

use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::error::ErrorKind;
use crate::plan::ValidPlan;
use crate::run::RunId;
use crate::trigger::{NotActionable, Observation, Trigger, classify};

const NOW: OffsetDateTime = datetime!(2026-11-22 03:05 UTC);

/// The example plan, with Alertmanager's `PrimaryRegionDown{severity="critical"}` about us-east-1
/// and `DrRegionDown` about us-west-2.
fn plan() -> ValidPlan {
    let yaml = include_str!("../../../../examples/plan.yaml").replace(
        "  canary: { failures_required: 3, of_probes: 5 }\n",
        "  canary: { failures_required: 3, of_probes: 5 }
  alertmanager:
    token_parameter: /lifeboat/shop/alertmanager-token
    alerts:
      - { alertname: PrimaryRegionDown, labels: { severity: critical }, region: us-east-1 }
      - { alertname: DrRegionDown, region: us-west-2 }
",
    );
    ValidPlan::parse(&yaml).expect("valid plan")
}

fn alert(name: &str, status: &str, starts_at: &str, extra: &[(&str, &str)]) -> Value {
    let mut labels = serde_json::Map::new();
    labels.insert("alertname".into(), json!(name));
    labels.insert("severity".into(), json!("critical"));
    for (k, v) in extra {
        labels.insert((*k).into(), json!(v));
    }
    json!({
        "status": status,
        "labels": labels,
        "annotations": {"summary": "the primary region does not answer"},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "1a30ba71cca2921f"
    })
}

fn notification(status: &str, alerts: Vec<Value>) -> Value {
    json!({
        "version": "4",
        "groupKey": "{}/{severity=\"critical\"}:{alertname=\"PrimaryRegionDown\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "lifeboat",
        "groupLabels": {"alertname": "PrimaryRegionDown"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts
    })
}

fn classified(body: &Value) -> Result<Trigger, NotActionable> {
    let n = parse(body.to_string().as_bytes()).expect("parses");
    classify(&plan(), "us-west-2", &Observation::Alertmanager(n), NOW)
}

#[test]
fn a_firing_plan_alert_about_the_primary_is_a_trigger_timed_at_its_start() {
    // GIVEN PrimaryRegionDown firing since 03:01:30 (and an unrelated alert of the group)
    let body = notification(
        "firing",
        vec![
            alert("DiskFull", "firing", "2026-11-22T03:00:00Z", &[]),
            alert(
                "PrimaryRegionDown",
                "firing",
                "2026-11-22T03:01:30.123456789+00:00",
                &[("region", "nyc3")],
            ),
        ],
    );
    // WHEN classified for a failover into us-west-2
    let t = classified(&body).expect("a trigger");
    // THEN it is the plan's alert, timed at its start
    let Trigger::Alert {
        alert,
        region,
        matching,
        at,
        ..
    } = &t
    else {
        panic!("{t:?}")
    };
    assert_eq!(region, "us-east-1");
    assert_eq!(*matching, 1);
    assert_eq!(*at, datetime!(2026-11-22 03:01:30.123456789 UTC));
    assert_eq!(
        alert,
        "PrimaryRegionDown{region=\"nyc3\", severity=\"critical\"}"
    );
}

#[test]
fn a_groups_repeated_notifications_name_one_run() {
    // GIVEN the first notification, then the repeat an hour later with a second instance firing
    let first = notification(
        "firing",
        vec![alert(
            "PrimaryRegionDown",
            "firing",
            "2026-11-22T03:01:30Z",
            &[("instance", "a")],
        )],
    );
    let repeat = notification(
        "firing",
        vec![
            alert(
                "PrimaryRegionDown",
                "firing",
                "2026-11-22T03:50:00Z",
                &[("instance", "b")],
            ),
            alert(
                "PrimaryRegionDown",
                "firing",
                "2026-11-22T03:01:30Z",
                &[("instance", "a")],
            ),
        ],
    );
    let (a, b) = (
        classified(&first).expect("trigger"),
        classified(&repeat).expect("trigger"),
    );
    // THEN both are timed at the outage's first alert, and name the same run
    assert_eq!(a.at(), b.at());
    let window = plan().triggers().incident_window_seconds;
    assert_eq!(
        RunId::for_incident("shop", "us-west-2", a.at(), window),
        RunId::for_incident("shop", "us-west-2", b.at(), window)
    );
    let Trigger::Alert { matching, .. } = b else {
        panic!()
    };
    assert_eq!(matching, 2);
}

#[test]
fn resolved_other_and_misdirected_alerts_never_start_a_run() {
    let why = |body: Value| classified(&body).expect_err("not a trigger");
    // resolved: the group resolved, or the plan's alert resolved beside another firing alert
    let resolved = alert("PrimaryRegionDown", "resolved", "2026-11-22T03:01:30Z", &[]);
    assert!(matches!(
        why(notification("resolved", vec![resolved.clone()])),
        NotActionable::AlertResolved { .. }
    ));
    assert!(matches!(
        why(notification(
            "firing",
            vec![
                resolved,
                alert("DiskFull", "firing", "2026-11-22T03:00:00Z", &[])
            ]
        )),
        NotActionable::AlertResolved { .. }
    ));
    // another alert, or the plan's alertname without the plan's labels
    let mut warning = alert("PrimaryRegionDown", "firing", "2026-11-22T03:01:30Z", &[]);
    warning["labels"]["severity"] = json!("warning");
    assert!(matches!(
        why(notification("firing", vec![warning])),
        NotActionable::NotAPlanAlert { .. }
    ));
    assert!(matches!(
        why(notification("firing", vec![])),
        NotActionable::NotAPlanAlert { .. }
    ));
    // an alert that says the region lifeboat would fail over *into* is down
    assert!(matches!(
        why(notification(
            "firing",
            vec![alert("DrRegionDown", "firing", "2026-11-22T03:01:30Z", &[])]
        )),
        NotActionable::AlertAboutAnotherRegion { .. }
    ));
    // an alert that starts ten minutes from now
    assert!(matches!(
        why(notification(
            "firing",
            vec![alert(
                "PrimaryRegionDown",
                "firing",
                "2026-11-22T03:15:00Z",
                &[]
            )]
        )),
        NotActionable::AlertFromTheFuture { .. }
    ));
    // a plan that names no Alertmanager alerts
    let n = parse(
        notification(
            "firing",
            vec![alert(
                "PrimaryRegionDown",
                "firing",
                "2026-11-22T03:01:30Z",
                &[],
            )],
        )
        .to_string()
        .as_bytes(),
    )
    .expect("parses");
    let example =
        ValidPlan::parse(include_str!("../../../../examples/plan.yaml")).expect("example plan");
    assert_eq!(
        classify(&example, "us-west-2", &Observation::Alertmanager(n), NOW),
        Err(NotActionable::AlertmanagerNotPlanned)
    );
}

#[test]
fn a_body_that_is_not_a_version_4_notification_is_invalid_input_saying_why() {
    let good = notification(
        "firing",
        vec![alert(
            "PrimaryRegionDown",
            "firing",
            "2026-11-22T03:01:30Z",
            &[],
        )],
    );
    let refused = |body: Vec<u8>| {
        let e = parse(&body).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        e.to_string()
    };
    let mut v3 = good.clone();
    v3["version"] = json!("3");
    assert!(refused(v3.to_string().into_bytes()).contains("version '3'"));
    assert!(refused(b"not json".to_vec()).contains("not an Alertmanager notification"));
    let mut pending = good.clone();
    pending["alerts"][0]["status"] = json!("pending");
    refused(pending.to_string().into_bytes());
    let mut no_start = good.clone();
    no_start["alerts"][0]
        .as_object_mut()
        .expect("object")
        .remove("startsAt");
    refused(no_start.to_string().into_bytes());
    let mut bad_time = good.clone();
    bad_time["alerts"][0]["startsAt"] = json!("yesterday");
    refused(bad_time.to_string().into_bytes());
    assert!(refused(vec![b' '; MAX_BODY_BYTES + 1]).contains("more than"));
    let mut many = good.clone();
    many["alerts"] = json!(vec![good["alerts"][0].clone(); MAX_ALERTS + 1]);
    refused(many.to_string().into_bytes());
    // AND the notification as sent parses (the unread fields are ignored)
    assert_eq!(
        parse(good.to_string().as_bytes())
            .expect("parses")
            .alerts
            .len(),
        1
    );
}

#[test]
fn an_alerts_labels_reach_a_person_inert_and_bounded() {
    // GIVEN an alert whose label values carry a line break, a bidi override and a flood
    let hostile = alert(
        "PrimaryRegionDown",
        "firing",
        "2026-11-22T03:01:30Z",
        &[
            ("instance", "a\nAPPROVED by ops\u{202e}"),
            ("zz", &"x".repeat(5_000)),
        ],
    );
    let t = classified(&notification("firing", vec![hostile])).expect("trigger");
    let Trigger::Alert { alert, .. } = t else {
        panic!()
    };
    // THEN what a person reads is one line, escaped, bounded
    assert!(
        !alert.contains('\n') && !alert.contains('\u{202e}'),
        "{alert}"
    );
    assert!(alert.contains("a\\u{a}APPROVED by ops\\u{202e}"), "{alert}");
    assert!(alert.chars().count() <= 400, "{}", alert.chars().count());
}
