//! The database's questions for each provider, GIVEN / WHEN / THEN over the in-memory fakes
//! (the Patroni fake applies a configuration change at its next loop, as Patroni does).

use std::time::Duration;

use time::OffsetDateTime;

use super::*;
use crate::ErrorKind;
use crate::fakes::{FakeGlobalDatabase, FakeLag, FakePatroni, plan_with_patroni};
use crate::ports::{PatroniAuth, Secret};

const EXAMPLE: &str = include_str!("../../../../examples/plan.yaml");
const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";

fn aurora_plan() -> ValidPlan {
    ValidPlan::parse(EXAMPLE).expect("example plan")
}

fn patroni_plan() -> ValidPlan {
    ValidPlan::parse(&plan_with_patroni(EXAMPLE)).expect("the example plan under Patroni")
}

/// GIVEN Aurora written in us-east-1 and, for a Patroni plan, us-east-1's cluster the primary
/// and us-west-2's its standby cluster.
fn given_databases() -> FakeGlobalDatabase {
    let mut db = FakeGlobalDatabase::new(
        "shop-global",
        "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1",
        "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2",
    );
    db.patroni = FakePatroni::new(EAST, WEST);
    db
}

fn auth() -> PatroniAuth {
    PatroniAuth {
        username: "lifeboat".into(),
        password: Secret::new("rest-pw"),
    }
}

fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-12-06 09:00 UTC)
}

#[tokio::test]
async fn the_writer_is_read_from_the_plans_provider() {
    let db = given_databases();
    assert_eq!(
        writer_region(&db, &aurora_plan(), WEST)
            .await
            .expect("aurora"),
        Some(EAST.to_string())
    );
    assert_eq!(
        writer_region(&db, &patroni_plan(), WEST)
            .await
            .expect("patroni"),
        Some(EAST.to_string())
    );
    // a Patroni plan never asks Aurora: its members alone say who writes
    db.go_dark(WEST);
    db.patroni.go_dark(WEST);
    assert_eq!(
        writer_region(&db, &patroni_plan(), WEST)
            .await
            .expect("east answers"),
        Some(EAST.to_string())
    );
}

#[tokio::test]
async fn no_patroni_member_answering_is_an_unknown_writer_never_no_writer() {
    let db = given_databases();
    db.patroni.go_dark(EAST);
    db.patroni.go_dark(WEST);
    let err = writer_region(&db, &patroni_plan(), WEST)
        .await
        .expect_err("nobody answered");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    // one region dark, the other a standby cluster replicating it: the writer is the dark
    // region's (as Aurora's global cluster names a dark primary its writer)
    db.patroni.come_back(WEST);
    assert_eq!(
        writer_region(&db, &patroni_plan(), WEST)
            .await
            .expect("west answers"),
        Some(EAST.to_string())
    );
}

#[tokio::test]
async fn two_patroni_primaries_are_refused_as_two_writers() {
    let db = given_databases();
    let plan = patroni_plan();
    // the target promoted while the source was dark; then the source came back as primary
    db.patroni.failed_over_while_dark(EAST, WEST);
    let err = writer_region(&db, &plan, WEST)
        .await
        .expect_err("two writers");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains("two writers"), "{err}");
}

#[tokio::test]
async fn patroni_evidence_while_both_regions_answer_measures_the_lag_now() {
    let db = given_databases();
    let plan = patroni_plan();
    // GIVEN the standby has everything
    let ev = evidence(&db, &FakeLag::default(), &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert_eq!(ev.writer_region.as_deref(), Some(EAST));
    assert!(ev.target_available && ev.primary_reachable);
    assert_eq!(ev.replication_lag, Some(Duration::ZERO));
    assert_eq!(ev.replication_lag_age, Some(Duration::ZERO));
    assert_eq!(ev.operation_in_progress, None);
    // WHEN the primary wrote what the standby has not received, its newest replayed
    // transaction committed 2 s ago
    db.patroni.write(EAST, 4096);
    db.patroni
        .set_replayed_at(WEST, now() - time::Duration::seconds(2));
    let ev = evidence(&db, &FakeLag::default(), &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    // THEN the lag is those 2 s: what a failover now could lose
    assert_eq!(ev.replication_lag, Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn patroni_lag_is_unknown_never_zero_when_the_primary_is_dark_or_the_time_is_missing() {
    let db = given_databases();
    let plan = patroni_plan();
    db.patroni.write(EAST, 4096);
    // behind, and nothing replayed yet: no time to measure from
    let ev = evidence(&db, &FakeLag::default(), &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert_eq!(ev.replication_lag, None);
    // a replayed time ahead of ours (clocks that disagree)
    db.patroni
        .set_replayed_at(WEST, now() + time::Duration::seconds(5));
    let ev = evidence(&db, &FakeLag::default(), &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert_eq!(ev.replication_lag, None);
    // the primary dark: what it wrote last is not known here
    db.patroni.go_dark(EAST);
    let ev = evidence(&db, &FakeLag::default(), &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert!(!ev.primary_reachable);
    // the writer is the dark region's: the failover out of it is decided on the lag (unknown:
    // only a person's override), not refused as writer_unknown
    assert_eq!(ev.writer_region.as_deref(), Some(EAST));
    assert_eq!(ev.replication_lag, None);
    assert_eq!(ev.replication_lag_age, None);
    assert!(ev.target_available);
}

#[tokio::test]
async fn a_switchover_between_demotion_and_promotion_is_an_operation_in_progress() {
    let db = given_databases();
    let plan = patroni_plan();
    crate::patroni::promote(
        &db,
        plan.patroni_members(WEST).expect("west"),
        plan.patroni_members(EAST).expect("east"),
        crate::patroni::PgMode::Switchover,
        &auth(),
    )
    .await
    .expect("demotion asked");
    db.patroni.tick();
    let ev = evidence(&db, &FakeLag::default(), &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert!(ev.operation_in_progress.is_some(), "{ev:?}");
    assert_eq!(ev.writer_region, None);
}

#[tokio::test]
async fn the_standby_lag_follows_the_provider() {
    let db = given_databases();
    let lag = FakeLag::default();
    lag.set_aged("shop-usw2", Duration::from_secs(3), Duration::from_secs(20));
    assert_eq!(
        standby_lag(&db, &lag, &aurora_plan(), WEST, now())
            .await
            .expect("aurora"),
        (Some(Duration::from_secs(3)), Some(Duration::from_secs(20)))
    );
    assert_eq!(
        standby_lag(&db, &lag, &patroni_plan(), WEST, now())
            .await
            .expect("patroni"),
        (Some(Duration::ZERO), Some(Duration::ZERO))
    );
    db.patroni.go_dark(EAST);
    assert_eq!(
        standby_lag(&db, &lag, &patroni_plan(), WEST, now())
            .await
            .expect("patroni, east dark"),
        (None, None)
    );
}

#[test]
fn a_plan_of_one_provider_refuses_the_others_questions() {
    let aurora = aurora_plan();
    let err = aurora.patroni_members(WEST).expect_err("aurora has none");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    let patroni = patroni_plan();
    for err in [
        patroni.global_cluster_id().expect_err("patroni has none"),
        patroni.cluster_arn(WEST).expect_err("patroni has none"),
    ] {
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
        assert!(
            err.message().contains("nothing was read or changed"),
            "{err}"
        );
    }
}
