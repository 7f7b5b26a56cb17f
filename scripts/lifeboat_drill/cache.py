"""The shop's cache for the drill: real Redis and Sentinel servers on loopback (Debian's
redis-server and redis-sentinel), laid out as docs/plan.md describes. us-east-1 (home) runs the
master and a replica, watched by its three Sentinels; us-west-2 runs two replicas of the home
master, its Sentinels watching nothing. A region going dark stops its processes; coming back
starts them as configured (no persistence: a node comes back empty, as its own master or a
replica of the configured one).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .harness import EAST, WEST, DrillError

if TYPE_CHECKING:
    from .course import Drill

NAME = "shop-cache"
PASSWORD = "drill-cache-password-5b2e"
PASSWORD_PARAMETER = "/lifeboat/shop/cache-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise DrillError(f"{name} is not installed: `make setup` installs Debian's redis-server and redis-sentinel")
    return path


class _Proc:
    def __init__(self, d: Drill, args: list[str], port: int, log: str) -> None:
        self.d, self.args, self.port, self.log = d, args, port, log
        self.addr = f"127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = self.d.spawn(self.args, self.log)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise DrillError(f"{self.log}: {self.addr} never listened") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


class CacheWorld:
    """Two regions of Redis + Sentinel, started under the drill's work directory."""

    def __init__(self, d: Drill) -> None:
        self.d = d
        self.dir = d.work / "cache"
        self.dir.mkdir(exist_ok=True)
        self.server, self.sentinel_bin = _binary("redis-server"), _binary("redis-sentinel")
        self.cli = _binary("redis-cli")
        self.nodes: dict[str, list[_Proc]] = {EAST: [], WEST: []}
        self.sentinels: dict[str, list[_Proc]] = {EAST: [], WEST: []}
        # the nodes first: a Sentinel sees the replicas its master lists when it first connects
        a1 = self._node(EAST, None)
        self._node(EAST, a1.addr)
        for _ in range(2):
            self._node(WEST, a1.addr)
        for _ in range(3):
            self._sentinel(EAST, a1.addr)
        for _ in range(3):
            self._sentinel(WEST, None)

    def _node(self, region: str, replica_of: str | None) -> _Proc:
        port = _free_port()
        args = [self.server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--requirepass", PASSWORD, "--masterauth", PASSWORD,
                "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                "--dir", str(self.dir), "--dbfilename", f"dump-{port}.rdb"]
        if replica_of:
            host, p = replica_of.rsplit(":", 1)
            args += ["--replicaof", host, p]
        proc = _Proc(self.d, args, port, f"redis-{region}-{port}.log")
        proc.start()
        self.nodes[region].append(proc)
        return proc

    def _sentinel(self, region: str, watching: str | None) -> _Proc:
        port = _free_port()
        conf = self.dir / f"sentinel-{port}.conf"
        text = f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
        if watching:
            host, p = watching.rsplit(":", 1)
            text += (f"sentinel monitor {NAME} {host} {p} 2\nsentinel auth-pass {NAME} {PASSWORD}\n"
                     f"sentinel down-after-milliseconds {NAME} 60000\n")
        conf.write_text(text)
        proc = _Proc(self.d, [self.sentinel_bin, str(conf)], port, f"sentinel-{region}-{port}.log")
        proc.start()
        self.sentinels[region].append(proc)
        return proc

    def plan(self, plan: dict[str, Any]) -> None:
        """The plan's cache, naming these servers."""
        plan["cache"] = {"provider": "redis_sentinel", "master_name": NAME, "on_failover": "promote",
                         "quorum": 2, "password_parameter": PASSWORD_PARAMETER}
        for region in (EAST, WEST):
            plan["regions"][region]["cache"] = {
                "nodes": [p.addr for p in self.nodes[region]],
                "sentinels": [p.addr for p in self.sentinels[region]]}

    def go_dark(self, region: str) -> None:
        for p in self.nodes[region] + self.sentinels[region]:
            p.stop()

    def come_back(self, region: str) -> None:
        """The region's nodes start as configured (empty: as their own master, or replicas of
        it); its Sentinels start with the standby layout's configuration, watching nothing. With
        their old state instead, they would know the other region's nodes as their replicas and
        turn its master back into a replica of the empty one within seconds (Sentinel's
        +convert-to-slave), before any failback could act: docs/plan.md says so."""
        for p in self.nodes[region]:
            p.start()
        for p in self.sentinels[region]:
            conf = Path(p.args[-1])
            conf.write_text(f"port {p.port}\nbind 127.0.0.1\ndir {self.dir}\n")
            p.start()

    def cmd(self, addr: str, *args: str, password: bool = True) -> str:
        host, port = addr.rsplit(":", 1)
        auth = ["-a", PASSWORD, "--no-auth-warning"] if password else []
        out = subprocess.run([self.cli, "-h", host, "-p", port, *auth, *args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def role(self, addr: str) -> str:
        info = self.cmd(addr, "INFO", "replication")
        for line in info.splitlines():
            if line.startswith("role:"):
                return line.split(":", 1)[1].strip()
        return "unknown"

    def watched_by(self, region: str) -> list[str]:
        """What each Sentinel of the region answers it watches ("" for nothing)."""
        return [self.cmd(s.addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME, password=False).replace("\n", ":")
                for s in self.sentinels[region]]

    def master_of(self, region: str) -> str | None:
        """The node every Sentinel of the region watches, when they agree."""
        seen = set(self.watched_by(region))
        return seen.pop() if len(seen) == 1 and seen != {""} else None

    def wait_synced(self, master: str, region: str, seconds: float = 20) -> None:
        """Until the region's nodes replicate `master` with the link up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            infos = [self.cmd(p.addr, "INFO", "replication") for p in self.nodes[region]]
            if all("master_link_status:up" in i for i in infos):
                return
            time.sleep(0.1)
        raise DrillError(f"{region}'s cache nodes never caught up with {master}")


def set_up(d: Drill) -> CacheWorld:
    world = CacheWorld(d)
    d.client("ssm").put_parameter(Name=PASSWORD_PARAMETER, Value=PASSWORD, Type="SecureString",
                                  Overwrite=True)
    plan = d.plan()
    world.plan(plan)
    d.put_plan(plan)
    a1 = world.nodes[EAST][0].addr
    world.cmd(a1, "SET", "cart:42", "3 items")
    world.wait_synced(a1, WEST)
    d.say(f"cache: Redis + Sentinel in both regions ({len(world.nodes[EAST])} nodes and 3 Sentinels each); "
          f"cart:42 written at home and replicated to us-west-2")
    return world
