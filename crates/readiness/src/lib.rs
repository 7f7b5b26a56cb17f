//! readiness: would the plan work if the primary went dark now? Runs on a schedule in each
//! region (evaluating a failover *into* that region) and from the CLI (`lifeboat readiness`).
//!
//! * The checks are lifeboat-core's [`lifeboat_core::readiness::evaluate`]: the database part is
//!   the same snapshot code the state machine's Assess step decides on.
//! * Every invocation writes one CloudWatch Embedded Metric Format line: `ReadinessCritical`,
//!   `ReadinessWarnings` and `Ready` (1 when nothing is critical) in namespace `Lifeboat`,
//!   dimensions `App` and `Region`. Alarm on `Ready < 1`.
//! * The findings go to this region's topic when the set of problems *changes* (a new problem, a
//!   problem gone, all clear again), not on every schedule: the last problems are kept in
//!   `/lifeboat/<app>/readiness/<region>`. The first evaluation notifies only if it finds problems.

use lifeboat_core::plan::ValidPlan;
use lifeboat_core::ports::{
    AutoScalingGroups, Buckets, Clock, EcsServices, HealthChecks, Notifier, ParameterStore,
    RecordSets, ReplicationLagSource, RoutingControls, Topics,
};
use lifeboat_core::readiness::{Account, ReadinessReport, Severity, evaluate};
use lifeboat_core::{Result, store};
use lifeboat_lambda::{LineSink, Scheduled};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The CloudWatch namespace of the readiness metrics.
pub use lifeboat_core::metrics::NAMESPACE;
use lifeboat_core::metrics::{self, Unit};

/// The function's configuration (from its environment, read once at init).
#[derive(Debug, Clone)]
pub struct Config {
    pub plan: lifeboat_lambda::PlanConfig,
    /// The approval link key this region's copy signs with (`LIFEBOAT_LINK_SECRET_PARAMETER`):
    /// checked to exist when set.
    pub link_secret_parameter: Option<String>,
    /// What the deployed template's IAM policies are scoped to (`LIFEBOAT_SCOPE_ECS_CLUSTER`,
    /// `LIFEBOAT_SCOPE_ASG_PREFIX`, `LIFEBOAT_SCOPE_HOSTED_ZONE`, `LIFEBOAT_SCOPE_BUCKET_PREFIX`):
    /// plan resources outside them are critical findings.
    pub scopes: lifeboat_core::readiness::Scopes,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &lifeboat_lambda::Env<F>) -> Result<Self> {
        Ok(Self {
            plan: lifeboat_lambda::PlanConfig::from_env(env)?,
            link_secret_parameter: env.optional("LIFEBOAT_LINK_SECRET_PARAMETER"),
            scopes: lifeboat_core::readiness::Scopes {
                ecs_cluster: env.optional("LIFEBOAT_SCOPE_ECS_CLUSTER"),
                asg_prefix: env.optional("LIFEBOAT_SCOPE_ASG_PREFIX"),
                hosted_zone: env.optional("LIFEBOAT_SCOPE_HOSTED_ZONE"),
                bucket_prefix: env.optional("LIFEBOAT_SCOPE_BUCKET_PREFIX"),
            },
        })
    }

    /// The secrets this region's copy needs.
    pub fn secrets(&self) -> Vec<String> {
        self.link_secret_parameter.iter().cloned().collect()
    }
}

/// Where the last evaluation's problems are kept (per region: each copy evaluates its own).
pub fn last_parameter(plan: &ValidPlan, region: &str) -> String {
    lifeboat_core::params::readiness(plan.app(), region)
}

/// What the last-problems parameter holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastEvaluation {
    pub digest: String,
    pub worst: Severity,
    pub checked_at: String,
}

/// The function's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub report: ReadinessReport,
    /// Whether the findings were published (they changed since the last evaluation).
    pub notified: bool,
}

/// The ports the handler uses.
#[derive(Debug)]
pub struct Ports<
    Db,
    Lag,
    Ecs,
    Asg,
    Records,
    Checks,
    Arc,
    Topic,
    Params,
    S3,
    Sink,
    Time,
    Runs,
    Cache,
> {
    pub db: Db,
    pub lag: Lag,
    pub ecs: Ecs,
    pub asg: Asg,
    pub records: Records,
    pub health_checks: Checks,
    pub routing: Arc,
    /// SNS: topics exist, and the findings are published.
    pub sns: Topic,
    pub params: Params,
    pub buckets: S3,
    pub metrics: Sink,
    pub clock: Time,
    /// Step Functions: whether the run lock's execution still runs.
    pub executions: Runs,
    /// The plan's cache, read through its Sentinels.
    pub cache: Cache,
}

/// The handler: built once at init, called per request. (Its port list is long; issue 20
/// names it among the type parameters to give meaning.)
#[derive(Debug)]
#[allow(clippy::type_complexity)]
pub struct Handler<
    Db,
    Lag,
    Ecs,
    Asg,
    Records,
    Checks,
    Arc,
    Topic,
    Params,
    S3,
    Sink,
    Time,
    Runs,
    Cache,
> {
    pub config: Config,
    pub ports:
        Ports<Db, Lag, Ecs, Asg, Records, Checks, Arc, Topic, Params, S3, Sink, Time, Runs, Cache>,
}

impl<Db, Lag, Ecs, Asg, Records, Checks, Arc, Topic, Params, S3, Sink, Time, Runs, Cache>
    Handler<Db, Lag, Ecs, Asg, Records, Checks, Arc, Topic, Params, S3, Sink, Time, Runs, Cache>
where
    Db: lifeboat_core::ports::AnyDatabase + lifeboat_core::ports::DatabaseCapacity,
    Lag: ReplicationLagSource,
    Ecs: EcsServices,
    Asg: AutoScalingGroups,
    Records: RecordSets,
    Checks: HealthChecks,
    Arc: RoutingControls,
    Topic: Topics + Notifier,
    Params: ParameterStore,
    S3: Buckets,
    Sink: LineSink,
    Time: Clock,
    Runs: lifeboat_core::ports::WorkflowStarter,
    Cache: lifeboat_core::ports::CacheNodes,
{
    pub async fn handle(&self, event: Value) -> Result<Response> {
        Scheduled::parse("readiness", event)?;
        let p = &self.ports;
        let region = &self.config.plan.region;
        let plan = store::load_plan(&p.params, &self.config.plan.plan_parameter).await?;
        let now = p.clock.now();
        let account = Account {
            db: &p.db,
            lag: &p.lag,
            ecs: &p.ecs,
            asg: &p.asg,
            records: &p.records,
            health_checks: &p.health_checks,
            routing: &p.routing,
            topics: &p.sns,
            params: &p.params,
            buckets: &p.buckets,
            cache: &p.cache,
        };
        let mut report = evaluate(&account, &plan, region, &self.config.secrets(), now).await?;
        report
            .findings
            .extend(lifeboat_core::readiness::permission_scopes(
                &plan,
                &self.config.scopes,
            ));
        if let Some(stale) = store::inspect_lock(&p.params, &p.executions, plan.app(), now)
            .await?
            .stale()
        {
            report
                .findings
                .push(lifeboat_core::readiness::Finding::stale_lock(
                    plan.app(),
                    stale,
                ));
        }
        p.metrics.line(&emf(&report));
        let notified = self.notify_on_change(&plan, &report).await?;
        tracing::info!(
            worst = report.worst().as_str(),
            critical = report.count(Severity::Critical),
            warnings = report.count(Severity::Warning),
            notified,
            "readiness evaluated"
        );
        Ok(Response { report, notified })
    }

    async fn notify_on_change(&self, plan: &ValidPlan, report: &ReadinessReport) -> Result<bool> {
        let p = &self.ports;
        let name = last_parameter(plan, &report.target_region);
        let last: Option<LastEvaluation> = match p.params.get(&name).await? {
            // An unreadable record is treated as "never evaluated": it is rewritten below.
            Some(text) => serde_json::from_str(&text).ok(),
            None => None,
        };
        let digest = report.digest();
        let changed = match &last {
            Some(l) => l.digest != digest,
            None => report.worst() != Severity::Ok,
        };
        if changed {
            let topic = &plan.region(&report.target_region)?.notification_topic_arn;
            let subject = match (report.worst(), &last) {
                (Severity::Ok, Some(_)) => format!("lifeboat {}: ready again", report.app),
                (Severity::Ok, None) => format!("lifeboat {}: ready", report.app),
                (Severity::Warning, _) => format!("lifeboat {}: readiness warnings", report.app),
                (Severity::Critical, _) => format!(
                    "lifeboat {}: NOT READY to fail over into {}",
                    report.app, report.target_region
                ),
            };
            p.sns.publish(topic, &subject, &report.text()).await?;
        }
        // Written after the publish: a failed publish is tried again at the next schedule.
        if changed || last.is_none() {
            let record = LastEvaluation {
                digest,
                worst: report.worst(),
                // RFC 3339 fails only for years outside 0..=9999, which a clock never gives.
                checked_at: report
                    .checked_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            };
            let text = serde_json::to_string(&record)
                .map_err(|e| lifeboat_core::Error::internal(format!("encode {name}: {e}")))?;
            p.params.put(&name, &text).await?;
        }
        Ok(changed)
    }
}

/// One Embedded Metric Format line for an evaluation ([`metrics`]).
pub fn emf(report: &ReadinessReport) -> String {
    let count = |s| u64::try_from(report.count(s)).unwrap_or(u64::MAX);
    metrics::emf(
        report.checked_at,
        &[
            (metrics::DIM_APP, &report.app),
            (metrics::DIM_REGION, &report.target_region),
        ],
        &[
            (
                metrics::READINESS_CRITICAL,
                Unit::Count,
                count(Severity::Critical),
            ),
            (
                metrics::READINESS_WARNINGS,
                Unit::Count,
                count(Severity::Warning),
            ),
            (
                metrics::READY,
                Unit::None,
                u64::from(report.worst() != Severity::Critical),
            ),
        ],
    )
}

#[cfg(test)]
mod tests;
