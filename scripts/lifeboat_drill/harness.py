"""The drill's harness: the names the emulated stack shares with infra/template.yaml, the shop's
health endpoints, and the processes (the emulated AWS, the Lambda APIs, the functions) with the
clients and checks every course uses (least privilege, the operator's CLI, EMF to metrics)."""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import template

if TYPE_CHECKING:
    from .vendor_dns import VendorDomain

ROOT = template.ROOT
ACCOUNT = template.ACCOUNT
EAST, WEST = "us-east-1", "us-west-2"
# The emulated stack's names, as infra/template.yaml gives them for its parameters' defaults.
_STACK = template.Context(template.load_template())
APP = _STACK.parameter("AppName")
CANARY_BUS = _STACK.ref("CanaryBus")
FAILOVER_STATE_MACHINE = _STACK.resolve(
    _STACK.template["Resources"]["FailoverStateMachine"]["Properties"]["Name"])
FAILBACK_STATE_MACHINE = _STACK.resolve(
    _STACK.template["Resources"]["FailbackStateMachine"]["Properties"]["Name"])
PLAN_PARAMETER = _STACK.resolve(
    _STACK.template["Globals"]["Function"]["Environment"]["Variables"]["LIFEBOAT_PLAN_PARAMETER"])
LINK_SECRET_PARAMETER = _STACK.parameter("LinkSecretParameterName")
# What infra/template.yaml deploys: its functions (binaries), and which function each of the
# state machines' DefinitionSubstitutions names.
FUNCTIONS = template.functions(_STACK.template)
SUBSTITUTIONS = template.function_substitutions(_STACK.template)
# What a compromised or broken health endpoint might answer: a Slack broadcast, a disguised
# link, an ANSI escape, a right-to-left override, a zero-width space, and a lot of it.
HOSTILE_BODY = ("<!channel> <https://evil.example|Approve> \x1b[31m\u202egnp.exe\u200b "
                + "A" * 200_000)
# The primary's services that go dark: its regional services, the ARC cluster endpoint there,
# and Route 53's control plane, which lives in us-east-1 (the example plan's routing controls do
# not need it; a record UPSERT would).
OUTAGE_SERVICES = ["rds", "db-endpoint", "ecs", "autoscaling", "monitoring", "sns", "sqs", "ssm", "states",
                   "lambda", "events", "elasticloadbalancing", "arc", "route53"]


def function_key(fn: str, region: str) -> str:
    """The access key a function signs with (iam_check.access_key): the home copy's in us-east-1."""
    import iam_check
    return iam_check.access_key(fn, region == EAST)


class DrillError(Exception):
    """The drill could not set up or lost a part (not a product failure)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DrillError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


# --------------------------------------------------------------------------------------------
# The shop's health endpoints


class ShopServer:
    """Health endpoints per region; the public name answers from where Route 53 points."""

    def __init__(self, route53: Any, zone_id: str) -> None:
        self.broken: set[str] = set()
        # Regions whose health endpoint answers HOSTILE_BODY (hostile-text).
        self.hostile: set[str] = set()
        self.route53 = route53
        self.zone_id = zone_id
        self.requests = 0
        # Resolvers keep an answer this long (s) after Route 53 changed it (verify-waits).
        self.cache_seconds = 0.0
        self._cached: tuple[str | None, float] = (None, 0.0)
        # Mode routing_control: the emulator's ARC cluster as Route 53 sees it, and each
        # region's routing controls (set by use_routing_controls).
        self.arc_url: str | None = None
        self.controls: dict[str, list[str]] = {}
        # Where www resolves when the shop's DNS is not Route 53's (the DigitalOcean stack).
        self.resolver: Callable[[], str | None] | None = None
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                status, body = shop.answer(self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def region_answer(self, region: str) -> tuple[int, str]:
        if region in self.hostile:
            # answers, but not as the plan expects, with text aimed at the person who approves
            return 200, HOSTILE_BODY
        if region in self.broken:
            return 503, "unavailable"
        return 200, f"ok region={region}"

    def answer(self, path: str) -> tuple[int, str]:
        self.requests += 1
        if path == "/use1/healthz":
            return self.region_answer(EAST)
        if path == "/usw2/healthz":
            return self.region_answer(WEST)
        if path == "/www/healthz":
            region = self.resolved_region()
            return self.region_answer(region) if region else (502, "www resolves nowhere")
        return 404, "not found"

    def resolved_region(self) -> str | None:
        """What a resolver answers: Route 53's record, or, for `cache_seconds` after the record
        changed, the answer it had cached before."""
        now_region = self.www_region()
        cached, changed_at = self._cached
        if self.cache_seconds <= 0 or cached is None or now_region == cached:
            self._cached = (now_region, 0.0)
            return now_region
        if not changed_at:
            self._cached = (cached, time.monotonic())
            return cached
        if time.monotonic() - changed_at >= self.cache_seconds:
            self._cached = (now_region, 0.0)
            return now_region
        return cached

    def use_routing_controls(self, arc_url: str, controls: dict[str, list[str]]) -> None:
        self.arc_url = arc_url
        self.controls = controls

    def www_region(self) -> str | None:
        if self.resolver is not None:
            return self.resolver()
        if self.arc_url:
            return self.arc_region()
        records = self.route53.list_resource_record_sets(
            HostedZoneId=self.zone_id, StartRecordName="www.shop.example.com", MaxItems="1"
        )["ResourceRecordSets"]
        for r in records:
            if r["Name"].rstrip(".") == "www.shop.example.com":
                value = r["ResourceRecords"][0]["Value"]
                return EAST if "use1" in value else WEST if "usw2" in value else None
        return None

    def arc_region(self) -> str | None:
        """Route 53 failover records for www: PRIMARY to us-east-1, SECONDARY to us-west-2, each
        with a health check of type RECOVERY_CONTROL on its region's routing controls (healthy
        while they are On). Route 53 answers the primary while it is healthy, else the secondary
        while it is healthy, else the primary (when every record is unhealthy Route 53 answers as
        if all were healthy)."""
        with urllib.request.urlopen(self.arc_url, timeout=5) as resp:  # noqa: S310 - loopback
            states = {c["arn"]: c["state"] for c in json.load(resp)["routing_controls"].values()}
        healthy = [r for r in (EAST, WEST)
                   if self.controls.get(r) and all(states.get(a) == "On" for a in self.controls[r])]
        return healthy[0] if healthy else EAST

    def stop(self) -> None:
        self.server.shutdown()


# --------------------------------------------------------------------------------------------
# The drill


@dataclass
class Outcome:
    scenario: str
    approval: bool = True
    passed: bool = False
    verdict: str = ""
    run_id: str | None = None
    execution_arn: str | None = None
    status: str | None = None
    error: str | None = None
    report: dict[str, Any] | None = None
    states: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, str]] = field(default_factory=list)
    executions: int = 0
    # The IAM check (scripts/iam_check.py): calls evaluated, the table, calls denied.
    iam: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0
    broke_at: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    end_state: dict[str, Any] = field(default_factory=dict)
    # What the readiness function found before the outage (its scheduled evaluation).
    readiness: dict[str, Any] = field(default_factory=dict)
    # The way home (scenario failover): the failback run, and what it waited for first.
    failback: "Outcome | None" = None
    waited_for: list[str] = field(default_factory=list)



class Harness:
    """The processes and clients of one drill: the emulated AWS, the Lambda APIs, the functions."""

    def __init__(self, label: str, time_scale: float = 0.1, bin_dir: Path | None = None,
                 verbose: bool = True, keep: bool = False) -> None:
        if not 0 < time_scale <= 1:
            raise ValueError("--time-scale must be in (0, 1]")
        # Names the run (its IAM calls are saved under drill-<label>).
        self.scenario = label
        self.time_scale = time_scale
        self.bin_dir = bin_dir or Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
        self.verbose = verbose
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix="lifeboat-drill-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.t0 = time.monotonic()
        # the last lines said, verbose or not: a failed verdict carries them (a test's failure
        # message is then enough to see what the drill saw)
        self.said: collections.deque[str] = collections.deque(maxlen=8)
        self.shop: ShopServer | None = None
        self.endpoint = ""
        self.invoke_port = 0
        self.seeded: dict[str, Any] = {}
        self.failback_arn = ""
        self.emf_offset = 0
        self.stopping = threading.Event()
        self.lag_publisher: threading.Thread | None = None
        self.home_sm = ""
        self.home_failback_sm = ""
        # The shop's DNS at DigitalOcean or Linode (the contract-checked fake dns-flip reaches),
        # when the scenario's DNS is there
        self.dns: VendorDomain | None = None
        # What else the scenario started that stops with the drill (vendor fakes)
        self.stoppers: list[Callable[[], None]] = []
        # Provider secrets the scenario handed lifeboat (what -> value): check_logs finds none
        # of them in a log line
        self.secrets: dict[str, str] = {}

    def say(self, msg: str) -> None:
        line = f"[{time.monotonic() - self.t0:6.1f} s] {msg}"
        self.said.append(line)
        if self.verbose:
            print(line, flush=True)

    def client(self, service: str, region: str = WEST) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 2}, read_timeout=60),
        )

    def control(self, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        req = urllib.request.Request(
            self.endpoint + path,
            data=json.dumps(body or {}).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def spawn(self, args: list[str], log: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        fn = (env or {}).get("AWS_LAMBDA_FUNCTION_NAME")
        if env is not None and fn:
            # Each function signs with its own access key (its role, as IAM would see it): the
            # emulator records its calls for the IAM check, chaos aims faults at them.
            env = {**env, "AWS_ACCESS_KEY_ID": function_key(fn, env.get("AWS_REGION", WEST))}
        out = open(self.work / log, "ab")
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def check_binaries(self) -> None:
        missing = [f for f in FUNCTIONS + ["lifeboat-seed"] if not (self.bin_dir / f).exists()]
        if missing:
            raise DrillError(
                f"missing binaries in {self.bin_dir}: {', '.join(missing)} "
                "(run `cargo build --workspace --all-targets`, or use `make drill`)"
            )
        if not shutil.which("cargo-lambda") and not shutil.which("cargo"):
            raise DrillError("cargo lambda is not installed (make setup installs it)")

    def start_emulator(self) -> None:
        port_file = self.work / "emulator.port"
        self.spawn(
            [sys.executable, str(ROOT / "tests/emulator/server.py"), "--port", "0",
             "--port-file", str(port_file)],
            "emulator.log",
        )
        port = wait_for("the emulator", lambda: port_file.exists() and port_file.read_text(), 120)
        self.endpoint = f"http://127.0.0.1:{port}"

    def start_watch(self, log: str = "watch.log") -> int:
        """A Lambda API (cargo lambda watch) on a free port; the first is us-west-2's."""
        port = free_port()
        if not self.invoke_port:
            self.invoke_port = port
        self.spawn(
            ["cargo", "lambda", "watch", "--only-lambda-apis", "--invoke-address", "127.0.0.1",
             "--invoke-port", str(port)],
            log,
        )

        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_for(f"cargo lambda watch on 127.0.0.1:{port}", listening, 120)
        return port

    @property
    def approval_url(self) -> str:
        return f"http://127.0.0.1:{self.invoke_port}/lambda-url/failover-approval/"

    def seed(self, lag_ms: float) -> dict[str, Any]:
        out = subprocess.run(
            [str(self.bin_dir / "lifeboat-seed"), self.endpoint, str(lag_ms)],
            capture_output=True, text=True, timeout=300, cwd=ROOT,
        )
        if out.returncode != 0:
            raise DrillError(f"seeding failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout)

    def plan(self) -> dict[str, Any]:
        import yaml

        text = self.client("ssm").get_parameter(Name=PLAN_PARAMETER)["Parameter"]["Value"]
        return yaml.safe_load(text)

    def put_plan(self, plan: dict[str, Any]) -> None:
        self.client("ssm").put_parameter(
            Name=PLAN_PARAMETER, Value=json.dumps(plan), Type="String", Overwrite=True
        )

    def lifeboat(self, *args: str, region: str = WEST) -> tuple[int, dict[str, Any]]:
        """The operator's CLI, against the emulated us-west-2 (the copy serving the shop) unless
        another copy's region is named."""
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        done = subprocess.run(
            [str(self.bin_dir / "lifeboat"), "--endpoint-url", self.endpoint, "--region", region,
             "--json", *args],
            capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
        )
        try:
            return done.returncode, json.loads(done.stdout)
        except json.JSONDecodeError:
            raise DrillError(f"lifeboat {' '.join(args)}: exit {done.returncode}: {done.stderr[-800:]}")

    def emf_to_metrics(self) -> int:
        """What CloudWatch Logs does with the functions' EMF lines: turn them into metrics (in
        us-west-2, where the canary runs)."""
        path = self.work / "functions.log"
        if not path.exists():
            return 0
        with path.open("rb") as f:
            f.seek(self.emf_offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self.emf_offset += end
        data = []
        for line in chunk[:end].decode(errors="replace").splitlines():
            if not line.startswith("{") or '"_aws"' not in line:
                continue
            doc = json.loads(line)
            meta = doc["_aws"]
            for directive in meta["CloudWatchMetrics"]:
                for dims in directive["Dimensions"]:
                    for metric in directive["Metrics"]:
                        data.append((directive["Namespace"], {
                            "MetricName": metric["Name"],
                            "Dimensions": [{"Name": d, "Value": str(doc[d])} for d in dims],
                            "Timestamp": meta["Timestamp"] / 1000.0,
                            "Value": float(doc[metric["Name"]]),
                        }))
        cw = self.client("cloudwatch", WEST)
        for ns, datum in data:
            cw.put_metric_data(Namespace=ns, MetricData=[datum])
        return len(data)

    def stack_parameters(self) -> dict[str, str]:
        """The stack's parameters that are not the template's defaults, as deployed for the
        seeded shop: its hosted zone (HostedZoneId, which scopes the record mode's statements);
        on the Linode stack, the DNS provider's token parameter is Linode's."""
        zone = self.shop.zone_id if self.shop else self.seeded.get("zone_id")
        out = {"HostedZoneId": zone} if zone else {}
        if self.dns is not None and self.dns.api_url_env == "LIFEBOAT_LINODE_API_URL":
            from .linode import TOKEN_PARAMETER
            out["DnsProviderTokenParameterName"] = TOKEN_PARAMETER
        return out

    def enforce_roles(self) -> None:
        """Each function's calls are recorded, and judged at the moment they are made by its
        own role from infra/template.yaml with the stack's parameters (the emulator answers
        AccessDenied as AWS does)."""
        import iam_check
        try:
            policies = iam_check.policies_by_key(parameters=self.stack_parameters())
        except (iam_check.IamError, iam_check.TemplateError) as e:
            raise DrillError(str(e)) from e
        self.control("/_lifeboat/iam", {"record": iam_check.KEY_PREFIX, "policies": policies})

    def iam_source(self) -> str:
        """Names the run whose calls are saved for make iam-report."""
        return f"drill-{self.scenario}"

    def check_iam(self, out: Outcome) -> None:
        """Least privilege, executed: every call each function made (its own access key) is
        evaluated against its role from infra/template.yaml by an IAM policy simulator. A denied
        call fails the drill with the function, action and resource."""
        import iam_check
        recorded = self.control("/_lifeboat/iam", None, "GET")
        calls = recorded["calls"]
        try:
            rows, problems = iam_check.check(calls, parameters=self.stack_parameters())
        except (iam_check.IamError, iam_check.TemplateError) as e:
            raise DrillError(str(e)) from e
        # the emulator refused these at the moment of the call (moto's evaluator); the
        # simulator above judges the same calls again: a disagreement shows as both lines
        problems += [f"REFUSED AT THE CALL {d['access_key']} {d['service']}:{d['operation']} in "
                     f"{d['region']}: {d['message']}" for d in recorded.get("denied", [])]
        out.iam = {"calls": sum(r.calls for r in rows), "table": iam_check.table(rows),
                   "problems": problems}
        if problems:
            out.passed = False
            out.verdict += f"; IAM: {'; '.join(problems[:5])}"

    def save_iam_calls(self) -> None:
        """Every call the functions made in this run, kept for make iam-report (the union over
        the drill's scenarios, the chaos set and make drill), whatever the run checked itself."""
        if not self.endpoint:
            return
        import iam_check
        try:
            calls = self.control("/_lifeboat/iam", None, "GET")["calls"]
        except (OSError, ValueError, KeyError) as e:
            print(f"iam: this run's calls could not be saved for make iam-report: {e}", file=sys.stderr)
            return
        if calls:
            iam_check.save_calls(calls, self.iam_source(), parameters=self.stack_parameters())

    def stop(self) -> None:
        self.save_iam_calls()
        self.stopping.set()
        if self.lag_publisher is not None:
            self.lag_publisher.join(timeout=10)
        if self.shop:
            self.shop.stop()
        if self.dns:
            self.dns.stop()
        for stop in self.stoppers:
            stop()
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        if self.keep:
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def logs(self, name: str) -> str:
        path = self.work / name
        return path.read_text(errors="replace") if path.exists() else ""
