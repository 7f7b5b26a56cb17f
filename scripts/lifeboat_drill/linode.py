"""The Linode stack for the drill (issue 23): the shop's database is MariaDB (Debian's
mariadb-server) with a GTID binlog replica in us-west-2, its pods run on a Kubernetes cluster in
each region (LKE), and its DNS is at Linode (DNS Manager).

* MariaDB: two real servers on loopback, set up as docs/linode.md asks of a shop: GTID
  replication from us-east-1's source, the replica read-only, lifeboat's own user with the grants
  listed there, a replication user, and the shop's user without SUPER (read_only stops it). A
  region going dark kills its server.
* Kubernetes: no API server can be installed here, so each region's cluster is tests/vendor's
  stateful fake of the apps/v1 API (Deployments, StatefulSets and their scale subresource),
  every request and answer checked against Kubernetes' published OpenAPI description
  (tests/vendor/kubernetes/apps-v1.openapi.yaml); a rollout becomes ready one pod per read.
* Linode DNS: tests/vendor's stateful fake of Linode's Domains API, checked against Linode's
  published OpenAPI description (tests/vendor/linode/dns.openapi.yaml).

A request either description rejects is answered 400 and recorded as a violation; the drill
fails on any. The shop's public name follows the records (ShopServer.resolver).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .harness import EAST, WEST, DrillError, free_port, wait_for
from .vendor_dns import VendorDomain, load_vendor_fakes

if TYPE_CHECKING:
    from .course import Drill

SHORT = {EAST: "use1", WEST: "usw2"}

# ---- Linode DNS ----

TOKEN = "drill0linode0personal0access0token0b81f"
TOKEN_PARAMETER = "/lifeboat/shop/linode-token"
DOMAIN = "shop.example.com"
TTL = 300  # Linode keeps 300, 3600, ... only
RECORDS: dict[str, list[dict[str, Any]]] = {
    EAST: [{"name": f"www.{DOMAIN}", "type": "A", "ttl": TTL, "values": ["203.0.113.10", "203.0.113.11"]},
           {"name": f"api.{DOMAIN}", "type": "CNAME", "ttl": TTL, "values": [f"api-use1.{DOMAIN}"]}],
    WEST: [{"name": f"www.{DOMAIN}", "type": "A", "ttl": TTL, "values": ["198.51.100.20", "198.51.100.21"]},
           {"name": f"api.{DOMAIN}", "type": "CNAME", "ttl": TTL, "values": [f"api-usw2.{DOMAIN}"]}],
}


def _relative(name: str) -> str:
    return "" if name == DOMAIN else name[: -len(DOMAIN) - 1]


class DomainRecords(VendorDomain):
    """Linode's DNS for the shop's domain, holding us-east-1's records to begin with."""

    api_url_env = "LIFEBOAT_LINODE_API_URL"
    domain = DOMAIN
    records = RECORDS

    def __init__(self, d: Drill) -> None:
        load_vendor_fakes()
        from linode_dns import LinodeDns  # tests/vendor (no package)

        seeded = [{"type": r["type"], "name": _relative(r["name"]), "ttl_sec": r["ttl"], "target": v}
                  for r in RECORDS[EAST] for v in r["values"]]
        self.fake = LinodeDns(TOKEN, {DOMAIN: seeded})
        for region in (WEST, EAST):
            d.client("ssm", region).put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN,
                                                  Type="SecureString", Overwrite=True)
        d.secrets["the Linode API token"] = TOKEN

    def values(self, name: str, rtype: str) -> list[str]:
        rel = _relative(name)
        return sorted(str(r["target"]).rstrip(".") for r in list(self.fake.records[DOMAIN].values())
                      if r["name"] == rel and r["type"] == rtype)


# ---- Kubernetes (one cluster per region) ----

K8S_TOKENS = {EAST: "drill0lke0use10token0a41c", WEST: "drill0lke0usw20token0e93b"}
K8S_TOKEN_PARAMETERS = {r: f"/lifeboat/shop/kubernetes/{SHORT[r]}-token" for r in (EAST, WEST)}
NAMESPACE = "shop"
# (kind, name, standby, active): what examples/plan-linode-stack.yaml names
WORKLOADS = [("deployments", "web", 1, 4), ("deployments", "checkout", 1, 3),
             ("statefulsets", "search", 1, 2)]


class Clusters:
    """Each region's Kubernetes API: the shop's workloads at standby in us-west-2, at active in
    us-east-1 (serving)."""

    def __init__(self, d: Drill) -> None:
        load_vendor_fakes()
        from kubernetes_apps import KubernetesApps  # tests/vendor (no package)

        self.fakes = {
            region: KubernetesApps(K8S_TOKENS[region], [
                (kind, NAMESPACE, name, active if region == EAST else standby)
                for kind, name, standby, active in WORKLOADS])
            for region in (EAST, WEST)}
        for region in (WEST, EAST):
            ssm = d.client("ssm", region)
            for r in (EAST, WEST):
                ssm.put_parameter(Name=K8S_TOKEN_PARAMETERS[r], Value=K8S_TOKENS[r],
                                  Type="SecureString", Overwrite=True)
        for r in (EAST, WEST):
            d.secrets[f"{r}'s Kubernetes token"] = K8S_TOKENS[r]

    def replicas(self, region: str) -> dict[str, tuple[int, int]]:
        """Each workload's (spec, ready) replicas in `region`'s cluster."""
        return {name: self.fakes[region].ready(kind, NAMESPACE, name) for kind, name, _, _ in WORKLOADS}

    def at(self, region: str, level: str) -> bool:
        """Every workload of `region` at `level` (standby|active) in its spec."""
        want = {name: (standby if level == "standby" else active) for _, name, standby, active in WORKLOADS}
        return all(spec == want[name] for name, (spec, _) in self.replicas(region).items())

    def go_dark(self, region: str, dark: bool = True) -> None:
        """`region`'s API answers nothing but 503 while dark (its region's outage)."""
        self.fakes[region].fail_next[:] = [503] * 100_000 if dark else []

    @property
    def violations(self) -> list[str]:
        return [v for f in self.fakes.values() for v in f.violations]

    @property
    def patches(self) -> list[tuple[str, str, str, str, int]]:
        return [(r, *p) for r, f in self.fakes.items() for p in f.patches]

    def stop(self) -> None:
        for f in self.fakes.values():
            f.stop()


# ---- MariaDB (a source and its binlog replica) ----

USER = "lifeboat"
PASSWORD = "drill-mariadb-lifeboat-password-3f7a"
PASSWORD_PARAMETER = "/lifeboat/shop/mysql-password"
REPL_USER = "repl"
REPL_PASSWORD = "drill-mariadb-replication-password-90d2"
REPL_PASSWORD_PARAMETER = "/lifeboat/shop/mysql-replication-password"
CA_PARAMETER = "/lifeboat/shop/mysql-ca"
SHOP_PASSWORD = "drill-shop-app-password-77e0"


def _binary(name: str) -> str:
    for d in ("/usr/sbin", "/usr/bin"):
        if Path(d, name).exists():
            return str(Path(d, name))
    raise DrillError(f"{name} is not installed: `make setup` installs Debian's mariadb-server")


def certificates(pki: Path) -> str:
    """A CA (the shop's) and the certificate it signed for 127.0.0.1, both servers' (openssl);
    the CA's PEM."""
    pki.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        out = subprocess.run(["openssl", *args], cwd=pki, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise DrillError(f"openssl {' '.join(args[:2])}: {out.stderr.strip()}")

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=shop drill CA")
    (pki / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    return (pki / "ca.pem").read_text()


class Server:
    """One region's MariaDB server under the drill's work directory."""

    def __init__(self, world: MariaDBWorld, region: str, server_id: int) -> None:
        self.world, self.region, self.server_id = world, region, server_id
        self.dir = world.dir / SHORT[region]
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        install = [_binary("mariadb-install-db"), "--no-defaults", f"--datadir={self.dir / 'data'}",
                   "--auth-root-authentication-method=normal", "--skip-test-db",
                   "--innodb-log-file-size=4M", f"--tmpdir={self.dir / 'tmp'}"]
        if os.getuid() == 0:
            install.append("--user=root")
        out = subprocess.run(install, capture_output=True, text=True, check=False,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise DrillError(f"mariadb-install-db ({region}): {out.stdout}{out.stderr}")

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [_binary("mariadbd"), "--no-defaults", f"--datadir={self.dir / 'data'}",
                f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.dir / 'sock'}",
                f"--pid-file={self.dir / 'pid'}", f"--log-error={self.dir / 'error.log'}",
                f"--server-id={self.server_id}", f"--tmpdir={self.dir / 'tmp'}", "--log-bin=binlog",
                # TLS with a certificate the shop's CA signed for the address lifeboat connects to
                f"--ssl-ca={self.world.pki / 'ca.pem'}", f"--ssl-cert={self.world.pki / 'server.pem'}",
                f"--ssl-key={self.world.pki / 'server.key'}",
                "--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=4M",
                # as docs/linode.md asks of a shop: a replica refuses a history that forked
                "--gtid-strict-mode=1",
                # a replica notices a source gone in seconds, not slave_net_timeout's minute
                "--slave-net-timeout=5",
                # a promoted replica's binary log holds the history it replicated, so the old
                # source can follow it from its own position (docs/linode.md)
                "--log-slave-updates=1"]
        if os.getuid() == 0:
            args.append("--user=root")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.world.d.procs.append(self.proc)
        wait_for(f"{self.region}'s MariaDB listening", lambda: self.sql("SELECT 1", quiet=True) == "1",
                 30, every=0.1)

    def kill(self) -> None:
        """The region goes dark: the server killed, as a power cut would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def sql(self, statement: str, quiet: bool = False, vertical: bool = False) -> str | None:
        """`statement` as root over TCP; its output (tab-separated, no headers; `vertical`: one
        `name: value` line per column), or None (quiet) when the server refuses or does not
        answer."""
        form = ["-E"] if vertical else ["-N", "-B"]
        out = subprocess.run(
            [_binary("mariadb"), "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", "root",
             "--connect-timeout=2", *form, "-e", statement],
            capture_output=True, text=True, check=False)
        if out.returncode != 0:
            if quiet:
                return None
            raise DrillError(f"MariaDB {self.region}: {statement}: {out.stderr.strip()}")
        return out.stdout.strip()

    def shop_write(self, statement: str) -> bool:
        """The shop writes as its own user (no SUPER: a read-only server refuses it)."""
        out = subprocess.run(
            [_binary("mariadb"), "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", "shop",
             f"-p{SHOP_PASSWORD}", "--connect-timeout=2", "-e", statement],
            capture_output=True, text=True, check=False)
        return out.returncode == 0


class MariaDBWorld:
    """us-east-1's source and us-west-2's replica."""

    def __init__(self, d: Drill) -> None:
        self.d = d
        self.dir = d.work / "mariadb"
        self.dir.mkdir(exist_ok=True)
        self.pki = self.dir / "pki"
        self.ca_pem = certificates(self.pki)
        self.servers = {EAST: Server(self, EAST, 1), WEST: Server(self, WEST, 2)}
        for s in self.servers.values():
            s.start()
        east, west = self.servers[EAST], self.servers[WEST]
        for s in (east, west):
            # lifeboat's own user and the replication user on both (either may become the
            # source); the shop's user without SUPER. Not written to the binary log: each
            # server holds its own, and the replica's history is the shop's only.
            s.sql("SET SESSION sql_log_bin = 0; "
                  # lifeboat's login only over TLS (the plan's database.mysql.tls)
                  f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}' REQUIRE SSL; "
                  "GRANT REPLICA MONITOR, BINLOG MONITOR, READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, "
                  f"RELOAD ON *.* TO '{USER}'@'127.0.0.1'; "
                  f"CREATE USER '{REPL_USER}'@'127.0.0.1' IDENTIFIED BY '{REPL_PASSWORD}'; "
                  f"GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'127.0.0.1'; "
                  f"CREATE USER 'shop'@'127.0.0.1' IDENTIFIED BY '{SHOP_PASSWORD}'; "
                  "CREATE DATABASE shop; "
                  "GRANT SELECT, INSERT ON shop.* TO 'shop'@'127.0.0.1'")
        east.sql("CREATE TABLE shop.orders (id INT PRIMARY KEY)")
        west.sql("SET GLOBAL read_only = 1; "
                 f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={east.port}, "
                 f"MASTER_USER='{REPL_USER}', MASTER_PASSWORD='{REPL_PASSWORD}', "
                 "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START REPLICA")
        wait_for("us-west-2's replica holds us-east-1's orders table",
                 lambda: west.sql("SELECT COUNT(*) FROM information_schema.tables WHERE "
                                  "table_schema='shop' AND table_name='orders'", quiet=True) == "1",
                 30, every=0.1)
        for region in (WEST, EAST):
            ssm = d.client("ssm", region)
            ssm.put_parameter(Name=PASSWORD_PARAMETER, Value=PASSWORD, Type="SecureString", Overwrite=True)
            ssm.put_parameter(Name=REPL_PASSWORD_PARAMETER, Value=REPL_PASSWORD, Type="SecureString",
                              Overwrite=True)
            ssm.put_parameter(Name=CA_PARAMETER, Value=self.ca_pem, Type="String", Overwrite=True)
        d.secrets["lifeboat's MariaDB password"] = PASSWORD
        d.secrets["the MariaDB replication password"] = REPL_PASSWORD

    def writer(self) -> str | None:
        """The region whose server takes writes (writable, replicating nothing); None: none or
        both."""
        writers = [r for r, s in self.servers.items()
                   if s.sql("SELECT @@read_only", quiet=True) == "0"
                   and not s.sql("SHOW REPLICA STATUS", quiet=True)]
        return writers[0] if len(writers) == 1 else None

    def orders(self, region: str) -> str | None:
        got = self.servers[region].sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shop.orders", quiet=True)
        return None if got is None else "{" + ("" if got == "NULL" else got) + "}"

    def replicates(self, region: str) -> bool:
        """`region`'s server is read-only and replicates the other's, both threads running."""
        s = self.servers[region]
        if s.sql("SELECT @@read_only", quiet=True) != "1":
            return False
        status = s.sql("SHOW REPLICA STATUS", quiet=True, vertical=True) or ""
        other = self.servers[WEST if region == EAST else EAST]
        return (f"Master_Port: {other.port}" in status and "Slave_IO_Running: Yes" in status
                and "Slave_SQL_Running: Yes" in status)

    def stop(self) -> None:
        for s in self.servers.values():
            s.kill()


def plan(world: MariaDBWorld, clusters: Clusters, p: dict[str, Any]) -> None:
    """examples/plan-linode-stack.yaml's shape over the drill's servers: the database is the two
    MariaDB servers, each region's compute its Kubernetes cluster's workloads, traffic the
    domain's records at Linode. No Aurora, ECS, Auto Scaling or cache."""
    p["database"] = {
        "provider": "mysql",
        "mysql": {"user": USER, "password_parameter": PASSWORD_PARAMETER,
                  "replication_user": REPL_USER, "replication_password_parameter": REPL_PASSWORD_PARAMETER,
                  "tls": {"ca_parameter": CA_PARAMETER}},
        "rpo_guard_seconds": p["database"]["rpo_guard_seconds"],
        "failback_max_lag_seconds": p["database"].get("failback_max_lag_seconds", 1),
    }
    # Verify waits out the records' TTL (300 s at Linode), within its deadline
    p["traffic"] = {"verify_deadline_seconds": max(600, p["traffic"].get("verify_deadline_seconds", 0)),
                    "mode": "linode", "linode": {"token_parameter": TOKEN_PARAMETER}}
    p.pop("cache", None)
    for region in (EAST, WEST):
        r = p["regions"][region]
        for key in ("db_cluster_arn", "db_endpoint", "database_capacity", "cache"):
            r.pop(key, None)
        r["mysql"] = {"server": world.servers[region].addr}
        r["traffic"] = {"domains": [{"domain": DOMAIN, "records": RECORDS[region]}]}
        workloads: dict[str, list[dict[str, Any]]] = {"deployments": [], "statefulsets": []}
        for kind, name, standby, active in WORKLOADS:
            workloads[kind].append({"namespace": NAMESPACE, "name": name,
                                    "standby_replicas": standby, "active_replicas": active})
        r["compute"] = {"kubernetes": {"api_url": clusters.fakes[region].base_url,
                                       "token_parameter": K8S_TOKEN_PARAMETERS[region],
                                       **workloads}}

