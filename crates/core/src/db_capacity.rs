//! Database capacity: the instance class and Aurora Serverless v2 range a region's cluster gets
//! at a level, what to change to reach it from what RDS describes, and when it is ready.
//! Executed by db-failover (before traffic shifts into a region, and when a failback leaves it),
//! checked by readiness (would a failover have enough database?); the rule lives here only.
//!
//! Going **active** only ever raises: an instance already at the plan's class or larger (same
//! family) is left as it is, a range already wider is kept, and an instance of another family
//! than the plan's classes (a person chose it) is left as it is and said so. Going **standby**
//! sets the plan's standby class and range.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plan::{AcuRange, DatabaseCapacityPlan, ValidPlan};
use crate::ports::{ClusterCapacityView, DbInstanceView};

/// The instance class sized by the Serverless v2 range, not by a class change.
pub const SERVERLESS_CLASS: &str = "db.serverless";

/// lifeboat's planning figure for an instance class change applied immediately (AWS publishes
/// no duration; the instance restarts on the new class within minutes). A capacity range change
/// applies at once.
pub const INSTANCE_CLASS_CHANGE_SECONDS: u64 = 300;

/// The largest ACU value Aurora Serverless v2 accepts.
pub const MAX_ACU: f64 = 256.0;

/// Which of the plan's database capacities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbLevel {
    /// Before the region takes traffic.
    #[default]
    Active,
    /// When a failback leaves the region.
    Standby,
}

/// Whether `value` is an ACU value Aurora Serverless v2 accepts (half steps, 0 to 256).
pub fn is_acu(value: f64) -> bool {
    (0.0..=MAX_ACU).contains(&value) && (value * 2.0).fract() == 0.0
}

/// A provisioned instance class, `db.<family>.<size>`, by family and size order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceSize<'a> {
    pub family: &'a str,
    /// micro < small < medium < large < xlarge < 2xlarge < ... < 48xlarge.
    pub rank: u32,
}

impl<'a> InstanceSize<'a> {
    /// `None` for `db.serverless` and anything that is not `db.<family>.<size>`.
    pub fn parse(class: &'a str) -> Option<InstanceSize<'a>> {
        let mut parts = class.split('.');
        let (Some("db"), Some(family), Some(size), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if family.is_empty()
            || !family
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return None;
        }
        let rank = match size {
            "micro" => 1,
            "small" => 2,
            "medium" => 3,
            "large" => 4,
            "xlarge" => 5,
            other => {
                let n: u32 = other.strip_suffix("xlarge")?.parse().ok()?;
                if !(2..=112).contains(&n) {
                    return None;
                }
                5 + n
            }
        };
        Some(InstanceSize { family, rank })
    }
}

/// `class` is smaller than `than`: both provisioned classes of the same family, `class` of a
/// smaller size. Classes of different families are not compared.
pub fn smaller(class: &str, than: &str) -> bool {
    match (InstanceSize::parse(class), InstanceSize::parse(than)) {
        (Some(a), Some(b)) => a.family == b.family && a.rank < b.rank,
        _ => false,
    }
}

/// What a level asks of a region's cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct DbTarget {
    pub level: DbLevel,
    pub instance_class: Option<String>,
    /// The standby class, which an instance is known to be smaller than the active one.
    pub standby_class: Option<String>,
    pub serverless: Option<AcuRange>,
}

/// What `level` asks of `region`'s cluster; `None` when the plan sets no database capacity
/// for the region (lifeboat leaves it as it is).
pub fn target(plan: &ValidPlan, region: &str, level: DbLevel) -> Result<Option<DbTarget>> {
    Ok(plan
        .region(region)?
        .database_capacity
        .as_ref()
        .map(|db| target_of(db, level)))
}

fn target_of(db: &DatabaseCapacityPlan, level: DbLevel) -> DbTarget {
    let active = level == DbLevel::Active;
    DbTarget {
        level,
        instance_class: db.instance_class.as_ref().map(|c| {
            if active {
                c.active.clone()
            } else {
                c.standby.clone()
            }
        }),
        standby_class: db.instance_class.as_ref().map(|c| c.standby.clone()),
        serverless: db
            .serverless_v2
            .map(|r| if active { r.active } else { r.standby }),
    }
}

/// One change to request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DbChange {
    InstanceClass {
        instance_id: String,
        from: String,
        to: String,
    },
    ServerlessRange {
        cluster_arn: String,
        from: Option<AcuRange>,
        to: AcuRange,
    },
}

impl DbChange {
    /// The change as a person reads it, in `region`: `instance us-west-2/shop-usw2-1 db.r6g.large
    /// -> db.r6g.2xlarge`, `us-west-2 cluster range 0.5-16 ACU -> 8-64 ACU`. What RDS reported
    /// (the instance's name and class) is made inert.
    pub fn describe(&self, region: &str) -> String {
        match self {
            Self::InstanceClass {
                instance_id,
                from,
                to,
            } => format!(
                "instance {region}/{} {} -> {}",
                crate::text::inert(instance_id, 80),
                crate::text::inert(from, 40),
                crate::text::inert(to, 40)
            ),
            Self::ServerlessRange { from, to, .. } => format!(
                "{region} cluster range {} -> {}",
                from.map_or("none".to_string(), acu_text),
                acu_text(*to)
            ),
        }
    }
}

/// What a scale step does and sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbCapacityStep {
    /// The changes to request now.
    pub changes: Vec<DbChange>,
    /// What is not yet at the level (each a sentence), including the changes above.
    pub waiting: Vec<String>,
    /// Instances left as they are, and why (another family than the plan's classes).
    pub left_alone: Vec<String>,
}

impl DbCapacityStep {
    /// The cluster is at the level: nothing to change, nothing under way.
    pub fn ready(&self) -> bool {
        self.changes.is_empty() && self.waiting.is_empty()
    }
}

/// Whether an instance of class `current` meets `target`'s class.
fn class_meets(target: &DbTarget, want: &str, current: &str) -> ClassVerdict {
    if current == want {
        return ClassVerdict::Meets;
    }
    match target.level {
        DbLevel::Standby => ClassVerdict::Change,
        DbLevel::Active => {
            if smaller(current, want) || target.standby_class.as_deref() == Some(current) {
                ClassVerdict::Change
            } else if smaller(want, current) {
                ClassVerdict::Meets
            } else {
                ClassVerdict::NotComparable
            }
        }
    }
}

enum ClassVerdict {
    Meets,
    Change,
    NotComparable,
}

/// The range `target` asks of a cluster now at `current`: active raises each bound to the
/// plan's and keeps what is wider; standby is the plan's.
fn range_for(target: &DbTarget, want: AcuRange, current: Option<AcuRange>) -> AcuRange {
    match (target.level, current) {
        (DbLevel::Active, Some(now)) => AcuRange {
            min_acu: now.min_acu.max(want.min_acu),
            max_acu: now.max_acu.max(want.max_acu),
        },
        _ => want,
    }
}

fn instance_waiting(i: &DbInstanceView, what: &str) -> String {
    format!(
        "instance {} ({}, {}): {what}",
        crate::text::inert(&i.id, 80),
        crate::text::inert(&i.class, 40),
        crate::text::inert(&i.status, 40)
    )
}

/// From what RDS describes, the changes that bring the cluster to `target` and what is still
/// on its way. A change is requested only of an `available` instance or cluster (RDS refuses
/// others); one already under way (its pending class is the target's) is not asked again.
pub fn step(target: &DbTarget, view: &ClusterCapacityView) -> DbCapacityStep {
    let mut out = DbCapacityStep {
        changes: Vec::new(),
        waiting: Vec::new(),
        left_alone: Vec::new(),
    };
    if let Some(want) = &target.instance_class {
        for i in view
            .instances
            .iter()
            .filter(|i| i.class != SERVERLESS_CLASS)
        {
            match class_meets(target, want, &i.class) {
                ClassVerdict::Meets if i.status == "available" && i.pending_class.is_none() => {}
                ClassVerdict::Meets => out
                    .waiting
                    .push(instance_waiting(i, "waiting for it to be available")),
                ClassVerdict::NotComparable => out.left_alone.push(format!(
                    "instance {} is {}, another family than the plan's {want}: left as it is",
                    crate::text::inert(&i.id, 80),
                    crate::text::inert(&i.class, 40)
                )),
                ClassVerdict::Change if i.pending_class.as_deref() == Some(want.as_str()) => out
                    .waiting
                    .push(instance_waiting(i, &format!("changing to {want}"))),
                ClassVerdict::Change if i.status == "available" => {
                    out.changes.push(DbChange::InstanceClass {
                        instance_id: i.id.clone(),
                        from: i.class.clone(),
                        to: want.clone(),
                    });
                    out.waiting
                        .push(instance_waiting(i, &format!("change to {want} requested")));
                }
                ClassVerdict::Change => out.waiting.push(instance_waiting(
                    i,
                    &format!("changes to {want} once it is available"),
                )),
            }
        }
    }
    if let Some(want) = target.serverless {
        let to = range_for(target, want, view.serverless);
        if view.serverless != Some(to) {
            let what = format!(
                "capacity range {} -> {}",
                view.serverless.map_or("none".to_string(), acu_text),
                acu_text(to)
            );
            if view.status == "available" {
                out.changes.push(DbChange::ServerlessRange {
                    cluster_arn: view.cluster_arn.clone(),
                    from: view.serverless,
                    to,
                });
                out.waiting.push(format!("cluster: {what} requested"));
            } else {
                out.waiting.push(format!(
                    "cluster ({}): {what} once it is available",
                    crate::text::inert(&view.status, 40)
                ));
            }
        }
    }
    out
}

/// `8-64 ACU`.
pub fn acu_text(range: AcuRange) -> String {
    format!("{}-{} ACU", range.min_acu, range.max_acu)
}

/// The readiness question for a region about to take the load: the capacity its cluster would
/// have at the active level, against the primary's largest provisioned instance now (its writer,
/// or a larger reader that may become the writer) and its Serverless v2 range. Each finding a
/// sentence, instance classes as RDS reported them made inert; empty when the target has at
/// least the primary's capacity (or nothing can be compared).
pub fn shortfall(
    target: Option<&DbTarget>,
    dr: &ClusterCapacityView,
    primary: &ClusterCapacityView,
) -> Vec<String> {
    let mut out = Vec::new();
    let largest_primary_class = primary
        .instances
        .iter()
        .map(|i| i.class.as_str())
        .filter(|c| *c != SERVERLESS_CLASS)
        .max_by_key(|c| InstanceSize::parse(c).map_or(0, |s| s.rank));
    if let Some(primary_class) = largest_primary_class {
        let planned = target.and_then(|t| t.instance_class.as_deref());
        let classes: Vec<&str> = match planned {
            Some(class) => vec![class],
            None => dr
                .instances
                .iter()
                .map(|i| i.class.as_str())
                .filter(|c| *c != SERVERLESS_CLASS)
                .collect(),
        };
        for class in classes {
            if smaller(class, primary_class) {
                let (class, primary_class) = (
                    crate::text::inert(class, 40),
                    crate::text::inert(primary_class, 40),
                );
                out.push(if planned.is_some() {
                    format!(
                        "a failover would run the database on {class} (the plan's active class) while the primary runs {primary_class}"
                    )
                } else {
                    format!(
                        "a failover would run the database on {class} while the primary runs {primary_class}: the plan sets no database capacity for this region"
                    )
                });
            }
        }
    }
    if let Some(primary_range) = primary.serverless {
        let range = match target.and_then(|t| t.serverless) {
            Some(planned) => Some(range_for(
                &DbTarget {
                    level: DbLevel::Active,
                    instance_class: None,
                    standby_class: None,
                    serverless: Some(planned),
                },
                planned,
                dr.serverless,
            )),
            None => dr.serverless,
        };
        if let Some(range) = range
            && range.max_acu < primary_range.max_acu
        {
            out.push(format!(
                "a failover would cap the database at {} while the primary may use {}",
                acu_text(range),
                acu_text(primary_range)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
