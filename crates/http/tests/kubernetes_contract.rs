//! Issue 23 item 2 (the adapter): lifeboat's Kubernetes adapter against a stateful fake of a
//! cluster's apps/v1 API whose every request and answer is checked against Kubernetes' published
//! OpenAPI description (tests/vendor/kubernetes/apps-v1.openapi.yaml). A request the description
//! rejects is a violation, and a violation fails the test. Needs the project's Python environment
//! (`make setup`; `make test` does it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Fake;
use lifeboat_core::ErrorKind;
use lifeboat_core::kubernetes::{WorkloadKind, WorkloadRef, steady};
use lifeboat_core::ports::{ClusterAccess, KubernetesWorkloads, Secret};
use lifeboat_http::kubernetes::KubernetesApi;
use serde_json::json;

const TOKEN: &str = "c0ntractk8st0kenc0ntractk8st0kenc0ntractk8st0kenc0ntractk8s00";

fn shop() -> Fake {
    Fake::start(
        "kubernetes",
        TOKEN,
        json!([
            ["deployments", "shop", "web", 1],
            ["deployments", "shop", "checkout", 1],
            ["statefulsets", "shop", "queue", 0],
        ]),
    )
}

fn cluster(fake: &Fake, token: &str) -> ClusterAccess {
    ClusterAccess {
        api_url: fake.base_url.clone(),
        token: Secret::new(token),
        ca_pem: None,
    }
}

fn workload(kind: WorkloadKind, name: &str) -> WorkloadRef {
    WorkloadRef {
        kind,
        namespace: "shop".into(),
        name: name.into(),
    }
}

#[tokio::test]
async fn a_scale_up_is_steady_only_once_the_rollout_completes_and_scales_back_down() {
    let mut fake = shop();
    let api = KubernetesApi::new(Duration::from_secs(10)).unwrap();
    let c = cluster(&fake, TOKEN);
    let web = workload(WorkloadKind::Deployment, "web");
    let queue = workload(WorkloadKind::StatefulSet, "queue");

    // GIVEN standby: web at 1, queue at 0, both steady there
    assert!(steady(&api.workload(&c, &web).await.unwrap(), 1));
    assert!(steady(&api.workload(&c, &queue).await.unwrap(), 0));

    // WHEN scaled to active
    api.scale(&c, &web, 3).await.unwrap();
    api.scale(&c, &queue, 2).await.unwrap();

    // THEN not steady until the controller observed it and every pod is ready
    let mut reads = Vec::new();
    for _ in 0..10 {
        let v = api.workload(&c, &web).await.unwrap();
        reads.push((
            v.observed_generation >= v.generation,
            v.ready,
            steady(&v, 3),
        ));
        if steady(&v, 3) {
            break;
        }
    }
    assert_eq!(
        reads.first(),
        Some(&(true, 1, false)),
        "the first read after the patch: observed, still 1 ready ({reads:?})"
    );
    assert_eq!(reads.last().map(|r| r.2), Some(true), "{reads:?}");
    assert!(
        reads.len() >= 3,
        "a rollout in steps, not a jump: {reads:?}"
    );
    assert_eq!(fake.ask("workload deployments shop web"), json!([3, 3]));

    // AND back to standby after the failback
    api.scale(&c, &web, 1).await.unwrap();
    for _ in 0..10 {
        if steady(&api.workload(&c, &web).await.unwrap(), 1) {
            break;
        }
    }
    assert_eq!(fake.ask("workload deployments shop web"), json!([1, 1]));
    fake.assert_no_violations();
}

#[tokio::test]
async fn pods_that_never_become_ready_are_never_steady() {
    let mut fake = shop();
    fake.ask("hold deployments shop checkout");
    let api = KubernetesApi::new(Duration::from_secs(10)).unwrap();
    let c = cluster(&fake, TOKEN);
    let checkout = workload(WorkloadKind::Deployment, "checkout");
    api.scale(&c, &checkout, 4).await.unwrap();
    for _ in 0..8 {
        assert!(!steady(&api.workload(&c, &checkout).await.unwrap(), 4));
    }
    fake.assert_no_violations();
}

#[tokio::test]
async fn kubernetes_errors_keep_their_kind_change_nothing_and_never_carry_the_token() {
    let mut fake = shop();
    let api = KubernetesApi::new(Duration::from_secs(10)).unwrap();
    let c = cluster(&fake, TOKEN);
    let web = workload(WorkloadKind::Deployment, "web");

    let e = api
        .workload(&cluster(&fake, "a-revoked-token-0123456789"), &web)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccessDenied, "{e}");
    assert!(!format!("{e:?}").contains("a-revoked-token"));
    let e = api
        .scale(
            &c,
            &WorkloadRef {
                namespace: "kube-system".into(),
                ..web.clone()
            },
            3,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccessDenied, "{e}");
    assert!(e.to_string().contains("forbidden"), "{e}");
    let e = api
        .workload(&c, &workload(WorkloadKind::Deployment, "absent"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    fake.ask("fail 429");
    let e = api.scale(&c, &web, 3).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Throttled, "{e}");
    fake.ask("fail 503");
    let e = api.workload(&c, &web).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    let bad = WorkloadRef {
        name: "web/../../secrets".into(),
        ..web.clone()
    };
    assert_eq!(
        api.scale(&c, &bad, 3).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        fake.ask("workload deployments shop web"),
        json!([1, 1]),
        "nothing changed"
    );
    fake.assert_no_violations();

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nobody = ClusterAccess {
        api_url: format!("http://127.0.0.1:{port}"),
        ..c.clone()
    };
    let e = api.workload(&nobody, &web).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert!(!format!("{e:?}").contains(TOKEN));
}
