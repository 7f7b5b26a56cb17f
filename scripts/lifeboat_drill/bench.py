"""lifeboat's benchmarks: `make bench` (builds the release binaries first), or

    .venv/bin/python scripts/bench.py [--runs 20] [--only cold-start,sizes,orchestration,dns,ecs]

Measures, side by side in one run on this machine, and prints a table with every target:

* cold start and memory of every function's release binary, against a hello-world Rust Lambda
  built with the same profile (the floor) and the usual boto3 failover handler in Python, all
  through the same local Lambda Runtime API (bench_lambda.py);
* the binaries' sizes, stripped and zipped as Lambda takes them;
* orchestration overhead: the drill (release binaries, no approval step) with fixed simulated AWS
  durations, its measured RTO against the critical path;
* a DNS flip of 1,000 records in 10 hosted zones: API calls and wall time, against one call per
  record;
* the scale-up of 50 ECS services against one.

Figures are medians over runs interleaved across subjects (so slow phases of this shared machine
hit every subject alike) and are compared as ratios measured in the same run. Writes
bench/RESULTS.md (the one place the latest figures live; docs/benchmarks.md links it) and target/bench/results.json.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from . import harness as drill_mod
from .bench_lambda import BenchError, Process, Subject, cold_start
from .course import Drill
from .scenarios import resolvers_keep_the_old_answer, set_record_ttl, www_ttl

ROOT = drill_mod.ROOT
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FUNCTIONS = drill_mod.FUNCTIONS
FLOOR = "hello-lambda"
PYTHON = "python-boto3"
BUNDLE_ONLY = "db-failover, SSL_CERT_FILE"
EAST, WEST = drill_mod.EAST, drill_mod.WEST
MB = 1_000_000
SECTIONS = ["sizes", "cold-start", "instructions", "dns", "ecs", "detection", "orchestration"]

# The first event each function handles in the cold-start runs: one that does its usual reads
# and changes nothing in the seeded shop.
FIRST_EVENTS: dict[str, tuple[str, Callable[[dict[str, Any]], None] | None]] = {
    "alarm-to-failover": ("alarm-state-change.json",
                          lambda e: e["detail"]["state"].update(value="OK")),
    "failover-approval": ("function-url-get.json", None),
    "db-failover": ("status.json", None),
    "dr-scale-up": ("status.json", None),
    "dns-flip": ("flip.json", lambda e: e.update(target_region=EAST)),  # already there: no change
    "verify": ("verify.json", lambda e: e.update(target_region=EAST)),
    "health-probe": ("scheduled.json", None),
    "run-ledger": ("notify.json", None),
    "readiness": ("scheduled.json", None),
    "failback-orchestrator": ("assess.json", None),
    # reads the plan (which names no Alertmanager alerts in the seeded shop) and refuses: 404
    "alertmanager-webhook": ("notification.json", None),
}


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def p90(xs: list[float]) -> float:
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[min(len(s) - 1, math.ceil(0.9 * len(s)) - 1)]


# -- the emulated shop --------------------------------------------------------------------------


class HealthServer:
    """The shop's health endpoints on 127.0.0.1: /use1/*, /usw2/* and /www/* (served by us-east-1)."""

    def __init__(self) -> None:
        class H(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                region = WEST if self.path.startswith("/usw2/") else EAST
                body = f"ok region={region}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Shop:
    """The emulated AWS (moto + lifeboat's extensions) holding the seeded two-region shop."""

    def __init__(self, debug_dir: Path, time_scale: float, logs: Path) -> None:
        self.drill = Drill("failover", approval=False, time_scale=time_scale,
                                     bin_dir=debug_dir, verbose=False)
        self.logs = logs
        self.health = HealthServer()
        try:
            self.drill.start_emulator()
            self.seeded = self.drill.seeded = self.drill.seed(800.0)
            self.drill.control("/_lifeboat/config", {"time_scale": time_scale})
            plan = self.plan()
            for region, short in ((EAST, "use1"), (WEST, "usw2")):
                rp = plan["regions"][region]
                rp["health_endpoints"] = [{"url": f"{self.health.base}/{short}/healthz",
                                           "expect_status": 200, "expect_body_contains": "ok",
                                           "timeout_ms": 1000}]
                rp["public_checks"] = [{"url": f"{self.health.base}/www/healthz",
                                        "expect_status": 200,
                                        "expect_body_contains": f"region={EAST}",
                                        "timeout_ms": 1000}]
            self.put_plan(plan)
        except BaseException:
            self.stop()
            raise

    @property
    def endpoint(self) -> str:
        return self.drill.endpoint

    def client(self, service: str, region: str = WEST) -> Any:
        return self.drill.client(service, region)

    def plan(self) -> dict[str, Any]:
        return self.drill.plan()

    def put_plan(self, plan: dict[str, Any]) -> None:
        self.drill.put_plan(plan)

    def calls(self, reset: bool = False) -> dict[str, int]:
        req = urllib.request.Request(self.endpoint + "/_lifeboat/calls",
                                     method="DELETE" if reset else "GET")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def function_env(self, fn: str) -> dict[str, str]:
        """What infra/template.yaml configures for the function, pointed at the emulator."""
        return self.drill.function_env(fn)

    def subject(self, fn: str, release_dir: Path, event: Any) -> Subject:
        return Subject(fn, [str(release_dir / fn)], self.function_env(fn), event)

    def stop(self) -> None:
        self.drill.stop()
        self.health.stop()


def first_event(fn: str) -> Any:
    file, patch = FIRST_EVENTS[fn]
    event = json.loads((ROOT / "events" / fn / file).read_text())
    if patch:
        patch(event)
    return event


# -- sizes --------------------------------------------------------------------------------------


def has_symbol_table(binary: Path) -> bool:
    """Whether a 64-bit little-endian ELF file still has a .symtab section (is not stripped)."""
    data = binary.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise BenchError(f"{binary} is not a 64-bit little-endian ELF file")
    shoff = int.from_bytes(data[0x28:0x30], "little")
    shentsize = int.from_bytes(data[0x3A:0x3C], "little")
    shnum = int.from_bytes(data[0x3C:0x3E], "little")
    return any(int.from_bytes(data[shoff + i * shentsize + 4:shoff + i * shentsize + 8], "little") == 2
               for i in range(shnum))


def sizes(release_dir: Path) -> dict[str, Any]:
    """Each release binary (stripped by the profile) and as the zip Lambda takes (`bootstrap`)."""
    rows = {}
    for fn in FUNCTIONS + [FLOOR]:
        binary = release_dir / fn
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, binary.read_bytes(), compresslevel=9)
        stripped = not has_symbol_table(binary)
        rows[fn] = {"bytes": binary.stat().st_size, "zipped_bytes": len(buf.getvalue()),
                    "stripped": stripped}
    return {"binaries": rows,
            "max_zipped_bytes": max(r["zipped_bytes"] for f, r in rows.items() if f != FLOOR)}


# -- cold start ---------------------------------------------------------------------------------


def ca_bundle() -> Path | None:
    """This machine's CA bundle file (Debian's, or Amazon Linux's as on Lambda)."""
    for candidate in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def bundle_only(shop: Shop, release_dir: Path, event: Any) -> list[Subject]:
    """What the TLS trust store costs: db-failover reading only the CA bundle file
    (rustls-native-certs honours SSL_CERT_FILE) instead of the bundle and every file of the
    certificate directory; none where this machine has no bundle file."""
    bundle = ca_bundle()
    if not bundle:
        return []
    variant = shop.subject("db-failover", release_dir, event)
    variant.name = BUNDLE_ONLY
    variant.env["SSL_CERT_FILE"] = str(bundle)
    return [variant]


def python_subject(shop: Shop) -> Subject:
    env = {"AWS_REGION": WEST, "AWS_DEFAULT_REGION": WEST, "AWS_ENDPOINT_URL": shop.endpoint,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "GLOBAL_CLUSTER_ID": "shop-global", "PYTHONDONTWRITEBYTECODE": "1"}
    return Subject(PYTHON, [sys.executable, str(ROOT / "bench/python/runtime.py")], env,
                   {"action": "status", "target_region": WEST}, kind="python")


def cold_starts(runs: int, release_dir: Path, debug_dir: Path, work: Path) -> dict[str, Any]:
    shop = Shop(debug_dir, 0.01, work)
    try:
        subjects = [shop.subject(fn, release_dir, first_event(fn)) for fn in FUNCTIONS]
        subjects += bundle_only(shop, release_dir, first_event("db-failover"))
        subjects.append(Subject(FLOOR, [str(release_dir / FLOOR)], {}, {"name": "bench"},
                                kind="floor"))
        subjects.append(python_subject(shop))
        samples: dict[str, list[Any]] = {s.name: [] for s in subjects}
        for s in subjects:  # one warm-up each (page cache, the emulator's first answers)
            cold_start(s, work / "functions.log")
        for i in range(runs):
            for s in subjects:
                samples[s.name].append(cold_start(s, work / "functions.log"))
            if (i + 1) % 5 == 0:
                say(f"  cold start: {i + 1} of {runs} runs")
    finally:
        shop.stop()
    out: dict[str, Any] = {}
    for name, xs in samples.items():
        errors = sorted({x.error for x in xs if x.error})
        out[name] = {
            "runs": len(xs),
            "init_ms_median": median([x.init_ms for x in xs]),
            "init_ms_p90": p90([x.init_ms for x in xs]),
            "first_invoke_ms_median": median([x.first_invoke_ms for x in xs]),
            "peak_rss_kib_max": max(x.peak_rss_kib for x in xs),
            "errors": errors,
        }
    floor = out[FLOOR]["init_ms_median"]
    py = out[PYTHON]["init_ms_median"]
    for name, r in out.items():
        r["vs_floor"] = r["init_ms_median"] / floor
        r["vs_python"] = r["init_ms_median"] / py
    return out


def init_instructions(release_dir: Path, debug_dir: Path, work: Path) -> dict[str, Any]:
    """Instructions executed from exec to the first GET .../invocation/next, counted by valgrind's
    callgrind: a figure that repeats to a fraction of a percent where times do not."""
    if not shutil.which("valgrind"):
        return {"skipped": "valgrind is not installed"}
    shop = Shop(debug_dir, 0.01, work)
    counts: dict[str, int] = {}
    try:
        subjects = [Subject(FLOOR, [str(release_dir / FLOOR)], {}, None)]
        for fn in ("db-failover", "verify"):
            subjects.append(shop.subject(fn, release_dir, None))
        subjects += bundle_only(shop, release_dir, None)
        for sub in subjects:
            out = work / f"callgrind.{sub.name.replace(' ', '').replace(',', '-')}.out"
            sub.argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *sub.argv]
            p = Process(sub, work / "callgrind.log")
            try:
                p.wait_ready(timeout=300)
            finally:
                p.proc.terminate()  # callgrind writes its counts on the way out
                p.proc.wait(timeout=60)
                p.api.close()
            totals = [line for line in out.read_text().splitlines()
                      if line.startswith(("summary:", "totals:"))]
            if not totals:
                raise BenchError(f"no totals in {out}")
            counts[sub.name] = int(totals[-1].split()[1])
    finally:
        shop.stop()
    floor = counts[FLOOR]
    return {"instructions": counts, "vs_floor": {k: v / floor for k, v in counts.items()}}


# -- DNS at scale -------------------------------------------------------------------------------


def _poll(process: Process, event: Any, done: Callable[[Any], bool], every: float,
          timeout: float) -> tuple[Any, int]:
    """Invoke `event` until `done(result)`; returns the last result and the invocations made."""
    deadline = time.monotonic() + timeout
    n = 0
    while True:
        inv = process.invoke(event)
        n += 1
        if inv.error:
            raise BenchError(f"{process.subject.name}: {inv.error}")
        if done(inv.result):
            return inv.result, n
        if time.monotonic() > deadline:
            raise BenchError(f"{process.subject.name}: not done within {timeout} s: {inv.result}")
        time.sleep(every)


def dns(zones: int, records: int, time_scale: float, release_dir: Path, debug_dir: Path,
        work: Path) -> dict[str, Any]:
    shop = Shop(debug_dir, time_scale, work)
    try:
        r53 = shop.client("route53", EAST)
        plan = shop.plan()
        planned: dict[str, list[dict[str, Any]]] = {EAST: [], WEST: []}
        zone_ids = []
        for z in range(zones):
            name = f"zone{z}.bench.example.com"
            zid = r53.create_hosted_zone(Name=name, CallerReference=f"bench-{z}")["HostedZone"]["Id"]
            zid = zid.rsplit("/", 1)[-1]
            zone_ids.append(zid)
            recs = {region: [{"name": f"r{i}.{name}", "type": "A", "ttl": 60,
                              "values": [f"{net}.{z}.{i}"]} for i in range(records)]
                    for region, net in ((EAST, "10.1"), (WEST, "10.2"))}
            # The zone serves us-west-2 now; the flip sends it to us-east-1, where the seeded
            # global database writes (dns-flip moves traffic only to the writer's region).
            r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
                {"Action": "UPSERT", "ResourceRecordSet": {
                    "Name": r["name"], "Type": "A", "TTL": 60,
                    "ResourceRecords": [{"Value": v} for v in r["values"]]}}
                for r in recs[WEST]]})
            for region in (EAST, WEST):
                planned[region].append({"zone_id": zid, "records": recs[region]})
        # The record_upsert mode (examples/plan-record-upsert.yaml) is the one this measures.
        plan["traffic"] = {"mode": "record_upsert",
                           "verify_deadline_seconds": plan["traffic"]["verify_deadline_seconds"]}
        for region in (EAST, WEST):
            plan["regions"][region]["traffic"] = {"hosted_zones": planned[region]}
        shop.put_plan(plan)
        time.sleep(60 * time_scale + 0.5)  # the set-up's own changes are INSYNC
        process = Process(shop.subject("dns-flip", release_dir, None), work / "functions.log")
        try:
            process.wait_ready()
            shop.calls(reset=True)
            t0 = time.perf_counter()
            flip = process.invoke({"action": "flip", "target_region": EAST, "run_id": "bench-dns"})
            if flip.error:
                raise BenchError(f"dns-flip flip: {flip.error}")
            flip_s = flip.answered - flip.delivered
            changes = flip.result["changes"]
            _, polls = _poll(process, {"action": "status", "changes": changes},
                             lambda r: r.get("state") == "in_sync", 0.25, 300)
            wall = time.perf_counter() - t0
        finally:
            process.stop()
        calls = shop.calls(reset=True)
        r53_calls = {k: v for k, v in calls.items() if k.startswith("route53:")}
        # The per-record way, for comparison: read each record, change it in its own batch, wait
        # for each change (one thread per zone, as dns-flip works on zones concurrently).
        east = {z["zone_id"]: z["records"] for z in planned[EAST]}

        def per_record(zid: str) -> None:
            c = shop.client("route53", EAST)
            ids = []
            for r in east[zid]:
                c.list_resource_record_sets(HostedZoneId=zid, StartRecordName=r["name"],
                                            StartRecordType="A", MaxItems="1")
                ids.append(c.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={
                    "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                        "Name": r["name"], "Type": "A", "TTL": 60,
                        "ResourceRecords": [{"Value": "10.3.0.1"}]}}]})["ChangeInfo"]["Id"])
            for cid in ids:
                while c.get_change(Id=cid)["ChangeInfo"]["Status"] != "INSYNC":
                    time.sleep(0.25)

        t1 = time.perf_counter()
        with ThreadPoolExecutor(len(east)) as pool:
            list(pool.map(per_record, east))
        baseline_wall = time.perf_counter() - t1
        baseline_calls = {k: v for k, v in shop.calls(reset=True).items() if k.startswith("route53:")}
    finally:
        shop.stop()
    propagation = 60 * time_scale
    n_calls = sum(r53_calls.values())
    changes_and_reads = n_calls - r53_calls.get("route53:GetChange", 0)
    return {
        "zones": zones, "records": zones * records, "time_scale": time_scale,
        "propagation_seconds": propagation,
        "calls": r53_calls, "calls_total": n_calls, "calls_without_polls": changes_and_reads,
        "status_invocations": polls, "flip_seconds": flip_s, "wall_seconds": wall,
        "baseline_calls": baseline_calls, "baseline_calls_total": sum(baseline_calls.values()),
        "baseline_wall_seconds": baseline_wall,
        # What Route 53's account-wide request bucket (burst 50, refill 10/s) makes those calls
        # wait on real AWS, polls left out:
        "throttled_seconds": throttle_wait(changes_and_reads),
        "baseline_throttled_seconds": throttle_wait(
            sum(baseline_calls.values()) - baseline_calls.get("route53:GetChange", 0)),
    }


def throttle_wait(calls: int, burst: int = 50, refill_per_second: float = 10.0) -> float:
    """Seconds `calls` back-to-back requests wait on a token bucket (Route 53's account-level
    request rate: burst 50, refill 10 per second)."""
    return max(0.0, (calls - burst) / refill_per_second)


# -- ECS at scale -------------------------------------------------------------------------------


def ecs(services: int, reps: int, time_scale: float, release_dir: Path, debug_dir: Path,
        work: Path) -> dict[str, Any]:
    shop = Shop(debug_dir, time_scale, work)
    try:
        client = shop.client("ecs", WEST)
        client.create_cluster(clusterName="bench")
        client.register_task_definition(family="bench", containerDefinitions=[
            {"name": "app", "image": "shop:latest", "memory": 512}])
        base = shop.plan()
        process = Process(shop.subject("dr-scale-up", release_dir, None), work / "functions.log")
        walls: dict[int, list[float]] = {1: [], services: []}
        calls: dict[int, dict[str, int]] = {}
        try:
            process.wait_ready()
            for rep in range(reps):
                for n in (1, services):
                    names = [f"svc-{rep}-{n}-{i}" for i in range(n)]
                    for name in names:
                        client.create_service(cluster="bench", serviceName=name,
                                              taskDefinition="bench", desiredCount=1)
                    plan = json.loads(json.dumps(base))
                    for region in (EAST, WEST):
                        plan["regions"][region]["compute"] = {
                            "ecs_services": [{"cluster": "bench", "service": s, "standby_count": 1,
                                              "active_count": 4} for s in names],
                            "autoscaling_groups": []}
                    shop.put_plan(plan)
                    shop.calls(reset=True)
                    t0 = time.perf_counter()
                    start = process.invoke({"action": "start", "target_region": WEST,
                                            "run_id": f"bench-ecs-{rep}-{n}"})
                    if start.error:
                        raise BenchError(f"dr-scale-up start: {start.error}")
                    _poll(process, {"action": "status", "target_region": WEST},
                          lambda r: r.get("state") == "steady", 0.1, 300)
                    walls[n].append(time.perf_counter() - t0)
                    calls[n] = {k: v for k, v in shop.calls(reset=True).items()
                                if k.startswith("ecs:")}
        finally:
            process.stop()
    finally:
        shop.stop()
    one, many = median(walls[1]), median(walls[services])
    return {"services": services, "reps": reps, "time_scale": time_scale,
            "task_start_seconds": 60 * time_scale,
            "one_service_seconds": one, "all_services_seconds": many, "ratio": many / one,
            "walls": {str(k): v for k, v in walls.items()},
            "calls_one": calls.get(1, {}), "calls_all": calls.get(services, {})}


# -- detection --------------------------------------------------------------------------------


def detection(outages: int, debug_dir: Path) -> dict[str, Any]:
    """From an outage's first second to the canary's report, at published durations: core's
    rule on the template's cadence (tests/src/bin/lifeboat-detection.rs), for outages spread
    evenly over the schedule's minute, against the cadence before issue 21."""
    binary = debug_dir / "lifeboat-detection"
    if not binary.exists():
        raise BenchError(f"{binary} is missing: cargo build --workspace --all-targets")
    out = subprocess.run([str(binary), str(outages), "2000"], capture_output=True, text=True,
                         timeout=60, check=False)
    if out.returncode != 0:
        raise BenchError(f"lifeboat-detection: {out.stderr[-800:]}")
    return json.loads(out.stdout)


# -- orchestration overhead ---------------------------------------------------------------------


def _seconds(at: str) -> float:
    return datetime.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


# The plans the orchestration section runs, side by side: the drill's scenario for each.
# (label, drill scenario, the TTL of the shop's records or None for the seed's 60 s). AWS
# recommends 60 s or less for records that fail over; the 30 s row is a shop that chose less.
PLANS = [
    ("pilot light, full capacity first", "failover", None),
    ("warm standby, shift at 50 %", "warm-standby", None),
    ("warm standby, shift at 50 %, records with a 30 s TTL", "warm-standby", 30),
]


def compute_seconds(plan: dict[str, Any], region: str, task_start: float,
                    instance_start: float) -> float:
    """How long the target region's compute takes, from scale-up's start, to reach the share the
    plan shifts at, as the emulator models it (and AWS publishes it): an ECS service's running
    count climbs linearly from its standby to its active count over `task_start`; a group's new
    instances are in service after `instance_start`. core's rule: ceil(active x share), at
    least one."""
    share = plan["traffic"].get("shift_at_capacity_percent", 100)
    compute = plan["regions"][region]["compute"]

    def floor(active: int) -> int:
        return max(math.ceil(active * share / 100), 1 if active > 0 else 0)

    worst = 0.0
    for s in compute.get("ecs_services", []):
        standby, active = s["standby_count"], s["active_count"]
        need = floor(active)
        if need > standby and active > standby:
            worst = max(worst, task_start * (need - standby) / (active - standby))
    for g in compute.get("autoscaling_groups", []):
        if floor(g["active"]["desired"]) > g["standby"]["desired"]:
            worst = max(worst, instance_start)
    return worst


def anchors(promotion: float, compute_full: float, compute_share: float,
            dns: float) -> dict[str, float]:
    """Orchestration alone (trigger -> traffic verified) for the same plan at the same durations:
    * lifeboat: promotion || scale-up to the plan's share, then traffic (clients move after the
      resolvers' TTL; verify's attempts fall within it, so its passing attempt ends the path);
    * ARC Region switch, its documented blocks: a parallel block (Aurora Global Database
      failover, EC2 Auto Scaling and ECS capacity blocks, which wait for their target percent,
      or an ungraceful minimum) then the routing control block; without the parallel block a
      workflow runs its steps one after another;
    * the seed's Lambda: promotion, then scale-up, then DNS, one after another, full capacity."""
    # ARC's parallel block has the same path as lifeboat's Promote: only overhead differs
    path = max(promotion, compute_share) + dns
    return {
        "lifeboat": path,
        "arc_parallel": path,
        "arc_sequential": promotion + compute_share + dns,
        "seed_sequential": promotion + compute_full + dns,
    }


class _BenchDrill(Drill):
    """The drill with resolvers that cached the old answer just before the flip: www moves for
    them after the records' TTL as Route 53 serves it (the seed's, or `ttl` when given), the
    worst case a shop's clients see (the verify-waits scenario's fault)."""

    def __init__(self, *args: Any, ttl: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ttl = ttl
        self.served_ttl = 0

    def set_up(self) -> dict[str, Any]:
        seeded = super().set_up()
        if self.ttl is not None:
            set_record_ttl(self, self.ttl)
        # read before the outage: Route 53's control plane lives in the region that goes dark
        self.served_ttl = www_ttl(self)
        resolvers_keep_the_old_answer(self)
        return seeded


def orchestration(runs: int, time_scale: float, bin_dir: Path) -> dict[str, Any]:
    plans: dict[str, Any] = {}
    for i in range(runs):
        for label, scenario, record_ttl in PLANS:
            d = _BenchDrill(scenario, approval=False, time_scale=time_scale, bin_dir=bin_dir,
                            verbose=False, go_home=False, ttl=record_ttl)
            try:
                out = d.run()
                config = d.control("/_lifeboat/config", method="GET")
                plan = d.plan()
                ttl = d.served_ttl
            finally:
                d.stop()
            if not out.passed or not out.report:
                raise BenchError(f"{scenario} drill run {i + 1} failed: {out.verdict}")
            r = out.report
            steps = {s["name"]: s for s in r["timeline"]["steps"]}
            scale = config["time_scale"]
            rds = (config["rds"]["pending_seconds"] + config["rds"]["failover_seconds"]) * scale
            task_start = config["ecs"]["task_start_seconds"] * scale
            instance_start = config["autoscaling"]["instance_start_seconds"] * scale
            full = {**plan, "traffic": {**plan["traffic"], "shift_at_capacity_percent": 100}}
            compute_full = compute_seconds(full, WEST, task_start, instance_start)
            compute = compute_seconds(plan, WEST, task_start, instance_start)
            dns = ttl * scale
            verify = _seconds(steps["Verify"]["ended_at"]) - _seconds(steps["Verify"]["started_at"])
            a = anchors(rds, compute_full, compute, dns)
            critical = a["lifeboat"]
            rto = r["rto_seconds"]
            sample = {"rto_seconds": rto, "critical_path_seconds": critical,
                      "promotion_seconds": rds, "scale_up_seconds": compute,
                      "scale_up_full_seconds": compute_full, "dns_sync_seconds": dns,
                      "ttl_seconds": ttl,
                      "verify_seconds": verify, "ratio": rto / critical,
                      "overhead_seconds": rto - critical,
                      "capacity_at_shift": r.get("capacity_at_shift"),
                      "anchors": a,
                      "steps": {k: [v.get("started_at"), v.get("ended_at")]
                                for k, v in steps.items()}}
            plans.setdefault(label, {"scenario": scenario, "samples": []})["samples"].append(sample)
            say(f"  orchestration: {label}, run {i + 1} of {runs}: RTO {rto:.1f} s, critical path "
                f"{critical:.1f} s")
    for p in plans.values():
        ss = p["samples"]
        p["ratio_median"] = median([s["ratio"] for s in ss])
        p["rto_median"] = median([s["rto_seconds"] for s in ss])
        p["critical_path_median"] = median([s["critical_path_seconds"] for s in ss])
        p["overhead_median"] = median([s["overhead_seconds"] for s in ss])
    return {"runs": runs, "time_scale": time_scale, "plans": plans}


def bench_bin_dir(release_dir: Path, debug_dir: Path) -> Path:
    """The drill's binaries: the functions' release builds, the debug seeder and CLI."""
    d = TARGET / "bench/bin"
    d.mkdir(parents=True, exist_ok=True)
    for name, src in [(fn, release_dir) for fn in FUNCTIONS] + [
            ("lifeboat-seed", debug_dir), ("lifeboat", debug_dir)]:
        link = d / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to((src / name).resolve())
    return d


# -- the report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


def table(res: dict[str, Any]) -> str:
    lines = [f"Measured {res['date']} on {res['machine']}; release profile (opt-level z, fat LTO, "
             f"stripped), x86_64 here (Lambda runs the arm64 build).", ""]
    cs = res.get("cold-start")
    sz = res.get("sizes")
    if cs or sz:
        lines += ["| Function | init ms (median / p90) | × floor | × boto3 | first invoke ms | "
                  "peak RSS MiB | zipped MB |",
                  "|---|---|---|---|---|---|---|"]
        for fn in FUNCTIONS + [BUNDLE_ONLY, FLOOR, PYTHON]:
            c = (cs or {}).get(fn)
            if fn == BUNDLE_ONLY and not c:
                continue
            s = (sz or {}).get("binaries", {}).get(fn)
            cells = [f"`{fn}`" + (" (floor)" if fn == FLOOR else "") +
                     (" (trust store from the bundle file only)" if fn == BUNDLE_ONLY else "") +
                     (" (Python, boto3)" if fn == PYTHON else "")]
            if c:
                err = f" ({', '.join(c['errors'])})" if c["errors"] else ""
                cells += [f"{c['init_ms_median']:.1f} / {c['init_ms_p90']:.1f}",
                          f"{c['vs_floor']:.2f}", f"{c['vs_python']:.3f}",
                          f"{c['first_invoke_ms_median']:.1f}{err}",
                          f"{c['peak_rss_kib_max'] / 1024:.1f}"]
            else:
                cells += ["-"] * 5
            cells.append(f"{s['zipped_bytes'] / MB:.2f}" if s else "-")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    ins = res.get("instructions")
    if ins and "instructions" in ins:
        lines += ["Instructions from exec to the first `GET .../invocation/next` (callgrind, "
                  "repeatable where times are not): " + ", ".join(
                      f"`{k}` {v / 1e6:.1f} M ({ins['vs_floor'][k]:.1f}× the floor)"
                      for k, v in ins["instructions"].items()) + ".", ""]
    lines += ["| Target | Figure | |", "|---|---|---|"]
    if cs:
        fns = [cs[f] for f in FUNCTIONS]
        worst_floor = max(r["vs_floor"] for r in fns)
        worst_py = max(r["vs_python"] for r in fns)
        worst_rss = max(r["peak_rss_kib_max"] for r in fns) * 1024
        lines += [
            f"| Init ≤ 1.3× the floor | {min(r['vs_floor'] for r in fns):.2f}–{worst_floor:.2f}× "
            f"({cs[FLOOR]['init_ms_median']:.2f} ms floor) | {verdict(worst_floor <= 1.3)} |",
            f"| Init ≤ 0.1× the boto3 handler | {min(r['vs_python'] for r in fns):.3f}–"
            f"{worst_py:.3f}× ({cs[PYTHON]['init_ms_median']:.0f} ms boto3) | "
            f"{verdict(worst_py <= 0.1)} |",
            f"| Peak RSS ≤ 30 MB | ≤ {worst_rss / MB:.1f} MB | {verdict(worst_rss <= 30 * MB)} |",
        ]
    if sz:
        lines.append(f"| Zipped binary ≤ 8 MB | ≤ {sz['max_zipped_bytes'] / MB:.2f} MB | "
                     f"{verdict(sz['max_zipped_bytes'] <= 8 * MB)} |")
    det = res.get("detection")
    if det:
        c, cs, b, bs = (det["cases"][k] for k in
                        ("cadence_errors", "cadence_silent", "before_errors", "before_silent"))
        lines.append(
            f"| Detection (outage's first second → the canary's report) ≤ 30 s | median "
            f"{c['median']:.1f} s, max {c['max']:.1f} s over {det['outages']} outages spread over the "
            f"minute (a round every {c['interval_seconds']:.0f} s for {c['watch_seconds']:.0f} s; "
            f"k = {det['rule']['failures_required']} of n = {det['rule']['of_probes']}); a silent "
            f"primary (each probe waits its 2 s timeout): median {cs['median']:.1f} s, max "
            f"{cs['max']:.1f} s | {verdict(max(c['max'], cs['max']) <= 30)} |")
        lines.append(
            f"| (the cadence before: 5 probes 2 s apart, once a minute) | median {b['median']:.1f} s, "
            f"max {b['max']:.1f} s; silent: median {bs['median']:.1f} s, max {bs['max']:.1f} s | |")
    o = res.get("orchestration")
    if o and "plans" in o:
        for label, p in o["plans"].items():
            s0 = p["samples"][0]
            lines.append(
                f"| RTO ÷ critical path ≤ 1.03 ({label}) | {p['ratio_median']:.3f} (RTO "
                f"{p['rto_median']:.1f} s; critical path {p['critical_path_median']:.1f} s = "
                f"max(promotion {s0['promotion_seconds']:.0f} s, scale-up to the plan's share "
                f"{s0['scale_up_seconds']:.0f} s) + resolvers' TTL {s0['dns_sync_seconds']:.0f} s, "
                f"within which verify passed ({s0['verify_seconds']:.1f} s); {o['runs']} run(s) at time scale "
                f"{o['time_scale']}) | {verdict(p['ratio_median'] <= 1.03)} |")
        if det:
            cs_ = det["cases"]["cadence_silent"]
            for label, p in o["plans"].items():
                total, worst = cs_["median"] + p["rto_median"], cs_["max"] + p["rto_median"]
                target = ""
                mark = ""
                if p["scenario"] == "warm-standby":
                    target = " ≤ 150 s"
                    mark = verdict(worst <= 150) + (" (median " + verdict(total <= 150) + ")")
                # no orchestrator does better than detection plus the critical path
                floor_ = cs_["median"] + p["critical_path_median"]
                lines.append(
                    f"| Outage → traffic verified ({label}){target} | {total:.1f} s median "
                    f"(detection {cs_['median']:.1f} s + RTO {p['rto_median']:.1f} s), at most "
                    f"{worst:.1f} s; with no orchestration overhead at all {floor_:.1f} s | {mark} |")
    d = res.get("dns")
    if d:
        changes = d["calls"].get("route53:ChangeResourceRecordSets", 0)
        listings = d["calls"].get("route53:ListResourceRecordSets", 0)
        lines.append(
            f"| DNS flip, {d['records']:,} records in {d['zones']} zones: calls = zones (+ "
            f"GetChange polls) | {changes} changes + {listings} listings (the records before, "
            f"kept for undo) + {d['calls'].get('route53:GetChange', 0)} polls; "
            f"{d['wall_seconds']:.1f} s (flip {d['flip_seconds'] * 1000:.0f} ms, propagation "
            f"{d['propagation_seconds']:.1f} s) | "
            f"{verdict(changes == d['zones'])} (writes); reads 1 per zone |")
        lines.append(
            f"| (one call per record, for comparison) | {d['baseline_calls_total']:,} calls, "
            f"{d['baseline_wall_seconds']:.1f} s here; on AWS, Route 53's request bucket (burst "
            f"50, 10/s) adds {d['baseline_throttled_seconds']:.0f} s to it, "
            f"{d['throttled_seconds']:.0f} s to dns-flip | |")
    e = res.get("ecs")
    if e:
        lines.append(
            f"| {e['services']} ECS services ÷ the slowest single one ≤ 1.1 | {e['ratio']:.3f} "
            f"({e['all_services_seconds']:.2f} s vs {e['one_service_seconds']:.2f} s; ramp "
            f"{e['task_start_seconds']:.0f} s; median of {e['reps']}) | {verdict(e['ratio'] <= 1.1)} |")
    if o and "plans" in o and det:
        lines += anchor_table(o, det)
    return "\n".join(lines) + "\n"


def anchor_table(o: dict[str, Any], det: dict[str, Any]) -> list[str]:
    """Outage -> traffic verified for each plan: lifeboat measured, beside ARC Region switch's
    documented block sequence and the seed's sequential Lambda at the same durations, each with
    the same detection (lifeboat's canary, a silent primary) so that only the orchestration
    differs."""
    det_median = det["cases"]["cadence_silent"]["median"]
    lines = ["", f"Outage → traffic verified, against anchors (time scale {o['time_scale']}; each "
             f"row's detection is lifeboat's canary for a silent primary, median "
             f"{det_median:.1f} s; promotion, scale-up and the resolvers' TTL as in the table "
             "above; ARC Region switch and the seed are computed from their documented sequence, "
             "with no orchestration overhead: a lower bound for them):", "",
             "| Plan | lifeboat, measured | ARC Region switch, parallel block then routing "
             "control | ARC Region switch, blocks in sequence | the seed's sequential Lambda |",
             "|---|---|---|---|---|"]
    for label, p in o["plans"].items():
        a = {k: median([s["anchors"][k] for s in p["samples"]]) for k in p["samples"][0]["anchors"]}
        lines.append(
            f"| {label} | {det_median + p['rto_median']:.1f} s | "
            f"{det_median + a['arc_parallel']:.1f} s | {det_median + a['arc_sequential']:.1f} s | "
            f"{det_median + a['seed_sequential']:.1f} s |")
    c = det["cases"]
    lines += ["", f"Detection anchors: lifeboat's canary median {c['cadence_silent']['median']:.1f} s, "
              f"max {c['cadence_silent']['max']:.1f} s (silent primary); Route 53 health checks "
              "10 s × 3 failures = 30 s; the CloudWatch alarm on 2 of 2 one-minute periods "
              "60–180 s (the path before issue 21, kept as corroboration)."]
    return lines


def write_results(res: dict[str, Any]) -> str:
    out = TARGET / "bench/results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    tbl = table(res)
    notes = ROOT / "bench/NOTES.md"
    doc = ["# lifeboat benchmark results", "",
           "Written by `make bench` (scripts/bench.py); the raw figures are in "
           "`target/bench/results.json`. Medians of interleaved runs; ratios are measured in the "
           "same run.", "", tbl]
    if notes.exists():
        doc += ["", notes.read_text()]
    (ROOT / "bench/RESULTS.md").write_text("\n".join(doc))
    return tbl


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="lifeboat's benchmarks (make bench)")
    p.add_argument("--runs", type=int, default=20, help="cold starts per subject (default 20)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections (default all: {','.join(SECTIONS)})")
    p.add_argument("--drill-runs", type=int, default=1,
                   help="orchestration drills (default 1; each takes about 3.5 min at scale 1.0)")
    p.add_argument("--drill-time-scale", type=float, default=1.0,
                   help="simulated AWS durations x this in the orchestration drill (default 1.0)")
    p.add_argument("--zones", type=int, default=10)
    p.add_argument("--records", type=int, default=100, help="records per zone")
    p.add_argument("--services", type=int, default=50)
    p.add_argument("--ecs-reps", type=int, default=3)
    p.add_argument("--release-dir", type=Path, default=TARGET / "release")
    p.add_argument("--debug-dir", type=Path, default=TARGET / "debug")
    p.add_argument("--no-write", action="store_true",
                   help="print only (do not write bench/RESULTS.md)")
    p.add_argument("--rewrite", action="store_true",
                   help="measure nothing: write bench/RESULTS.md again "
                        "from the last run's target/bench/results.json (after editing "
                        "bench/NOTES.md)")
    args = p.parse_args(argv)
    if args.rewrite:
        last = TARGET / "bench/results.json"
        if not last.is_file():
            say(f"bench: {last} does not exist: run the benchmarks first")
            return 2
        try:
            res_last = json.loads(last.read_text())
        except ValueError as exc:
            say(f"bench: {last} is not a results file: {exc}")
            return 2
        try:
            print(write_results(res_last))
        except (KeyError, TypeError, IndexError) as exc:
            say(f"bench: {last} lacks a figure the table needs ({exc!r}): run the benchmarks again")
            return 2
        return 0
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown or args.runs < 1 or args.drill_runs < 1 or args.ecs_reps < 1:
        p.error(f"bad arguments: unknown sections {sorted(unknown)}" if unknown else
                "counts must be >= 1")
    needed = [args.release_dir / f for f in FUNCTIONS + [FLOOR]] + [args.debug_dir / "lifeboat-seed"]
    missing = [str(m) for m in needed if not m.exists()]
    if missing:
        say(f"bench: missing binaries: {', '.join(missing)} (make bench builds them)")
        return 2
    work = TARGET / "bench/work"
    work.mkdir(parents=True, exist_ok=True)
    (work / "functions.log").write_bytes(b"")
    res: dict[str, Any] = {"date": datetime.date.today().isoformat(), "machine": machine()}
    t0 = time.monotonic()
    try:
        if "sizes" in only:
            res["sizes"] = sizes(args.release_dir)
        if "cold-start" in only:
            say(f"cold start: {len(FUNCTIONS) + 2} subjects x {args.runs} runs, interleaved")
            res["cold-start"] = cold_starts(args.runs, args.release_dir, args.debug_dir, work)
        if "instructions" in only:
            say("instructions to init, under callgrind")
            res["instructions"] = init_instructions(args.release_dir, args.debug_dir, work)
        if "dns" in only:
            say(f"dns: {args.zones} zones x {args.records} records")
            res["dns"] = dns(args.zones, args.records, 0.05, args.release_dir, args.debug_dir, work)
        if "ecs" in only:
            say(f"ecs: 1 vs {args.services} services x {args.ecs_reps} reps")
            res["ecs"] = ecs(args.services, args.ecs_reps, 0.1, args.release_dir, args.debug_dir,
                             work)
        if "detection" in only:
            say("detection: 60 outages over the minute, core's rule on the template's cadence")
            res["detection"] = detection(60, args.debug_dir)
        if "orchestration" in only:
            say(f"orchestration: {args.drill_runs} drill(s) at time scale {args.drill_time_scale}")
            res["orchestration"] = orchestration(
                args.drill_runs, args.drill_time_scale,
                bench_bin_dir(args.release_dir, args.debug_dir))
    except (BenchError, drill_mod.DrillError) as exc:
        say(f"bench: {exc}")
        say(f"logs: {work / 'functions.log'}")
        return 1
    res["seconds"] = time.monotonic() - t0
    tbl = table(res) if args.no_write else write_results(res)
    print(tbl)
    if not args.no_write:
        print(f"written: bench/RESULTS.md, {TARGET / 'bench/results.json'}")
    return 0

