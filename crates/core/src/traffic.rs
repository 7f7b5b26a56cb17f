//! Traffic: which records, health checks or routing controls a flip into a region sets, in the
//! plan's traffic mode. Executed by dns-flip, rendered by the CLI's dry runs; the rule lives here
//! only.

use crate::error::Result;
use crate::plan::{ArcClusterEndpoint, DnsProvider, RecordPlan, TrafficMode, ValidPlan};
use crate::ports::{DomainRecord, DomainRecords, RecordData, RecordValue, Secret};

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

/// The record sets one provider domain must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSets {
    pub domain: String,
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
    /// `digitalocean` or `linode`: each domain's record sets through the provider's API (with
    /// the token in the SecureString `token_parameter`), one record per value ([`reconcile`]).
    Domains {
        provider: DnsProvider,
        token_parameter: String,
        domains: Vec<DomainSets>,
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
    let values = |records: &[RecordPlan]| -> Vec<RecordValue> {
        records
            .iter()
            .map(|r| RecordValue {
                name: r.name.clone(),
                record_type: r.record_type.clone(),
                ttl: r.ttl,
                values: r.values.clone(),
            })
            .collect()
    };
    Ok(match plan.traffic().mode {
        TrafficMode::RecordUpsert => Flip::Records(
            into.hosted_zones
                .iter()
                .map(|zone| ZoneRecords {
                    zone_id: zone.zone_id.clone(),
                    records: values(&zone.records),
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
        TrafficMode::Digitalocean | TrafficMode::Linode => {
            let provider = plan.traffic().mode.dns_provider().ok_or_else(|| {
                crate::Error::internal("a provider's traffic mode names no provider")
            })?;
            Flip::Domains {
                provider,
                // A valid plan in this mode names it.
                token_parameter: provider
                    .api(plan.traffic())
                    .map(|api| api.token_parameter.clone())
                    .ok_or_else(|| {
                        crate::Error::invalid_input(format!(
                            "traffic.{}.token_parameter is missing",
                            provider.key()
                        ))
                    })?,
                domains: into
                    .domains
                    .iter()
                    .map(|d| DomainSets {
                        domain: d.domain.trim_end_matches('.').to_ascii_lowercase(),
                        records: values(&d.records),
                    })
                    .collect(),
            }
        }
    })
}

/// One request to a provider that keeps a record per value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOp {
    /// A record that held another value (or TTL) is set to this one.
    Update {
        id: String,
        data: RecordData,
    },
    Create {
        data: RecordData,
    },
    /// A record whose value the set no longer has.
    Delete {
        id: String,
    },
}

/// The requests that make the provider's records of one set (`current`: every record of
/// `wanted`'s name and type) read as `wanted`: records that already hold a wanted value with
/// the wanted TTL stay; the others are updated to the values still missing, then what is still
/// missing is created, and what is left over deleted. Updates come first so the name keeps
/// answering throughout; nothing is sent for a set that already reads as wanted.
pub fn reconcile(current: &[DomainRecord], wanted: &RecordValue) -> Vec<RecordOp> {
    let name = wanted.name.trim_end_matches('.').to_ascii_lowercase();
    let mut missing: Vec<&String> = Vec::new();
    let mut kept = vec![false; current.len()];
    for value in &wanted.values {
        let found = current.iter().enumerate().position(|(i, r)| {
            !kept[i]
                && r.data.ttl == wanted.ttl
                && same_value(&wanted.record_type, &r.data.value, value)
        });
        match found {
            Some(i) => kept[i] = true,
            None => missing.push(value),
        }
    }
    let data = |value: &String| RecordData {
        name: name.clone(),
        record_type: wanted.record_type.clone(),
        ttl: wanted.ttl,
        value: value.clone(),
    };
    let mut spare = current
        .iter()
        .zip(&kept)
        .filter(|(_, kept)| !**kept)
        .map(|(r, _)| r);
    let mut ops = Vec::new();
    let mut creates = Vec::new();
    for value in missing {
        match spare.next() {
            Some(r) => ops.push(RecordOp::Update {
                id: r.id.clone(),
                data: data(value),
            }),
            None => creates.push(RecordOp::Create { data: data(value) }),
        }
    }
    ops.extend(creates);
    ops.extend(spare.map(|r| RecordOp::Delete { id: r.id.clone() }));
    ops
}

/// Send `ops` ([`reconcile`]'s, in its order) for one domain; the first failure stops them and
/// is returned as it came.
pub async fn send<P: DomainRecords>(
    provider: &P,
    token: &Secret,
    domain: &str,
    ops: &[RecordOp],
) -> Result<()> {
    for op in ops {
        match op {
            RecordOp::Update { id, data } => {
                provider.update(token, domain, id, data).await?;
            }
            RecordOp::Create { data } => {
                provider.create(token, domain, data).await?;
            }
            RecordOp::Delete { id } => provider.delete(token, domain, id).await?,
        }
    }
    Ok(())
}

/// Whether a provider's records of a set read as `wanted` (values in any order).
pub fn domain_set_reads_as(current: &[DomainRecord], wanted: &RecordValue) -> bool {
    reconcile(current, wanted).is_empty()
}

/// One value against another as DNS compares them: names and addresses a trailing dot and
/// letter case aside; a text exactly.
fn same_value(record_type: &str, a: &str, b: &str) -> bool {
    if record_type == "TXT" {
        return a == b;
    }
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
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

    fn rec(id: &str, ttl: u32, value: &str) -> DomainRecord {
        DomainRecord {
            id: id.into(),
            data: RecordData {
                name: "www.shop.example.com".into(),
                record_type: "A".into(),
                ttl,
                value: value.into(),
            },
        }
    }

    fn set(values: &[&str]) -> RecordValue {
        RecordValue {
            name: "www.shop.example.com.".into(),
            record_type: "A".into(),
            ttl: 60,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    /// Issue 22 item 5: a provider with a record per value gets updates first (the name keeps
    /// answering), then creates, then deletes; a set that already reads as planned gets nothing.
    #[test]
    fn a_record_per_value_set_is_reconciled_updates_first_and_nothing_when_already_set() {
        let current = [rec("1", 60, "192.0.2.1"), rec("2", 60, "192.0.2.2")];
        assert_eq!(
            reconcile(&current, &set(&["192.0.2.2", "192.0.2.1"])),
            vec![]
        );
        assert!(domain_set_reads_as(
            &current,
            &set(&["192.0.2.1", "192.0.2.2"])
        ));

        let data = |v: &str| RecordData {
            name: "www.shop.example.com".into(),
            record_type: "A".into(),
            ttl: 60,
            value: v.into(),
        };
        // One value kept, one replaced, one added.
        let ops = reconcile(
            &current,
            &set(&["192.0.2.2", "198.51.100.7", "198.51.100.8"]),
        );
        assert_eq!(
            ops,
            vec![
                RecordOp::Update {
                    id: "1".into(),
                    data: data("198.51.100.7")
                },
                RecordOp::Create {
                    data: data("198.51.100.8")
                },
            ]
        );
        // Fewer values: the surplus record goes last.
        let ops = reconcile(&current, &set(&["198.51.100.7"]));
        assert_eq!(
            ops,
            vec![
                RecordOp::Update {
                    id: "1".into(),
                    data: data("198.51.100.7")
                },
                RecordOp::Delete { id: "2".into() },
            ]
        );
        // A TTL that differs is a change; nothing there yet is all creates.
        let ops = reconcile(&[rec("1", 300, "192.0.2.1")], &set(&["192.0.2.1"]));
        assert_eq!(
            ops,
            vec![RecordOp::Update {
                id: "1".into(),
                data: data("192.0.2.1")
            }]
        );
        assert_eq!(reconcile(&[], &set(&["192.0.2.1"])).len(), 1);
        // A text is compared exactly; a host name as DNS does.
        let txt = |v: &str| RecordValue {
            record_type: "TXT".into(),
            ..set(&[v])
        };
        let mut held = rec("9", 60, "Region=us-east-1");
        held.data.record_type = "TXT".into();
        assert_eq!(
            reconcile(std::slice::from_ref(&held), &txt("region=us-east-1")).len(),
            1
        );
        assert!(reconcile(&[held], &txt("Region=us-east-1")).is_empty());
        let mut cname = rec("5", 60, "USE1.shop.example.com.");
        cname.data.record_type = "CNAME".into();
        let want = RecordValue {
            record_type: "CNAME".into(),
            ..set(&["use1.shop.example.com"])
        };
        assert!(reconcile(&[cname], &want).is_empty());
    }

    #[test]
    fn a_digitalocean_flip_sets_the_target_regions_domains_with_the_token_parameter() {
        let plan = ValidPlan::parse(include_str!("../../../examples/plan-digitalocean.yaml"))
            .expect("valid");
        let Flip::Domains {
            provider,
            token_parameter,
            domains,
        } = flip_into(&plan, "us-west-2").expect("flip")
        else {
            panic!("the example moves traffic through DigitalOcean")
        };
        assert_eq!(provider, DnsProvider::Digitalocean);
        assert_eq!(token_parameter, "/lifeboat/shop/digitalocean-token");
        assert_eq!(domains.len(), 1);
        assert_eq!(domains[0].domain, "shop.example.com");
        assert_eq!(
            domains[0].records[0].values,
            ["198.51.100.20", "198.51.100.21"]
        );
    }

    #[test]
    fn a_linode_flip_sets_the_target_regions_domains_at_linode_with_its_token_parameter() {
        let plan =
            ValidPlan::parse(include_str!("../../../examples/plan-linode.yaml")).expect("valid");
        let Flip::Domains {
            provider,
            token_parameter,
            domains,
        } = flip_into(&plan, "us-west-2").expect("flip")
        else {
            panic!("the example moves traffic through Linode")
        };
        assert_eq!(provider, DnsProvider::Linode);
        assert_eq!(token_parameter, "/lifeboat/shop/linode-token");
        assert_eq!(domains[0].records[0].ttl, 300);
    }
}
