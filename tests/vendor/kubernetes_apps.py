"""A Kubernetes API server's apps/v1 Deployments and StatefulSets (their reads and their `scale`
subresource), faked on loopback with state, every request and response checked against
Kubernetes' published OpenAPI description (tests/vendor/kubernetes/apps-v1.openapi.yaml).

What Kubernetes documents and the fake keeps:

* `GET .../deployments/{name}` and `.../statefulsets/{name}` answer the whole object; its
  `metadata.generation` grows with every change of its spec, and `status.observedGeneration`
  says which generation the controller has acted on;
* `GET .../{kind}/{name}/scale` answers an autoscaling/v1 `Scale`; `PATCH` of it with a merge
  patch (`application/merge-patch+json`, `{"spec": {"replicas": n}}`) sets the replicas;
* the workload's controller then brings its pods up or down one at a time: each read after a
  change moves `status` one step (`readyReplicas`, `updatedReplicas`, `availableReplicas`),
  so a client sees the rollout progress and complete, not a jump; `hold(kind, ns, name)`
  stops a workload's progress (pods that never become ready);
* on EKS (`eks=EksAuthenticator(...)`), a bearer token `k8s-aws-v1.…` is what EKS's
  authenticator (aws-iam-authenticator's `Verify`) takes it for: a presigned STS
  `GetCallerIdentity` URL, checked as it checks one (base64url, its STS host, path `/`, only the
  query parameters it allows, `x-k8s-aws-id` among the signed headers, `X-Amz-Expires` at most
  900, its date at most 15 minutes old), then sent to STS (here: the emulated AWS, whose STS
  checks the signature, see tests/emulator/sts_presigned.py) with this cluster's name in
  `x-k8s-aws-id`; the role that signed it must have an access entry, which names the
  namespaces it may touch (401 otherwise, as EKS answers a principal it cannot map);
* errors are meta/v1 `Status` objects (`{"kind": "Status", "status": "Failure", "reason",
  "code", "message"}`): 401 without the bearer token, 403 for a namespace the token may not
  touch, 404 for an unknown workload, 415 for a patch that is not a merge patch, 422 for a
  negative replica count, 429/5xx on demand.
"""
from __future__ import annotations

import base64
import datetime
import json
import re
import threading
import urllib.parse
import uuid
from typing import Any

import requests

from werkzeug.wrappers import Request

from contract import Answer, CheckedServer  # tests/vendor is on sys.path (no package)

SPEC = "kubernetes/apps-v1.openapi.yaml"
PREFIX = "/apis/apps/v1/namespaces/"
KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet"}
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable"}


def status(code: int, message: str) -> Answer:
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": REASONS.get(code, "Unknown"), "code": code}, {}


class Workload:
    def __init__(self, kind: str, namespace: str, name: str, replicas: int) -> None:
        self.kind, self.namespace, self.name = kind, namespace, name
        self.uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{namespace}/{name}"))
        self.replicas = replicas
        self.ready = replicas
        self.generation = 1
        self.observed = 1
        self.resource_version = 1
        self.held = False

    def step(self) -> None:
        """The controller's next step towards the spec: observe it, then one pod at a time."""
        if self.held:
            return
        if self.observed < self.generation:
            self.observed = self.generation
            return
        if self.ready < self.replicas:
            self.ready += 1
        elif self.ready > self.replicas:
            self.ready -= 1

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "uid": self.uid,
                "generation": self.generation, "resourceVersion": str(self.resource_version),
                "labels": {"app": self.name}}

    def scale(self) -> dict[str, Any]:
        return {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": self.metadata(),
                "spec": {"replicas": self.replicas},
                "status": {"replicas": self.ready, "selector": f"app={self.name}"}}

    def object(self) -> dict[str, Any]:
        template = {"metadata": {"labels": {"app": self.name}},
                    "spec": {"containers": [{"name": self.name, "image": f"shop/{self.name}:1"}]}}
        spec: dict[str, Any] = {"replicas": self.replicas,
                                "selector": {"matchLabels": {"app": self.name}},
                                "template": template}
        done = self.observed == self.generation and self.ready == self.replicas
        if self.kind == "deployments":
            st: dict[str, Any] = {
                "observedGeneration": self.observed, "replicas": self.ready,
                "updatedReplicas": self.ready, "readyReplicas": self.ready,
                "availableReplicas": self.ready,
                "conditions": [{"type": "Progressing", "status": "True",
                                "reason": "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                                "message": f"{self.name} {'has' if done else 'is'} progressing"}]}
        else:
            spec["serviceName"] = self.name
            st = {"observedGeneration": self.observed, "replicas": self.ready,
                  "readyReplicas": self.ready, "currentReplicas": self.ready,
                  "updatedReplicas": self.ready, "availableReplicas": self.ready}
        return {"apiVersion": "apps/v1", "kind": KINDS[self.kind], "metadata": self.metadata(),
                "spec": spec, "status": st}


EKS_PREFIX = "k8s-aws-v1."
# aws-iam-authenticator's limits and the query parameters it lets through
EKS_MAX_TOKEN = 4096
EKS_PARAMETERS = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                  "x-amz-expires", "x-amz-security-token", "x-amz-signature",
                  "x-amz-signedheaders", "x-amz-user-agent"}


class EksAuthenticator:
    """EKS's authentication of IAM principals: `cluster` (the name tokens must be bound to),
    `sts_url` (STS's endpoint: here the emulated AWS, standing in for sts.<region>.amazonaws.com,
    the one host a token's URL may name), `access_entries` (principal ARN -> the namespaces its
    access policy is scoped to)."""

    def __init__(self, cluster: str, sts_url: str, access_entries: dict[str, set[str]]) -> None:
        self.cluster = cluster
        parsed = urllib.parse.urlsplit(sts_url)
        self.sts = (parsed.scheme, parsed.netloc)
        self.access_entries = access_entries
        self.authenticated: list[str] = []
        self.refused: list[str] = []
        # every token presented (a test looks for each in the caller's logs)
        self.tokens: set[str] = set()

    def principal(self, token: str) -> str | None:
        """The canonical ARN of the role that signed `token`, or None (the reason in refused)."""
        self.tokens.add(token)
        principal, why = self._verify(token)
        if principal is None:
            self.refused.append(why)
        else:
            self.authenticated.append(principal)
        return principal

    def _verify(self, token: str) -> tuple[str | None, str]:
        if len(token) > EKS_MAX_TOKEN:
            return None, "token is too large"
        try:
            b64 = token[len(EKS_PREFIX):]
            url = base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_", validate=True).decode()
        except (ValueError, UnicodeDecodeError) as e:
            return None, f"not base64url: {e}"
        parsed = urllib.parse.urlsplit(url)
        if (parsed.scheme, parsed.netloc) != self.sts:
            return None, f"unexpected STS host {parsed.scheme}://{parsed.netloc} in pre-signed URL"
        if parsed.path != "/":
            return None, "unexpected path in pre-signed URL"
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        lower: dict[str, str] = {}
        for key, values in query.items():
            if key.lower() not in EKS_PARAMETERS:
                return None, f"non-whitelisted query parameter {key!r}"
            if len(values) != 1:
                return None, "query parameter with multiple values not supported"
            lower[key.lower()] = values[0]
        if lower.get("action") != "GetCallerIdentity":
            return None, "unexpected action parameter in pre-signed URL"
        if "x-k8s-aws-id" not in [h.lower() for h in lower.get("x-amz-signedheaders", "").split(";")]:
            return None, "client did not sign the x-k8s-aws-id header in the pre-signed URL"
        try:
            expires = int(lower.get("x-amz-expires", ""))
        except ValueError:
            expires = -1
        if not 0 <= expires <= 900:
            return None, "invalid X-Amz-Expires parameter in pre-signed URL"
        try:
            date = datetime.datetime.strptime(lower.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ")
        except ValueError:
            return None, "X-Amz-Date parameter must be present in pre-signed URL"
        if datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) > date + datetime.timedelta(minutes=15):
            return None, "X-Amz-Date parameter is expired (15 minute expiration)"
        try:
            r = requests.get(url, headers={"x-k8s-aws-id": self.cluster, "accept": "application/json"},
                             timeout=5, allow_redirects=False)
        except requests.RequestException as e:
            return None, f"error during GET: {type(e).__name__}"
        if r.status_code != 200:
            return None, f"error from AWS (expected 200, got {r.status_code})"
        arn = r.json()["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"]
        m = re.fullmatch(r"arn:aws:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/[\w+=,.@-]+", arn)
        if m is None:
            return None, f"not a role's session: {arn}"
        return f"arn:aws:iam::{m.group(1)}:role/{m.group(2)}", "authenticated"


class KubernetesApps:
    def __init__(self, token: str | None, workloads: list[tuple[str, str, str, int]],
                 namespaces: set[str] | None = None, eks: EksAuthenticator | None = None,
                 tls: tuple[str, str] | None = None) -> None:
        """`workloads`: (kind: deployments|statefulsets, namespace, name, replicas), running
        ready. `namespaces`: those the token may touch (all of the workloads' by default).
        `eks`: the cluster authenticates IAM principals as EKS does (then `token` may be None).
        `tls`: (certificate file, key file) to serve https with, as a cluster's API is served."""
        self.token = token
        self.eks = eks
        self._lock = threading.Lock()
        self.workloads = {(k, ns, n): Workload(k, ns, n, r) for k, ns, n, r in workloads}
        self.namespaces = namespaces if namespaces is not None else {ns for _, ns, _, _ in workloads}
        self.fail_next: list[int] = []
        self.patches: list[tuple[str, str, str, int]] = []
        self.server = CheckedServer(
            SPEC, self.handle,
            bad_request=lambda reasons: status(400, reasons)[1],
            error_response="io.k8s.apimachinery.pkg.apis.meta.v1.Status", check_spec=False,
            tls=tls)
        self.base_url = self.server.base_url

    @property
    def violations(self) -> list[str]:
        return self.server.violations

    def hold(self, kind: str, namespace: str, name: str) -> None:
        self.workloads[(kind, namespace, name)].held = True

    def ready(self, kind: str, namespace: str, name: str) -> tuple[int, int]:
        """(spec replicas, ready replicas) as the fake holds them."""
        w = self.workloads[(kind, namespace, name)]
        return w.replicas, w.ready

    def handle(self, request: Request) -> Answer:
        with self._lock:
            return self._serve(request)

    def _admitted(self, request: Request) -> set[str] | None:
        """The namespaces the request's bearer may touch; None: not authenticated."""
        auth = request.headers.get("Authorization", "")
        if self.token is not None and auth == f"Bearer {self.token}":
            return self.namespaces
        if self.eks is not None and auth.startswith(f"Bearer {EKS_PREFIX}"):
            principal = self.eks.principal(auth[len("Bearer "):])
            if principal is not None:
                return self.eks.access_entries.get(principal)
        return None

    def _serve(self, request: Request) -> Answer:
        namespaces = self._admitted(request)
        if namespaces is None:
            return status(401, "Unauthorized")
        if self.fail_next:
            code = self.fail_next.pop(0)
            return status(code, "the fake was asked to fail this request")
        parts = request.path[len(PREFIX):].split("/") if request.path.startswith(PREFIX) else []
        if len(parts) not in (3, 4) or parts[1] not in KINDS or (len(parts) == 4 and parts[3] != "scale"):
            return status(404, "the server could not find the requested resource")
        namespace, kind, name = parts[0], parts[1], parts[2]
        if namespace not in namespaces:
            return status(403, f'{kind}.apps "{name}" is forbidden: the token may not '
                               f'touch namespace "{namespace}"')
        w = self.workloads.get((kind, namespace, name))
        if w is None:
            return status(404, f'{kind}.apps "{name}" not found')
        if request.method == "GET":
            w.step()
            return 200, (w.scale() if len(parts) == 4 else w.object()), {}
        if request.method == "PATCH" and len(parts) == 4:
            if request.mimetype != "application/merge-patch+json":
                return status(415, f"the body of the request was in an unknown format - "
                                   f"accepted media types include: application/merge-patch+json "
                                   f"(not {request.mimetype})")
            patch = json.loads(request.get_data() or b"{}")
            replicas = ((patch.get("spec") or {}).get("replicas"))
            if not isinstance(replicas, int) or replicas < 0:
                return status(422, f'Scale.autoscaling "{name}" is invalid: spec.replicas: '
                                   f"Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0")
            if replicas != w.replicas:
                w.replicas = replicas
                w.generation += 1
                w.resource_version += 1
            self.patches.append((kind, namespace, name, replicas))
            return 200, w.scale(), {}
        return status(405, "method not allowed")

    def stop(self) -> None:
        self.server.stop()
