//! The plan: one versioned document that describes an application for lifeboat.
//!
//! Functions read it from SSM Parameter Store, the CLI from a file. It may be JSON or YAML.
//! [`Plan::parse`] checks the syntax and the shape, [`Plan::validate`] checks the meaning and
//! reports *every* problem at once, each naming the field; only a [`ValidPlan`] reaches the
//! decisions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// The plan format version this build reads and writes.
pub const PLAN_VERSION: u32 = 1;

/// A lifeboat plan (format version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Plan format version. This build reads version 1.
    pub version: u32,
    /// Short application name (lowercase letters, digits, '-'; at most 32). Used in parameter
    /// names (`/lifeboat/<app>/...`) and in run (execution) names.
    pub app: String,
    /// The region that serves traffic in normal operation ("home").
    pub primary_region: String,
    /// Exactly two regions, keyed by region name (e.g. `us-east-1`).
    pub regions: BTreeMap<String, RegionPlan>,
    /// The Aurora global database.
    pub database: DatabasePlan,
    /// Whether a person must approve, and what a timeout does.
    #[serde(default)]
    pub approval: ApprovalPlan,
    /// What may start a run, and how often.
    pub triggers: TriggerPlan,
    /// How traffic moves between regions.
    pub traffic: TrafficPlan,
    /// When the shop may come home after a failover.
    #[serde(default)]
    pub failback: FailbackPlan,
    /// How the old primary region is taken out of service (a failover with data loss, and the
    /// old region's own copy when it comes back while another region holds the writer).
    #[serde(default)]
    pub fencing: FencingPlan,
}

/// What "fenced" means for a region's compute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FencingPlan {
    /// Every ECS service's desired count, and every Auto Scaling group's min and desired, in a
    /// fenced region (default 0: nothing of the shop runs there). At most every standby level
    /// of the home region: fencing never scales up.
    #[serde(default)]
    pub compute_count: u32,
}

/// Failback policy (the lag threshold is `database.failback_max_lag_seconds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailbackPlan {
    /// The home region's health endpoints must have answered OK for this long, without a
    /// failure, before a failback may start (minutes).
    #[serde(default = "default_home_healthy_minutes")]
    pub home_healthy_minutes: u32,
}

fn default_home_healthy_minutes() -> u32 {
    30
}

impl Default for FailbackPlan {
    fn default() -> Self {
        Self {
            home_healthy_minutes: default_home_healthy_minutes(),
        }
    }
}

/// What lifeboat needs to know about one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionPlan {
    /// ARN of this region's member cluster of the global database.
    pub db_cluster_arn: String,
    /// SNS topic in this region for approval requests and run reports.
    pub notification_topic_arn: String,
    /// The cluster's writer endpoint, `host:port` (e.g.
    /// `shop-use1.cluster-c0shop.us-east-1.rds.amazonaws.com:5432`): the database's data plane.
    /// When the cluster's RDS API does not answer, a connection to this endpoint tells a dark
    /// region (no failover with data loss without it failing too) from a control-plane fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_endpoint: Option<String>,
    /// Compute to scale up when this region becomes active.
    #[serde(default)]
    pub compute: ComputePlan,
    /// This region's own health endpoints (probed by the canary in the other region, and by
    /// verify after a shift).
    #[serde(default)]
    pub health_endpoints: Vec<HealthEndpoint>,
    /// Checks through the public name(s) that must pass once traffic has moved to this region
    /// (verify), e.g. `https://www.shop.example.com/healthz` answering with this region's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_checks: Vec<HealthEndpoint>,
    /// Traffic resources that point at this region.
    #[serde(default)]
    pub traffic: RegionTraffic,
    /// S3 buckets in this region whose objects the shop needs in the other region too: each must
    /// have versioning on and an enabled replication rule into one of the other region's buckets
    /// (checked by readiness).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
}

/// The Aurora global database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabasePlan {
    /// Global cluster identifier.
    pub global_cluster_id: String,
    /// RPO guard: the largest replication lag (seconds) accepted for an unplanned failover
    /// (which may lose the writes not yet replicated). Above it lifeboat refuses unless a person
    /// explicitly overrides.
    pub rpo_guard_seconds: u32,
    /// Failback starts only when the lag is below this (seconds).
    #[serde(default = "default_failback_max_lag_seconds")]
    pub failback_max_lag_seconds: u32,
}

fn default_failback_max_lag_seconds() -> u32 {
    1
}

/// Approval policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPlan {
    /// Whether a person must approve before anything changes (default: true).
    #[serde(default = "default_true")]
    pub required: bool,
    /// How long to wait for a decision (minutes).
    #[serde(default = "default_approval_timeout_minutes")]
    pub timeout_minutes: u32,
    /// What a timeout does: `abort` (default) or `proceed`.
    #[serde(default)]
    pub on_timeout: OnTimeout,
    /// With `on_timeout: proceed`: proceed only once the outage has been confirmed for this many
    /// minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proceed_after_outage_minutes: Option<u32>,
    /// SSM SecureString parameter holding the Slack incoming-webhook URL, if Slack is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_webhook_parameter: Option<String>,
    /// Who may decide. Empty (the default): whoever holds the e-mail link or sees the Slack
    /// card. Named: only they; anyone else is refused (HTTP 403, nothing sent to the run).
    #[serde(default, skip_serializing_if = "Approvers::is_empty")]
    pub approvers: Approvers,
}

/// The people who may approve or reject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approvers {
    /// Slack user ids (`U0123ABCD`): a Slack decision is attributed to the user in Slack's
    /// signed payload, never to a typed name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_user_ids: Vec<String>,
    /// E-mail addresses: a decision through the e-mail link must give one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
}

/// Who is deciding, as the channel identifies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approver<'a> {
    /// From Slack's signed interaction payload.
    SlackUser { id: &'a str },
    /// Typed on the e-mail link's confirmation page.
    Email { address: &'a str },
}

impl Approvers {
    pub fn is_empty(&self) -> bool {
        self.slack_user_ids.is_empty() && self.emails.is_empty()
    }

    /// Whether `who` may decide: anyone when nobody is named; else only a named person, through
    /// the channel they are named for.
    pub fn may_decide(&self, who: Approver<'_>) -> bool {
        if self.is_empty() {
            return true;
        }
        match who {
            Approver::SlackUser { id } => self.slack_user_ids.iter().any(|u| u == id),
            Approver::Email { address } => self
                .emails
                .iter()
                .any(|e| e.eq_ignore_ascii_case(address.trim())),
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_approval_timeout_minutes() -> u32 {
    15
}

impl Default for ApprovalPlan {
    fn default() -> Self {
        Self {
            required: true,
            timeout_minutes: default_approval_timeout_minutes(),
            on_timeout: OnTimeout::Abort,
            proceed_after_outage_minutes: None,
            slack_webhook_parameter: None,
            approvers: Approvers::default(),
        }
    }
}

/// What an approval timeout does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// Nobody answered: do nothing and report.
    #[default]
    Abort,
    /// Nobody answered: proceed, once the outage is confirmed for long enough.
    Proceed,
}

/// What may start a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerPlan {
    /// Names of the CloudWatch alarms (in the standby region) whose transition into ALARM may
    /// start a failover run. Other alarms are reported and ignored.
    pub alarms: Vec<String>,
    /// Events within one window of this many seconds belong to one incident and collapse into
    /// one run.
    #[serde(default = "default_incident_window_seconds")]
    pub incident_window_seconds: u32,
    /// Minimum time between the end of one run and the start of the next (seconds).
    #[serde(default = "default_min_seconds_between_runs")]
    pub min_seconds_between_runs: u32,
    /// Canary events (source `lifeboat.probe`) count when at least `failures_required` of the
    /// last `of_probes` probes failed.
    #[serde(default)]
    pub canary: CanaryPlan,
}

fn default_incident_window_seconds() -> u32 {
    900
}

fn default_min_seconds_between_runs() -> u32 {
    3600
}

/// k-of-n rule for canary events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanaryPlan {
    /// k: failed probes required.
    pub failures_required: u32,
    /// n: probes considered.
    pub of_probes: u32,
}

impl Default for CanaryPlan {
    fn default() -> Self {
        Self {
            failures_required: 3,
            of_probes: 5,
        }
    }
}

/// How traffic is moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficPlan {
    /// `record_upsert`, `health_check` or `routing_control`.
    pub mode: TrafficMode,
    /// How long verify keeps trying after the shift before the run fails (resolvers keep the
    /// old answer up to the records' TTL: at least the largest TTL of the shifted records).
    #[serde(default = "default_verify_deadline_seconds")]
    pub verify_deadline_seconds: u32,
    /// Route 53 ARC cluster endpoints (mode `routing_control`); tried in turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arc_cluster_endpoints: Vec<ArcClusterEndpoint>,
}

fn default_verify_deadline_seconds() -> u32 {
    120
}

/// The state machines' execution timeout (`TimeoutSeconds` of both ASL definitions; a contract
/// test keeps them equal).
pub const EXECUTION_TIMEOUT_SECONDS: u32 = 14_400;

/// The step deadline the functions use unless configured (`LIFEBOAT_STEP_DEADLINE_SECONDS`).
pub const DEFAULT_STEP_DEADLINE_SECONDS: u32 = 1_800;
/// The canary's (health-probe's) Lambda timeout (infra/template.yaml, Globals).
pub const CANARY_TIMEOUT_SECONDS: u32 = 30;
/// What the canary's probes may take of it: the rest reads the plan and sends the event.
pub const CANARY_PROBE_BUDGET_MS: u64 = 25_000;
/// The pause between two probes (health-probe's `LIFEBOAT_PROBE_INTERVAL_MS` default).
pub const DEFAULT_PROBE_INTERVAL_MS: u64 = 2_000;

/// The longest a run may take by the plan: the approval wait (and, on `proceed`, the outage
/// confirmation), the promotion ‖ scale-up and the traffic shift each up to `step_deadline`, and
/// verify's deadline.
pub fn longest_run_seconds(plan: &Plan, step_deadline_seconds: u32) -> u64 {
    let ap = &plan.approval;
    let mut approval = u64::from(ap.timeout_minutes) * 60;
    if ap.on_timeout == OnTimeout::Proceed {
        approval += u64::from(ap.proceed_after_outage_minutes.unwrap_or(0)) * 60;
    }
    approval
        + 2 * u64::from(step_deadline_seconds)
        + u64::from(plan.traffic.verify_deadline_seconds)
}

/// Traffic-shifting mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrafficMode {
    /// UPSERT the region's records (control plane, us-east-1).
    RecordUpsert,
    /// Failover records driven by health checks; flipped by inverting the checks.
    HealthCheck,
    /// Route 53 ARC routing controls (data plane; recommended by AWS for regional failover).
    RoutingControl,
}

/// One Route 53 ARC cluster endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArcClusterEndpoint {
    pub endpoint: String,
    pub region: String,
}

/// Traffic resources for one region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionTraffic {
    /// Records to UPSERT when this region becomes active (mode `record_upsert`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosted_zones: Vec<HostedZoneRecords>,
    /// Health checks guarding this region's failover records (mode `health_check`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_check_ids: Vec<String>,
    /// Routing controls that send traffic to this region (mode `routing_control`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_control_arns: Vec<String>,
}

/// Records of one hosted zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedZoneRecords {
    pub zone_id: String,
    pub records: Vec<RecordPlan>,
}

/// One record set, as it must read when this region is active.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPlan {
    pub name: String,
    /// `A`, `AAAA`, `CNAME` or `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    pub values: Vec<String>,
}

fn default_ttl() -> u32 {
    60
}

/// Compute per region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComputePlan {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecs_services: Vec<EcsServicePlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub autoscaling_groups: Vec<AutoScalingGroupPlan>,
}

/// An ECS service with its standby and active desired counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EcsServicePlan {
    pub cluster: String,
    pub service: String,
    pub standby_count: u32,
    pub active_count: u32,
}

/// An Auto Scaling group with its standby and active capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoScalingGroupPlan {
    pub name: String,
    pub standby: Capacity,
    pub active: Capacity,
}

/// Min and desired capacity of an Auto Scaling group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub min: u32,
    pub desired: u32,
}

/// An HTTP health endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthEndpoint {
    pub url: String,
    #[serde(default = "default_expect_status")]
    pub expect_status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_body_contains: Option<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
}

fn default_expect_status() -> u16 {
    200
}

fn default_timeout_ms() -> u32 {
    2000
}

/// One validation problem, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a plan cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// Not JSON/YAML, or not of the plan's shape (unknown field, wrong type, missing field).
    #[error("the plan cannot be read: {0}")]
    Syntax(String),
    /// Well-formed, but wrong; every problem is listed.
    #[error("the plan has {} problem(s):\n{}", .0.len(), render_problems(.0))]
    Invalid(Vec<Problem>),
}

fn render_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl PlanError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            PlanError::Syntax(_) => &[],
            PlanError::Invalid(p) => p,
        }
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        Error::new(ErrorKind::InvalidInput, e.to_string())
    }
}

impl Plan {
    /// Parse a plan written in JSON (first non-blank character `{`) or YAML.
    pub fn parse(text: &str) -> Result<Plan, PlanError> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| PlanError::Syntax(e.to_string()))
        } else {
            serde_norway::from_str(text).map_err(|e| PlanError::Syntax(e.to_string()))
        }
    }

    /// Check everything, report every problem.
    pub fn validate(self) -> Result<ValidPlan, PlanError> {
        let problems = validate(&self);
        if problems.is_empty() {
            Ok(ValidPlan(self))
        } else {
            Err(PlanError::Invalid(problems))
        }
    }

    /// The JSON Schema of the plan document, generated from these types (object keys sorted,
    /// whatever serde_json's `preserve_order` feature says).
    pub fn json_schema() -> serde_json::Value {
        let schema = schemars::schema_for!(Plan);
        sorted(serde_json::to_value(&schema).unwrap_or(serde_json::Value::Null))
    }
}

fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let entries: BTreeMap<String, serde_json::Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            serde_json::Value::Object(entries.into_iter().collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

/// A plan that passed validation. Only these reach decisions and adapters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidPlan(Plan);

impl ValidPlan {
    /// Parse and validate in one step.
    pub fn parse(text: &str) -> Result<ValidPlan, PlanError> {
        Plan::parse(text)?.validate()
    }

    pub fn plan(&self) -> &Plan {
        &self.0
    }

    pub fn app(&self) -> &str {
        &self.0.app
    }

    pub fn primary_region(&self) -> &str {
        &self.0.primary_region
    }

    /// Whether `region` is one of the plan's two regions.
    pub fn has_region(&self, region: &str) -> bool {
        self.0.regions.contains_key(region)
    }

    /// The plan's settings for `region`.
    pub fn region(&self, region: &str) -> crate::Result<&RegionPlan> {
        self.0.regions.get(region).ok_or_else(|| {
            Error::invalid_input(format!(
                "region {region} is not in plan '{}' (regions: {})",
                self.0.app,
                self.region_names().join(", ")
            ))
        })
    }

    /// The other of the two regions.
    pub fn other_region(&self, region: &str) -> crate::Result<&str> {
        self.region(region)?;
        self.0
            .regions
            .keys()
            .find(|r| r.as_str() != region)
            .map(String::as_str)
            .ok_or_else(|| Error::internal("a valid plan has two regions"))
    }

    pub fn region_names(&self) -> Vec<&str> {
        self.0.regions.keys().map(String::as_str).collect()
    }

    /// Which region a database member cluster ARN belongs to, if it is one of the plan's.
    pub fn region_of_cluster(&self, cluster_arn: &str) -> Option<&str> {
        self.0
            .regions
            .iter()
            .find(|(_, r)| r.db_cluster_arn == cluster_arn)
            .map(|(name, _)| name.as_str())
    }

    pub fn database(&self) -> &DatabasePlan {
        &self.0.database
    }

    pub fn rpo_guard(&self) -> Duration {
        Duration::from_secs(u64::from(self.0.database.rpo_guard_seconds))
    }

    pub fn failback(&self) -> &FailbackPlan {
        &self.0.failback
    }

    pub fn approval(&self) -> &ApprovalPlan {
        &self.0.approval
    }

    pub fn triggers(&self) -> &TriggerPlan {
        &self.0.triggers
    }

    pub fn fencing(&self) -> &FencingPlan {
        &self.0.fencing
    }

    pub fn traffic(&self) -> &TrafficPlan {
        &self.0.traffic
    }

    /// Prefix of every SSM parameter lifeboat keeps for this app.
    pub fn parameter_prefix(&self) -> String {
        crate::params::prefix(&self.0.app)
    }
}

/// Parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut parts = s.splitn(6, ':');
        let (arn, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (arn == "arn"
            && partition.starts_with("aws")
            && !service.is_empty()
            && !resource.is_empty())
        .then_some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// The cluster identifier at the end of an RDS cluster ARN (`...:cluster:<id>`).
pub fn cluster_id_from_arn(arn: &str) -> Option<&str> {
    Arn::parse(arn)?.resource.strip_prefix("cluster:")
}

/// Whether `s` looks like an AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let (first, last) = match (parts.first(), parts.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return false,
    };
    parts.len() >= 3
        && first.len() == 2
        && first.chars().all(|c| c.is_ascii_lowercase())
        && !last.is_empty()
        && last.chars().all(|c| c.is_ascii_digit())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
}

/// S3's bucket naming rules (general purpose buckets): 3-63 characters of lowercase letters,
/// digits, '.' and '-', starting and ending with a letter or digit.
pub fn is_bucket_name(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&s.len())
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && !s.contains("..")
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    fn check(&mut self, ok: bool, field: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.fail(field, message);
        }
    }

    fn arn(
        &mut self,
        field: &str,
        value: &str,
        service: &str,
        region: &str,
        resource_prefix: &str,
    ) {
        match Arn::parse(value) {
            None => self.fail(field, format!("'{value}' is not an ARN")),
            Some(arn) => {
                self.check(
                    arn.service == service,
                    field,
                    format!("expected an {service} ARN, got service '{}'", arn.service),
                );
                self.check(
                    arn.region == region,
                    field,
                    format!(
                        "ARN is in region '{}' but belongs to region {region}",
                        arn.region
                    ),
                );
                self.check(
                    arn.account.len() == 12 && arn.account.chars().all(|c| c.is_ascii_digit()),
                    field,
                    format!("ARN account '{}' is not a 12-digit account id", arn.account),
                );
                self.check(
                    arn.resource.starts_with(resource_prefix)
                        && arn.resource.len() > resource_prefix.len(),
                    field,
                    format!("ARN resource must start with '{resource_prefix}'"),
                );
            }
        }
    }

    fn range(&mut self, field: &str, value: u64, min: u64, max: u64) {
        self.check(
            (min..=max).contains(&value),
            field,
            format!("{value} is out of range {min}..={max}"),
        );
    }
}

/// The same resource's ARN in the other copy's region (lifeboat deploys the same names in both
/// regions): `arn:aws:states:us-west-2:...` with `region` → `peer` becomes `...us-east-1...`.
pub fn arn_in_region(arn: &str, region: &str, peer: &str) -> String {
    arn.replacen(&format!(":{region}:"), &format!(":{peer}:"), 1)
}

/// `host:port`: a DNS name or IPv4 address, and a port 1..=65535.
pub fn is_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

fn is_identifier(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= max
        && chars.all(|c| c.is_ascii_alphanumeric() || "-:._".contains(c))
}

fn validate(plan: &Plan) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    c.check(
        plan.version == PLAN_VERSION,
        "version",
        format!(
            "unsupported plan version {}; this build reads version {PLAN_VERSION}",
            plan.version
        ),
    );
    let app_ok = !plan.app.is_empty()
        && plan.app.len() <= 32
        && plan.app.starts_with(|c: char| c.is_ascii_lowercase())
        && plan
            .app
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    c.check(
        app_ok,
        "app",
        "must be 1-32 characters: lowercase letters, digits and '-', starting with a letter",
    );
    c.check(
        plan.regions.len() == 2,
        "regions",
        format!(
            "must name exactly two regions, found {}",
            plan.regions.len()
        ),
    );
    c.check(
        plan.regions.contains_key(&plan.primary_region),
        "primary_region",
        format!("'{}' is not one of the plan's regions", plan.primary_region),
    );

    let mut cluster_arns = BTreeSet::new();
    for (name, region) in &plan.regions {
        let at = format!("regions.{name}");
        c.check(
            is_region_name(name),
            &at,
            format!("'{name}' is not a region name"),
        );
        c.arn(
            &format!("{at}.db_cluster_arn"),
            &region.db_cluster_arn,
            "rds",
            name,
            "cluster:",
        );
        c.check(
            cluster_arns.insert(region.db_cluster_arn.as_str()),
            format!("{at}.db_cluster_arn"),
            "the same cluster is named for both regions",
        );
        c.arn(
            &format!("{at}.notification_topic_arn"),
            &region.notification_topic_arn,
            "sns",
            name,
            "",
        );
        if let Some(ep) = &region.db_endpoint {
            c.check(
                is_host_port(ep),
                format!("{at}.db_endpoint"),
                format!("'{}' is not host:port", crate::text::inert(ep, 80)),
            );
        }
        validate_compute(&mut c, &at, &region.compute);
        if *name == plan.primary_region {
            validate_fencing(&mut c, &at, &region.compute, plan.fencing.compute_count);
        }
        let endpoints = region
            .health_endpoints
            .iter()
            .enumerate()
            .map(|(i, ep)| (format!("{at}.health_endpoints[{i}]"), ep))
            .chain(
                region
                    .public_checks
                    .iter()
                    .enumerate()
                    .map(|(i, ep)| (format!("{at}.public_checks[{i}]"), ep)),
            );
        for (f, ep) in endpoints {
            c.check(
                ep.url.starts_with("http://") || ep.url.starts_with("https://"),
                format!("{f}.url"),
                "must be an http:// or https:// URL",
            );
            c.range(
                &format!("{f}.expect_status"),
                ep.expect_status.into(),
                100,
                599,
            );
            c.range(&format!("{f}.timeout_ms"), ep.timeout_ms.into(), 1, 30_000);
        }
        validate_region_traffic(&mut c, &at, name, &plan.traffic, &region.traffic);
        for (i, bucket) in region.buckets.iter().enumerate() {
            c.check(
                is_bucket_name(bucket),
                format!("{at}.buckets[{i}]"),
                format!(
                    "'{bucket}' is not an S3 bucket name (3-63 lowercase letters, digits, '.', '-')"
                ),
            );
        }
    }

    let db = &plan.database;
    c.check(
        is_identifier(&db.global_cluster_id, 255),
        "database.global_cluster_id",
        "must start with a letter and hold only letters, digits and '-:._' (at most 255)",
    );
    c.range(
        "database.rpo_guard_seconds",
        db.rpo_guard_seconds.into(),
        1,
        86_400,
    );
    c.range(
        "database.failback_max_lag_seconds",
        db.failback_max_lag_seconds.into(),
        0,
        3_600,
    );

    c.range(
        "failback.home_healthy_minutes",
        plan.failback.home_healthy_minutes.into(),
        1,
        1_440,
    );

    let ap = &plan.approval;
    c.range(
        "approval.timeout_minutes",
        ap.timeout_minutes.into(),
        1,
        1_440,
    );
    match (ap.on_timeout, ap.proceed_after_outage_minutes) {
        (OnTimeout::Proceed, None) => c.fail(
            "approval.proceed_after_outage_minutes",
            "required when on_timeout is 'proceed'",
        ),
        (OnTimeout::Proceed, Some(m)) => {
            c.range("approval.proceed_after_outage_minutes", m.into(), 1, 1_440)
        }
        (OnTimeout::Abort, Some(_)) => c.fail(
            "approval.proceed_after_outage_minutes",
            "only meaningful when on_timeout is 'proceed'",
        ),
        (OnTimeout::Abort, None) => {}
    }
    if let Some(p) = &ap.slack_webhook_parameter {
        c.check(
            p.starts_with('/') && p.len() > 1,
            "approval.slack_webhook_parameter",
            "must be an SSM parameter name starting with '/'",
        );
    }
    for (i, id) in ap.approvers.slack_user_ids.iter().enumerate() {
        let ok = id.len() >= 3
            && id.len() <= 32
            && (id.starts_with('U') || id.starts_with('W'))
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        c.check(
            ok,
            format!("approval.approvers.slack_user_ids[{i}]"),
            format!(
                "'{}' is not a Slack user id (U or W, then capitals and digits)",
                crate::text::inert(id, 40)
            ),
        );
    }
    for (i, e) in ap.approvers.emails.iter().enumerate() {
        let ok = e.len() <= 254
            && e.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            })
            && !e.chars().any(|c| c.is_whitespace() || c.is_control());
        c.check(
            ok,
            format!("approval.approvers.emails[{i}]"),
            format!("'{}' is not an e-mail address", crate::text::inert(e, 60)),
        );
    }

    let tr = &plan.triggers;
    c.check(
        !tr.alarms.is_empty(),
        "triggers.alarms",
        "name at least one alarm (for example the canary's alarm)",
    );
    let mut seen = BTreeSet::new();
    for (i, a) in tr.alarms.iter().enumerate() {
        c.check(
            !a.trim().is_empty() && a.len() <= 255,
            format!("triggers.alarms[{i}]"),
            "alarm names are 1-255 characters",
        );
        c.check(
            seen.insert(a),
            format!("triggers.alarms[{i}]"),
            format!("'{a}' is listed twice"),
        );
    }
    c.range(
        "triggers.incident_window_seconds",
        tr.incident_window_seconds.into(),
        60,
        86_400,
    );
    c.range(
        "triggers.min_seconds_between_runs",
        tr.min_seconds_between_runs.into(),
        0,
        7 * 86_400,
    );
    if tr.min_seconds_between_runs > 0 && tr.min_seconds_between_runs < tr.incident_window_seconds {
        c.fail(
            "triggers.min_seconds_between_runs",
            format!(
                "{} s is shorter than triggers.incident_window_seconds ({} s): one incident would get a second automatic run; make it at least the window, or 0 (no pause: a closed run's next trigger starts a new attempt)",
                tr.min_seconds_between_runs, tr.incident_window_seconds
            ),
        );
    }
    let longest = longest_run_seconds(plan, DEFAULT_STEP_DEADLINE_SECONDS);
    if longest > u64::from(EXECUTION_TIMEOUT_SECONDS) {
        c.fail(
            "approval.timeout_minutes",
            format!(
                "the approval wait plus the step deadlines ({DEFAULT_STEP_DEADLINE_SECONDS} s each) and traffic.verify_deadline_seconds come to {longest} s, more than the state machine's execution timeout of {EXECUTION_TIMEOUT_SECONDS} s: a run could be cut off unrecorded"
            ),
        );
    }
    c.range(
        "traffic.verify_deadline_seconds",
        plan.traffic.verify_deadline_seconds.into(),
        1,
        3_600,
    );
    c.range(
        "triggers.canary.of_probes",
        tr.canary.of_probes.into(),
        1,
        100,
    );
    c.check(
        tr.canary.failures_required >= 1 && tr.canary.failures_required <= tr.canary.of_probes,
        "triggers.canary.failures_required",
        "must be between 1 and of_probes",
    );
    // A canary cut off by its own timeout reports nothing: silence, never an outage, but also no
    // evidence when it is needed. Its probes must fit its timeout.
    for (name, region) in &plan.regions {
        let slowest = region
            .health_endpoints
            .iter()
            .map(|e| u64::from(e.timeout_ms))
            .max()
            .unwrap_or(0);
        let probes = u64::from(tr.canary.of_probes);
        let worst = probes * slowest + probes.saturating_sub(1) * DEFAULT_PROBE_INTERVAL_MS;
        c.check(
            worst <= CANARY_PROBE_BUDGET_MS,
            "triggers.canary.of_probes",
            format!(
                "{probes} probes of {name}'s endpoints (slowest timeout_ms {slowest}, {DEFAULT_PROBE_INTERVAL_MS} ms apart) can take {worst} ms, more than the {CANARY_PROBE_BUDGET_MS} ms the canary has within its {CANARY_TIMEOUT_SECONDS} s timeout: fewer probes or shorter timeouts"
            ),
        );
    }

    if plan.traffic.mode == TrafficMode::RoutingControl {
        c.check(
            !plan.traffic.arc_cluster_endpoints.is_empty(),
            "traffic.arc_cluster_endpoints",
            "mode routing_control needs at least one ARC cluster endpoint",
        );
    }
    for (i, ep) in plan.traffic.arc_cluster_endpoints.iter().enumerate() {
        c.check(
            is_arc_endpoint_url(&ep.endpoint),
            format!("traffic.arc_cluster_endpoints[{i}].endpoint"),
            "must be an https:// URL (http:// only to 127.0.0.1 or localhost: an emulator on this machine)",
        );
        c.check(
            is_region_name(&ep.region),
            format!("traffic.arc_cluster_endpoints[{i}].region"),
            format!("'{}' is not a region name", ep.region),
        );
    }
    c.problems
}

fn validate_compute(c: &mut Checker, at: &str, compute: &ComputePlan) {
    for (i, s) in compute.ecs_services.iter().enumerate() {
        let f = format!("{at}.compute.ecs_services[{i}]");
        c.check(
            !s.cluster.is_empty(),
            format!("{f}.cluster"),
            "must not be empty",
        );
        c.check(
            !s.service.is_empty(),
            format!("{f}.service"),
            "must not be empty",
        );
        c.check(
            s.active_count >= s.standby_count,
            format!("{f}.active_count"),
            format!(
                "active count {} is below standby count {}",
                s.active_count, s.standby_count
            ),
        );
        c.range(
            &format!("{f}.active_count"),
            s.active_count.into(),
            1,
            5_000,
        );
    }
    for (i, g) in compute.autoscaling_groups.iter().enumerate() {
        let f = format!("{at}.compute.autoscaling_groups[{i}]");
        c.check(!g.name.is_empty(), format!("{f}.name"), "must not be empty");
        for (which, cap) in [("standby", g.standby), ("active", g.active)] {
            c.check(
                cap.min <= cap.desired,
                format!("{f}.{which}.min"),
                format!("min {} is above desired {}", cap.min, cap.desired),
            );
        }
        c.check(
            g.active.desired >= g.standby.desired,
            format!("{f}.active.desired"),
            format!(
                "active desired {} is below standby desired {}",
                g.active.desired, g.standby.desired
            ),
        );
        c.range(
            &format!("{f}.active.desired"),
            g.active.desired.into(),
            1,
            10_000,
        );
    }
}

/// Fencing never scales up: the fenced count is at most every standby level of the home
/// region (the region that is fenced when it comes back).
fn validate_fencing(c: &mut Checker, at: &str, compute: &ComputePlan, count: u32) {
    for (i, s) in compute.ecs_services.iter().enumerate() {
        c.check(
            count <= s.standby_count,
            "fencing.compute_count",
            format!(
                "{count} is above {at}.compute.ecs_services[{i}].standby_count {} (fencing \
                 never scales up)",
                s.standby_count
            ),
        );
    }
    for (i, g) in compute.autoscaling_groups.iter().enumerate() {
        c.check(
            count <= g.standby.min,
            "fencing.compute_count",
            format!(
                "{count} is above {at}.compute.autoscaling_groups[{i}].standby.min {} \
                 (fencing never scales up)",
                g.standby.min
            ),
        );
    }
}

/// An ARC cluster endpoint as the cluster lists it (`https://…`), or an emulator on this machine.
fn is_arc_endpoint_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return url.len() > "https://".len();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    name == "127.0.0.1" || name == "localhost"
}

fn validate_region_traffic(
    c: &mut Checker,
    at: &str,
    region: &str,
    plan: &TrafficPlan,
    traffic: &RegionTraffic,
) {
    let f = format!("{at}.traffic");
    match plan.mode {
        TrafficMode::RecordUpsert => c.check(
            traffic.hosted_zones.iter().any(|z| !z.records.is_empty()),
            format!("{f}.hosted_zones"),
            "mode record_upsert needs at least one hosted zone with records",
        ),
        TrafficMode::HealthCheck => c.check(
            !traffic.health_check_ids.is_empty(),
            format!("{f}.health_check_ids"),
            "mode health_check needs at least one health check",
        ),
        TrafficMode::RoutingControl => c.check(
            !traffic.routing_control_arns.is_empty(),
            format!("{f}.routing_control_arns"),
            "mode routing_control needs at least one routing control",
        ),
    }
    for (z, zone) in traffic.hosted_zones.iter().enumerate() {
        let zf = format!("{f}.hosted_zones[{z}]");
        c.check(
            !zone.zone_id.is_empty(),
            format!("{zf}.zone_id"),
            "must not be empty",
        );
        for (r, rec) in zone.records.iter().enumerate() {
            let rf = format!("{zf}.records[{r}]");
            c.check(
                !rec.name.is_empty(),
                format!("{rf}.name"),
                "must not be empty",
            );
            c.check(
                ["A", "AAAA", "CNAME", "TXT"].contains(&rec.record_type.as_str()),
                format!("{rf}.type"),
                format!("'{}' is not one of A, AAAA, CNAME, TXT", rec.record_type),
            );
            c.check(
                !rec.values.is_empty(),
                format!("{rf}.values"),
                "must not be empty",
            );
            c.range(&format!("{rf}.ttl"), rec.ttl.into(), 0, 172_800);
            c.check(
                rec.ttl <= plan.verify_deadline_seconds,
                format!("{rf}.ttl"),
                format!(
                    "{} s is longer than traffic.verify_deadline_seconds ({} s): Verify could give up while resolvers still serve the old answer; raise verify_deadline_seconds to at least {} or lower the TTL",
                    rec.ttl, plan.verify_deadline_seconds, rec.ttl
                ),
            );
        }
    }
    for (i, id) in traffic.health_check_ids.iter().enumerate() {
        c.check(
            !id.is_empty(),
            format!("{f}.health_check_ids[{i}]"),
            "must not be empty",
        );
    }
    for (i, arn) in traffic.routing_control_arns.iter().enumerate() {
        // Routing controls live in the ARC control plane (us-west-2), whatever region they serve.
        let ok = Arn::parse(arn).is_some_and(|a| a.service == "route53-recovery-control");
        c.check(
            ok,
            format!("{f}.routing_control_arns[{i}]"),
            format!("'{arn}' is not a route53-recovery-control ARN (region {region})"),
        );
    }
}

#[cfg(test)]
mod tests;
