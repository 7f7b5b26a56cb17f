//! Fakes: The global database and its replication lag.

use super::prelude::*;

/// A global database with two or more members, a writer, and regions that can go dark.
#[derive(Debug, Default)]
pub struct FakeGlobalDatabase {
    pub view: Mutex<Option<GlobalClusterView>>,
    pub cluster_status: Mutex<BTreeMap<String, String>>,
    pub dark_regions: Mutex<BTreeSet<String>>,
    /// Dark regions whose data plane still serves (only their RDS API is down).
    pub data_plane_up: Mutex<BTreeSet<String>>,
    /// Every promotion: `switchover <arn>` / `failover <arn>`.
    pub calls: Mutex<Vec<String>>,
    /// Every capacity change: `modify-instance <id> <class>` / `modify-range <arn> <min>-<max>`.
    pub capacity_calls: Mutex<Vec<String>>,
    /// Each cluster's capacity by cluster ARN (a cluster not here has no instances and no
    /// range).
    pub capacity: Mutex<BTreeMap<String, ClusterCapacityView>>,
    /// The Patroni clusters a plan with `database.provider: patroni` names (empty until a test
    /// sets them: [`super::FakePatroni::new`]).
    pub patroni: super::FakePatroni,
    /// The MySQL servers a plan with `database.provider: mysql` names (empty until a test sets
    /// them: [`super::FakeMysql::new`]).
    pub mysql: super::FakeMysql,
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

    /// `arn`'s capacity: its range and its instances, each `(id, class)` and available.
    pub fn set_capacity(&self, arn: &str, range: Option<(f64, f64)>, instances: &[(&str, &str)]) {
        let view = ClusterCapacityView {
            cluster_arn: arn.to_string(),
            status: "available".into(),
            serverless: range.map(|(min_acu, max_acu)| crate::plan::AcuRange { min_acu, max_acu }),
            instances: instances
                .iter()
                .map(|(id, class)| DbInstanceView {
                    id: id.to_string(),
                    class: class.to_string(),
                    status: "available".into(),
                    pending_class: None,
                })
                .collect(),
        };
        self.capacity.lock().unwrap().insert(arn.to_string(), view);
    }

    /// Every instance class change under way completes.
    pub fn finish_modifications(&self) {
        for view in self.capacity.lock().unwrap().values_mut() {
            for i in &mut view.instances {
                if let Some(class) = i.pending_class.take() {
                    i.class = class;
                }
                i.status = "available".into();
            }
        }
    }

    pub fn capacity_of(&self, arn: &str) -> Option<ClusterCapacityView> {
        self.capacity.lock().unwrap().get(arn).cloned()
    }

    pub fn capacity_calls(&self) -> Vec<String> {
        self.capacity_calls.lock().unwrap().clone()
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// A cluster's status, as DescribeDBClusters reports it; an unknown cluster is NotFound.
    fn status_of(&self, arn: &str) -> Result<String> {
        self.cluster_status
            .lock()
            .unwrap()
            .get(arn)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("DBClusterNotFoundFault: {arn}")))
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
        let status = self.status_of(arn)?;
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

impl DatabaseCapacity for FakeGlobalDatabase {
    async fn describe_capacity(&self, region: &str, arn: &str) -> Result<ClusterCapacityView> {
        self.reachable(region)?;
        let status = self.status_of(arn)?;
        let mut view = self
            .capacity
            .lock()
            .unwrap()
            .get(arn)
            .cloned()
            .unwrap_or_else(|| ClusterCapacityView {
                cluster_arn: arn.to_string(),
                status: String::new(),
                serverless: None,
                instances: Vec::new(),
            });
        view.status = status;
        Ok(view)
    }

    async fn modify_instance_class(&self, region: &str, id: &str, class: &str) -> Result<()> {
        self.reachable(region)?;
        let mut all = self.capacity.lock().unwrap();
        let instance = all
            .values_mut()
            .flat_map(|v| v.instances.iter_mut())
            .find(|i| i.id == id)
            .ok_or_else(|| Error::not_found(format!("DBInstanceNotFound: {id}")))?;
        if instance.status != "available" {
            return Err(Error::precondition(format!(
                "InvalidDBInstanceState: {id} is {}",
                instance.status
            )));
        }
        instance.status = "modifying".into();
        instance.pending_class = Some(class.to_string());
        self.capacity_calls
            .lock()
            .unwrap()
            .push(format!("modify-instance {id} {class}"));
        Ok(())
    }

    async fn modify_serverless_range(
        &self,
        region: &str,
        arn: &str,
        range: crate::plan::AcuRange,
    ) -> Result<()> {
        self.reachable(region)?;
        let mut all = self.capacity.lock().unwrap();
        let view = all
            .entry(arn.to_string())
            .or_insert_with(|| ClusterCapacityView {
                cluster_arn: arn.to_string(),
                status: "available".into(),
                serverless: None,
                instances: Vec::new(),
            });
        view.serverless = Some(range);
        self.capacity_calls.lock().unwrap().push(format!(
            "modify-range {arn} {}-{}",
            range.min_acu, range.max_acu
        ));
        Ok(())
    }
}

/// A plan of `database.provider: patroni` reaches its clusters through the same port.
impl PatroniClusters for FakeGlobalDatabase {
    async fn member(&self, api: &str) -> Result<PgMemberView> {
        self.patroni.member(api).await
    }

    async fn set_standby_cluster(
        &self,
        api: &str,
        upstream: Option<&PgUpstream>,
        auth: &PatroniAuth,
    ) -> Result<()> {
        self.patroni.set_standby_cluster(api, upstream, auth).await
    }
}

/// A plan of `database.provider: mysql` reaches its servers through the same port.
impl MysqlServers for FakeGlobalDatabase {
    async fn observe(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
    ) -> Result<crate::mysql::MysqlServerView> {
        self.mysql.observe(server, login).await
    }

    async fn set_read_only(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
        on: bool,
    ) -> Result<()> {
        self.mysql.set_read_only(server, login, on).await
    }

    async fn detach(&self, server: &str, login: &crate::mysql::MysqlLogin) -> Result<()> {
        self.mysql.detach(server, login).await
    }

    async fn follow(
        &self,
        server: &str,
        login: &crate::mysql::MysqlLogin,
        source: &str,
    ) -> Result<()> {
        self.mysql.follow(server, login, source).await
    }
}

/// Replication lag per cluster id.
#[derive(Debug, Default)]
pub struct FakeLag {
    /// The newest datapoint by cluster id.
    pub samples: Mutex<BTreeMap<String, LagSample>>,
}

impl FakeLag {
    /// A datapoint measured just now.
    pub fn set(&self, cluster_id: &str, lag: Duration) {
        self.set_aged(cluster_id, lag, Duration::ZERO);
    }

    /// A datapoint whose period ended `age` ago.
    pub fn set_aged(&self, cluster_id: &str, lag: Duration, age: Duration) {
        self.samples
            .lock()
            .unwrap()
            .insert(cluster_id.to_string(), LagSample { lag, age });
    }

    /// No datapoint: the lag is unknown.
    pub fn clear(&self, cluster_id: &str) {
        self.samples.lock().unwrap().remove(cluster_id);
    }

    /// No datapoint for any cluster.
    pub fn clear_all(&self) {
        self.samples.lock().unwrap().clear();
    }
}

impl ReplicationLagSource for FakeLag {
    async fn replication_lag(&self, _region: &str, cluster_id: &str) -> Result<Option<LagSample>> {
        Ok(self.samples.lock().unwrap().get(cluster_id).copied())
    }
}

/// An example plan's YAML with provisioned instance classes for its DR cluster: standby
/// `db.r6g.large`, active `active`, beside the Serverless v2 range it already has.
pub fn plan_with_instance_classes(plan: &str, active: &str) -> String {
    const AT: &str = "    database_capacity:\n      serverless_v2:";
    assert!(
        plan.contains(AT),
        "the plan sets no database_capacity to extend"
    );
    plan.replacen(
        AT,
        &format!(
            "    database_capacity:\n      instance_class: {{ standby: db.r6g.large, active: {active} }}\n      serverless_v2:"
        ),
        1,
    )
}
