//! A run's timeline: each step's start and end, the RTO (trigger to traffic verified in the
//! target) and the RPO estimate (replication lag at promotion).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ended_at: Option<OffsetDateTime>,
    /// `ok`, or what went wrong.
    pub outcome: Option<String>,
}

impl Step {
    pub fn duration(&self) -> Option<Duration> {
        let d = self.ended_at? - self.started_at;
        Duration::try_from(d).ok()
    }
}

/// The timeline of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    #[serde(with = "time::serde::rfc3339")]
    pub triggered_at: OffsetDateTime,
    pub steps: Vec<Step>,
    /// When traffic was verified in the target region.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub verified_at: Option<OffsetDateTime>,
    /// Replication lag at promotion, seconds (0 for a switchover).
    pub rpo_estimate_seconds: Option<f64>,
}

impl Timeline {
    pub fn new(triggered_at: OffsetDateTime) -> Self {
        Self {
            triggered_at,
            steps: Vec::new(),
            verified_at: None,
            rpo_estimate_seconds: None,
        }
    }

    pub fn start(&mut self, name: &str, at: OffsetDateTime) {
        self.steps.push(Step {
            name: name.to_string(),
            started_at: at,
            ended_at: None,
            outcome: None,
        });
    }

    /// End the most recent open step called `name`; `false` when there is none.
    pub fn finish(&mut self, name: &str, at: OffsetDateTime, outcome: &str) -> bool {
        match self
            .steps
            .iter_mut()
            .rev()
            .find(|s| s.name == name && s.ended_at.is_none())
        {
            Some(step) => {
                step.ended_at = Some(at);
                step.outcome = Some(outcome.to_string());
                true
            }
            None => false,
        }
    }

    /// Steps begun and not ended: what a failure left half-done.
    pub fn open_steps(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|s| s.ended_at.is_none())
            .map(|s| s.name.as_str())
            .collect()
    }

    /// Trigger to traffic verified in the target.
    pub fn rto(&self) -> Option<Duration> {
        Duration::try_from(self.verified_at? - self.triggered_at).ok()
    }
}

/// The step a state belongs to: the part of its name before `": "` (`"Database: status"` is
/// step `Database`), or the whole name.
pub fn step_of(state: &str) -> &str {
    state.split_once(": ").map_or(state, |(step, _)| step)
}

impl Timeline {
    /// A timeline from a workflow's state events: one step per group of states (see [`step_of`]),
    /// from the first entry to the last exit of its states; a step with a state entered and
    /// never left stays open (what a failure left half-done). `skip` names steps to leave out
    /// (the recording steps themselves). Steps are ordered by their start.
    pub fn from_state_events(
        triggered_at: OffsetDateTime,
        events: &[crate::ports::StateEvent],
        skip: &[&str],
    ) -> Self {
        struct Acc {
            started_at: OffsetDateTime,
            ended_at: Option<OffsetDateTime>,
            open: i64,
        }
        let mut order: Vec<String> = Vec::new();
        let mut steps: std::collections::HashMap<String, Acc> = std::collections::HashMap::new();
        for e in events {
            let name = step_of(&e.state);
            if skip.contains(&name) {
                continue;
            }
            let acc = steps.entry(name.to_string()).or_insert_with(|| {
                order.push(name.to_string());
                Acc {
                    started_at: e.at,
                    ended_at: None,
                    open: 0,
                }
            });
            if e.entered {
                acc.open += 1;
                acc.started_at = acc.started_at.min(e.at);
            } else {
                acc.open -= 1;
                acc.ended_at = Some(acc.ended_at.map_or(e.at, |t| t.max(e.at)));
            }
        }
        let mut out = Timeline::new(triggered_at);
        for name in order {
            if let Some(acc) = steps.remove(&name) {
                let done = acc.open <= 0 && acc.ended_at.is_some();
                out.steps.push(Step {
                    name,
                    started_at: acc.started_at,
                    ended_at: if done { acc.ended_at } else { None },
                    outcome: done.then(|| "ok".to_string()),
                });
            }
        }
        out.steps.sort_by_key(|s| s.started_at);
        out
    }

    /// The step called `name`, if the run reached it.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StateEvent;
    use time::macros::datetime;

    fn ev(state: &str, entered: bool, secs: i64) -> StateEvent {
        StateEvent {
            state: state.into(),
            entered,
            at: datetime!(2026-11-22 03:00 UTC) + time::Duration::seconds(secs),
        }
    }

    #[test]
    fn steps_group_states_and_a_state_never_left_stays_open() {
        // GIVEN a history with a polling loop, a parallel pair and a step that never ended
        let events = [
            ev("Assess", true, 1),
            ev("Assess", false, 2),
            ev("Database: start", true, 3),
            ev("Compute: start", true, 3),
            ev("Database: start", false, 4),
            ev("Compute: start", false, 4),
            ev("Database: status", true, 5),
            ev("Database: status", false, 6),
            ev("Database: status", true, 9),
            ev("Database: status", false, 10),
            ev("Compute: status", true, 7),
            ev("Compute: status", false, 8),
            ev("Traffic: shift", true, 11),
            ev("Record", true, 12),
        ];
        // WHEN the timeline is built
        let tl = Timeline::from_state_events(datetime!(2026-11-22 03:00 UTC), &events, &["Record"]);
        // THEN one step per group, spanning first entry to last exit, ordered by start
        let names: Vec<&str> = tl.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Assess", "Database", "Compute", "Traffic"]);
        let db = tl.step("Database").expect("database step");
        assert_eq!(db.duration(), Some(std::time::Duration::from_secs(7)));
        assert_eq!(
            tl.step("Compute").and_then(Step::duration),
            Some(std::time::Duration::from_secs(5))
        );
        assert_eq!(tl.open_steps(), ["Traffic"]);
        assert_eq!(step_of("Database: status"), "Database");
        assert_eq!(step_of("Verify"), "Verify");
    }

    #[test]
    fn rto_runs_from_trigger_to_verification() {
        let t0 = datetime!(2026-11-22 03:00 UTC);
        let mut tl = Timeline::new(t0);
        tl.start("promote", t0 + time::Duration::seconds(5));
        tl.start("scale-up", t0 + time::Duration::seconds(5));
        assert!(tl.finish("promote", t0 + time::Duration::seconds(65), "ok"));
        assert_eq!(tl.open_steps(), ["scale-up"]);
        assert!(!tl.finish("dns", t0, "ok"), "no such step");
        assert_eq!(tl.rto(), None);
        tl.verified_at = Some(t0 + time::Duration::seconds(90));
        assert_eq!(tl.rto(), Some(Duration::from_secs(90)));
        assert_eq!(tl.steps[0].duration(), Some(Duration::from_secs(60)));
    }
}
