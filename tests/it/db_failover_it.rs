//! db-failover against the emulator's Aurora global database.

use std::time::{Duration, Instant};

use db_failover::{Response, StartOutcome, Status};
use lifeboat_core::ErrorKind;
use lifeboat_core::decision::PromotionMode;
use serde_json::json;

use crate::db_handler;
use lifeboat_tests::{EAST, EAST_CLUSTER, Shop, WEST_CLUSTER};

/// Make the emulated promotions take about a second (`pending` 0.5 s, so that a start's answer
/// reliably shows it even on a loaded machine).
async fn fast(shop: &Shop) {
    shop.emulator
        .configure(json!({"time_scale": 0.005, "rds": {"pending_seconds": 100}}))
        .await;
}

/// Poll `status` until it is no longer in progress (the state machine's loop, in a test).
async fn wait_for_promotion(handler: &crate::DbHandler) -> Status {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let Response::Status(status) = handler
            .handle(json!({"action": "status"}))
            .await
            .expect("status")
        else {
            panic!("status answers a Status")
        };
        match status {
            Status::InProgress { .. } if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn start_switches_over_and_status_sees_the_writer_move() {
    let shop = Shop::seed(500.0).await;
    fast(&shop).await;
    let handler = db_handler(&shop);
    assert_eq!(shop.writer().await.as_deref(), Some(EAST_CLUSTER));

    let out = handler
        .handle(json!({"action": "start"}))
        .await
        .expect("started");
    let Response::Start(StartOutcome::Started {
        promotion,
        rds_status,
        rpo_estimate_seconds,
        ..
    }) = out
    else {
        panic!("expected started, got {out:?}")
    };
    assert_eq!(
        promotion,
        PromotionMode::Switchover,
        "the primary answers: RPO 0"
    );
    assert_eq!(rds_status.as_deref(), Some("pending"));
    assert_eq!(rpo_estimate_seconds, Some(0.0));

    let status = wait_for_promotion(&handler).await;
    assert!(
        matches!(status, Status::Done { ref writer_region, .. } if writer_region == "us-west-2"),
        "{status:?}"
    );
    assert_eq!(shop.writer().await.as_deref(), Some(WEST_CLUSTER));

    // Idempotent: a second start reports and changes nothing.
    let again = handler
        .handle(json!({"action": "start"}))
        .await
        .expect("again");
    assert_eq!(
        again,
        Response::Start(StartOutcome::AlreadyDone {
            writer_region: "us-west-2".into()
        })
    );
}

#[tokio::test]
async fn a_dark_primary_within_the_guard_fails_over_with_data_loss() {
    let shop = Shop::seed(2_000.0).await;
    fast(&shop).await;
    shop.emulator.outage(EAST).await;
    let handler = db_handler(&shop);
    let out = handler
        .handle(json!({"action": "start"}))
        .await
        .expect("started");
    let Response::Start(StartOutcome::Started {
        promotion,
        rpo_estimate_seconds,
        ..
    }) = out
    else {
        panic!("expected started, got {out:?}")
    };
    assert!(matches!(
        promotion,
        PromotionMode::Failover {
            overridden: false,
            ..
        }
    ));
    assert_eq!(rpo_estimate_seconds, Some(2.0));
    let status = wait_for_promotion(&handler).await;
    let Status::Done { secondaries, .. } = status else {
        panic!("expected done, got {status:?}")
    };
    let old: Vec<(&str, Option<&str>)> = secondaries
        .iter()
        .map(|m| (m.cluster_arn.as_str(), m.synchronization_status.as_deref()))
        .collect();
    assert_eq!(
        old,
        [(EAST_CLUSTER, Some("pending-resync"))],
        "the old primary is rebuilt as a secondary once its region returns"
    );
}

#[tokio::test]
async fn lag_above_the_guard_is_refused_and_the_writer_stays() {
    let shop = Shop::seed(45_000.0).await;
    shop.emulator.outage(EAST).await;
    let handler = db_handler(&shop);
    let err = handler
        .handle(json!({"action": "start"}))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(
        err.to_string().contains("above the RPO guard of 30s"),
        "{err}"
    );
    assert_eq!(shop.writer().await.as_deref(), Some(EAST_CLUSTER));
    let status = handler
        .handle(json!({"action": "status"}))
        .await
        .expect("status");
    assert!(matches!(status, Response::Status(Status::Failed { .. })));
}

#[tokio::test]
async fn a_switchover_cancelled_by_rds_is_reported_failed() {
    // The primary answers when we decide, then its region goes dark before RDS verifies it.
    let shop = Shop::seed(500.0).await;
    // pending lasts 2 s: the outage surely begins before RDS verifies the clusters
    shop.emulator
        .configure(json!({"time_scale": 0.02, "rds": {"pending_seconds": 100}}))
        .await;
    let handler = db_handler(&shop);
    let out = handler
        .handle(json!({"action": "start"}))
        .await
        .expect("started");
    assert!(matches!(
        out,
        Response::Start(StartOutcome::Started {
            promotion: PromotionMode::Switchover,
            ..
        })
    ));
    shop.emulator.outage(EAST).await;
    let status = wait_for_promotion(&handler).await;
    assert!(matches!(status, Status::Failed { .. }), "{status:?}");
    assert_eq!(
        shop.writer().await.as_deref(),
        Some(EAST_CLUSTER),
        "nothing moved"
    );
}

#[tokio::test]
async fn a_malformed_request_is_invalid_input_and_changes_nothing() {
    let shop = Shop::seed(500.0).await;
    let handler = db_handler(&shop);
    for event in [
        json!({"action": "promote"}),
        json!({"action": "start", "target_region": "mars-1"}),
    ] {
        let err = handler.handle(event).await.expect_err("bad");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    assert_eq!(shop.writer().await.as_deref(), Some(EAST_CLUSTER));
}
