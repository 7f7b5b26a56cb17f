"""Least privilege, executed (scripts/iam_check.py): calls become IAM requests, each role comes
from infra/template.yaml, an IAM policy simulator decides, and what it denies is named."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import iam_check  # noqa: E402

WEST = "us-west-2"
ACCOUNT = "123456789012"


def call(key: str, service: str, operation: str, params: dict[str, Any],
         region: str = WEST) -> dict[str, Any]:
    return {"access_key": key, "region": region, "service": service, "operation": operation,
            "params": params, "count": 1}


def test_no_role_scopes_an_action_iam_authorizes_only_on_every_resource() -> None:
    """states:SendTaskSuccess/Failure support no resource-level permissions: a statement naming
    state machines never matches, so on AWS no approval would ever reach its run (the template at
    638ae74 did that; this fails there)."""
    assert iam_check.wildcard_only_scoped() == []


def test_calls_become_the_iam_requests_aws_authorizes() -> None:
    assert iam_check.requests_of(call("LBFNRUNLEDGER", "ssm", "GetParameter", {"Name": "/lifeboat/shop/plan"})) \
        == [("ssm:GetParameter", f"arn:aws:ssm:{WEST}:{ACCOUNT}:parameter/lifeboat/shop/plan")]
    assert iam_check.requests_of(call("LBFNDBFAILOVER", "rds", "SwitchoverGlobalCluster", {
        "GlobalClusterIdentifier": "shop-global",
        "TargetDbClusterIdentifier": f"arn:aws:rds:{WEST}:{ACCOUNT}:cluster:shop-usw2"})) == [
        ("rds:SwitchoverGlobalCluster", f"arn:aws:rds::{ACCOUNT}:global-cluster:shop-global"),
        ("rds:SwitchoverGlobalCluster", f"arn:aws:rds:{WEST}:{ACCOUNT}:cluster:shop-usw2")]
    assert iam_check.requests_of(call("LBFNHEALTHPROBE", "monitoring", "PutMetricData", {})) \
        == [("cloudwatch:PutMetricData", "*")]
    assert iam_check.requests_of(call("LBFNDRSCALEUP", "ecs", "UpdateService",
                                      {"cluster": "shop", "service": "web"})) \
        == [("ecs:UpdateService", f"arn:aws:ecs:{WEST}:{ACCOUNT}:service/shop/web")]
    assert iam_check.requests_of(call("LBFNDNSFLIP", "route53", "ChangeResourceRecordSets",
                                      {"path": "/2013-04-01/hostedzone/Z1/rrset/"})) \
        == [("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1")]
    assert iam_check.function_of("LBFNHOMEDNSFLIP") == ("dnsflip", True)
    assert iam_check.function_of("LBFNDNSFLIP") == ("dnsflip", False)


def test_a_call_outside_its_role_is_denied_and_named() -> None:
    rows, problems = iam_check.check([
        call("LBFNRUNLEDGER", "ssm", "GetParameter", {"Name": "/lifeboat/shop/plan"}),
        # the link-signing key is failover-approval's alone
        call("LBFNRUNLEDGER", "ssm", "GetParameter", {"Name": "/lifeboat/shop/approval-link-secret"}),
        call("LBFNFAILOVERAPPROVAL", "ssm", "GetParameter",
             {"Name": "/lifeboat/shop/approval-link-secret"}),
    ])
    ledger = next(r for r in rows if r.function == "run-ledger")
    approval = next(r for r in rows if r.function == "failover-approval")
    assert (ledger.calls, ledger.allowed, len(ledger.denied)) == (2, 1, 1)
    assert (approval.calls, approval.allowed, approval.denied) == (1, 1, [])
    assert problems == [f"run-ledger: DENIED ssm:GetParameter on arn:aws:ssm:{WEST}:{ACCOUNT}:"
                        "parameter/lifeboat/shop/approval-link-secret (ImplicitlyDenied)"]
    assert "run-ledger" in iam_check.table(rows)


def test_a_call_it_cannot_model_or_place_is_a_problem_never_allowed() -> None:
    rows, problems = iam_check.check([
        call("LBFNVERIFY", "ssm", "LabelParameterVersion", {"Name": "/lifeboat/shop/plan"}),
        call("LBFNSOMEONEELSE", "ssm", "GetParameter", {"Name": "/lifeboat/shop/plan"}),
    ])
    assert all(r.calls == 0 for r in rows)
    assert len(problems) == 2
    assert "ssm:LabelParameterVersion" in problems[0] and "not modelled" in problems[0]
    assert "LBFNSOMEONEELSE" in problems[1]


def test_the_home_copy_is_judged_by_the_role_deployed_in_its_region() -> None:
    # us-east-1's copy reads its own plan, not us-west-2's
    _, problems = iam_check.check([
        call("LBFNHOMEALARMTOFAILOVER", "ssm", "GetParameter", {"Name": "/lifeboat/shop/plan"},
             region="us-east-1"),
        call("LBFNHOMEALARMTOFAILOVER", "ssm", "PutParameter", {"Name": "/lifeboat/shop/lock"},
             region="us-west-2"),
    ])
    assert problems == [f"alarm-to-failover: DENIED ssm:PutParameter on arn:aws:ssm:{WEST}:"
                        f"{ACCOUNT}:parameter/lifeboat/shop/lock (ImplicitlyDenied)"]
