"""Kubernetes' apps/v1 description, kept for issue 23's scale-up (tests/vendor/kubernetes): it
loads in the contract checker and holds the operations the adapter is to use, as published."""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contract import HERE, load_spec  # noqa: E402

SPEC = "kubernetes/apps-v1.openapi.yaml"


def test_the_kept_apps_v1_subset_loads_and_holds_the_scale_subresource_and_the_reads() -> None:
    load_spec(SPEC, "http://127.0.0.1:1", check_spec=False)
    doc = yaml.safe_load((HERE / SPEC).read_text())
    ops = {(path, method) for path, item in doc["paths"].items() for method in item
           if method != "parameters"}
    base = "/apis/apps/v1/namespaces/{namespace}"
    assert ops == {
        (f"{base}/deployments/{{name}}", "get"),
        (f"{base}/deployments/{{name}}/scale", "get"),
        (f"{base}/deployments/{{name}}/scale", "patch"),
        (f"{base}/statefulsets/{{name}}", "get"),
        (f"{base}/statefulsets/{{name}}/scale", "get"),
        (f"{base}/statefulsets/{{name}}/scale", "patch"),
    }
    schemas = doc["components"]["schemas"]
    for name in ("io.k8s.api.autoscaling.v1.Scale", "io.k8s.api.apps.v1.DeploymentStatus",
                 "io.k8s.api.apps.v1.StatefulSetStatus", "io.k8s.apimachinery.pkg.apis.meta.v1.Status"):
        assert name in schemas, name
