"""What the drill reads of a DNS provider's contract-checked fake (tests/vendor), whichever
provider: which region's records the shop's domain holds, where www sends a resolver, and what
the fake recorded. Each provider's module gives the fake, its API's environment variable for
dns-flip, each region's planned records, and `values()` in its own record form."""

from __future__ import annotations

import logging
import sys
from typing import Any

from .harness import EAST, ROOT, WEST


def load_vendor_fakes() -> None:
    """tests/vendor's fakes importable (no package), their servers quiet over the drill's view."""
    vendor = str(ROOT / "tests/vendor")
    if vendor not in sys.path:
        sys.path.insert(0, vendor)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


class VendorDomain:
    """The shop's domain at a provider: `fake` (tests/vendor), `records` (region -> its planned
    record sets, as the plan names them)."""

    api_url_env = ""
    domain = ""
    fake: Any
    records: dict[str, list[dict[str, Any]]]

    @property
    def base_url(self) -> str:
        return str(self.fake.base_url)

    def values(self, name: str, rtype: str) -> list[str]:
        """The values the provider holds for one record set, sorted."""
        raise NotImplementedError

    def region(self) -> str | None:
        """The region whose records the domain holds now (every set as that region plans it)."""
        for region in (EAST, WEST):
            if all(self.values(r["name"], r["type"]) == sorted(r["values"]) for r in self.records[region]):
                return region
        return None

    def www_region(self) -> str | None:
        """Where www sends a resolver: the region whose addresses it holds."""
        www = self.values(f"www.{self.domain}", "A")
        for region in (EAST, WEST):
            if www and set(www) <= set(self.records[region][0]["values"]):
                return region
        return None

    @property
    def violations(self) -> list[str]:
        return list(self.fake.violations)

    @property
    def requests(self) -> list[tuple[str, str]]:
        return list(self.fake.server.requests)

    def stop(self) -> None:
        self.fake.stop()
