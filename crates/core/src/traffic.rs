//! Traffic: which records, health checks or routing controls a flip into a region sets, in the
//! plan's traffic mode. Executed by dns-flip, rendered by the CLI's dry runs; the rule lives here
//! only.

use crate::error::Result;
use crate::plan::{ArcClusterEndpoint, TrafficMode, ValidPlan};
use crate::ports::RecordValue;

/// A health check or routing control and the state a flip gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// The health check id or routing control ARN.
    pub id: String,
    /// The region it sends traffic to.
    pub region: String,
    /// Whether it lets traffic go to its region: a health check not inverted, a routing
    /// control `On`.
    pub on: bool,
}

/// The records one hosted zone must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRecords {
    pub zone_id: String,
    pub records: Vec<RecordValue>,
}

/// What a flip into a region sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Flip {
    /// `record_upsert`: each zone's records, one atomic batch per zone.
    Records(Vec<ZoneRecords>),
    /// `health_check`: the target's checks restored first, then the other region's inverted
    /// (never both down).
    HealthChecks(Vec<Switch>),
    /// `routing_control`: the target's controls `On` and the other's `Off`, in one update,
    /// through the first cluster endpoint that answers.
    RoutingControls {
        controls: Vec<Switch>,
        endpoints: Vec<ArcClusterEndpoint>,
    },
}

/// What a flip of `plan`'s traffic into `target` sets.
pub fn flip_into(plan: &ValidPlan, target: &str) -> Result<Flip> {
    let into = &plan.region(target)?.traffic;
    let other = plan.other_region(target)?;
    let away = &plan.region(other)?.traffic;
    let switches = |on: &[String], off: &[String]| -> Vec<Switch> {
        let set = |ids: &[String], region: &str, on: bool| {
            ids.iter()
                .map(|id| Switch {
                    id: id.clone(),
                    region: region.to_string(),
                    on,
                })
                .collect::<Vec<_>>()
        };
        let mut all = set(on, target, true);
        all.extend(set(off, other, false));
        all
    };
    Ok(match plan.traffic().mode {
        TrafficMode::RecordUpsert => Flip::Records(
            into.hosted_zones
                .iter()
                .map(|zone| ZoneRecords {
                    zone_id: zone.zone_id.clone(),
                    records: zone
                        .records
                        .iter()
                        .map(|r| RecordValue {
                            name: r.name.clone(),
                            record_type: r.record_type.clone(),
                            ttl: r.ttl,
                            values: r.values.clone(),
                        })
                        .collect(),
                })
                .collect(),
        ),
        TrafficMode::HealthCheck => {
            Flip::HealthChecks(switches(&into.health_check_ids, &away.health_check_ids))
        }
        TrafficMode::RoutingControl => Flip::RoutingControls {
            controls: switches(&into.routing_control_arns, &away.routing_control_arns),
            endpoints: plan.traffic().arc_cluster_endpoints.clone(),
        },
    })
}

/// Whether a record set already reads as wanted: same type and TTL, the same values in any
/// order, case and trailing dot aside (as Route 53 answers them).
pub fn same_record(a: &RecordValue, b: &RecordValue) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v
            .iter()
            .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        v.sort();
        v
    };
    a.ttl == b.ttl && a.record_type == b.record_type && norm(&a.values) == norm(&b.values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = include_str!("../../../examples/plan.yaml");

    #[test]
    fn a_routing_control_flip_turns_the_target_on_before_the_other_off() {
        let plan = ValidPlan::parse(PLAN).expect("the example plan is valid");
        let Flip::RoutingControls {
            controls,
            endpoints,
        } = flip_into(&plan, "us-west-2").expect("flip")
        else {
            panic!("the example plan uses routing controls")
        };
        let west = &plan.region("us-west-2").expect("west").traffic;
        let east = &plan.region("us-east-1").expect("east").traffic;
        assert_eq!(
            controls.len(),
            west.routing_control_arns.len() + east.routing_control_arns.len()
        );
        assert!(
            controls[..west.routing_control_arns.len()]
                .iter()
                .all(|s| s.on && s.region == "us-west-2")
        );
        assert!(
            controls[west.routing_control_arns.len()..]
                .iter()
                .all(|s| !s.on && s.region == "us-east-1")
        );
        assert_eq!(endpoints, plan.traffic().arc_cluster_endpoints);
        assert!(flip_into(&plan, "eu-west-1").is_err());
    }

    #[test]
    fn records_compare_as_route_53_answers_them() {
        let r = |values: &[&str]| RecordValue {
            name: "www.shop.example.com".into(),
            record_type: "CNAME".into(),
            ttl: 60,
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        assert!(same_record(
            &r(&["USW2.shop.example.com."]),
            &r(&["usw2.shop.example.com"])
        ));
        assert!(!same_record(
            &r(&["use1.shop.example.com"]),
            &r(&["usw2.shop.example.com"])
        ));
    }
}
