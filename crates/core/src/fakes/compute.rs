//! Fakes: ECS services and Auto Scaling groups.

use super::prelude::*;

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

    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> Result<Vec<EcsServiceView>> {
        self.reachable(region)?;
        Ok(services
            .iter()
            .filter_map(|s| self.get(region, cluster, s))
            .collect())
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
