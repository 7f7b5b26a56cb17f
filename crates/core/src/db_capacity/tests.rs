//! GIVEN what RDS describes and the plan's level, WHEN a scale step is decided, THEN ...

use super::*;
use crate::plan::{AcuLevels, InstanceClassLevels, Plan};

const CLUSTER: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";

fn plan_capacity() -> DatabaseCapacityPlan {
    DatabaseCapacityPlan {
        instance_class: Some(InstanceClassLevels {
            standby: "db.r6g.large".into(),
            active: "db.r6g.2xlarge".into(),
        }),
        serverless_v2: Some(AcuLevels {
            standby: AcuRange {
                min_acu: 0.5,
                max_acu: 16.0,
            },
            active: AcuRange {
                min_acu: 8.0,
                max_acu: 64.0,
            },
        }),
    }
}

fn instance(id: &str, class: &str, status: &str, pending: Option<&str>) -> DbInstanceView {
    DbInstanceView {
        id: id.into(),
        class: class.into(),
        status: status.into(),
        pending_class: pending.map(str::to_string),
    }
}

fn cluster(range: Option<(f64, f64)>, instances: Vec<DbInstanceView>) -> ClusterCapacityView {
    ClusterCapacityView {
        cluster_arn: CLUSTER.into(),
        status: "available".into(),
        serverless: range.map(|(min_acu, max_acu)| AcuRange { min_acu, max_acu }),
        instances,
    }
}

fn active() -> DbTarget {
    target_of(&plan_capacity(), DbLevel::Active)
}

fn standby() -> DbTarget {
    target_of(&plan_capacity(), DbLevel::Standby)
}

#[test]
fn a_standby_sized_cluster_is_raised_to_the_active_class_and_range_before_it_is_ready() {
    // GIVEN the DR cluster at its standby size, one provisioned and one serverless instance
    let view = cluster(
        Some((0.5, 16.0)),
        vec![
            instance("usw2-1", "db.r6g.large", "available", None),
            instance("usw2-2", SERVERLESS_CLASS, "available", None),
        ],
    );
    // WHEN the active level is asked
    let s = step(&active(), &view);
    // THEN the provisioned instance changes class, the range is raised, the serverless instance
    // is sized by the range only, and the cluster is not ready
    assert_eq!(
        s.changes,
        vec![
            DbChange::InstanceClass {
                instance_id: "usw2-1".into(),
                from: "db.r6g.large".into(),
                to: "db.r6g.2xlarge".into(),
            },
            DbChange::ServerlessRange {
                cluster_arn: CLUSTER.into(),
                from: Some(AcuRange {
                    min_acu: 0.5,
                    max_acu: 16.0
                }),
                to: AcuRange {
                    min_acu: 8.0,
                    max_acu: 64.0
                },
            },
        ]
    );
    assert!(!s.ready());
}

#[test]
fn a_change_under_way_is_waited_for_not_asked_again() {
    let view = cluster(
        Some((8.0, 64.0)),
        vec![instance(
            "usw2-1",
            "db.r6g.large",
            "modifying",
            Some("db.r6g.2xlarge"),
        )],
    );
    let s = step(&active(), &view);
    assert!(s.changes.is_empty(), "{s:?}");
    assert_eq!(s.waiting.len(), 1);
    assert!(s.waiting[0].contains("changing to db.r6g.2xlarge"), "{s:?}");
    assert!(!s.ready());
}

#[test]
fn an_instance_that_is_not_available_is_changed_once_it_is() {
    // GIVEN the instance restarting during the promotion
    let busy = cluster(
        None,
        vec![instance("usw2-1", "db.r6g.large", "rebooting", None)],
    );
    let s = step(&active(), &busy);
    // THEN nothing is asked of it yet (RDS refuses), and the cluster is not ready
    assert!(
        s.changes
            .iter()
            .all(|c| !matches!(c, DbChange::InstanceClass { .. })),
        "{s:?}"
    );
    assert!(!s.ready());
    assert!(s.waiting.iter().any(|w| w.contains("once it is available")));
}

#[test]
fn going_active_never_shrinks_what_is_larger_or_of_another_family() {
    // GIVEN an instance larger than the plan's active class, one of another family, and a
    // range wider than the plan's at the top
    let view = cluster(
        Some((4.0, 128.0)),
        vec![
            instance("big", "db.r6g.8xlarge", "available", None),
            instance("other", "db.x2g.xlarge", "available", None),
        ],
    );
    let s = step(&active(), &view);
    // THEN neither instance changes; the range keeps its top and only its bottom is raised
    assert_eq!(
        s.changes,
        vec![DbChange::ServerlessRange {
            cluster_arn: CLUSTER.into(),
            from: Some(AcuRange {
                min_acu: 4.0,
                max_acu: 128.0
            }),
            to: AcuRange {
                min_acu: 8.0,
                max_acu: 128.0
            },
        }]
    );
    assert_eq!(s.left_alone.len(), 1);
    assert!(s.left_alone[0].contains("other"), "{s:?}");
}

#[test]
fn at_the_active_level_the_cluster_is_ready() {
    let view = cluster(
        Some((8.0, 64.0)),
        vec![instance("usw2-1", "db.r6g.2xlarge", "available", None)],
    );
    let s = step(&active(), &view);
    assert!(s.ready(), "{s:?}");
}

#[test]
fn going_standby_sets_the_plans_standby_size() {
    // GIVEN the DR cluster still at its active size after a failback
    let view = cluster(
        Some((8.0, 128.0)),
        vec![instance("usw2-1", "db.r6g.8xlarge", "available", None)],
    );
    let s = step(&standby(), &view);
    // THEN the standby class and range are set, whatever is larger
    assert_eq!(
        s.changes,
        vec![
            DbChange::InstanceClass {
                instance_id: "usw2-1".into(),
                from: "db.r6g.8xlarge".into(),
                to: "db.r6g.large".into(),
            },
            DbChange::ServerlessRange {
                cluster_arn: CLUSTER.into(),
                from: Some(AcuRange {
                    min_acu: 8.0,
                    max_acu: 128.0
                }),
                to: AcuRange {
                    min_acu: 0.5,
                    max_acu: 16.0
                },
            },
        ]
    );
}

#[test]
fn a_cluster_that_is_not_available_gets_its_range_once_it_is() {
    let mut view = cluster(Some((0.5, 16.0)), Vec::new());
    view.status = "failing-over".into();
    let s = step(&active(), &view);
    assert!(s.changes.is_empty(), "{s:?}");
    assert!(!s.ready());
}

#[test]
fn instance_classes_compare_within_a_family_only() {
    assert!(smaller("db.r6g.large", "db.r6g.xlarge"));
    assert!(smaller("db.r6g.xlarge", "db.r6g.2xlarge"));
    assert!(smaller("db.r6g.2xlarge", "db.r6g.12xlarge"));
    assert!(!smaller("db.r6g.4xlarge", "db.r6g.2xlarge"));
    assert!(!smaller("db.t4g.medium", "db.r6g.large"));
    assert!(!smaller(SERVERLESS_CLASS, "db.r6g.large"));
    for bad in [
        "",
        "db",
        "db.r6g",
        "r6g.large",
        "db.r6g.huge",
        "db.r6g.1xlarge",
        "db.R6G.large",
        "db.r6g.large.x",
        SERVERLESS_CLASS,
    ] {
        assert!(InstanceSize::parse(bad).is_none(), "{bad}");
    }
    assert!(is_acu(0.0) && is_acu(0.5) && is_acu(256.0));
    assert!(!is_acu(0.25) && !is_acu(256.5) && !is_acu(-1.0) && !is_acu(f64::NAN));
}

#[test]
fn readiness_names_a_target_smaller_than_the_primary() {
    let primary = cluster(
        Some((8.0, 64.0)),
        vec![instance("use1-1", "db.r6g.4xlarge", "available", None)],
    );
    let dr = cluster(
        Some((0.5, 16.0)),
        vec![instance("usw2-1", "db.r6g.large", "available", None)],
    );
    // WHEN the plan sets no capacity for the region
    let without = shortfall(None, &dr, &primary);
    assert_eq!(without.len(), 2, "{without:?}");
    assert!(without[0].contains("db.r6g.large while the primary runs db.r6g.4xlarge"));
    assert!(without[0].contains("sets no database capacity"));
    assert!(without[1].contains("0.5-16 ACU"));
    // WHEN the plan's active level is below the primary's class, but its range matches
    let planned = active();
    let short = shortfall(Some(&planned), &dr, &primary);
    assert_eq!(short.len(), 1, "{short:?}");
    assert!(short[0].contains("db.r6g.2xlarge (the plan's active class)"));
    // WHEN the plan's active level matches the primary
    let mut enough = plan_capacity();
    if let Some(c) = enough.instance_class.as_mut() {
        c.active = "db.r6g.4xlarge".into();
    }
    let t = target_of(&enough, DbLevel::Active);
    assert!(shortfall(Some(&t), &dr, &primary).is_empty());
}

#[test]
fn a_plan_without_database_capacity_leaves_the_cluster_alone() {
    let p = ValidPlan::parse(include_str!("../../../../examples/plan.yaml")).expect("valid");
    for region in p.region_names() {
        let planned = p
            .region(region)
            .expect("region")
            .database_capacity
            .is_some();
        assert_eq!(
            target(&p, region, DbLevel::Active)
                .expect("region")
                .is_some(),
            planned
        );
    }
    assert!(target(&p, "eu-central-1", DbLevel::Active).is_err());
}

#[test]
fn the_plan_refuses_capacity_rds_cannot_take() {
    let mut p = Plan::parse(include_str!("../../../../examples/plan.yaml")).expect("parses");
    let mut bad = plan_capacity();
    if let Some(c) = bad.instance_class.as_mut() {
        c.standby = "db.r6g.4xlarge".into();
        c.active = "db.serverless".into();
    }
    if let Some(r) = bad.serverless_v2.as_mut() {
        r.active.min_acu = 0.3;
        r.standby.max_acu = 0.5;
    }
    let region = p.regions.get_mut("us-west-2").expect("region");
    region.database_capacity = Some(bad);
    let problems = match p.clone().validate() {
        Ok(_) => panic!("the plan must be refused"),
        Err(e) => e.to_string(),
    };
    for field in [
        "regions.us-west-2.database_capacity.instance_class.active",
        "regions.us-west-2.database_capacity.serverless_v2.active.min_acu",
        "regions.us-west-2.database_capacity.serverless_v2.standby.max_acu",
    ] {
        assert!(problems.contains(field), "{field} in {problems}");
    }
    p.regions
        .get_mut("us-west-2")
        .expect("region")
        .database_capacity = Some(DatabaseCapacityPlan {
        instance_class: None,
        serverless_v2: None,
    });
    let problems = match p.validate() {
        Ok(_) => panic!("an empty database_capacity must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(problems.contains("names neither instance_class nor serverless_v2"));
}

#[test]
fn a_change_as_a_person_reads_it_shows_what_rds_named_inert_and_bounded() {
    // GIVEN an instance whose name, as RDS reported it, carries a line break and runs long
    let hostile = format!("usw2-1\n\u{202e}FAKE LINE{}", "x".repeat(500));
    let view = cluster(
        None,
        vec![instance(&hostile, "db.r6g.large", "available", None)],
    );
    // WHEN going active asks for a class change
    let s = step(&target_of(&plan_capacity(), DbLevel::Active), &view);
    let change = s
        .changes
        .iter()
        .find(|c| matches!(c, DbChange::InstanceClass { .. }))
        .expect("a class change");
    // THEN its sentence is one line, the invisible characters shown escaped, the name cut
    let line = change.describe("us-west-2");
    assert!(!line.contains('\n') && !line.contains('\u{202e}'), "{line}");
    assert!(
        line.starts_with("instance us-west-2/usw2-1\\u{a}\\u{202e}FAKE LINE"),
        "{line}"
    );
    assert!(line.ends_with("db.r6g.large -> db.r6g.2xlarge"), "{line}");
    assert!(line.chars().count() < 160, "{line}");
}
