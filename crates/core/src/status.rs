//! What `lifeboat status` concludes from what it read: which region is active, which is the
//! standby whose lag counts, whether that lag can be judged on, which runs are in progress and
//! which locks are stale. The CLI reads (AWS) and renders (text, JSON); the conclusions are here.

use crate::decision::usable_lag;
use crate::plan::ValidPlan;
use crate::ports::LagSample;
use crate::run::{LockRecord, RunState};
use crate::store::{LockView, StaleLock};

/// One region's copy of lifeboat, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionCopy {
    pub region: String,
    /// Its recorded run state, when it could be read (`None`: none recorded).
    pub state: Result<Option<RunState>, String>,
    /// Its run lock, judged as a lease.
    pub lock: Result<LockView, String>,
}

impl RegionCopy {
    /// Why the copy could not be read, if it could not (the state's error first).
    pub fn error(&self) -> Option<&str> {
        self.state
            .as_ref()
            .err()
            .or(self.lock.as_ref().err())
            .map(String::as_str)
    }

    /// Its live lock, if any.
    pub fn live_lock(&self) -> Option<&LockRecord> {
        self.lock.as_ref().ok().and_then(LockView::live)
    }

    /// Its stale lock, if any.
    pub fn stale_lock(&self) -> Option<&StaleLock> {
        self.lock.as_ref().ok().and_then(LockView::stale)
    }
}

/// The region whose replication lag counts: the one that is not the writer's. `None` while the
/// writer is unknown.
pub fn standby_region<'p>(plan: &'p ValidPlan, writer: Option<&str>) -> Option<&'p str> {
    writer.and_then(|w| plan.other_region(w).ok())
}

/// What status concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The region the newest recorded run state names (the highest epoch across both copies),
    /// else the plan's primary region (nothing ever moved).
    pub active_region: String,
    /// The copy that recorded that state, and the state.
    pub newest: Option<(String, RunState)>,
    /// Whether the lag can be judged on (measured no longer ago than the RPO guard).
    pub lag_usable: bool,
    /// Live locks: runs in progress, in the plan's region order.
    pub in_progress: Vec<LockRecord>,
}

/// The conclusions from the copies read and the standby's lag.
pub fn decide(plan: &ValidPlan, copies: &[RegionCopy], lag: Option<LagSample>) -> Status {
    let mut newest: Option<(String, RunState)> = None;
    for c in copies {
        if let Ok(Some(s)) = &c.state
            && newest.as_ref().is_none_or(|(_, n)| s.epoch > n.epoch)
        {
            newest = Some((c.region.clone(), s.clone()));
        }
    }
    Status {
        active_region: newest.as_ref().map_or_else(
            || plan.primary_region().to_string(),
            |(_, s)| s.active_region.clone(),
        ),
        newest,
        lag_usable: usable_lag(lag, plan.rpo_guard()).is_some(),
        in_progress: copies
            .iter()
            .filter_map(RegionCopy::live_lock)
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::run::RunId;

    const PLAN: &str = include_str!("../../../examples/plan.yaml");

    fn state(active: &str, epoch: u64) -> RunState {
        RunState {
            active_region: active.into(),
            epoch,
            last_run: None,
        }
    }

    fn copy(region: &str, state: Result<Option<RunState>, String>, lock: LockView) -> RegionCopy {
        RegionCopy {
            region: region.into(),
            state,
            lock: Ok(lock),
        }
    }

    #[test]
    fn the_newest_state_names_the_active_region_and_live_locks_are_runs() {
        let plan = ValidPlan::parse(PLAN).expect("plan");
        // GIVEN nothing recorded: the primary is active
        let none = decide(&plan, &[copy("us-east-1", Ok(None), LockView::Free)], None);
        assert_eq!(none.active_region, plan.primary_region());
        assert!(!none.lag_usable);
        // GIVEN both copies recorded, the west's newer (epoch 2), and a run in progress there
        let lock = LockRecord {
            run_id: RunId::parse("shop-back-to-us-east-1-1").expect("id"),
            target_region: "us-east-1".into(),
            acquired_at: time::OffsetDateTime::UNIX_EPOCH,
            execution_arn: None,
        };
        let s = decide(
            &plan,
            &[
                copy("us-east-1", Ok(Some(state("us-east-1", 0))), LockView::Free),
                copy(
                    "us-west-2",
                    Ok(Some(state("us-west-2", 2))),
                    LockView::Live(lock.clone()),
                ),
            ],
            Some(LagSample::now(Duration::from_secs(1))),
        );
        assert_eq!(s.active_region, "us-west-2");
        assert_eq!(s.newest.map(|(r, _)| r).as_deref(), Some("us-west-2"));
        assert_eq!(s.in_progress, vec![lock]);
        assert!(s.lag_usable);
        // AND a copy that cannot be read says why, and counts for nothing
        let dark = RegionCopy {
            region: "us-east-1".into(),
            state: Err("timed out".into()),
            lock: Err("timed out".into()),
        };
        assert_eq!(dark.error(), Some("timed out"));
        assert_eq!(decide(&plan, &[dark], None).newest, None);
        // AND the standby is the writer's other region
        assert_eq!(standby_region(&plan, Some("us-east-1")), Some("us-west-2"));
        assert_eq!(standby_region(&plan, None), None);
    }
}
