#!/usr/bin/env python3
"""Least privilege, executed: every AWS call a function made, checked against its own role.

In the drill and in chaos runs each function signs with its own access key (``LBFN<NAME>``) and
the emulator records each such call (``/_lifeboat/iam``): service, operation and the parameters
that name resources. This module turns each call into its IAM action and resource ARNs, resolves
that function's role policy from ``infra/template.yaml`` (its substitutions filled for the
emulated account), and has an IAM policy simulator (``@cloud-copilot/iam-simulate``, run by
``tests/iam/simulate.mjs``) decide each request. It prints a table per function (calls, allowed,
denied, statements no call needed) and names every denied call with its action and resource.

    python scripts/iam_check.py CALLS.json      # calls as GET /_lifeboat/iam answers them
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra/template.yaml"
SIMULATOR = ROOT / "tests/iam/simulate.mjs"
ACCOUNT = "123456789012"
KEY_PREFIX = "LBFN"
# A placeholder for the UUID inside an Auto Scaling group's ARN (its policy names the group by
# name, with a wildcard for the UUID).
ASG_UUID = "00000000-0000-0000-0000-000000000000"

# The IAM service prefix of each SigV4 signing name.
IAM_PREFIX = {"monitoring": "cloudwatch"}


class IamError(Exception):
    """The template or a call could not be read (not a policy decision)."""


# -- the template -------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (!Sub, !Ref, !GetAtt, ...)."""


def _intrinsic(loader: _Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else ("Condition" if tag_suffix == "Condition" else f"Fn::{tag_suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


@dataclass
class Context:
    """What CloudFormation would fill in for the emulated stack in us-west-2."""

    template: dict[str, Any]
    region: str = "us-west-2"
    other_region: str = "us-east-1"
    overrides: dict[str, str] = field(default_factory=dict)

    def parameter(self, name: str) -> str:
        if name in self.overrides:
            return self.overrides[name]
        if name == "OtherRegion":
            return self.other_region
        spec = self.template.get("Parameters", {}).get(name)
        if spec is None or "Default" not in spec:
            raise IamError(f"parameter {name} has no value for the emulated stack")
        return str(spec["Default"])

    def ref(self, name: str) -> Any:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "lifeboat-shop"}
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        res = self.template.get("Resources", {}).get(name)
        if res is None:
            raise IamError(f"!Ref {name}: no such parameter or resource")
        props = self.resolve(res.get("Properties", {}))
        kind = res["Type"]
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{ACCOUNT}:{props['TopicName']}"
        if kind == "AWS::Logs::LogGroup":
            return props["LogGroupName"]
        if kind == "AWS::Events::EventBus":
            return props["Name"]
        if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return f"arn:aws:states:{self.region}:{ACCOUNT}:stateMachine:{props['Name']}"
        raise IamError(f"!Ref {name} ({kind}) is not modelled")

    def get_att(self, name: str, attr: str) -> Any:
        res = self.template.get("Resources", {}).get(name)
        if res is None:
            raise IamError(f"!GetAtt {name}.{attr}: no such resource")
        kind = res["Type"]
        props = self.resolve(res.get("Properties", {}))
        if kind == "AWS::Logs::LogGroup" and attr == "Arn":
            return f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{props['LogGroupName']}:*"
        if kind == "AWS::Events::EventBus" and attr == "Arn":
            return f"arn:aws:events:{self.region}:{ACCOUNT}:event-bus/{props['Name']}"
        if kind == "AWS::SNS::Topic" and attr == "TopicArn":
            return self.ref(name)
        raise IamError(f"!GetAtt {name}.{attr} ({kind}) is not modelled")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return _sub(text, lambda n: extra[n] if n in extra else (
                    self.get_att(*n.split(".", 1)) if "." in n else self.ref(n)))
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Fn::Equals":
                a, b = self.resolve(arg)
                return a == b
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(i) for i in self.resolve(items))
            if key == "Condition":
                return self.condition(arg)
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not _NO_VALUE}


_NO_VALUE = object()


def _sub(text: str, lookup: Any) -> str:
    out, i = [], 0
    while True:
        j = text.find("${", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        k = text.index("}", j)
        out.append(text[i:j])
        name = text[j + 2:k]
        out.append(name[1:] if name.startswith("!") else str(lookup(name)))
        i = k + 1


def function_policies(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """Each function's binary name -> the statements of its role's inline policies."""
    resources = ctx.template["Resources"]
    out: dict[str, list[dict[str, Any]]] = {}
    for res in resources.values():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        role = res.get("Properties", {}).get("Role", {})
        if not binary or "Fn::GetAtt" not in role:
            continue
        role_res = resources[role["Fn::GetAtt"][0]]
        statements: list[dict[str, Any]] = []
        for policy in role_res["Properties"].get("Policies", []):
            doc = ctx.resolve(policy["PolicyDocument"])
            for n, st in enumerate(doc["Statement"], start=1):
                st = dict(st)
                st.setdefault("Sid", f"{policy['PolicyName']}{n}".replace("-", ""))
                statements.append(st)
        out[binary] = statements
    return out


# -- the calls ----------------------------------------------------------------------------


HOME_PREFIX = KEY_PREFIX + "HOME"


def function_of(access_key: str) -> tuple[str, bool]:
    """LBFNDBFAILOVER -> ("dbfailover", False): the key's function (compared without dashes),
    and whether it is the home copy's (LBFNHOME..., in us-east-1)."""
    if access_key.startswith(HOME_PREFIX):
        return access_key[len(HOME_PREFIX):].lower(), True
    return access_key[len(KEY_PREFIX):].lower(), False


def _arn_tail(value: str) -> str:
    return value.rsplit(":", 1)[-1] if value.startswith("arn:") else value


def requests_of(call: dict[str, Any]) -> list[tuple[str, str]]:
    """An emulator-recorded call -> its (IAM action, resource ARN) requests. Raises IamError for
    an operation this check does not model (named, never silently allowed)."""
    region, op, p = call["region"], call["operation"], call["params"]
    prefix = IAM_PREFIX.get(call["service"], call["service"])
    action = f"{prefix}:{op}"

    def listed(name: str) -> list[Any]:
        if isinstance(p.get(name), list):
            return p[name]
        return [v for k, v in sorted(p.items()) if k.startswith(f"{name}.member.")] or (
            [p[name]] if name in p else [])

    if prefix == "ssm":
        if op in ("GetParameter", "PutParameter", "DeleteParameter", "GetParameterHistory"):
            return [(action, f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{p['Name']}")]
        if op == "GetParameters":
            return [(action, f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{n}") for n in p["Names"]]
        if op == "DescribeParameters":
            return [(action, "*")]
    if prefix == "states":
        if op in ("StartExecution", "ListExecutions", "DescribeStateMachine"):
            return [(action, p["stateMachineArn"])]
        if op in ("DescribeExecution", "StopExecution", "GetExecutionHistory"):
            return [(action, p["executionArn"])]
        if op in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
            return [(action, "*")]
    if prefix == "sns" and op in ("Publish", "GetTopicAttributes"):
        return [(action, p.get("TopicArn") or p["TargetArn"])]
    if prefix == "s3":
        # path-style REST: GET /bucket/?versioning | ?replication
        bucket = [x for x in p.get("path", "").split("/") if x][0]
        sub = {"versioning": "GetBucketVersioning", "replication": "GetReplicationConfiguration"}
        query = urllib.parse.parse_qs(p.get("query", ""), keep_blank_values=True)
        named = [sub[q] for q in query if q in sub]
        if call["operation"].startswith("GET ") and len(named) == 1:
            return [(f"s3:{named[0]}", f"arn:aws:s3:::{bucket}")]
    if prefix == "rds":
        def cluster(ident: str) -> str:
            return ident if ident.startswith("arn:") else f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{ident}"
        gid = p.get("GlobalClusterIdentifier")
        glob = f"arn:aws:rds::{ACCOUNT}:global-cluster:{_arn_tail(gid) if gid else '*'}"
        if op == "DescribeGlobalClusters":
            return [(action, glob)]
        if op == "DescribeDBClusters":
            ident = p.get("DBClusterIdentifier")
            return [(action, cluster(ident) if ident else f"arn:aws:rds:{region}:{ACCOUNT}:cluster:*")]
        if op in ("FailoverGlobalCluster", "SwitchoverGlobalCluster"):
            return [(action, glob), (action, cluster(p["TargetDbClusterIdentifier"]))]
    if prefix == "ecs" and op in ("UpdateService", "DescribeServices"):
        clus = _arn_tail(p.get("cluster", "default")).split("/")[-1]
        names = p.get("services") or [p["service"]]
        return [(action, f"arn:aws:ecs:{region}:{ACCOUNT}:service/{clus}/{_arn_tail(n).split('/')[-1]}")
                for n in names]
    if prefix == "autoscaling":
        if op in ("UpdateAutoScalingGroup", "SetDesiredCapacity"):
            return [(action, f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:{ASG_UUID}:"
                             f"autoScalingGroupName/{p['AutoScalingGroupName']}")]
        if op.startswith("Describe"):
            return [(action, "*")]
    if prefix == "cloudwatch":
        if op in ("GetMetricStatistics", "GetMetricData", "PutMetricData", "ListMetrics"):
            return [(action, "*")]
        if op == "DescribeAlarms":
            names = listed("AlarmNames")
            return [(action, f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{n}") for n in names] or [
                (action, f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:*")]
    if prefix == "events" and op == "PutEvents":
        buses = {_arn_tail(e.get("EventBusName") or "default").split("/")[-1] for e in p.get("Entries", [])}
        return [(action, f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{b}") for b in sorted(buses)]
    if prefix == "route53":
        parts = [x for x in p.get("path", "").split("/") if x]
        if op in ("ChangeResourceRecordSets", "ListResourceRecordSets", "GetHostedZone"):
            return [(action, f"arn:aws:route53:::hostedzone/{parts[2]}")]
        if op == "GetChange":
            return [(action, f"arn:aws:route53:::change/{parts[2]}")]
        if op in ("UpdateHealthCheck", "GetHealthCheck"):
            return [(action, f"arn:aws:route53:::healthcheck/{parts[2]}")]
        if op == "ListHostedZones":
            return [(action, "*")]
    if prefix == "route53-recovery-cluster":
        if op in ("GetRoutingControlState", "UpdateRoutingControlState"):
            return [(action, p["RoutingControlArn"])]
        if op == "UpdateRoutingControlStates":
            return [(action, e["RoutingControlArn"]) for e in p["UpdateRoutingControlStateEntries"]]
        if op == "ListRoutingControls":
            return [(action, "*")]
    if prefix == "elasticloadbalancing" and op.startswith("Describe"):
        return [(action, "*")]
    raise IamError(f"{action} ({call['service']} {urllib.parse.quote(op)}) is not modelled by "
                   "scripts/iam_check.py")


# -- the verdict ----------------------------------------------------------------------------


@dataclass
class Row:
    function: str
    calls: int = 0
    allowed: int = 0
    denied: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    statements: list[dict[str, Any]] = field(default_factory=list)

    def unused(self) -> list[str]:
        """Statements no call needed; the log statements are Lambda's own (it writes the
        function's logs with the role), never a call of the function's."""
        return [f"{s['Sid']} ({', '.join(_as_list(s['Action']))})" for s in self.statements
                if s["Sid"] not in self.used
                and not all(a.startswith("logs:") for a in _as_list(s["Action"]))]


def _as_list(v: Any) -> list[str]:
    return v if isinstance(v, list) else [v]


def _simulator(payload: Any, *args: str, timeout: float = 300) -> Any:
    """tests/iam/simulate.mjs with `payload` as JSON on stdin; its JSON answer."""
    done = subprocess.run(["node", str(SIMULATOR), *args], input=json.dumps(payload), text=True,
                          capture_output=True, timeout=timeout, cwd=SIMULATOR.parent)
    if done.returncode != 0:
        raise IamError(f"the IAM simulator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def simulate(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each {action, resource, policy} -> {result, statements (Sids that allowed it)}."""
    return _simulator(requests)


def check(calls: list[dict[str, Any]], template: dict[str, Any] | None = None
          ) -> tuple[list[Row], list[str]]:
    """The table's rows (one per function that has a role) and the problems: calls denied, calls
    of a key without a function, operations not modelled. The copy in us-west-2 and the home
    copy in us-east-1 each have their own roles (the template deployed in each region)."""
    template = template or load_template()
    west = function_policies(Context(template))
    home = function_policies(Context(template, region="us-east-1", other_region="us-west-2"))
    rows = {f: Row(f, statements=st) for f, st in west.items()}
    # a key names its function without dashes
    by_key = {at_home: {f.replace("-", ""): f for f in policies}
              for at_home, policies in ((False, west), (True, home))}
    problems: list[str] = []
    batch: list[dict[str, Any]] = []
    for call in calls:
        name, at_home = function_of(call["access_key"])
        policies = home if at_home else west
        fn = by_key[at_home].get(name)
        if fn is None:
            problems.append(f"{call['access_key']}: no function of infra/template.yaml has this key")
            continue
        try:
            reqs = requests_of(call)
        except (IamError, KeyError, IndexError) as e:
            problems.append(f"{fn}: {e}")
            continue
        for action, resource in reqs:
            batch.append({"function": fn, "action": action, "resource": resource,
                          "count": call["count"],
                          "policy": {"Version": "2012-10-17", "Statement": policies[fn]}})
    for req, verdict in zip(batch, simulate(batch)):
        row = rows[req["function"]]
        row.calls += req["count"]
        if verdict["result"] == "Allowed":
            row.allowed += req["count"]
            row.used.update(verdict["statements"])
        else:
            denial = f"{req['action']} on {req['resource']} ({verdict['result']})"
            row.denied.append(denial)
            problems.append(f"{req['function']}: DENIED {denial}")
    return sorted(rows.values(), key=lambda r: r.function), problems


def table(rows: list[Row]) -> str:
    lines = [f"{'function':<22} {'calls':>6} {'allowed':>8} {'denied':>7}  statements no call needed",
             f"{'-' * 22} {'-' * 6} {'-' * 8} {'-' * 7}  {'-' * 26}"]
    for r in rows:
        lines.append(f"{r.function:<22} {r.calls:>6} {r.allowed:>8} {len(r.denied):>7}  "
                     + ("; ".join(r.unused()) or "-"))
    return "\n".join(lines)


def report(rows: list[Row], problems: list[str]) -> str:
    return "\n".join([table(rows), *(f"iam: {p}" for p in problems)])


def wildcard_only_scoped(template: dict[str, Any] | None = None) -> list[str]:
    """Statements that name resources for an action IAM authorizes only on "*" (the Service
    Authorization Reference): such a statement never matches, so the call is denied."""
    template = template or load_template()
    policies = function_policies(Context(template))
    named = sorted({a for st in (s for sts in policies.values() for s in sts)
                    if _as_list(st["Resource"]) != ["*"] for a in _as_list(st["Action"])})
    facts = {f["action"]: f for f in _simulator(named, "--actions", timeout=120)}
    out = []
    for fn, sts in sorted(policies.items()):
        for st in sts:
            if _as_list(st["Resource"]) == ["*"]:
                continue
            for a in _as_list(st["Action"]):
                if not facts[a]["known"]:
                    out.append(f"{fn} {st['Sid']}: {a} is not an IAM action")
                elif facts[a]["wildcardOnly"]:
                    out.append(f"{fn} {st['Sid']}: {a} supports only Resource \"*\"")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    doc = json.loads(Path(argv[0]).read_text())
    rows, problems = check(doc["calls"] if isinstance(doc, dict) else doc)
    print(report(rows, problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
