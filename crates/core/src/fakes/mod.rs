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
