//! The canary's rule and its cadence: when does health-probe report the other region down?
//!
//! The plan's rule (`triggers.canary`) is *k of the last n probe rounds failed*. health-probe
//! judges it after every round ([`Window`]), so a run can start the moment it is reached, and
//! keeps probing for more than a minute ([`Cadence`]): a round every `interval` (9 s, so that
//! three rounds and a dark endpoint's 2 s timeout fit in 30 s; Route 53's fast health checks
//! probe every 10 s and count 3 failures), each invocation watching a little more than the
//! schedule's minute so that the next one overlaps it. An outage is then reported within
//! `k × interval` of its first second, plus one probe's time ([`detection_seconds`]), whatever
//! second of the minute it starts in. What never reports: a single failed round, a slow
//! answer within the endpoint's timeout (a success), an endpoint that fails fewer than k of any n
//! rounds in a row (flapping below the rule), silence (no canary runs: no report at all).

use std::collections::VecDeque;

use crate::plan::CanaryPlan;

/// The canary's schedule and cadence (infra/template.yaml: `CanarySchedule`, health-probe's
/// `LIFEBOAT_PROBE_INTERVAL_MS` and `LIFEBOAT_CANARY_WATCH_MS`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cadence {
    /// Seconds between two invocations (EventBridge Scheduler `rate(1 minute)`: 60).
    pub schedule_seconds: f64,
    /// Seconds between two probe rounds within an invocation.
    pub interval_seconds: f64,
    /// How long an invocation keeps starting rounds (it always probes `n` rounds at least).
    pub watch_seconds: f64,
}

/// The template's cadence: a minute's schedule, a round every 9 s, each invocation watching
/// 72 s (nine rounds), so consecutive invocations overlap by 12 s: an outage starting just
/// after a round still has its three rounds in one invocation.
pub const DEFAULT_CADENCE: Cadence = Cadence {
    schedule_seconds: 60.0,
    interval_seconds: 9.0,
    watch_seconds: 72.0,
};

/// The last `n` rounds of one invocation; reached once `k` of them failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    required: u32,
    of: u32,
    recent: VecDeque<bool>,
    worst: u32,
}

impl Window {
    pub fn new(rule: &CanaryPlan) -> Self {
        Self {
            required: rule.failures_required,
            of: rule.of_probes,
            recent: VecDeque::new(),
            worst: 0,
        }
    }

    /// Record one round (`failed`: any endpoint failed it). True once the rule is reached.
    pub fn record(&mut self, failed: bool) -> bool {
        self.recent.push_back(failed);
        while self.recent.len() > self.of as usize {
            self.recent.pop_front();
        }
        let failures = self.failures();
        self.worst = self.worst.max(failures);
        self.reached()
    }

    /// Whether `k` of the last `n` rounds failed.
    pub fn reached(&self) -> bool {
        self.required > 0 && self.failures() >= self.required
    }

    /// Failed rounds among the last `n`.
    pub fn failures(&self) -> u32 {
        u32::try_from(self.recent.iter().filter(|f| **f).count()).unwrap_or(u32::MAX)
    }

    /// The most failed rounds any `n` consecutive rounds of this invocation held (what the
    /// canary's metric reports: the alarm path's evidence).
    pub fn worst(&self) -> u32 {
        self.worst
    }

    /// `n`, the rounds the rule considers.
    pub fn of(&self) -> u32 {
        self.of
    }
}

/// How many rounds an invocation starts within its watch (never fewer than the rule's `n`).
pub fn rounds(rule: &CanaryPlan, cadence: &Cadence) -> u32 {
    let by_watch = if cadence.interval_seconds > 0.0 {
        // floor(watch / interval) + 1 rounds start at 0, interval, ... <= watch
        let n = (cadence.watch_seconds / cadence.interval_seconds).floor() + 1.0;
        if n.is_finite() && n >= 1.0 && n < f64::from(u32::MAX) {
            n as u32
        } else {
            1
        }
    } else {
        1
    };
    by_watch.max(rule.of_probes)
}

/// Seconds from an outage's first second (`outage_at`, on the schedule's clock: invocations
/// start at 0, `schedule`, 2 × `schedule`, ...) to the canary's report, when every round that
/// starts at or after it fails and its failure is known `probe_seconds` after the round starts
/// (a dark endpoint's timeout, or an error's few milliseconds); rounds before it pass. `None`
/// when the rule cannot be reached (k = 0 or k > n).
pub fn detection_seconds(
    rule: &CanaryPlan,
    cadence: &Cadence,
    outage_at: f64,
    probe_seconds: f64,
) -> Option<f64> {
    if rule.failures_required == 0 || rule.failures_required > rule.of_probes {
        return None;
    }
    let per = rounds(rule, cadence);
    let span = f64::from(per.saturating_sub(1)) * cadence.interval_seconds;
    let first = ((outage_at - span) / cadence.schedule_seconds)
        .floor()
        .max(0.0);
    let mut best: Option<f64> = None;
    // invocations that can see the outage: those running at it, and the next few
    let mut m = first;
    while m <= first + 2.0 + (span / cadence.schedule_seconds).ceil() {
        let start = m * cadence.schedule_seconds;
        let mut window = Window::new(rule);
        for i in 0..per {
            let at = start + f64::from(i) * cadence.interval_seconds;
            let failed = at >= outage_at;
            if window.record(failed) {
                let reported = at + probe_seconds - outage_at;
                best = Some(best.map_or(reported, |b: f64| b.min(reported)));
                break;
            }
        }
        m += 1.0;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: CanaryPlan = CanaryPlan {
        failures_required: 3,
        of_probes: 5,
    };

    fn run(rule: &CanaryPlan, rounds: &[bool]) -> Option<usize> {
        let mut w = Window::new(rule);
        rounds.iter().position(|f| w.record(*f))
    }

    #[test]
    fn the_rule_is_reached_the_round_k_of_the_last_n_failed() {
        // F F . F: the third failure, the fourth round
        assert_eq!(run(&RULE, &[true, true, false, true, false]), Some(3));
        assert_eq!(run(&RULE, &[true, true, true]), Some(2));
    }

    #[test]
    fn a_single_failed_round_never_reports() {
        let mut rounds = vec![false; 20];
        rounds[7] = true;
        assert_eq!(run(&RULE, &rounds), None);
    }

    #[test]
    fn an_endpoint_flapping_below_the_rule_never_reports() {
        // down one round in three, for as long as it lasts: at most 2 of any 5 rounds
        let rounds: Vec<bool> = (0..60).map(|i| i % 3 == 0).collect();
        assert_eq!(run(&RULE, &rounds), None);
        let mut w = Window::new(&RULE);
        for f in &rounds {
            w.record(*f);
        }
        assert_eq!(w.worst(), 2);
    }

    #[test]
    fn failures_older_than_n_rounds_do_not_count() {
        // F F, then 3 passes, then F: never 3 within 5
        assert_eq!(run(&RULE, &[true, true, false, false, false, true]), None);
    }

    #[test]
    fn an_invocation_probes_its_watch_and_never_fewer_than_n_rounds() {
        assert_eq!(rounds(&RULE, &DEFAULT_CADENCE), 9);
        let short = Cadence {
            watch_seconds: 0.0,
            ..DEFAULT_CADENCE
        };
        assert_eq!(rounds(&RULE, &short), 5);
    }

    #[test]
    fn any_second_of_the_minute_is_detected_within_k_intervals_and_one_probe() {
        for tenth in 0..1200 {
            let at = f64::from(tenth) / 10.0 + 0.05;
            let d = detection_seconds(&RULE, &DEFAULT_CADENCE, at, 1.0).expect("detected");
            // at most k intervals after its first second (the next round, then two more), plus
            // the probe; at least k - 1 intervals
            assert!(d <= 3.0 * 9.0 + 1.0 + 1e-9, "outage at {at}: {d}");
            assert!(d >= 2.0 * 9.0 + 1.0 - 1e-9, "outage at {at}: {d}");
        }
    }

    #[test]
    fn without_overlap_an_outage_late_in_the_minute_waits_for_the_next_invocation() {
        // the old cadence: 5 rounds 2 s apart, once a minute
        let old = Cadence {
            schedule_seconds: 60.0,
            interval_seconds: 2.0,
            watch_seconds: 0.0,
        };
        let d = detection_seconds(&RULE, &old, 10.0, 0.0).expect("detected");
        assert!((d - 54.0).abs() < 1e-9, "{d}");
    }

    #[test]
    fn an_unreachable_rule_never_detects() {
        let never = CanaryPlan {
            failures_required: 6,
            of_probes: 5,
        };
        assert_eq!(detection_seconds(&never, &DEFAULT_CADENCE, 3.0, 0.0), None);
    }
}
