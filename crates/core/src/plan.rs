//! The plan: one versioned document that describes an application for lifeboat.
//!
//! Functions read it from SSM Parameter Store, the CLI from a file. It may be JSON or YAML.
//! [`Plan::parse`] checks the syntax and the shape, [`Plan::validate`] checks the meaning and
//! reports *every* problem at once, each naming the field; only a [`ValidPlan`] reaches the
//! decisions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Error;

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
    /// The database: which provider (Aurora Global Database or PostgreSQL under Patroni), and
    /// the RPO guard every provider's promotion answers to.
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
    /// The shop's cache, when lifeboat moves it with the database: Redis under Sentinel in
    /// each region (`lifeboat_core::cache`). Without it lifeboat leaves the cache alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CachePlan>,
}

/// The shop's cache: which provider, and what a failover does with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CachePlan {
    pub provider: CacheProvider,
    /// The name the shop's clients ask Sentinel for (`SENTINEL GET-MASTER-ADDR-BY-NAME`),
    /// the same in both regions.
    pub master_name: String,
    /// What a failover does with the target region's cache.
    #[serde(default)]
    pub on_failover: CacheFailover,
    /// The quorum lifeboat gives the target region's Sentinels when they start watching its new
    /// master (`SENTINEL MONITOR`): at most the number of Sentinels each region lists.
    #[serde(default = "default_cache_quorum")]
    pub quorum: u32,
    /// SSM SecureString parameter holding the Redis password (`requirepass`, and the
    /// `auth-pass` lifeboat gives the Sentinels), the name, never the password. Without it the
    /// nodes are reached without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_parameter: Option<String>,
}

fn default_cache_quorum() -> u32 {
    2
}

/// A cache provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheProvider {
    /// Redis with Sentinel in each region; the standby region's nodes replicate the active
    /// region's master, and its Sentinels watch nothing until lifeboat promotes it.
    RedisSentinel,
}

/// What a failover does with the target region's cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheFailover {
    /// The target region's most up-to-date replica becomes the master (its data kept), its
    /// other nodes replicate it, and its Sentinels start watching it; the old region's
    /// Sentinels stop watching and its nodes replicate the new master, where they answer.
    #[default]
    Promote,
    /// The target region runs its own cache, empty or warm, already watched by its
    /// Sentinels: lifeboat only checks that it answers as the master.
    Cold,
}

/// One region's cache nodes and Sentinels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionCachePlan {
    /// The region's Redis nodes, `host:port`, in the order lifeboat prefers them when their
    /// replication offsets are equal.
    pub nodes: Vec<String>,
    /// The region's Sentinels, `host:port`.
    pub sentinels: Vec<String>,
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
    /// ARN of this region's member cluster of the global database (`database.provider:
    /// aurora_global`, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_cluster_arn: Option<String>,
    /// This region's Patroni cluster (`database.provider: patroni`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patroni: Option<RegionPatroniPlan>,
    /// This region's MySQL / MariaDB server (`database.provider: mysql`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<RegionMysqlPlan>,
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
    /// The database capacity of this region's cluster: `active` before traffic shifts into the
    /// region (set while the database is promoted and compute scales up), `standby` when a
    /// failback leaves it. Without it lifeboat leaves the cluster's capacity as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_capacity: Option<DatabaseCapacityPlan>,
    /// This region's cache nodes and Sentinels (with `cache`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<RegionCachePlan>,
}

/// The capacity of one region's Aurora cluster at each level (see `lifeboat_core::db_capacity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseCapacityPlan {
    /// The instance class of the cluster's provisioned instances (every instance that is not
    /// `db.serverless`), e.g. standby `db.r6g.large`, active `db.r6g.2xlarge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<InstanceClassLevels>,
    /// The cluster's Aurora Serverless v2 capacity range (it sizes its `db.serverless`
    /// instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverless_v2: Option<AcuLevels>,
}

/// An instance class at each level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceClassLevels {
    pub standby: String,
    pub active: String,
}

/// An Aurora Serverless v2 capacity range at each level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcuLevels {
    pub standby: AcuRange,
    pub active: AcuRange,
}

/// An Aurora Serverless v2 capacity range in ACUs (half steps; 0 to 256).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcuRange {
    pub min_acu: f64,
    pub max_acu: f64,
}

/// The database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabasePlan {
    /// Which database lifeboat promotes (default `aurora_global`).
    #[serde(default)]
    pub provider: DatabaseProvider,
    /// Global cluster identifier (`aurora_global`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_cluster_id: Option<String>,
    /// The Patroni REST API's credentials (`patroni`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patroni: Option<PatroniPlan>,
    /// lifeboat's logins to the MySQL / MariaDB servers (`mysql`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MysqlPlan>,
    /// RPO guard: the largest replication lag (seconds) accepted for an unplanned failover
    /// (which may lose the writes not yet replicated). Above it lifeboat refuses unless a person
    /// explicitly overrides.
    pub rpo_guard_seconds: u32,
    /// Failback starts only when the lag is below this (seconds).
    #[serde(default = "default_failback_max_lag_seconds")]
    pub failback_max_lag_seconds: u32,
}

/// A database provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseProvider {
    /// Aurora Global Database: `database.global_cluster_id` and each region's
    /// `db_cluster_arn`.
    #[default]
    AuroraGlobal,
    /// PostgreSQL under Patroni, one cluster (and DCS) per region, the standby region's a
    /// standby cluster (`lifeboat_core::patroni`): `database.patroni` and each region's
    /// `patroni.members`.
    Patroni,
    /// MySQL / MariaDB with a GTID binlog replica in the other region (`lifeboat_core::mysql`):
    /// `database.mysql` and each region's `mysql.server`.
    Mysql,
}

impl DatabaseProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseProvider::AuroraGlobal => "aurora_global",
            DatabaseProvider::Patroni => "patroni",
            DatabaseProvider::Mysql => "mysql",
        }
    }
}

/// What lifeboat needs to change a Patroni cluster's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatroniPlan {
    /// The REST API's user (`restapi.authentication.username`).
    pub username: String,
    /// SSM SecureString parameter holding the REST API's password
    /// (`restapi.authentication.password`): the name, never the password.
    pub password_parameter: String,
}

/// One region's Patroni cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionPatroniPlan {
    /// Every member's REST API base URL (`http://10.0.0.5:8008`), reachable from lifeboat's
    /// functions; no credentials in the URL.
    pub members: Vec<String>,
}

/// lifeboat's logins to the MySQL / MariaDB servers: its own user on both (to read them, make
/// them read-only or writable, and start and stop replication) and the replication user a
/// replica connects to its source with. Passwords live in SSM SecureStrings: the names here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MysqlPlan {
    /// lifeboat's user on both servers (privileges: docs/linode.md).
    pub user: String,
    /// SSM SecureString parameter holding that user's password.
    pub password_parameter: String,
    /// The user replicas connect to their source with (`REPLICATION SLAVE`).
    pub replication_user: String,
    /// SSM SecureString parameter holding the replication user's password.
    pub replication_password_parameter: String,
    /// TLS to the servers, required and verified when present (the server's certificate must
    /// name the address in `server`). Without it lifeboat connects without TLS: only over a
    /// private path (docs/linode.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<MysqlTlsPlan>,
}

/// How lifeboat trusts the MySQL servers' certificates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MysqlTlsPlan {
    /// Parameter holding the CA certificate (PEM) that signed the servers' certificates; only
    /// that CA is trusted. Without it, the public CAs are (webpki's roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_parameter: Option<String>,
}

/// One region's MySQL / MariaDB server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionMysqlPlan {
    /// `host:port` (e.g. `10.0.0.5:3306`), reachable from lifeboat's functions and from the
    /// other region's server (a replica connects to its source at this address).
    pub server: String,
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
    /// Alertmanager's webhook (version 4) as a trigger: a firing alert the plan names, posted
    /// with the plan's bearer token, counts like an alarm going into ALARM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<AlertmanagerPlan>,
}

/// Alertmanager as a trigger. Point a receiver's `webhook_configs` at lifeboat's
/// `/alertmanager` URL with `http_config.authorization.credentials` set to the token. Alertmanager
/// sends nothing for a silenced or inhibited alert, and a `resolved` alert never starts a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerPlan {
    /// SSM SecureString parameter holding the bearer token Alertmanager sends (the name, never
    /// the value).
    pub token_parameter: String,
    /// The alerts that may start a run; any other alert is reported and ignored.
    pub alerts: Vec<AlertRule>,
}

/// One alert the plan acts on: its `alertname`, labels it must carry with these values, and the
/// plan region it says is down (a run only ever fails over away from that region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    pub alertname: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub region: String,
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
    /// `record_upsert`, `health_check` or `routing_control` (Route 53), `digitalocean`
    /// (DigitalOcean DNS) or `linode` (Linode DNS Manager).
    pub mode: TrafficMode,
    /// How long verify keeps trying after the shift before the run fails (resolvers keep the
    /// old answer up to the records' TTL: at least the largest TTL of the shifted records).
    #[serde(default = "default_verify_deadline_seconds")]
    pub verify_deadline_seconds: u32,
    /// Route 53 ARC cluster endpoints (mode `routing_control`); tried in turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arc_cluster_endpoints: Vec<ArcClusterEndpoint>,
    /// DigitalOcean's API (mode `digitalocean`): the SecureString with the API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digitalocean: Option<DnsProviderPlan>,
    /// Linode's API (mode `linode`): the SecureString with the API token (a personal access
    /// token with the `domains:read_write` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linode: Option<DnsProviderPlan>,
    /// Shift traffic once the database is the writer and every ECS service and Auto Scaling
    /// group of the target region has at least this share (percent) of its active capacity
    /// running or in service; scale-up goes on to full capacity after the shift. 100 (the
    /// default): full capacity first. A warm-standby shop whose standby runs half its active
    /// capacity can say 50 and shift as soon as the database is promoted.
    #[serde(
        default = "default_shift_at_capacity_percent",
        skip_serializing_if = "is_full_capacity"
    )]
    pub shift_at_capacity_percent: u32,
}

fn default_shift_at_capacity_percent() -> u32 {
    crate::capacity::FULL_CAPACITY_PERCENT
}

fn is_full_capacity(percent: &u32) -> bool {
    *percent == crate::capacity::FULL_CAPACITY_PERCENT
}

fn default_verify_deadline_seconds() -> u32 {
    120
}

/// The state machines' execution timeout (`TimeoutSeconds` of both ASL definitions; a contract
/// test keeps them equal).
pub const EXECUTION_TIMEOUT_SECONDS: u32 = 14_400;

/// The step deadline the functions use unless configured (`LIFEBOAT_STEP_DEADLINE_SECONDS`).
pub const DEFAULT_STEP_DEADLINE_SECONDS: u32 = 1_800;
/// The canary's (health-probe's) Lambda timeout (infra/template.yaml, HealthProbe; a contract
/// test keeps them equal): its watch of 72 s ([`crate::canary::DEFAULT_CADENCE`]) and a round.
pub const CANARY_TIMEOUT_SECONDS: u32 = 90;
/// What the canary's rounds may take of it: the rest reads the plan and sends the event.
pub const CANARY_PROBE_BUDGET_MS: u64 = 85_000;

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
    /// DigitalOcean DNS: the region's domain records set through DigitalOcean's API (one
    /// record per value; no atomic batch), the previous values kept, then read back.
    Digitalocean,
    /// Linode DNS Manager: likewise through Linode's API v4 (TTLs of 300 s and up, from the
    /// values Linode keeps).
    Linode,
}

impl TrafficMode {
    /// The DNS provider that holds the records, in the modes that set a provider's domains.
    pub fn dns_provider(self) -> Option<DnsProvider> {
        match self {
            TrafficMode::Digitalocean => Some(DnsProvider::Digitalocean),
            TrafficMode::Linode => Some(DnsProvider::Linode),
            TrafficMode::RecordUpsert | TrafficMode::HealthCheck | TrafficMode::RoutingControl => {
                None
            }
        }
    }
}

/// A DNS provider whose domains hold one record per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DnsProvider {
    Digitalocean,
    Linode,
}

impl DnsProvider {
    /// The plan's key for it (`traffic.<key>`, mode `<key>`).
    pub fn key(self) -> &'static str {
        match self {
            DnsProvider::Digitalocean => "digitalocean",
            DnsProvider::Linode => "linode",
        }
    }

    /// Its name as people write it.
    pub fn name(self) -> &'static str {
        match self {
            DnsProvider::Digitalocean => "DigitalOcean",
            DnsProvider::Linode => "Linode",
        }
    }

    /// The TTLs (seconds) a record may have so that the provider keeps it as sent: DigitalOcean
    /// takes 30 s and up; Linode rounds any other value to the nearest of its own.
    pub fn accepts_ttl(self, ttl: u32) -> bool {
        match self {
            DnsProvider::Digitalocean => ttl >= DIGITALOCEAN_MIN_TTL,
            DnsProvider::Linode => LINODE_TTLS.contains(&ttl),
        }
    }

    /// What [`accepts_ttl`](Self::accepts_ttl) asks, in words.
    pub fn ttl_rule(self) -> String {
        match self {
            DnsProvider::Digitalocean => {
                format!("DigitalOcean's smallest TTL is {DIGITALOCEAN_MIN_TTL} s")
            }
            DnsProvider::Linode => format!(
                "Linode keeps only TTLs of {} s (any other is rounded to the nearest, and would never read back as planned)",
                LINODE_TTLS
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Whether a record of `record_type` can be set at the domain's apex through the API.
    /// Linode names a record by a host of at least one character, or for A and AAAA by the
    /// fully qualified name; DigitalOcean names the apex `@`.
    pub fn sets_apex(self, record_type: &str) -> bool {
        match self {
            DnsProvider::Digitalocean => true,
            DnsProvider::Linode => matches!(record_type, "A" | "AAAA"),
        }
    }

    /// The plan's token parameter for it.
    pub fn api(self, traffic: &TrafficPlan) -> Option<&DnsProviderPlan> {
        match self {
            DnsProvider::Digitalocean => traffic.digitalocean.as_ref(),
            DnsProvider::Linode => traffic.linode.as_ref(),
        }
    }
}

/// DigitalOcean's smallest record TTL (seconds).
const DIGITALOCEAN_MIN_TTL: u32 = 30;
/// The record TTLs Linode keeps as given (seconds; its API docs, DomainRecord.ttl_sec).
pub const LINODE_TTLS: [u32; 12] = [
    300, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800, 1209600, 2419200,
];

/// A DNS provider's API access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsProviderPlan {
    /// SSM SecureString parameter holding the API token (the name, never the token). dns-flip
    /// reads it for every flip, so a rotated token is used at once.
    pub token_parameter: String,
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
    /// Records to set at a DNS provider when this region becomes active (modes
    /// `digitalocean` and `linode`), by the provider's domain (zone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<DomainRecordsPlan>,
}

/// Records of one domain (zone) at a DNS provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainRecordsPlan {
    /// The domain as the provider names it, e.g. `shop.example.com`.
    pub domain: String,
    /// Each record set by its fully qualified name (the domain itself, or a name under it).
    pub records: Vec<RecordPlan>,
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
    /// The region's Kubernetes cluster (LKE, DOKS, EKS): its deployments and stateful sets,
    /// scaled through their `scale` subresource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesPlan>,
}

/// A region's Kubernetes cluster and the workloads lifeboat scales in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesPlan {
    /// The cluster's API, `https://` (as its kubeconfig's `server`).
    pub api_url: String,
    /// SecureString holding a bearer token whose role may get the workloads and get and patch
    /// their `scale` subresource (the name, never the token; read for every call). LKE, DOKS,
    /// or any cluster with a service account token; exactly one of this and `eks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_parameter: Option<String>,
    /// An EKS cluster in this region that lifeboat reaches with the IAM-authenticated token AWS
    /// documents (`aws eks get-token`): signed for each call with the function's own role, which
    /// the cluster's access entries must name. Exactly one of this and `token_parameter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks: Option<EksClusterPlan>,
    /// Parameter holding the cluster's CA certificate (PEM), when its API's certificate is not
    /// signed by a public CA (LKE, DOKS: the kubeconfig's `certificate-authority-data`, decoded;
    /// EKS: the cluster's `certificateAuthority.data`, decoded, always needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<WorkloadPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statefulsets: Vec<WorkloadPlan>,
}

/// An EKS cluster lifeboat authenticates to with its function's IAM role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EksClusterPlan {
    /// The cluster's name, as EKS knows it (`aws eks describe-cluster --name`): the token is
    /// bound to it (`x-k8s-aws-id`).
    pub cluster_name: String,
}

/// How lifeboat authenticates to a cluster (a valid plan names exactly one way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterAuth<'a> {
    /// A bearer token read from this SecureString.
    Token { parameter: &'a str },
    /// EKS's IAM-authenticated token for this cluster, signed in the plan's region.
    Eks { cluster_name: &'a str },
}

impl KubernetesPlan {
    /// How lifeboat authenticates to the cluster; `None` only in a plan that failed validation
    /// (neither way named).
    pub fn auth(&self) -> Option<ClusterAuth<'_>> {
        match (&self.eks, &self.token_parameter) {
            (Some(eks), _) => Some(ClusterAuth::Eks {
                cluster_name: &eks.cluster_name,
            }),
            (None, Some(p)) => Some(ClusterAuth::Token { parameter: p }),
            (None, None) => None,
        }
    }
}

/// A deployment or stateful set with its standby and active replica counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadPlan {
    pub namespace: String,
    pub name: String,
    pub standby_replicas: u32,
    pub active_replicas: u32,
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
        // schemars 1 keeps a schema as its JSON value: nothing to serialise, nothing to fail.
        sorted(schemars::schema_for!(Plan).to_value())
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
            .find(|(_, r)| r.db_cluster_arn.as_deref() == Some(cluster_arn))
            .map(|(name, _)| name.as_str())
    }

    pub fn database(&self) -> &DatabasePlan {
        &self.0.database
    }

    pub fn database_provider(&self) -> DatabaseProvider {
        self.0.database.provider
    }

    /// What an Aurora-only step says on a plan of another provider: it changes nothing.
    fn not_aurora(&self, what: &str) -> Error {
        Error::precondition(format!(
            "{what} belongs to an Aurora global database, and plan '{}' names the database \
             provider {}: nothing was read or changed",
            self.0.app,
            self.0.database.provider.as_str()
        ))
    }

    /// The Aurora global cluster's identifier (`PreconditionFailed` for another provider).
    pub fn global_cluster_id(&self) -> crate::Result<&str> {
        self.0
            .database
            .global_cluster_id
            .as_deref()
            .filter(|_| self.0.database.provider == DatabaseProvider::AuroraGlobal)
            .ok_or_else(|| self.not_aurora("a global cluster identifier"))
    }

    /// `region`'s Aurora cluster ARN (`PreconditionFailed` for another provider).
    pub fn cluster_arn(&self, region: &str) -> crate::Result<&str> {
        let r = self.region(region)?;
        r.db_cluster_arn
            .as_deref()
            .filter(|_| self.0.database.provider == DatabaseProvider::AuroraGlobal)
            .ok_or_else(|| self.not_aurora(&format!("{region}'s cluster ARN")))
    }

    /// The database as a person reads it in a plan of steps or a status: the Aurora global
    /// cluster's identifier, or the provider's name.
    pub fn database_name(&self) -> String {
        match self.0.database.provider {
            DatabaseProvider::AuroraGlobal => self
                .0
                .database
                .global_cluster_id
                .clone()
                .unwrap_or_default(),
            DatabaseProvider::Patroni => "the Patroni clusters".to_string(),
            DatabaseProvider::Mysql => "the MySQL servers".to_string(),
        }
    }

    /// `region`'s database as a person reads it: its Aurora cluster's ARN, or its Patroni
    /// cluster by its first member's REST API. Empty for a region the plan does not name.
    pub fn database_label(&self, region: &str) -> String {
        let Ok(r) = self.region(region) else {
            return String::new();
        };
        match self.0.database.provider {
            DatabaseProvider::AuroraGlobal => r.db_cluster_arn.clone().unwrap_or_default(),
            DatabaseProvider::Patroni => r
                .patroni
                .as_ref()
                .and_then(|p| p.members.first())
                .map_or_else(String::new, |m| format!("{region}'s Patroni cluster ({m})")),
            DatabaseProvider::Mysql => r.mysql.as_ref().map_or_else(String::new, |m| {
                format!("{region}'s MySQL server ({})", m.server)
            }),
        }
    }

    /// `region`'s MySQL server, `host:port` (`PreconditionFailed` for another provider).
    pub fn mysql_server(&self, region: &str) -> crate::Result<&str> {
        let r = self.region(region)?;
        r.mysql
            .as_ref()
            .filter(|_| self.0.database.provider == DatabaseProvider::Mysql)
            .map(|m| m.server.as_str())
            .ok_or_else(|| {
                Error::precondition(format!(
                    "plan '{}' names the database provider {}, not mysql: {region} has no \
                     MySQL server",
                    self.0.app,
                    self.0.database.provider.as_str()
                ))
            })
    }

    /// `region`'s Patroni members' REST API URLs (`PreconditionFailed` for another provider).
    pub fn patroni_members(&self, region: &str) -> crate::Result<&[String]> {
        let r = self.region(region)?;
        r.patroni
            .as_ref()
            .filter(|_| self.0.database.provider == DatabaseProvider::Patroni)
            .map(|p| p.members.as_slice())
            .ok_or_else(|| {
                Error::precondition(format!(
                    "plan '{}' names the database provider {}, not patroni: {region} has no \
                     Patroni members",
                    self.0.app,
                    self.0.database.provider.as_str()
                ))
            })
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

    pub fn cache(&self) -> Option<&CachePlan> {
        self.0.cache.as_ref()
    }

    pub fn traffic(&self) -> &TrafficPlan {
        &self.0.traffic
    }

    /// Prefix of every SSM parameter lifeboat keeps for this app.
    pub fn parameter_prefix(&self) -> String {
        crate::params::prefix(&self.0.app)
    }
}

mod error;
mod names;
mod validate;

pub use error::{PlanError, Problem};
pub use names::{
    Arn, arn_in_region, cluster_id_from_arn, is_bucket_name, is_host_port, is_region_name,
};
use validate::validate;

#[cfg(test)]
mod tests;
