//! Kubernetes workloads through a cluster's API, as Kubernetes documents it
//! (tests/vendor/kubernetes/apps-v1.openapi.yaml keeps the part lifeboat uses):
//!
//! * `GET /apis/apps/v1/namespaces/{namespace}/{deployments|statefulsets}/{name}`: the object,
//!   read for `spec.replicas`, `metadata.generation` and the status's counts and
//!   `observedGeneration`;
//! * `PATCH .../{name}/scale` with a merge patch (`application/merge-patch+json`,
//!   `{"spec": {"replicas": n}}`): the replicas, through the subresource an autoscaler and
//!   `kubectl scale` use, so nothing else of the workload is touched;
//! * errors are meta/v1 `Status` objects: their `reason` and `message` are shown bounded and
//!   inert, with the kind of the HTTP status (401/403 `AccessDenied`, 404 `NotFound`, 409
//!   `Transient`: a conflicting write, worth another try; another 4xx `InvalidInput`; 429
//!   `Throttled`; 5xx `Transient`).
//!
//! The token travels only in the `Authorization` header. An API URL is `https://` (its cluster's
//! CA certificate trusted when the plan gives one), or `http://` to 127.0.0.1 / localhost only (a
//! fake on this machine).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use lifeboat_core::kubernetes::{WorkloadRef, WorkloadView};
use lifeboat_core::ports::{ClusterAccess, KubernetesWorkloads};
use lifeboat_core::{Error, ErrorKind, Result};
use serde::Deserialize;

use crate::domains::api_base;

/// How long one request may take before it is `Transient`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The Kubernetes adapter: one client for public CAs, and one per cluster CA it was given (built
/// once per CA, kept for the function's life).
#[derive(Debug)]
pub struct KubernetesApi {
    client: reqwest::Client,
    with_ca: Mutex<HashMap<String, reqwest::Client>>,
    timeout: Duration,
}

impl KubernetesApi {
    pub fn new(timeout: Duration) -> Result<Self> {
        Ok(Self {
            client: crate::client()?,
            with_ca: Mutex::new(HashMap::new()),
            timeout,
        })
    }

    /// The client that trusts `ca_pem` (or the system's roots).
    fn client_for(&self, ca_pem: Option<&str>) -> Result<reqwest::Client> {
        let Some(pem) = ca_pem else {
            return Ok(self.client.clone());
        };
        let mut cache = self
            .with_ca
            .lock()
            .map_err(|_| Error::internal("the Kubernetes client cache was poisoned"))?;
        if let Some(c) = cache.get(pem) {
            return Ok(c.clone());
        }
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Error::invalid_input("the cluster's CA certificate is not a PEM certificate")
            })?;
        let client = certs
            .into_iter()
            .fold(crate::client_builder(), |b, c| b.add_root_certificate(c))
            .build()
            .map_err(|e| Error::internal(format!("HTTP client with the cluster's CA: {e}")))?;
        cache.insert(pem.to_string(), client.clone());
        Ok(client)
    }

    fn url(cluster: &ClusterAccess, w: &WorkloadRef, scale: bool) -> Result<String> {
        let base = api_base("Kubernetes", &cluster.api_url)?;
        Ok(format!(
            "{base}/apis/apps/v1/namespaces/{}/{}/{}{}",
            name_segment("namespace", &w.namespace)?,
            w.kind.resource(),
            name_segment("name", &w.name)?,
            if scale { "/scale" } else { "" }
        ))
    }

    async fn exchange<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
        cluster: &ClusterAccess,
    ) -> Result<T> {
        crate::bearer_json(
            &format!("Kubernetes {what}"),
            request,
            &cluster.token,
            self.timeout,
            kind_of,
            said,
        )
        .await
    }
}

/// A namespace or name as one URL path segment: Kubernetes names are DNS labels or subdomains
/// (lower-case letters, digits, '-' and '.'), and anything else is refused.
fn name_segment<'a>(what: &str, s: &'a str) -> Result<&'a str> {
    if !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
    {
        Ok(s)
    } else {
        Err(Error::invalid_input(format!(
            "'{}' is not a Kubernetes {what}",
            lifeboat_core::text::inert(s, 80)
        )))
    }
}

/// 409 (a write that conflicted with another) is worth another try; the rest as every API's.
fn kind_of(status: u16) -> ErrorKind {
    match status {
        409 => ErrorKind::Transient,
        code => crate::kind_of_status(code),
    }
}

/// Kubernetes' own words from a meta/v1 `Status`.
fn said(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ApiStatus>(body).ok().map(|s| {
        format!(
            "{} ({})",
            lifeboat_core::text::inert(&s.message, 200),
            lifeboat_core::text::inert(&s.reason, 40)
        )
    })
}

#[derive(Debug, Deserialize)]
struct ApiStatus {
    #[serde(default)]
    message: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
struct Object {
    metadata: Meta,
    spec: Spec,
    #[serde(default)]
    status: Status,
}

#[derive(Debug, Deserialize)]
struct Meta {
    #[serde(default)]
    generation: i64,
}

#[derive(Debug, Deserialize)]
struct Spec {
    /// Kubernetes defaults an absent count to 1.
    #[serde(default = "one")]
    replicas: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    observed_generation: i64,
    #[serde(default)]
    ready_replicas: u32,
    #[serde(default)]
    updated_replicas: u32,
    #[serde(default)]
    available_replicas: u32,
}

impl KubernetesWorkloads for KubernetesApi {
    async fn workload(&self, cluster: &ClusterAccess, w: &WorkloadRef) -> Result<WorkloadView> {
        let url = Self::url(cluster, w, false)?;
        let client = self.client_for(cluster.ca_pem.as_deref())?;
        let o: Object = self
            .exchange(&format!("GET {w}"), client.get(url), cluster)
            .await?;
        Ok(WorkloadView {
            replicas: o.spec.replicas,
            generation: o.metadata.generation,
            observed_generation: o.status.observed_generation,
            ready: o.status.ready_replicas,
            updated: o.status.updated_replicas,
            available: o.status.available_replicas,
        })
    }

    async fn scale(&self, cluster: &ClusterAccess, w: &WorkloadRef, replicas: u32) -> Result<()> {
        let url = Self::url(cluster, w, true)?;
        let client = self.client_for(cluster.ca_pem.as_deref())?;
        let patch = serde_json::json!({ "spec": { "replicas": replicas } });
        let request = client
            .patch(url)
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string());
        let _: serde_json::Value = self
            .exchange(&format!("scale {w} to {replicas}"), request, cluster)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use lifeboat_core::kubernetes::WorkloadKind;
    use lifeboat_core::ports::Secret;

    fn web() -> WorkloadRef {
        WorkloadRef {
            kind: WorkloadKind::Deployment,
            namespace: "shop".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn urls_name_the_workload_and_refuse_what_is_no_kubernetes_name_or_no_safe_scheme() {
        let cluster = |url: &str| ClusterAccess {
            api_url: url.into(),
            token: Secret::new("t"),
            ca_pem: None,
        };
        assert_eq!(
            KubernetesApi::url(&cluster("https://lke1.example.com:443/"), &web(), true).unwrap(),
            "https://lke1.example.com:443/apis/apps/v1/namespaces/shop/deployments/web/scale"
        );
        let mut bad = web();
        bad.name = "../../api/v1/secrets".into();
        assert!(KubernetesApi::url(&cluster("https://k"), &bad, false).is_err());
        bad.name = "Web".into();
        assert!(KubernetesApi::url(&cluster("https://k"), &bad, false).is_err());
        assert!(KubernetesApi::url(&cluster("http://10.0.0.1:6443"), &web(), false).is_err());
        assert!(KubernetesApi::url(&cluster("http://127.0.0.1:6443"), &web(), false).is_ok());
    }

    #[test]
    fn a_ca_that_is_no_certificate_is_invalid_input() {
        let api = KubernetesApi::new(REQUEST_TIMEOUT).unwrap();
        let e = api.client_for(Some("not a pem")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
}
