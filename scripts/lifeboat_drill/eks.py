"""The shop's pods on EKS for the drill (issue 23 item 2): each region's cluster is tests/vendor's
contract-checked Kubernetes fake, served over https with a certificate of the cluster's own CA
(openssl), authenticating callers as EKS does: the bearer token is the presigned STS
GetCallerIdentity that dr-scale-up signs with its role, which the fake sends to the emulated
AWS's STS (tests/emulator/sts_presigned.py checks its signature) and maps through the cluster's
access entries: both copies' dr-scale-up roles, scoped to the shop's namespace. No token is
stored anywhere: the plan names the cluster and its CA's parameter.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import TYPE_CHECKING, Any

from .harness import EAST, WEST, function_key
from .linode import NAMESPACE, SHORT, WORKLOADS, Clusters, certificates
from .vendor_dns import load_vendor_fakes

if TYPE_CHECKING:
    from .course import Drill

CA_PARAMETERS = {r: f"/lifeboat/shop/kubernetes/{SHORT[r]}-ca" for r in (EAST, WEST)}
ACCOUNT = "123456789012"


def cluster_name(region: str) -> str:
    return f"shop-{SHORT[region]}"


class EksClusters(Clusters):
    """Each region's EKS cluster: the shop's workloads active in us-east-1, at standby in
    us-west-2."""

    def __init__(self, d: Drill) -> None:
        load_vendor_fakes()
        from kubernetes_apps import EksAuthenticator, KubernetesApps  # tests/vendor (no package)

        pki = d.work / "eks-pki"
        ca_pem = certificates(pki)
        roles = {f"arn:aws:iam::{ACCOUNT}:role/{function_key('dr-scale-up', r)}" for r in (EAST, WEST)}
        self.auth = {region: EksAuthenticator(cluster_name(region), d.endpoint,
                                              {role: {NAMESPACE} for role in roles})
                     for region in (EAST, WEST)}
        self.fakes = {
            region: KubernetesApps(None, [
                (kind, NAMESPACE, name, active if region == EAST else standby)
                for kind, name, standby, active in WORKLOADS],
                eks=self.auth[region], tls=(str(pki / "server.pem"), str(pki / "server.key")))
            for region in (EAST, WEST)}
        for region in (WEST, EAST):
            ssm = d.client("ssm", region)
            for r in (EAST, WEST):
                ssm.put_parameter(Name=CA_PARAMETERS[r], Value=ca_pem, Type="String", Overwrite=True)

    def authenticated(self, region: str) -> list[str]:
        """The roles `region`'s cluster let in, one per request, in order."""
        return list(self.auth[region].authenticated)

    def refused(self, region: str) -> list[str]:
        return list(self.auth[region].refused)

    def tokens(self) -> set[str]:
        """Every token either cluster was shown."""
        return set().union(*(a.tokens for a in self.auth.values()))


def signature(token: str) -> str:
    """The SigV4 signature inside a token (its URL's X-Amz-Signature)."""
    b64 = token[len("k8s-aws-v1."):]
    url = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Signature"][0]


def plan(clusters: EksClusters, p: dict[str, Any]) -> None:
    """Each region's compute adds its EKS cluster's workloads (the plan names the cluster and
    its CA, no token)."""
    for region in (EAST, WEST):
        workloads: dict[str, list[dict[str, Any]]] = {"deployments": [], "statefulsets": []}
        for kind, name, standby, active in WORKLOADS:
            workloads[kind].append({"namespace": NAMESPACE, "name": name,
                                    "standby_replicas": standby, "active_replicas": active})
        p["regions"][region].setdefault("compute", {})["kubernetes"] = {
            "api_url": clusters.fakes[region].base_url,
            "eks": {"cluster_name": cluster_name(region)},
            "ca_parameter": CA_PARAMETERS[region],
            **workloads}
