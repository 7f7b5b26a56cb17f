//! Ports: the narrow traits behind which AWS lives. Each method is one operation; adapters in
//! `lifeboat-aws` implement them over the SDK, [`crate::fakes`] in memory.
//!
//! Every method takes the region it talks to explicitly: lifeboat running in region R reads
//! and changes things through R's endpoints, and reaches into the other region only to probe it.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plan::ArcClusterEndpoint;
use crate::trigger::AlarmState;

/// One member of a global database, as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalMember {
    pub cluster_arn: String,
    pub is_writer: bool,
    /// `connected` or `pending-resync` (an old primary being rebuilt as a secondary).
    pub synchronization_status: Option<String>,
}

/// A switchover/failover under way (RDS `FailoverState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalOperation {
    /// `pending`, `switching-over`, `failing-over` or `cancelling`.
    pub status: String,
    pub from_cluster_arn: Option<String>,
    pub to_cluster_arn: Option<String>,
    pub data_loss_allowed: bool,
}

/// A global database, as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalClusterView {
    pub id: String,
    pub status: String,
    pub members: Vec<GlobalMember>,
    pub operation: Option<GlobalOperation>,
}

impl GlobalClusterView {
    /// The writer member's ARN, if any member is the writer.
    pub fn writer_arn(&self) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.is_writer)
            .map(|m| m.cluster_arn.as_str())
    }

    pub fn member(&self, cluster_arn: &str) -> Option<&GlobalMember> {
        self.members.iter().find(|m| m.cluster_arn == cluster_arn)
    }
}

/// One DB cluster's status, as described from its own region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    pub arn: String,
    /// `available`, `failing-over`, `modifying`, ...
    pub status: String,
}

impl ClusterView {
    /// `available`: the only status lifeboat promotes into or counts as answering.
    pub fn is_available(&self) -> bool {
        self.status == "available"
    }
}

/// The Aurora global database.
pub trait GlobalDatabase: Send + Sync {
    /// Describe the global cluster through `region`'s endpoint.
    fn describe_global(
        &self,
        region: &str,
        global_cluster_id: &str,
    ) -> impl Future<Output = Result<GlobalClusterView>> + Send;

    /// Describe one member cluster through its own region's endpoint.
    fn describe_cluster(
        &self,
        region: &str,
        cluster_arn: &str,
    ) -> impl Future<Output = Result<ClusterView>> + Send;

    /// Planned switchover (RPO 0) to `target_cluster_arn`.
    fn switchover(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> impl Future<Output = Result<GlobalClusterView>> + Send;

    /// The database's data plane: whether a connection to `endpoint` (`host:port`, the
    /// cluster's writer endpoint) is accepted within the probe timeout. `Err(evidence)`: it was
    /// not (refused, timed out, no such host).
    fn endpoint_accepts(
        &self,
        endpoint: &str,
    ) -> impl Future<Output = std::result::Result<(), String>> + Send;

    /// Unplanned failover with data loss allowed to `target_cluster_arn`.
    fn failover_allow_data_loss(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> impl Future<Output = Result<GlobalClusterView>> + Send;
}

/// One instance of a DB cluster, as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInstanceView {
    pub id: String,
    /// `db.r6g.large`, ..., or `db.serverless`.
    pub class: String,
    /// `available`, `modifying`, `rebooting`, ...
    pub status: String,
    /// The class a modification under way changes it to (`PendingModifiedValues`).
    pub pending_class: Option<String>,
}

/// A DB cluster's capacity, as described through its own region's endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterCapacityView {
    pub cluster_arn: String,
    pub status: String,
    /// The Aurora Serverless v2 capacity range, when the cluster has one.
    pub serverless: Option<crate::plan::AcuRange>,
    pub instances: Vec<DbInstanceView>,
}

/// A DB cluster's capacity: its instances' classes and its Aurora Serverless v2 range.
pub trait DatabaseCapacity: Send + Sync {
    /// The cluster and its instances (`DescribeDBClusters`, `DescribeDBInstances`).
    fn describe_capacity(
        &self,
        region: &str,
        cluster_arn: &str,
    ) -> impl Future<Output = Result<ClusterCapacityView>> + Send;

    /// Change one instance's class, applied immediately (`ModifyDBInstance`).
    fn modify_instance_class(
        &self,
        region: &str,
        instance_id: &str,
        class: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Set the cluster's Aurora Serverless v2 capacity range (`ModifyDBCluster`).
    fn modify_serverless_range(
        &self,
        region: &str,
        cluster_arn: &str,
        range: crate::plan::AcuRange,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The newest replication-lag datapoint: the lag, and how long ago the period it summarises
/// ended (a lag of 1 s measured 4 minutes ago says nothing about the last 4 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LagSample {
    pub lag: Duration,
    pub age: Duration,
}

impl LagSample {
    /// A datapoint measured just now.
    pub fn now(lag: Duration) -> Self {
        Self {
            lag,
            age: Duration::ZERO,
        }
    }
}

/// Replication lag of a secondary cluster (CloudWatch `AuroraGlobalDBReplicationLag`).
pub trait ReplicationLagSource: Send + Sync {
    /// The newest lag datapoint of `cluster_id` in `region` over the last few minutes; `None`
    /// when no datapoint exists. Whether it is fresh enough is decided in core
    /// ([`crate::decision::usable_lag`]).
    fn replication_lag(
        &self,
        region: &str,
        cluster_id: &str,
    ) -> impl Future<Output = Result<Option<LagSample>>> + Send;
}

/// Re-reads an alarm's current state (corroboration), and whether a person muted it.
pub trait AlarmReader: Send + Sync {
    fn alarm_state(
        &self,
        region: &str,
        alarm_name: &str,
    ) -> impl Future<Output = Result<Option<AlarmState>>> + Send;

    /// Why the alarm's actions are muted now (`DisableAlarmActions`, or a composite alarm's
    /// actions suppressed), or `None` when they are not (or the alarm does not exist).
    fn muted(
        &self,
        region: &str,
        alarm_name: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
}

/// Outcome of a create-only write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// We created it.
    Created,
    /// It existed already; nothing was written.
    AlreadyExists,
}

/// SSM Parameter Store: the plan, the create-only lock, the run state.
pub trait ParameterStore: Send + Sync {
    /// Read a parameter (decrypted); `None` when it does not exist.
    fn get(&self, name: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Create only if absent (`Overwrite=false`).
    fn create(&self, name: &str, value: &str) -> impl Future<Output = Result<Created>> + Send;
    /// Create only if absent, encrypted at rest (`SecureString`): for values that are
    /// credentials, such as a Step Functions task token.
    fn create_secret(
        &self,
        name: &str,
        value: &str,
    ) -> impl Future<Output = Result<Created>> + Send;
    /// Create or overwrite.
    fn put(&self, name: &str, value: &str) -> impl Future<Output = Result<()>> + Send;
    /// Delete; deleting what does not exist is not an error.
    fn delete(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Whether a parameter exists, from its metadata only: its value (a secret) is never read
    /// (SSM `DescribeParameters`; the default reads it, for stores without metadata).
    fn exists(&self, name: &str) -> impl Future<Output = Result<bool>> + Send {
        async move { Ok(self.get(name).await?.is_some_and(|v| !v.trim().is_empty())) }
    }
}

/// Where a workflow execution stands (Step Functions `DescribeExecution` status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    /// Redriven or any status this version does not know: treated as not running.
    Other,
}

impl ExecutionStatus {
    pub fn is_running(self) -> bool {
        self == ExecutionStatus::Running
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
            ExecutionStatus::Other => "OTHER",
        }
    }

    /// From the API's status string.
    pub fn parse(s: &str) -> ExecutionStatus {
        match s {
            "RUNNING" => ExecutionStatus::Running,
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "TIMED_OUT" => ExecutionStatus::TimedOut,
            "ABORTED" => ExecutionStatus::Aborted,
            _ => ExecutionStatus::Other,
        }
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An execution, as started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    pub arn: String,
    /// The name was taken already: the status of the execution that holds it. Only a `Running`
    /// one is this run "already started"; a closed one means a new attempt needs a new name.
    pub existing: Option<ExecutionStatus>,
}

/// Starts the failover workflow (Step Functions), idempotently by name, and says whether an
/// execution still runs.
pub trait WorkflowStarter: Send + Sync {
    fn start(
        &self,
        execution_name: &str,
        input_json: &str,
    ) -> impl Future<Output = Result<Execution>> + Send;

    /// The ARN an execution of this workflow called `execution_name` has (or will have).
    fn execution_arn(&self, execution_name: &str) -> Result<String>;

    /// The status of an execution (of any lifeboat workflow) by ARN; `None` when there is no
    /// such execution.
    fn status(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionStatus>>> + Send;
}

/// A state entered or left, from a workflow execution's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEvent {
    /// The state's name.
    pub state: String,
    /// `true`: the state was entered; `false`: it was left.
    pub entered: bool,
    pub at: time::OffsetDateTime,
}

/// Reads a workflow execution's history (Step Functions `GetExecutionHistory`).
pub trait ExecutionHistory: Send + Sync {
    /// Every state entered or left, oldest first.
    fn state_events(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Vec<StateEvent>>> + Send;
}

/// Publishes a notification (SNS).
pub trait Notifier: Send + Sync {
    /// Returns the message id.
    fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> impl Future<Output = Result<String>> + Send;
}

/// Whether an SNS topic exists (readiness).
pub trait Topics: Send + Sync {
    /// `false` when the topic does not exist; reads through the topic's own region.
    fn topic_exists(&self, topic_arn: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// An S3 bucket's data-protection settings, as far as readiness needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketView {
    pub name: String,
    /// Versioning is `Enabled` (not suspended, not never-enabled).
    pub versioning_enabled: bool,
    /// Destination bucket names of the replication rules whose status is `Enabled`.
    pub replicates_to: Vec<String>,
}

/// S3 buckets (readiness).
pub trait Buckets: Send + Sync {
    /// `None` when the bucket does not exist.
    fn describe_bucket(
        &self,
        region: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<BucketView>>> + Send;
}

/// The canary's record of a region's health: health-probe's `PrimaryHealthy` metric (namespace
/// `Lifeboat`, dimensions `App`, `ProbedRegion`), which CloudWatch Logs extracts from its EMF
/// lines in the region the canary runs in.
pub trait HealthHistory: Send + Sync {
    /// How long `probed_region`'s endpoints have answered every probe, as recorded in `region`,
    /// looking back at most `window`. `None`: the latest probe failed, or no probe is recent.
    fn healthy_for(
        &self,
        region: &str,
        app: &str,
        probed_region: &str,
        window: Duration,
    ) -> impl Future<Output = Result<Option<Duration>>> + Send;
}

/// The current time (injected, so decisions and tests agree on "now").
pub trait Clock: Send + Sync {
    fn now(&self) -> time::OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }
}

// ---------------------------------------------------------------------------------------------
// Compute (dr-scale-up)

/// An ECS service, as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsServiceView {
    pub cluster: String,
    pub service: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    /// The PRIMARY deployment's rollout state (`IN_PROGRESS`, `COMPLETED`, `FAILED`), when the
    /// service reports one.
    pub rollout_state: Option<String>,
    /// Number of deployments (more than one: a deployment is still replacing tasks).
    pub deployments: u32,
}

impl EcsServiceView {
    /// Whether the plan's `service` (a name or an ARN) names this described service.
    pub fn is(&self, service: &str) -> bool {
        service == self.service || service.ends_with(&format!("/{}", self.service))
    }
}

/// How many services one ECS `DescribeServices` call may name (the API's limit).
pub const DESCRIBE_SERVICES_MAX: usize = 10;

/// ECS services in one region.
pub trait EcsServices: Send + Sync {
    /// `None` when the service does not exist (or is INACTIVE).
    fn describe_service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Option<EcsServiceView>>> + Send;

    /// The services of `cluster` among `services` that exist (and are not INACTIVE), any
    /// number of them: the adapter asks ECS for [`DESCRIBE_SERVICES_MAX`] a call.
    fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = Result<Vec<EcsServiceView>>> + Send;

    fn set_desired_count(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// An EC2 Auto Scaling group, as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsgView {
    pub name: String,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    /// Instances in the `InService` lifecycle state.
    pub in_service: u32,
    /// All instances, whatever their state.
    pub instances: u32,
}

/// Auto Scaling groups in one region.
pub trait AutoScalingGroups: Send + Sync {
    /// `None` when the group does not exist.
    fn describe_group(
        &self,
        region: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<AsgView>>> + Send;

    /// Set min size and desired capacity (max is never changed by lifeboat).
    fn set_capacity(
        &self,
        region: &str,
        name: &str,
        min: u32,
        desired: u32,
    ) -> impl Future<Output = Result<()>> + Send;
}

// ---------------------------------------------------------------------------------------------
// Traffic (dns-flip)

/// A record set as lifeboat reads and writes it (simple routing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordValue {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub ttl: u32,
    pub values: Vec<String>,
}

/// Route 53 record sets and changes (control plane, global).
pub trait RecordSets: Send + Sync {
    /// The record set `name`/`type` in `zone_id`, if it exists.
    fn read_record(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> impl Future<Output = Result<Option<RecordValue>>> + Send;

    /// The record sets `wanted` (name, type) in `zone_id`, in that order (`None` where one does
    /// not exist). Adapters that can list a zone read them together; this default reads them
    /// one by one.
    fn read_records(
        &self,
        zone_id: &str,
        wanted: &[(String, String)],
    ) -> impl Future<Output = Result<Vec<Option<RecordValue>>>> + Send {
        async move {
            let mut found = Vec::with_capacity(wanted.len());
            for (name, record_type) in wanted {
                found.push(self.read_record(zone_id, name, record_type).await?);
            }
            Ok(found)
        }
    }

    /// UPSERT all `records` in one change batch; returns the change id.
    fn upsert(
        &self,
        zone_id: &str,
        records: &[RecordValue],
        comment: &str,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Whether the change is `INSYNC` (propagated to every Route 53 DNS server).
    fn change_in_sync(&self, change_id: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// One record at a DNS provider that keeps one record per value (DigitalOcean; Cloudflare
/// likewise): a record set is every record of a name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRecord {
    /// The provider's id of the record.
    pub id: String,
    #[serde(flatten)]
    pub data: RecordData,
}

/// What one provider record holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordData {
    /// Fully qualified, without the trailing dot (adapters translate to the provider's form).
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub ttl: u32,
    /// One value (an address, a host name, a text).
    pub value: String,
}

/// A DNS provider's records of a domain, through its API with a token (read by the caller from
/// SecureString for each flip; adapters never log it).
pub trait DomainRecords: Send + Sync {
    /// Every record of `name` (fully qualified) and `record_type` in `domain`.
    fn list(
        &self,
        token: &Secret,
        domain: &str,
        name: &str,
        record_type: &str,
    ) -> impl Future<Output = Result<Vec<DomainRecord>>> + Send;

    fn create(
        &self,
        token: &Secret,
        domain: &str,
        record: &RecordData,
    ) -> impl Future<Output = Result<DomainRecord>> + Send;

    fn update(
        &self,
        token: &Secret,
        domain: &str,
        id: &str,
        record: &RecordData,
    ) -> impl Future<Output = Result<DomainRecord>> + Send;

    fn delete(
        &self,
        token: &Secret,
        domain: &str,
        id: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// A Redis node's replication, as its `INFO replication` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheNodeView {
    pub role: CacheRole,
    /// How far into its replication stream the node is: `master_repl_offset` for a master,
    /// `slave_repl_offset` (what it has of its master's stream) for a replica.
    pub offset: u64,
    /// `master_replid`: the stream the node holds (a replica shares its master's).
    #[serde(default)]
    pub replid: String,
    /// `master_replid2`: the stream a promoted node continued from (all zeros when none), so a
    /// master promoted from another master's stream is known as its successor.
    #[serde(default)]
    pub replid2: String,
}

/// A Redis node's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum CacheRole {
    Master,
    Replica {
        /// Its master, `host:port` as the node was told it.
        master: String,
        /// `master_link_status:up`.
        link_up: bool,
    },
}

/// Redis nodes and their Sentinels, each reached at `host:port` (with the Redis password, read
/// by the caller from SecureString; adapters never log it). One operation per method.
pub trait CacheNodes: Send + Sync {
    /// The node's role and replication offset (`INFO replication`).
    fn replication(
        &self,
        node: &str,
        password: Option<&Secret>,
    ) -> impl Future<Output = Result<CacheNodeView>> + Send;

    /// `REPLICAOF NO ONE` (`master` None: the node becomes a master, its data kept) or
    /// `REPLICAOF host port`.
    fn replicate(
        &self,
        node: &str,
        master: Option<&str>,
        password: Option<&Secret>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The master a Sentinel watches under `name` (`SENTINEL GET-MASTER-ADDR-BY-NAME`), `None`
    /// when it watches none by that name.
    fn watched(
        &self,
        sentinel: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    /// `SENTINEL MONITOR name host port quorum`, then `SENTINEL SET name auth-pass` with the
    /// password when there is one.
    fn watch(
        &self,
        sentinel: &str,
        name: &str,
        master: &str,
        quorum: u32,
        password: Option<&Secret>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// `SENTINEL REMOVE name`: the Sentinel stops watching (and so never fails over) `name`.
    fn unwatch(&self, sentinel: &str, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// The replicas a Sentinel sees of the master it watches under `name` (`SENTINEL
    /// REPLICAS`): no password needed, so readiness can look without reading a secret.
    fn replicas(
        &self,
        sentinel: &str,
        name: &str,
    ) -> impl Future<Output = Result<Vec<SeenReplica>>> + Send;
}

/// One replica as a Sentinel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenReplica {
    /// `ip:port` as the replica announced itself.
    pub addr: String,
    /// `master-link-status:ok` and not down in the Sentinel's eyes.
    pub link_up: bool,
    pub offset: u64,
}

/// A PostgreSQL member's role as Patroni reports it (`GET /patroni`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PgRole {
    /// The leader of a cluster that takes writes (`primary`; `master` before Patroni 3).
    Primary,
    /// The leader of a standby cluster: it replicates another cluster, read-only.
    StandbyLeader,
    /// Any other member (`replica`, `sync_standby`, ...), as Patroni named it.
    Replica(String),
}

/// A member of a Patroni cluster, as its REST API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgMemberView {
    /// Patroni's member name.
    pub name: String,
    pub role: PgRole,
    /// `running`, `streaming`, `starting`, `stopped`, ...
    pub state: String,
    pub timeline: Option<u64>,
    /// PostgreSQL's address as the cluster publishes it (`GET /cluster`: host and port), what
    /// another cluster replicates from.
    pub postgres: Option<String>,
    /// A primary's current WAL position (`xlog.location`).
    pub location: Option<u64>,
    /// A standby's WAL received and replayed (`xlog.received_location`, `replayed_location`).
    pub received: Option<u64>,
    pub replayed: Option<u64>,
    /// When the newest transaction a standby replayed was committed on the primary
    /// (`xlog.replayed_timestamp`, PostgreSQL's `pg_last_xact_replay_timestamp()`); `None`
    /// before it replayed one since it started.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub replayed_at: Option<time::OffsetDateTime>,
}

impl PgMemberView {
    /// Whether this member leads its cluster (a primary or a standby cluster's leader).
    pub fn leads(&self) -> bool {
        matches!(self.role, PgRole::Primary | PgRole::StandbyLeader)
    }

    /// How far into the WAL this member is: a primary's location, a standby's furthest of
    /// what it received and replayed (received WAL is replayed on promotion).
    pub fn position(&self) -> Option<u64> {
        match self.role {
            PgRole::Primary => self.location,
            _ => match (self.received, self.replayed) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// Where a standby cluster replicates from (Patroni's `standby_cluster` `host` and `port`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgUpstream {
    pub host: String,
    pub port: u16,
}

/// Patroni clusters, each member reached at its REST API's base URL (`http://host:8008`), with
/// the REST API's credentials for the requests that change something (read by the caller from
/// SecureString; adapters never log them). One operation per method.
pub trait PatroniClusters: Send + Sync {
    /// The member's role, state, timeline and WAL positions (`GET /patroni`), and its
    /// PostgreSQL address from the cluster's member list (`GET /cluster`).
    fn member(&self, api: &str) -> impl Future<Output = Result<PgMemberView>> + Send;

    /// Set the cluster's `standby_cluster` in its dynamic configuration (`PATCH /config`):
    /// `Some(upstream)` makes the cluster a standby cluster replicating `upstream` (its leader
    /// is demoted and follows it); `None` promotes a standby cluster (its leader becomes the
    /// primary). Patroni applies it on its next loop.
    fn set_standby_cluster(
        &self,
        api: &str,
        upstream: Option<&PgUpstream>,
        auth: &PatroniAuth,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The adapters of every database provider, one value: each step holds one database port and
/// the plan's provider chooses which of them it asks ([`crate::database`]). Delegation only.
#[derive(Debug, Clone)]
pub struct Databases<A, P, M> {
    /// Aurora Global Database (RDS).
    pub aurora: A,
    /// PostgreSQL under Patroni (its REST API).
    pub patroni: P,
    /// MySQL / MariaDB (the server's own protocol).
    pub mysql: M,
}

/// Every database provider's port: what a step that asks the database (whichever the plan
/// names) holds. A new provider adds its port here, not to each step's bounds.
pub trait AnyDatabase: GlobalDatabase + PatroniClusters + MysqlServers {}

impl<T: GlobalDatabase + PatroniClusters + MysqlServers> AnyDatabase for T {}

impl<A: GlobalDatabase, P: Send + Sync, M: Send + Sync> GlobalDatabase for Databases<A, P, M> {
    fn describe_global(
        &self,
        region: &str,
        global_cluster_id: &str,
    ) -> impl Future<Output = Result<GlobalClusterView>> + Send {
        self.aurora.describe_global(region, global_cluster_id)
    }

    fn describe_cluster(
        &self,
        region: &str,
        cluster_arn: &str,
    ) -> impl Future<Output = Result<ClusterView>> + Send {
        self.aurora.describe_cluster(region, cluster_arn)
    }

    fn switchover(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> impl Future<Output = Result<GlobalClusterView>> + Send {
        self.aurora
            .switchover(region, global_cluster_id, target_cluster_arn)
    }

    fn endpoint_accepts(
        &self,
        endpoint: &str,
    ) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.aurora.endpoint_accepts(endpoint)
    }

    fn failover_allow_data_loss(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> impl Future<Output = Result<GlobalClusterView>> + Send {
        self.aurora
            .failover_allow_data_loss(region, global_cluster_id, target_cluster_arn)
    }
}

impl<A: DatabaseCapacity, P: Send + Sync, M: Send + Sync> DatabaseCapacity for Databases<A, P, M> {
    fn describe_capacity(
        &self,
        region: &str,
        cluster_arn: &str,
    ) -> impl Future<Output = Result<ClusterCapacityView>> + Send {
        self.aurora.describe_capacity(region, cluster_arn)
    }

    fn modify_instance_class(
        &self,
        region: &str,
        instance_id: &str,
        class: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        self.aurora
            .modify_instance_class(region, instance_id, class)
    }

    fn modify_serverless_range(
        &self,
        region: &str,
        cluster_arn: &str,
        range: crate::plan::AcuRange,
    ) -> impl Future<Output = Result<()>> + Send {
        self.aurora
            .modify_serverless_range(region, cluster_arn, range)
    }
}

impl<A: Send + Sync, P: PatroniClusters, M: Send + Sync> PatroniClusters for Databases<A, P, M> {
    fn member(&self, api: &str) -> impl Future<Output = Result<PgMemberView>> + Send {
        self.patroni.member(api)
    }

    fn set_standby_cluster(
        &self,
        api: &str,
        upstream: Option<&PgUpstream>,
        auth: &PatroniAuth,
    ) -> impl Future<Output = Result<()>> + Send {
        self.patroni.set_standby_cluster(api, upstream, auth)
    }
}

/// The credentials of Patroni's REST API (`restapi.authentication`).
#[derive(Debug, Clone)]
pub struct PatroniAuth {
    pub username: String,
    pub password: Secret,
}

/// Route 53 health checks (control plane, global).
pub trait HealthChecks: Send + Sync {
    /// Whether the health check is inverted.
    fn inverted(&self, health_check_id: &str) -> impl Future<Output = Result<bool>> + Send;

    fn set_inverted(
        &self,
        health_check_id: &str,
        inverted: bool,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Route 53 ARC routing controls (data plane), reached through one of the cluster's regional
/// endpoints (the caller tries them in turn).
pub trait RoutingControls: Send + Sync {
    /// Whether `routing_control_arn` is `On`, read through `endpoint`.
    fn state(
        &self,
        endpoint: &ArcClusterEndpoint,
        routing_control_arn: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Set several routing controls at once (one atomic `UpdateRoutingControlStates`).
    fn update(
        &self,
        endpoint: &ArcClusterEndpoint,
        states: &[(String, bool)],
    ) -> impl Future<Output = Result<()>> + Send;
}

// ---------------------------------------------------------------------------------------------
// Approval, events, HTTP

/// Step Functions task-token callbacks.
pub trait TaskCallbacks: Send + Sync {
    fn succeed(
        &self,
        task_token: &str,
        output_json: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    fn fail(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// EventBridge: put one event on the default bus of `region`.
pub trait EventPublisher: Send + Sync {
    fn put_event(
        &self,
        region: &str,
        source: &str,
        detail_type: &str,
        detail_json: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// What one HTTP GET observed. Timeouts and connection failures are observations, not errors:
/// a health check records them as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HttpObservation {
    /// An answer (body truncated to a few KiB).
    Response {
        status: u16,
        body: String,
        elapsed_ms: u64,
    },
    /// No answer within the timeout.
    TimedOut { elapsed_ms: u64 },
    /// Could not connect, or the exchange failed.
    Failed { reason: String, elapsed_ms: u64 },
}

/// HTTP GET with a timeout (health endpoints, the public name).
pub trait HttpGetter: Send + Sync {
    fn get(&self, url: &str, timeout: Duration) -> impl Future<Output = HttpObservation> + Send;
}

/// HTTP POST of a JSON document (Slack incoming webhook).
pub trait WebhookPoster: Send + Sync {
    /// `url` is a secret (a webhook URL is a bearer credential): never log it.
    fn post_json(&self, url: &Secret, body_json: &str) -> impl Future<Output = Result<()>> + Send;
}

/// A secret value. Its `Debug` and `Display` never show it; [`Secret::expose`] does, on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must use it (a signature, a request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How to reach one Kubernetes cluster's API: its URL, a bearer token (a service account's, or
/// for EKS the IAM-authenticated one) and the cluster's CA certificate when the API's is not
/// signed by a public one (LKE, DOKS). Read by the caller for each call; adapters never log the
/// token.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    pub api_url: String,
    pub token: Secret,
    /// PEM.
    pub ca_pem: Option<String>,
}

/// EKS's IAM-authenticated bearer token (what `aws eks get-token` prints): a presigned STS
/// `GetCallerIdentity` bound to one cluster, signed with the caller's own credentials. The
/// cluster's authenticator sends it to STS and maps the signer's role through its access
/// entries. Made locally for each use (it is good for minutes, and nothing is stored).
pub trait EksTokens: Send + Sync {
    /// A token for `cluster_name`, signed for STS in `region` (the cluster's).
    fn token(
        &self,
        region: &str,
        cluster_name: &str,
    ) -> impl Future<Output = Result<Secret>> + Send;
}

/// Kubernetes workloads through a cluster's API (apps/v1 and its `scale` subresource).
pub trait KubernetesWorkloads: Send + Sync {
    /// The workload as its object says it stands.
    fn workload(
        &self,
        cluster: &ClusterAccess,
        workload: &crate::kubernetes::WorkloadRef,
    ) -> impl Future<Output = Result<crate::kubernetes::WorkloadView>> + Send;

    /// `spec.replicas` set through the `scale` subresource (a merge patch).
    fn scale(
        &self,
        cluster: &ClusterAccess,
        workload: &crate::kubernetes::WorkloadRef,
        replicas: u32,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// MySQL / MariaDB servers (the Linode stack's database: a source and a binlog replica in the
/// other region), through the server's own protocol, with a user and its password (read by the
/// caller from SecureString; adapters never log it).
pub trait MysqlServers: Send + Sync {
    /// What `server` (`host:port`) says of itself and of its replication.
    fn observe(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
    ) -> impl Future<Output = Result<crate::mysql::MysqlServerView>> + Send;

    /// `SET GLOBAL read_only = ON` (`on`) or `OFF`.
    fn set_read_only(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
        on: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// `STOP REPLICA` and `RESET REPLICA ALL`: the server replicates nothing any more (safe to
    /// repeat on a server that replicates nothing).
    fn detach(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The server replicates `source` (`host:port`) by GTID from its own position, with the
    /// login's replication user, and starts replicating (`PreconditionFailed` without it).
    fn follow(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
        source: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

impl<A: Send + Sync, P: Send + Sync, M: MysqlServers> MysqlServers for Databases<A, P, M> {
    fn observe(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
    ) -> impl Future<Output = Result<crate::mysql::MysqlServerView>> + Send {
        self.mysql.observe(server, login)
    }

    fn set_read_only(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
        on: bool,
    ) -> impl Future<Output = Result<()>> + Send {
        self.mysql.set_read_only(server, login, on)
    }

    fn detach(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
    ) -> impl Future<Output = Result<()>> + Send {
        self.mysql.detach(server, login)
    }

    fn follow(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
        source: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        self.mysql.follow(server, login, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_names_a_described_service_by_name_or_arn() {
        let v = EcsServiceView {
            cluster: "shop".into(),
            service: "web".into(),
            status: "ACTIVE".into(),
            desired: 1,
            running: 1,
            pending: 0,
            rollout_state: None,
            deployments: 1,
        };
        assert!(v.is("web"));
        assert!(v.is("arn:aws:ecs:us-west-2:123456789012:service/shop/web"));
        assert!(!v.is("webshop"));
        assert!(!v.is("arn:aws:ecs:us-west-2:123456789012:service/shop/checkout"));
    }
}
