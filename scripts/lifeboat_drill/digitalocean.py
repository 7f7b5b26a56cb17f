"""The shop's DNS at DigitalOcean for the drill: tests/vendor's stateful fake of DigitalOcean's
Domain Records API (/v2/domains/{domain}/records) on loopback, every request dns-flip sends and
every answer the fake gives checked against DigitalOcean's published OpenAPI description
(tests/vendor/digitalocean/dns.openapi.yaml). A request the description rejects is answered 400
and recorded as a violation; the drill fails on any.

The shop's public name follows the records: www.shop.example.com answers from the region whose
addresses the domain's A records hold (ShopServer.resolver).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .harness import EAST, WEST
from .vendor_dns import VendorDomain, load_vendor_fakes

if TYPE_CHECKING:
    from .course import Drill

TOKEN = "dop_v1_drill0digitalocean0token0d5c9a"
TOKEN_PARAMETER = "/lifeboat/shop/digitalocean-token"
DOMAIN = "shop.example.com"
TTL = 60
# Each region's records, as examples/plan-digitalocean.yaml names them.
RECORDS: dict[str, list[dict[str, Any]]] = {
    EAST: [{"name": f"www.{DOMAIN}", "type": "A", "ttl": TTL, "values": ["203.0.113.10", "203.0.113.11"]},
           {"name": f"api.{DOMAIN}", "type": "CNAME", "ttl": TTL, "values": [f"api-use1.{DOMAIN}"]}],
    WEST: [{"name": f"www.{DOMAIN}", "type": "A", "ttl": TTL, "values": ["198.51.100.20", "198.51.100.21"]},
           {"name": f"api.{DOMAIN}", "type": "CNAME", "ttl": TTL, "values": [f"api-usw2.{DOMAIN}"]}],
}


def _relative(name: str) -> str:
    return "@" if name == DOMAIN else name[: -len(DOMAIN) - 1]


class DomainRecords(VendorDomain):
    """DigitalOcean's DNS for the shop's domain, holding us-east-1's records to begin with."""

    # where dns-flip is told the API is (the adapter takes http:// only to loopback)
    api_url_env = "LIFEBOAT_DIGITALOCEAN_API_URL"
    domain = DOMAIN
    records = RECORDS

    def __init__(self, d: Drill) -> None:
        load_vendor_fakes()
        from digitalocean_dns import DigitalOceanDns  # tests/vendor (no package)

        # DigitalOcean holds a CNAME's target fully qualified, with its trailing dot
        seeded = [{"type": r["type"], "name": _relative(r["name"]), "ttl": r["ttl"],
                   "data": f"{v}." if r["type"] == "CNAME" else v}
                  for r in RECORDS[EAST] for v in r["values"]]
        self.fake = DigitalOceanDns(TOKEN, {DOMAIN: seeded})
        d.client("ssm").put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString",
                                      Overwrite=True)
        d.secrets["the DigitalOcean API token"] = TOKEN

    def values(self, name: str, rtype: str) -> list[str]:
        rel = _relative(name)
        return sorted(str(r["data"]).rstrip(".") for r in list(self.fake.records[DOMAIN].values())
                      if r["name"] == rel and r["type"] == rtype)


def plan(p: dict[str, Any]) -> None:
    """The plan's traffic: the domain's records at DigitalOcean (examples/plan-digitalocean.yaml),
    and no compute: the droplets of a DigitalOcean shop run in both regions all the time."""
    p["traffic"] = {**{k: v for k, v in p["traffic"].items() if k in ("verify_deadline_seconds",)},
                    "mode": "digitalocean", "digitalocean": {"token_parameter": TOKEN_PARAMETER}}
    for region in (EAST, WEST):
        r = p["regions"][region]
        r["traffic"] = {"domains": [{"domain": DOMAIN, "records": RECORDS[region]}]}
        r.pop("compute", None)
