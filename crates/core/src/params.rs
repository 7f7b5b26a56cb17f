//! Every SSM parameter name lifeboat keeps for an application, in one place. The template's IAM
//! policies name the same paths (`/lifeboat/${AppName}/...`); the functions, the CLI and the
//! harness read and write these, never a name of their own.
//!
//! | parameter | holds | written by |
//! |---|---|---|
//! | `/lifeboat/<app>/plan` | the plan (YAML or JSON) | the operator (`sam deploy` / `lifeboat plan`) |
//! | `/lifeboat/<app>/lock` | the run lock (create-only) | whoever starts a run; run-ledger releases it |
//! | `/lifeboat/<app>/state` | which region is active, the epoch | run-ledger |
//! | `/lifeboat/<app>/runs/<run id>` | a run's report | run-ledger |
//! | `/lifeboat/<app>/notices/<run id>` | a refusal announced once per incident (create-only) | alarm-to-failover |
//! | `/lifeboat/<app>/notices/stale-lock-<run id>` | a stale lock announced once | alarm-to-failover |
//! | `/lifeboat/<app>/notices/closed/<execution>` | a closed execution announced once | run-ledger's safety net |
//! | `/lifeboat/<app>/fence` | a region's copy fenced its region | dr-scale-up's guard |
//! | `/lifeboat/<app>/approvals/<id>` | an approval request and its task token (SecureString) | failover-approval |
//! | `/lifeboat/<app>/decisions/<id>` | an approval's single-use "decided" marker | failover-approval |
//! | `/lifeboat/<app>/approval-link-secret` | the key that signs approval links (SecureString) | the operator |
//! | `/lifeboat/<app>/readiness/<region>` | the last readiness findings of that region's copy | readiness |

use crate::run::RunId;

/// Prefix of every parameter lifeboat keeps for `app`.
pub fn prefix(app: &str) -> String {
    format!("/lifeboat/{app}")
}

/// The plan (the default; a deployment may name another with `LIFEBOAT_PLAN_PARAMETER`).
pub fn plan(app: &str) -> String {
    format!("/lifeboat/{app}/plan")
}

/// The run lock.
pub fn lock(app: &str) -> String {
    format!("/lifeboat/{app}/lock")
}

/// The run state (active region, epoch).
pub fn state(app: &str) -> String {
    format!("/lifeboat/{app}/state")
}

/// Create-only marker so that a refusal for one incident is announced once.
pub fn notice(app: &str, run_id: &RunId) -> String {
    format!("/lifeboat/{app}/notices/{run_id}")
}

/// Create-only marker: a stale lock (taken over or found) is announced once.
pub fn stale_lock_notice(app: &str, stale_run_id: &RunId) -> String {
    format!("/lifeboat/{app}/notices/stale-lock-{stale_run_id}")
}

/// Create-only marker: an execution that closed without announcing its run is announced once.
pub fn closed_notice(app: &str, execution_name: &str) -> String {
    format!("/lifeboat/{app}/notices/closed/{execution_name}")
}

/// Marker: an execution's report (or its unrecorded notice) went out, so that a retry of the
/// announcing step answers with it instead of publishing again. `execution` is
/// `<state machine>/<execution name>`.
pub fn announced(app: &str, execution: &str) -> String {
    format!("/lifeboat/{app}/notices/announced/{execution}")
}

/// A run's report.
pub fn report(app: &str, run_id: &str) -> String {
    format!("/lifeboat/{app}/runs/{run_id}")
}

/// Where a fenced region's copy notes that it fenced itself (its own region's store).
pub fn fence(app: &str) -> String {
    format!("/lifeboat/{app}/fence")
}

/// An approval record.
pub fn approval(app: &str, id: &str) -> String {
    format!("/lifeboat/{app}/approvals/{id}")
}

/// An approval's single-use "decided" marker.
pub fn decided(app: &str, id: &str) -> String {
    format!("/lifeboat/{app}/decisions/{id}")
}

/// The approval links' signing key (the default; `LIFEBOAT_LINK_SECRET_PARAMETER` may name another).
pub fn approval_link_secret(app: &str) -> String {
    format!("/lifeboat/{app}/approval-link-secret")
}

/// The last readiness findings of the copy in `region`.
pub fn readiness(app: &str, region: &str) -> String {
    format!("/lifeboat/{app}/readiness/{region}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_lives_under_the_apps_prefix() {
        let run = RunId::for_operator("shop", "us-west-2", time::OffsetDateTime::UNIX_EPOCH);
        for name in [
            plan("shop"),
            lock("shop"),
            state("shop"),
            notice("shop", &run),
            stale_lock_notice("shop", &run),
            closed_notice("shop", "run-1"),
            report("shop", "run-1"),
            fence("shop"),
            approval("shop", "a1"),
            decided("shop", "a1"),
            approval_link_secret("shop"),
            readiness("shop", "us-west-2"),
        ] {
            assert!(name.starts_with(&format!("{}/", prefix("shop"))), "{name}");
        }
        assert_eq!(lock("shop"), "/lifeboat/shop/lock");
        assert_eq!(report("shop", "r"), "/lifeboat/shop/runs/r");
    }
}
