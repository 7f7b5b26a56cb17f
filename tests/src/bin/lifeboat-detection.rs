//! The canary's detection time at published durations, for `make bench`: outages starting at
//! `N` seconds spread evenly over a minute of the schedule, each detected by core's rule
//! ([`lifeboat_core::canary::detection_seconds`]) on the template's cadence and on the cadence
//! before it (5 probes 2 s apart, once a minute), for a primary that answers errors at once
//! and for one that does not answer (each probe waits the endpoint's timeout).
//!
//!     lifeboat-detection [N] [TIMEOUT_MS]
//!
//! Prints JSON: per case, every detection in seconds, their median and maximum.

#![allow(clippy::expect_used, clippy::print_stdout)]

use lifeboat_core::canary::{Cadence, DEFAULT_CADENCE, detection_seconds};
use lifeboat_core::plan::CanaryPlan;
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args
        .next()
        .map(|a| a.parse().expect("N is a count"))
        .unwrap_or(60);
    let timeout_ms: f64 = args
        .next()
        .map(|a| a.parse().expect("TIMEOUT_MS is a number"))
        .unwrap_or(2000.0);
    // the example plan's rule
    let rule = CanaryPlan {
        failures_required: 3,
        of_probes: 5,
    };
    let before = Cadence {
        schedule_seconds: 60.0,
        interval_seconds: 2.0,
        watch_seconds: 0.0,
    };
    let mut cases = serde_json::Map::new();
    for (name, cadence) in [("cadence", DEFAULT_CADENCE), ("before", before)] {
        for (answer, probe) in [("errors", 0.05), ("silent", timeout_ms / 1000.0)] {
            let mut d: Vec<f64> = (0..n)
                .map(|i| {
                    let at = (f64::from(i) + 0.5) * cadence.schedule_seconds / f64::from(n);
                    detection_seconds(&rule, &cadence, at, probe).expect("reachable rule")
                })
                .collect();
            d.sort_by(f64::total_cmp);
            let median = d[d.len() / 2];
            let max = d[d.len() - 1];
            cases.insert(
                format!("{name}_{answer}"),
                json!({"interval_seconds": cadence.interval_seconds,
                       "watch_seconds": cadence.watch_seconds,
                       "probe_seconds": probe, "median": median, "max": max,
                       "detections": d}),
            );
        }
    }
    println!(
        "{}",
        json!({"outages": n, "rule": {"failures_required": rule.failures_required,
                                      "of_probes": rule.of_probes}, "cases": cases})
    );
}
