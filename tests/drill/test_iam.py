"""Least privilege, executed (scripts/iam_check.py): calls become IAM requests, each role comes
from infra/template.yaml, an IAM policy simulator decides, and what it denies is named."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import lifeboat_drill as drill_mod  # noqa: E402
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


def test_each_run_is_judged_by_the_stack_parameters_it_deployed(tmp_path: Path) -> None:
    """The record mode's statements are scoped to the stack's HostedZoneId. The drill deploys
    with the seeded zone's id, so its calls are judged (at the call, after the run, and in the
    union over runs) by the role as deployed with it; with the template's default they would
    be denied (on 8020283 the drill enforced the default: the record-upsert scenario failed)."""
    seeded = "ZSEEDED0123"
    list_records = call("LBFNDNSFLIP", "route53", "ListResourceRecordSets",
                        {"path": f"/2013-04-01/hostedzone/{seeded}/rrset"}, region="us-east-1")
    _, problems = iam_check.check([list_records])
    assert problems == [f"dns-flip: DENIED route53:ListResourceRecordSets on "
                        f"arn:aws:route53:::hostedzone/{seeded} (ImplicitlyDenied)"], problems
    rows, problems = iam_check.check([list_records], parameters={"HostedZoneId": seeded})
    assert problems == []
    assert "RecordsMode" in next(r for r in rows if r.function == "dns-flip").used
    role = iam_check.policies_by_key(parameters={"HostedZoneId": seeded})["LBFNDNSFLIP"]
    assert f"hostedzone/{seeded}" in str(role["Statement"])
    # a saved run keeps its parameters; the union judges each call by its own run's
    iam_check.save_calls([list_records], "drill-record-upsert", tmp_path,
                         parameters={"HostedZoneId": seeded})
    calls, _ = iam_check.load_union(tmp_path)
    assert iam_check.check(calls)[1] == []


class _DnsFlipWithoutArc(drill_mod.Drill):
    """The drill with dns-flip's role missing the statement that reads and flips the ARC routing
    controls (enforced at the call; the template itself is unchanged)."""

    def enforce_roles(self) -> None:
        policies = iam_check.policies_by_key()
        role = policies["LBFNDNSFLIP"]
        role["Statement"] = [s for s in role["Statement"]
                             if "route53-recovery-cluster:UpdateRoutingControlStates"
                             not in iam_check._as_list(s["Action"])]
        self.control("/_lifeboat/iam", {"record": iam_check.KEY_PREFIX, "policies": policies})


def test_a_step_whose_role_lacks_a_permission_is_refused_at_the_call_and_the_run_says_so() -> None:
    """GIVEN dns-flip's role without its ARC statement, WHEN the failover reaches Traffic, THEN
    the emulator refuses the call as AWS would (AccessDeniedException), the step fails with the
    stable errorType AccessDenied (not retried: it is permanent), the run ends FAILED with a
    report naming it, and the drill names the refused call. On bfc4edf nothing was enforced at
    the call: the run succeeded whatever the role."""
    d = _DnsFlipWithoutArc("failover", True, time_scale=0.05, verbose=False, go_home=False)
    try:
        out = d.run()
        assert out.status == "FAILED", out.verdict
        error = (out.report or {}).get("error") or {}
        assert error.get("Error") == "AccessDenied", out.report
        assert "route53-recovery-cluster:" in (error.get("Cause") or ""), error
        refused = [p for p in out.iam["problems"] if p.startswith("REFUSED AT THE CALL LBFNDNSFLIP")]
        assert refused and "route53-recovery-cluster:" in refused[0], out.iam["problems"]
        assert not out.passed
        # the promotion went ahead (its own role allows it); traffic never moved to a region
        # whose flip was refused
        assert d.shop is not None and d.shop.www_region() != "us-west-2"
    finally:
        d.stop()


def test_over_every_run_each_unused_statement_is_removed_or_kept_with_its_reason(tmp_path: Path) -> None:
    """make iam-report: the union of the runs' calls; a statement no call needed must have its
    reason (infra/iam-unused.yaml), and a reason for a statement some call needed is named."""
    ledger_plan = call("LBFNRUNLEDGER", "ssm", "GetParameter", {"Name": "/lifeboat/shop/plan"})
    iam_check.save_calls([ledger_plan], "drill-a", tmp_path)
    iam_check.save_calls([ledger_plan], "chaos-seed-1", tmp_path)
    calls, sources = iam_check.load_union(tmp_path)
    assert sorted(sources) == ["chaos-seed-1", "drill-a"]
    assert [c["count"] for c in calls] == [2]
    rows, problems = iam_check.check(calls)
    assert problems == []
    ledger = next(r for r in rows if r.function == "run-ledger")
    unused = [s["Sid"] for s in ledger.unused_statements()]
    assert "TriggeringAlarmState" in unused
    used_sid = next(s["Sid"] for s in ledger.statements if s["Sid"] not in unused
                    and not iam_check._as_list(s["Action"])[0].startswith("logs:"))
    kept, unexplained = iam_check.unused_verdict(rows, {"run-ledger": {
        "TriggeringAlarmState": "alarm-started runs only", used_sid: "stale"}})
    assert any(k.startswith("run-ledger TriggeringAlarmState") for k in kept)
    assert any(u.startswith(f"run-ledger {used_sid}: a reason is given") for u in unexplained)
    # every other function's statements have no reason here: each is named
    assert any(u.startswith("dns-flip ") and "gives no reason" in u for u in unexplained)


def test_the_kept_reasons_name_statements_the_template_has() -> None:
    reasons = iam_check.load_reasons()
    policies = iam_check.function_policies(iam_check.Context(iam_check.load_template()))
    for fn, sids in reasons.items():
        assert fn in policies, fn
        assert set(sids) <= {s["Sid"] for s in policies[fn]}, (fn, sids)
