"""The DigitalOcean DNS fake keeps DigitalOcean's published contract: what it serves validates
against the kept OpenAPI subset, and a request the description rejects is caught."""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digitalocean_dns import DigitalOceanDns  # noqa: E402

TOKEN = "dop_v1_" + "0" * 64


@pytest.fixture
def do() -> Iterator[DigitalOceanDns]:
    fake = DigitalOceanDns(TOKEN, {"shop.example.com": [
        {"type": "CNAME", "name": "www", "data": "use1.shop.example.com.", "ttl": 60},
        {"type": "CNAME", "name": "api", "data": "api-use1.shop.example.com.", "ttl": 60},
        *({"type": "A", "name": f"r{i}", "data": f"10.1.0.{i}", "ttl": 300} for i in range(45)),
    ]})
    yield fake
    fake.stop()


def call(do: DigitalOceanDns, method: str, path: str, body: Any = None,
         token: str | None = TOKEN) -> tuple[int, Any, Any]:
    req = urllib.request.Request(do.base_url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None, resp.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers


def test_records_are_listed_by_fully_qualified_name_and_paginated(do: DigitalOceanDns) -> None:
    status, body, headers = call(do, "GET", "/v2/domains/shop.example.com/records"
                                 "?name=www.shop.example.com&type=CNAME")
    assert status == 200 and body["meta"]["total"] == 1
    assert body["domain_records"][0]["name"] == "www"
    assert int(headers["ratelimit-limit"]) == 5000
    status, body, _ = call(do, "GET", "/v2/domains/shop.example.com/records?per_page=20&page=2")
    assert status == 200 and len(body["domain_records"]) == 20 and body["meta"]["total"] == 47
    assert set(body["links"]["pages"]) == {"first", "prev", "next", "last"}
    assert do.violations == []


def test_a_record_changed_by_put_reads_back_changed(do: DigitalOceanDns) -> None:
    _, body, _ = call(do, "GET", "/v2/domains/shop.example.com/records?name=www.shop.example.com")
    rid = body["domain_records"][0]["id"]
    status, body, _ = call(do, "PUT", f"/v2/domains/shop.example.com/records/{rid}",
                           {"type": "CNAME", "name": "www", "data": "usw2.shop.example.com.",
                            "ttl": 60})
    assert status == 200 and body["domain_record"]["data"] == "usw2.shop.example.com."
    _, body, _ = call(do, "GET", f"/v2/domains/shop.example.com/records/{rid}")
    assert body["domain_record"]["data"] == "usw2.shop.example.com."
    assert do.violations == []


def test_errors_are_digitaloceans_without_a_change(do: DigitalOceanDns) -> None:
    before = json.dumps(do.records, sort_keys=True)
    assert call(do, "GET", "/v2/domains/shop.example.com/records", token=None)[:2] == (
        401, {"id": "Unauthorized", "message": "Unable to authenticate you."})
    assert call(do, "PUT", "/v2/domains/shop.example.com/records/1",
                {"type": "CNAME", "data": "x."})[0] == 404
    assert call(do, "GET", "/v2/domains/other.example.com/records")[0] == 404
    do.fail_next = [429]
    status, body, _ = call(do, "GET", "/v2/domains/shop.example.com/records")
    assert (status, body["id"]) == (429, "too_many_requests")
    assert json.dumps(do.records, sort_keys=True) == before
    assert do.violations == []


def test_a_request_the_published_description_rejects_is_caught_and_changes_nothing(
        do: DigitalOceanDns) -> None:
    _, body, _ = call(do, "GET", "/v2/domains/shop.example.com/records?name=www.shop.example.com")
    rid = body["domain_records"][0]["id"]
    before = json.dumps(do.records, sort_keys=True)
    # a TTL as text, a page size above 200: the description says integer, at most 200
    assert call(do, "PUT", f"/v2/domains/shop.example.com/records/{rid}",
                {"type": "CNAME", "ttl": "sixty"})[0] == 400
    assert call(do, "GET", "/v2/domains/shop.example.com/records?per_page=500")[0] == 400
    assert json.dumps(do.records, sort_keys=True) == before
    assert len(do.violations) == 2 and all(v.startswith("request ") for v in do.violations)
    assert "ttl" in do.violations[0] and "per_page" in do.violations[1], do.violations


def test_an_answer_of_the_fakes_that_breaks_the_contract_is_caught(do: DigitalOceanDns) -> None:
    """The check is real on the way back too: a record without its required `type`."""
    _, body, _ = call(do, "GET", "/v2/domains/shop.example.com/records?name=www.shop.example.com")
    del do.records["shop.example.com"][body["domain_records"][0]["id"]]["type"]
    status, _, _ = call(do, "GET", "/v2/domains/shop.example.com/records?name=www.shop.example.com")
    assert status == 500
    assert len(do.violations) == 1 and do.violations[0].startswith("response GET"), do.violations
