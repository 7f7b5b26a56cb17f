use super::*;

const NONE: &str = "0000000000";

/// A master holding stream `replid`, continued from `replid2`.
fn master_of(replid: &str, replid2: &str, offset: u64) -> CacheNodeView {
    CacheNodeView {
        role: CacheRole::Master,
        offset,
        replid: replid.to_string(),
        replid2: replid2.to_string(),
    }
}

fn master(offset: u64) -> CacheNodeView {
    master_of("own-stream", NONE, offset)
}

/// A replica of `of`, whose stream is `stream-<of>`.
fn replica(of: &str, offset: u64) -> CacheNodeView {
    CacheNodeView {
        role: CacheRole::Replica {
            master: of.to_string(),
            link_up: true,
        },
        offset,
        replid: format!("stream-{of}"),
        replid2: NONE.to_string(),
    }
}

fn unlinked(mut v: CacheNodeView) -> CacheNodeView {
    if let CacheRole::Replica { link_up, .. } = &mut v.role {
        *link_up = false;
    }
    v
}

fn seen<T>(addr: &str, answer: T) -> Seen<T> {
    Seen {
        addr: addr.to_string(),
        answer: Ok(answer),
    }
}

fn silent<T>(addr: &str) -> Seen<T> {
    Seen {
        addr: addr.to_string(),
        answer: Err(Error::new(ErrorKind::Transient, "connection refused")),
    }
}

const OLD: &str = "10.0.1.10:6379";

#[test]
fn the_replica_furthest_into_the_stream_is_promoted_and_the_rest_follow_it() {
    // GIVEN the standby region: two replicas of the old master, b2 further along; its
    // sentinels watch nothing
    let nodes = [
        seen("b1:6379", replica(OLD, 900)),
        seen("b2:6379", replica(OLD, 1000)),
    ];
    let sentinels = [seen("s1:26379", None), seen("s2:26379", None)];
    // WHEN lifeboat decides
    let p = promotion(&nodes, &sentinels, &[]).expect("a promotion");
    // THEN b2 becomes the master, b1 replicates it, then each sentinel watches it
    assert_eq!(p.master, "b2:6379");
    assert_eq!(
        p.ops,
        vec![
            CacheOp::Promote {
                node: "b2:6379".into()
            },
            CacheOp::Replicate {
                node: "b1:6379".into(),
                master: "b2:6379".into()
            },
            CacheOp::Watch {
                sentinel: "s1:26379".into(),
                master: "b2:6379".into()
            },
            CacheOp::Watch {
                sentinel: "s2:26379".into(),
                master: "b2:6379".into()
            },
        ]
    );
    assert!(p.sentinels_not_reached.is_empty());
}

#[test]
fn equal_offsets_keep_the_plans_order_and_a_silent_node_is_passed_over() {
    let nodes = [
        silent("b0:6379"),
        seen("b1:6379", replica(OLD, 1000)),
        seen("b2:6379", replica(OLD, 1000)),
    ];
    let p = promotion(&nodes, &[seen("s1:26379", None)], &[]).expect("a promotion");
    assert_eq!(p.master, "b1:6379");
}

#[test]
fn a_region_already_active_needs_nothing() {
    let nodes = [
        seen("b1:6379", master(1000)),
        seen("b2:6379", replica("B1:6379", 1000)),
    ];
    let sentinels = [seen("s1:26379", Some("b1:6379".to_string()))];
    let p = promotion(&nodes, &sentinels, &[]).expect("a promotion");
    assert_eq!(p.master, "b1:6379");
    assert!(p.ops.is_empty(), "{:?}", p.ops);
}

#[test]
fn a_repeat_after_a_partial_run_finishes_from_the_master_it_made() {
    // GIVEN b2 was promoted, b1 not yet re-pointed, s1 watches b2 already, s2 an old address
    let nodes = [
        seen("b1:6379", replica(OLD, 900)),
        seen("b2:6379", master(1000)),
    ];
    let sentinels = [
        seen("s1:26379", Some("b2:6379".to_string())),
        seen("s2:26379", Some("10.9.9.9:6379".to_string())),
    ];
    let p = promotion(&nodes, &sentinels, &[]).expect("a promotion");
    // THEN the stale sentinel stops watching before anything changes, b1 follows b2, and s2
    // watches b2
    assert_eq!(
        p.ops,
        vec![
            CacheOp::Unwatch {
                sentinel: "s2:26379".into()
            },
            CacheOp::Replicate {
                node: "b1:6379".into(),
                master: "b2:6379".into()
            },
            CacheOp::Watch {
                sentinel: "s2:26379".into(),
                master: "b2:6379".into()
            },
        ]
    );
}

#[test]
fn two_masters_in_the_region_are_refused_not_guessed() {
    let nodes = [seen("b1:6379", master(5)), seen("b2:6379", master(9))];
    let e = promotion(&nodes, &[], &[]).expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    assert!(e.message().contains("b1:6379, b2:6379"), "{e}");
}

#[test]
fn no_node_answering_is_transient_and_names_each() {
    let e = promotion(&[silent("b1:6379"), silent("b2:6379")], &[], &[]).expect_err("nothing");
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(
        e.message().contains("b1:6379: ") && e.message().contains("b2:6379: "),
        "{e}"
    );
}

#[test]
fn nodes_that_all_refuse_the_password_keep_that_kind() {
    let denied = |addr: &str| Seen {
        addr: addr.to_string(),
        answer: Err(Error::new(ErrorKind::AccessDenied, "WRONGPASS")),
    };
    let e = promotion(&[denied("b1:6379"), denied("b2:6379")], &[], &[]).expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::AccessDenied, "{e}");
    let e = promotion(&[denied("b1:6379"), silent("b2:6379")], &[], &[]).expect_err("mixed");
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
}

#[test]
fn a_silent_sentinel_is_named_not_skipped() {
    let nodes = [seen("b1:6379", replica(OLD, 1))];
    let p =
        promotion(&nodes, &[silent("s1:26379"), seen("s2:26379", None)], &[]).expect("a promotion");
    assert_eq!(p.sentinels_not_reached, vec!["s1:26379".to_string()]);
}

#[test]
fn the_old_region_stops_watching_before_its_master_is_made_a_replica() {
    // GIVEN the old region answers: its master and a replica, its sentinels watch the master
    let nodes = [
        seen("a1:6379", master(1000)),
        seen("a2:6379", replica("a1:6379", 1000)),
        silent("a3:6379"),
    ];
    let sentinels = [
        seen("sa1:26379", Some("a1:6379".to_string())),
        seen("sa2:26379", None),
        silent("sa3:26379"),
    ];
    let ops = standby(&nodes, &sentinels, "b2:6379");
    // THEN the watching sentinel goes first; every answering node replicates the new master;
    // the silent ones are left alone
    assert_eq!(
        ops,
        vec![
            CacheOp::Unwatch {
                sentinel: "sa1:26379".into()
            },
            CacheOp::Replicate {
                node: "a1:6379".into(),
                master: "b2:6379".into()
            },
            CacheOp::Replicate {
                node: "a2:6379".into(),
                master: "b2:6379".into()
            },
        ]
    );
    // AND a region that is a standby of the master already needs nothing
    let standby_already = [seen("a1:6379", replica("b2:6379", 1000))];
    assert!(standby(&standby_already, &[seen("sa1:26379", None)], "b2:6379").is_empty());
}

#[test]
fn a_cold_region_is_ready_when_every_sentinel_watches_one_answering_master() {
    let nodes = [seen("b1:6379", master(0))];
    let one = Some("b1:6379".to_string());
    assert_eq!(
        ready_master(
            &nodes,
            &[seen("s1:26379", one.clone()), seen("s2:26379", one)]
        )
        .expect("ready"),
        "b1:6379"
    );
    let disagree = [
        seen("s1:26379", Some("b1:6379".to_string())),
        seen("s2:26379", Some("b9:6379".to_string())),
    ];
    assert_eq!(
        ready_master(&nodes, &disagree)
            .expect_err("disagree")
            .kind(),
        ErrorKind::PreconditionFailed
    );
    let as_replica = [seen("b1:6379", replica(OLD, 0))];
    assert_eq!(
        ready_master(
            &as_replica,
            &[seen("s1:26379", Some("b1:6379".to_string()))]
        )
        .expect_err("a replica")
        .kind(),
        ErrorKind::PreconditionFailed
    );
    assert_eq!(
        ready_master(&nodes, &[silent("s1:26379")])
            .expect_err("silent")
            .kind(),
        ErrorKind::Transient
    );
    assert_eq!(
        ready_master(&nodes, &[seen("s1:26379", Some("x:1".to_string()))])
            .expect_err("not in the plan")
            .kind(),
        ErrorKind::PreconditionFailed
    );
}

#[test]
fn a_region_back_as_an_empty_master_catches_up_with_the_live_one_before_it_is_promoted() {
    // GIVEN the home region came back after a failover: a1 restarted empty as its own master,
    // watched by its Sentinel; the region the shop ran in meanwhile has the live master w1
    let home = [
        seen("a1:6379", master_of("fresh-a1", NONE, 0)),
        seen("a2:6379", replica("a1:6379", 0)),
    ];
    let sentinels = [seen("sa1:26379", Some("a1:6379".to_string()))];
    let away = [seen(
        "w1:6379",
        master_of("stream-w1:6379", "stream-a1-old", 9_000),
    )];
    // WHEN the failback moves the cache home
    let p = promotion(&home, &sentinels, &away).expect("a plan");
    // THEN nothing is promoted yet: the home region first becomes w1's standby, its Sentinel
    // stops watching the empty a1 before a1 follows w1 (a1's emptiness never wins)
    assert!(p.catching_up);
    assert_eq!(p.master, "w1:6379");
    assert_eq!(
        p.ops,
        vec![
            CacheOp::Unwatch {
                sentinel: "sa1:26379".into()
            },
            CacheOp::Replicate {
                node: "a1:6379".into(),
                master: "w1:6379".into()
            },
            CacheOp::Replicate {
                node: "a2:6379".into(),
                master: "w1:6379".into()
            },
        ]
    );
    // AND once they hold w1's stream, the one furthest along (link up) is promoted, and says
    // how far behind w1 it was
    let caught_up = [
        seen("a1:6379", replica("w1:6379", 8_990)),
        seen("a2:6379", unlinked(replica("w1:6379", 9_000))),
    ];
    let sentinels = [seen("sa1:26379", None)];
    let p = promotion(&caught_up, &sentinels, &away).expect("a promotion");
    assert!(!p.catching_up);
    assert_eq!(
        p.master, "a1:6379",
        "a linked replica before one whose link is down"
    );
    assert_eq!(p.behind_bytes, Some(10));
    assert_eq!(
        p.ops[0],
        CacheOp::Promote {
            node: "a1:6379".into()
        }
    );
}

#[test]
fn a_master_promoted_by_an_earlier_call_is_kept_while_the_old_one_still_answers() {
    // GIVEN b2 was promoted from a1's stream (replid2), and the run stopped before a1 was fenced
    let nodes = [
        seen("b1:6379", replica("a1:6379", 90)),
        seen(
            "b2:6379",
            master_of("stream-b2-promoted", "stream-a1:6379", 100),
        ),
    ];
    let old = [seen("a1:6379", master_of("stream-a1:6379", NONE, 100))];
    let p = promotion(&nodes, &[seen("s1:26379", None)], &old).expect("a promotion");
    // THEN b2 is kept (it continues a1's stream), b1 follows it
    assert_eq!(p.master, "b2:6379");
    assert!(
        !p.ops.iter().any(|o| matches!(o, CacheOp::Promote { .. })),
        "{:?}",
        p.ops
    );
    assert!(p.ops.contains(&CacheOp::Replicate {
        node: "b1:6379".into(),
        master: "b2:6379".into()
    }));
    // AND a master of its own stream is not kept while the other region's master answers
    let stale = [seen("b2:6379", master_of("unrelated", NONE, 5))];
    assert!(promotion(&stale, &[], &old).expect("a plan").catching_up);
    // AND two masters in the other region is refused
    let two = [
        seen("a1:6379", master_of("x", NONE, 1)),
        seen("a2:6379", master_of("y", NONE, 1)),
    ];
    assert_eq!(
        promotion(&nodes, &[], &two).expect_err("refused").kind(),
        ErrorKind::PreconditionFailed
    );
}
