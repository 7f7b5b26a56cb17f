"""The Kubernetes apps/v1 fake keeps Kubernetes' published contract: what it serves validates
against the kept OpenAPI subset, a request the description rejects is caught, and it behaves as
Kubernetes documents (the scale subresource, generations, a rollout in steps, Status errors)."""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kubernetes_apps import KubernetesApps  # noqa: E402

TOKEN = "k8s-" + "0" * 60
NS = "shop"
BASE = f"/apis/apps/v1/namespaces/{NS}"


@pytest.fixture
def k8s() -> Iterator[KubernetesApps]:
    fake = KubernetesApps(TOKEN, [("deployments", NS, "web", 1), ("statefulsets", NS, "queue", 0)])
    yield fake
    fake.stop()


def call(k8s: KubernetesApps, method: str, path: str, body: Any = None, token: str | None = TOKEN,
         content_type: str = "application/merge-patch+json") -> tuple[int, Any]:
    req = urllib.request.Request(k8s.base_url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if body is not None:
        req.add_header("Content-Type", content_type)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_a_scale_patch_rolls_out_one_pod_at_a_time_and_reads_back_complete(k8s: KubernetesApps) -> None:
    status, scale = call(k8s, "PATCH", f"{BASE}/deployments/web/scale", {"spec": {"replicas": 3}})
    assert status == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3
    seen = []
    for _ in range(6):
        _, d = call(k8s, "GET", f"{BASE}/deployments/web")
        seen.append((d["metadata"]["generation"], d["status"]["observedGeneration"],
                     d["status"]["readyReplicas"]))
    assert seen[:4] == [(2, 2, 1), (2, 2, 2), (2, 2, 3), (2, 2, 3)], seen
    status, s = call(k8s, "GET", f"{BASE}/statefulsets/queue/scale")
    assert status == 200 and s["spec"]["replicas"] == 0
    assert k8s.violations == []


def test_kubernetes_errors_are_status_objects(k8s: KubernetesApps) -> None:
    status, body = call(k8s, "GET", f"{BASE}/deployments/web", token="wrong")
    assert status == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized"
    assert call(k8s, "GET", f"{BASE}/deployments/absent")[0] == 404
    assert call(k8s, "GET", "/apis/apps/v1/namespaces/kube-system/deployments/coredns")[0] == 403
    status, body = call(k8s, "PATCH", f"{BASE}/deployments/web/scale", {"spec": {"replicas": -1}})
    assert status == 422 and body["reason"] == "Invalid"
    status, _ = call(k8s, "PATCH", f"{BASE}/deployments/web/scale", {"spec": {"replicas": 2}},
                     content_type="application/json-patch+json")
    assert status == 415
    k8s.fail_next.append(503)
    assert call(k8s, "GET", f"{BASE}/deployments/web/scale")[0] == 503
    assert k8s.ready("deployments", NS, "web") == (1, 1), "nothing changed"
    assert k8s.violations == []


def test_a_held_workload_never_becomes_ready(k8s: KubernetesApps) -> None:
    k8s.hold("deployments", NS, "web")
    call(k8s, "PATCH", f"{BASE}/deployments/web/scale", {"spec": {"replicas": 4}})
    for _ in range(5):
        _, d = call(k8s, "GET", f"{BASE}/deployments/web")
    assert d["status"]["readyReplicas"] == 1 and d["status"]["observedGeneration"] == 1


def test_a_request_or_answer_the_description_rejects_is_a_violation(k8s: KubernetesApps) -> None:
    # a patch with no body breaks the description (requestBody required)
    req = urllib.request.Request(k8s.base_url + f"{BASE}/deployments/web/scale", method="PATCH")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)  # noqa: S310 - loopback
    assert e.value.code == 400
    assert len(k8s.violations) == 1
    # an answer of the fake's own that breaks it: replicas as text
    k8s.server.handle = lambda request: (200, {"kind": "Scale", "spec": {"replicas": "three"}}, {})
    assert call(k8s, "GET", f"{BASE}/deployments/web/scale")[0] == 500
    assert len(k8s.violations) == 2


# ---- EKS: IAM principals authenticated through STS (the emulated AWS's) ----

EMULATOR = Path(__file__).resolve().parents[1] / "emulator"
ROLE_KEY = "LBFNDRSCALEUP"  # the emulator names a key's role after the key


@pytest.fixture(scope="module")
def sts() -> Iterator[str]:
    import threading
    sys.path.insert(0, str(EMULATOR))
    import server  # tests/emulator (no package)
    srv = server.build_server("127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture
def eks(sts: str) -> Iterator[KubernetesApps]:
    import requests
    from kubernetes_apps import EksAuthenticator
    # the emulator's state is the process's: no outage left by another test
    requests.post(f"{sts}/moto-api/reset", timeout=10).raise_for_status()
    entries = {f"arn:aws:iam::123456789012:role/{ROLE_KEY}": {NS}}
    fake = KubernetesApps(None, [("deployments", NS, "web", 1), ("deployments", "billing", "api", 1)],
                          eks=EksAuthenticator("shop-usw2", sts, entries))
    yield fake
    fake.stop()


def test_on_eks_a_token_signed_for_the_cluster_by_a_role_with_an_access_entry_is_let_in(eks, sts):
    from sts_presigned import aws_cli_token
    token = aws_cli_token(sts, "shop-usw2", key=ROLE_KEY)
    code, body = call(eks, "GET", f"{BASE}/deployments/web", token=token)
    assert code == 200 and body["kind"] == "Deployment"
    assert eks.eks is not None
    assert eks.eks.authenticated == [f"arn:aws:iam::123456789012:role/{ROLE_KEY}"]
    # its access entry is scoped to the shop's namespace
    code, body = call(eks, "GET", "/apis/apps/v1/namespaces/billing/deployments/api", token=token)
    assert code == 403 and body["reason"] == "Forbidden"


def test_on_eks_another_clusters_token_an_unmapped_role_or_a_forged_one_is_unauthorized(eks, sts):
    from sts_presigned import aws_cli_token
    assert eks.eks is not None
    for token, why in [
        (aws_cli_token(sts, "shop-use1", key=ROLE_KEY), "error from AWS (expected 200, got 403)"),
        (aws_cli_token(sts, "shop-usw2", key=ROLE_KEY, secret="wrong"), "error from AWS (expected 200, got 403)"),
        (aws_cli_token("https://sts.example.com", "shop-usw2", key=ROLE_KEY), "unexpected STS host"),
        ("k8s-aws-v1.!!!", "not base64url"),
    ]:
        code, body = call(eks, "GET", f"{BASE}/deployments/web", token=token)
        assert code == 401 and body["reason"] == "Unauthorized", token
        assert eks.eks.refused[-1].startswith(why), eks.eks.refused
    # authenticated, but no access entry: unauthorized, as EKS answers a principal it cannot map
    code, _ = call(eks, "GET", f"{BASE}/deployments/web", token=aws_cli_token(sts, "shop-usw2", key="LBFNVERIFY"))
    assert code == 401
    assert eks.eks.authenticated[-1] == "arn:aws:iam::123456789012:role/LBFNVERIFY"
