"""A vendor API with no local server, faked on loopback, every request and response checked
against the vendor's published OpenAPI description (the subset kept under tests/vendor/).

A request the description rejects is answered 400 with the reasons and recorded (one without
the credentials its security scheme names goes on to the fake, which answers the vendor's 401); so is a
response of the fake's own that the description rejects (answered 500 instead): a test of an
adapter asserts ``violations == []`` after its run, so a request the spec rejects fails it even
where the adapter would have shrugged the 400 off.
"""
from __future__ import annotations

import json
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Callable

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import SecurityValidationError
from openapi_schema_validator import OAS30Validator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

HERE = Path(__file__).resolve().parent

# (status, JSON body or None, extra headers)
Answer = tuple[int, Any, dict[str, str]]


def load_spec(relative: str, base_url: str, check_spec: bool = True) -> OpenAPI:
    """The kept subset, served at `base_url` (the vendor's production host replaced by the
    fake's address, its path kept, e.g. Linode's `/v4`; nothing else changed). `check_spec`
    False skips openapi-core's check of the description itself (not of requests and answers):
    Kubernetes' own fails it, its `default: {}` for objects with required fields."""
    spec = yaml.safe_load((HERE / relative).read_text())
    # (Kubernetes' description names no server: every path is absolute)
    vendor = (spec.get("servers") or [{"url": ""}])[0]["url"]
    path = urllib.parse.urlsplit(vendor).path.rstrip("/")
    spec["servers"] = [{"url": base_url + path}]
    # JSON under the patch media types Kubernetes' description names (openapi-core reads only
    # application/json as JSON by itself)
    patches = {m: json.loads for m in ("application/merge-patch+json", "application/json-patch+json",
                                       "application/strategic-merge-patch+json")}
    if check_spec:
        return OpenAPI.from_dict(spec, config=Config(extra_media_type_deserializers=patches))
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None,
                                                 extra_media_type_deserializers=patches))


def _reasons(error: Exception) -> list[str]:
    out = [f"{type(error).__name__}: {error}"]
    for cause in getattr(error, "schema_errors", None) or []:
        out.append(f"  {'/'.join(str(p) for p in cause.path)}: {cause.message}")
    inner = error.__cause__
    if inner is not None and inner is not error:
        out += [f"  {r}" for r in _reasons(inner)]
    return out


def _inline(node: Any, root: Any) -> Any:
    """`node` with every local `$ref` replaced by what it points to in `root`."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target = root
            for part in ref[2:].split("/"):
                target = target[part]
            return _inline(target, root)
        return {k: _inline(v, root) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, root) for v in node]
    return node


class CheckedServer:
    """A WSGI fake on 127.0.0.1 whose `handle(request) -> Answer` is checked against `spec`."""

    def __init__(self, spec_file: str, handle: Callable[[Request], Answer],
                 bad_request: Callable[[str], Any] | None = None,
                 error_response: str | None = None, check_spec: bool = True,
                 tls: tuple[str, str] | None = None) -> None:
        """`bad_request(reasons)`: the vendor's error body for a request its description
        rejects (DigitalOcean's `{"id", "message"}` unless given). `error_response`: the
        description's shared error answer (a `components.responses` name, or a
        `components.schemas` name: the error's body), against which an error status is checked
        where an operation lists no error answer of its own with a body (Linode's Domain Records
        List lists only its 200; Kubernetes lists a 401 without a body, while every Kubernetes
        error is a meta/v1 `Status`). `check_spec`: see `load_spec`. `tls`: (certificate file,
        key file): served over https with that certificate."""
        self.handle = handle
        self.bad_request = bad_request or (lambda reasons: {"id": "bad_request", "message": reasons})
        self.error_schema = None
        if error_response:
            root = yaml.safe_load((HERE / spec_file).read_text())
            responses = root["components"].get("responses") or {}
            if error_response in responses:
                shared = responses[error_response]["content"]["application/json"]["schema"]
            else:
                shared = root["components"]["schemas"][error_response]
            self.error_schema = _inline(shared, root)
        self.violations: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True, ssl_context=tls)
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_port}"
        self.spec = load_spec(spec_file, self.base_url, check_spec)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _violation(self, what: str, request: Request, error: Exception) -> list[str]:
        reasons = _reasons(error)
        with self._lock:
            self.violations.append(f"{what} {request.method} {request.full_path.rstrip('?')}: "
                                   + "\n".join(reasons))
        return reasons

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.requests.append((request.method, request.full_path.rstrip("?")))
        try:
            self.spec.validate_request(WerkzeugOpenAPIRequest(request))
        except SecurityValidationError:
            # no credentials or not the scheme: the vendor's answer is its 401, which the fake
            # gives (and which the description lists); not a malformed request
            pass
        except Exception as e:  # noqa: BLE001 - every other validation error is a violation
            # a request the spec rejects never reaches the fake's state
            reasons = self._violation("request", request, e)
            body = self.bad_request("; ".join(reasons)[:2000])
            return Response(json.dumps(body), 400, content_type="application/json")(
                environ, start_response)
        status, body, headers = self.handle(request)
        response = Response("" if body is None else json.dumps(body), status, headers=headers,
                            content_type="application/json")
        try:
            try:
                self.spec.validate_response(WerkzeugOpenAPIRequest(request),
                                            WerkzeugOpenAPIResponse(response))
            except (ResponseNotFound, MediaTypeNotFound):
                if self.error_schema is None or status < 400:
                    raise
                OAS30Validator(self.error_schema).validate(body)
        except Exception as e:  # noqa: BLE001
            self._violation("response", request, e)
            response = Response(json.dumps({"id": "fake_broke_its_contract",
                                            "message": "see the fake's violations"}), 500,
                                content_type="application/json")
        return response(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
