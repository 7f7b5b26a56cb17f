"""lifeboat's extensions to moto: what the emulated AWS lacks, built as AWS documents it.

Loaded by ``server.py`` into a moto server process. Everything here is test infrastructure.

Aurora global database (RDS query API)
--------------------------------------
``FailoverGlobalCluster`` and ``SwitchoverGlobalCluster`` as the RDS API reference documents them:

* The response is the ``GlobalCluster`` with a ``FailoverState`` (``Status``, ``FromDbClusterArn``,
  ``ToDbClusterArn``, ``IsDataLossAllowed``). ``FailoverState`` is present only while an operation
  is scheduled or in progress.
* ``FailoverState.Status`` moves ``pending`` -> ``switching-over`` (switchover, or
  ``FailoverGlobalCluster`` without ``AllowDataLoss``) or ``failing-over`` (``AllowDataLoss``),
  then the operation ends: the target member becomes the writer (``IsWriter``), the old primary
  a secondary. The global cluster's ``Status`` shows the same phase while it lasts.
* A switchover needs both the primary and the target healthy: if the primary's region is dark
  when ``pending`` ends, the operation goes to ``cancelling`` and both clusters return to their
  previous roles (nothing moves).
* A failover with data loss does not need the old primary: it becomes a secondary with
  ``SynchronizationStatus`` ``pending-resync``, and ``connected`` once it has been rebuilt
  (after ``resync_seconds``, and only while its region is up).
* ``CreateGlobalCluster`` from an existing cluster makes that cluster the writer (moto 5.2.5
  leaves ``IsWriter`` false).
* Errors: unknown global cluster -> ``GlobalClusterNotFoundFault`` (404); target not a member ->
  ``DBClusterNotFoundFault`` (404); target already the writer or not ``available`` ->
  ``InvalidDBClusterStateFault`` (400); an operation already in progress or the global cluster
  not ``available`` -> ``InvalidGlobalClusterStateFault`` (400); ``AllowDataLoss`` together with
  ``Switchover`` -> ``InvalidParameterCombination`` (400).

Durations are AWS-scale seconds multiplied by ``time_scale`` (default 0.01), so a 60 s failover
takes 0.6 s of real time. States advance lazily when read: deterministic, no timer threads. Each
request sees one instant (the clock is frozen for the request), so a response is a consistent
snapshot, as AWS's are: never the old writer together with a finished operation.

DB instance classes
-------------------
``ModifyDBInstance`` with a new ``DBInstanceClass`` and ``ApplyImmediately`` leaves the instance
``modifying``, with ``PendingModifiedValues.DBInstanceClass``, for ``rds.instance_modify_seconds``;
then it has the new class and is ``available``. A modification of an instance that is not
``available`` is refused (``InvalidDBInstanceState``). ``ModifyDBCluster``'s
``ServerlessV2ScalingConfiguration`` applies at once (moto's behaviour, kept).

Regional outage
---------------
``POST /_lifeboat/faults {"outage_on_invoke": {"function": "run-ledger", "payload_contains":
"\"record\"", "region": "us-west-2", "services": ["ssm"]}}`` starts such an outage the moment
that function is invoked with a payload containing that text (once).

``POST /_lifeboat/faults {"result_on_invoke": {"function": "run-ledger", "payload_contains":
"\"assess\"", "result": {...}}}`` answers that function's next such invocation with ``result``
instead of running it (once): a function whose answer the state machine cannot read, as after a
version mismatch between function and machine (Step Functions then fails the execution with
``States.Runtime``).

``POST /_lifeboat/faults {"sandbox_crashed": {"function": "db-failover", "region": "us-west-2"}}``
says that function's process was killed (make chaos kills it): each invocation of it in flight
answers at once as Lambda answers one whose runtime exited, ``X-Amz-Function-Error: Unhandled``
with ``{"errorType": "Runtime.ExitError", ...}`` (Step Functions matches on that name). The answer
counts them (``invocations_lost``) and says what each asked (``requests_lost``: its payload's
``action``, or an event's ``detail-type``), so that a harness can tell which step a crash cut.

``POST /_lifeboat/outage {"region": "us-east-1", "services": ["rds"]}`` makes every request
signed for that region (and, if given, only those services) answer HTTP 503
``ServiceUnavailable``, as a dark region's endpoints would fail. ``DELETE /_lifeboat/outage``
ends all outages; with a body ``{"region": "us-west-2"}``, that region's alone. With
``"access_key": "LBFN"`` an outage is met only by calls signed with an access key of that prefix
(lifeboat's functions in make chaos), and never by the database endpoints: the harness observes
through it. ``POST /moto-api/reset`` also resets extension state.

Configuration
-------------
``GET|POST /_lifeboat/config`` reads or changes ``time_scale`` and the RDS durations:
``rds.pending_seconds`` (10), ``rds.switchover_seconds`` (90), ``rds.failover_seconds`` (60),
``rds.cancel_seconds`` (10), ``rds.resync_seconds`` (300), ``rds.instance_modify_seconds`` (300);
``ecs.task_start_seconds`` (60),
``ecs.task_stop_seconds`` (30), ``autoscaling.instance_start_seconds`` (120).

ECS services and Auto Scaling groups
------------------------------------
Capacity ramps over time instead of appearing at once (see the section in the code): ECS
``runningCount`` climbs to a new desired count over ``ecs.task_start_seconds``; instances an Auto
Scaling group launches after its creation are ``Pending`` for
``autoscaling.instance_start_seconds``.

Call counts
-----------
``POST /_lifeboat/iam {"record": "LBFN"}`` records every call signed with an access key of that
prefix (lifeboat's functions, each its own key): ``GET /_lifeboat/iam`` answers them, counted, as
access key, region, service, operation and the request parameters that name resources (make
drill's IAM check turns them into actions and ARNs).

``POST /_lifeboat/iam {"policies": {"LBFNDNSFLIP": {"Version": ..., "Statement": [...]}}}``
enforces a role: each call signed with that key is judged at the moment it is made (its actions
and resource ARNs as ``iam_requests.py`` maps them, moto's IAM policy evaluator) and, when the
policy does not allow it, answered as AWS answers (``AccessDeniedException``, SNS
``AuthorizationError``, ``AccessDenied``) with AWS's "is not authorized to perform" message, and
nothing is done. ``GET`` lists the refused calls under ``denied``.

``GET /_lifeboat/calls`` answers the API calls served since the last reset by
``service:Operation`` (e.g. ``route53:ListResourceRecordSets``); ``DELETE`` answers them and
starts afresh.

Step Functions
--------------
Each execution that closes (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) sends the documented
``Step Functions Execution Status Change`` event to its region's default EventBridge bus (see the
section in the code); moto sends none. ``StopExecution`` and an execution timeout wake a
``.waitForTaskToken`` wait at once. ``States.ALL`` in a Catch or Retry never matches
``States.Runtime`` or ``States.DataLimitExceeded``, as AWS documents (moto's interpreter lets it).

API faults
----------
``POST /_lifeboat/api-faults {"seed": n, "rules": [...]}`` injects throttling, server errors,
timeouts and latency into matching signed calls, drawn from a seeded random stream, each in the
service's own error protocol (see ``api_faults.py``); ``GET`` answers the counts injected.

Route 53 ARC routing controls
-----------------------------
A cluster with one endpoint per named region (``http://HOST/_arc/<region>/v1``), a control panel,
routing controls and assertion safety rules, seeded with ``POST /_lifeboat/arc`` and served over
the route53-recovery-cluster JSON API; an endpoint whose region is dark (or whose outage names
``arc``) answers ``EndpointTemporarilyUnavailableException``. See ``arc.py``.

STS presigned GetCallerIdentity
-------------------------------
A GET with SigV4 in the query for ``sts`` (EKS's bearer token, sent on by its authenticator) is
answered here, its signature and age checked as STS checks them: see ``sts_presigned.py``.

S3
--
``GetBucketVersioning`` answers with the root element S3 documents, ``VersioningConfiguration``
(moto 5.2.5 writes ``GetBucketVersioningResponse``, which boto3 tolerates and the Rust SDK
rejects as invalid XML).
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.parse
from typing import Any, NamedTuple

from moto.core.responses import ActionResult

import api_faults
import iam_requests
import sts_presigned
from arc import ARC
from arc import PATH as ARC_PATH
from moto.rds import models as rds_models
from moto.rds.exceptions import RDSClientError
from moto.rds.responses import RDSResponse

DEFAULTS: dict[str, Any] = {
    "time_scale": 0.01,
    "rds": {
        "pending_seconds": 10.0,
        "switchover_seconds": 90.0,
        "failover_seconds": 60.0,
        "cancel_seconds": 10.0,
        "resync_seconds": 300.0,
        # ModifyDBInstance with a new DBInstanceClass, applied immediately: the instance restarts
        # on the new class (AWS publishes no figure; lifeboat plans with 300 s,
        # db_capacity::INSTANCE_CLASS_CHANGE_SECONDS).
        "instance_modify_seconds": 300.0,
    },
    "ecs": {
        "task_start_seconds": 60.0,
        "task_stop_seconds": 30.0,
    },
    "autoscaling": {
        "instance_start_seconds": 120.0,
    },
    "route53": {
        # A change batch is PENDING until it has reached every Route 53 DNS server (AWS: usually
        # well within 60 s), then INSYNC.
        "propagation_seconds": 60.0,
    },
    # Where Lambda invocations go (cargo lambda watch's Invoke API); empty: moto's own Lambda.
    "lambda": {
        "forward_url": "",
        "region_forward_urls": {},
        # An asynchronous invocation that ends in a function error is run again after these
        # waits (AWS default: two more attempts, one minute, then two minutes).
        "async_retry_seconds": [60.0, 120.0],
    },
}


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.request = threading.local()
        self.reset()

    def now(self) -> float:
        """The instant of the request being served (or the wall clock outside a request)."""
        frozen = getattr(self.request, "now", None)
        return frozen if frozen is not None else time.monotonic()

    def reset(self) -> None:
        with self.lock:
            self.config = json.loads(json.dumps(DEFAULTS))
            # region -> set of services (empty set = every service)
            self.outages: dict[str, set[str]] = {}
            # region -> access-key prefix: that region's outage is met only by calls signed with
            # such a key (an outage as lifeboat's functions meet it; make chaos observes through it)
            self.outage_keys: dict[str, str] = {}
            # Route 53 change id -> when it was submitted.
            self.route53_changes: dict[str, float] = {}
            # Injected faults: how many of the next Aurora global operations get cancelled.
            self.cancel_next_rds_operations = 0
            # API calls served, by "service:Operation" (GET /_lifeboat/calls).
            self.calls: dict[str, int] = {}
            # Outages that begin when a function is invoked with a payload containing a text
            # (the fault "the parameter store goes dark right after Verify").
            self.outage_on_invoke: list[dict[str, Any]] = []
            # Invocations answered with a given result instead of running the function.
            self.result_on_invoke: list[dict[str, Any]] = []
            # "region:function" -> the RequestResponse invocations in flight (a sandbox crash
            # answers them).
            self.in_flight: dict[str, list[dict[str, Any]]] = {}
            # asynchronous invocations accepted and not yet done (queued, running or waiting
            # for a retry), per region:function
            self.events_pending: dict[str, int] = {}
            # Calls signed with an access key of this prefix are recorded for IAM (None: none).
            self.iam_prefix: str | None = None
            # (access key, region, service, operation, parameters naming resources) -> count
            self.iam_calls: dict[str, int] = {}
            # access key -> its role's policy, enforced at the moment of each call it signs
            self.iam_policies: dict[str, Any] = {}  # moto IAMPolicy, read once
            # the calls refused (access key, region, service, operation, AWS's message)
            self.iam_denied: list[dict[str, Any]] = []
        ARC.reset()
        api_faults.FAULTS.reset()

    def scaled(self, key: str, section: str = "rds") -> float:
        return float(self.config[section][key]) * float(self.config["time_scale"])

    def region_dark(self, region: str | None, service: str = "rds",
                    access_key: str | None = None) -> bool:
        if region is None:
            return False
        services = self.outages.get(region)
        prefix = self.outage_keys.get(region)
        if prefix is not None and not (access_key or "").startswith(prefix):
            return False
        return services is not None and (not services or service in services)

    def update_config(self, body: dict[str, Any]) -> None:
        with self.lock:
            if "time_scale" in body:
                scale = float(body["time_scale"])
                if not 0 < scale <= 10:
                    raise ValueError("time_scale must be in (0, 10]")
                self.config["time_scale"] = scale
            forward = (body.get("lambda") or {}).get("forward_url")
            if forward is not None:
                if not isinstance(forward, str) or (
                    forward and not re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?$", forward)
                ):
                    raise ValueError("lambda.forward_url must be http://127.0.0.1:PORT or empty")
                self.config["lambda"]["forward_url"] = forward
            per_region = (body.get("lambda") or {}).get("region_forward_urls")
            if per_region is not None:
                if not isinstance(per_region, dict) or not all(
                    isinstance(r, str) and re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", r)
                    and isinstance(u, str)
                    and re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?$", u)
                    for r, u in per_region.items()
                ):
                    raise ValueError(
                        "lambda.region_forward_urls maps region names to http://127.0.0.1:PORT"
                    )
                self.config["lambda"]["region_forward_urls"] = dict(per_region)
            for section in ("rds", "ecs", "autoscaling", "route53"):
                for key, value in (body.get(section) or {}).items():
                    if key not in self.config[section]:
                        raise ValueError(f"unknown {section} setting {key}")
                    if float(value) < 0:
                        raise ValueError(f"{section}.{key} must be >= 0")
                    self.config[section][key] = float(value)


STATE = _State()


class InvalidGlobalClusterState(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidGlobalClusterStateFault", message)


class InvalidDBClusterState(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidDBClusterStateFault", message)


class GlobalClusterNotFound(RDSClientError):
    code = 404

    def __init__(self, identifier: str) -> None:
        super().__init__(
            "GlobalClusterNotFoundFault", f"Global cluster {identifier} not found"
        )


class DBClusterNotFound(RDSClientError):
    code = 404

    def __init__(self, message: str) -> None:
        super().__init__("DBClusterNotFoundFault", message)


class InvalidParameterCombination(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterCombination", message)


def _region_of(cluster: Any) -> str:
    return cluster.db_cluster_arn.split(":")[3]


class _Operation:
    def __init__(self, source: Any, target: Any, data_loss: bool) -> None:
        self.source = source
        self.target = target
        self.data_loss = data_loss
        self.started = STATE.now()
        self.cancelled_at: float | None = None
        # An injected fault: RDS cancels the operation when ``pending`` ends.
        self.doomed = False


def _advance(gc: Any) -> None:
    """Move the operation on the global cluster forward to where wall time says it is."""
    with STATE.lock:
        op: _Operation | None = getattr(gc, "_lifeboat_op", None)
        now = STATE.now()
        if op is not None:
            pending_end = op.started + STATE.scaled("pending_seconds")
            if op.cancelled_at is None and now >= pending_end and op.doomed:
                op.cancelled_at = pending_end
            if op.cancelled_at is None and now >= pending_end and not op.data_loss:
                # A switchover verifies both clusters when pending ends.
                if STATE.region_dark(_region_of(op.source)) or STATE.region_dark(
                    _region_of(op.target)
                ):
                    op.cancelled_at = pending_end
            if op.cancelled_at is not None:
                if now >= op.cancelled_at + STATE.scaled("cancel_seconds"):
                    gc._lifeboat_op = None
            else:
                run = "failover_seconds" if op.data_loss else "switchover_seconds"
                if now >= pending_end + STATE.scaled(run):
                    for member in gc.members:
                        member.is_writer = member is op.target
                    resync = getattr(gc, "_lifeboat_resync", {})
                    if op.data_loss:
                        resync[op.source.db_cluster_arn] = now
                    gc._lifeboat_resync = resync
                    gc._lifeboat_op = None
        resync = getattr(gc, "_lifeboat_resync", {})
        for arn, since in list(resync.items()):
            member = next((m for m in gc.members if m.db_cluster_arn == arn), None)
            region = arn.split(":")[3]
            if member is None:
                resync.pop(arn)
            elif STATE.region_dark(region):
                resync[arn] = now  # rebuilding starts only once the region is back
            elif now >= since + STATE.scaled("resync_seconds"):
                resync.pop(arn)


def _phase(gc: Any) -> str | None:
    op: _Operation | None = getattr(gc, "_lifeboat_op", None)
    if op is None:
        return None
    if op.cancelled_at is not None:
        return "cancelling"
    if STATE.now() < op.started + STATE.scaled("pending_seconds"):
        return "pending"
    return "failing-over" if op.data_loss else "switching-over"


def _status_get(gc: Any) -> str:
    _advance(gc)
    return _phase(gc) or gc._lifeboat_status


def _status_set(gc: Any, value: str) -> None:
    gc._lifeboat_status = value


def _failover_state(gc: Any) -> dict[str, Any] | None:
    _advance(gc)
    op: _Operation | None = getattr(gc, "_lifeboat_op", None)
    phase = _phase(gc)
    if op is None or phase is None:
        return None
    return {
        "Status": phase,
        "FromDbClusterArn": op.source.db_cluster_arn,
        "ToDbClusterArn": op.target.db_cluster_arn,
        "IsDataLossAllowed": op.data_loss,
    }


_original_members = rds_models.GlobalCluster.global_cluster_members


def _members(gc: Any) -> list[dict[str, Any]]:
    _advance(gc)
    members = _original_members.fget(gc)  # type: ignore[attr-defined]
    resync = getattr(gc, "_lifeboat_resync", {})
    for member in members:
        if not member["IsWriter"]:
            member["SynchronizationStatus"] = (
                "pending-resync" if member["DBClusterArn"] in resync else "connected"
            )
    return members


def _readers(gc: Any) -> list[str]:
    _advance(gc)
    return [m.db_cluster_arn for m in gc.members if not m.is_writer]


_original_create_global_cluster = rds_models.RDSBackend.create_global_cluster


def _create_global_cluster(self: Any, *args: Any, **kwargs: Any) -> Any:
    """moto leaves the source cluster of CreateGlobalCluster without IsWriter; AWS makes the
    source cluster the global database's primary (writer)."""
    gc = _original_create_global_cluster(self, *args, **kwargs)
    if gc.members and not any(m.is_writer for m in gc.members):
        gc.members[0].is_writer = True
    return gc


rds_models.RDSBackend.create_global_cluster = _create_global_cluster
rds_models.GlobalCluster.status = property(_status_get, _status_set)
rds_models.GlobalCluster.failover_state = property(_failover_state)
rds_models.GlobalCluster.global_cluster_members = property(_members)
rds_models.GlobalCluster.readers = property(_readers)


def _start_operation(
    response: RDSResponse, data_loss: bool, operation: str
) -> ActionResult:
    params = response.params
    identifier = params.get("GlobalClusterIdentifier") or ""
    target_id = params.get("TargetDbClusterIdentifier") or ""
    backend = response.global_backend
    gc = backend.global_clusters.get(identifier)
    if gc is None:
        raise GlobalClusterNotFound(identifier)
    target = next(
        (
            m
            for m in gc.members
            if target_id in (m.db_cluster_arn, m.db_cluster_identifier)
        ),
        None,
    )
    if target is None:
        raise DBClusterNotFound(
            f"{operation}: the target cluster {target_id} is not a member of global cluster {identifier}"
        )
    with STATE.lock:
        _advance(gc)
        if getattr(gc, "_lifeboat_op", None) is not None:
            raise InvalidGlobalClusterState(
                f"Global cluster {identifier} already has a switchover or failover in progress"
            )
        if gc._lifeboat_status != "available":
            raise InvalidGlobalClusterState(
                f"Global cluster {identifier} is in state {gc._lifeboat_status}"
            )
        if target.is_writer:
            raise InvalidDBClusterState(
                f"{target.db_cluster_arn} is already the primary cluster of {identifier}"
            )
        if target.status != "available":
            raise InvalidDBClusterState(
                f"{target.db_cluster_arn} is in state {target.status}, not available"
            )
        source = next((m for m in gc.members if m.is_writer), None)
        if source is None:
            raise InvalidGlobalClusterState(f"Global cluster {identifier} has no writer")
        gc._lifeboat_op = _Operation(source, target, data_loss)
        if STATE.cancel_next_rds_operations > 0:
            STATE.cancel_next_rds_operations -= 1
            gc._lifeboat_op.doomed = True
    return ActionResult({"GlobalCluster": gc})


def _bool(value: Any) -> bool:
    return str(value).lower() == "true"


def failover_global_cluster(self: RDSResponse) -> ActionResult:
    allow = _bool(self.params.get("AllowDataLoss"))
    switchover = _bool(self.params.get("Switchover"))
    if allow and switchover:
        raise InvalidParameterCombination(
            "AllowDataLoss and Switchover cannot both be specified"
        )
    return _start_operation(self, data_loss=allow, operation="FailoverGlobalCluster")


def switchover_global_cluster(self: RDSResponse) -> ActionResult:
    return _start_operation(self, data_loss=False, operation="SwitchoverGlobalCluster")


RDSResponse.failover_global_cluster = failover_global_cluster
RDSResponse.switchover_global_cluster = switchover_global_cluster


# --- DB instance class changes take time ------------------------------------------------------
#
# moto applies ``ModifyDBInstance``'s ``DBInstanceClass`` at once. AWS does not: with
# ``ApplyImmediately`` the instance is ``modifying`` (``PendingModifiedValues.DBInstanceClass``
# names the new class) until it has restarted on the new class; without it the change waits for
# the maintenance window (kept pending here). An instance that is not ``available`` refuses a
# modification (``InvalidDBInstanceState``). ``ModifyDBCluster``'s
# ``ServerlessV2ScalingConfiguration`` applies at once, as moto does.


class InvalidDBInstanceState(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidDBInstanceState", message)


def _instance_advance(instance: Any) -> None:
    change = getattr(instance, "_lifeboat_class_change", None)
    if change is None:
        return
    new_class, started, immediately = change
    if immediately and STATE.now() >= started + STATE.scaled("instance_modify_seconds"):
        instance._lifeboat_class = new_class
        instance._lifeboat_class_change = None


def _instance_status_get(instance: Any) -> str:
    _instance_advance(instance)
    change = getattr(instance, "_lifeboat_class_change", None)
    if change is not None and change[2]:
        return "modifying"
    return instance.__dict__.get("_lifeboat_instance_status", "available")


def _instance_status_set(instance: Any, value: str) -> None:
    instance._lifeboat_instance_status = value


def _instance_class_get(instance: Any) -> str:
    _instance_advance(instance)
    return instance.__dict__.get("_lifeboat_class", "")


def _instance_class_set(instance: Any, value: str) -> None:
    instance._lifeboat_class = value


def _pending_values(instance: Any) -> dict[str, Any] | None:
    _instance_advance(instance)
    change = getattr(instance, "_lifeboat_class_change", None)
    return {"DBInstanceClass": change[0]} if change is not None else None


rds_models.DBInstance.status = property(_instance_status_get, _instance_status_set)
rds_models.DBInstance.db_instance_class = property(_instance_class_get, _instance_class_set)
rds_models.DBInstance.pending_modified_values = property(_pending_values)

_original_modify_db_instance = RDSResponse.modify_db_instance


def modify_db_instance(self: RDSResponse) -> ActionResult:
    params = self.params
    key = next((k for k in ("DBInstanceClass", "db_instance_class") if k in params), None)
    if key is not None:
        identifier = params.get("DBInstanceIdentifier") or params.get("db_instance_identifier")
        instance = self.backend.describe_db_instances(identifier)[0]
        with STATE.lock:
            if instance.status != "available":
                raise InvalidDBInstanceState(
                    f"Database instance is not in available state. ({identifier} is {instance.status})"
                )
            new_class = params.pop(key)
            if new_class != instance.db_instance_class:
                immediately = _bool(
                    params.get("ApplyImmediately", params.get("apply_immediately"))
                )
                instance._lifeboat_class_change = (new_class, STATE.now(), immediately)
    return _original_modify_db_instance(self)


RDSResponse.modify_db_instance = modify_db_instance


# --- ECS services and Auto Scaling groups: capacity ramps over time ---------------------------
#
# moto makes a new desired count "running" at once. AWS does not: new ECS tasks are PENDING while
# images are pulled and containers start (typically tens of seconds to minutes), and new EC2
# instances of an Auto Scaling group are ``Pending`` until they have booted and passed their
# health checks. Here:
#
# * An ECS service is created steady (running = desired). When ``UpdateService`` changes the
#   desired count, ``runningCount`` moves linearly from its value at that instant to the new
#   desired count over ``ecs.task_start_seconds`` (up) or ``ecs.task_stop_seconds`` (down);
#   ``pendingCount`` is the rest. The PRIMARY deployment reports the same counts (scaling
#   changes no task definition, so no new deployment starts and its ``rolloutState`` stays).
# * Instances launched by ``CreateAutoScalingGroup`` are ``InService`` at once (the group is
#   seeded steady); instances launched later (``UpdateAutoScalingGroup`` / ``SetDesiredCapacity``)
#   are ``Pending`` for ``autoscaling.instance_start_seconds``, then ``InService``.

from moto.autoscaling import models as asg_models  # noqa: E402
from moto.ecs import models as ecs_models  # noqa: E402


def _ecs_ramp_value(service: Any) -> int:
    ramp = service.__dict__.get("_lb_ramp")
    if ramp is None:
        return int(service.__dict__.get("desired_count") or 0)
    start, frm, to, duration = ramp
    if duration <= 0 or to == frm:
        return to
    done = min(1.0, max(0.0, (STATE.now() - start) / duration))
    moved = int((to - frm) * done)  # toward `to`, truncated: a task is up or it is not
    return frm + moved


def _ecs_running_get(self: Any) -> int:
    return _ecs_ramp_value(self)


def _ecs_running_set(self: Any, value: Any) -> None:
    with STATE.lock:
        target = max(int(value or 0), 0)
        if "_lb_ramp" not in self.__dict__:
            # Created: steady at its desired count.
            desired = int(self.__dict__.get("desired_count") or 0)
            self.__dict__["_lb_ramp"] = (STATE.now(), desired, desired, 0.0)
            return
        current = _ecs_ramp_value(self)
        key = "task_start_seconds" if target >= current else "task_stop_seconds"
        self.__dict__["_lb_ramp"] = (STATE.now(), current, target, STATE.scaled(key, "ecs"))


def _ecs_pending_get(self: Any) -> int:
    return max(int(self.__dict__.get("desired_count") or 0) - _ecs_ramp_value(self), 0)


def _ecs_deployments_get(self: Any) -> list[dict[str, Any]]:
    deployments = self.__dict__.get("_lb_deployments") or []
    for d in deployments:
        if d.get("status") == "PRIMARY":
            d["desiredCount"] = self.desired_count
            d["runningCount"] = self.running_count
            d["pendingCount"] = self.pending_count
    return deployments


def _ecs_deployments_set(self: Any, value: Any) -> None:
    for d in value or []:
        # Seeded services start steady: their first deployment has completed.
        if d.get("status") == "PRIMARY" and d.get("rolloutState") == "IN_PROGRESS":
            d["rolloutState"] = "COMPLETED"
            d["rolloutStateReason"] = "ECS deployment completed."
    self.__dict__["_lb_deployments"] = value


ecs_models.Service.running_count = property(_ecs_running_get, _ecs_running_set)
ecs_models.Service.pending_count = property(_ecs_pending_get, lambda self, value: None)
ecs_models.Service.deployments = property(_ecs_deployments_get, _ecs_deployments_set)


class _InstanceView:
    """An instance of a group as DescribeAutoScalingGroups shows it: Pending while booting."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)

    @property
    def lifecycle_state(self) -> str:
        born = self._state.__dict__.get("_lb_born", float("-inf"))
        if (
            self._state.lifecycle_state == "InService"
            and STATE.now() - born < STATE.scaled("instance_start_seconds", "autoscaling")
        ):
            return "Pending"
        return self._state.lifecycle_state


_original_instance_state_init = asg_models.InstanceState.__init__


def _instance_state_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_instance_state_init(self, *args, **kwargs)
    self.__dict__["_lb_born"] = STATE.now()


_original_create_asg = asg_models.AutoScalingBackend.create_auto_scaling_group


def _create_asg(self: Any, *args: Any, **kwargs: Any) -> Any:
    result = _original_create_asg(self, *args, **kwargs)
    name = kwargs.get("name") or (args[0] if args else None)
    group = self.autoscaling_groups.get(name)
    if group is not None:
        for state in group.instance_states:
            state.__dict__["_lb_born"] = float("-inf")
    return result


asg_models.InstanceState.__init__ = _instance_state_init
asg_models.AutoScalingBackend.create_auto_scaling_group = _create_asg
asg_models.FakeAutoScalingGroup.instances = property(
    lambda self: [_InstanceView(s) for s in self.instance_states]
)


# --- WSGI middleware: control endpoints and regional outages --------------------------------

# --- Lambda: invocations forwarded to the real function binaries --------------------------------
#
# moto runs no Lambda code without Docker. With ``lambda.forward_url`` set (cargo lambda watch's
# Invoke API, e.g. ``http://127.0.0.1:9000``), Invoke on a function created in moto goes to
# ``{forward_url}/2015-03-31/functions/{FunctionName}/invocations``, which runs the real binary.
# As AWS documents Invoke: ``RequestResponse`` waits and returns the function's payload; a function
# error returns 200 with ``X-Amz-Function-Error: Unhandled`` and the ``{errorType, errorMessage}``
# payload (Step Functions then matches on ``errorType``); ``Event`` returns 202 at once and runs
# the function in the background. An unknown function is still moto's 404.
#
# Both regions may run a copy of the same functions (lifeboat deploys one per region). Functions
# created in a region named in ``lambda.region_forward_urls`` (``{"us-east-1": "http://..."}``)
# are forwarded to that region's own Invoke API (a second cargo lambda watch, running that
# region's copy of the binaries), not the other region's.
#
# At most FORWARD_AT_ONCE invocations of one function (per region) are forwarded at a time; the
# rest wait here, as Lambda's asynchronous queue holds events. cargo lambda watch keeps 100 per
# function and, past that, stalls every function's invocations: its scheduler waits for room
# while holding its queue map, so a storm of events for one function would stop the run's other
# steps (found by make chaos, seeds 57 and 59).

import threading as _threading  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

from moto.awslambda import models as lambda_models  # noqa: E402
from moto.awslambda_simple import models as lambda_simple_models  # noqa: E402
from moto.awslambda.utils import get_backend as lambda_get_backend  # noqa: E402
from moto.events import models as events_models  # noqa: E402


FORWARD_AT_ONCE = 8
_FORWARD_SLOTS: dict[str, _threading.BoundedSemaphore] = {}
_FORWARD_SLOTS_LOCK = _threading.Lock()


def _forward_slot(key: str) -> _threading.BoundedSemaphore:
    with _FORWARD_SLOTS_LOCK:
        return _FORWARD_SLOTS.setdefault(key, _threading.BoundedSemaphore(FORWARD_AT_ONCE))


def _forward_held(key: str, url: str, name: str, payload: bytes) -> tuple[bytes, bool]:
    """_forward once one of the function's slots is free."""
    with _forward_slot(key):
        return _forward(url, name, payload)


def _forward(url: str, name: str, payload: bytes) -> tuple[bytes, bool]:
    """POST to the Invoke API; (payload, function_error)."""
    req = urllib.request.Request(
        f"{url}/2015-03-31/functions/{urllib.request.quote(name, safe='')}/invocations",
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=900) as resp:
            return resp.read(), False
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict) and "errorType" in parsed:
                return body, True
        except ValueError:
            pass
        # Not a function error: the runtime could not run it at all.
        return (
            json.dumps(
                {"errorType": "Lambda.ServiceException", "errorMessage": f"HTTP {err.code}"}
            ).encode(),
            True,
        )
    except OSError as err:
        return (
            json.dumps(
                {"errorType": "Lambda.ServiceException", "errorMessage": str(err)}
            ).encode(),
            True,
        )


def _forwarding(original: Any) -> Any:
    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> Any:
        if not STATE.config["lambda"]["forward_url"]:
            return original(self, function_name, qualifier, body, headers, response_headers)
        return _lambda_invoke(self, function_name, qualifier, body, headers, response_headers)

    return invoke


def _lambda_invoke(
    self: Any,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> Any:
    url = STATE.config["lambda"]["region_forward_urls"].get(
        self.region_name, STATE.config["lambda"]["forward_url"]
    )
    fn = self.get_function(function_name, qualifier)
    target = fn.function_name
    payload = body if isinstance(body, bytes) else (body or "{}").encode()
    outage_began = False
    with STATE.lock:
        for fault in list(STATE.outage_on_invoke):
            if fault["function"] == fn.function_name and fault["payload_contains"].encode() in payload:
                STATE.outage_on_invoke.remove(fault)
                STATE.outages[fault["region"]] = set(fault.get("services") or [])
                STATE.outage_keys.pop(fault["region"], None)
                outage_began = True
        answer = next((f for f in STATE.result_on_invoke if f["function"] == fn.function_name
                       and f["payload_contains"].encode() in payload), None)
        if answer is not None:
            STATE.result_on_invoke.remove(answer)
    if outage_began:
        _sync_db_endpoints()
    if answer is not None:
        result = json.dumps(answer["result"]).encode()
        response_headers["Content-Length"] = str(len(result))
        return result
    inv_type = headers.get("X-Amz-Invocation-Type") or headers.get("x-amz-invocation-type")
    if inv_type == "Event":
        key = f"{self.region_name}:{target}"
        with STATE.lock:
            STATE.events_pending[key] = STATE.events_pending.get(key, 0) + 1
        _threading.Thread(
            target=_forward_event, args=(key, url, target, payload),
            daemon=True,
        ).start()
        return b""
    result, errored = _invoke_in_flight(f"{self.region_name}:{target}", url, target, payload)
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["Content-Length"] = str(len(result))
    return result


def _forward_event(key: str, url: str, target: str, payload: bytes) -> None:
    """An asynchronous invocation, as Lambda's queue runs it: "If the function returns an error,
    by default Lambda attempts to run it two more times, with a one-minute wait between the first
    two attempts, and two minutes between the second and third attempts" (errors of the code and
    of the runtime alike; x time_scale here). The slot is free while it waits."""
    try:
        waits = [float(w) for w in STATE.config["lambda"]["async_retry_seconds"]]
        for attempt in range(len(waits) + 1):
            _, errored = _forward_held(key, url, target, payload)
            if not errored or attempt == len(waits):
                return
            time.sleep(waits[attempt] * float(STATE.config["time_scale"]))
    finally:
        with STATE.lock:
            STATE.events_pending[key] = max(0, STATE.events_pending.get(key, 0) - 1)


def _invoke_in_flight(key: str, url: str, target: str, payload: bytes) -> tuple[bytes, bool]:
    """_forward, answered early if the function's sandbox crashes meanwhile."""
    call: dict[str, Any] = {"done": _threading.Event(), "answer": None, "payload": payload}

    def run() -> None:
        answer = _forward_held(key, url, target, payload)
        if call["answer"] is None:
            call["answer"] = answer
        call["done"].set()

    with STATE.lock:
        STATE.in_flight.setdefault(key, []).append(call)
    try:
        _threading.Thread(target=run, daemon=True).start()
        call["done"].wait()
        return call["answer"]
    finally:
        with STATE.lock:
            STATE.in_flight[key].remove(call)


def _request_kind(payload: bytes) -> str:
    """What an invocation asks, for the record of a lost one: its ``action``, or an event's
    ``detail-type``."""
    try:
        body = json.loads(payload or b"{}")
    except ValueError:
        return "?"
    if not isinstance(body, dict):
        return "?"
    kind = body.get("action", body.get("detail-type", "?"))
    return kind[:80] if isinstance(kind, str) else "?"


def _crash_sandbox(key: str) -> list[str]:
    """The function's process was killed: its invocations in flight answer as Lambda's do.
    Returns what each lost invocation asked (``_request_kind``)."""
    answer = (json.dumps({
        "errorType": "Runtime.ExitError",
        "errorMessage": "Error: Runtime exited with error: signal: killed",
    }).encode(), True)
    with STATE.lock:
        calls = list(STATE.in_flight.get(key, []))
    lost = []
    for call in calls:
        if call["answer"] is None:
            call["answer"] = answer
            lost.append(_request_kind(call["payload"]))
        call["done"].set()
    return lost


# moto serves Invoke from LambdaSimpleBackend when Docker is off (server.py), else LambdaBackend.
lambda_models.LambdaBackend.invoke = _forwarding(lambda_models.LambdaBackend.invoke)
lambda_simple_models.LambdaSimpleBackend.invoke = _forwarding(
    lambda_simple_models.LambdaSimpleBackend.invoke
)


# --- EventBridge: rules with Lambda targets ------------------------------------------------------
#
# moto delivers to SQS, logs, buses and API destinations, not to Lambda. A rule's Lambda target is
# invoked asynchronously (InvocationType Event) with the matched event (after the target's
# InputTransformer), as EventBridge does.

_original_send_to_targets = events_models.Rule.send_to_targets


_TARGETS_LOCK = _threading.Lock()


def _is_lambda(target: dict[str, Any]) -> bool:
    arn = target["Arn"].split(":")
    return len(arn) >= 7 and arn[2] == "lambda"


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    # moto raises on a target kind it does not know: hand it the others only.
    with _TARGETS_LOCK:
        targets = self.targets
        self.targets = [t for t in targets if not _is_lambda(t)]
        try:
            _original_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = targets
    if not self.event_pattern.matches_event(original_event):
        return
    for target in targets:
        if not _is_lambda(target):
            continue
        arn = target["Arn"].split(":")
        event: Any = original_event
        if transform_input:
            transformer = target.get("InputTransformer", {})
            event = events_models.EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=original_event,
            )
        if "Input" in target:
            event = json.loads(target["Input"])
        elif isinstance(event, dict) and isinstance(event.get("time"), (int, float)):
            # moto keeps the time as epoch seconds; EventBridge delivers ISO 8601 UTC.
            event = dict(event)
            event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event["time"]))
        region, account, name = arn[3], arn[4], arn[6]
        backend = lambda_get_backend(account, region)
        try:
            backend.invoke(
                name, None, json.dumps(event, default=str), {"X-Amz-Invocation-Type": "Event"}, {}
            )
        except Exception as exc:  # noqa: BLE001 - EventBridge drops failed deliveries too
            print(f"lifeboat-emulator: EventBridge could not invoke {name}: {exc}", flush=True)


events_models.Rule.send_to_targets = _send_to_targets


# --- Route 53: change propagation -----------------------------------------------------------------
#
# moto answers INSYNC at once, under one fixed change id. As the Route 53 API reference documents
# it: ChangeResourceRecordSets returns a new change id with status PENDING ("the initial status of
# all change batch requests"); GetChange says PENDING until the change has propagated to every
# Route 53 DNS server (here: ``route53.propagation_seconds`` x time_scale), then INSYNC; an unknown
# id is NoSuchChange (404).

import secrets as _secrets  # noqa: E402

from moto.route53 import responses as route53_responses  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.route53.exceptions import Route53ClientError  # noqa: E402


class NoSuchChange(Route53ClientError):
    code = 404

    def __init__(self, change_id: str) -> None:
        super().__init__("NoSuchChange", f"A change with the specified change ID does not exist: {change_id}")


_original_change_rrsets = route53_responses.Route53.change_resource_record_sets


def _change_status(submitted: float) -> str:
    if STATE.now() >= submitted + STATE.scaled("propagation_seconds", "route53"):
        return "INSYNC"
    return "PENDING"


def _change_resource_record_sets(self: Any) -> Any:
    result = _original_change_rrsets(self)
    change_id = "C" + _secrets.token_hex(7).upper()
    with STATE.lock:
        STATE.route53_changes[change_id] = STATE.now()
        status = _change_status(STATE.route53_changes[change_id])
    result.result["ChangeInfo"]["Id"] = f"/change/{change_id}"
    result.result["ChangeInfo"]["Status"] = status
    return result


def _get_change(self: Any) -> Any:
    change_id = str(self._get_param("Id") or "").split("/")[-1]
    with STATE.lock:
        submitted = STATE.route53_changes.get(change_id)
    if submitted is None:
        raise NoSuchChange(change_id)
    return ActionResult({
        "ChangeInfo": {
            "Id": f"/change/{change_id}",
            "Status": _change_status(submitted),
            "SubmittedAt": utcnow(),
        }
    })


route53_responses.Route53.change_resource_record_sets = _change_resource_record_sets
route53_responses.Route53.get_change = _get_change


_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


def _json(start_response: Any, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


# Call counting -------------------------------------------------------------------------------
# ``GET /_lifeboat/calls`` answers how many API calls the emulator served since the last reset,
# by ``service:Operation`` (the service is the SigV4 credential scope's; the operation comes from
# ``X-Amz-Target`` (JSON protocols), ``Action`` (query protocols, in the URL or the form body) or,
# for Route 53's REST API, the method and path). ``DELETE /_lifeboat/calls`` answers the same and
# starts counting afresh. Benchmarks use it to count what a function asked of AWS.

_ROUTE53_REST = [
    ("POST", re.compile(r"^/2013-04-01/hostedzone/[^/]+/rrset/?$"), "ChangeResourceRecordSets"),
    ("GET", re.compile(r"^/2013-04-01/hostedzone/[^/]+/rrset/?$"), "ListResourceRecordSets"),
    ("GET", re.compile(r"^/2013-04-01/change/[^/]+$"), "GetChange"),
    ("GET", re.compile(r"^/2013-04-01/hostedzone/[^/]+$"), "GetHostedZone"),
    ("GET", re.compile(r"^/2013-04-01/hostedzone/?$"), "ListHostedZones"),
    ("POST", re.compile(r"^/2013-04-01/hostedzone/?$"), "CreateHostedZone"),
    ("GET", re.compile(r"^/2013-04-01/healthcheck/[^/]+$"), "GetHealthCheck"),
    ("POST", re.compile(r"^/2013-04-01/healthcheck/[^/]+$"), "UpdateHealthCheck"),
]


def _operation(environ: dict[str, Any], service: str) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)  # moto reads the body again
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    if service == "route53":
        for m, pattern, name in _ROUTE53_REST:
            if m == method and pattern.match(path):
                return name
    return f"{method} {path}"


class _Signed(NamedTuple):
    """A SigV4-signed call: who signed it, for which region and service, and its operation."""

    access_key: str
    region: str
    service: str
    operation: str


def _signed(environ: dict[str, Any]) -> _Signed | None:
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    key, region, service = match.groups()
    return _Signed(key, region, service, _operation(environ, service))


# The request parameters that name the resources a call touches (make drill's IAM check turns
# them into ARNs); every other parameter (values, bodies) is left out.
_RESOURCE_PARAMS = {
    "Name", "Names", "stateMachineArn", "executionArn", "TopicArn", "TargetArn",
    "GlobalClusterIdentifier", "DBClusterIdentifier", "TargetDbClusterIdentifier",
    "DBInstanceIdentifier",
    "cluster", "services", "service", "AutoScalingGroupName", "AutoScalingGroupNames",
    "RoutingControlArn", "UpdateRoutingControlStateEntries", "AlarmNames", "AlarmNamePrefix",
    "Entries", "Bucket", "TargetGroupArn", "LoadBalancerArns",
}


def _resource_params(environ: dict[str, Any], service: str) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)  # moto reads the body again
    params: dict[str, Any] = {}
    ctype = environ.get("CONTENT_TYPE", "")
    if "json" in ctype and raw:
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = {}
        if isinstance(doc, dict):
            params = doc
    elif "x-www-form-urlencoded" in ctype:
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
        params = {k: v[0] for k, v in form.items()}
    kept: dict[str, Any] = {}
    for k, v in params.items():
        base = k.split(".", 1)[0]
        if base in _RESOURCE_PARAMS:
            if base == "Entries" and isinstance(v, list):
                v = [{"EventBusName": e.get("EventBusName", "default")} for e in v if isinstance(e, dict)]
            if base == "UpdateRoutingControlStateEntries" and isinstance(v, list):
                v = [{"RoutingControlArn": e.get("RoutingControlArn")} for e in v if isinstance(e, dict)]
            kept[k] = v
    if service in ("route53", "s3"):
        kept["path"] = environ.get("PATH_INFO", "")
        kept["query"] = environ.get("QUERY_STRING", "")
    return kept


def _count_call(signed: _Signed | None, environ: dict[str, Any] | None = None) -> str | None:
    """Counts the call; records it for IAM when its key has the recorded prefix. Answers why
    the caller's role does not allow it (``None``: allowed, or no role enforced for its key)."""
    if signed is None:
        return None
    key = f"{signed.service}:{signed.operation}"
    with STATE.lock:
        STATE.calls[key] = STATE.calls.get(key, 0) + 1
        prefix = STATE.iam_prefix
        policy = STATE.iam_policies.get(signed.access_key)
    recorded = bool(prefix) and signed.access_key.startswith(prefix or "")
    if environ is None or not (recorded or policy is not None):
        return None
    params = _resource_params(environ, signed.service)
    if recorded:
        call = json.dumps([signed.access_key, signed.region, signed.service, signed.operation,
                           params], sort_keys=True)
        with STATE.lock:
            STATE.iam_calls[call] = STATE.iam_calls.get(call, 0) + 1
    if policy is None:
        return None
    why = iam_requests.decide(policy, {"access_key": signed.access_key, "region": signed.region,
                                       "service": signed.service, "operation": signed.operation,
                                       "params": params})
    if why is None:
        return None
    message = (f"User: arn:aws:sts::{iam_requests.ACCOUNT}:assumed-role/{signed.access_key}/"
               f"{signed.access_key} {why}")
    with STATE.lock:
        STATE.iam_denied.append({"access_key": signed.access_key, "region": signed.region,
                                 "service": signed.service, "operation": signed.operation,
                                 "message": message})
    return message


class LifeboatMiddleware:
    """Serves ``/_lifeboat/*`` and makes dark regions answer 503; everything else is moto."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/_lifeboat/"):
            return self._control(path, method, environ, start_response)
        if sts_presigned.is_presigned_sts(environ):
            return self._presigned_sts(environ, start_response)
        signed = _signed(environ)
        arc = ARC_PATH.match(path)
        if arc and method == "POST":
            refused = _count_call(signed, environ)
            if refused is not None and signed is not None:
                return api_faults.access_denied(signed.service, environ, start_response, refused)
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            status, answer = ARC.serve(
                arc.group("region"), environ.get("HTTP_X_AMZ_TARGET", ""), raw,
                lambda region: STATE.region_dark(region, "arc", signed.access_key if signed else None),
            )
            data = json.dumps(answer).encode()
            start_response(status, [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("Content-Length", str(len(data))),
                *([("x-amzn-ErrorType", answer["__type"])] if "__type" in answer else []),
            ])
            return [data]
        refused = None
        if path == "/moto-api/reset":
            STATE.reset()
        else:
            refused = _count_call(signed, environ)
        STATE.request.now = time.monotonic()
        try:
            return self._serve(environ, start_response, signed, refused)
        finally:
            STATE.request.now = None

    def _presigned_sts(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """A presigned STS GetCallerIdentity (EKS's token, sent on by its authenticator): see
        sts_presigned.py. Counted as ``sts:GetCallerIdentity``; never judged by a role's policy
        (STS requires no permission for it)."""
        q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        key, _, region, *_ = q["X-Amz-Credential"][0].split("/") + ["", "", ""]
        with STATE.lock:
            STATE.calls["sts:GetCallerIdentity"] = STATE.calls.get("sts:GetCallerIdentity", 0) + 1
        if STATE.region_dark(region, "sts", key):
            body = b"<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>"
            start_response("503 Service Unavailable",
                           [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
            return [body]
        return sts_presigned.respond(environ, start_response, "testing")

    def _serve(self, environ: dict[str, Any], start_response: Any, signed: _Signed | None,
               refused: str | None = None) -> Any:
        if signed and STATE.region_dark(signed.region, signed.service, signed.access_key):
            body = (
                "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
                f"<Message>{signed.service} in {signed.region} is unavailable (lifeboat emulated outage)"
                "</Message></Error></ErrorResponse>"
            ).encode()
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if signed and refused is not None:
            return api_faults.access_denied(signed.service, environ, start_response, refused)
        if signed:
            rule = api_faults.FAULTS.draw(signed.service, signed.region, signed.operation,
                                          signed.access_key)
            if rule is not None:
                answer = api_faults.respond(rule, signed.service, environ, start_response)
                if answer is not None:
                    return answer
        return self.app(environ, start_response)

    def _control(
        self, path: str, method: str, environ: dict[str, Any], start_response: Any
    ) -> list[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            if path == "/_lifeboat/health":
                return _json(start_response, "200 OK", {"ok": True})
            if path == "/_lifeboat/config":
                if method == "POST":
                    STATE.update_config(body)
                return _json(start_response, "200 OK", STATE.config)
            if path == "/_lifeboat/outage":
                with STATE.lock:
                    if method == "POST":
                        region = body.get("region")
                        if not isinstance(region, str) or not region:
                            raise ValueError("region is required")
                        key = body.get("access_key")
                        if key is not None and (not isinstance(key, str) or not key):
                            raise ValueError("access_key must be a non-empty prefix")
                        STATE.outages[region] = set(body.get("services") or [])
                        if key is None:
                            STATE.outage_keys.pop(region, None)
                        else:
                            STATE.outage_keys[region] = key
                    elif method == "DELETE" and body.get("region") is not None:
                        # one region's outage ends; the others' go on
                        STATE.outages.pop(str(body["region"]), None)
                        STATE.outage_keys.pop(str(body["region"]), None)
                    elif method == "DELETE":
                        STATE.outages.clear()
                        STATE.outage_keys.clear()
                    outages = {r: sorted(s) for r, s in STATE.outages.items()}
                _sync_db_endpoints()
                return _json(start_response, "200 OK", outages)
            if path == "/_lifeboat/db-endpoints":
                if method == "POST":
                    regions = body.get("regions")
                    if not isinstance(regions, list) or not all(
                        isinstance(r, str) and re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", r) for r in regions
                    ):
                        raise ValueError("regions must be a list of region names")
                    for r in regions:
                        _db_endpoint(r)
                return _json(start_response, "200 OK",
                             {r: f"127.0.0.1:{e.port}" for r, e in sorted(_DB_ENDPOINTS.items())})
            if path == "/_lifeboat/api-faults":
                if method == "POST":
                    api_faults.FAULTS.configure(body)
                elif method == "DELETE":
                    api_faults.FAULTS.reset()
                return _json(start_response, "200 OK", api_faults.FAULTS.describe())
            if path == "/_lifeboat/arc":
                if method == "POST":
                    ARC.create(body)
                base = f"http://{environ.get('HTTP_HOST') or '127.0.0.1'}"
                return _json(start_response, "200 OK", ARC.describe(base))
            if path == "/_lifeboat/alarms/evaluate" and method == "POST":
                region = body.get("region")
                if not isinstance(region, str) or not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
                    raise ValueError("region is required")
                account = body.get("account", "123456789012")
                return _json(start_response, "200 OK", evaluate_alarms(account, region))
            if path == "/_lifeboat/iam":
                if method == "POST":
                    prefix = body.get("record")
                    if prefix is not None and (not isinstance(prefix, str) or not prefix):
                        raise ValueError("record must name an access-key prefix")
                    policies = body.get("policies", {})
                    if not isinstance(policies, dict) or not all(
                            isinstance(k, str) and k and isinstance(v, dict)
                            and isinstance(v.get("Statement"), (list, dict))
                            for k, v in policies.items()):
                        raise ValueError("policies must map access keys to policy documents "
                                         "with a Statement")
                    if prefix is None and not policies:
                        raise ValueError("record (an access-key prefix) or policies is required")
                    with STATE.lock:
                        if prefix is not None:
                            STATE.iam_prefix = prefix
                        STATE.iam_policies.update(
                            {k: iam_requests.evaluator(v) for k, v in policies.items()})
                with STATE.lock:
                    calls = [{"access_key": k, "region": r, "service": svc, "operation": op,
                              "params": params, "count": n}
                             for call, n in sorted(STATE.iam_calls.items())
                             for k, r, svc, op, params in [json.loads(call)]]
                    return _json(start_response, "200 OK", {
                        "record": STATE.iam_prefix, "enforced": sorted(STATE.iam_policies),
                        "calls": calls, "denied": list(STATE.iam_denied)})
            if path == "/_lifeboat/events-pending":
                # asynchronous invocations not yet done, by region:function (0s left out)
                with STATE.lock:
                    pending = {k: n for k, n in sorted(STATE.events_pending.items()) if n}
                return _json(start_response, "200 OK", {"pending": pending})
            if path == "/_lifeboat/calls":
                with STATE.lock:
                    counts = dict(sorted(STATE.calls.items()))
                    if method == "DELETE":
                        STATE.calls.clear()
                    return _json(start_response, "200 OK", counts)
            if path == "/_lifeboat/faults" and method == "POST":
                # Checked whole before anything changes: a bad request changes nothing.
                n = body.get("cancel_next_rds_operations")
                if n is not None and (not isinstance(n, int) or n < 0):
                    raise ValueError("cancel_next_rds_operations must be a count")
                on_invoke = body.get("outage_on_invoke")
                if on_invoke is not None and not (
                        isinstance(on_invoke, dict) and isinstance(on_invoke.get("function"), str)
                        and isinstance(on_invoke.get("payload_contains"), str)
                        and isinstance(on_invoke.get("region"), str)
                        and isinstance(on_invoke.get("services", []), list)):
                    raise ValueError("outage_on_invoke needs function, payload_contains, region, services")
                answer = body.get("result_on_invoke")
                if answer is not None and not (
                        isinstance(answer, dict) and isinstance(answer.get("function"), str)
                        and isinstance(answer.get("payload_contains"), str) and "result" in answer):
                    raise ValueError("result_on_invoke needs function, payload_contains, result")
                crashed = body.get("sandbox_crashed")
                if crashed is not None and not (
                        isinstance(crashed, dict) and isinstance(crashed.get("function"), str)
                        and isinstance(crashed.get("region"), str)):
                    raise ValueError("sandbox_crashed needs function and region")
                with STATE.lock:
                    if n is not None:
                        STATE.cancel_next_rds_operations = n
                    if on_invoke is not None:
                        STATE.outage_on_invoke.append(on_invoke)
                    if answer is not None:
                        STATE.result_on_invoke.append(answer)
                    state = {"cancel_next_rds_operations": STATE.cancel_next_rds_operations,
                             "outage_on_invoke": STATE.outage_on_invoke,
                             "result_on_invoke": STATE.result_on_invoke}
                if crashed is not None:
                    lost = _crash_sandbox(f"{crashed['region']}:{crashed['function']}")
                    state["invocations_lost"] = len(lost)
                    state["requests_lost"] = lost
                return _json(start_response, "200 OK", state)
            return _json(start_response, "404 Not Found", {"error": f"no such path {path}"})
        except (ValueError, TypeError, KeyError) as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})


# --- Database endpoints: each region's data plane ---------------------------------------------
#
# ``POST /_lifeboat/db-endpoints {"regions": ["us-east-1", ...]}`` gives each region a database
# endpoint: a loopback TCP listener (``127.0.0.1:PORT``, answered as ``{region: "host:port"}``)
# that accepts connections while the region's data plane serves and refuses them (the listener is
# closed) while it is dark. The data plane is dark in a whole-region outage (no services named) or
# when ``db-endpoint`` is among the outage's services; an outage of ``rds`` alone is a control-plane
# fault: the RDS API answers 503 while the endpoint still accepts connections.

import select as _select  # noqa: E402
import socket as _socket  # noqa: E402

_DB_ENDPOINTS: dict[str, "_DbEndpoint"] = {}
_DB_ENDPOINTS_LOCK = threading.Lock()


class _DbEndpoint:
    def __init__(self, region: str) -> None:
        self.region = region
        probe = _socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.sock: _socket.socket | None = None
        self.lock = threading.Lock()
        self.sync()
        _threading.Thread(target=self._run, daemon=True).start()

    def sync(self) -> None:
        """Open or close the listener to match the region's data plane, now. Called by the
        outage endpoint before it answers, so an outage is in force when its POST returns (a
        listener left open for a moment after would let a client see a dark region answer)."""
        with self.lock:
            dark = STATE.region_dark(self.region, "db-endpoint")
            if dark and self.sock is not None:
                self.sock.close()
                self.sock = None
            elif not dark and self.sock is None:
                sock = _socket.socket()
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", self.port))
                    sock.listen(64)
                except OSError:
                    sock.close()
                    return
                sock.setblocking(False)
                self.sock = sock

    def _run(self) -> None:
        while True:
            self.sync()
            with self.lock:
                sock = self.sock
                if sock is not None:
                    try:
                        ready, _, _ = _select.select([sock], [], [], 0)
                        if ready:
                            conn, _ = sock.accept()
                            conn.close()
                    except (OSError, ValueError):
                        pass
            time.sleep(0.02)


def _sync_db_endpoints() -> None:
    with _DB_ENDPOINTS_LOCK:
        endpoints = list(_DB_ENDPOINTS.values())
    for e in endpoints:
        e.sync()


def _db_endpoint(region: str) -> _DbEndpoint:
    with _DB_ENDPOINTS_LOCK:
        if region not in _DB_ENDPOINTS:
            _DB_ENDPOINTS[region] = _DbEndpoint(region)
        return _DB_ENDPOINTS[region]


# S3: GetBucketVersioning's documented root element ------------------------------------------
from moto.s3.responses import S3Response as _S3Response  # noqa: E402

_original_get_bucket_versioning = _S3Response.get_bucket_versioning
_VERSIONING_ROOT = re.compile(rb"<(/?)GetBucketVersioningResponse\b")


def _get_bucket_versioning(self: Any) -> Any:
    status, headers, body = _original_get_bucket_versioning(self)
    raw = body.encode() if isinstance(body, str) else body
    fixed = _VERSIONING_ROOT.sub(rb"<\1VersioningConfiguration", raw)
    if "Content-Length" in headers:
        headers["Content-Length"] = str(len(fixed))
    return status, headers, fixed


_S3Response.get_bucket_versioning = _get_bucket_versioning


# --- Step Functions: execution status change events -----------------------------------------------
#
# As the Step Functions developer guide documents ("Step Functions events" in EventBridge): when an
# execution of a standard workflow changes status, EventBridge receives, on the default bus of the
# execution's region, an event with source ``aws.states``, detail-type ``Step Functions Execution
# Status Change``, ``resources`` [the execution ARN] and a detail with ``executionArn``,
# ``stateMachineArn``, ``name``, ``status`` (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED),
# ``startDate`` / ``stopDate`` (epoch milliseconds), ``input``, ``output`` (JSON as strings, up to
# 248 KiB), ``error`` and ``cause``. moto sends none; here every close sends one (RUNNING is left
# out: lifeboat's rules match closes only). Rules with Lambda targets receive it as above.

from moto.events.models import events_backends as _events_backends  # noqa: E402
from moto.stepfunctions.parser.backend import execution as _sfn_execution  # noqa: E402

_original_reflect = _sfn_execution.BaseExecutionWorkerCommunication._reflect_execution_status


def _millis(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _reflect_execution_status(self: Any) -> None:
    _original_reflect(self)
    ex = self.execution
    try:
        status = ex.exec_status.value if ex.exec_status is not None else None
        detail = {
            "executionArn": ex.exec_arn,
            "stateMachineArn": ex.state_machine_arn,
            "name": ex.name,
            "status": status,
            "startDate": _millis(ex.start_date),
            "stopDate": _millis(ex.stop_date),
            "input": ex.execution_input,
            "output": json.dumps(ex.output) if ex.output is not None else None,
            "error": ex.error,
            "cause": ex.cause,
        }
        backend = _events_backends[ex.account_id][ex.region_name]
        backend.put_events([{
            "Source": "aws.states",
            "DetailType": "Step Functions Execution Status Change",
            "Resources": [ex.exec_arn],
            "Detail": json.dumps(detail, default=str),
        }])
    except Exception as exc:  # noqa: BLE001 - EventBridge delivery is best effort, as on AWS
        print(f"lifeboat-emulator: no status change event for {getattr(ex, 'name', '?')}: {exc}", flush=True)


_sfn_execution.BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_execution_status


# StopExecution of an execution waiting in a ``.waitForTaskToken`` task: AWS stops it at once
# (status ABORTED). moto marks the program stopped but leaves the callback wait blocked until the
# task's own timeout; here a stop (and an execution timeout) also wakes every callback wait.
from moto.stepfunctions.parser.asl.eval import environment as _sfn_environment  # noqa: E402


def _interrupting(original: Any) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        pool = getattr(self.callback_pool_manager, "_pool", {})
        for endpoint in list(pool.values()):
            endpoint.interrupt_all()

    return method


_sfn_environment.Environment.set_stop = _interrupting(_sfn_environment.Environment.set_stop)
_sfn_environment.Environment.set_timed_out = _interrupting(_sfn_environment.Environment.set_timed_out)

_original_set_error = _sfn_environment.Environment.set_error


def _set_error(self: Any, error: Any) -> None:
    # The interrupted wait fails; a stopped or timed-out execution stays stopped or timed out.
    if isinstance(self._program_state, (_sfn_environment.ProgramStopped, _sfn_environment.ProgramTimedOut)):
        return
    _original_set_error(self, error)


_sfn_environment.Environment.set_error = _set_error


# Catch and Retry on ``States.ALL``: AWS documents that the wildcard "cannot catch the
# States.DataLimitExceeded terminal error or Runtime error types" (a ``States.Runtime`` error, e.g.
# a Parameters path that does not exist, always fails the execution). moto's interpreter lets
# ``States.ALL`` match them; here it does not, so a machine's Catch paths are tested as on AWS.
from moto.stepfunctions.parser.asl.component.common.error_name import (  # noqa: E402
    error_equals_decl as _sfn_error_equals,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import (  # noqa: E402
    ErrorName as _SfnErrorName,
)

_TERMINAL_ERRORS = {"States.Runtime", "States.DataLimitExceeded"}
_original_error_equals_eval = _sfn_error_equals.ErrorEqualsDecl._eval_body


def _error_equals_eval(self: Any, env: Any) -> None:
    error_name = env.stack[-1] if env.stack else None
    terminal = isinstance(error_name, _SfnErrorName) and error_name.error_name in _TERMINAL_ERRORS
    wildcard = _sfn_error_equals.ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names
    if terminal and wildcard:
        env.stack.pop()
        env.stack.append(False)
        return
    _original_error_equals_eval(self, env)


_sfn_error_equals.ErrorEqualsDecl._eval_body = _error_equals_eval


# --- CloudWatch metric alarms evaluated ----------------------------------------------------------
#
# moto stores alarms and metric data but never evaluates an alarm. ``POST
# /_lifeboat/alarms/evaluate {"region": "us-west-2"}`` runs one evaluation of every metric alarm
# in that region now, as CloudWatch does once per period, as AWS documents it: the last
# ``EvaluationPeriods`` periods (each ``Period`` × the time scale long) ending now; each period's
# ``Statistic`` (Sum, Average, Minimum, Maximum, SampleCount) over the datapoints with the
# alarm's namespace, metric and exact dimensions; a period without data counts as
# ``TreatMissingData`` says (``breaching``, ``notBreaching``, ``ignore``: the state stays, or
# ``missing``: INSUFFICIENT_DATA when every period is missing); ALARM when at least
# ``DatapointsToAlarm`` periods breach, else OK. A change of state is recorded on the alarm, put
# on the region's default EventBridge bus as ``CloudWatch Alarm State Change`` (source
# ``aws.cloudwatch``), and, when the alarm's actions are enabled, published to the SNS topics of
# its ``AlarmActions`` / ``OKActions`` / ``InsufficientDataActions``. The answer names every
# transition: ``{"alarm name": {"from": "OK", "to": "ALARM", "reason": "..."}}``.

from datetime import datetime as _dt  # noqa: E402
from datetime import timedelta as _td  # noqa: E402
from datetime import timezone as _tz  # noqa: E402

from moto.cloudwatch.models import cloudwatch_backends as _cw_backends  # noqa: E402
from moto.sns.models import sns_backends as _sns_backends  # noqa: E402

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _statistic(stat: str, values: list[float]) -> float:
    if stat == "SampleCount":
        return float(len(values))
    if stat == "Sum":
        return float(sum(values))
    if stat == "Average":
        return float(sum(values)) / len(values)
    if stat == "Minimum":
        return float(min(values))
    if stat == "Maximum":
        return float(max(values))
    raise ValueError(f"statistic {stat} is not evaluated by the emulator")


def _aware(t: Any) -> Any:
    return t if t.tzinfo is not None else t.replace(tzinfo=_tz.utc)


def _evaluate_alarm(backend: Any, alarm: Any, now: Any) -> tuple[str, str] | None:
    """(new state, reason) if the alarm is a metric alarm lifeboat's emulator can evaluate."""
    if getattr(alarm, "rule", None) or not alarm.metric_name or not alarm.statistic:
        return None
    period = max(float(alarm.period) * STATE.config["time_scale"], 0.001)
    n = int(alarm.evaluation_periods)
    m = int(alarm.datapoints_to_alarm or n)
    start = now - _td(seconds=period * n)
    dims = {(d.name, d.value) for d in alarm.dimensions}
    buckets: list[list[float]] = [[] for _ in range(n)]
    for datum in backend.metric_data:
        value = getattr(datum, "value", None)
        if value is None or datum.namespace != alarm.namespace or datum.name != alarm.metric_name:
            continue
        if {(d.name, d.value) for d in datum.dimensions} != dims:
            continue
        t = _aware(datum.timestamp)
        if start <= t < now:
            i = min(int((t - start).total_seconds() // period), n - 1)
            buckets[i].append(float(value))
    compare = _COMPARE[alarm.comparison_operator]
    threshold = float(alarm.threshold)
    treat = alarm.treat_missing_data or "missing"
    breaching = missing = 0
    shown = []
    for values in buckets:
        if not values:
            missing += 1
            shown.append("missing")
            if treat == "breaching":
                breaching += 1
            continue
        v = _statistic(alarm.statistic, values)
        shown.append(f"{v:g}")
        if compare(v, threshold):
            breaching += 1
    if missing == n and treat == "missing":
        return "INSUFFICIENT_DATA", f"Insufficient Data: {n} missing datapoints"
    if missing == n and treat == "ignore":
        return None
    state = "ALARM" if breaching >= m else "OK"
    return state, (
        f"Threshold Crossed: {breaching} of {n} datapoints [{', '.join(shown)}] "
        f"{'were' if state == 'ALARM' else 'were not'} {alarm.comparison_operator} {threshold:g} "
        f"(missing data treated as {treat})"
    )


def evaluate_alarms(account: str, region: str) -> dict[str, dict[str, str]]:
    backend = _cw_backends[account][region]
    now = _dt.now(_tz.utc)
    changed: dict[str, dict[str, str]] = {}
    for alarm in list(backend.alarms.values()):
        judged = _evaluate_alarm(backend, alarm, now)
        if judged is None or judged[0] == alarm.state_value:
            continue
        new, reason = judged
        old, old_reason = alarm.state_value, alarm.state_reason
        fmt = "%Y-%m-%dT%H:%M:%S.000+0000"
        stamp = now.strftime(fmt)
        old_stamp = _aware(alarm.state_updated_timestamp).strftime(fmt)
        reason_data = json.dumps({"version": "1.0", "queryDate": stamp})
        alarm.update_state(reason, reason_data, new)
        changed[alarm.name] = {"from": old, "to": new, "reason": reason}
        # The shape of EventBridge's CloudWatch Alarm State Change (events/alarm-to-failover/).
        detail = {
            "alarmName": alarm.name,
            "state": {"value": new, "reason": reason, "reasonData": reason_data, "timestamp": stamp},
            "previousState": {"value": old, "reason": old_reason, "reasonData": "{}",
                              "timestamp": old_stamp},
            "configuration": {"description": alarm.description or "", "metrics": []},
        }
        try:
            _events_backends[account][region].put_events([{
                "Source": "aws.cloudwatch",
                "DetailType": "CloudWatch Alarm State Change",
                "Resources": [alarm.alarm_arn],
                "Detail": json.dumps(detail),
            }])
        except Exception as exc:  # noqa: BLE001 - delivery is best effort, as on AWS
            print(f"lifeboat-emulator: no alarm state change event for {alarm.name}: {exc}", flush=True)
        if not alarm.actions_enabled:
            continue
        actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                   "INSUFFICIENT_DATA": alarm.insufficient_data_actions}[new] or []
        for arn in actions:
            parts = arn.split(":")
            if len(parts) < 6 or parts[2] != "sns":
                continue
            try:
                topic = _sns_backends[parts[4]][parts[3]].get_topic(arn)
                topic.publish(
                    json.dumps({"AlarmName": alarm.name, "NewStateValue": new,
                                "OldStateValue": old, "NewStateReason": reason,
                                "Region": region, "AlarmArn": alarm.alarm_arn}),
                    subject=f'{new}: "{alarm.name}" in {region}'[:100],
                )
            except Exception as exc:  # noqa: BLE001
                print(f"lifeboat-emulator: alarm action {arn} failed: {exc}", flush=True)
    return changed
