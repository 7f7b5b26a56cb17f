"""Which IAM actions and resources an AWS call needs, and whether a role's policy allows them.

One mapping, used twice: the emulator enforces each function's role at the moment of the call
(``POST /_lifeboat/iam {"policies": ...}``: a call its policy does not allow is answered
``AccessDenied`` in the service's own error protocol, as AWS answers it), and ``make drill``'s
check (``scripts/iam_check.py``) has an IAM policy simulator judge every recorded call afterwards
and names the statements no call needed.

A call is what the emulator records: access key, region, service (the SigV4 signing name),
operation and the request parameters that name resources. Request-time decisions use moto's IAM
policy evaluator (actions, resources, Allow/Deny); the simulator afterwards is the authority.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

ACCOUNT = "123456789012"
# A placeholder for the UUID inside an Auto Scaling group's ARN (its policy names the group by
# name, with a wildcard for the UUID).
ASG_UUID = "00000000-0000-0000-0000-000000000000"

# The IAM service prefix of each SigV4 signing name.
IAM_PREFIX = {"monitoring": "cloudwatch"}


class IamError(Exception):
    """A call or a template this module cannot read (never a policy decision)."""


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
        if op == "ModifyDBCluster":
            return [(action, cluster(p["DBClusterIdentifier"]))]
        if op in ("DescribeDBInstances", "ModifyDBInstance"):
            # a filtered listing (db-cluster-id) is authorized against every instance
            ident = p.get("DBInstanceIdentifier") or "*"
            return [(action, f"arn:aws:rds:{region}:{ACCOUNT}:db:{_arn_tail(ident)}")]
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
                   "tests/emulator/iam_requests.py")


# -- request-time enforcement --------------------------------------------------------------


def evaluator(policy: dict[str, Any]) -> IAMPolicy:
    """A role's policy, read once (the emulator keeps it per access key)."""
    return IAMPolicy(json.dumps(policy))


def decide(policy: IAMPolicy, call: dict[str, Any]) -> str | None:
    """``None`` when ``policy`` allows every request of ``call``, else why not (AWS's words):
    an explicit deny, no statement allowing it, or an operation this module does not model
    (least privilege: what is not shown to be allowed is denied)."""
    try:
        requests = requests_of(call)
    except (IamError, KeyError, IndexError, TypeError, AttributeError) as e:
        return f"the call cannot be judged ({e})"
    for action, resource in requests:
        verdict = policy.is_action_permitted(action, resource)
        if verdict != PermissionResult.PERMITTED:
            why = ("an explicit deny in an identity-based policy" if verdict == PermissionResult.DENIED
                   else "no identity-based policy allows the action")
            return f"is not authorized to perform: {action} on resource: {resource} because {why}"
    return None
