"""The shop's database under Patroni for the drill: real PostgreSQL (Debian's), etcd (Debian's) and
Patroni (PyPI's, in .venv-patroni) on loopback, laid out as docs/plan.md describes and Patroni
documents for disaster recovery. Each region runs its own etcd and its own Patroni cluster of one
member; us-west-2's is a standby cluster of us-east-1's primary. A region going dark kills its
processes (nothing shut down cleanly); coming back starts them on their old data.

The same layout as crates/http/tests/patroni_it.rs, which tests the adapter alone; here lifeboat's
functions and state machines drive it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .harness import EAST, ROOT, WEST, DrillError, free_port, wait_for

if TYPE_CHECKING:
    from .course import Drill

USERNAME = "lifeboat"
PASSWORD = "drill-patroni-rest-password-41c9"
PASSWORD_PARAMETER = "/lifeboat/shop/patroni-password"
SU_PASSWORD = "drill-postgres-su-8d2a"
SHORT = {EAST: "use1", WEST: "usw2"}


def _pg_bin() -> Path:
    dirs = sorted(p / "bin" for p in Path("/usr/lib/postgresql").glob("*") if (p / "bin/postgres").exists())
    if not dirs:
        raise DrillError("PostgreSQL is not installed: `make setup` installs Debian's postgresql")
    return dirs[-1]


def _run_as() -> tuple[int, int] | None:
    """The servers run as postgres when the drill runs as root (PostgreSQL refuses root)."""
    if os.getuid() != 0:
        return None
    pw = pwd.getpwnam("postgres")
    return pw.pw_uid, pw.pw_gid


def _chown(path: Path) -> None:
    ids = _run_as()
    if ids:
        subprocess.run(["chown", "-R", f"{ids[0]}:{ids[1]}", str(path)], check=True)


def _reachable_by_others(path: Path) -> bool:
    try:
        full = path.resolve()
    except OSError:
        return False
    return all(os.stat(d).st_mode & 0o001 for d in list(full.parents))


class Region:
    def __init__(self, world: PatroniWorld, region: str, standby_of: Region | None) -> None:
        self.world, self.region = world, region
        self.dir = world.dir / SHORT[region]
        self.dir.mkdir(parents=True, exist_ok=True)
        self.etcd_port, self.peer_port = free_port(), free_port()
        self.pg_port, self.rest_port = free_port(), free_port()
        self.etcd: subprocess.Popen[bytes] | None = None
        self.patroni: subprocess.Popen[bytes] | None = None
        dcs: dict[str, Any] = {
            "ttl": 10, "loop_wait": 1, "retry_timeout": 5,
            "postgresql": {"use_pg_rewind": True, "parameters": {
                "wal_level": "replica", "hot_standby": "on", "max_wal_senders": 10,
                "wal_keep_size": "64MB", "wal_log_hints": "on"}}}
        if standby_of is not None:
            dcs["standby_cluster"] = {"host": "127.0.0.1", "port": standby_of.pg_port,
                                      "create_replica_methods": ["basebackup"]}
        d = str(self.dir)
        config = {
            "scope": "shop", "name": f"{SHORT[region]}-pg1",
            "log": {"level": "WARNING"},
            "restapi": {"listen": f"127.0.0.1:{self.rest_port}",
                        "connect_address": f"127.0.0.1:{self.rest_port}",
                        "authentication": {"username": USERNAME, "password": PASSWORD}},
            "etcd3": {"hosts": f"127.0.0.1:{self.etcd_port}"},
            "bootstrap": {"dcs": dcs, "initdb": ["encoding=UTF8", "data-checksums"],
                          "pg_hba": ["host replication replicator 127.0.0.1/32 md5",
                                     "host all all 127.0.0.1/32 md5", "local all all trust"]},
            "postgresql": {"listen": f"127.0.0.1:{self.pg_port}",
                           "connect_address": f"127.0.0.1:{self.pg_port}",
                           "data_dir": f"{d}/pg", "pgpass": f"{d}/pgpass",
                           "bin_dir": str(_pg_bin()),
                           "authentication": {
                               "replication": {"username": "replicator", "password": "repl-pw"},
                               "superuser": {"username": "postgres", "password": SU_PASSWORD},
                               "rewind": {"username": "postgres", "password": SU_PASSWORD}},
                           "parameters": {"unix_socket_directories": d}}}
        (self.dir / "patroni.yml").write_text(json.dumps(config, indent=2))
        _chown(self.dir)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def start(self) -> None:
        client, peer = f"http://127.0.0.1:{self.etcd_port}", f"http://127.0.0.1:{self.peer_port}"
        name = f"e{SHORT[self.region]}"
        self.etcd = self.world.spawn(
            ["/usr/bin/etcd", "--name", name, "--data-dir", str(self.dir / "etcd"),
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"{name}={peer}"], f"etcd-{SHORT[self.region]}.log", as_pg=False)
        _listening(self.etcd_port, "etcd", 30)
        # Listening is not serving: a Patroni that finds etcd's API not ready yet gives up ("No
        # more machines in the cluster") and exits, and its region stays dark for good
        wait_for(f"{self.region}'s etcd healthy", lambda: _etcd_healthy(self.etcd_port), 60, every=0.1)
        self.patroni = self.world.spawn(
            self.world.patroni_command() + [str(self.dir / "patroni.yml")],
            f"patroni-{SHORT[self.region]}.log", as_pg=True)

    def kill(self) -> None:
        """The region goes dark: Patroni, PostgreSQL and etcd killed, nothing shut down cleanly."""
        for p in (self.patroni, self.etcd):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        self.patroni = self.etcd = None
        pid_file = self.dir / "pg/postmaster.pid"
        if pid_file.exists():
            pid = pid_file.read_text().splitlines()[0].strip()
            subprocess.run(["kill", "-9", pid], check=False, capture_output=True)
        deadline = time.monotonic() + 10
        while _answers(self.pg_port):
            if time.monotonic() > deadline:
                raise DrillError(f"{self.region}'s PostgreSQL never stopped")
            time.sleep(0.05)

    def member(self) -> dict[str, Any] | None:
        """What Patroni's REST API answers (GET /patroni), or None."""
        import urllib.request
        try:
            with urllib.request.urlopen(f"{self.api}/patroni", timeout=2) as r:  # noqa: S310 - loopback
                return dict(json.load(r))
        except Exception:  # noqa: BLE001 - dark, starting
            return None

    def role(self) -> str | None:
        m = self.member()
        return None if m is None else str(m.get("role"))

    def psql(self, sql: str) -> str:
        out = subprocess.run(
            [str(_pg_bin() / "psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
             "-d", "postgres", "-Atc", sql],
            env={**os.environ, "PGPASSWORD": SU_PASSWORD, "PGCONNECT_TIMEOUT": "2"},
            capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise DrillError(f"psql on {self.region}: {out.stderr.strip()}")
        return out.stdout.strip()

    def try_psql(self, sql: str) -> str | None:
        try:
            return self.psql(sql)
        except DrillError:
            return None


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _etcd_healthy(port: int) -> bool:
    """etcd answers its health check (GET /health: {"health": "true"}): it serves its API."""
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:  # noqa: S310 - loopback
            return str(json.load(r).get("health")) == "true"
    except Exception:  # noqa: BLE001 - starting
        return False


def _listening(port: int, what: str, timeout: float) -> None:
    wait_for(f"{what} listening on {port}", lambda: _answers(port), timeout, every=0.05)


class PatroniWorld:
    """Two regions' Patroni clusters under the drill's work directory."""

    def __init__(self, d: Drill) -> None:
        self.d = d
        for binary in ("/usr/bin/etcd",):
            if not Path(binary).exists():
                raise DrillError(f"{binary} is missing: `make setup` installs Debian's etcd-server")
        self.venv = Path(os.environ.get("LIFEBOAT_PATRONI_VENV", ROOT / ".venv-patroni"))
        if not (self.venv / "bin/patroni").exists():
            raise DrillError(f"{self.venv} is missing: `make setup` builds .venv-patroni")
        self.dir = d.work / "patroni"
        self.dir.mkdir(exist_ok=True)
        # the servers run as postgres: the directory above must let them through
        os.chmod(d.work, 0o755)
        self._python_path: Path | None = None
        self.regions: dict[str, Region] = {}
        east = Region(self, EAST, None)
        self.regions[EAST] = east
        self.regions[WEST] = Region(self, WEST, east)
        east.start()
        wait_for("us-east-1's Patroni leads as primary", lambda: east.role() == "primary", 90, every=0.2)
        east.psql("create table orders (id int primary key)")
        self.regions[WEST].start()
        wait_for("us-west-2's standby cluster streams from us-east-1",
                 lambda: self.streaming(WEST), 120, every=0.2)

    def patroni_command(self) -> list[str]:
        script = self.venv / "bin/patroni"
        if _run_as() is None or _reachable_by_others(script):
            return [str(script)]
        # the checkout is where postgres cannot reach (a home directory): Debian's Python over a
        # copy of the venv's packages
        if self._python_path is None:
            lib = next(self.venv.glob("lib/python*/site-packages"))
            copy = self.dir / "site-packages"
            shutil.copytree(lib, copy, symlinks=True)
            _chown(copy)
            self._python_path = copy
        return ["/usr/bin/python3", "-c",
                "import sys; from patroni.__main__ import main; sys.argv[0] = 'patroni'; main()"]

    def spawn(self, args: list[str], log: str, as_pg: bool) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        if self._python_path is not None:
            env["PYTHONPATH"] = str(self._python_path)
        ids = _run_as() if as_pg else None
        out = open(self.d.work / log, "ab")
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=self.dir, start_new_session=True,
                                user=ids[0] if ids else None, group=ids[1] if ids else None)
        self.d.procs.append(proc)
        return proc

    def rebuild(self, region: str) -> None:
        """What docs/plan.md asks of a person for a fenced cluster whose history forked: stop it,
        move its data directory aside (kept: what it wrote after the fork), remove the cluster's
        state from its DCS (here the region's own etcd holds nothing else; `patronictl remove`),
        and start it with `bootstrap.dcs.standby_cluster` naming the writer's PostgreSQL: Patroni
        bootstraps it as a standby cluster with basebackup. (Moving the data directory aside
        alone leaves Patroni waiting for a leader to clone from, forever: seen with 4.1.5.)"""
        r = self.regions[region]
        writer = self.regions[WEST if region == EAST else EAST]
        r.kill()
        stamp = int(time.time())
        for part in ("pg", "etcd"):
            if (r.dir / part).exists():
                (r.dir / part).rename(r.dir / f"{part}.forked-{stamp}")
        config = json.loads((r.dir / "patroni.yml").read_text())
        config["bootstrap"]["dcs"]["standby_cluster"] = {
            "host": "127.0.0.1", "port": writer.pg_port, "create_replica_methods": ["basebackup"]}
        (r.dir / "patroni.yml").write_text(json.dumps(config, indent=2))
        _chown(r.dir)
        r.start()
        # its REST API answers once Patroni runs; a Patroni that exited says why in its log
        deadline = time.monotonic() + 90
        while r.member() is None:
            if r.patroni is None or r.patroni.poll() is not None or time.monotonic() > deadline:
                log = self.d.logs(f"patroni-{SHORT[region]}.log")[-2000:]
                raise DrillError(f"{region}'s Patroni did not come back after the rebuild:\n{log}")
            time.sleep(0.2)

    def members(self, region: str) -> list[str]:
        return [self.regions[region].api]

    def streaming(self, region: str) -> bool:
        """`region`'s leader is a standby leader streaming from the other region's primary."""
        import urllib.request
        r = self.regions[region]
        try:
            with urllib.request.urlopen(f"{r.api}/cluster", timeout=2) as resp:  # noqa: S310
                members = json.load(resp)["members"]
        except Exception:  # noqa: BLE001
            return False
        return any(m.get("role") == "standby_leader" and m.get("state") == "streaming" for m in members)

    def writer(self) -> str | None:
        """The region whose leader is a primary (None: none, or both)."""
        primaries = [r for r, reg in self.regions.items() if reg.role() == "primary"]
        return primaries[0] if len(primaries) == 1 else None

    def orders(self, region: str) -> str | None:
        return self.regions[region].try_psql("select coalesce(array_agg(id order by id)::text, '{}') from orders")

    def stop(self) -> None:
        for r in self.regions.values():
            try:
                r.kill()
            except DrillError:
                pass


def patroni_plan(world: PatroniWorld, plan: dict[str, Any]) -> None:
    """The plan's database is the two Patroni clusters (docs/plan.md, The database under
    Patroni): no Aurora cluster, endpoint or capacity in either region."""
    plan["database"] = {
        "provider": "patroni",
        "patroni": {"username": USERNAME, "password_parameter": PASSWORD_PARAMETER},
        "rpo_guard_seconds": plan["database"]["rpo_guard_seconds"],
        "failback_max_lag_seconds": plan["database"].get("failback_max_lag_seconds", 1),
    }
    for region in (EAST, WEST):
        r = plan["regions"][region]
        for key in ("db_cluster_arn", "db_endpoint", "database_capacity"):
            r.pop(key, None)
        r["patroni"] = {"members": world.members(region)}
