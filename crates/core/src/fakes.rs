//! In-memory fakes of every port, for GIVEN/WHEN/THEN tests of handlers.
//! (Enabled by the `fakes` feature; never part of a function binary.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::ports::*;
use crate::trigger::AlarmState;

/// A global database with two or more members, a writer, and regions that can go dark.
#[derive(Debug, Default)]
pub struct FakeGlobalDatabase {
    pub view: Mutex<Option<GlobalClusterView>>,
    pub cluster_status: Mutex<BTreeMap<String, String>>,
    pub dark_regions: Mutex<BTreeSet<String>>,
    /// Every mutating call: `switchover <arn>` / `failover <arn>`.
    pub calls: Mutex<Vec<String>>,
}

impl FakeGlobalDatabase {
    /// A global cluster `id` whose writer is `writer_arn` and whose secondary is `secondary_arn`,
    /// both available.
    pub fn new(id: &str, writer_arn: &str, secondary_arn: &str) -> Self {
        let view = GlobalClusterView {
            id: id.to_string(),
            status: "available".into(),
            members: vec![
                GlobalMember {
                    cluster_arn: writer_arn.into(),
                    is_writer: true,
                    synchronization_status: None,
                },
                GlobalMember {
                    cluster_arn: secondary_arn.into(),
                    is_writer: false,
                    synchronization_status: Some("connected".into()),
                },
            ],
            operation: None,
        };
        let statuses = [writer_arn, secondary_arn]
            .iter()
            .map(|a| (a.to_string(), "available".to_string()))
            .collect();
        Self {
            view: Mutex::new(Some(view)),
            cluster_status: Mutex::new(statuses),
            ..Self::default()
        }
    }

    pub fn go_dark(&self, region: &str) {
        self.dark_regions.lock().unwrap().insert(region.to_string());
    }

    pub fn set_cluster_status(&self, arn: &str, status: &str) {
        self.cluster_status
            .lock()
            .unwrap()
            .insert(arn.to_string(), status.to_string());
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn reachable(&self, region: &str) -> Result<()> {
        if self.dark_regions.lock().unwrap().contains(region) {
            Err(Error::new(
                ErrorKind::Transient,
                format!("{region}: connection timed out"),
            ))
        } else {
            Ok(())
        }
    }

    fn promote(&self, region: &str, target: &str, data_loss: bool) -> Result<GlobalClusterView> {
        self.reachable(region)?;
        let mut guard = self.view.lock().unwrap();
        let view = guard
            .as_mut()
            .ok_or_else(|| Error::not_found("global cluster"))?;
        if view.operation.is_some() {
            return Err(Error::precondition(
                "InvalidGlobalClusterStateFault: operation in progress",
            ));
        }
        let from = view.writer_arn().map(str::to_string);
        if view.member(target).is_none() {
            return Err(Error::not_found(format!(
                "DBClusterNotFoundFault: {target}"
            )));
        }
        for m in &mut view.members {
            m.is_writer = m.cluster_arn == target;
        }
        self.calls.lock().unwrap().push(format!(
            "{} {target}",
            if data_loss { "failover" } else { "switchover" }
        ));
        let mut reported = view.clone();
        reported.operation = Some(GlobalOperation {
            status: "pending".into(),
            from_cluster_arn: from,
            to_cluster_arn: Some(target.to_string()),
            data_loss_allowed: data_loss,
        });
        Ok(reported)
    }
}

impl GlobalDatabase for FakeGlobalDatabase {
    async fn describe_global(&self, region: &str, id: &str) -> Result<GlobalClusterView> {
        self.reachable(region)?;
        self.view
            .lock()
            .unwrap()
            .clone()
            .filter(|v| v.id == id)
            .ok_or_else(|| Error::not_found(format!("GlobalClusterNotFoundFault: {id}")))
    }

    async fn describe_cluster(&self, region: &str, arn: &str) -> Result<ClusterView> {
        self.reachable(region)?;
        let status = self
            .cluster_status
            .lock()
            .unwrap()
            .get(arn)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("DBClusterNotFoundFault: {arn}")))?;
        Ok(ClusterView {
            arn: arn.to_string(),
            status,
        })
    }

    async fn switchover(&self, region: &str, _id: &str, target: &str) -> Result<GlobalClusterView> {
        self.promote(region, target, false)
    }

    async fn failover_allow_data_loss(
        &self,
        region: &str,
        _id: &str,
        target: &str,
    ) -> Result<GlobalClusterView> {
        self.promote(region, target, true)
    }
}

/// Replication lag per cluster id.
#[derive(Debug, Default)]
pub struct FakeLag(pub Mutex<BTreeMap<String, Duration>>);

impl FakeLag {
    pub fn set(&self, cluster_id: &str, lag: Duration) {
        self.0.lock().unwrap().insert(cluster_id.to_string(), lag);
    }
}

impl ReplicationLagSource for FakeLag {
    async fn replication_lag(&self, _region: &str, cluster_id: &str) -> Result<Option<Duration>> {
        Ok(self.0.lock().unwrap().get(cluster_id).copied())
    }
}

/// Alarm states by name.
#[derive(Debug, Default)]
pub struct FakeAlarms(pub Mutex<BTreeMap<String, AlarmState>>);

impl FakeAlarms {
    pub fn set(&self, name: &str, state: AlarmState) {
        self.0.lock().unwrap().insert(name.to_string(), state);
    }
}

impl AlarmReader for FakeAlarms {
    async fn alarm_state(&self, _region: &str, name: &str) -> Result<Option<AlarmState>> {
        Ok(self.0.lock().unwrap().get(name).copied())
    }
}

/// Parameters by name.
#[derive(Debug, Default)]
pub struct FakeParameters(pub Mutex<BTreeMap<String, String>>);

impl FakeParameters {
    pub fn with(name: &str, value: &str) -> Self {
        let me = Self::default();
        me.0.lock()
            .unwrap()
            .insert(name.to_string(), value.to_string());
        me
    }

    pub fn value(&self, name: &str) -> Option<String> {
        self.0.lock().unwrap().get(name).cloned()
    }

    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.0.lock().unwrap().clone()
    }
}

impl ParameterStore for FakeParameters {
    async fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self.value(name))
    }

    async fn create(&self, name: &str, value: &str) -> Result<Created> {
        let mut map = self.0.lock().unwrap();
        if map.contains_key(name) {
            return Ok(Created::AlreadyExists);
        }
        map.insert(name.to_string(), value.to_string());
        Ok(Created::Created)
    }

    async fn put(&self, name: &str, value: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert(name.to_string(), value.to_string());
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<()> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
}

/// Executions by name.
#[derive(Debug, Default)]
pub struct FakeWorkflow(
    pub Mutex<Vec<(String, String)>>,
    /// When set, the next start fails with this kind.
    pub Mutex<Option<ErrorKind>>,
);

impl FakeWorkflow {
    pub fn fail_next(&self, kind: ErrorKind) {
        *self.1.lock().unwrap() = Some(kind);
    }

    pub fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    pub fn input(&self, name: &str) -> Option<serde_json::Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, i)| serde_json::from_str(i).ok())
    }
}

impl WorkflowStarter for FakeWorkflow {
    async fn start(&self, name: &str, input: &str) -> Result<Execution> {
        if let Some(kind) = self.1.lock().unwrap().take() {
            return Err(Error::new(kind, "StartExecution: failed"));
        }
        let mut all = self.0.lock().unwrap();
        let arn =
            format!("arn:aws:states:us-west-2:123456789012:execution:lifeboat-failover:{name}");
        if all.iter().any(|(n, _)| n == name) {
            return Ok(Execution {
                arn,
                already_existed: true,
            });
        }
        all.push((name.to_string(), input.to_string()));
        Ok(Execution {
            arn,
            already_existed: false,
        })
    }
}

/// Published messages: (topic, subject, message).
#[derive(Debug, Default)]
pub struct FakeNotifier(
    pub Mutex<Vec<(String, String, String)>>,
    /// When set, the next publish fails with this kind.
    pub Mutex<Option<ErrorKind>>,
);

impl FakeNotifier {
    pub fn messages(&self) -> Vec<(String, String, String)> {
        self.0.lock().unwrap().clone()
    }

    pub fn fail_next(&self, kind: ErrorKind) {
        *self.1.lock().unwrap() = Some(kind);
    }
}

impl Notifier for FakeNotifier {
    async fn publish(&self, topic: &str, subject: &str, message: &str) -> Result<String> {
        if let Some(kind) = self.1.lock().unwrap().take() {
            return Err(Error::new(kind, "Publish: service unavailable"));
        }
        let mut all = self.0.lock().unwrap();
        all.push((topic.to_string(), subject.to_string(), message.to_string()));
        Ok(format!("msg-{}", all.len()))
    }
}

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock(pub Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn at(t: OffsetDateTime) -> Self {
        Self(Mutex::new(t))
    }

    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}
