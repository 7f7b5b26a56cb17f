//! The database's questions for each provider, GIVEN / WHEN / THEN over the in-memory fakes
//! (the Patroni fake applies a configuration change at its next loop, as Patroni does).

use std::time::Duration;

use time::OffsetDateTime;

use super::*;
use crate::ErrorKind;
use crate::fakes::{FakeGlobalDatabase, FakeLag, FakeParameters, FakePatroni, plan_with_patroni};
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
        writer_region(&db, &FakeParameters::default(), &aurora_plan(), WEST)
            .await
            .expect("aurora"),
        Some(EAST.to_string())
    );
    assert_eq!(
        writer_region(&db, &FakeParameters::default(), &patroni_plan(), WEST)
            .await
            .expect("patroni"),
        Some(EAST.to_string())
    );
    // a Patroni plan never asks Aurora: its members alone say who writes
    db.go_dark(WEST);
    db.patroni.go_dark(WEST);
    assert_eq!(
        writer_region(&db, &FakeParameters::default(), &patroni_plan(), WEST)
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
    let err = writer_region(&db, &FakeParameters::default(), &patroni_plan(), WEST)
        .await
        .expect_err("nobody answered");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    // one region dark, the other a standby cluster replicating it: the writer is the dark
    // region's (as Aurora's global cluster names a dark primary its writer)
    db.patroni.come_back(WEST);
    assert_eq!(
        writer_region(&db, &FakeParameters::default(), &patroni_plan(), WEST)
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
    let err = writer_region(&db, &FakeParameters::default(), &plan, WEST)
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
    let ev = evidence(
        &db,
        &FakeLag::default(),
        &FakeParameters::default(),
        &plan,
        WEST,
        EAST,
        now(),
    )
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
    let ev = evidence(
        &db,
        &FakeLag::default(),
        &FakeParameters::default(),
        &plan,
        WEST,
        EAST,
        now(),
    )
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
    let ev = evidence(
        &db,
        &FakeLag::default(),
        &FakeParameters::default(),
        &plan,
        WEST,
        EAST,
        now(),
    )
    .await
    .expect("evidence");
    assert_eq!(ev.replication_lag, None);
    // a replayed time ahead of ours (clocks that disagree)
    db.patroni
        .set_replayed_at(WEST, now() + time::Duration::seconds(5));
    let ev = evidence(
        &db,
        &FakeLag::default(),
        &FakeParameters::default(),
        &plan,
        WEST,
        EAST,
        now(),
    )
    .await
    .expect("evidence");
    assert_eq!(ev.replication_lag, None);
    // the primary dark: what it wrote last is not known here
    db.patroni.go_dark(EAST);
    let ev = evidence(
        &db,
        &FakeLag::default(),
        &FakeParameters::default(),
        &plan,
        WEST,
        EAST,
        now(),
    )
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
    let ev = evidence(
        &db,
        &FakeLag::default(),
        &FakeParameters::default(),
        &plan,
        WEST,
        EAST,
        now(),
    )
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
        standby_lag(
            &db,
            &lag,
            &FakeParameters::default(),
            &aurora_plan(),
            WEST,
            now()
        )
        .await
        .expect("aurora"),
        (Some(Duration::from_secs(3)), Some(Duration::from_secs(20)))
    );
    assert_eq!(
        standby_lag(
            &db,
            &lag,
            &FakeParameters::default(),
            &patroni_plan(),
            WEST,
            now()
        )
        .await
        .expect("patroni"),
        (Some(Duration::ZERO), Some(Duration::ZERO))
    );
    db.patroni.go_dark(EAST);
    assert_eq!(
        standby_lag(
            &db,
            &lag,
            &FakeParameters::default(),
            &patroni_plan(),
            WEST,
            now()
        )
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

// ---- MySQL / MariaDB (issue 23): the same questions, answered from both servers ----

fn mysql_plan() -> ValidPlan {
    ValidPlan::parse(&crate::fakes::plan_with_mysql(EXAMPLE)).expect("the example plan under MySQL")
}

/// GIVEN us-east-1's MySQL server takes writes and us-west-2's replicates it, read-only, and
/// lifeboat's passwords in their SecureStrings.
fn given_mysql() -> (FakeGlobalDatabase, FakeParameters) {
    let mut db = given_databases();
    db.mysql = crate::fakes::FakeMysql::new(EAST, WEST);
    let params = FakeParameters::default();
    crate::fakes::mysql_parameters(&params);
    (db, params)
}

#[tokio::test]
async fn under_mysql_the_writer_is_the_server_that_takes_writes_and_none_answering_is_unknown() {
    let (db, params) = given_mysql();
    let plan = mysql_plan();
    assert_eq!(
        writer_region(&db, &params, &plan, WEST)
            .await
            .expect("read"),
        Some(EAST.to_string())
    );
    // WHEN both servers are read-only (a switchover between demotion and promotion)
    db.mysql.set(EAST, |s| s.read_only = true);
    assert_eq!(
        writer_region(&db, &params, &plan, WEST)
            .await
            .expect("read"),
        None
    );
    // WHEN neither answers: unknown, an error, never "nobody writes"
    db.mysql
        .dark_regions
        .lock()
        .unwrap()
        .extend([EAST.to_string(), WEST.to_string()]);
    let err = writer_region(&db, &params, &plan, WEST)
        .await
        .expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(
        err.message()
            .contains("neither region's MySQL server answered"),
        "{err}"
    );
}

#[tokio::test]
async fn two_mysql_writers_are_refused_unless_lifeboats_run_names_the_one_it_made_active() {
    let (db, params) = given_mysql();
    let plan = mysql_plan();
    // GIVEN us-west-2 promoted by a failover, and us-east-1 back writable beside it
    db.mysql.set(WEST, |s| {
        s.read_only = false;
        s.source = None;
    });
    let err = writer_region(&db, &params, &plan, WEST)
        .await
        .expect_err("two writers");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains("two writers"), "{err}");
    assert_eq!(
        promoted_writer(&db, &params, &plan, WEST, Some(WEST))
            .await
            .expect("run state"),
        Some(WEST.to_string())
    );
}

#[tokio::test]
async fn mysql_lag_counts_only_while_the_source_answers_as_the_writer_never_zero_otherwise() {
    let (db, params) = given_mysql();
    let plan = mysql_plan();
    db.mysql.set(WEST, |s| s.seconds_behind = 2);
    let ev = evidence(&db, &FakeLag::default(), &params, &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert_eq!(ev.writer_region.as_deref(), Some(EAST));
    assert!(ev.primary_reachable && ev.target_available, "{ev:?}");
    assert_eq!(ev.replication_lag, Some(Duration::from_secs(2)));
    assert_eq!(ev.replication_lag_age, Some(Duration::ZERO));
    // WHEN us-east-1 goes dark: the replica's last "2 s behind" says nothing of what the
    // source wrote since; unknown, so only a person's override fails over
    db.mysql
        .dark_regions
        .lock()
        .unwrap()
        .insert(EAST.to_string());
    let ev = evidence(&db, &FakeLag::default(), &params, &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert!(!ev.primary_reachable && ev.target_available, "{ev:?}");
    assert_eq!((ev.replication_lag, ev.replication_lag_age), (None, None));
    assert_eq!(
        standby_lag(&db, &FakeLag::default(), &params, &plan, WEST, now())
            .await
            .expect("standby lag"),
        (None, None)
    );
    // WHEN the source answers but the replica's SQL thread stopped: unknown too
    db.mysql.dark_regions.lock().unwrap().clear();
    db.mysql.set(WEST, |s| s.sql_running = false);
    let ev = evidence(&db, &FakeLag::default(), &params, &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert_eq!(ev.replication_lag, None, "{ev:?}");
}

#[tokio::test]
async fn without_lifeboats_mysql_password_nothing_is_read_and_the_parameter_is_named() {
    let (db, _) = given_mysql();
    let err = evidence(
        &db,
        &FakeLag::default(),
        &FakeParameters::default(),
        &mysql_plan(),
        WEST,
        EAST,
        now(),
    )
    .await
    .expect_err("no password");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(
        err.message()
            .contains(crate::fakes::MYSQL_PASSWORD_PARAMETER),
        "{err}"
    );
    assert!(db.mysql.changes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_mysql_source_back_writable_is_fenced_read_only_then_follows_the_writer() {
    let (db, params) = given_mysql();
    let plan = mysql_plan();
    // GIVEN a failover with data loss promoted us-west-2; us-east-1 comes back writable
    db.mysql.set(WEST, |s| {
        s.read_only = false;
        s.source = None;
    });
    db.mysql.write(WEST).expect("the shop writes in us-west-2");
    let home = home_view(
        &db,
        &FakeLag::default(),
        &params,
        &plan,
        WEST,
        Some(WEST),
        now(),
    )
    .await
    .expect("home view");
    let member = home.home_member.expect("home");
    assert!(!member.is_writer);
    assert!(
        member
            .synchronization_status
            .as_deref()
            .is_some_and(|s| s.contains("not fenced yet")),
        "{member:?}"
    );
    // WHEN its own copy's guard fences it: read-only first
    let first = fence_home(&db, &params, &plan, EAST, WEST)
        .await
        .expect("an action");
    assert!(
        matches!(first.outcome, crate::fence::FenceOutcome::Demoted { .. }),
        "{first:?}"
    );
    assert!(db.mysql.server(EAST).read_only);
    // THEN on its next look it replicates us-west-2's server and catches up
    let second = fence_home(&db, &params, &plan, EAST, WEST)
        .await
        .expect("an action");
    assert!(
        matches!(second.outcome, crate::fence::FenceOutcome::ReadOnly { .. }),
        "{second:?}"
    );
    assert_eq!(
        db.mysql.server(EAST).source.as_deref(),
        Some(crate::fakes::FakeMysql::addr(WEST).as_str())
    );
    let home = home_view(
        &db,
        &FakeLag::default(),
        &params,
        &plan,
        WEST,
        Some(WEST),
        now(),
    )
    .await
    .expect("home view");
    assert_eq!(
        home.home_member
            .and_then(|m| m.synchronization_status)
            .as_deref(),
        Some("connected")
    );
    assert_eq!(home.home_lag, Some(Duration::ZERO));
    assert_eq!(home.writer_region.as_deref(), Some(WEST));
}

#[tokio::test]
async fn a_mysql_home_that_wrote_after_the_failover_is_never_made_to_follow_and_is_named_forked() {
    let (db, params) = given_mysql();
    let plan = mysql_plan();
    // GIVEN us-east-1 wrote order 6 the replica never received, then went dark; us-west-2
    // was promoted and wrote its own 6th transaction
    db.mysql.set(WEST, |s| s.source = None);
    db.mysql.write(EAST).expect("east writes");
    db.mysql.set(WEST, |s| s.read_only = false);
    db.mysql.write(WEST).expect("west writes");
    // WHEN home is fenced twice
    fence_home(&db, &params, &plan, EAST, WEST)
        .await
        .expect("read-only");
    let second = fence_home(&db, &params, &plan, EAST, WEST)
        .await
        .expect("an action");
    // THEN it stays read-only, replicating nothing; what it wrote is kept for a person
    match &second.outcome {
        crate::fence::FenceOutcome::ReadOnly { detail } => {
            assert!(detail.contains("forked"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    let east = db.mysql.server(EAST);
    assert!(east.read_only && east.source.is_none(), "{east:?}");
    assert_eq!(east.history.len(), 6);
    let home = home_view(
        &db,
        &FakeLag::default(),
        &params,
        &plan,
        WEST,
        Some(WEST),
        now(),
    )
    .await
    .expect("home view");
    let status = home
        .home_member
        .and_then(|m| m.synchronization_status)
        .unwrap_or_default();
    assert!(status.contains("forked"), "{status}");
    assert_eq!(home.home_lag, None);
}

#[tokio::test]
async fn a_dark_mysql_source_whose_replica_still_follows_it_is_still_the_writer() {
    // GIVEN us-east-1's source dark, us-west-2's server read-only and replicating it: the
    // writer is the dark region's (as Aurora's global cluster still names a dark primary's
    // cluster its writer), so a person's override can move it; not "no writer"
    let (db, params) = given_mysql();
    let plan = mysql_plan();
    db.mysql
        .dark_regions
        .lock()
        .unwrap()
        .insert(EAST.to_string());
    assert_eq!(
        writer_region(&db, &params, &plan, WEST)
            .await
            .expect("read"),
        Some(EAST.to_string())
    );
    let ev = evidence(&db, &FakeLag::default(), &params, &plan, WEST, EAST, now())
        .await
        .expect("evidence");
    assert_eq!(ev.writer_region.as_deref(), Some(EAST));
    assert!(!ev.primary_reachable);
    // a read-only server that replicates nothing says nothing of who writes
    db.mysql.set(WEST, |s| s.source = None);
    assert_eq!(
        writer_region(&db, &params, &plan, WEST)
            .await
            .expect("read"),
        None
    );
}

#[tokio::test]
async fn with_tls_the_servers_ca_is_read_from_its_parameter_and_a_missing_one_changes_nothing() {
    let (db, params) = given_mysql();
    let mut plan =
        crate::plan::Plan::parse(&crate::fakes::plan_with_mysql(EXAMPLE)).expect("parses");
    if let Some(m) = plan.database.mysql.as_mut() {
        m.tls = Some(crate::plan::MysqlTlsPlan {
            ca_parameter: Some("/lifeboat/shop/mysql-ca".into()),
        });
    }
    let plan = plan.validate().expect("valid");
    // WHEN the CA's parameter is missing, or holds no certificate: refused, naming it
    for held in [None, Some("not a certificate")] {
        if let Some(v) = held {
            params.insert("/lifeboat/shop/mysql-ca", v);
        }
        let err = evidence(&db, &FakeLag::default(), &params, &plan, WEST, EAST, now())
            .await
            .expect_err("no CA");
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
        assert!(
            err.message().contains("database.mysql.tls.ca_parameter"),
            "{err}"
        );
    }
    // WHEN it holds the CA: the login carries it
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    params.insert("/lifeboat/shop/mysql-ca", pem);
    let login = crate::mysql::login(&params, &plan, false)
        .await
        .expect("login");
    assert_eq!(login.tls.and_then(|t| t.ca_pem).as_deref(), Some(pem));
    assert!(db.mysql.changes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_mysql_source_that_refuses_lifeboats_login_is_never_taken_for_a_dark_one() {
    // GIVEN us-east-1's source answers and takes writes, but refuses lifeboat's login (its
    // password was changed there only): whether it takes writes is unknown, and a person must
    // never be shown "the primary does not answer" and asked to fail over with data loss
    let (db, params) = given_mysql();
    let plan = mysql_plan();
    db.mysql.set(EAST, |s| s.refuses_login = true);
    let err = evidence(&db, &FakeLag::default(), &params, &plan, WEST, EAST, now())
        .await
        .expect_err("unknown, not dark");
    assert_eq!(err.kind(), ErrorKind::AccessDenied, "{err}");
    assert!(
        err.message().contains(&crate::fakes::FakeMysql::addr(EAST)),
        "{err}"
    );
    // a dark one is still dark (the failover decision's to make)
    db.mysql.set(EAST, |s| s.refuses_login = false);
    db.mysql
        .dark_regions
        .lock()
        .unwrap()
        .insert(EAST.to_string());
    let ev = evidence(&db, &FakeLag::default(), &params, &plan, WEST, EAST, now())
        .await
        .expect("dark");
    assert!(!ev.primary_reachable);
}
