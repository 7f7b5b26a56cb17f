//! The returning region's rule and the fence records, GIVEN / WHEN / THEN.

use super::*;

const HOME: &str = "us-east-1";
const DR: &str = "us-west-2";

fn plan() -> ValidPlan {
    ValidPlan::parse(include_str!("../../../../examples/plan.yaml")).expect("example plan")
}

fn lock(target: &str) -> LockRecord {
    serde_json::from_value(serde_json::json!({
        "run_id": format!("shop-{target}-20261203t0300"),
        "target_region": target,
        "acquired_at": "2026-12-03T03:00:00Z",
    }))
    .expect("lock")
}

fn seen(region: &str, lock: Result<Option<LockRecord>, String>) -> LockSeen {
    LockSeen {
        region: region.into(),
        lock,
    }
}

#[test]
fn given_home_back_and_the_writer_elsewhere_when_guarded_then_it_fences() {
    let v = home_guard(
        &plan(),
        HOME,
        Ok(Some(DR)),
        &[seen(HOME, Ok(None)), seen(DR, Ok(None))],
    );
    assert_eq!(
        v,
        GuardVerdict::Fence {
            writer_region: DR.into(),
            unread_locks: vec![]
        }
    );
}

#[test]
fn given_a_failover_lock_kept_after_a_failure_then_home_still_fences() {
    // A failover into us-west-2 that failed after promotion keeps its lock for a person: the
    // home region must still not serve.
    let v = home_guard(&plan(), HOME, Ok(Some(DR)), &[seen(DR, Ok(Some(lock(DR))))]);
    assert!(matches!(v, GuardVerdict::Fence { .. }), "{v:?}");
}

#[test]
fn given_a_failback_into_home_holds_the_lock_then_the_guard_holds_off() {
    let v = home_guard(
        &plan(),
        HOME,
        Ok(Some(DR)),
        &[seen(DR, Ok(Some(lock(HOME))))],
    );
    assert_eq!(
        v,
        GuardVerdict::RunInProgress {
            run_id: format!("shop-{HOME}-20261203t0300"),
            lock_region: DR.into()
        }
    );
}

#[test]
fn given_the_other_lock_unreadable_then_home_fences_and_says_so() {
    let v = home_guard(
        &plan(),
        HOME,
        Ok(Some(DR)),
        &[seen(HOME, Ok(None)), seen(DR, Err("HTTP 503".into()))],
    );
    assert_eq!(
        v,
        GuardVerdict::Fence {
            writer_region: DR.into(),
            unread_locks: vec![format!("{DR}: HTTP 503")]
        }
    );
}

#[test]
fn given_home_holds_the_writer_then_it_serves() {
    assert_eq!(
        home_guard(&plan(), HOME, Ok(Some(HOME)), &[]),
        GuardVerdict::Serving
    );
}

#[test]
fn given_the_writer_unknown_then_nothing_is_changed() {
    assert!(matches!(
        home_guard(&plan(), HOME, Ok(None), &[]),
        GuardVerdict::Unknown { .. }
    ));
    assert!(matches!(
        home_guard(&plan(), HOME, Err("dark".into()), &[]),
        GuardVerdict::Unknown { .. }
    ));
}

#[test]
fn given_the_dr_region_without_the_writer_then_it_is_a_standby_by_design() {
    assert_eq!(
        home_guard(&plan(), DR, Ok(Some(HOME)), &[]),
        GuardVerdict::NotHome
    );
}

#[test]
fn an_error_that_did_not_reach_the_region_is_unreachable_any_other_is_failed() {
    let dark = FenceOutcome::of_error(&Error::new(
        ErrorKind::Transient,
        "HTTP 503 ServiceUnavailable",
    ));
    assert!(matches!(dark, FenceOutcome::Unreachable { .. }));
    let denied = FenceOutcome::of_error(&Error::new(ErrorKind::AccessDenied, "no"));
    assert!(matches!(denied, FenceOutcome::Failed { .. }));
    let long = FenceOutcome::of_error(&Error::new(ErrorKind::Transient, "x".repeat(100_000)));
    let FenceOutcome::Unreachable { detail } = long else {
        panic!("unreachable")
    };
    assert!(detail.chars().count() <= 301, "bounded: {}", detail.len());
}

#[test]
fn a_report_is_complete_only_when_every_compute_action_holds() {
    let mut r = FenceReport {
        region: HOME.into(),
        actions: vec![
            FenceAction {
                resource: "ecs:shop/web".into(),
                outcome: FenceOutcome::Fenced {
                    before: 6,
                    after: 0,
                },
            },
            FenceAction {
                resource: "database:shop-use1".into(),
                outcome: FenceOutcome::Delegated {
                    detail: DATABASE_FENCE.into(),
                },
            },
        ],
    };
    assert!(r.complete() && r.changed());
    r.actions.push(FenceAction {
        resource: "asg:shop-workers-use1".into(),
        outcome: FenceOutcome::Unreachable {
            detail: "HTTP 503".into(),
        },
    });
    assert!(!r.complete());
    assert_eq!(
        r.lines()[2],
        "asg:shop-workers-use1: UNREACHABLE (HTTP 503)"
    );
}

#[test]
fn an_errors_text_on_the_topic_is_inert() {
    let e = Error::new(ErrorKind::Transient, "dark\u{1b}[31m\u{202e}\n<!channel>");
    let FenceOutcome::Unreachable { detail } = FenceOutcome::of_error(&e) else {
        panic!("unreachable")
    };
    assert!(
        detail.contains("\\u{1b}") && detail.contains("\\u{202e}") && detail.contains("\\u{a}")
    );
    assert!(!detail.contains('\u{1b}') && !detail.contains('\n'));
}
