//! alarm-to-failover against the emulator.

use lifeboat_core::ErrorKind;
use serde_json::json;

use crate::{alarm_event, alarm_handler};
use alarm_to_failover::Outcome;
use lifeboat_tests::{EAST, Shop};

#[tokio::test]
async fn the_same_alarm_event_sent_20_times_starts_exactly_one_execution() {
    // GIVEN the shop, healthy lag, the alarm in ALARM
    let shop = Shop::seed(800.0).await;
    let handler = alarm_handler(&shop);
    let event = alarm_event();
    // WHEN the same event arrives 20 times (EventBridge delivers at least once; storms happen)
    let mut fresh_starts = 0;
    let mut run_ids = std::collections::BTreeSet::new();
    for _ in 0..20 {
        match handler.handle(event.clone()).await.expect("handled") {
            Outcome::Started {
                run_id, duplicate, ..
            } => {
                run_ids.insert(run_id.to_string());
                if !duplicate {
                    fresh_starts += 1;
                }
            }
            other => panic!("expected a start or duplicate, got {other:?}"),
        }
    }
    // THEN exactly one execution exists, named after the incident
    let executions = shop.executions().await;
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(fresh_starts, 1);
    assert_eq!(run_ids.into_iter().collect::<Vec<_>>(), executions);
    // AND the lock names that run
    let params = shop.parameters().await;
    let lock = params
        .iter()
        .find(|(n, _)| n == "/lifeboat/shop/lock")
        .expect("lock held");
    assert!(lock.1.contains(&executions[0]), "{}", lock.1);
}

#[tokio::test]
async fn a_switchover_is_planned_while_the_primary_answers_and_failover_when_it_is_dark() {
    let shop = Shop::seed(1_200.0).await;
    let handler = alarm_handler(&shop);
    let Outcome::Started { request, .. } = handler.handle(alarm_event()).await.expect("handled")
    else {
        panic!("expected a start")
    };
    assert_eq!(
        serde_json::to_value(&request.promotion).expect("json"),
        json!({"mode": "switchover"})
    );
    assert!(request.readiness.primary_reachable);

    let shop = Shop::seed(1_200.0).await;
    shop.emulator.outage(EAST).await;
    let handler = alarm_handler(&shop);
    let Outcome::Started { request, .. } = handler.handle(alarm_event()).await.expect("handled")
    else {
        panic!("expected a start")
    };
    assert_eq!(
        serde_json::to_value(&request.promotion).expect("json"),
        json!({"mode": "failover", "lag": 1.2, "overridden": false})
    );
    assert!(!request.readiness.primary_reachable);
}

#[tokio::test]
async fn lag_above_the_guard_is_refused_announced_once_and_starts_nothing() {
    // GIVEN a dark primary and a lag of 45 s against a guard of 30 s
    let shop = Shop::seed(45_000.0).await;
    shop.emulator.outage(EAST).await;
    let handler = alarm_handler(&shop);
    // WHEN the alarm fires (three deliveries)
    for _ in 0..3 {
        let out = handler.handle(alarm_event()).await.expect("handled");
        assert!(matches!(out, Outcome::Refused { .. }), "{out:?}");
    }
    // THEN nothing started, no lock is held, and one person-readable notice went out
    assert!(shop.executions().await.is_empty());
    assert!(
        !shop
            .parameters()
            .await
            .iter()
            .any(|(n, _)| n == "/lifeboat/shop/lock")
    );
    let inbox = shop.inbox().await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert!(inbox[0].0.contains("refused"), "{}", inbox[0].0);
    assert!(
        inbox[0].1.contains("45.0s") && inbox[0].1.contains("30s"),
        "{}",
        inbox[0].1
    );
}

#[tokio::test]
async fn a_malformed_event_is_invalid_input_and_changes_nothing() {
    let shop = Shop::seed(800.0).await;
    let handler = alarm_handler(&shop);
    let before = shop.parameters().await;
    for event in [
        json!({"hello": "world"}),
        json!({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch", "detail": {"alarmName": []}}),
        json!({"detail-type": "Primary Unhealthy", "source": "lifeboat.probe", "detail": {"app": "shop", "failures": "many"}}),
    ] {
        let err = handler.handle(event).await.expect_err("malformed");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    assert_eq!(shop.parameters().await, before);
    assert!(shop.executions().await.is_empty());
    assert!(shop.inbox().await.is_empty());
}

#[tokio::test]
async fn an_alarm_back_to_ok_when_re_read_is_a_flap() {
    let shop = Shop::seed(800.0).await;
    aws_sdk_cloudwatch::Client::new(&shop.west)
        .set_alarm_state()
        .alarm_name(lifeboat_tests::ALARM)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
        .state_reason("recovered")
        .send()
        .await
        .expect("state");
    let out = alarm_handler(&shop)
        .handle(alarm_event())
        .await
        .expect("handled");
    assert_eq!(
        serde_json::to_value(&out).expect("json")["reason"]["reason"],
        "flap"
    );
    assert!(shop.executions().await.is_empty());
}
