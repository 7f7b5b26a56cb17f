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

Regional outage
---------------
``POST /_lifeboat/outage {"region": "us-east-1", "services": ["rds"]}`` makes every request
signed for that region (and, if given, only those services) answer HTTP 503
``ServiceUnavailable``, as a dark region's endpoints would fail. ``DELETE /_lifeboat/outage``
ends all outages. ``POST /moto-api/reset`` also resets extension state.

Configuration
-------------
``GET|POST /_lifeboat/config`` reads or changes ``time_scale`` and the RDS durations:
``rds.pending_seconds`` (10), ``rds.switchover_seconds`` (90), ``rds.failover_seconds`` (60),
``rds.cancel_seconds`` (10), ``rds.resync_seconds`` (300).
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from moto.core.responses import ActionResult
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

    def scaled(self, key: str) -> float:
        return float(self.config["rds"][key]) * float(self.config["time_scale"])

    def region_dark(self, region: str | None, service: str = "rds") -> bool:
        if region is None:
            return False
        services = self.outages.get(region)
        return services is not None and (not services or service in services)

    def update_config(self, body: dict[str, Any]) -> None:
        with self.lock:
            if "time_scale" in body:
                scale = float(body["time_scale"])
                if not 0 < scale <= 10:
                    raise ValueError("time_scale must be in (0, 10]")
                self.config["time_scale"] = scale
            for key, value in (body.get("rds") or {}).items():
                if key not in self.config["rds"]:
                    raise ValueError(f"unknown rds setting {key}")
                if float(value) < 0:
                    raise ValueError(f"rds.{key} must be >= 0")
                self.config["rds"][key] = float(value)


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


def _advance(gc: Any) -> None:
    """Move the operation on the global cluster forward to where wall time says it is."""
    with STATE.lock:
        op: _Operation | None = getattr(gc, "_lifeboat_op", None)
        now = STATE.now()
        if op is not None:
            pending_end = op.started + STATE.scaled("pending_seconds")
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


# --- WSGI middleware: control endpoints and regional outages --------------------------------

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


def _json(start_response: Any, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class LifeboatMiddleware:
    """Serves ``/_lifeboat/*`` and makes dark regions answer 503; everything else is moto."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/_lifeboat/"):
            return self._control(path, method, environ, start_response)
        if path == "/moto-api/reset":
            STATE.reset()
        STATE.request.now = time.monotonic()
        try:
            return self._serve(environ, start_response)
        finally:
            STATE.request.now = None

    def _serve(self, environ: dict[str, Any], start_response: Any) -> Any:
        match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match and STATE.region_dark(match.group(1), match.group(2)):
            body = (
                "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
                f"<Message>{match.group(2)} in {match.group(1)} is unavailable (lifeboat emulated outage)"
                "</Message></Error></ErrorResponse>"
            ).encode()
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))],
            )
            return [body]
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
                        STATE.outages[region] = set(body.get("services") or [])
                    elif method == "DELETE":
                        STATE.outages.clear()
                    return _json(
                        start_response,
                        "200 OK",
                        {r: sorted(s) for r, s in STATE.outages.items()},
                    )
            return _json(start_response, "404 Not Found", {"error": f"no such path {path}"})
        except (ValueError, TypeError, KeyError) as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})
