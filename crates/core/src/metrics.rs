//! lifeboat's own CloudWatch metrics: the namespace, each metric and dimension name, and the
//! Embedded Metric Format line the functions print them in. Written by health-probe (the
//! canary) and readiness, read by the CloudWatch adapter (home's health history) and alarmed on
//! in `infra/template.yaml`; the names are spelled here only.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The namespace of every lifeboat metric.
pub const NAMESPACE: &str = "Lifeboat";

/// Dimension: the plan's application.
pub const DIM_APP: &str = "App";
/// Dimension of the canary's metrics: the region whose endpoints were probed.
pub const DIM_PROBED_REGION: &str = "ProbedRegion";
/// Dimension of the readiness metrics: the region a failover would go into.
pub const DIM_REGION: &str = "Region";

/// Canary: probes of the primary that failed in one invocation.
pub const PRIMARY_PROBE_FAILURES: &str = "PrimaryProbeFailures";
/// Canary: probes made in one invocation.
pub const PROBES: &str = "Probes";
/// Canary: 1 when every probe of the invocation passed, else 0.
pub const PRIMARY_HEALTHY: &str = "PrimaryHealthy";

/// Readiness: critical findings.
pub const READINESS_CRITICAL: &str = "ReadinessCritical";
/// Readiness: warnings.
pub const READINESS_WARNINGS: &str = "ReadinessWarnings";
/// Readiness: 1 when nothing is critical.
pub const READY: &str = "Ready";

/// A metric's CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::None => "None",
        }
    }
}

/// One Embedded Metric Format line (CloudWatch Logs turns it into metrics): the dimensions with
/// their values, then each metric with its unit and value, at `at`.
pub fn emf(
    at: OffsetDateTime,
    dimensions: &[(&str, &str)],
    metrics: &[(&str, Unit, u64)],
) -> String {
    let millis = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": metrics
                    .iter()
                    .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
                    .collect::<Vec<_>>(),
            }]
        }),
    );
    for (name, value) in dimensions {
        line.insert((*name).to_string(), Value::from(*value));
    }
    for (name, _, value) in metrics {
        line.insert((*name).to_string(), Value::from(*value));
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_its_metrics_and_carries_their_values() {
        let at = time::macros::datetime!(2026-11-22 03:00 UTC);
        let line = emf(
            at,
            &[(DIM_APP, "shop"), (DIM_PROBED_REGION, "us-east-1")],
            &[
                (PRIMARY_PROBE_FAILURES, Unit::Count, 2),
                (PRIMARY_HEALTHY, Unit::None, 0),
            ],
        );
        let v: Value = serde_json::from_str(&line).expect("json");
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], NAMESPACE);
        assert_eq!(declared["Dimensions"], json!([["App", "ProbedRegion"]]));
        assert_eq!(
            declared["Metrics"],
            json!([{"Name": "PrimaryProbeFailures", "Unit": "Count"},
                   {"Name": "PrimaryHealthy", "Unit": "None"}])
        );
        assert_eq!(v["_aws"]["Timestamp"], at.unix_timestamp() * 1000);
        assert_eq!(v["App"], "shop");
        assert_eq!(v["ProbedRegion"], "us-east-1");
        assert_eq!(v["PrimaryProbeFailures"], 2);
        assert_eq!(v["PrimaryHealthy"], 0);
    }
}
