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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
