"""DigitalOcean's DNS API (Domain Records, /v2/domains/{domain}/records), faked on loopback
with state, every request and response checked against DigitalOcean's published OpenAPI
description (tests/vendor/digitalocean/dns.openapi.yaml, kept by scripts/vendor_openapi.py).

What DigitalOcean documents and the fake keeps: a record's `name` is relative to its domain
("www", "@" for the apex) while the list's `name` filter is the fully qualified name; lists are
paginated (`per_page` 20 by default, at most 200; `links.pages`, `meta.total`); PUT and PATCH
set the attributes they name; errors are `{"id", "message"}` with 401 for a missing or wrong
bearer token, 404 for an unknown domain or record, 429 past the rate limit; every answer carries
the `ratelimit-*` headers. DigitalOcean offers no batch of record changes: each record is its
own request.
"""
from __future__ import annotations

import itertools
import json
import threading
from typing import Any

from werkzeug.wrappers import Request

from contract import Answer, CheckedServer  # tests/vendor is on sys.path (no package)

SPEC = "digitalocean/dns.openapi.yaml"
PREFIX = "/v2/domains/"
FIELDS = ("type", "name", "data", "priority", "port", "ttl", "weight", "flags", "tag")
RATE_LIMIT = 5000


def _error(status: int, ident: str, message: str) -> Answer:
    return status, {"id": ident, "message": message}, {}


class DigitalOceanDns:
    def __init__(self, token: str, domains: dict[str, list[dict[str, Any]]]) -> None:
        """`domains`: domain name -> its records ({type, name, data, ttl, ...}, ids assigned)."""
        self.token = token
        self._ids = itertools.count(3_352_892)
        self._lock = threading.Lock()
        self.records: dict[str, dict[int, dict[str, Any]]] = {}
        for domain, records in domains.items():
            self.records[domain] = {}
            for r in records:
                self._add(domain, r)
        # statuses to answer instead of serving, in turn (429, 500, ...): DigitalOcean's errors
        self.fail_next: list[int] = []
        self.remaining = RATE_LIMIT
        self.server = CheckedServer(SPEC, self.handle)
        self.base_url = self.server.base_url

    @property
    def violations(self) -> list[str]:
        return self.server.violations

    def _add(self, domain: str, fields: dict[str, Any]) -> dict[str, Any]:
        record = {"id": next(self._ids), "priority": None, "port": None, "ttl": 1800,
                  "weight": None, "flags": None, "tag": None,
                  **{k: v for k, v in fields.items() if k in FIELDS}}
        self.records[domain][record["id"]] = record
        return record

    def _headers(self) -> dict[str, str]:
        return {"ratelimit-limit": str(RATE_LIMIT), "ratelimit-remaining": str(self.remaining),
                "ratelimit-reset": "1767225600"}

    def handle(self, request: Request) -> Answer:
        with self._lock:
            self.remaining = max(0, self.remaining - 1)
            status, body, headers = self._serve(request)
            return status, body, {**self._headers(), **headers}

    def _serve(self, request: Request) -> Answer:
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            return _error(401, "Unauthorized", "Unable to authenticate you.")
        if self.fail_next:
            status = self.fail_next.pop(0)
            if status == 429:
                return _error(429, "too_many_requests", "API Rate limit exceeded.")
            return _error(status, "server_error", "Unexpected server-side error")
        parts = request.path[len(PREFIX):].split("/")
        domain = parts[0]
        if domain not in self.records or len(parts) < 2 or parts[1] != "records":
            return _error(404, "not_found", "The resource you were accessing could not be found.")
        records = self.records[domain]
        if len(parts) == 2:
            if request.method == "GET":
                return self._list(request, domain)
            if request.method == "POST":
                body = json.loads(request.get_data() or b"{}")
                return 201, {"domain_record": self._add(domain, body)}, {}
        else:
            try:
                record = records[int(parts[2])]
            except (ValueError, KeyError):
                return _error(404, "not_found", "The resource you were accessing could not be found.")
            if request.method == "GET":
                return 200, {"domain_record": record}, {}
            if request.method in ("PUT", "PATCH"):
                body = json.loads(request.get_data() or b"{}")
                record.update({k: v for k, v in body.items() if k in FIELDS})
                return 200, {"domain_record": record}, {}
            if request.method == "DELETE":
                del records[record["id"]]
                return 204, None, {}
        return _error(405, "method_not_allowed", "Method not allowed.")

    def _list(self, request: Request, domain: str) -> Answer:
        name, rtype = request.args.get("name"), request.args.get("type")
        per_page = int(request.args.get("per_page", 20))
        page = int(request.args.get("page", 1))

        def fqdn(r: dict[str, Any]) -> str:
            return domain if r["name"] == "@" else f"{r['name']}.{domain}"

        found = [r for r in self.records[domain].values()
                 if (name is None or fqdn(r) == name) and (rtype is None or r["type"] == rtype)]
        last = max(1, -(-len(found) // per_page))
        url = f"{self.base_url}{request.path}?per_page={per_page}&page="
        pages: dict[str, str] = {}
        if page < last:
            pages.update(next=url + str(page + 1), last=url + str(last))
        if page > 1:
            pages.update(first=url + "1", prev=url + str(page - 1))
        chunk = found[(page - 1) * per_page: page * per_page]
        return 200, {"domain_records": chunk, "links": {"pages": pages},
                     "meta": {"total": len(found)}}, {}

    def stop(self) -> None:
        self.server.stop()
