//! Ports: the narrow traits behind which AWS lives. Each method is one operation; adapters in
//! `lifeboat-aws` implement them over the SDK, [`crate::fakes`] in memory.
//!
//! Every method takes the region it talks to explicitly: lifeboat running in region R reads
//! and changes things through R's endpoints, and reaches into the other region only to probe it.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
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

    /// Unplanned failover with data loss allowed to `target_cluster_arn`.
    fn failover_allow_data_loss(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> impl Future<Output = Result<GlobalClusterView>> + Send;
}

/// Replication lag of a secondary cluster (CloudWatch `AuroraGlobalDBReplicationLag`).
pub trait ReplicationLagSource: Send + Sync {
    /// The most recent lag of `cluster_id` in `region` over the last few minutes; `None` when
    /// no datapoint exists.
    fn replication_lag(
        &self,
        region: &str,
        cluster_id: &str,
    ) -> impl Future<Output = Result<Option<Duration>>> + Send;
}

/// Re-reads an alarm's current state (corroboration).
pub trait AlarmReader: Send + Sync {
    fn alarm_state(
        &self,
        region: &str,
        alarm_name: &str,
    ) -> impl Future<Output = Result<Option<AlarmState>>> + Send;
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
    /// Create or overwrite.
    fn put(&self, name: &str, value: &str) -> impl Future<Output = Result<()>> + Send;
    /// Delete; deleting what does not exist is not an error.
    fn delete(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
}

/// An execution, as started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    pub arn: String,
    /// The name was taken already (by an earlier start of the same run).
    pub already_existed: bool,
}

/// Starts the failover workflow (Step Functions), idempotently by name.
pub trait WorkflowStarter: Send + Sync {
    fn start(
        &self,
        execution_name: &str,
        input_json: &str,
    ) -> impl Future<Output = Result<Execution>> + Send;
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
