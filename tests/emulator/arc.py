"""Route 53 Application Recovery Controller (ARC) routing controls, as AWS documents them.

moto has no ARC. This module gives the emulator one cluster, as lifeboat uses it:

Control plane (an emulator extension, not the recovery-control-config API)
    ``POST /_lifeboat/arc`` creates the cluster, one control panel, its routing controls and
    assertion safety rules, replacing any there were::

        {"endpoint_regions": ["us-east-1", "us-west-2", ...],     # the cluster's endpoints
         "control_panel": "shop",
         "routing_controls": [{"name": "shop-use1", "state": "On"}, ...],
         "assertion_rules": [{"name": "one-region-on", "at_least": 1,
                              "controls": ["shop-use1", "shop-usw2"]}]}

    and answers the cluster endpoints (``{"endpoint": URL, "region": R}``, each URL
    ``http://HOST/_arc/<region>/v1`` on the emulator) and the ARNs, by name, of the routing
    controls and the safety rules. ``GET /_lifeboat/arc`` answers the same with each control's
    state: what Route 53's health checkers see (health checks of type ``RECOVERY_CONTROL``), read
    without going through an endpoint.

Data plane (route53-recovery-cluster, awsJson1_0, target prefix ``ToggleCustomerAPI``)
    ``GetRoutingControlState``, ``ListRoutingControls`` (``ControlPanelArn`` filter,
    ``MaxResults`` / ``NextToken`` paging), ``UpdateRoutingControlState`` and
    ``UpdateRoutingControlStates`` at every cluster endpoint. As the API reference documents:

    * an unknown routing control -> ``ResourceNotFoundException`` (404), and an update naming one
      changes nothing;
    * an update is atomic and is checked against the control panel's assertion rules on the
      states it would leave: a rule left with fewer than ``at_least`` of its controls On ->
      ``ConflictException`` (409) naming the rule, nothing changed, unless the request lists the
      rule in ``SafetyRulesToOverride``;
    * a state other than ``On`` / ``Off``, or a malformed request -> ``ValidationException`` (400);
    * an endpoint whose region is dark (a whole-region outage, or an outage naming the service
      ``arc``) answers ``EndpointTemporarilyUnavailableException`` (503): "Try another cluster
      endpoint". The cluster itself keeps its state: the other endpoints answer.

Requests are not authorised here (the SigV4 signature is not checked), as elsewhere in moto.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any, Callable

ACCOUNT = "123456789012"
PATH = re.compile(r"^/_arc/(?P<region>[a-z]{2}(-[a-z]+)+-\d)/v1/?$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_STATES = ("On", "Off")


class ArcError(Exception):
    def __init__(self, status: str, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body: dict[str, Any] = {"__type": code, "message": message, **extra}


def _not_found(arn: str) -> ArcError:
    return ArcError("404 Not Found", "ResourceNotFoundException",
                    f"routing control {arn} does not exist",
                    resourceId=arn, resourceType="RoutingControl")


def _invalid(message: str) -> ArcError:
    return ArcError("400 Bad Request", "ValidationException", message, reason="other")


def _id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


class Arc:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.endpoint_regions: list[str] = []
            self.panel_arn = ""
            self.panel_name = ""
            # arn -> {"name", "state"}
            self.controls: dict[str, dict[str, str]] = {}
            # arn -> {"name", "at_least", "controls": [arn]}
            self.rules: dict[str, dict[str, Any]] = {}

    # --- control plane (extension) -------------------------------------------------------
    def create(self, body: dict[str, Any]) -> None:
        regions = body.get("endpoint_regions")
        if not isinstance(regions, list) or not regions or not all(
            isinstance(r, str) and _REGION.match(r) for r in regions
        ) or len(set(regions)) != len(regions):
            raise ValueError("endpoint_regions must be a list of distinct region names")
        panel = body.get("control_panel")
        if not isinstance(panel, str) or not _NAME.match(panel):
            raise ValueError("control_panel must be a name")
        panel_arn = f"arn:aws:route53-recovery-control::{ACCOUNT}:controlpanel/{_id(panel)}"
        controls: dict[str, dict[str, str]] = {}
        by_name: dict[str, str] = {}
        for rc in body.get("routing_controls") or []:
            name, state = (rc or {}).get("name"), (rc or {}).get("state", "Off")
            if not isinstance(name, str) or not _NAME.match(name) or name in by_name:
                raise ValueError("each routing control needs a distinct name")
            if state not in _STATES:
                raise ValueError("a routing control's state is On or Off")
            arn = f"{panel_arn}/routingcontrol/{_id(panel, name)}"
            controls[arn] = {"name": name, "state": state}
            by_name[name] = arn
        rules: dict[str, dict[str, Any]] = {}
        for rule in body.get("assertion_rules") or []:
            name, at_least = (rule or {}).get("name"), (rule or {}).get("at_least")
            names = (rule or {}).get("controls")
            if not isinstance(name, str) or not _NAME.match(name):
                raise ValueError("each assertion rule needs a name")
            if not isinstance(at_least, int) or at_least < 0:
                raise ValueError("at_least must be a non-negative integer")
            if not isinstance(names, list) or not all(n in by_name for n in names):
                raise ValueError("an assertion rule names routing controls of the panel")
            arn = f"{panel_arn}/safetyrule/{_id(panel, 'rule', name)}"
            rules[arn] = {"name": name, "at_least": at_least,
                          "controls": [by_name[n] for n in names]}
        with self.lock:
            self.endpoint_regions = list(regions)
            self.panel_arn, self.panel_name = panel_arn, panel
            self.controls, self.rules = controls, rules

    def describe(self, base: str) -> dict[str, Any]:
        with self.lock:
            return {
                "cluster_endpoints": [
                    {"endpoint": f"{base}/_arc/{r}/v1", "region": r} for r in self.endpoint_regions
                ],
                "control_panel_arn": self.panel_arn,
                "routing_controls": {
                    c["name"]: {"arn": arn, "state": c["state"]} for arn, c in self.controls.items()
                },
                "safety_rules": {r["name"]: arn for arn, r in self.rules.items()},
            }

    # --- data plane ----------------------------------------------------------------------
    def serve(
        self, region: str, target: str, raw: bytes, dark: Callable[[str], bool]
    ) -> tuple[str, dict[str, Any]]:
        try:
            if region not in self.endpoint_regions:
                raise ArcError("404 Not Found", "UnknownOperationException",
                               f"no cluster endpoint in {region}")
            if dark(region):
                raise ArcError("503 Service Unavailable", "EndpointTemporarilyUnavailableException",
                               f"the cluster endpoint in {region} isn't available; "
                               "try another cluster endpoint (lifeboat emulated outage)")
            if not target.startswith("ToggleCustomerAPI."):
                raise ArcError("400 Bad Request", "UnknownOperationException",
                               "X-Amz-Target must name a ToggleCustomerAPI operation")
            try:
                body = json.loads(raw) if raw else {}
            except ValueError as e:
                raise ArcError("400 Bad Request", "SerializationException", str(e)) from None
            if not isinstance(body, dict):
                raise ArcError("400 Bad Request", "SerializationException", "not a JSON object")
            op = target.split(".", 1)[1]
            handler = {
                "GetRoutingControlState": self._get,
                "ListRoutingControls": self._list,
                "UpdateRoutingControlState": self._update_one,
                "UpdateRoutingControlStates": self._update_many,
            }.get(op)
            if handler is None:
                raise ArcError("400 Bad Request", "UnknownOperationException", f"unknown {op}")
            with self.lock:
                return "200 OK", handler(body)
        except ArcError as e:
            return e.status, e.body

    def _control(self, arn: Any) -> dict[str, str]:
        if not isinstance(arn, str) or not arn:
            raise _invalid("RoutingControlArn is required")
        control = self.controls.get(arn)
        if control is None:
            raise _not_found(arn)
        return control

    def _get(self, body: dict[str, Any]) -> dict[str, Any]:
        arn = body.get("RoutingControlArn")
        c = self._control(arn)
        return {"RoutingControlArn": arn, "RoutingControlState": c["state"],
                "RoutingControlName": c["name"]}

    def _list(self, body: dict[str, Any]) -> dict[str, Any]:
        panel = body.get("ControlPanelArn")
        if panel is not None and panel != self.panel_arn:
            raise ArcError("404 Not Found", "ResourceNotFoundException",
                           f"control panel {panel} does not exist",
                           resourceId=str(panel), resourceType="ControlPanel")
        size = body.get("MaxResults", 500)
        if not isinstance(size, int) or not 1 <= size <= 500:
            raise _invalid("MaxResults must be 1..500")
        token = body.get("NextToken", "0")
        if not isinstance(token, str) or not token.isdigit():
            raise _invalid("NextToken is not one this endpoint gave")
        start = int(token)
        arns = sorted(self.controls)
        page = arns[start:start + size]
        out: dict[str, Any] = {"RoutingControls": [
            {"ControlPanelArn": self.panel_arn, "ControlPanelName": self.panel_name,
             "RoutingControlArn": arn, "RoutingControlName": self.controls[arn]["name"],
             "RoutingControlState": self.controls[arn]["state"], "Owner": ACCOUNT}
            for arn in page
        ]}
        if start + size < len(arns):
            out["NextToken"] = str(start + size)
        return out

    def _apply(self, entries: list[tuple[Any, Any]], overrides: Any) -> None:
        if overrides is not None and (
            not isinstance(overrides, list) or not all(isinstance(a, str) for a in overrides)
        ):
            raise _invalid("SafetyRulesToOverride must be a list of ARNs")
        wanted: dict[str, str] = {}
        for arn, state in entries:
            self._control(arn)
            if state not in _STATES:
                raise _invalid(f"RoutingControlState must be On or Off, not {state!r}")
            wanted[arn] = state
        after = {arn: wanted.get(arn, c["state"]) for arn, c in self.controls.items()}
        for rule_arn, rule in sorted(self.rules.items()):
            if rule_arn in (overrides or []):
                continue
            on = sum(1 for arn in rule["controls"] if after[arn] == "On")
            if on < rule["at_least"]:
                raise ArcError(
                    "409 Conflict", "ConflictException",
                    f"the update would leave {on} routing control(s) On where safety rule "
                    f"{rule['name']} asserts at least {rule['at_least']}",
                    resourceId=rule_arn, resourceType="SafetyRule",
                )
        for arn, state in wanted.items():
            self.controls[arn]["state"] = state

    def _update_one(self, body: dict[str, Any]) -> dict[str, Any]:
        self._apply([(body.get("RoutingControlArn"), body.get("RoutingControlState"))],
                    body.get("SafetyRulesToOverride"))
        return {}

    def _update_many(self, body: dict[str, Any]) -> dict[str, Any]:
        entries = body.get("UpdateRoutingControlStateEntries")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise _invalid("UpdateRoutingControlStateEntries must be a non-empty list")
        self._apply([(e.get("RoutingControlArn"), e.get("RoutingControlState")) for e in entries],
                    body.get("SafetyRulesToOverride"))
        return {}


ARC = Arc()
