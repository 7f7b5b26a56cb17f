use std::sync::Mutex;

use super::*;
use crate::ports::Secret;

fn member(name: &str, role: PgRole, pg: &str) -> PgMemberView {
    PgMemberView {
        name: name.into(),
        role,
        state: "running".into(),
        timeline: Some(1),
        postgres: Some(pg.into()),
        location: None,
        received: None,
        replayed: None,
        replayed_at: None,
    }
}

fn primary(name: &str, pg: &str, at: u64) -> PgMemberView {
    PgMemberView {
        location: Some(at),
        ..member(name, PgRole::Primary, pg)
    }
}

fn standby(name: &str, pg: &str, at: u64) -> PgMemberView {
    PgMemberView {
        received: Some(at),
        replayed: Some(at),
        ..member(name, PgRole::StandbyLeader, pg)
    }
}

fn seen(api: &str, v: PgMemberView) -> Seen<PgMemberView> {
    Seen {
        addr: api.into(),
        answer: Ok(v),
    }
}

fn dark(api: &str) -> Seen<PgMemberView> {
    Seen {
        addr: api.into(),
        answer: Err(Error::new(ErrorKind::Transient, "connection refused")),
    }
}

const T: &str = "http://10.1.0.5:8008";
const S: &str = "http://10.0.0.5:8008";

fn upstream(host: &str, port: u16) -> PgUpstream {
    PgUpstream {
        host: host.into(),
        port,
    }
}

#[test]
fn a_switchover_first_demotes_the_source_so_it_takes_no_more_writes() {
    // GIVEN the source's leader is the primary, 300 bytes ahead of the target's standby leader
    let target = [seen(T, standby("b1", "10.1.0.5:5432", 1000))];
    let source = [seen(S, primary("a1", "10.0.0.5:5432", 1300))];
    // WHEN the target is promoted
    let p = promotion(&target, &source, PgMode::Switchover).expect("decided");
    // THEN nothing is promoted yet: the source becomes a standby cluster of the target first
    assert_eq!(
        p.ops,
        vec![PgOp::Demote {
            api: S.into(),
            upstream: upstream("10.1.0.5", 5432)
        }]
    );
    assert_eq!(p.state, PgState::Demoting);
    assert_eq!(p.behind_bytes, Some(300));
    assert_eq!(p.fenced.as_deref(), Some("a1"));
    // a failover the decision allowed takes the same way while the source answers: no loss
    let f = promotion(&target, &source, PgMode::Failover).expect("decided");
    assert_eq!(f.ops, p.ops);
}

#[test]
fn the_target_is_promoted_only_once_it_holds_every_write_of_the_demoted_source() {
    let source = [seen(S, standby("a1", "10.0.0.5:5432", 1300))];
    // behind: wait, change nothing
    let behind = [seen(T, standby("b1", "10.1.0.5:5432", 1200))];
    let p = promotion(&behind, &source, PgMode::Switchover).expect("decided");
    assert!(p.ops.is_empty());
    assert_eq!(p.state, PgState::CatchingUp { behind_bytes: 100 });
    // caught up: promote the target
    let caught_up = [seen(T, standby("b1", "10.1.0.5:5432", 1300))];
    let p = promotion(&caught_up, &source, PgMode::Switchover).expect("decided");
    assert_eq!(p.ops, vec![PgOp::Promote { api: T.into() }]);
    assert_eq!(p.state, PgState::Promoting);
    assert_eq!(p.behind_bytes, Some(0));
}

#[test]
fn received_wal_counts_as_held_because_a_promotion_replays_it() {
    let source = [seen(S, standby("a1", "10.0.0.5:5432", 1300))];
    let mut t = standby("b1", "10.1.0.5:5432", 1200);
    t.received = Some(1300);
    let p = promotion(&[seen(T, t)], &source, PgMode::Switchover).expect("decided");
    assert_eq!(p.ops, vec![PgOp::Promote { api: T.into() }]);
}

#[test]
fn a_dark_source_is_promoted_past_only_by_a_failover_the_decision_allowed() {
    let target = [seen(T, standby("b1", "10.1.0.5:5432", 1000))];
    let source = [dark(S)];
    let err = promotion(&target, &source, PgMode::Switchover).expect_err("no loss allowed");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("connection refused"), "{err}");
    let p = promotion(&target, &source, PgMode::Failover).expect("allowed");
    assert_eq!(p.ops, vec![PgOp::Promote { api: T.into() }]);
    assert_eq!(p.state, PgState::Promoting);
    assert_eq!(p.behind_bytes, None, "unknown: the source does not answer");
}

#[test]
fn a_source_answering_without_a_leader_is_waited_for_not_promoted_past() {
    let target = [seen(T, standby("b1", "10.1.0.5:5432", 1000))];
    let restarting = member("a1", PgRole::Replica("replica".into()), "10.0.0.5:5432");
    let err = promotion(&target, &[seen(S, restarting)], PgMode::Failover).expect_err("wait");
    assert_eq!(err.kind(), ErrorKind::Transient);
}

#[test]
fn a_target_already_primary_needs_nothing_and_a_returning_source_primary_is_fenced() {
    let mut t = primary("b1", "10.1.0.5:5432", 2000);
    t.timeline = Some(2);
    let target = [seen(T, t)];
    // the source follows (or is dark): done
    for source in [
        vec![seen(S, standby("a1", "10.0.0.5:5432", 2000))],
        vec![dark(S)],
    ] {
        let p = promotion(&target, &source, PgMode::Switchover).expect("decided");
        assert!(p.ops.is_empty());
        assert_eq!(p.state, PgState::Done);
    }
    // the source came back as its own primary after a failover: it becomes our standby
    let p = promotion(
        &target,
        &[seen(S, primary("a1", "10.0.0.5:5432", 1900))],
        PgMode::Switchover,
    )
    .expect("decided");
    assert_eq!(
        p.ops,
        vec![PgOp::Demote {
            api: S.into(),
            upstream: upstream("10.1.0.5", 5432)
        }]
    );
    assert_eq!(p.state, PgState::Done);
    assert_eq!(p.fenced.as_deref(), Some("a1"));
}

#[test]
fn a_source_primary_on_a_newer_timeline_is_not_demoted() {
    let target = [seen(T, primary("b1", "10.1.0.5:5432", 2000))];
    let mut s = primary("a1", "10.0.0.5:5432", 1900);
    s.timeline = Some(3);
    let err = promotion(&target, &[seen(S, s)], PgMode::Failover).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
}

#[test]
fn two_leaders_in_a_region_are_refused_not_guessed() {
    let target = [
        seen(T, standby("b1", "10.1.0.5:5432", 1000)),
        seen("http://10.1.0.6:8008", standby("b2", "10.1.0.6:5432", 900)),
    ];
    let err = promotion(&target, &[dark(S)], PgMode::Failover).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.to_string().contains("b1, b2"), "{err}");
}

#[test]
fn no_target_member_answering_keeps_the_kind_they_all_failed_with() {
    let err = promotion(&[dark(T)], &[dark(S)], PgMode::Failover).expect_err("nothing");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.to_string().contains(T), "{err}");
    let refused = Seen {
        addr: T.into(),
        answer: Err(Error::new(ErrorKind::AccessDenied, "401")),
    };
    let err = promotion(&[refused], &[dark(S)], PgMode::Failover).expect_err("nothing");
    assert_eq!(err.kind(), ErrorKind::AccessDenied);
    // members answer, none leads yet: wait
    let replica = member("b2", PgRole::Replica("replica".into()), "10.1.0.6:5432");
    let err = promotion(&[seen(T, replica)], &[dark(S)], PgMode::Failover).expect_err("wait");
    assert_eq!(err.kind(), ErrorKind::Transient);
}

#[test]
fn a_leader_address_that_is_not_host_port_is_a_clear_error_not_a_guess() {
    let target = [seen(T, standby("b1", "no-port<script>", 1000))];
    let err = promotion(
        &target,
        &[seen(S, primary("a1", "10.0.0.5:5432", 1300))],
        PgMode::Switchover,
    )
    .expect_err("bad");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn the_primary_region_is_the_one_whose_leader_is_primary_and_two_are_two_writers() {
    let a = [seen(S, primary("a1", "10.0.0.5:5432", 1))];
    let b = [seen(T, standby("b1", "10.1.0.5:5432", 1))];
    assert_eq!(
        primary_region(&[("us-east-1", &a), ("us-west-2", &b)]).expect("one"),
        Some("us-east-1")
    );
    let b2 = [seen(T, primary("b1", "10.1.0.5:5432", 1))];
    let err = primary_region(&[("us-east-1", &a), ("us-west-2", &b2)]).expect_err("two");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    // A dark region whose standby cluster answers in the other region is the writer's: the
    // standby replicates it (on 12b6e81 this was "no writer", and a failover out of a dark
    // Patroni primary was refused as writer_unknown even with the override)
    assert_eq!(
        primary_region(&[("us-east-1", &[dark(S)]), ("us-west-2", &b)]).expect("dark writer"),
        Some("us-east-1")
    );
    // both standby clusters (mid-switchover), or a dark region beside a cluster with no leader
    // yet: no writer now
    let a2 = [seen(S, standby("a1", "10.0.0.5:5432", 1))];
    assert_eq!(
        primary_region(&[("us-east-1", &a2), ("us-west-2", &b)]).expect("none"),
        None
    );
    let leaderless = [seen(
        T,
        member("b1", PgRole::Replica("replica".into()), "10.1.0.5:5432"),
    )];
    assert_eq!(
        primary_region(&[("us-east-1", &[dark(S)]), ("us-west-2", &leaderless)]).expect("none"),
        None
    );
}

/// Members whose answers the test sets, and the configuration changes asked of them.
#[derive(Default)]
struct FakePatroni {
    members: Mutex<Vec<(String, PgMemberView)>>,
    changes: Mutex<Vec<(String, Option<PgUpstream>)>>,
}

impl PatroniClusters for FakePatroni {
    async fn member(&self, api: &str) -> Result<PgMemberView> {
        let members = self.members.lock().expect("lock");
        members
            .iter()
            .find(|(a, _)| a == api)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| Error::new(ErrorKind::Transient, format!("{api}: refused")))
    }

    async fn set_standby_cluster(
        &self,
        api: &str,
        upstream: Option<&PgUpstream>,
        auth: &PatroniAuth,
    ) -> Result<()> {
        assert_eq!(auth.password.expose(), "rest-pw");
        self.changes
            .lock()
            .expect("lock")
            .push((api.to_string(), upstream.cloned()));
        Ok(())
    }
}

#[tokio::test]
async fn promote_makes_the_changes_it_decided_in_order_and_nothing_when_refused() {
    let p = FakePatroni::default();
    *p.members.lock().expect("lock") = vec![
        (T.into(), standby("b1", "10.1.0.5:5432", 1000)),
        (S.into(), primary("a1", "10.0.0.5:5432", 1300)),
    ];
    let auth = PatroniAuth {
        username: "lifeboat".into(),
        password: Secret::new("rest-pw"),
    };
    let out = promote(&p, &[T.into()], &[S.into()], PgMode::Switchover, &auth)
        .await
        .expect("decided");
    assert_eq!(out.state, PgState::Demoting);
    assert_eq!(
        *p.changes.lock().expect("lock"),
        vec![(S.to_string(), Some(upstream("10.1.0.5", 5432)))]
    );
    // the source goes dark before the target caught up: a switchover changes nothing more
    p.members.lock().expect("lock").retain(|(a, _)| a == T);
    let err = promote(&p, &[T.into()], &[S.into()], PgMode::Switchover, &auth)
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(p.changes.lock().expect("lock").len(), 1);
}

#[test]
fn lag_across_timelines_is_unknown_never_zero() {
    // GIVEN an old primary fenced after a failover with data loss: it holds more WAL than the
    // new primary, on the timeline that forked
    let now = time::macros::datetime!(2026-12-06 09:00 UTC);
    let writer = PgMemberView {
        timeline: Some(2),
        ..primary("b1", "b:5432", 1000)
    };
    let forked = PgMemberView {
        replayed_at: Some(now - time::Duration::seconds(1)),
        ..standby("a1", "a:5432", 4000)
    };
    // THEN its position says nothing about the writer's: unknown, not "has it all"
    assert_eq!(lag(&writer, &forked, now), None);
    // AND on the writer's timeline number but ahead of it (a crashed primary promoted itself
    // onto "timeline 2" too, as Patroni 4.1.5 did in the drill): forked, unknown, never zero
    let same_number = PgMemberView {
        timeline: Some(2),
        ..forked
    };
    assert_eq!(lag(&writer, &same_number, now), None);
    // AND once it follows the writer (rebuilt), the positions compare
    let following = PgMemberView {
        timeline: Some(2),
        ..standby("a1", "a:5432", 1000)
    };
    assert_eq!(
        lag(&writer, &following, now),
        Some(std::time::Duration::ZERO)
    );
}

#[test]
fn a_target_ahead_of_the_demoted_source_is_never_promoted() {
    // GIVEN a failback's switchover: the source demoted (a standby cluster, its end at 1000),
    // and the target a forked old primary holding WAL to 4000
    let target = [seen(T, standby("a1", "10.0.0.5:5432", 4000))];
    let source = [seen(S, standby("b1", "10.1.0.5:5432", 1000))];
    // THEN it is refused: promoting it would lose what the source wrote since the fork
    let err = promotion(&target, &source, PgMode::Switchover).expect_err("forked");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains("forked"), "{err}");
}
