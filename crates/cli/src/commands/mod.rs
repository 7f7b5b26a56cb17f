//! The commands, one module each. Each returns an [`Output`]: text for people, JSON for scripts,
//! an exit code. The rules they show live in core; here they are read and rendered.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use alarm_to_failover::{Assessed, Outcome};
use aws_config::SdkConfig;
use failback_orchestrator::Outcome as FailbackOutcome;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::compute::{AsgAdapter, EcsAdapter};
use lifeboat_aws::rds::RdsGlobalDatabase;
use lifeboat_aws::route53::{ArcAdapter, Route53Adapter};
use lifeboat_aws::s3::S3Buckets;
use lifeboat_aws::sfn::{SfnExecutions, SfnWorkflow};
use lifeboat_aws::sns::SnsNotifier;
use lifeboat_aws::ssm::SsmParameterStore;
use lifeboat_core::capacity::{self, Capacity, Level, Resource};
use lifeboat_core::db_capacity::{self, DbLevel};
use lifeboat_core::decision::{Approval, Decision, PromotionMode};
use lifeboat_core::failback::FailbackRefusal;
use lifeboat_core::params::report as report_parameter;
use lifeboat_core::plan::{Plan, PlanError, ValidPlan};
use lifeboat_core::ports::{
    AutoScalingGroups, DatabaseCapacity, EcsServices, ParameterStore, RecordSets, SystemClock,
};
use lifeboat_core::readiness::{Account, Severity, evaluate};
use lifeboat_core::report::Report;
use lifeboat_core::run::{lock_parameter, state_parameter};
use lifeboat_core::traffic::{self, Flip};
use lifeboat_core::{Error, Result, store};
use serde_json::{Value, json};

use crate::{Exit, Global, Output};

mod drill;
mod dry_run;
mod failback;
mod failover;
mod plan;
mod readiness;
mod report;
mod status;

pub use drill::drill;
pub use failback::failback;
pub use failover::failover;
pub use plan::plan_validate;
pub use readiness::readiness;
pub use report::{report, run_region};
pub use status::status;

use dry_run::*;
use failback::*;
use failover::*;

/// How long the primary's database may take to answer before it counts as dark (the functions'
/// default).
const PROBE_TIMEOUT: Duration = lifeboat_aws::DEFAULT_PROBE_TIMEOUT;

async fn sdk(global: &Global, region: &str) -> Result<SdkConfig> {
    Ok(global.settings()?.load(region).await)
}

async fn load_plan(global: &Global, sdk: &SdkConfig) -> Result<ValidPlan> {
    store::load_plan(&SsmParameterStore::new(sdk), &global.plan_parameter()).await
}

/// A value as JSON for `--json`. Our own types always serialise; if one ever does not, that is
/// an internal error, not an empty answer.
fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<Value> {
    serde_json::to_value(value)
        .map_err(|e| Error::internal(format!("{what} does not serialise as JSON: {e}")))
}

/// RFC 3339; it fails only for years outside 0..=9999, which AWS never answers (then empty).
fn fmt_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Follow an execution until it ends, with a spinner on a terminal.
async fn follow(sdk: &SdkConfig, execution_arn: &str) -> Result<String> {
    let sfn = SfnExecutions::new(sdk);
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = std::time::Instant::now();
    loop {
        let status = sfn.status(execution_arn).await?;
        bar.set_message(format!(
            "run {status} ({:.0} s)",
            started.elapsed().as_secs_f64()
        ));
        if status != "RUNNING" {
            bar.finish_and_clear();
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
