"""Linode's DNS Manager API (Domains List and Domain Records, /v4/domains...), faked on loopback
with state, every request and response checked against Linode's published OpenAPI description
(tests/vendor/linode/dns.openapi.yaml, kept from github.com/linode/linode-api-docs).

What Linode documents and the fake keeps:

* a domain is addressed by its numeric id; `GET /v4/domains` lists the account's domains and
  takes the `X-Filter` header (JSON) on the fields the description marks filterable (`domain`,
  `group`, `tags`); the fake filters by equality, and answers 400 on any other field;
* a record's `name` is its host relative to the domain; `A`/`AAAA` also take the fully
  qualified name, which the fake shortens to the host. The apex: Linode shows it as an empty
  name, which its own description forbids (`minLength: 1`), so the fake keeps the apex's fully
  qualified name as it was given; lifeboat's adapter reads either as the apex;
* `ttl_sec` is rounded to the nearest of 300, 3600, 7200, ... seconds (0 keeps the domain's
  default); an `A`/`AAAA` target must be an IPv4/IPv6 address and a `CNAME`'s name must be unique
  (400 with the field otherwise); a CNAME's target is kept without its final dot;
* lists are pages: `page`, `page_size` (25-500, 100 by default), `pages` and `results`;
* errors are `{"errors": [{"reason", "field"}]}`: 401 for a missing or wrong bearer token, 404
  for an unknown domain or record, 429 past the rate limit; every answer carries Linode's
  `X-RateLimit-*` headers. There is no batch: each record is its own request.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import json
import threading
from typing import Any

from werkzeug.wrappers import Request

from contract import Answer, CheckedServer  # tests/vendor is on sys.path (no package)

SPEC = "linode/dns.openapi.yaml"
PREFIX = "/v4/domains"
FIELDS = ("type", "name", "target", "priority", "weight", "port", "service", "protocol", "ttl_sec")
TTLS = (300, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800, 1209600, 2419200)
DOMAIN_FILTERABLE = ("domain", "group", "tags")
RATE_LIMIT = 800


def _error(status: int, reason: str, field: str | None = None) -> Answer:
    item = {"reason": reason, **({"field": field} if field else {})}
    return status, {"errors": [item]}, {}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rounded_ttl(ttl: int) -> int:
    """Linode's rounding of a record's TTL: 0 stays (the domain's default), anything else goes
    to the nearest valid value."""
    if ttl == 0:
        return 0
    return min(TTLS, key=lambda t: (abs(t - ttl), t))


class LinodeDns:
    def __init__(self, token: str, domains: dict[str, list[dict[str, Any]]]) -> None:
        """`domains`: domain name -> its records ({type, name, target, ttl_sec}, ids assigned)."""
        self.token = token
        self._domain_ids = itertools.count(1234)
        self._ids = itertools.count(123456)
        self._lock = threading.Lock()
        self.domains: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[int, dict[str, Any]]] = {}
        for name, records in domains.items():
            self.add_domain(name)
            for r in records:
                status, body, _ = self._write(name, None, r, create=True)
                if status != 200:
                    raise ValueError(f"seed record {r}: {body}")
        # statuses to answer instead of serving, in turn (429, 500, ...): Linode's errors
        self.fail_next: list[int] = []
        self.remaining = RATE_LIMIT
        self.server = CheckedServer(
            SPEC, self.handle, bad_request=lambda reasons: {"errors": [{"reason": reasons}]},
            error_response="ErrorResponse")
        self.base_url = self.server.base_url

    @property
    def violations(self) -> list[str]:
        return self.server.violations

    def add_domain(self, name: str) -> None:
        self.domains[name] = {
            "id": next(self._domain_ids), "type": "master", "domain": name, "status": "active",
            "soa_email": f"hostmaster@{name}", "retry_sec": 0, "master_ips": [], "axfr_ips": [],
            "expire_sec": 0, "refresh_sec": 0, "ttl_sec": 0, "tags": []}
        self.records[name] = {}

    def handle(self, request: Request) -> Answer:
        with self._lock:
            self.remaining = max(0, self.remaining - 1)
            status, body, headers = self._serve(request)
            return status, body, {"X-RateLimit-Limit": str(RATE_LIMIT),
                                  "X-RateLimit-Remaining": str(self.remaining),
                                  "X-RateLimit-Reset": "1767225600", **headers}

    def _serve(self, request: Request) -> Answer:
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            return _error(401, "Invalid Token")
        if self.fail_next:
            status = self.fail_next.pop(0)
            if status == 429:
                return _error(429, "Too many requests")
            return _error(status, "Please try again later")
        if request.path == PREFIX:
            return self._list_domains(request) if request.method == "GET" else _error(405, "Method Not Allowed")
        parts = request.path[len(PREFIX) + 1:].split("/")
        domain = next((d for d, v in self.domains.items() if str(v["id"]) == parts[0]), None)
        if domain is None or len(parts) < 2 or parts[1] != "records":
            return _error(404, "Not found")
        if len(parts) == 2:
            if request.method == "GET":
                return self._page(request, list(self.records[domain].values()))
            if request.method == "POST":
                return self._write(domain, None, json.loads(request.get_data() or b"{}"), create=True)
            return _error(405, "Method Not Allowed")
        try:
            record = self.records[domain][int(parts[2])]
        except (ValueError, KeyError):
            return _error(404, "Not found")
        if request.method == "GET":
            return 200, record, {}
        if request.method == "PUT":
            return self._write(domain, record, json.loads(request.get_data() or b"{}"), create=False)
        if request.method == "DELETE":
            del self.records[domain][record["id"]]
            return 200, {}, {}
        return _error(405, "Method Not Allowed")

    def _list_domains(self, request: Request) -> Answer:
        found = list(self.domains.values())
        raw = request.headers.get("X-Filter")
        if raw:
            try:
                wanted = json.loads(raw)
            except ValueError:
                return _error(400, "Invalid JSON", "X-Filter")
            if not isinstance(wanted, dict):
                return _error(400, "Invalid filter", "X-Filter")
            for key, value in wanted.items():
                if key not in DOMAIN_FILTERABLE or isinstance(value, (dict, list)):
                    return _error(400, f"Cannot filter on {key}", "X-Filter")
                found = [d for d in found if d.get(key) == value
                         or (isinstance(d.get(key), list) and value in d[key])]
        return self._page(request, found)

    @staticmethod
    def _page(request: Request, found: list[dict[str, Any]]) -> Answer:
        page_size = int(request.args.get("page_size", 100))
        page = int(request.args.get("page", 1))
        pages = max(1, -(-len(found) // page_size))
        if page > pages:
            return _error(404, "Not found")
        chunk = found[(page - 1) * page_size: page * page_size]
        return 200, {"data": chunk, "page": page, "pages": pages, "results": len(found)}, {}

    def _write(self, domain: str, record: dict[str, Any] | None, body: dict[str, Any],
               create: bool) -> Answer:
        fields = {k: v for k, v in body.items() if k in FIELDS}
        if not create:
            fields.pop("type", None)
        merged = {**(record or {}), **fields}
        rtype = merged.get("type")
        name = str(merged.get("name") or "").rstrip(".")
        if name.lower().endswith("." + domain):
            name = name[: -len(domain) - 1]
        elif name.lower() != domain:
            name = name.lower()
        target = str(merged.get("target") or "")
        if rtype in ("A", "AAAA"):
            try:
                address = ipaddress.ip_address(target)
            except ValueError:
                return _error(400, f"Invalid IPv{'4' if rtype == 'A' else '6'} address", "target")
            if address.version != (4 if rtype == "A" else 6):
                return _error(400, f"Invalid IPv{'4' if rtype == 'A' else '6'} address", "target")
        elif not target:
            return _error(400, "target is required", "target")
        if rtype == "CNAME":
            target = target.rstrip(".")
        if rtype in ("CNAME", "A", "AAAA", "TXT") and not name:
            return _error(400, "name is required", "name")
        clash = [r for r in self.records[domain].values()
                 if r["name"] == name and (record is None or r["id"] != record["id"])
                 and (rtype == "CNAME" or r["type"] == "CNAME")]
        if clash:
            return _error(400, "Record conflict - CNAMES must be unique", "name")
        now = _now()
        new = {"id": record["id"] if record else next(self._ids), "type": rtype, "name": name,
               "target": target, "priority": int(merged.get("priority") or 0),
               "weight": int(merged.get("weight") or 0), "port": int(merged.get("port") or 0),
               "service": merged.get("service"), "protocol": merged.get("protocol"),
               "ttl_sec": rounded_ttl(int(merged.get("ttl_sec") or 0)),
               "created": record["created"] if record else now, "updated": now}
        self.records[domain][new["id"]] = new
        return 200, new, {}

    def stop(self) -> None:
        self.server.stop()
