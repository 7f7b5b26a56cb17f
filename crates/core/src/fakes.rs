//! In-memory fakes of every port, for GIVEN/WHEN/THEN tests of handlers.
//! (Enabled by the `fakes` feature; never part of a function binary.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Dark regions whose data plane still serves (only their RDS API is down).
    pub data_plane_up: Mutex<BTreeSet<String>>,
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

    /// `region`'s RDS API fails while its database endpoint still accepts connections.
    pub fn control_plane_dark(&self, region: &str) {
        self.go_dark(region);
        self.data_plane_up
            .lock()
            .unwrap()
            .insert(region.to_string());
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

    /// An endpoint naming a dark region (the plan's `...us-east-1.rds.amazonaws.com:5432`) is
    /// refused unless only that region's API is down.
    async fn endpoint_accepts(&self, endpoint: &str) -> std::result::Result<(), String> {
        let dark = self.dark_regions.lock().unwrap().clone();
        let up = self.data_plane_up.lock().unwrap().clone();
        match dark
            .iter()
            .find(|r| endpoint.contains(r.as_str()) && !up.contains(*r))
        {
            Some(r) => Err(format!("{endpoint}: connection refused ({r} is dark)")),
            None => Ok(()),
        }
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
pub struct FakeLag(pub Mutex<BTreeMap<String, LagSample>>);

impl FakeLag {
    /// A datapoint measured just now.
    pub fn set(&self, cluster_id: &str, lag: Duration) {
        self.set_aged(cluster_id, lag, Duration::ZERO);
    }

    /// A datapoint whose period ended `age` ago.
    pub fn set_aged(&self, cluster_id: &str, lag: Duration, age: Duration) {
        self.0
            .lock()
            .unwrap()
            .insert(cluster_id.to_string(), LagSample { lag, age });
    }

    /// No datapoint: the lag is unknown.
    pub fn clear(&self, cluster_id: &str) {
        self.0.lock().unwrap().remove(cluster_id);
    }
}

impl ReplicationLagSource for FakeLag {
    async fn replication_lag(&self, _region: &str, cluster_id: &str) -> Result<Option<LagSample>> {
        Ok(self.0.lock().unwrap().get(cluster_id).copied())
    }
}

/// How long each probed region has been healthy (`None`: failing or no history).
#[derive(Debug, Default)]
pub struct FakeHealthHistory(pub Mutex<BTreeMap<String, Option<Duration>>>);

impl FakeHealthHistory {
    pub fn set(&self, probed_region: &str, healthy_for: Option<Duration>) {
        self.0
            .lock()
            .unwrap()
            .insert(probed_region.to_string(), healthy_for);
    }
}

impl HealthHistory for FakeHealthHistory {
    async fn healthy_for(
        &self,
        _region: &str,
        _app: &str,
        probed_region: &str,
        window: Duration,
    ) -> Result<Option<Duration>> {
        let seen = self.0.lock().unwrap().get(probed_region).copied().flatten();
        Ok(seen.map(|d| d.min(window)))
    }
}

/// Alarm states by name.
#[derive(Debug, Default)]
pub struct FakeAlarms(
    pub Mutex<BTreeMap<String, AlarmState>>,
    pub Mutex<BTreeMap<String, String>>,
);

impl FakeAlarms {
    pub fn set(&self, name: &str, state: AlarmState) {
        self.0.lock().unwrap().insert(name.to_string(), state);
    }

    /// A person muted the alarm's actions (`why`).
    pub fn mute(&self, name: &str, why: &str) {
        self.1
            .lock()
            .unwrap()
            .insert(name.to_string(), why.to_string());
    }
}

impl AlarmReader for FakeAlarms {
    async fn alarm_state(&self, _region: &str, name: &str) -> Result<Option<AlarmState>> {
        Ok(self.0.lock().unwrap().get(name).copied())
    }

    async fn muted(&self, _region: &str, name: &str) -> Result<Option<String>> {
        Ok(self.1.lock().unwrap().get(name).cloned())
    }
}

/// Parameters by name; reads or writes under a prefix can be made to fail (transient), as a
/// throttled or unreachable parameter store answers.
#[derive(Debug, Default)]
pub struct FakeParameters(
    pub Mutex<BTreeMap<String, String>>,
    /// Prefixes whose reads fail.
    pub Mutex<Vec<String>>,
    /// Prefixes whose writes (create, put, delete) fail.
    pub Mutex<Vec<String>>,
);

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

    /// From now on, reading a parameter whose name starts with `prefix` fails (transient).
    pub fn refuse_reads_under(&self, prefix: &str) {
        self.1.lock().unwrap().push(prefix.to_string());
    }

    /// From now on, writing a parameter whose name starts with `prefix` fails (transient).
    pub fn refuse_writes_under(&self, prefix: &str) {
        self.2.lock().unwrap().push(prefix.to_string());
    }

    fn refused(prefixes: &Mutex<Vec<String>>, name: &str) -> Result<()> {
        if prefixes.lock().unwrap().iter().any(|p| name.starts_with(p)) {
            return Err(Error::new(
                ErrorKind::Transient,
                format!("ssm: {name}: throttled (fake)"),
            ));
        }
        Ok(())
    }
}

impl ParameterStore for FakeParameters {
    async fn get(&self, name: &str) -> Result<Option<String>> {
        Self::refused(&self.1, name)?;
        Ok(self.value(name))
    }

    async fn create(&self, name: &str, value: &str) -> Result<Created> {
        Self::refused(&self.2, name)?;
        let mut map = self.0.lock().unwrap();
        if map.contains_key(name) {
            return Ok(Created::AlreadyExists);
        }
        map.insert(name.to_string(), value.to_string());
        Ok(Created::Created)
    }

    async fn create_secret(&self, name: &str, value: &str) -> Result<Created> {
        self.create(name, value).await
    }

    async fn put(&self, name: &str, value: &str) -> Result<()> {
        Self::refused(&self.2, name)?;
        self.0
            .lock()
            .unwrap()
            .insert(name.to_string(), value.to_string());
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<()> {
        Self::refused(&self.2, name)?;
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
}

/// A call into `region` while it is dark: a timeout (transient).
fn reachable(dark_regions: &Mutex<BTreeSet<String>>, region: &str) -> Result<()> {
    if dark_regions.lock().unwrap().contains(region) {
        return Err(Error::new(
            ErrorKind::Transient,
            format!("{region}: timed out"),
        ));
    }
    Ok(())
}

/// A parameter store in a region that does not answer: every call fails (transient).
#[derive(Debug, Default)]
pub struct DarkParameters;

impl ParameterStore for DarkParameters {
    async fn get(&self, _name: &str) -> Result<Option<String>> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }

    async fn create(&self, _name: &str, _value: &str) -> Result<Created> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }

    async fn create_secret(&self, _name: &str, _value: &str) -> Result<Created> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }

    async fn put(&self, _name: &str, _value: &str) -> Result<()> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }

    async fn delete(&self, _name: &str) -> Result<()> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }
}

/// Executions by name.
#[derive(Debug, Default)]
pub struct FakeWorkflow(
    pub Mutex<Vec<(String, String)>>,
    /// When set, the next start fails with this kind.
    pub Mutex<Option<ErrorKind>>,
    /// Executions that have closed, by name, with their status (others run).
    pub Mutex<HashMap<String, ExecutionStatus>>,
);

impl FakeWorkflow {
    /// The ARN an execution called `name` has.
    pub fn arn(name: &str) -> String {
        format!("arn:aws:states:us-west-2:123456789012:execution:lifeboat-failover:{name}")
    }

    /// The execution called `name` ends with `status` (it need not have been started here).
    pub fn close(&self, name: &str, status: ExecutionStatus) {
        self.2.lock().unwrap().insert(name.to_string(), status);
    }

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
        let arn = Self::arn(name);
        let closed = self.2.lock().unwrap().get(name).copied();
        if all.iter().any(|(n, _)| n == name) || closed.is_some() {
            return Ok(Execution {
                arn,
                existing: Some(closed.unwrap_or(ExecutionStatus::Running)),
            });
        }
        all.push((name.to_string(), input.to_string()));
        Ok(Execution {
            arn,
            existing: None,
        })
    }

    fn execution_arn(&self, name: &str) -> Result<String> {
        Ok(Self::arn(name))
    }

    async fn status(&self, arn: &str) -> Result<Option<ExecutionStatus>> {
        let name = arn.rsplit(':').next().unwrap_or_default();
        if let Some(s) = self.2.lock().unwrap().get(name) {
            return Ok(Some(*s));
        }
        let started = self.0.lock().unwrap().iter().any(|(n, _)| n == name);
        Ok(started.then_some(ExecutionStatus::Running))
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

/// ECS services by (region, cluster, service). `set_desired_count` changes `desired` only;
/// [`FakeEcs::settle`] makes every service reach it (tasks started, deployment complete).
#[derive(Debug, Default)]
pub struct FakeEcs {
    pub services: Mutex<BTreeMap<(String, String, String), EcsServiceView>>,
    /// Every mutating call: `region cluster/service=desired`.
    pub calls: Mutex<Vec<String>>,
    /// Regions that fail every call (transient).
    pub dark_regions: Mutex<BTreeSet<String>>,
}

impl FakeEcs {
    pub fn add(&self, region: &str, cluster: &str, service: &str, desired: u32) {
        self.services.lock().unwrap().insert(
            (region.into(), cluster.into(), service.into()),
            EcsServiceView {
                cluster: cluster.into(),
                service: service.into(),
                status: "ACTIVE".into(),
                desired,
                running: desired,
                pending: 0,
                rollout_state: Some("COMPLETED".into()),
                deployments: 1,
            },
        );
    }

    pub fn get(&self, region: &str, cluster: &str, service: &str) -> Option<EcsServiceView> {
        self.services
            .lock()
            .unwrap()
            .get(&(region.into(), cluster.into(), service.into()))
            .cloned()
    }

    pub fn settle(&self) {
        for v in self.services.lock().unwrap().values_mut() {
            v.running = v.desired;
            v.pending = 0;
            v.rollout_state = Some("COMPLETED".into());
            v.deployments = 1;
        }
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn reachable(&self, region: &str) -> Result<()> {
        reachable(&self.dark_regions, region)
    }
}

impl EcsServices for FakeEcs {
    async fn describe_service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> Result<Option<EcsServiceView>> {
        self.reachable(region)?;
        Ok(self.get(region, cluster, service))
    }

    async fn set_desired_count(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<()> {
        self.reachable(region)?;
        let mut all = self.services.lock().unwrap();
        let view = all
            .get_mut(&(region.into(), cluster.into(), service.into()))
            .ok_or_else(|| Error::not_found(format!("ServiceNotFoundException: {service}")))?;
        if view.desired != desired {
            view.desired = desired;
            view.rollout_state = Some("IN_PROGRESS".into());
        }
        self.calls
            .lock()
            .unwrap()
            .push(format!("{region} {cluster}/{service}={desired}"));
        Ok(())
    }
}

/// Auto Scaling groups by (region, name); [`FakeAsg::settle`] brings instances in service.
#[derive(Debug, Default)]
pub struct FakeAsg {
    pub groups: Mutex<BTreeMap<(String, String), AsgView>>,
    pub calls: Mutex<Vec<String>>,
    /// Regions that fail every call (transient).
    pub dark_regions: Mutex<BTreeSet<String>>,
}

impl FakeAsg {
    pub fn add(&self, region: &str, name: &str, min: u32, max: u32, desired: u32) {
        self.groups.lock().unwrap().insert(
            (region.into(), name.into()),
            AsgView {
                name: name.into(),
                min,
                max,
                desired,
                in_service: desired,
                instances: desired,
            },
        );
    }

    pub fn get(&self, region: &str, name: &str) -> Option<AsgView> {
        self.groups
            .lock()
            .unwrap()
            .get(&(region.into(), name.into()))
            .cloned()
    }

    pub fn settle(&self) {
        for g in self.groups.lock().unwrap().values_mut() {
            g.in_service = g.desired;
            g.instances = g.desired;
        }
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl FakeAsg {
    fn reachable(&self, region: &str) -> Result<()> {
        reachable(&self.dark_regions, region)
    }
}

impl AutoScalingGroups for FakeAsg {
    async fn describe_group(&self, region: &str, name: &str) -> Result<Option<AsgView>> {
        self.reachable(region)?;
        Ok(self.get(region, name))
    }

    async fn set_capacity(&self, region: &str, name: &str, min: u32, desired: u32) -> Result<()> {
        self.reachable(region)?;
        let mut all = self.groups.lock().unwrap();
        let g = all
            .get_mut(&(region.into(), name.into()))
            .ok_or_else(|| Error::not_found(format!("AutoScalingGroup {name}")))?;
        if desired > g.max || min > desired {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "ValidationError: desired {desired} outside [{min}, {}]",
                    g.max
                ),
            ));
        }
        g.min = min;
        g.desired = desired;
        self.calls
            .lock()
            .unwrap()
            .push(format!("{region} {name} min={min} desired={desired}"));
        Ok(())
    }
}

/// Route 53 zones: records by (zone, name, type), change batches, and `GetChange` answers
/// that become INSYNC after `polls_until_sync` polls.
#[derive(Debug, Default)]
pub struct FakeRecords {
    pub records: Mutex<BTreeMap<(String, String, String), RecordValue>>,
    /// Every change batch: (zone, records).
    pub batches: Mutex<Vec<(String, Vec<RecordValue>)>>,
    pub polls: Mutex<BTreeMap<String, u32>>,
    pub polls_until_sync: Mutex<u32>,
}

impl FakeRecords {
    pub fn put(&self, zone: &str, record: RecordValue) {
        self.records.lock().unwrap().insert(
            (zone.into(), record.name.clone(), record.record_type.clone()),
            record,
        );
    }

    pub fn get(&self, zone: &str, name: &str, record_type: &str) -> Option<RecordValue> {
        self.records
            .lock()
            .unwrap()
            .get(&(zone.into(), name.into(), record_type.into()))
            .cloned()
    }

    pub fn batches(&self) -> Vec<(String, Vec<RecordValue>)> {
        self.batches.lock().unwrap().clone()
    }
}

impl RecordSets for FakeRecords {
    async fn read_record(
        &self,
        zone: &str,
        name: &str,
        record_type: &str,
    ) -> Result<Option<RecordValue>> {
        Ok(self.get(zone, name, record_type))
    }

    async fn upsert(&self, zone: &str, records: &[RecordValue], _comment: &str) -> Result<String> {
        for r in records {
            self.put(zone, r.clone());
        }
        let mut batches = self.batches.lock().unwrap();
        batches.push((zone.to_string(), records.to_vec()));
        let id = format!("/change/C{}", batches.len());
        self.polls.lock().unwrap().insert(id.clone(), 0);
        Ok(id)
    }

    async fn change_in_sync(&self, change_id: &str) -> Result<bool> {
        let until = *self.polls_until_sync.lock().unwrap();
        let mut polls = self.polls.lock().unwrap();
        let n = polls
            .get_mut(change_id)
            .ok_or_else(|| Error::not_found(format!("NoSuchChange: {change_id}")))?;
        *n += 1;
        Ok(*n > until)
    }
}

/// Health checks: inverted flag by id.
#[derive(Debug, Default)]
pub struct FakeHealthChecks(pub Mutex<BTreeMap<String, bool>>);

impl FakeHealthChecks {
    pub fn add(&self, id: &str, inverted: bool) {
        self.0.lock().unwrap().insert(id.into(), inverted);
    }

    pub fn is_inverted(&self, id: &str) -> Option<bool> {
        self.0.lock().unwrap().get(id).copied()
    }
}

impl HealthChecks for FakeHealthChecks {
    async fn inverted(&self, id: &str) -> Result<bool> {
        self.is_inverted(id)
            .ok_or_else(|| Error::not_found(format!("NoSuchHealthCheck: {id}")))
    }

    async fn set_inverted(&self, id: &str, inverted: bool) -> Result<()> {
        let mut all = self.0.lock().unwrap();
        let v = all
            .get_mut(id)
            .ok_or_else(|| Error::not_found(format!("NoSuchHealthCheck: {id}")))?;
        *v = inverted;
        Ok(())
    }
}

/// Routing controls; endpoints (by URL) in `failing` answer with a transient error.
#[derive(Debug, Default)]
pub struct FakeRoutingControls {
    pub states: Mutex<BTreeMap<String, bool>>,
    pub failing: Mutex<BTreeSet<String>>,
    /// Every call: `state <endpoint>` / `update <endpoint>`.
    pub calls: Mutex<Vec<String>>,
}

impl FakeRoutingControls {
    pub fn new(states: &[(&str, bool)]) -> Self {
        Self {
            states: Mutex::new(states.iter().map(|(a, s)| (a.to_string(), *s)).collect()),
            ..Self::default()
        }
    }

    pub fn fail_endpoint(&self, endpoint: &str) {
        self.failing.lock().unwrap().insert(endpoint.to_string());
    }

    pub fn get(&self, arn: &str) -> Option<bool> {
        self.states.lock().unwrap().get(arn).copied()
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn reach(&self, what: &str, endpoint: &crate::plan::ArcClusterEndpoint) -> Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{what} {}", endpoint.endpoint));
        if self.failing.lock().unwrap().contains(&endpoint.endpoint) {
            return Err(Error::new(
                ErrorKind::Transient,
                format!("{}: timed out", endpoint.endpoint),
            ));
        }
        Ok(())
    }
}

impl RoutingControls for FakeRoutingControls {
    async fn state(&self, endpoint: &crate::plan::ArcClusterEndpoint, arn: &str) -> Result<bool> {
        self.reach("state", endpoint)?;
        self.get(arn)
            .ok_or_else(|| Error::not_found(format!("ResourceNotFoundException: {arn}")))
    }

    async fn update(
        &self,
        endpoint: &crate::plan::ArcClusterEndpoint,
        states: &[(String, bool)],
    ) -> Result<()> {
        self.reach("update", endpoint)?;
        let mut all = self.states.lock().unwrap();
        for (arn, _) in states {
            if !all.contains_key(arn) {
                return Err(Error::not_found(format!(
                    "ResourceNotFoundException: {arn}"
                )));
            }
        }
        for (arn, on) in states {
            all.insert(arn.clone(), *on);
        }
        Ok(())
    }
}

/// Task-token callbacks received: `success <token> <output>` / `failure <token> <error> <cause>`.
#[derive(Debug, Default)]
pub struct FakeCallbacks {
    pub received: Mutex<Vec<String>>,
    /// When set, the next callback fails with this kind.
    pub failure: Mutex<Option<ErrorKind>>,
    /// When set, the next callback never answers, as when the process sending it dies: the
    /// caller's future is dropped mid-flight and nothing is delivered.
    pub lost: Mutex<bool>,
}

impl FakeCallbacks {
    pub fn calls(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    pub fn fail_next(&self, kind: ErrorKind) {
        *self.failure.lock().unwrap() = Some(kind);
    }

    pub fn lose_next(&self) {
        *self.lost.lock().unwrap() = true;
    }

    async fn deliver(&self, what: String) -> Result<()> {
        if std::mem::take(&mut *self.lost.lock().unwrap()) {
            std::future::pending::<()>().await;
        }
        if let Some(kind) = self.failure.lock().unwrap().take() {
            return Err(Error::new(kind, "SendTask*: failed"));
        }
        self.received.lock().unwrap().push(what);
        Ok(())
    }
}

impl TaskCallbacks for FakeCallbacks {
    async fn succeed(&self, token: &str, output: &str) -> Result<()> {
        self.deliver(format!("success {token} {output}")).await
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<()> {
        self.deliver(format!("failure {token} {error} {cause}"))
            .await
    }
}

/// Events put: (region, source, detail-type, detail).
#[derive(Debug, Default)]
pub struct FakeEvents(pub Mutex<Vec<(String, String, String, String)>>);

impl FakeEvents {
    pub fn events(&self) -> Vec<(String, String, String, String)> {
        self.0.lock().unwrap().clone()
    }
}

impl EventPublisher for FakeEvents {
    async fn put_event(&self, region: &str, source: &str, dt: &str, detail: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push((region.into(), source.into(), dt.into(), detail.into()));
        Ok(())
    }
}

/// HTTP answers by URL (unknown URLs fail to connect); counts requests. Scripted answers
/// ([`FakeHttp::script`]) are given first, one per request, then the standing answer.
#[derive(Debug, Default)]
pub struct FakeHttp {
    pub answers: Mutex<BTreeMap<String, HttpObservation>>,
    pub scripted: Mutex<BTreeMap<String, std::collections::VecDeque<(u16, String)>>>,
    pub requests: Mutex<Vec<String>>,
}

impl FakeHttp {
    /// The next requests to `url` get these answers (status, body), in order.
    pub fn script(&self, url: &str, answers: &[(u16, &str)]) {
        self.scripted.lock().unwrap().insert(
            url.into(),
            answers.iter().map(|(s, b)| (*s, b.to_string())).collect(),
        );
    }

    pub fn answer(&self, url: &str, status: u16, body: &str) {
        self.answers.lock().unwrap().insert(
            url.into(),
            HttpObservation::Response {
                status,
                body: body.into(),
                elapsed_ms: 3,
            },
        );
    }

    pub fn time_out(&self, url: &str) {
        self.answers
            .lock()
            .unwrap()
            .insert(url.into(), HttpObservation::TimedOut { elapsed_ms: 2000 });
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl HttpGetter for FakeHttp {
    async fn get(&self, url: &str, _timeout: Duration) -> HttpObservation {
        self.requests.lock().unwrap().push(url.to_string());
        if let Some((status, body)) = self
            .scripted
            .lock()
            .unwrap()
            .get_mut(url)
            .and_then(|q| q.pop_front())
        {
            return HttpObservation::Response {
                status,
                body,
                elapsed_ms: 3,
            };
        }
        self.answers
            .lock()
            .unwrap()
            .get(url)
            .cloned()
            .unwrap_or(HttpObservation::Failed {
                reason: "connection refused".into(),
                elapsed_ms: 1,
            })
    }
}

/// Webhook posts received: (url, body).
#[derive(Debug, Default)]
pub struct FakeWebhook(pub Mutex<Vec<(String, String)>>);

impl FakeWebhook {
    pub fn posts(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

impl WebhookPoster for FakeWebhook {
    async fn post_json(&self, url: &Secret, body: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push((url.expose().to_string(), body.to_string()));
        Ok(())
    }
}

/// Execution histories by execution ARN (an unknown ARN is `NotFound`).
#[derive(Debug, Default)]
pub struct FakeHistory(pub Mutex<BTreeMap<String, Vec<StateEvent>>>);

impl FakeHistory {
    pub fn set(&self, execution_arn: &str, events: Vec<StateEvent>) {
        self.0
            .lock()
            .unwrap()
            .insert(execution_arn.to_string(), events);
    }
}

impl ExecutionHistory for FakeHistory {
    async fn state_events(&self, execution_arn: &str) -> Result<Vec<StateEvent>> {
        self.0
            .lock()
            .unwrap()
            .get(execution_arn)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no execution {execution_arn}")))
    }
}

/// Topics that exist, by ARN.
#[derive(Debug, Default)]
pub struct FakeTopics(pub Mutex<BTreeSet<String>>);

impl FakeTopics {
    pub fn add(&self, arn: &str) {
        self.0.lock().unwrap().insert(arn.into());
    }

    pub fn remove(&self, arn: &str) {
        self.0.lock().unwrap().remove(arn);
    }
}

impl Topics for FakeTopics {
    async fn topic_exists(&self, arn: &str) -> Result<bool> {
        Ok(self.0.lock().unwrap().contains(arn))
    }
}

/// Buckets by (region, name).
#[derive(Debug, Default)]
pub struct FakeBuckets(pub Mutex<BTreeMap<(String, String), BucketView>>);

impl FakeBuckets {
    pub fn add(&self, region: &str, name: &str, versioning_enabled: bool, replicates_to: &[&str]) {
        self.0.lock().unwrap().insert(
            (region.into(), name.into()),
            BucketView {
                name: name.into(),
                versioning_enabled,
                replicates_to: replicates_to.iter().map(|s| s.to_string()).collect(),
            },
        );
    }
}

impl Buckets for FakeBuckets {
    async fn describe_bucket(&self, region: &str, name: &str) -> Result<Option<BucketView>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(&(region.to_string(), name.to_string()))
            .cloned())
    }
}
