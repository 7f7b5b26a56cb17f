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

/// GIVEN the DR cluster at its standby size (one db.r6g.large instance, 0.5-16 ACU) and a plan
/// whose us-west-2 database_capacity asks db.r6g.2xlarge and 8-64 ACU when active.
#[tokio::test]
async fn db_capacity_raises_the_instance_class_beside_the_promotion_and_traffic_waits_for_it() {
    let shop = Shop::seed(500.0).await;
    shop.emulator
        .configure(json!({"time_scale": 0.005, "rds": {"pending_seconds": 100, "instance_modify_seconds": 600}}))
        .await;
    shop.change_plan(|p| {
        let west = p.regions.get_mut("us-west-2").expect("west");
        west.database_capacity = Some(lifeboat_core::plan::DatabaseCapacityPlan {
            instance_class: Some(lifeboat_core::plan::InstanceClassLevels {
                standby: "db.r6g.large".into(),
                active: "db.r6g.2xlarge".into(),
            }),
            serverless_v2: Some(lifeboat_core::plan::AcuLevels {
                standby: lifeboat_core::plan::AcuRange {
                    min_acu: 0.5,
                    max_acu: 16.0,
                },
                active: lifeboat_core::plan::AcuRange {
                    min_acu: 8.0,
                    max_acu: 64.0,
                },
            }),
        });
    })
    .await;
    let rds = aws_sdk_rds::Client::new(&shop.west);
    rds.create_db_instance()
        .db_instance_identifier("usw2-1")
        .db_instance_class("db.r6g.large")
        .engine("aurora-postgresql")
        .db_cluster_identifier("shop-usw2")
        .send()
        .await
        .expect("instance");
    let class = || async {
        let out = rds
            .describe_db_instances()
            .db_instance_identifier("usw2-1")
            .send()
            .await
            .expect("describe");
        let i = &out.db_instances()[0];
        (
            i.db_instance_class().unwrap_or_default().to_string(),
            i.db_instance_status().unwrap_or_default().to_string(),
        )
    };
    let handler = db_handler(&shop);

    // WHEN the promotion starts
    handler
        .handle(json!({"action": "start"}))
        .await
        .expect("started");
    // THEN the instance is changing class (applied immediately) and the range is raised
    assert_eq!(
        class().await,
        ("db.r6g.large".to_string(), "modifying".to_string())
    );
    let cluster = rds
        .describe_db_clusters()
        .db_cluster_identifier("shop-usw2")
        .send()
        .await
        .expect("cluster");
    let range = cluster.db_clusters()[0]
        .serverless_v2_scaling_configuration()
        .expect("range");
    assert_eq!(
        (range.min_capacity(), range.max_capacity()),
        (Some(8.0), Some(64.0))
    );

    // AND the database step is not done while the class change runs, though the promotion
    // (1 s here) ends before it (3 s): the state machine holds traffic until it is
    let mut saw_scaling_after_promotion = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        let Response::Status(status) = handler
            .handle(json!({"action": "status"}))
            .await
            .expect("status")
        else {
            panic!("status answers a Status")
        };
        match status {
            Status::Done { capacity, .. } => break capacity,
            Status::Scaling { ref waiting, .. } => {
                assert_eq!(shop.writer().await.as_deref(), Some(WEST_CLUSTER));
                assert!(waiting.iter().any(|w| w.contains("usw2-1")), "{waiting:?}");
                saw_scaling_after_promotion = true;
            }
            Status::InProgress { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(Instant::now() < deadline, "never done");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(saw_scaling_after_promotion);
    assert_eq!(
        class().await,
        ("db.r6g.2xlarge".to_string(), "available".to_string())
    );
    assert_eq!(
        done.map(|c| c.instances[0].class.clone()).as_deref(),
        Some("db.r6g.2xlarge")
    );
    let calls = shop.emulator.control("GET", "/_lifeboat/calls", None).await;
    assert_eq!(
        calls["rds:ModifyDBInstance"], 1,
        "the class change is asked once: {calls}"
    );
}
