//! A fake of Kubernetes clusters' apps/v1 workloads: each workload's replicas, and a controller
//! that brings pods up or down one per read after a change (as tests/vendor's contract-checked
//! fake does), checking the bearer token.

use super::prelude::*;
use crate::kubernetes::{WorkloadRef, WorkloadView};
use crate::ports::{ClusterAccess, KubernetesWorkloads};

#[derive(Debug, Clone)]
struct State {
    replicas: u32,
    ready: u32,
    generation: i64,
    observed: i64,
    held: bool,
}

/// Workloads by (API URL, workload); the token every cluster accepts.
#[derive(Debug)]
pub struct FakeKubernetes {
    token: String,
    state: Mutex<BTreeMap<(String, WorkloadRef), State>>,
    /// Every call: `get <api> <workload>` / `scale <api> <workload> <n>`.
    pub calls: Mutex<Vec<String>>,
    /// Clusters that do not answer (their region is dark).
    pub dark: Mutex<BTreeSet<String>>,
}

impl FakeKubernetes {
    pub fn new(token: &str) -> Self {
        Self {
            token: token.into(),
            state: Mutex::new(BTreeMap::new()),
            calls: Mutex::new(Vec::new()),
            dark: Mutex::new(BTreeSet::new()),
        }
    }

    /// A workload running `replicas`, all ready.
    pub fn add(&self, api: &str, w: WorkloadRef, replicas: u32) {
        self.state.lock().unwrap().insert(
            (api.into(), w),
            State {
                replicas,
                ready: replicas,
                generation: 1,
                observed: 1,
                held: false,
            },
        );
    }

    /// Its pods never become ready.
    pub fn hold(&self, api: &str, w: &WorkloadRef) {
        if let Some(s) = self.state.lock().unwrap().get_mut(&(api.into(), w.clone())) {
            s.held = true;
        }
    }

    /// (spec replicas, ready replicas).
    pub fn replicas(&self, api: &str, w: &WorkloadRef) -> Option<(u32, u32)> {
        self.state
            .lock()
            .unwrap()
            .get(&(api.into(), w.clone()))
            .map(|s| (s.replicas, s.ready))
    }

    fn admit(&self, cluster: &ClusterAccess) -> Result<()> {
        if self.dark.lock().unwrap().contains(&cluster.api_url) {
            return Err(Error::new(
                ErrorKind::Transient,
                format!("Kubernetes {}: could not connect", cluster.api_url),
            ));
        }
        if cluster.token.expose() != self.token {
            return Err(Error::new(
                ErrorKind::AccessDenied,
                "Kubernetes: HTTP 401 Unauthorized",
            ));
        }
        Ok(())
    }
}

impl KubernetesWorkloads for FakeKubernetes {
    async fn workload(&self, cluster: &ClusterAccess, w: &WorkloadRef) -> Result<WorkloadView> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("get {} {w}", cluster.api_url));
        self.admit(cluster)?;
        let mut state = self.state.lock().unwrap();
        let s = state
            .get_mut(&(cluster.api_url.clone(), w.clone()))
            .ok_or_else(|| Error::not_found(format!("{w} not found")))?;
        if !s.held {
            if s.observed < s.generation {
                s.observed = s.generation;
            } else if s.ready < s.replicas {
                s.ready += 1;
            } else if s.ready > s.replicas {
                s.ready -= 1;
            }
        }
        Ok(WorkloadView {
            replicas: s.replicas,
            generation: s.generation,
            observed_generation: s.observed,
            ready: s.ready,
            updated: s.ready,
            available: s.ready,
        })
    }

    async fn scale(&self, cluster: &ClusterAccess, w: &WorkloadRef, replicas: u32) -> Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("scale {} {w} {replicas}", cluster.api_url));
        self.admit(cluster)?;
        let mut state = self.state.lock().unwrap();
        let s = state
            .get_mut(&(cluster.api_url.clone(), w.clone()))
            .ok_or_else(|| Error::not_found(format!("{w} not found")))?;
        if s.replicas != replicas {
            s.replicas = replicas;
            s.generation += 1;
        }
        Ok(())
    }
}

/// EKS tokens signed by a fake role: each one names its region and cluster, so a
/// [`FakeKubernetes`] made with [`FakeEksTokens::token_for`] accepts only the token for its
/// cluster. `unavailable` makes signing fail as when the function has no credentials.
#[derive(Debug, Default)]
pub struct FakeEksTokens {
    /// Every token asked for: `<region> <cluster>`.
    pub signed: Mutex<Vec<String>>,
    pub unavailable: Mutex<bool>,
}

impl FakeEksTokens {
    /// The token this fake signs for `cluster_name` in `region`.
    pub fn token_for(region: &str, cluster_name: &str) -> String {
        format!("k8s-aws-v1.fake-presigned-sts-{region}-{cluster_name}")
    }
}

impl crate::ports::EksTokens for FakeEksTokens {
    async fn token(&self, region: &str, cluster_name: &str) -> Result<crate::ports::Secret> {
        self.signed
            .lock()
            .unwrap()
            .push(format!("{region} {cluster_name}"));
        if *self.unavailable.lock().unwrap() {
            return Err(Error::new(
                ErrorKind::Transient,
                "EKS token: no credentials to sign with (the credentials provider timed out)",
            ));
        }
        Ok(crate::ports::Secret::new(Self::token_for(
            region,
            cluster_name,
        )))
    }
}
