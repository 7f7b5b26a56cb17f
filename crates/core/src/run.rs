//! Run identity, the create-only run lock, and the recorded run state.
//!
//! * A run's id (also its Step Functions execution name) is derived from the app, the target
//!   region and the incident window, so every event of one incident names the same run.
//! * The lock is an SSM parameter created with `Overwrite=false`: exactly one creator wins.
//! * The run state records the active region, an epoch that increases with each completed
//!   shift, and the last run.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// A run's id; also its Step Functions execution name (`[A-Za-z0-9-_]`, at most 80).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// The run for the incident window containing `at`.
    pub fn for_incident(
        app: &str,
        target_region: &str,
        at: OffsetDateTime,
        window_secs: u32,
    ) -> RunId {
        let window = i64::from(window_secs.max(1));
        let start = at.unix_timestamp().div_euclid(window) * window;
        RunId(format!("{app}-to-{target_region}-{start}"))
    }

    /// The failback home for the incident window containing `at`
    /// (`<app>-back-to-<home>-<window start>`).
    pub fn for_failback(app: &str, home: &str, at: OffsetDateTime, window_secs: u32) -> RunId {
        let window = i64::from(window_secs.max(1));
        let start = at.unix_timestamp().div_euclid(window) * window;
        RunId(format!("{app}-back-to-{home}-{start}"))
    }

    /// A run an operator asked for: its own id, never an incident window's
    /// (`<app>-to-<target>-<unix seconds>-op`), so that an earlier incident's run, its lock or
    /// its closed execution never stands in for it.
    pub fn for_operator(app: &str, target_region: &str, at: OffsetDateTime) -> RunId {
        RunId(format!(
            "{app}-to-{target_region}-{}-op",
            at.unix_timestamp()
        ))
    }

    /// Attempt `n` (2, 3, ...) of this run: a new run under a distinct name, used when an
    /// execution of the same name exists already and has ended (a closed execution's name can
    /// never be started again).
    pub fn attempt(&self, n: u32) -> RunId {
        let base = self
            .0
            .rsplit_once("-a")
            .map_or(self.0.as_str(), |(b, tail)| {
                if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) {
                    b
                } else {
                    self.0.as_str()
                }
            });
        RunId(format!("{base}-a{n}"))
    }

    /// Parse an id given as input, checking the execution-name rules.
    pub fn parse(s: &str) -> Result<RunId> {
        let ok = !s.is_empty()
            && s.len() <= 80
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(RunId(s.to_string()))
        } else {
            Err(Error::invalid_input(format!(
                "run id must be 1-80 characters of letters, digits, '-' and '_'; got {} characters",
                s.chars().count()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the lock parameter holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub run_id: RunId,
    pub target_region: String,
    #[serde(with = "time::serde::rfc3339")]
    pub acquired_at: OffsetDateTime,
    /// The execution that holds the lease (renewed by a resumed execution's Assess). Locks
    /// written before leases existed name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
}

/// How long a lock may name no existing execution before it is stale: a start in progress
/// takes seconds, never minutes.
pub const LOCK_GRACE_SECONDS: i64 = 300;

/// Whether a lock still protects a running execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "lease", rename_all = "snake_case")]
pub enum Lease {
    /// Its execution runs (or is being started, within the grace period).
    Live,
    /// Nothing runs under it: reported, and taken over by the next legitimate run.
    Stale { why: String },
}

/// The lease rule: a lock is live while its execution is RUNNING; a lock whose execution has
/// closed, or that names no existing execution [`LOCK_GRACE_SECONDS`] after it was taken, is
/// stale. `execution`: the status of the lock's execution (`None`: no such execution, or the
/// lock names none).
pub fn lease(
    lock: &LockRecord,
    execution: Option<crate::ports::ExecutionStatus>,
    now: OffsetDateTime,
) -> Lease {
    match execution {
        Some(s) if s.is_running() => Lease::Live,
        Some(s) => Lease::Stale {
            why: format!(
                "the lock of run {} is held by an execution that has ended ({s})",
                lock.run_id
            ),
        },
        None => {
            let age = (now - lock.acquired_at).whole_seconds();
            if age > LOCK_GRACE_SECONDS {
                Lease::Stale {
                    why: format!(
                        "the lock of run {} names no running execution {} s after it was taken",
                        lock.run_id, age
                    ),
                }
            } else {
                Lease::Live
            }
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Succeeded,
    Failed,
    Aborted,
}

/// The last run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    pub run_id: RunId,
    pub target_region: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ended_at: Option<OffsetDateTime>,
    pub outcome: Option<RunOutcome>,
}

/// The recorded state of an app: which region is active, and the last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    pub active_region: String,
    /// Increases by one with every completed traffic shift.
    pub epoch: u64,
    pub last_run: Option<LastRun>,
}

/// Which way a run moves the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Into the region of the copy that runs it, away from a failing primary.
    #[default]
    Failover,
    /// A planned switchover back home (the plan's primary region), from the copy that runs it.
    Failback,
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunKind::Failover => "failover",
            RunKind::Failback => "failback",
        })
    }
}

/// What alarm-to-failover hands the failover state machine: the contract between the decision
/// and the workflow (`$.run` in the execution input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Failover (the default, also for requests written before failback existed) or failback.
    #[serde(default)]
    pub kind: RunKind,
    pub app: String,
    pub run_id: RunId,
    pub source_region: String,
    pub target_region: String,
    /// Where the functions read the plan.
    pub plan_parameter: String,
    pub trigger: crate::trigger::Trigger,
    pub promotion: crate::decision::PromotionMode,
    pub approval: crate::decision::Approval,
    /// The readiness snapshot the decision was made on (evidence for the approver).
    pub readiness: crate::decision::Readiness,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

// SSM parameter names for an app: `crate::params`, the one place each is spelled.
pub use crate::params::{
    lock as lock_parameter, notice as notice_parameter, state as state_parameter,
};

/// Decode a JSON document stored in a parameter, naming the parameter on failure.
pub fn decode<T: serde::de::DeserializeOwned>(parameter: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::internal(format!(
            "parameter {parameter} does not hold what lifeboat wrote: {e}"
        ))
    })
}

pub fn encode<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn events_of_one_window_share_a_run() {
        let a = RunId::for_incident("shop", "us-west-2", datetime!(2026-11-22 03:00:01 UTC), 900);
        let b = RunId::for_incident("shop", "us-west-2", datetime!(2026-11-22 03:14:59 UTC), 900);
        let c = RunId::for_incident("shop", "us-west-2", datetime!(2026-11-22 03:15:00 UTC), 900);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(RunId::parse(a.as_str()).is_ok());
    }

    #[test]
    fn an_attempt_and_an_operators_run_have_their_own_valid_names() {
        let base = RunId::for_incident("shop", "us-west-2", datetime!(2026-11-22 03:00 UTC), 900);
        let a2 = base.attempt(2);
        assert_eq!(a2.as_str(), format!("{base}-a2"));
        assert_eq!(
            a2.attempt(3).as_str(),
            format!("{base}-a3"),
            "attempts do not stack"
        );
        let op = RunId::for_operator("shop", "us-west-2", datetime!(2026-11-22 03:00 UTC));
        assert_ne!(
            op, base,
            "an operator's run never shares an incident's name"
        );
        for id in [a2, op] {
            assert!(RunId::parse(id.as_str()).is_ok(), "{id}");
        }
        let longest = RunId::for_operator(
            &"a".repeat(32),
            "us-gov-southeast-1",
            datetime!(2099-12-31 23:59 UTC),
        );
        assert!(
            RunId::parse(longest.attempt(99).as_str()).is_ok(),
            "{longest}"
        );
    }

    #[test]
    fn a_lock_is_a_lease_on_a_running_execution() {
        use crate::ports::ExecutionStatus as S;
        let at = datetime!(2026-11-22 03:00 UTC);
        let lock = LockRecord {
            run_id: RunId("shop-to-us-west-2-1".into()),
            target_region: "us-west-2".into(),
            acquired_at: at,
            execution_arn: Some("arn:x".into()),
        };
        let later = at + time::Duration::hours(5);
        assert_eq!(lease(&lock, Some(S::Running), later), Lease::Live);
        for closed in [S::Succeeded, S::Failed, S::TimedOut, S::Aborted, S::Other] {
            assert!(
                matches!(lease(&lock, Some(closed), at), Lease::Stale { .. }),
                "{closed}"
            );
        }
        // no execution (yet): live while a start may be under way, stale after the grace
        assert_eq!(
            lease(
                &lock,
                None,
                at + time::Duration::seconds(LOCK_GRACE_SECONDS)
            ),
            Lease::Live
        );
        let Lease::Stale { why } = lease(
            &lock,
            None,
            at + time::Duration::seconds(LOCK_GRACE_SECONDS + 1),
        ) else {
            panic!("stale after the grace");
        };
        assert!(why.contains("names no running execution"), "{why}");
    }

    #[test]
    fn run_ids_are_valid_execution_names() {
        let longest = RunId::for_incident(
            &"a".repeat(32),
            "us-gov-southeast-1",
            datetime!(2099-12-31 23:59 UTC),
            60,
        );
        assert!(RunId::parse(longest.as_str()).is_ok(), "{longest}");
        for bad in ["", "a b", "x/y", &"a".repeat(81), "ünï"] {
            assert!(RunId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn state_round_trips_and_bad_state_names_the_parameter() {
        let state = RunState {
            active_region: "us-east-1".into(),
            epoch: 3,
            last_run: Some(LastRun {
                run_id: RunId("shop-to-us-west-2-1".into()),
                target_region: "us-west-2".into(),
                started_at: datetime!(2026-11-22 03:00 UTC),
                ended_at: None,
                outcome: None,
            }),
        };
        let text = encode(&state).expect("encode");
        assert_eq!(decode::<RunState>("/p", &text).expect("decode"), state);
        let err = decode::<RunState>("/lifeboat/shop/state", "{").expect_err("bad");
        assert!(err.to_string().contains("/lifeboat/shop/state"));
    }
}
