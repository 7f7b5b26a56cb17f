//! lifeboat-core: the pure heart of lifeboat.
//!
//! * [`capacity`]: which compute capacity each level asks, and what a scale step sets.
//! * [`metrics`]: lifeboat's CloudWatch metrics (names, dimensions) and their EMF line.
//! * [`plan`]: the versioned plan document, its parsing and validation, and its JSON Schema.
//! * [`decision`]: pure decisions (ignore / ask / proceed; switchover / failover / refuse).
//! * [`trigger`]: which observed alarm, canary and Alertmanager events may start a run.
//! * [`alertmanager`]: Alertmanager's webhook (version 4) and the alerts a plan acts on.
//! * [`ports`]: the narrow traits behind which AWS lives; adapters are in `lifeboat-aws`.
//! * [`store`]: the plan, the lock and the run state, kept in a [`ports::ParameterStore`].
//! * [`report`]: a run's report, its subject and its text.
//! * [`run`]: run identity, the create-only run lock, and the recorded run state.
//! * [`error`]: the error kinds that cross the Lambda boundary as stable `errorType`s.
//! * [`steps`]: pure helpers of the failover steps (writer region, steadiness, DNS batches).
//! * [`traffic`]: which records, health checks or routing controls a flip sets.
//! * [`status`]: what `lifeboat status` concludes from what it read.
//! * [`timeline`]: step timings, RTO and RPO of a run.
//! * [`fence`]: taking the old primary region out of service (the run, and the returning copy).
//! * [`cache`]: Redis under Sentinel moved with the database; [`patroni`]: PostgreSQL under
//!   Patroni, one cluster per region, promoted by switchover or failover.
//!
//! No AWS SDK, no Lambda runtime: everything here is testable with in-memory fakes.

pub mod alertmanager;
pub mod cache;
pub mod canary;
pub mod capacity;
pub mod database;
pub mod db_capacity;
pub mod decision;
pub mod error;
pub mod failback;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod fence;
pub mod kubernetes;
pub mod metrics;
pub mod mysql;
pub mod params;
pub mod patroni;
pub mod plan;
pub mod ports;
pub mod readiness;
pub mod report;
pub mod run;
pub mod status;
pub mod steps;
pub mod store;
pub mod text;
pub mod timeline;
pub mod traffic;
pub mod trigger;

pub use error::{Error, ErrorKind, Result};
