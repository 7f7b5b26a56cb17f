//! Fencing: taking the old primary region out of service, so that one region serves writes.
//!
//! Two moments, one rule each:
//! * **With a failover with data loss**, the run fences the old primary as far as it can reach:
//!   its compute to the plan's fenced level (`fencing.compute_count`), its traffic away (the
//!   run's traffic step), and its database demoted by Aurora's global failover (the old primary
//!   rejoins as a secondary when its region returns). Each action is recorded with its outcome
//!   ([`FenceReport`]); a region that cannot be reached is recorded, never a blocker.
//! * **When the old region comes back**, its own copy sees that another region holds the writer
//!   and fences its region before anything else ([`home_guard`]), then says so on the topic.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::plan::ValidPlan;
use crate::run::LockRecord;

/// What became of one fence action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FenceOutcome {
    /// Lowered to the fenced level (`before` → `after`: desired count).
    Fenced { before: u32, after: u32 },
    /// Already at (or below) the fenced level: nothing changed.
    AlreadyFenced { desired: u32 },
    /// The region did not answer (dark, throttled): recorded, not a blocker.
    Unreachable { detail: String },
    /// It answered with an error (permissions, a missing resource): recorded for a person.
    Failed { detail: String },
    /// Done by the service itself, as documented (e.g. Aurora's global failover demotes the old
    /// primary cluster).
    Delegated { detail: String },
    /// A database that took writes made read-only now (a Patroni cluster demoted to a standby
    /// cluster of the writer).
    Demoted { detail: String },
    /// A database already read-only: nothing changed.
    ReadOnly { detail: String },
}

impl FenceOutcome {
    /// The outcome of an action that failed with `e`: unreachable when the region did not
    /// answer (a network fault, a 5xx, throttling), failed otherwise. The detail is bounded.
    pub fn of_error(e: &Error) -> Self {
        let detail = crate::text::inert(&e.to_string(), 300);
        match e.kind() {
            ErrorKind::Transient | ErrorKind::Throttled => FenceOutcome::Unreachable { detail },
            _ => FenceOutcome::Failed { detail },
        }
    }

    /// The resource is known fenced after this action: compute at most at the fenced level, a
    /// database read-only.
    pub fn holds(&self) -> bool {
        matches!(
            self,
            FenceOutcome::Fenced { .. }
                | FenceOutcome::AlreadyFenced { .. }
                | FenceOutcome::Demoted { .. }
                | FenceOutcome::ReadOnly { .. }
        )
    }
}

/// One fence action on one resource (`ecs:<cluster>/<service>`, `asg:<name>`, `database:...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceAction {
    pub resource: String,
    #[serde(flatten)]
    pub outcome: FenceOutcome,
}

/// Everything done to fence one region, as recorded in the run's report and announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceReport {
    pub region: String,
    pub actions: Vec<FenceAction>,
}

impl FenceReport {
    /// Whether every action holds (the region runs nothing above the fenced level).
    pub fn complete(&self) -> bool {
        self.actions
            .iter()
            .all(|a| a.outcome.holds() || matches!(a.outcome, FenceOutcome::Delegated { .. }))
    }

    /// Whether anything was lowered now.
    pub fn changed(&self) -> bool {
        self.actions.iter().any(|a| {
            matches!(
                a.outcome,
                FenceOutcome::Fenced { .. } | FenceOutcome::Demoted { .. }
            )
        })
    }

    /// One line per action, for the report, the topic and `lifeboat status`.
    pub fn lines(&self) -> Vec<String> {
        self.actions
            .iter()
            .map(|a| match &a.outcome {
                FenceOutcome::Fenced { before, after } => {
                    format!("{}: fenced ({before} -> {after})", a.resource)
                }
                FenceOutcome::AlreadyFenced { desired } => {
                    format!("{}: already fenced ({desired})", a.resource)
                }
                FenceOutcome::Unreachable { detail } => {
                    format!("{}: UNREACHABLE ({detail})", a.resource)
                }
                FenceOutcome::Failed { detail } => format!("{}: FAILED ({detail})", a.resource),
                FenceOutcome::Delegated { detail } => format!("{}: {detail}", a.resource),
                FenceOutcome::Demoted { detail } => format!("{}: demoted, {detail}", a.resource),
                FenceOutcome::ReadOnly { detail } => {
                    format!("{}: already read-only, {detail}", a.resource)
                }
            })
            .collect()
    }
}

/// What Aurora documents for the old primary cluster in a global failover with data loss: it
/// is demoted and, when its region returns, rejoins the global database as a secondary (there
/// is no API lifeboat could call on a dark region's cluster to stop its writes).
pub const DATABASE_FENCE: &str = "demoted by Aurora's global failover (FailoverGlobalCluster with \
     AllowDataLoss): it rejoins as a secondary, read-only, when its region returns";

/// What Patroni needs for the old primary's cluster after a failover with data loss: lifeboat
/// could not reach it (its region was dark); when it returns, its region's own copy makes it a
/// standby cluster of the new primary ([`crate::database::fence_home`]).
pub const PATRONI_DATABASE_FENCE: &str = "not reached during the failover: when its region \
     returns, its own copy makes it a standby cluster of the new primary (read-only) before \
     anything else";

/// What becomes of the old source's MySQL server in a failover with data loss: lifeboat could
/// not reach it; when it returns, its region's own copy makes it read-only, then has it
/// replicate the new source unless its history forked ([`crate::database::fence_home`]).
pub const MYSQL_DATABASE_FENCE: &str = "not reached during the failover: when its region \
     returns, its own copy makes it read-only before anything else, then has it replicate the \
     new source unless it holds writes the new source lacks";

/// The run's fence, as recorded: what dr-scale-up did to the old primary's compute (or why it
/// could not run), and what becomes of the old primary's database (`database`: the plan's
/// provider's action, [`crate::database::run_fence_action`]).
pub fn run_fence(
    region: &str,
    compute: Option<FenceReport>,
    could_not_run: Option<String>,
    database: FenceAction,
) -> FenceReport {
    let mut report = compute.unwrap_or_else(|| FenceReport {
        region: region.to_string(),
        actions: Vec::new(),
    });
    if let Some(why) = could_not_run {
        report.actions.push(FenceAction {
            resource: "compute".to_string(),
            outcome: FenceOutcome::Failed {
                detail: crate::text::inert(&why, 300),
            },
        });
    }
    report.actions.push(database);
    report
}

/// Where a fenced region's copy notes that it fenced itself (its own region's store): the
/// announcement is made once per fencing, and `lifeboat status` shows it.
pub use crate::params::fence as fence_parameter;

/// What the fence parameter holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceMarker {
    /// The region that held the writer when this region fenced itself.
    pub writer_region: String,
    #[serde(with = "time::serde::rfc3339")]
    pub fenced_at: time::OffsetDateTime,
    pub report: FenceReport,
}

/// A run lock, as read in one region's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSeen {
    pub region: String,
    /// `Err(why)`: the store could not be read (the region may be dark).
    pub lock: Result<Option<LockRecord>, String>,
}

/// What a region's own copy does about its region, on its schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum GuardVerdict {
    /// Not the plan's home region: a standby by design, kept by the plan's standby levels.
    NotHome,
    /// This region holds the writer: it serves.
    Serving,
    /// Who holds the writer could not be read: nothing is changed (reported).
    Unknown { why: String },
    /// A run brings the shop into this region (a failback holds the lock): that run owns the
    /// region's capacity.
    RunInProgress { run_id: String, lock_region: String },
    /// Another region holds the writer: this region must not serve. Fence it.
    Fence {
        writer_region: String,
        /// Stores whose lock could not be read (the fence goes ahead: safety first).
        unread_locks: Vec<String>,
    },
}

/// The returning region's rule. `region`: the copy's own region; `writer`: the region that
/// holds the database writer as the global cluster reads from here (`Err`: unreadable; `Ok(None)`:
/// no member is the writer, e.g. during an operation); `locks`: the run locks of both regions,
/// where readable.
///
/// Only the plan's home region is guarded: after a failover the home region is the old primary;
/// the other region is a standby by design whenever it does not hold the writer.
pub fn home_guard(
    plan: &ValidPlan,
    region: &str,
    writer: Result<Option<&str>, String>,
    locks: &[LockSeen],
) -> GuardVerdict {
    if region != plan.primary_region() {
        return GuardVerdict::NotHome;
    }
    let writer = match writer {
        Err(why) => return GuardVerdict::Unknown { why },
        Ok(None) => {
            return GuardVerdict::Unknown {
                why: "no member of the global database is the writer now (an operation may be \
                      in progress)"
                    .to_string(),
            };
        }
        Ok(Some(w)) => w,
    };
    if writer == region {
        return GuardVerdict::Serving;
    }
    let mut unread_locks = Vec::new();
    for seen in locks {
        match &seen.lock {
            Ok(Some(lock)) if lock.target_region == region => {
                return GuardVerdict::RunInProgress {
                    run_id: lock.run_id.as_str().to_string(),
                    lock_region: seen.region.clone(),
                };
            }
            Ok(_) => {}
            Err(why) => unread_locks.push(format!("{}: {why}", seen.region)),
        }
    }
    GuardVerdict::Fence {
        writer_region: writer.to_string(),
        unread_locks,
    }
}

/// The returning region's rule, observed: who holds the writer (read from `region`), both
/// copies' run locks (this region's store and the other's, where reachable), and
/// [`home_guard`]'s verdict. Reads only; one place for every function that guards the region.
pub async fn observe<D, P, Q>(
    db: &D,
    params: &P,
    peer_params: &Q,
    plan: &ValidPlan,
    region: &str,
) -> crate::Result<GuardVerdict>
where
    D: crate::ports::AnyDatabase,
    P: crate::ports::ParameterStore,
    Q: crate::ports::ParameterStore,
{
    if region != plan.primary_region() {
        return Ok(GuardVerdict::NotHome);
    }
    let why = |e: crate::Error| crate::text::inert(&e.to_string(), 300);
    let peer = plan.other_region(region)?.to_string();
    let app = plan.app();
    // Which region lifeboat made active last: the newer of both copies' run states (the copy
    // that ran the failover recorded it; this one may have been dark).
    let unread = |e: crate::Error| {
        tracing::warn!(error = %e, "a copy's run state cannot be read");
        None
    };
    let states = [
        crate::store::read_state(params, app)
            .await
            .unwrap_or_else(unread),
        crate::store::read_state(peer_params, app)
            .await
            .unwrap_or_else(unread),
    ];
    let active = states
        .into_iter()
        .flatten()
        .max_by_key(|s| s.epoch)
        .map(|s| s.active_region);
    let writer = crate::database::promoted_writer(db, params, plan, region, active.as_deref())
        .await
        .map_err(why);
    let locks = [
        LockSeen {
            region: region.to_string(),
            lock: crate::store::read_lock(params, app).await.map_err(why),
        },
        LockSeen {
            region: peer,
            lock: crate::store::read_lock(peer_params, app).await.map_err(why),
        },
    ];
    Ok(home_guard(
        plan,
        region,
        writer.as_ref().map(|w| w.as_deref()).map_err(String::clone),
        &locks,
    ))
}

#[cfg(test)]
mod tests;
