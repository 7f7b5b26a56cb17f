//! Kubernetes workloads (issue 23: LKE, DOKS and EKS shops): the deployments and stateful sets a
//! plan scales between standby and active through their `scale` subresource, and the rule of
//! when such a workload is steady. The adapter (`lifeboat_http::kubernetes`) reads and patches;
//! the rule lives here.

use serde::{Deserialize, Serialize};

/// The kinds of workload lifeboat scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl WorkloadKind {
    /// The resource's name in the apps/v1 API paths.
    pub fn resource(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::StatefulSet => "statefulsets",
        }
    }
}

/// One workload of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkloadRef {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.kind.resource(),
            self.namespace,
            self.name
        )
    }
}

/// A workload as its API object says it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadView {
    /// `spec.replicas`: what it is asked to run.
    pub replicas: u32,
    /// `metadata.generation`: grows with each change of its spec.
    pub generation: i64,
    /// `status.observedGeneration`: the generation its controller has acted on.
    pub observed_generation: i64,
    /// `status.readyReplicas`, `updatedReplicas`, `availableReplicas` (absent counts as 0).
    pub ready: u32,
    pub updated: u32,
    pub available: u32,
}

/// Whether the workload runs `wanted` replicas, every one of them of its current spec, ready and
/// available, and its controller has seen the newest spec (the rollout is complete, as
/// `kubectl rollout status` judges it). A controller that has not yet observed the change says
/// nothing about it: not steady.
pub fn steady(view: &WorkloadView, wanted: u32) -> bool {
    view.replicas == wanted
        && view.observed_generation >= view.generation
        && view.ready == wanted
        && view.updated == wanted
        && view.available == wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(replicas: u32, ready: u32, observed: i64) -> WorkloadView {
        WorkloadView {
            replicas,
            generation: 2,
            observed_generation: observed,
            ready,
            updated: ready,
            available: ready,
        }
    }

    #[test]
    fn a_workload_is_steady_only_once_its_controller_saw_the_spec_and_every_replica_is_ready() {
        assert!(steady(&view(6, 6, 2), 6));
        assert!(!steady(&view(6, 5, 2), 6), "one pod not ready");
        assert!(
            !steady(&view(6, 6, 1), 6),
            "the controller has not observed the change"
        );
        assert!(!steady(&view(1, 1, 2), 6), "not yet asked for 6");
        let mut old_pods = view(6, 6, 2);
        old_pods.updated = 4;
        assert!(!steady(&old_pods, 6), "two pods of the old template");
        // back to standby: steady at the standby count, 0 included
        assert!(steady(&view(0, 0, 2), 0));
    }
}
