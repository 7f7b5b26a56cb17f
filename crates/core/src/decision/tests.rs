//! Table-driven tests over every branch of the decision.

use super::*;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-22 03:00 UTC);
const TARGET: &str = "us-west-2";

fn plan() -> ValidPlan {
    ValidPlan::parse(include_str!("../../../../examples/plan.yaml")).expect("example plan")
}

fn plan_without_approval() -> ValidPlan {
    let mut p =
        crate::plan::Plan::parse(include_str!("../../../../examples/plan.yaml")).expect("parses");
    p.approval.required = false;
    p.validate().expect("valid")
}

fn alarm() -> Trigger {
    Trigger::Alarm {
        name: "lifeboat-shop-primary-unhealthy".into(),
        region: TARGET.into(),
        reason: "threshold crossed".into(),
        at: NOW,
    }
}

fn manual() -> Trigger {
    Trigger::Manual {
        requested_by: "ops@shop".into(),
        at: NOW,
    }
}

fn healthy_primary() -> Readiness {
    Readiness {
        peer_lock_unread: None,
        primary_data_plane: None,
        writer_region: Some("us-east-1".into()),
        operation_in_progress: None,
        target_cluster_available: true,
        primary_reachable: true,
        replication_lag: Some(Duration::from_millis(800)),
        replication_lag_age: Some(Duration::ZERO),
        alarm_still_firing: Some(true),
    }
}

fn dark_primary(lag: Option<f64>) -> Readiness {
    Readiness {
        primary_data_plane: None,
        primary_reachable: false,
        replication_lag: lag.map(Duration::from_secs_f64),
        ..healthy_primary()
    }
}

fn run_id() -> RunId {
    RunId::for_incident("shop", TARGET, NOW, 900)
}

fn lock_by(id: &str) -> LockRecord {
    LockRecord {
        run_id: RunId::parse(id).expect("id"),
        target_region: TARGET.into(),
        acquired_at: NOW - time::Duration::minutes(3),
        execution_arn: None,
    }
}

struct Case {
    name: &'static str,
    plan: ValidPlan,
    trigger: Trigger,
    readiness: Readiness,
    lock: Option<LockRecord>,
    last_run_ended: Option<OffsetDateTime>,
    override_guard: bool,
    want: &'static str,
}

fn case(name: &'static str, readiness: Readiness, want: &'static str) -> Case {
    Case {
        name,
        plan: plan(),
        trigger: alarm(),
        readiness,
        lock: None,
        last_run_ended: None,
        override_guard: false,
        want,
    }
}

/// A compact rendering of a decision for the table.
fn render(d: &Decision) -> String {
    let v = serde_json::to_value(d).expect("json");
    match d {
        Decision::Ignore { .. } => format!("ignore:{}", v["why"]["reason"].as_str().unwrap_or("?")),
        Decision::Refuse { .. } => format!("refuse:{}", v["why"]["reason"].as_str().unwrap_or("?")),
        Decision::Start {
            promotion,
            approval,
            resumed,
        } => {
            let p = match promotion {
                PromotionMode::Switchover => "switchover".to_string(),
                PromotionMode::Failover { overridden, .. } => {
                    if *overridden {
                        "failover-overridden".to_string()
                    } else {
                        "failover".to_string()
                    }
                }
            };
            let a = match approval {
                Approval::Required { .. } => "ask",
                Approval::NotRequiredByPlan => "proceed",
                Approval::RequestedByOperator => "operator",
            };
            format!("start:{p}:{a}{}", if *resumed { ":resumed" } else { "" })
        }
    }
}

#[test]
fn every_branch() {
    let own = run_id();
    let cases = vec![
        case(
            "healthy primary: switchover, ask a person",
            healthy_primary(),
            "start:switchover:ask",
        ),
        case(
            "dark primary, lag within guard: failover",
            dark_primary(Some(5.0)),
            "start:failover:ask",
        ),
        case(
            "dark primary, lag exactly the guard: failover",
            dark_primary(Some(30.0)),
            "start:failover:ask",
        ),
        case(
            "dark primary, lag above guard: refuse",
            dark_primary(Some(30.5)),
            "refuse:lag_above_guard",
        ),
        case(
            "dark primary, lag unknown: refuse",
            dark_primary(None),
            "refuse:lag_unknown",
        ),
        Case {
            override_guard: true,
            ..case(
                "lag above guard, person overrides",
                dark_primary(Some(120.0)),
                "start:failover-overridden:ask",
            )
        },
        Case {
            override_guard: true,
            ..case(
                "lag unknown, person overrides",
                dark_primary(None),
                "start:failover-overridden:ask",
            )
        },
        Case {
            override_guard: true,
            ..case(
                "override is moot when the primary answers",
                healthy_primary(),
                "start:switchover:ask",
            )
        },
        case(
            "alarm back to OK when re-read: flap",
            Readiness {
                primary_data_plane: None,
                alarm_still_firing: Some(false),
                ..healthy_primary()
            },
            "ignore:flap",
        ),
        case(
            "alarm not re-read: act",
            Readiness {
                primary_data_plane: None,
                alarm_still_firing: None,
                ..healthy_primary()
            },
            "start:switchover:ask",
        ),
        case(
            "already active in target",
            Readiness {
                primary_data_plane: None,
                writer_region: Some(TARGET.into()),
                ..healthy_primary()
            },
            "ignore:already_active",
        ),
        case(
            "global operation under way",
            Readiness {
                primary_data_plane: None,
                operation_in_progress: Some("failing-over".into()),
                ..healthy_primary()
            },
            "ignore:operation_in_progress",
        ),
        case(
            "no writer",
            Readiness {
                primary_data_plane: None,
                writer_region: None,
                ..healthy_primary()
            },
            "refuse:writer_unknown",
        ),
        case(
            "target not available",
            Readiness {
                primary_data_plane: None,
                target_cluster_available: false,
                ..healthy_primary()
            },
            "refuse:target_not_ready",
        ),
        Case {
            lock: Some(lock_by("shop-to-us-west-2-42")),
            ..case(
                "another run holds the lock",
                healthy_primary(),
                "ignore:run_in_progress",
            )
        },
        Case {
            lock: Some(lock_by(own.as_str())),
            ..case(
                "this incident's run holds the lock: resume",
                healthy_primary(),
                "start:switchover:ask:resumed",
            )
        },
        Case {
            last_run_ended: Some(NOW - time::Duration::minutes(59)),
            ..case(
                "59 min after last run (min 60)",
                healthy_primary(),
                "ignore:inside_minimum_interval",
            )
        },
        Case {
            last_run_ended: Some(NOW - time::Duration::minutes(60)),
            ..case(
                "60 min after last run",
                healthy_primary(),
                "start:switchover:ask",
            )
        },
        Case {
            plan: plan_without_approval(),
            ..case(
                "plan without approval: proceed",
                healthy_primary(),
                "start:switchover:proceed",
            )
        },
        Case {
            trigger: manual(),
            ..case(
                "an operator's failover asks a person as the plan says",
                healthy_primary(),
                "start:switchover:ask",
            )
        },
        Case {
            trigger: manual(),
            last_run_ended: Some(NOW - time::Duration::minutes(1)),
            ..case(
                "a person can always act: the minimum interval holds back automatic triggers only",
                healthy_primary(),
                "start:switchover:ask",
            )
        },
        Case {
            trigger: manual(),
            override_guard: true,
            ..case(
                "operator's break-glass: lag above the guard, overridden, asks a person",
                dark_primary(Some(90.0)),
                "start:failover-overridden:ask",
            )
        },
        Case {
            trigger: manual(),
            override_guard: true,
            ..case(
                "operator's break-glass: lag unknown, overridden, asks a person",
                dark_primary(None),
                "start:failover-overridden:ask",
            )
        },
        Case {
            trigger: manual(),
            ..case(
                "operator request still obeys the RPO guard",
                dark_primary(Some(90.0)),
                "refuse:lag_above_guard",
            )
        },
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let input = DecisionInput {
            plan: &c.plan,
            target_region: TARGET,
            trigger: &c.trigger,
            run_id: &own,
            lock: c.lock.as_ref(),
            last_run_ended: c.last_run_ended,
            readiness: &c.readiness,
            now: NOW,
            allow_data_loss_override: c.override_guard,
        };
        let got = render(&decide(&input));
        if got != c.want {
            failures.push(format!("{}: want {}, got {got}", c.name, c.want));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn failover_carries_the_rpo_estimate() {
    let got = choose_promotion(
        PrimaryEvidence {
            region: "us-east-1",
            answers: false,
            data_plane: None,
        },
        Some(Duration::from_secs(7)),
        Duration::from_secs(30),
        false,
    );
    assert_eq!(
        got,
        Ok(PromotionMode::Failover {
            lag: Some(Duration::from_secs(7)),
            overridden: false
        })
    );
}

#[test]
fn approval_carries_the_timeout_policy() {
    let p = plan();
    let r = healthy_primary();
    let own = run_id();
    let t = alarm();
    let d = decide(&DecisionInput {
        plan: &p,
        target_region: TARGET,
        trigger: &t,
        run_id: &own,
        lock: None,
        last_run_ended: None,
        readiness: &r,
        now: NOW,
        allow_data_loss_override: false,
    });
    let Decision::Start { approval, .. } = d else {
        panic!("expected start, got {d:?}")
    };
    assert_eq!(
        approval,
        Approval::Required {
            timeout_minutes: 15,
            on_timeout: OnTimeout::Abort,
            proceed_after_outage_minutes: None
        }
    );
}

#[test]
fn refusal_messages_name_the_numbers() {
    let r = Refusal::LagAboveGuard {
        lag_seconds: 42.25,
        guard_seconds: 30,
    };
    let text = r.to_string();
    assert!(text.contains("42.2s") || text.contains("42.3s"), "{text}");
    assert!(text.contains("30s"), "{text}");
}

#[test]
fn readiness_lag_serialises_as_seconds() {
    let r = dark_primary(Some(1.5));
    let v = serde_json::to_value(&r).expect("json");
    assert_eq!(v["replication_lag"], serde_json::json!(1.5));
    let back: Readiness = serde_json::from_value(v).expect("back");
    assert_eq!(back, r);
}

#[test]
fn a_riskier_mode_than_the_approved_one_is_named() {
    let fo = |lag: Option<f64>, overridden| PromotionMode::Failover {
        lag: lag.map(Duration::from_secs_f64),
        overridden,
    };
    let sw = PromotionMode::Switchover;
    // the same or safer: goes on
    assert_eq!(exceeds_approval(&sw, &sw), None);
    assert_eq!(exceeds_approval(&fo(Some(5.0), false), &sw), None);
    assert_eq!(
        exceeds_approval(&fo(Some(5.0), false), &fo(Some(5.5), false)),
        None
    );
    assert_eq!(
        exceeds_approval(&fo(Some(5.0), false), &fo(Some(3.0), false)),
        None
    );
    assert_eq!(
        exceeds_approval(&fo(None, true), &fo(Some(90.0), true)),
        None
    );
    // riskier: named
    let why = exceeds_approval(&sw, &fo(Some(2.0), false)).expect("escalation");
    assert!(why.contains("switchover") && why.contains("2.0 s"), "{why}");
    let why = exceeds_approval(&fo(Some(5.0), false), &fo(Some(25.0), false)).expect("grew");
    assert!(why.contains("5.0 s") && why.contains("25.0 s"), "{why}");
    let why = exceeds_approval(&fo(Some(5.0), true), &fo(None, true)).expect("unknown");
    assert!(why.contains("unknown"), "{why}");
}

#[test]
fn a_lag_datapoint_counts_only_while_it_is_younger_than_the_guard() {
    use crate::ports::LagSample;
    let guard = Duration::from_secs(30);
    let sample = |age| {
        Some(LagSample {
            lag: Duration::from_secs(1),
            age: Duration::from_secs(age),
        })
    };
    assert_eq!(usable_lag(sample(0), guard), Some(Duration::from_secs(1)));
    assert_eq!(usable_lag(sample(30), guard), Some(Duration::from_secs(1)));
    assert_eq!(usable_lag(sample(31), guard), None);
    assert_eq!(usable_lag(sample(240), guard), None);
    assert_eq!(usable_lag(None, guard), None);
}

/// Only the failback brings the shop home: in the home region's copy (target = the plan's
/// primary region), an automatic trigger while another region holds the writer is refused,
/// naming the failback; a person may still decide.
#[test]
fn an_automatic_failover_into_the_home_region_is_refused_as_a_failback() {
    let p = plan();
    let own = run_id();
    let mut r = dark_primary(Some(1.0));
    r.writer_region = Some("us-west-2".into());
    let decide_for = |trigger: &Trigger| {
        decide(&DecisionInput {
            plan: &p,
            target_region: "us-east-1",
            trigger,
            run_id: &own,
            lock: None,
            last_run_ended: None,
            readiness: &r,
            now: NOW,
            allow_data_loss_override: false,
        })
    };
    let d = decide_for(&alarm());
    assert_eq!(
        d,
        Decision::Refuse {
            why: Refusal::HomeIsAFailback {
                writer_region: "us-west-2".into(),
                home: "us-east-1".into()
            }
        }
    );
    let Decision::Refuse { why } = d else {
        panic!()
    };
    assert!(why.to_string().contains("lifeboat failback"), "{why}");
    assert!(matches!(decide_for(&manual()), Decision::Start { .. }));
}

#[test]
fn a_primary_whose_data_plane_answers_is_never_failed_over_with_data_loss_automatically() {
    let primary = |data_plane| PrimaryEvidence {
        region: "us-east-1",
        answers: false,
        data_plane,
    };
    let lag = Some(Duration::from_secs(1));
    let guard = Duration::from_secs(30);
    // Control plane dark, data plane up: refused, naming why.
    let got = choose_promotion(primary(Some(true)), lag, guard, false);
    assert_eq!(
        got,
        Err(Refusal::PrimaryDataPlaneAnswers {
            region: "us-east-1".into()
        })
    );
    assert!(got.unwrap_err().to_string().contains("accepts connections"));
    // A person may still decide (break glass), and it is recorded as overridden.
    assert_eq!(
        choose_promotion(primary(Some(true)), lag, guard, true),
        Ok(PromotionMode::Failover {
            lag,
            overridden: true
        })
    );
    // Both planes dark (or no endpoint known): the RPO guard decides, as before.
    for dp in [Some(false), None] {
        assert_eq!(
            choose_promotion(primary(dp), lag, guard, false),
            Ok(PromotionMode::Failover {
                lag,
                overridden: false
            })
        );
    }
    // The API answers: a switchover, whatever the endpoint says.
    let answers = PrimaryEvidence {
        answers: true,
        ..primary(Some(false))
    };
    assert_eq!(
        choose_promotion(answers, lag, guard, false),
        Ok(PromotionMode::Switchover)
    );
}

#[test]
fn the_decision_refuses_a_failover_while_the_primarys_data_plane_answers() {
    let plan = plan_without_approval();
    let mut r = healthy_primary();
    r.primary_reachable = false;
    r.primary_data_plane = Some(true);
    r.replication_lag = Some(Duration::from_secs(1));
    let run_id = RunId::for_incident("shop", TARGET, NOW, 900);
    let trigger = alarm();
    let d = decide(&DecisionInput {
        plan: &plan,
        target_region: TARGET,
        trigger: &trigger,
        run_id: &run_id,
        lock: None,
        last_run_ended: None,
        readiness: &r,
        now: NOW,
        allow_data_loss_override: false,
    });
    assert!(
        matches!(
            d,
            Decision::Refuse {
                why: Refusal::PrimaryDataPlaneAnswers { .. }
            }
        ),
        "{d:?}"
    );
}

/// Fuzzing found it (fuzz/regressions/requests/lag-out-of-range.json, at f572ac5): a lag of
/// 1e20 s in a request panicked in Duration::from_secs_f64. Out-of-range and negative lags are
/// a typed error; in-range ones read as before.
#[test]
fn a_lag_out_of_range_is_an_error_not_a_panic() {
    let with_lag = |lag: &str| {
        format!(
            r#"{{"writer_region": "us-east-1", "operation_in_progress": null,
                "target_cluster_available": true, "primary_reachable": false,
                "replication_lag": {lag}, "alarm_still_firing": true}}"#
        )
    };
    for bad in ["99999999999999999992.5", "-1", "1e300"] {
        let got = serde_json::from_str::<Readiness>(&with_lag(bad));
        assert!(got.is_err(), "{bad}: {got:?}");
    }
    let ok: Readiness = serde_json::from_str(&with_lag("2.5")).expect("in range");
    assert_eq!(ok.replication_lag, Some(Duration::from_millis(2_500)));
    let none: Readiness = serde_json::from_str(&with_lag("null")).expect("unknown");
    assert_eq!(none.replication_lag, None);
}
