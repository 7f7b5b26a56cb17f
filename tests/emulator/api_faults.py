"""Seeded per-call API faults, for chaos runs: throttling, server errors, timeouts and latency.

``POST /_lifeboat/api-faults`` sets the rules (replacing any), ``GET`` answers them with how many
faults of each kind were injected, ``DELETE`` clears them::

    {"seed": 7,
     "rules": [{"service": "ssm", "region": "us-west-2", "operation": "PutParameter",
                "access_key": "AKIALIFEBOAT", "kind": "throttle", "rate": 0.2},
               {"service": "rds", "kind": "latency", "rate": 1.0, "latency_ms": 300}]}

Each rule matches a signed API call by its SigV4 scope (``service``, ``region``), its operation
(as ``/_lifeboat/calls`` names it) and the caller's access key id (a prefix); every field but
``kind`` and ``rate`` is optional. A matching call draws from one random stream seeded with
``seed``; with probability ``rate`` the rule's fault happens, the first matching rule deciding:

* ``throttle``: the service's own throttling error, in its protocol: JSON protocols
  ``ThrottlingException`` (400), the query and Route 53 XML protocols ``Throttling`` (400), S3
  ``SlowDown`` (503), Lambda ``TooManyRequestsException`` (429);
* ``error``: an internal error (500: ``InternalFailure``, S3 ``InternalError``);
* ``timeout``: the answer is held ``timeout_ms`` (default 30000) and then is a 504, as a
  request that reached no service;
* ``latency``: the answer is held ``latency_ms`` (default 200), then served normally.

The draws are replayable from the seed for a given order of calls.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

KINDS = ("throttle", "error", "timeout", "latency")
_FIELDS = {"service", "region", "operation", "access_key", "kind", "rate", "latency_ms",
           "timeout_ms"}


class ApiFaults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.rules: list[dict[str, Any]] = []
            self.seed: int | None = None
            self.random = random.Random(0)
            self.injected: dict[str, int] = {k: 0 for k in KINDS}
            self.log: list[dict[str, Any]] = []

    def configure(self, body: dict[str, Any]) -> None:
        seed = body.get("seed", 0)
        if not isinstance(seed, int):
            raise ValueError("seed must be an integer")
        rules = body.get("rules")
        if not isinstance(rules, list):
            raise ValueError("rules must be a list")
        for r in rules:
            if not isinstance(r, dict) or set(r) - _FIELDS:
                raise ValueError(f"a rule has only the fields {sorted(_FIELDS)}")
            if r.get("kind") not in KINDS:
                raise ValueError(f"a rule's kind is one of {list(KINDS)}")
            rate = r.get("rate")
            if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                raise ValueError("a rule's rate is a probability (0..1)")
            for key in ("service", "region", "operation", "access_key"):
                if key in r and not isinstance(r[key], str):
                    raise ValueError(f"{key} must be a string")
            for key in ("latency_ms", "timeout_ms"):
                if key in r and (not isinstance(r[key], int) or not 0 <= r[key] <= 120_000):
                    raise ValueError(f"{key} must be 0..120000")
        with self.lock:
            self.rules = [dict(r) for r in rules]
            self.seed = seed
            self.random = random.Random(seed)
            self.injected = {k: 0 for k in KINDS}
            self.log = []

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {"seed": self.seed, "rules": self.rules, "injected": dict(self.injected),
                    "log": list(self.log[-200:])}

    def draw(self, service: str, region: str, operation: str, access_key: str) -> dict[str, Any] | None:
        with self.lock:
            for r in self.rules:
                if (r.get("service", service) != service or r.get("region", region) != region
                        or r.get("operation", operation) != operation
                        or not access_key.startswith(r.get("access_key", ""))):
                    continue
                if self.random.random() < float(r["rate"]):
                    self.injected[r["kind"]] += 1
                    self.log.append({"service": service, "region": region,
                                     "operation": operation, "kind": r["kind"]})
                    return r
                return None
        return None


FAULTS = ApiFaults()

def respond(rule: dict[str, Any], service: str, environ: dict[str, Any],
            start_response: Any) -> list[bytes] | None:
    """Apply a drawn fault: ``None`` to serve the call (after any latency), else the answer."""
    kind = rule["kind"]
    if kind == "latency":
        time.sleep(rule.get("latency_ms", 200) / 1000)
        return None
    if kind == "timeout":
        time.sleep(rule.get("timeout_ms", 30_000) / 1000)
        return _send(start_response, "504 Gateway Timeout", "text/plain",
                     b"lifeboat emulated timeout", None)
    json_protocol = _json_protocol(environ)
    path = environ.get("PATH_INFO", "")
    message = f"{service}: lifeboat emulated {kind}"
    if service == "lambda":
        code = "TooManyRequestsException" if kind == "throttle" else "ServiceException"
        status = "429 Too Many Requests" if kind == "throttle" else "500 Internal Server Error"
        body = ('{"Type": "User", "message": "%s"}' % message).encode()
        return _send(start_response, status, "application/json", body, code)
    if service == "s3":
        code = "SlowDown" if kind == "throttle" else "InternalError"
        status = "503 Slow Down" if kind == "throttle" else "500 Internal Server Error"
        body = (f"<Error><Code>{code}</Code><Message>{message}</Message>"
                "<RequestId>lifeboat</RequestId></Error>").encode()
        return _send(start_response, status, "application/xml", body, None)
    status = "400 Bad Request" if kind == "throttle" else "500 Internal Server Error"
    if json_protocol:
        code = "ThrottlingException" if kind == "throttle" else "InternalFailure"
        body = ('{"__type": "%s", "message": "%s"}' % (code, message)).encode()
        return _send(start_response, status, "application/x-amz-json-1.1", body, code)
    code = "Throttling" if kind == "throttle" else "InternalFailure"
    kind_of = "Sender" if kind == "throttle" else "Receiver"
    ns = ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"' if path.startswith(
        "/2013-04-01/") else ""
    body = (f"<ErrorResponse{ns}><Error><Type>{kind_of}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>lifeboat</RequestId>"
            "</ErrorResponse>").encode()
    return _send(start_response, status, "text/xml", body, None)


def _json_protocol(environ: dict[str, Any]) -> bool:
    return bool(environ.get("HTTP_X_AMZ_TARGET")) or "amz-json" in environ.get("CONTENT_TYPE", "")


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def access_denied(service: str, environ: dict[str, Any], start_response: Any,
                  message: str) -> list[bytes]:
    """The answer AWS gives a call its caller's policy does not allow, in the service's protocol:
    JSON services ``AccessDeniedException`` (400; Lambda and ARC's cluster 403), SNS
    ``AuthorizationError`` (403), the query and REST-XML services ``AccessDenied`` (403)."""
    if _json_protocol(environ) or service in ("lambda", "route53-recovery-cluster"):
        status = "403 Forbidden" if service in ("lambda", "route53-recovery-cluster") else "400 Bad Request"
        body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
        return _send(start_response, status, "application/x-amz-json-1.0", body, "AccessDeniedException")
    if service == "s3":
        body = (f"<Error><Code>AccessDenied</Code><Message>{_xml_text(message)}</Message>"
                "<RequestId>lifeboat</RequestId></Error>").encode()
        return _send(start_response, "403 Forbidden", "application/xml", body, None)
    code = "AuthorizationError" if service == "sns" else "AccessDenied"
    ns = ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"' if environ.get(
        "PATH_INFO", "").startswith("/2013-04-01/") else ""
    body = (f"<ErrorResponse{ns}><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{_xml_text(message)}</Message></Error><RequestId>lifeboat</RequestId>"
            "</ErrorResponse>").encode()
    return _send(start_response, "403 Forbidden", "text/xml", body, None)


def _send(start_response: Any, status: str, content_type: str, body: bytes,
          error_type: str | None) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    start_response(status, headers)
    return [body]
