"""The Linode DNS fake keeps Linode's published contract: what it serves validates against the
kept OpenAPI subset, a request the description rejects is caught, and it behaves as Linode
documents (ids, relative names, TTL rounding, X-Filter, pages, errors)."""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from linode_dns import LinodeDns, rounded_ttl  # noqa: E402

TOKEN = "linode-" + "0" * 64
DOMAIN = "shop.example.com"


@pytest.fixture
def li() -> Iterator[LinodeDns]:
    fake = LinodeDns(TOKEN, {
        DOMAIN: [
            {"type": "A", "name": "www", "target": "203.0.113.10", "ttl_sec": 300},
            {"type": "A", "name": DOMAIN, "target": "203.0.113.10", "ttl_sec": 300},
            {"type": "CNAME", "name": "api", "target": "api-use1.shop.example.com.", "ttl_sec": 300},
            *({"type": "A", "name": f"r{i}", "target": f"10.1.0.{i}", "ttl_sec": 3600} for i in range(40)),
        ],
        "other.example.org": [],
    })
    yield fake
    fake.stop()


def call(li: LinodeDns, method: str, path: str, body: Any = None, token: str | None = TOKEN,
         headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    req = urllib.request.Request(li.base_url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None, resp.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers


def domain_id(li: LinodeDns) -> int:
    return int(li.domains[DOMAIN]["id"])


def test_domains_are_found_by_the_documented_filter_and_records_are_paged(li: LinodeDns) -> None:
    status, body, headers = call(li, "GET", "/v4/domains?page=1&page_size=25",
                                 headers={"X-Filter": json.dumps({"domain": DOMAIN})})
    assert status == 200 and body["results"] == 1 and body["data"][0]["domain"] == DOMAIN
    assert int(headers["X-RateLimit-Limit"]) == 800
    status, body, _ = call(li, "GET", "/v4/domains", headers={"X-Filter": '{"soa_email": "x"}'})
    assert status == 400 and body["errors"][0]["field"] == "X-Filter"
    status, body, _ = call(li, "GET", f"/v4/domains/{domain_id(li)}/records?page=2&page_size=25")
    assert status == 200 and body["pages"] == 2 and body["results"] == 43 and len(body["data"]) == 18
    names = {r["name"] for r in call(li, "GET", f"/v4/domains/{domain_id(li)}/records?page_size=100")[1]["data"]}
    # a host is relative; the apex keeps the name it was given (Linode's description forbids "")
    assert {"www", "api", DOMAIN} <= names
    assert li.violations == []


def test_a_record_is_created_rounded_and_checked_and_updated_and_deleted(li: LinodeDns) -> None:
    base = f"/v4/domains/{domain_id(li)}/records"
    status, made, _ = call(li, "POST", base, {"type": "A", "name": "shop2.shop.example.com",
                                              "target": "198.51.100.7", "ttl_sec": 60})
    assert status == 200 and made["name"] == "shop2" and made["ttl_sec"] == 300
    status, body, _ = call(li, "POST", base, {"type": "A", "name": "bad", "target": "2001:db8::1"})
    assert status == 400 and body["errors"][0]["field"] == "target"
    status, body, _ = call(li, "POST", base, {"type": "CNAME", "name": "www", "target": "x.example.net"})
    assert status == 400 and body["errors"][0]["field"] == "name"
    status, set_, _ = call(li, "PUT", f"{base}/{made['id']}", {"target": "198.51.100.8", "ttl_sec": 3000})
    assert status == 200 and set_["target"] == "198.51.100.8" and set_["ttl_sec"] == 3600
    assert set_["created"] == made["created"]
    status, body, _ = call(li, "DELETE", f"{base}/{made['id']}")
    assert status == 200 and body == {}
    assert call(li, "GET", f"{base}/{made['id']}")[0] == 404
    assert li.violations == []


def test_linodes_errors_and_the_rate_limit(li: LinodeDns) -> None:
    base = f"/v4/domains/{domain_id(li)}/records"
    status, body, _ = call(li, "GET", base, token="wrong")
    assert status == 401 and body == {"errors": [{"reason": "Invalid Token"}]}
    assert call(li, "GET", "/v4/domains/999/records")[0] == 404
    li.fail_next.append(429)
    assert call(li, "GET", base)[0] == 429
    li.fail_next.append(503)
    assert call(li, "GET", base)[0] == 503
    assert li.violations == []


def test_a_request_the_description_rejects_is_a_violation_and_changes_nothing(li: LinodeDns) -> None:
    base = f"/v4/domains/{domain_id(li)}/records"
    before = len(li.records[DOMAIN])
    status, body, _ = call(li, "POST", base, {"type": "A", "name": "x", "target": 5})
    assert status == 400 and "errors" in body
    assert call(li, "GET", f"{base}?page_size=10")[0] == 400
    assert call(li, "GET", f"{base}/notanumber")[0] == 400
    assert len(li.records[DOMAIN]) == before
    assert len(li.violations) == 3, li.violations


def test_an_answer_of_the_fakes_that_breaks_the_description_is_caught(li: LinodeDns) -> None:
    # a CAA record's tag may not be null by Linode's description (its enum has no null)
    rid = next(iter(li.records[DOMAIN]))
    li.records[DOMAIN][rid]["tag"] = None
    status, _, _ = call(li, "GET", f"/v4/domains/{domain_id(li)}/records/{rid}")
    assert status == 500 and len(li.violations) == 1


def test_ttls_round_to_linodes_valid_values() -> None:
    assert [rounded_ttl(t) for t in (0, 1, 60, 300, 1900, 2000, 3600, 5000, 10**7)] == [
        0, 300, 300, 300, 300, 3600, 3600, 3600, 2419200]


def test_an_error_on_an_operation_listing_no_errors_is_checked_against_linodes_shared_error(
        li: LinodeDns) -> None:
    # Linode's Domain Records List lists only its 200; its errors take Linode's one error form
    base = f"/v4/domains/{domain_id(li)}/records"
    assert call(li, "GET", base, token="wrong")[0] == 401
    assert li.violations == []
    li.server.handle = lambda request: (401, {"errors": "not Linode's form"}, {})
    assert call(li, "GET", base)[0] == 500
    assert len(li.violations) == 1, li.violations
