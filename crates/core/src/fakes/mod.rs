//! In-memory fakes of every port, for GIVEN/WHEN/THEN tests of handlers.
//! (Enabled by the `fakes` feature; never part of a function binary.) One module per
//! service family; every fake is re-exported here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod buckets;
mod cache;
mod clock;
mod compute;
mod database;
mod http;
mod kubernetes;
mod metrics;
mod mysql;
mod notify;
mod parameters;
mod patroni;
mod traffic;
mod workflow;

pub use buckets::*;
pub use cache::*;
pub use clock::*;
pub use compute::*;
pub use database::*;
pub use http::*;
pub use kubernetes::*;
pub use metrics::*;
pub use mysql::*;
pub use notify::*;
pub use parameters::*;
pub use patroni::*;
pub use traffic::*;
pub use workflow::*;

/// What every fake module uses.
mod prelude {
    pub(super) use std::collections::{BTreeMap, BTreeSet, HashMap};
    pub(super) use std::sync::Mutex;
    pub(super) use std::time::Duration;

    pub(super) use time::OffsetDateTime;

    pub(super) use super::reachable;
    pub(super) use crate::error::{Error, ErrorKind, Result};
    pub(super) use crate::ports::*;
    pub(super) use crate::trigger::AlarmState;
}

use prelude::*;

/// An Aurora plan's text under another database provider: each region's `db_cluster_arn` line
/// becomes `region_line(region)`, the `global_cluster_id` line becomes `database`'s lines (at its
/// indentation), and `database_capacity` blocks (Aurora's) are dropped.
pub(crate) fn rewrite_database(
    plan: &str,
    region_line: impl Fn(&str) -> String,
    database: &[String],
) -> String {
    let mut out = Vec::new();
    let mut skipping_capacity = None;
    for line in plan.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(at) = skipping_capacity {
            if line.trim().is_empty() || indent > at {
                continue;
            }
            skipping_capacity = None;
        }
        let t = line.trim_start();
        let pad = " ".repeat(indent);
        if t.starts_with("database_capacity:") {
            skipping_capacity = Some(indent);
        } else if let Some(arn) = t.strip_prefix("db_cluster_arn: ") {
            let region = arn
                .split(':')
                .nth(3)
                .expect("a cluster ARN names its region");
            out.push(format!("{pad}{}", region_line(region)));
        } else if t.starts_with("global_cluster_id: ") {
            out.extend(database.iter().map(|l| format!("{pad}{l}")));
        } else {
            out.push(line.to_string());
        }
    }
    out.join("\n") + "\n"
}

/// A call into `region` while it is dark: a timeout (transient).
pub(crate) fn reachable(dark_regions: &Mutex<BTreeSet<String>>, region: &str) -> Result<()> {
    if dark_regions.lock().unwrap().contains(region) {
        return Err(Error::new(
            ErrorKind::Transient,
            format!("{region}: timed out"),
        ));
    }
    Ok(())
}
