//! Which observed events may start a run.
//!
//! Only a transition *into* ALARM of an alarm the plan names, a canary report over the plan's
//! k-of-n threshold about the other region, or a firing Alertmanager alert the plan names about
//! the other region, is actionable. Everything else is reported with the reason lifeboat did
//! not act.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plan::ValidPlan;

/// The CloudWatch alarm states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// The EventBridge detail-type of an alarm state change.
pub const ALARM_STATE_CHANGE: &str = "CloudWatch Alarm State Change";

/// An alarm event, reduced to what the decision needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmChange {
    /// EventBridge `detail-type` (state change, configuration change, contributor change).
    pub detail_type: String,
    pub alarm_name: String,
    /// Region the alarm lives in (the event's `region`).
    pub region: String,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    /// When the alarm changed state.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub reason: String,
    /// Set when an operator muted the alarm's actions (mute rule / maintenance window).
    pub muted_by: Option<String>,
    /// Set when a composite alarm's actions are suppressed (`actionsSuppressedBy`).
    pub actions_suppressed_by: Option<String>,
}

/// EventBridge `source` of the canary's events (health-probe puts, alarm-to-failover accepts).
pub const CANARY_SOURCE: &str = "lifeboat.probe";
/// EventBridge `detail-type` of a sustained canary failure.
pub const CANARY_DETAIL_TYPE: &str = "Primary Unhealthy";

/// A report from lifeboat's canary (EventBridge source `lifeboat.probe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryReport {
    pub app: String,
    /// The region whose endpoints were probed.
    pub probed_region: String,
    pub failures: u32,
    pub probes: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// One line per failed probe (URL and what happened).
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Something that happened and might start a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Alarm(AlarmChange),
    Canary(CanaryReport),
    /// An Alertmanager notification whose bearer token was the plan's.
    Alertmanager(crate::alertmanager::Notification),
    /// A well-formed event of another kind (an alarm's configuration change, another source):
    /// never a trigger.
    Other {
        source: String,
        detail_type: String,
    },
}

/// How far a canary report's time may be from now (clocks differ a little; a report from an
/// hour ago, or from the future, is not evidence of an outage now).
pub const CANARY_SKEW_SECONDS: i64 = 120;

/// What started (or would start) a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    Alarm {
        name: String,
        region: String,
        reason: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    Canary {
        probed_region: String,
        failures: u32,
        probes: u32,
        evidence: Vec<String>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A firing Alertmanager alert the plan names: the earliest of its group's, as sent.
    Alert {
        /// `alertname{label="value", ...}`, inert and bounded.
        alert: String,
        /// The plan region the alert says is down.
        region: String,
        /// The group's key (inert, bounded): every notification of the group carries it.
        group_key: String,
        /// How many of the notification's firing alerts the plan names.
        matching: u32,
        /// The alert's `startsAt`: every notification of this outage carries the same.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// An operator asked (CLI `failover --to`): a person has decided already.
    Manual {
        requested_by: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

impl Trigger {
    pub fn at(&self) -> OffsetDateTime {
        match self {
            Trigger::Alarm { at, .. }
            | Trigger::Canary { at, .. }
            | Trigger::Alert { at, .. }
            | Trigger::Manual { at, .. } => *at,
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, Trigger::Manual { .. })
    }
}

/// Why an observation does not start a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotActionable {
    #[error("'{detail_type}' events never start a run (only alarm state changes do)")]
    NotAStateChange { detail_type: String },
    #[error("alarm '{alarm}' is not one of the plan's trigger alarms")]
    NotAPlanAlarm { alarm: String },
    #[error("alarm '{alarm}' went to {state:?}; only a transition into ALARM starts a run")]
    NotIntoAlarm { alarm: String, state: AlarmState },
    #[error("alarm '{alarm}' was already in ALARM (no transition)")]
    AlreadyInAlarm { alarm: String },
    #[error("alarm '{alarm}' is muted by {muted_by}; lifeboat saw it and did not act")]
    Muted { alarm: String, muted_by: String },
    #[error(
        "alarm '{alarm}' has its actions suppressed by {suppressed_by}; lifeboat saw it and did not act"
    )]
    ActionsSuppressed {
        alarm: String,
        suppressed_by: String,
    },
    #[error("'{detail_type}' events from '{from}' never start a run")]
    NotATrigger { from: String, detail_type: String },
    #[error("canary report is for app '{app}', not this plan's")]
    OtherApp { app: String },
    #[error(
        "canary report is timed {at}, more than {skew} s from now ({now}): not evidence of an outage now"
    )]
    OutOfTime {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        now: OffsetDateTime,
        skew: i64,
    },
    #[error(
        "canary probed {probed_region}, which is not the region lifeboat would fail over from ({from})"
    )]
    NotTheSourceRegion { probed_region: String, from: String },
    #[error("Alertmanager notification {group_key}: no firing alert the plan names ({seen})")]
    NotAPlanAlert { group_key: String, seen: String },
    #[error(
        "Alertmanager notification {group_key}: {alert} is resolved; a resolved alert never starts a run"
    )]
    AlertResolved { group_key: String, alert: String },
    #[error(
        "alert {alert} says {region} is down, which is not the region lifeboat would fail over from ({from})"
    )]
    AlertAboutAnotherRegion {
        alert: String,
        region: String,
        from: String,
    },
    #[error(
        "alert {alert} starts at {at}, more than {skew} s after now ({now}): not evidence of an outage now"
    )]
    AlertFromTheFuture {
        alert: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        now: OffsetDateTime,
        skew: i64,
    },
    #[error(
        "the plan names no Alertmanager alerts (triggers.alertmanager): notifications never start a run"
    )]
    AlertmanagerNotPlanned,
    #[error("canary saw {failures} failed of {probes} probes; the plan needs {required} of {of}")]
    BelowThreshold {
        failures: u32,
        probes: u32,
        required: u32,
        of: u32,
    },
}

/// Decide whether `observation`, received at `now`, may start a run that fails over *into*
/// `target_region`.
pub fn classify(
    plan: &ValidPlan,
    target_region: &str,
    observation: &Observation,
    now: OffsetDateTime,
) -> Result<Trigger, NotActionable> {
    match observation {
        Observation::Alarm(a) => classify_alarm(plan, a),
        Observation::Canary(c) => classify_canary(plan, target_region, c, now),
        Observation::Alertmanager(n) => classify_alertmanager(plan, target_region, n, now),
        Observation::Other {
            source,
            detail_type,
        } => Err(NotActionable::NotATrigger {
            from: source.clone(),
            detail_type: detail_type.clone(),
        }),
    }
}

fn classify_alarm(plan: &ValidPlan, a: &AlarmChange) -> Result<Trigger, NotActionable> {
    let alarm = a.alarm_name.clone();
    if a.detail_type != ALARM_STATE_CHANGE {
        return Err(NotActionable::NotAStateChange {
            detail_type: a.detail_type.clone(),
        });
    }
    if !plan.triggers().alarms.contains(&a.alarm_name) {
        return Err(NotActionable::NotAPlanAlarm { alarm });
    }
    if a.state != AlarmState::Alarm {
        return Err(NotActionable::NotIntoAlarm {
            alarm,
            state: a.state,
        });
    }
    if a.previous_state == Some(AlarmState::Alarm) {
        return Err(NotActionable::AlreadyInAlarm { alarm });
    }
    if let Some(m) = &a.muted_by {
        return Err(NotActionable::Muted {
            alarm,
            muted_by: m.clone(),
        });
    }
    if let Some(s) = &a.actions_suppressed_by {
        return Err(NotActionable::ActionsSuppressed {
            alarm,
            suppressed_by: s.clone(),
        });
    }
    Ok(Trigger::Alarm {
        name: alarm,
        region: a.region.clone(),
        reason: a.reason.clone(),
        at: a.at,
    })
}

fn classify_alertmanager(
    plan: &ValidPlan,
    target_region: &str,
    n: &crate::alertmanager::Notification,
    now: OffsetDateTime,
) -> Result<Trigger, NotActionable> {
    use crate::alertmanager::{AlertStatus, describe, firing_matches};
    let Some(am) = &plan.triggers().alertmanager else {
        return Err(NotActionable::AlertmanagerNotPlanned);
    };
    let group_key = crate::text::inert(&n.group_key, 200);
    let matches = firing_matches(n, &am.alerts);
    let Some((first, rule)) = matches.first() else {
        if let Some(resolved) = n
            .alerts
            .iter()
            .find(|a| a.status == AlertStatus::Resolved && am.alerts.iter().any(|r| a.matches(r)))
        {
            return Err(NotActionable::AlertResolved {
                group_key,
                alert: describe(resolved),
            });
        }
        let seen: Vec<String> = n.alerts.iter().take(3).map(describe).collect();
        return Err(NotActionable::NotAPlanAlert {
            group_key,
            seen: if seen.is_empty() {
                "no alerts".to_string()
            } else {
                seen.join("; ")
            },
        });
    };
    // A target the plan does not name has no source: no alert's region can be it.
    let from = plan
        .other_region(target_region)
        .unwrap_or("(none: the target is not in the plan)");
    if rule.region != from {
        return Err(NotActionable::AlertAboutAnotherRegion {
            alert: describe(first),
            region: rule.region.clone(),
            from: from.to_string(),
        });
    }
    if (first.starts_at - now).whole_seconds() > CANARY_SKEW_SECONDS {
        return Err(NotActionable::AlertFromTheFuture {
            alert: describe(first),
            at: first.starts_at,
            now,
            skew: CANARY_SKEW_SECONDS,
        });
    }
    Ok(Trigger::Alert {
        alert: describe(first),
        region: rule.region.clone(),
        group_key,
        matching: u32::try_from(matches.len()).unwrap_or(u32::MAX),
        at: first.starts_at,
    })
}

fn classify_canary(
    plan: &ValidPlan,
    target_region: &str,
    c: &CanaryReport,
    now: OffsetDateTime,
) -> Result<Trigger, NotActionable> {
    if c.app != plan.app() {
        return Err(NotActionable::OtherApp { app: c.app.clone() });
    }
    if (c.at - now).whole_seconds().abs() > CANARY_SKEW_SECONDS {
        return Err(NotActionable::OutOfTime {
            at: c.at,
            now,
            skew: CANARY_SKEW_SECONDS,
        });
    }
    // A target the plan does not name has no source: no probed region can be it.
    let from = plan
        .other_region(target_region)
        .unwrap_or("(none: the target is not in the plan)");
    if c.probed_region != from {
        return Err(NotActionable::NotTheSourceRegion {
            probed_region: c.probed_region.clone(),
            from: from.to_string(),
        });
    }
    let rule = plan.triggers().canary;
    if c.failures < rule.failures_required || c.probes == 0 || c.failures > c.probes {
        return Err(NotActionable::BelowThreshold {
            failures: c.failures,
            probes: c.probes,
            required: rule.failures_required,
            of: rule.of_probes,
        });
    }
    Ok(Trigger::Canary {
        probed_region: c.probed_region.clone(),
        failures: c.failures,
        probes: c.probes,
        evidence: c.evidence.clone(),
        at: c.at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn plan() -> ValidPlan {
        ValidPlan::parse(include_str!("../../../examples/plan.yaml")).expect("example plan")
    }

    fn alarm(state: AlarmState, previous: Option<AlarmState>) -> AlarmChange {
        AlarmChange {
            detail_type: ALARM_STATE_CHANGE.into(),
            alarm_name: "lifeboat-shop-primary-unhealthy".into(),
            region: "us-west-2".into(),
            state,
            previous_state: previous,
            at: datetime!(2026-11-22 03:00 UTC),
            reason: "Threshold Crossed".into(),
            muted_by: None,
            actions_suppressed_by: None,
        }
    }

    fn canary(failures: u32, probes: u32) -> CanaryReport {
        CanaryReport {
            app: "shop".into(),
            probed_region: "us-east-1".into(),
            failures,
            probes,
            at: datetime!(2026-11-22 03:00 UTC),
            evidence: vec!["https://use1.shop.example.com/healthz: timeout".into()],
        }
    }

    #[test]
    fn table_of_alarm_events() {
        use AlarmState::*;
        let plan = plan();
        let cases: Vec<(&str, AlarmChange, Option<&str>)> = vec![
            ("OK -> ALARM acts", alarm(Alarm, Some(Ok)), None),
            (
                "INSUFFICIENT -> ALARM acts",
                alarm(Alarm, Some(InsufficientData)),
                None,
            ),
            ("no previous state -> ALARM acts", alarm(Alarm, None), None),
            (
                "ALARM -> OK",
                alarm(Ok, Some(Alarm)),
                Some("not_into_alarm"),
            ),
            (
                "OK -> INSUFFICIENT",
                alarm(InsufficientData, Some(Ok)),
                Some("not_into_alarm"),
            ),
            (
                "ALARM -> ALARM",
                alarm(Alarm, Some(Alarm)),
                Some("already_in_alarm"),
            ),
            (
                "other alarm",
                AlarmChange {
                    alarm_name: "cpu-high".into(),
                    ..alarm(Alarm, Some(Ok))
                },
                Some("not_a_plan_alarm"),
            ),
            (
                "configuration change",
                AlarmChange {
                    detail_type: "CloudWatch Alarm Configuration Change".into(),
                    ..alarm(Alarm, Some(Ok))
                },
                Some("not_a_state_change"),
            ),
            (
                "contributor change",
                AlarmChange {
                    detail_type: "CloudWatch Alarm Contributor State Change".into(),
                    ..alarm(Alarm, Some(Ok))
                },
                Some("not_a_state_change"),
            ),
            (
                "muted",
                AlarmChange {
                    muted_by: Some("maintenance-window".into()),
                    ..alarm(Alarm, Some(Ok))
                },
                Some("muted"),
            ),
            (
                "suppressed",
                AlarmChange {
                    actions_suppressed_by: Some("WaitPeriod".into()),
                    ..alarm(Alarm, Some(Ok))
                },
                Some("actions_suppressed"),
            ),
        ];
        for (name, change, want) in cases {
            let got = classify(
                &plan,
                "us-west-2",
                &Observation::Alarm(change),
                datetime!(2026-11-22 03:00 UTC),
            );
            let reason = got.as_ref().err().map(|e| {
                serde_json::to_value(e).expect("json")["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            });
            assert_eq!(reason.as_deref(), want, "{name}: {got:?}");
        }
    }

    #[test]
    fn table_of_canary_reports() {
        let plan = plan();
        let wrong_app = CanaryReport {
            app: "blog".into(),
            ..canary(5, 5)
        };
        let wrong_region = CanaryReport {
            probed_region: "us-west-2".into(),
            ..canary(5, 5)
        };
        let at = canary(5, 5).at;
        let an_hour_old = CanaryReport {
            at: at - time::Duration::hours(1),
            ..canary(5, 5)
        };
        let from_the_future = CanaryReport {
            at: at + time::Duration::seconds(CANARY_SKEW_SECONDS + 1),
            ..canary(5, 5)
        };
        let a_little_skewed = CanaryReport {
            at: at - time::Duration::seconds(CANARY_SKEW_SECONDS),
            ..canary(5, 5)
        };
        let cases = [
            (canary(3, 5), true),
            (canary(5, 5), true),
            (canary(2, 5), false),
            (canary(0, 0), false),
            (canary(6, 5), false),
            (wrong_app, false),
            (wrong_region, false),
            (an_hour_old, false),
            (from_the_future, false),
            (a_little_skewed, true),
        ];
        for (report, acts) in cases {
            let got = classify(&plan, "us-west-2", &Observation::Canary(report.clone()), at);
            assert_eq!(got.is_ok(), acts, "{report:?}: {got:?}");
        }
    }

    #[test]
    fn other_events_are_never_triggers() {
        let got = classify(
            &plan(),
            "us-west-2",
            &Observation::Other {
                source: "aws.cloudwatch".into(),
                detail_type: "CloudWatch Alarm Configuration Change".into(),
            },
            datetime!(2026-11-22 03:00 UTC),
        );
        assert_eq!(
            got.expect_err("ignored").to_string(),
            "'CloudWatch Alarm Configuration Change' events from 'aws.cloudwatch' never start a run"
        );
    }

    #[test]
    fn reasons_read_well() {
        let e = NotActionable::Muted {
            alarm: "a".into(),
            muted_by: "mute-rule/deploys".into(),
        };
        assert_eq!(
            e.to_string(),
            "alarm 'a' is muted by mute-rule/deploys; lifeboat saw it and did not act"
        );
    }
}
