"""A real Prometheus Alertmanager on 127.0.0.1 (Debian's prometheus-alertmanager; `make setup`
installs it), routing the shop's alerts to lifeboat's alertmanager-webhook function URL with the
bearer token Alertmanager's documentation describes (``http_config.authorization``). The drill
pushes alerts through Alertmanager's API v2, as Prometheus does, and reads its own metrics for
what it sent."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .harness import DrillError, free_port, wait_for

if TYPE_CHECKING:
    from .harness import Harness

BINARIES = ("prometheus-alertmanager", "alertmanager")
TOKEN_PARAMETER = "/lifeboat/shop/alertmanager-token"


def binary() -> str:
    for name in BINARIES:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    raise DrillError("Alertmanager is not installed: `make setup` installs Debian's "
                     "prometheus-alertmanager (apt-get install prometheus-alertmanager)")


class Alertmanager:
    """One Alertmanager process; its webhook receiver points at `webhook_url` with `token`."""

    def __init__(self, h: Harness, webhook_url: str, token: str) -> None:
        work = h.work / "alertmanager"
        (work / "data").mkdir(parents=True, exist_ok=True)
        token_file = work / "token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        # Short intervals so the drill sees Alertmanager's repeats of one group within a minute.
        (work / "alertmanager.yml").write_text(json.dumps({
            "route": {"receiver": "lifeboat", "group_by": ["alertname"], "group_wait": "1s",
                      "group_interval": "2s", "repeat_interval": "3s"},
            "receivers": [{"name": "lifeboat", "webhook_configs": [{
                "url": webhook_url, "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer",
                                                  "credentials_file": str(token_file)}},
            }]}],
        }))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        h.spawn([binary(), f"--config.file={work / 'alertmanager.yml'}",
                 f"--storage.path={work / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
                 "--cluster.listen-address="], "alertmanager.log")
        wait_for("Alertmanager ready", self._ready, 60, 0.2)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:  # noqa: S310 - loopback
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def fire(self, labels: dict[str, str], summary: str) -> None:
        """An alert as Prometheus sends it (POST /api/v2/alerts), starting now."""
        self._push({"labels": labels, "annotations": {"summary": summary}, "startsAt": _now()},
                   "the alert")

    def resolve(self, labels: dict[str, str], summary: str) -> None:
        """The alert resolved, as Prometheus says it once its rule no longer fires (the same
        labels, `endsAt` now)."""
        self._push({"labels": labels, "annotations": {"summary": summary}, "endsAt": _now()},
                   "the resolved alert")

    def _push(self, alert: dict[str, Any], what: str) -> None:
        req = urllib.request.Request(f"{self.url}/api/v2/alerts", data=json.dumps([alert]).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - loopback
            if r.status != 200:
                raise DrillError(f"Alertmanager refused {what}: {r.status}")

    def metrics(self) -> dict[str, float]:
        """Alertmanager's webhook notification counters: sent, failed."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as r:  # noqa: S310 - loopback
            text = r.read().decode()
        out: dict[str, float] = {}
        for name in ("alertmanager_notifications_total", "alertmanager_notifications_failed_total"):
            m = re.search(rf'^{name}\{{[^}}]*integration="webhook"[^}}]*\}} (\S+)$', text, re.M)
            out[name] = float(m.group(1)) if m else 0.0
        return {"sent": out["alertmanager_notifications_total"],
                "failed": out["alertmanager_notifications_failed_total"]}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def post(url: str, body: Any, authorization: str | None) -> int:
    """A request to the webhook as anyone could send it: the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - loopback
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
