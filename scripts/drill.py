#!/usr/bin/env python3
"""lifeboat's local failover drill: the real product against an emulated two-region AWS.

    make drill [ARGS="--scenario approval-rejected --time-scale 0.05"]
    .venv/bin/python scripts/drill.py [--scenario NAME] [--no-approval] [--time-scale F]
                                      [--report FILE] [--json FILE] [--keep]

What it sets up (all on 127.0.0.1):
  * the emulated AWS (tests/emulator/server.py: moto + lifeboat's extensions), with Step Functions
    executing state machines and Lambda invocations forwarded to the real function binaries;
  * the Lambda Runtime and Invoke APIs (``cargo lambda watch --only-lambda-apis``) and every
    function's debug binary attached to it, configured as infra/template.yaml configures them;
  * the two-region shop (``lifeboat-seed``: Aurora global database written in us-east-1, hosted
    zone and records, ECS services and Auto Scaling groups at standby capacity in us-west-2, the
    topic with a subscribed inbox, the plan in SSM) and what ``sam deploy`` creates in us-west-2:
    the functions, the failover state machine from infra/statemachine/failover.asl.json (its
    DefinitionSubstitutions filled in), the EventBridge rule that sends the canary's events and
    the plan's alarms to alarm-to-failover;
  * the shop's health endpoints: /use1/healthz, /usw2/healthz, and /www/healthz, which answers
    from whichever region Route 53 sends www.shop.example.com to.

Then it breaks the primary (us-east-1's regional services and its health endpoint) and lets the
product work: the canary (health-probe, invoked as its schedule would) finds the primary down,
its event reaches alarm-to-failover through EventBridge, which starts the run; the state machine
asks for approval, the drill reads the e-mail in the inbox and opens the signed link (GET), then
confirms (POST), as a person would; then promotion || scale-up, DNS, verify, record, notify.

Scenarios (--scenario): see SCENARIOS below (or --help). Exit status 0 when the scenario behaved as named, 1 when not, 2 on
bad usage or when the drill could not set up.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import io
import json
import math
import os
import re
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
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

# scripts/: iam_check, cfn_template (and this module, for bench.py and chaos.py)
sys.path.insert(0, str(Path(__file__).resolve().parent))
import cfn_template  # noqa: E402
ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
# infra/template.yaml's CanaryBus (lifeboat-${AppName}-canary)
CANARY_BUS = "lifeboat-shop-canary"
EAST, WEST = "us-east-1", "us-west-2"
APP = "shop"
# infra/template.yaml's state machine names (lifeboat-${AppName}-...): the roles name them.
FAILOVER_STATE_MACHINE = f"lifeboat-{APP}-failover"
FAILBACK_STATE_MACHINE = f"lifeboat-{APP}-failback"
PLAN_PARAMETER = "/lifeboat/shop/plan"
LINK_SECRET_PARAMETER = "/lifeboat/shop/approval-link-secret"
# What infra/template.yaml deploys: its functions (binaries) and which function each of the
# state machines' DefinitionSubstitutions names (scripts/cfn_template.py reads it).
_TEMPLATE = cfn_template.load_template()
FUNCTIONS = cfn_template.functions(_TEMPLATE)
SUBSTITUTIONS = cfn_template.function_substitutions(_TEMPLATE)
SCENARIOS = {
    "failover": "the primary goes dark; a person approves; the shop is served from us-west-2",
    "lag-above-guard": "replication lag is above the RPO guard: refused, announced once, nothing moves",
    "stale-lag": "the newest lag datapoint is 4 minutes old (guard 30 s): the lag counts as unknown; refused, announced once, nothing moves",
    "approval-rejected": "the person rejects: the run is aborted, nothing moves",
    "approval-timeout": "nobody answers within the plan's timeout (abort): nothing moves",
    "approval-timeout-proceed": "nobody answers; the plan proceeds once the outage is confirmed for its minutes",
    "promotion-fails": "RDS cancels the promotion: the failure path notifies, traffic untouched",
    "alarm-storm": "the canary and EventBridge deliver 30 events at once: one run, one page",
    "override-data-loss": "lag above the guard: refused without the flag; `lifeboat failover --allow-data-loss`, a person approves, failover with data loss",
    "approved-mode-changes": "a switchover is approved, then the primary's database goes dark: lifeboat asks again for the failover",
    "manual-after-abort": "the person rejects; at once an operator runs `lifeboat failover`: its own run, approved, succeeds",
    "retry-after-reject": "the person rejects; the canary fires again in the same incident window: a new attempt runs",
    "stop-while-approval": "an operator stops the execution while it waits for approval: recorded, lock freed, one notice",
    "stale-lock": "a lock left by a closed execution; the primary goes dark: the run takes it over and says so",
    "verify-waits": "resolvers serve the old address for a while after the flip: verify tries again and passes",
    "hostile-text": "us-east-1's health endpoint answers a hostile body: the approval e-mail and the report show it inert and bounded; approved, the run succeeds",
    "forged-probe": "during a mute of the failover alarm, forged canary events (one an hour old, one of now) are put on the bus: no run",
    "canary-silent": "the canary goes silent, then us-east-1 goes dark: the emulated CloudWatch evaluates the template's alarms; the canary-silent alarm pages a person, the failover alarm stays OK (missing data is not breaching): no run",
    "control-plane-only": "us-east-1's RDS API goes dark while its database endpoint and health endpoints serve; the failover alarm fires: refused (no failover with data loss), announced once, nothing moves",
    "old-region-returns": "a failover with data loss (us-east-1 fenced as far as reachable: unreachable, recorded); us-east-1 comes back at active capacity: its own copy fences it and says so, starts no run",
    "home-copy-alarm": "after a failover, us-east-1's own copy gets its alarm: refused (a failback, not a failover); `lifeboat failback` from us-west-2 brings the shop home",
}
# Scenarios that deploy a copy of lifeboat in us-east-1 too (the home region's own copy).
HOME_COPY_SCENARIOS = {"old-region-returns", "home-copy-alarm"}
# The functions of the home copy the drill runs (as the template deploys them in us-east-1).
HOME_COPY = ["alarm-to-failover", "dr-scale-up", "dns-flip"]
# What a compromised or broken health endpoint might answer: a Slack broadcast, a disguised
# link, an ANSI escape, a right-to-left override, a zero-width space, and a lot of it.
HOSTILE_BODY = ("<!channel> <https://evil.example|Approve> \x1b[31m\u202egnp.exe\u200b "
                + "A" * 200_000)
# The primary's services that go dark: its regional services, the ARC cluster endpoint there,
# and Route 53's control plane, which lives in us-east-1 (the example plan's routing controls do
# not need it; a record UPSERT would).
OUTAGE_SERVICES = ["rds", "db-endpoint", "ecs", "autoscaling", "monitoring", "sns", "sqs", "ssm", "states",
                   "lambda", "events", "elasticloadbalancing", "arc", "route53"]


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


class Drill:
    def __init__(
        self,
        scenario: str = "failover",
        approval: bool = True,
        time_scale: float = 0.1,
        bin_dir: Path | None = None,
        verbose: bool = True,
        keep: bool = False,
        go_home: bool = True,
        execution_timeout_seconds: int | None = None,
        lag_ms: float | None = None,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
        if not 0 < time_scale <= 1:
            raise ValueError("--time-scale must be in (0, 1]")
        self.scenario = scenario
        if not approval and scenario.startswith("approval-"):
            raise ValueError(f"scenario {scenario} needs the approval step (drop --no-approval)")
        self.approval = approval
        self.time_scale = time_scale
        self.bin_dir = bin_dir or Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
        self.verbose = verbose
        self.keep = keep
        self.go_home = go_home
        # Deploy the failover machine with this TimeoutSeconds instead of the template's
        # (a misconfigured machine: the safety net must still record and announce the run).
        self.execution_timeout_seconds = execution_timeout_seconds
        # The replication lag the emulated CloudWatch holds (ms); negative: no datapoint at all
        # (the lag is unknown). None: the scenario's own.
        self.lag_ms = lag_ms
        self.work = Path(tempfile.mkdtemp(prefix="lifeboat-drill-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.t0 = time.monotonic()
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

    # -- output
    def say(self, msg: str) -> None:
        if self.verbose:
            print(f"[{time.monotonic() - self.t0:6.1f} s] {msg}", flush=True)

    # -- AWS clients
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

    # -- set-up
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

    def deploy(self, state_machine_arn: str) -> None:
        """What `sam deploy` creates in us-west-2, as the emulator can hold it."""
        iam = self.client("iam")
        role = iam.create_role(
            RoleName="lifeboat-drill-function",
            AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                               "Action": "sts:AssumeRole"}]}),
        )["Role"]["Arn"]
        lam = self.client("lambda")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "runs under cargo lambda watch")
        arns: dict[str, str] = {}
        for fn in FUNCTIONS:
            arns[fn] = lam.create_function(
                FunctionName=fn, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                Architectures=["arm64"], Code={"ZipFile": code.getvalue()}, Timeout=60,
            )["FunctionArn"]
        definition = (ROOT / "infra/statemachine/failover.asl.json").read_text()
        values = {k: arns[fn] for k, fn in SUBSTITUTIONS.items()}
        values["ApprovalUrl"] = self.approval_url
        definition = substitute(definition, values)
        if self.execution_timeout_seconds is not None:
            doc = json.loads(definition)
            doc["TimeoutSeconds"] = self.execution_timeout_seconds
            definition = json.dumps(doc)
        sfn = self.client("stepfunctions")
        sfn.update_state_machine(stateMachineArn=state_machine_arn, definition=definition)
        failback = substitute((ROOT / "infra/statemachine/failback.asl.json").read_text(), values)
        self.failback_arn = sfn.create_state_machine(
            name=FAILBACK_STATE_MACHINE, definition=failback, roleArn=role
        )["stateMachineArn"]
        events = self.client("events")
        plan = self.plan()
        # infra/template.yaml's CanaryBus: the canary's reports have a bus of their own; the rule
        # for them listens there alone (a report on the default bus starts nothing).
        events.create_event_bus(Name=CANARY_BUS)
        for name, pattern in trigger_patterns(plan["triggers"]["alarms"]).items():
            bus = CANARY_BUS if name == "lifeboat-canary-event" else "default"
            events.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=bus)
            events.put_targets(
                Rule=name, EventBusName=bus,
                Targets=[{"Id": "alarm-to-failover", "Arn": arns["alarm-to-failover"]}]
            )
        # infra/template.yaml's RunLedger ExecutionClosed rule: the safety net for executions
        # that close without recording their run
        events.put_rule(Name="lifeboat-execution-closed", EventPattern=json.dumps({
            "source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
            "detail": {"stateMachineArn": [state_machine_arn, self.failback_arn],
                       "status": ["FAILED", "TIMED_OUT", "ABORTED"]},
        }))
        events.put_targets(Rule="lifeboat-execution-closed",
                           Targets=[{"Id": "run-ledger", "Arn": arns["run-ledger"]}])

    def function_env(self, state_machine_arn: str, failback_arn: str | None = None) -> dict[str, str]:
        """What infra/template.yaml configures for every function, pointed at the emulator
        (the Runtime API's variables left out). `failback_arn`: the failback machine's, when the
        drill has not deployed it (default: the one `set_up` created)."""
        return {
            "AWS_REGION": WEST,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LIFEBOAT_AWS_MAX_ATTEMPTS": "2",
            "LIFEBOAT_PLAN_PARAMETER": PLAN_PARAMETER,
            "LIFEBOAT_PEER_REGION": EAST,
            "LIFEBOAT_EVENT_BUS": CANARY_BUS,
            # infra/template.yaml's IAM scopes, as its defaults and the seeded zone give them
            "LIFEBOAT_SCOPE_ECS_CLUSTER": "shop",
            "LIFEBOAT_SCOPE_ASG_PREFIX": "shop-",
            "LIFEBOAT_SCOPE_HOSTED_ZONE": self.shop.zone_id if self.shop else "",
            "LIFEBOAT_SCOPE_BUCKET_PREFIX": "shop-",
            "LIFEBOAT_STATE_MACHINE_ARN": state_machine_arn,
            "LIFEBOAT_FAILBACK_STATE_MACHINE_ARN": failback_arn or self.failback_arn,
            "LIFEBOAT_LINK_SECRET_PARAMETER": LINK_SECRET_PARAMETER,
            "LIFEBOAT_TOPIC_ARN": f"arn:aws:sns:{WEST}:{ACCOUNT}:lifeboat-{APP}",
            "LIFEBOAT_PROBE_INTERVAL_MS": "50",
            "LIFEBOAT_PROBE_TIMEOUT_MS": "2000",
            "LIFEBOAT_POLL_SECONDS": "1",
            # Each step's deadline: 10 simulated minutes (at least 2 real ones).
            "LIFEBOAT_STEP_DEADLINE_SECONDS": str(max(120, math.ceil(600 * self.time_scale))),
            "RUST_LOG": "info",
        }

    def start_functions(self, state_machine_arn: str) -> None:
        for fn in FUNCTIONS:
            env = {
                "PATH": os.environ.get("PATH", ""),
                "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.invoke_port}/.rt/{fn}",
                "AWS_LAMBDA_FUNCTION_NAME": fn,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "AWS_LAMBDA_LOG_STREAM_NAME": "drill",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn}",
                **self.function_env(state_machine_arn),
            }
            self.spawn([str(self.bin_dir / fn)], "functions.log", env)

    def deploy_home_copy(self, plan: dict[str, Any], state_machine_arn: str) -> None:
        """The copy of lifeboat in us-east-1 (the template deployed there): its plan, its failover
        machine (any execution there is a run this copy started), its functions, behind their own
        Lambda APIs (a second cargo lambda watch; the emulator's lambda.region_forward_urls)."""
        home_port = self.start_watch(log="watch-home.log")
        self.control("/_lifeboat/config", {
            "lambda": {"region_forward_urls": {EAST: f"http://127.0.0.1:{home_port}"}}})
        self.deploy_home_machines(plan)
        role = self.client("iam").get_role(RoleName="lifeboat-drill-function")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "runs under cargo lambda watch")
        lam = self.client("lambda", EAST)
        for fn in HOME_COPY:
            lam.create_function(
                FunctionName=fn, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                Architectures=["arm64"], Code={"ZipFile": code.getvalue()}, Timeout=60)
            env = {
                "PATH": os.environ.get("PATH", ""),
                "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{home_port}/.rt/{fn}",
                "AWS_LAMBDA_FUNCTION_NAME": fn,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "AWS_LAMBDA_LOG_STREAM_NAME": "drill-home",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn}",
                **self.function_env(state_machine_arn),
                "AWS_REGION": EAST,
                "LIFEBOAT_PEER_REGION": WEST,
                "LIFEBOAT_STATE_MACHINE_ARN": self.home_sm,
                "LIFEBOAT_FAILBACK_STATE_MACHINE_ARN":
                    f"arn:aws:states:{EAST}:{ACCOUNT}:stateMachine:{FAILBACK_STATE_MACHINE}",
                "LIFEBOAT_TOPIC_ARN": f"arn:aws:sns:{EAST}:{ACCOUNT}:lifeboat-{APP}",
            }
            self.spawn([str(self.bin_dir / fn)], "functions.log", env)

    def deploy_home_machines(self, plan: dict[str, Any]) -> None:
        """The home copy's plan and state machines in us-east-1, as the template deploys them
        there. Any execution of these machines is a run the home copy started (each a Pass)."""
        if self.home_sm:
            return
        self.client("ssm", EAST).put_parameter(
            Name=PLAN_PARAMETER, Value=json.dumps(plan), Type="String", Overwrite=True)
        role = self.client("iam").get_role(RoleName="lifeboat-drill-function")["Role"]["Arn"]
        sfn = self.client("stepfunctions", EAST)
        ran = {"StartAt": "Ran", "States": {"Ran": {"Type": "Pass", "End": True}}}
        self.home_sm = sfn.create_state_machine(
            name=FAILOVER_STATE_MACHINE, roleArn=role,
            definition=json.dumps({"Comment": "the home copy's failover machine", **ran}))["stateMachineArn"]
        self.home_failback_sm = sfn.create_state_machine(
            name=FAILBACK_STATE_MACHINE, roleArn=role,
            definition=json.dumps({"Comment": "the home copy's failback machine", **ran}))["stateMachineArn"]

    def home_copy(self, fn: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Invoke the home copy's function (through us-east-1's Lambda)."""
        resp = self.client("lambda", EAST).invoke(FunctionName=fn, Payload=json.dumps(payload))
        body = json.loads(resp["Payload"].read() or b"{}")
        if resp.get("FunctionError"):
            raise DrillError(f"home copy {fn} failed: {body}")
        return body

    def heal_primary(self) -> None:
        assert self.shop is not None
        self.control("/_lifeboat/outage", method="DELETE")
        self.shop.broken.discard(EAST)

    def plan(self) -> dict[str, Any]:
        import yaml

        text = self.client("ssm").get_parameter(Name=PLAN_PARAMETER)["Parameter"]["Value"]
        return yaml.safe_load(text)

    def put_plan(self, plan: dict[str, Any]) -> None:
        self.client("ssm").put_parameter(
            Name=PLAN_PARAMETER, Value=json.dumps(plan), Type="String", Overwrite=True
        )

    def set_up(self) -> dict[str, Any]:
        self.check_binaries()
        self.say("starting the emulated AWS, and the Lambda APIs (cargo lambda watch)")
        self.start_emulator()
        self.enforce_roles()
        self.start_watch()
        lag_ms = self.lag_ms if self.lag_ms is not None else (
            60_000.0 if self.scenario in ("lag-above-guard", "override-data-loss") else 800.0)
        if self.scenario == "stale-lag":
            lag_ms = -1.0  # only the old datapoint below
        lag = f"lag {lag_ms / 1000:.1f} s" if lag_ms >= 0 else "no fresh lag datapoint"
        self.say(f"seeding the two-region shop (primary us-east-1, {lag})")
        seeded = self.seed(lag_ms)
        if self.scenario == "stale-lag":
            self.put_lag(800.0, ago_seconds=240)
        elif lag_ms >= 0:
            # Aurora publishes the secondary's lag every minute; keep a fresh datapoint.
            self.lag_publisher = threading.Thread(target=self.publish_lag, args=(lag_ms,), daemon=True)
            self.lag_publisher.start()
        self.control("/_lifeboat/config", {
            "time_scale": self.time_scale,
            "lambda": {"forward_url": f"http://127.0.0.1:{self.invoke_port}"},
        })
        self.shop = ShopServer(self.client("route53", EAST), seeded["zone_id"])
        plan = self.plan()
        if plan["traffic"]["mode"] == "routing_control":
            self.shop.use_routing_controls(
                f"{self.endpoint}/_lifeboat/arc",
                {r: list(plan["regions"][r]["traffic"]["routing_control_arns"]) for r in (EAST, WEST)},
            )
        for region, short in ((EAST, "use1"), (WEST, "usw2")):
            plan["regions"][region]["health_endpoints"] = [{
                "url": f"{self.shop.base}/{short}/healthz", "expect_status": 200,
                "expect_body_contains": "ok", "timeout_ms": 1000}]
            plan["regions"][region]["public_checks"] = [{
                "url": f"{self.shop.base}/www/healthz", "expect_status": 200,
                "expect_body_contains": f"region={region}", "timeout_ms": 1000}]
        plan.setdefault("failback", {})["home_healthy_minutes"] = 1
        if not self.approval:
            plan["approval"]["required"] = False
        if self.scenario == "approval-timeout":
            plan["approval"]["timeout_minutes"] = 1
            plan["approval"]["on_timeout"] = "abort"
        if self.scenario == "retry-after-reject":
            # No pause between runs: a closed run's next trigger starts a new attempt.
            plan["triggers"]["min_seconds_between_runs"] = 0
        if self.scenario == "approval-timeout-proceed":
            plan["approval"]["timeout_minutes"] = 1
            plan["approval"]["on_timeout"] = "proceed"
            plan["approval"]["proceed_after_outage_minutes"] = 1
        self.put_plan(plan)
        self.say("deploying the stack into the emulated us-west-2 (functions, state machine, rule)")
        self.deploy(seeded["state_machine_arn"])
        self.start_functions(seeded["state_machine_arn"])
        if self.scenario in HOME_COPY_SCENARIOS:
            self.say("deploying the home copy into the emulated us-east-1 (" + ", ".join(HOME_COPY) + ")")
            self.deploy_home_copy(plan, seeded["state_machine_arn"])
        if self.scenario == "promotion-fails":
            self.control("/_lifeboat/faults", {"cancel_next_rds_operations": 1})
        if self.scenario == "verify-waits":
            # Resolvers keep the old answer for a while (the record's TTL, time-scaled).
            self.shop.cache_seconds = max(3.0, 60 * self.time_scale)
            self.shop._cached = (EAST, 0.0)
        return seeded

    # -- the scenario
    def put_lag(self, lag_ms: float, ago_seconds: float = 0.0) -> None:
        """A datapoint of us-west-2's AuroraGlobalDBReplicationLag, measured `ago_seconds` ago."""
        import datetime as dt
        self.client("cloudwatch").put_metric_data(Namespace="AWS/RDS", MetricData=[{
            "MetricName": "AuroraGlobalDBReplicationLag", "Value": lag_ms, "Unit": "Milliseconds",
            "Timestamp": dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=ago_seconds),
            "Dimensions": [{"Name": "DBClusterIdentifier", "Value": "shop-usw2"}]}])

    def publish_lag(self, lag_ms: float) -> None:
        while not self.stopping.wait(5.0):
            try:
                self.put_lag(lag_ms)
            except Exception:  # noqa: BLE001 - the emulator may be going away
                return

    def break_primary(self) -> None:
        assert self.shop is not None
        self.shop.broken.add(EAST)
        self.control("/_lifeboat/outage", {"region": EAST, "services": OUTAGE_SERVICES})

    def canary(self) -> dict[str, Any]:
        """Invoke health-probe as its schedule does (through Lambda)."""
        resp = self.client("lambda").invoke(
            FunctionName="health-probe",
            Payload=json.dumps(json.loads((ROOT / "events/health-probe/scheduled.json").read_text())),
        )
        body = json.loads(resp["Payload"].read() or b"{}")
        if resp.get("FunctionError"):
            raise DrillError(f"health-probe failed: {body}")
        return body

    def readiness(self, out: Outcome) -> None:
        """Invoke readiness as its schedule does, before anything breaks: would it work?"""
        resp = self.client("lambda").invoke(
            FunctionName="readiness",
            Payload=(ROOT / "events/readiness/scheduled.json").read_text(),
        )
        body = json.loads(resp["Payload"].read() or b"{}")
        if resp.get("FunctionError"):
            raise DrillError(f"readiness failed: {body}")
        findings = body["report"]["findings"]
        count = lambda sev: sum(1 for f in findings if f["severity"] == sev)  # noqa: E731
        critical = [f"{f['check']} {f['subject']}: {f['message']}"
                    for f in findings if f["severity"] == "critical"]
        out.readiness = {"ready": not critical, "ok": count("ok"), "warnings": count("warning"),
                         "critical": critical, "notified": body["notified"]}
        if critical:
            self.say(f"readiness (scheduled, before the outage): NOT READY — {'; '.join(critical)}"
                     f"{' (announced on the topic)' if body['notified'] else ''}")
        else:
            self.say(f"readiness (scheduled, before the outage): ready ({count('ok')} checks ok, "
                     f"{count('warning')} warnings)")

    def canary_event(self) -> dict[str, Any]:
        """The canary's report, as health-probe puts it on the canary's bus."""
        return {
            "EventBusName": CANARY_BUS,
            "Source": "lifeboat.probe",
            "DetailType": "Primary Unhealthy",
            "Detail": json.dumps({
                "app": APP, "probed_region": EAST, "failures": 3, "probes": 3,
                "evidence": ["use1/healthz: HTTP 503"],
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }),
        }

    def executions(self, sm: str) -> list[dict[str, Any]]:
        """A state machine's executions, asked in its own region (the ARN's)."""
        return self.client("stepfunctions", sm.split(":")[3]).list_executions(
            stateMachineArn=sm)["executions"]

    def inbox(self, queue_url: str, seen: list[dict[str, str]], region: str = WEST) -> list[dict[str, str]]:
        sqs = self.client("sqs", region)
        while True:
            msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return seen
            for m in msgs:
                body = json.loads(m["Body"])
                seen.append({"subject": body.get("Subject", ""), "message": body.get("Message", "")})
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

    def decide(self, message: str, decision: str) -> None:
        """Open the e-mail's link (GET: a confirmation page), then confirm (POST)."""
        label = "Approve:" if decision == "approve" else "Reject:"
        link = next((line[len(label):].strip() for line in message.splitlines()
                     if line.startswith(label)), None)
        if not link:
            raise DrillError(f"no {label} link in the approval e-mail")
        if not link.startswith(self.approval_url):
            raise DrillError("the approval link does not point at the approval function URL")
        with urllib.request.urlopen(link, timeout=30) as resp:
            page = resp.read().decode()
            if resp.status != 200 or "<form" not in page:
                raise DrillError(f"GET of the link: HTTP {resp.status}, no confirmation form")
        token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["t"][0]
        data = urllib.parse.urlencode({"t": token, "who": "Drill Operator"}).encode()
        with urllib.request.urlopen(urllib.request.Request(self.approval_url, data=data), timeout=30) as resp:
            if resp.status != 200:
                raise DrillError(f"POST of the decision: HTTP {resp.status}")

    def run(self) -> Outcome:
        out = Outcome(scenario=self.scenario, approval=self.approval)
        started = time.monotonic()
        try:
            seeded = self.set_up()
            self.seeded = seeded
            sm, inbox = seeded["state_machine_arn"], seeded["inbox_url"]
            out.timings["setup_seconds"] = time.monotonic() - started
            self.readiness(out)
            special = SPECIAL.get(self.scenario)
            if special is not None:
                special(self, out, sm, inbox)
                self.collect_end_state(out, seeded)
                self.check_logs(out)
                self.check_iam(out)
                return out
            self.say(f"breaking the primary: us-east-1 goes dark ({', '.join(OUTAGE_SERVICES[:4])}, ...; health endpoint 503)")
            self.break_primary()
            out.broke_at = time.time()
            if self.scenario in ("alarm-storm", "lag-above-guard", "stale-lag"):
                self.storm()
            else:
                probe = self.canary()
                self.say(f"canary: {probe.get('failures')} of {probe.get('probes')} probes of us-east-1 failed; event sent: {probe.get('event_sent')}")
            if self.scenario in ("lag-above-guard", "stale-lag"):
                self.expect_refusal(out, sm, inbox)
            else:
                self.follow(out, sm, inbox)
            self.collect_end_state(out, seeded)
            self.check_logs(out)
            if self.scenario == "failover" and self.go_home and out.passed:
                out.failback = self.failback(inbox)
                out.passed = out.failback.passed
                out.verdict += f"; failback: {out.failback.verdict}"
            self.check_iam(out)
        except DrillError as exc:
            out.passed = False
            out.verdict = f"drill could not run: {exc}"
            raise
        finally:
            out.wall_seconds = time.monotonic() - started
        return out

    def storm(self) -> None:
        """30 deliveries at once: 10 canary invocations and 20 copies of the canary's event."""
        events = self.client("events")
        threads = [threading.Thread(target=self.canary) for _ in range(10)]
        threads += [threading.Thread(target=lambda: events.put_events(Entries=[self.canary_event()]))
                    for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.say("storm: 10 canary runs and 20 EventBridge deliveries of its event, all at once")

    def expect_refusal(self, out: Outcome, sm: str, inbox: str) -> None:
        # Let every asynchronous delivery land, then look.
        time.sleep(3.0)
        out.notifications = wait_for(
            "the refusal notification", lambda: self.inbox(inbox, out.notifications), 30, 0.3
        )
        time.sleep(1.0)
        self.inbox(inbox, out.notifications)
        out.executions = len(self.executions(sm))
        refusals = [n for n in out.notifications if "refused" in n["subject"]]
        out.passed = out.executions == 0 and len(refusals) == 1
        if self.scenario == "stale-lag":
            # a lag of 0.8 s, but measured 4 minutes ago: it says nothing about the last minutes
            out.passed = out.passed and "replication lag is unknown" in refusals[0]["message"]
        out.verdict = (
            f"refused: {refusals[0]['subject'] if refusals else 'no refusal'}; "
            f"{out.executions} executions, {len(refusals)} refusal notification(s)"
        )
        self.say(out.verdict)

    def follow(self, out: Outcome, sm: str, inbox: str, execution_arn: str | None = None,
               decisions: list[str] | None = None,
               before_deciding: Callable[[int], None] | None = None) -> None:
        """Follow an execution to its end, deciding each approval request as a person would:
        `decisions` in turn (default: reject for approval-rejected, else approve; the last one
        repeats), `before_deciding(n)` called before the n-th decision."""
        if execution_arn is None:
            execs = wait_for("an execution started by the canary's event", lambda: self.executions(sm), 60, 0.2)
            out.execution_arn = execs[0]["executionArn"]
            out.run_id = execs[0]["name"]
            self.say(f"run {out.run_id} started")
        else:
            out.execution_arn = execution_arn
        sfn = self.client("stepfunctions")
        progress = Progress(self.verbose, self.t0)
        if decisions is None:
            decisions = ["reject"] if self.scenario == "approval-rejected" else ["approve"]
        handled = 0
        asked = len(out.notifications)  # approval requests before this execution do not count
        deadline = time.monotonic() + 600
        while True:
            hist = sfn.get_execution_history(executionArn=out.execution_arn, maxResults=1000)["events"]
            progress.update(hist)
            entered = {e["stateEnteredEventDetails"]["name"] for e in hist if "stateEnteredEventDetails" in e}
            if "Approval" in entered and decisions and not self.scenario.startswith("approval-timeout"):
                self.inbox(inbox, out.notifications)
                requests = [n for n in out.notifications[asked:] if "Approve:" in n["message"]]
                if len(requests) > handled:
                    decision = decisions[min(handled, len(decisions) - 1)]
                    if before_deciding is not None:
                        before_deciding(handled)
                    again = " (asked again)" if handled else ""
                    progress.note(f"the approval e-mail arrived{again}; the operator opens the {decision} link and confirms")
                    self.decide(requests[handled]["message"], decision)
                    handled += 1
            status = sfn.describe_execution(executionArn=out.execution_arn)
            if status["status"] != "RUNNING":
                hist = sfn.get_execution_history(executionArn=out.execution_arn, maxResults=1000)["events"]
                progress.update(hist)
                progress.close()
                out.status = status["status"]
                out.error = status.get("error")
                out.states = [
                    {"name": e[k]["name"], "type": e["type"], "at": e["timestamp"].timestamp()}
                    for e in hist for k in ("stateEnteredEventDetails", "stateExitedEventDetails") if k in e
                ]
                break
            if time.monotonic() > deadline:
                raise DrillError("the execution did not end within 10 minutes")
            time.sleep(0.25)
        out.executions = len(self.executions(sm))
        time.sleep(0.5)
        self.inbox(inbox, out.notifications)
        self.collect_report(out)
        self.judge(out)

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

    def home_member(self) -> dict[str, Any]:
        gc = self.client("rds", WEST).describe_global_clusters(
            GlobalClusterIdentifier="shop-global")["GlobalClusters"][0]
        return next(m for m in gc["GlobalClusterMembers"] if ":us-east-1:" in m["DBClusterArn"])

    def failback(self, inbox: str, by_function: bool = False,
                 decisions: list[str] | None = None) -> Outcome:
        """The way home: us-east-1 comes back and is rebuilt as a secondary; the canary sees it
        healthy for the plan's minute; lifeboat refuses until then, naming why; then the operator
        runs `lifeboat failback` and the failback machine brings the shop home.

        `by_function`: the failback is requested by invoking failback-orchestrator with no
        person named (as a schedule would), so the plan's approval applies and `decisions` are
        the person's answers (default: approve). Called again after a first failback, it
        requests again (us-east-1 is already back)."""
        assert self.shop is not None
        out = Outcome(scenario="failback", approval=by_function)
        started = time.monotonic()
        if EAST in self.shop.broken:
            self.say("us-east-1 comes back: its services and health endpoint answer again")
            self.control("/_lifeboat/outage", method="DELETE")
            self.shop.broken.discard(EAST)
            # The person on call reads both regions' topics (a failback reports to home's).
            queue_arn = self.client("sqs").get_queue_attributes(
                QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.client("sns", EAST).subscribe(
                TopicArn=f"arn:aws:sns:{EAST}:123456789012:lifeboat-{APP}", Protocol="sqs",
                Endpoint=queue_arn)
        pending: list[str] = []
        deadline = time.monotonic() + 420
        while True:
            probe = self.canary()
            self.emf_to_metrics()
            if self.home_member().get("SynchronizationStatus") == "connected":
                # What Aurora publishes for a connected secondary.
                self.client("cloudwatch", EAST).put_metric_data(Namespace="AWS/RDS", MetricData=[{
                    "MetricName": "AuroraGlobalDBReplicationLag", "Value": 150.0, "Unit": "Milliseconds",
                    "Dimensions": [{"Name": "DBClusterIdentifier", "Value": "shop-use1"}]}])
            code, dry = self.lifeboat("failback", "--dry-run", "--state-machine-arn", self.failback_arn)
            if dry.get("would_start"):
                out.timings["waited_seconds"] = time.monotonic() - started
                self.say(f"lifeboat failback --dry-run: would start ({len(dry['actions'])} actions)")
                break
            reasons = [r["reason"] for r in dry.get("refusals", [])]
            if code != 3 or not reasons:
                raise DrillError(f"lifeboat failback --dry-run: exit {code}: {dry}")
            for r in reasons:
                if r not in out.waited_for:
                    out.waited_for.append(r)
            if reasons != pending:
                pending = reasons
                self.say(f"lifeboat failback --dry-run refuses, naming why: {', '.join(reasons)} "
                         f"(canary: {probe.get('failures')} of {probe.get('probes')} probes failed)")
            if time.monotonic() > deadline:
                raise DrillError(f"failback still refused after 7 minutes: {', '.join(reasons)}")
            time.sleep(3)
        if by_function:
            resp = self.client("lambda").invoke(FunctionName="failback-orchestrator",
                                                Payload=json.dumps({"action": "request"}))
            started_run = json.loads(resp["Payload"].read() or b"{}")
            if resp.get("FunctionError") or started_run.get("outcome") != "started":
                raise DrillError(f"failback-orchestrator request: {started_run}")
            self.say(f"failback-orchestrator (no person named) -> run {started_run['run_id']} started")
        else:
            code, started_run = self.lifeboat("failback", "--state-machine-arn", self.failback_arn)
            if code != 0 or started_run.get("outcome") != "started":
                raise DrillError(f"lifeboat failback: exit {code}: {started_run}")
            self.say(f"operator: lifeboat failback -> run {started_run['run_id']} started")
        out.run_id = started_run["run_id"]
        saved, self.scenario = self.scenario, "failback"
        try:
            self.follow(out, self.failback_arn, inbox, execution_arn=started_run["execution_arn"],
                        decisions=decisions)
        finally:
            self.scenario = saved
        self.collect_end_state(out, self.seeded)
        out.wall_seconds = time.monotonic() - started
        home = out.end_state
        at_home = (home.get("writer_region") == EAST and home.get("www_region") == EAST
                   and home.get("ecs_desired") == {"web": 1, "checkout": 1}
                   and home.get("ecs_desired_east") == {"web": 6, "checkout": 4})
        if out.passed and not at_home:
            out.passed = False
            out.verdict += f"; not home: {home}"
        return out

    def collect_report(self, out: Outcome) -> None:
        param = f"/lifeboat/{APP}/runs/{out.run_id}"
        try:
            value = self.client("ssm").get_parameter(Name=param)["Parameter"]["Value"]
            out.report = json.loads(value)
        except Exception:  # noqa: BLE001 - no report is a finding, judged below
            out.report = None

    def resume(self, failed: Outcome, sm: str, inbox: str, decision: str = "approve") -> Outcome:
        """Resume a failed run as the failure report says: start the state machine again with
        the run's input under a new execution name; every step is idempotent."""
        sfn = self.client("stepfunctions")
        assert failed.execution_arn and failed.run_id
        run_input = sfn.describe_execution(executionArn=failed.execution_arn)["input"]
        arn = sfn.start_execution(stateMachineArn=sm, name=f"{failed.run_id}-resume-1",
                                  input=run_input)["executionArn"]
        self.say(f"resuming run {failed.run_id} (execution {failed.run_id}-resume-1)")
        out = Outcome(scenario=self.scenario, run_id=failed.run_id,
                      notifications=list(failed.notifications))
        saved, self.scenario = self.scenario, "failover"
        try:
            self.follow(out, sm, inbox, execution_arn=arn)
        finally:
            self.scenario = saved
        return out

    def judge(self, out: Outcome) -> None:
        outcome = (out.report or {}).get("outcome")
        expected = {
            "failover": ("SUCCEEDED", None, "succeeded"),
            "alarm-storm": ("SUCCEEDED", None, "succeeded"),
            "approval-rejected": ("FAILED", "FailoverAborted", "aborted"),
            "approval-timeout": ("FAILED", "FailoverAborted", "aborted"),
            "approval-timeout-proceed": ("SUCCEEDED", None, "succeeded"),
            "promotion-fails": ("FAILED", "FailoverFailed", "failed"),
            "failback": ("SUCCEEDED", None, "succeeded"),
        }.get(self.scenario, ("SUCCEEDED", None, "succeeded"))
        got = (out.status, out.error, outcome)
        runs = 2 if (out.execution_arn or "").endswith("-resume-1") else 1
        out.passed = got == expected and out.executions == runs
        out.verdict = f"execution {out.status}{' (' + out.error + ')' if out.error else ''}, run {outcome}, {out.executions} execution(s)"
        if not out.passed:
            out.verdict += f"; expected {expected}"

    def check_logs(self, out: Outcome) -> None:
        """Secrets never appear in a log line: the link key, task tokens, link tokens."""
        logs = self.logs("functions.log")
        if not logs:
            raise DrillError("no function logs captured")
        secret = self.client("ssm").get_parameter(
            Name=LINK_SECRET_PARAMETER, WithDecryption=True)["Parameter"]["Value"]
        needles = {"the link-signing key": secret}
        for n in out.notifications:
            for line in n["message"].splitlines():
                if "?t=" in line:
                    needles["a link token"] = line.split("?t=", 1)[1].strip()
        if out.execution_arn:
            for e in self.client("stepfunctions").get_execution_history(
                    executionArn=out.execution_arn, maxResults=1000)["events"]:
                params = e.get("taskScheduledEventDetails", {}).get("parameters", "")
                if "task_token" in params:
                    needles["the task token"] = json.loads(params)["Payload"]["task_token"]
        leaked = [what for what, value in needles.items() if value and value in logs]
        out.timings["log_lines_checked"] = float(len(logs.splitlines()))
        if leaked:
            out.passed = False
            out.verdict += f"; SECRET IN THE LOGS: {', '.join(leaked)}"

    def enforce_roles(self) -> None:
        """Each function's calls are recorded, and judged at the moment they are made by its
        own role from infra/template.yaml (the emulator answers AccessDenied as AWS does)."""
        import iam_check
        try:
            policies = iam_check.policies_by_key()
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
            rows, problems = iam_check.check(calls)
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

    def collect_end_state(self, out: Outcome, seeded: dict[str, Any]) -> None:
        rds = self.client("rds", WEST)
        gc = rds.describe_global_clusters(GlobalClusterIdentifier="shop-global")["GlobalClusters"][0]
        writer = next((m["DBClusterArn"] for m in gc["GlobalClusterMembers"] if m["IsWriter"]), None)
        ecs = self.client("ecs", WEST)
        services = ecs.describe_services(cluster="shop", services=["web", "checkout"])["services"]
        asg = self.client("autoscaling", WEST).describe_auto_scaling_groups(
            AutoScalingGroupNames=["shop-workers-usw2"])["AutoScalingGroups"][0]
        assert self.shop is not None
        state = None
        try:
            state = json.loads(self.client("ssm").get_parameter(Name=f"/lifeboat/{APP}/state")["Parameter"]["Value"])
        except Exception:  # noqa: BLE001 - no state recorded yet is a valid end state
            pass
        lock = None
        try:
            lock = json.loads(self.client("ssm").get_parameter(Name=f"/lifeboat/{APP}/lock")["Parameter"]["Value"])
        except Exception:  # noqa: BLE001
            pass
        try:
            east = {s["serviceName"]: s["desiredCount"] for s in self.client("ecs", EAST).describe_services(
                cluster="shop", services=["web", "checkout"])["services"]}
        except Exception:  # noqa: BLE001 - us-east-1 dark: unknown
            east = None
        out.end_state = {
            "ecs_desired_east": east,
            "writer_region": writer.split(":")[3] if writer else None,
            "www_region": self.shop.www_region(),
            "ecs_desired": {s["serviceName"]: s["desiredCount"] for s in services},
            "asg_desired": asg["DesiredCapacity"],
            "run_state": state,
            "lock": lock,
        }

    # -- tear-down
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
            iam_check.save_calls(calls, self.iam_source())

    def stop(self) -> None:
        self.save_iam_calls()
        self.stopping.set()
        if self.lag_publisher is not None:
            self.lag_publisher.join(timeout=10)
        if self.shop:
            self.shop.stop()
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


# --------------------------------------------------------------------------------------------
# Scenarios with their own course (issue 17): each sets out.passed and out.verdict from named
# checks, so that a failure says which rule broke.


def verdict(d: Drill, out: Outcome, checks: dict[str, bool]) -> None:
    failed = [name for name, ok in checks.items() if not ok]
    out.passed = not failed
    out.verdict = (f"execution {out.status}, run {(out.report or {}).get('outcome')}; "
                   + ("all of: " + "; ".join(checks) if not failed else "FAILED: " + "; ".join(failed)))
    d.say(out.verdict)


def writer_region(d: Drill) -> str | None:
    gc = d.client("rds").describe_global_clusters(GlobalClusterIdentifier="shop-global")["GlobalClusters"][0]
    arn = next((m["DBClusterArn"] for m in gc["GlobalClusterMembers"] if m["IsWriter"]), None)
    return arn.split(":")[3] if arn else None


def lock_of(d: Drill) -> Any:
    try:
        return json.loads(d.client("ssm").get_parameter(Name=f"/lifeboat/{APP}/lock")["Parameter"]["Value"])
    except d.client("ssm").exceptions.ParameterNotFound:
        return None


def approval_requests(out: Outcome) -> list[dict[str, str]]:
    return [n for n in out.notifications if "APPROVAL NEEDED" in n["subject"]]


def scenario_override_data_loss(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    unknown = d.lag_ms is not None and d.lag_ms < 0
    d.say("breaking the primary: us-east-1 goes dark; " + (
        "no replication-lag datapoint: the lag is unknown" if unknown
        else "the lag is 60 s, above the plan's 30 s guard"))
    d.break_primary()
    out.broke_at = time.time()
    code, refused = d.lifeboat("failover", "--to", WEST, "--state-machine-arn", sm)
    d.say(f"operator: lifeboat failover --to {WEST} -> exit {code}: {str(refused.get('message'))[:140]}")
    untouched = not d.executions(sm) and writer_region(d) == EAST and d.shop is not None \
        and d.shop.www_region() == EAST and lock_of(d) is None
    code2, started = d.lifeboat("failover", "--to", WEST, "--allow-data-loss", "--state-machine-arn", sm)
    if code2 != 0 or started.get("outcome") != "started":
        raise DrillError(f"lifeboat failover --allow-data-loss: exit {code2}: {started}")
    out.run_id = started["run_id"]
    d.say(f"operator: lifeboat failover --to {WEST} --allow-data-loss -> run {out.run_id}; a person approves")
    d.follow(out, sm, inbox, execution_arn=started["execution_arn"])
    report = out.report or {}
    promotion = report.get("promotion") or {}
    done_text = "".join(n["message"] for n in out.notifications if "succeeded" in n["subject"])
    verdict(d, out, {
        "without the flag: refused (exit 3), nothing started or changed": code == 3
        and refused.get("outcome") == "refused" and untouched,
        "the approval showed a failover with data loss": any(
            "WITH DATA LOSS" in n["subject"] for n in approval_requests(out)),
        "SUCCEEDED": out.status == "SUCCEEDED" and report.get("outcome") == "succeeded",
        "the writer moved by failover with data loss, the override recorded":
            writer_region(d) == WEST and promotion.get("mode") == "failover"
            and promotion.get("overridden") is True,
        "who approved is recorded": (report.get("decided") or {}).get("by") == "Drill Operator",
        "the RPO estimate is recorded": (
            report.get("rpo_estimate_seconds") is None and "RPO estimate: UNKNOWN" in done_text
        ) if unknown else isinstance(report.get("rpo_estimate_seconds"), (int, float)),
    })


def scenario_approved_mode_changes(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    assert d.shop is not None
    d.say("us-east-1's health endpoint fails; its database still answers: a switchover is possible")
    d.shop.broken.add(EAST)
    out.broke_at = time.time()
    d.canary()

    def darken(n: int) -> None:
        if n == 0:
            d.say("before the person answers, us-east-1 goes dark entirely (its database too)")
            d.control("/_lifeboat/outage", {"region": EAST, "services": OUTAGE_SERVICES})

    d.follow(out, sm, inbox, before_deciding=darken)
    asks = approval_requests(out)
    report = out.report or {}
    verdict(d, out, {
        "the first request showed a switchover": bool(asks) and "switchover" in asks[0]["subject"],
        "the run asked again, naming the failover with data loss and why": len(asks) == 2
        and "WITH DATA LOSS" in asks[1]["subject"] and "ASKED AGAIN" in asks[1]["message"],
        "nothing riskier ran on the first approval": (report.get("decided") or {}).get(
            "promotion", {}).get("mode") == "failover",
        "SUCCEEDED by a failover": out.status == "SUCCEEDED"
        and (report.get("promotion") or {}).get("mode") == "failover" and writer_region(d) == WEST,
    })


def rejected_first_run(d: Drill, out: Outcome, sm: str, inbox: str) -> Outcome:
    """The primary goes dark, the canary starts a run, and the person rejects it."""
    d.break_primary()
    out.broke_at = time.time()
    d.canary()
    first = Outcome(scenario="approval-rejected")
    d.follow(first, sm, inbox, decisions=["reject"])
    return first


def scenario_manual_after_abort(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    first = rejected_first_run(d, out, sm, inbox)
    code, started = d.lifeboat("failover", "--to", WEST, "--state-machine-arn", sm)
    d.say(f"operator, at once: lifeboat failover --to {WEST} -> exit {code}, run {started.get('run_id')}")
    if code != 0 or started.get("outcome") != "started":
        out.passed, out.verdict = False, f"lifeboat failover after the rejection: exit {code}: {started}"
        return
    out.run_id = started["run_id"]
    out.notifications = list(first.notifications)
    d.follow(out, sm, inbox, execution_arn=started["execution_arn"])
    verdict(d, out, {
        "the rejected run aborted": (first.report or {}).get("outcome") == "aborted",
        "the operator's run started at once, under its own id": out.run_id != first.run_id
        and out.run_id.endswith("-op"),
        "the plan's approval applied to it": len(approval_requests(out)) == 2,
        "SUCCEEDED": out.status == "SUCCEEDED" and writer_region(d) == WEST,
        "the lock is free": lock_of(d) is None,
    })


def scenario_retry_after_reject(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    first = rejected_first_run(d, out, sm, inbox)
    d.say("the canary fires again, in the same incident window")
    d.canary()
    second = wait_for("a second execution", lambda: [e for e in d.executions(sm)
                                                     if e["name"] != first.run_id], 60, 0.2)[0]
    out.run_id = second["name"]
    out.notifications = list(first.notifications)
    d.say(f"run {out.run_id} started")
    d.follow(out, sm, inbox, execution_arn=second["executionArn"])
    same_window = first.run_id is not None and out.run_id.startswith(first.run_id)
    verdict(d, out, {
        "the rejected run aborted and freed the lock": (first.report or {}).get("outcome") == "aborted",
        "a new attempt under a distinct name (never 'already started')":
            out.run_id == f"{first.run_id}-a2" or not same_window,
        "SUCCEEDED": out.status == "SUCCEEDED" and writer_region(d) == WEST,
        "the lock is free": lock_of(d) is None,
    })


def scenario_stop_while_approval(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    d.break_primary()
    out.broke_at = time.time()
    d.canary()
    execs = wait_for("an execution started by the canary's event", lambda: d.executions(sm), 60, 0.2)
    out.execution_arn, out.run_id = execs[0]["executionArn"], execs[0]["name"]
    wait_for("the approval e-mail", lambda: approval_requests(
        Outcome(scenario="", notifications=d.inbox(inbox, out.notifications))), 60, 0.3)
    sfn = d.client("stepfunctions")
    d.say(f"operator: StopExecution of {out.run_id} while it waits for approval")
    sfn.stop_execution(executionArn=out.execution_arn, error="OperatorStopped",
                       cause="stopped by the drill's operator")
    wait_for("the run's notice", lambda: [n for n in d.inbox(inbox, out.notifications)
                                          if "APPROVAL" not in n["subject"]], 60, 0.3)
    time.sleep(2.0)
    d.inbox(inbox, out.notifications)
    out.status = sfn.describe_execution(executionArn=out.execution_arn)["status"]
    out.executions = len(d.executions(sm))
    d.collect_report(out)
    report = out.report or {}
    notices = [n for n in out.notifications if "APPROVAL" not in n["subject"]]
    verdict(d, out, {
        "the execution is ABORTED": out.status == "ABORTED",
        "the run is recorded as aborted, with why": report.get("outcome") == "aborted"
        and "stopped (StopExecution)" in str((report.get("error") or {}).get("Cause")),
        "the lock is free": lock_of(d) is None,
        "exactly one notice, saying what to do next": len(notices) == 1
        and "aborted" in notices[0]["subject"] and "lifeboat failover" in notices[0]["message"],
        "nothing moved": writer_region(d) == EAST,
    })


def scenario_stale_lock(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    sfn = d.client("stepfunctions")
    # An execution of lifeboat's own failback machine (the roles may read no other) that ended
    # without releasing its lock: here one whose input it could not read (States.Runtime).
    ended = sfn.start_execution(stateMachineArn=d.failback_arn, name="shop-back-to-us-east-1-1000000000",
                                input="{}")["executionArn"]
    wait_for("the old execution to end", lambda: sfn.describe_execution(executionArn=ended)["status"] != "RUNNING", 30)
    time.sleep(1.0)  # the safety net (its ExecutionClosed event) has had its turn
    d.client("ssm").put_parameter(Name=f"/lifeboat/{APP}/lock", Type="String", Overwrite=True, Value=json.dumps({
        "run_id": "shop-back-to-us-east-1-1000000000", "target_region": EAST,
        "acquired_at": "2026-01-01T00:00:00Z", "execution_arn": ended}))
    d.say("a lock is left by an execution that has ended; then the primary goes dark")
    d.break_primary()
    out.broke_at = time.time()
    d.canary()
    d.follow(out, sm, inbox)
    stale = [n for n in out.notifications if "STALE RUN LOCK" in n["subject"]]
    verdict(d, out, {
        "a run started despite the lock": out.run_id is not None,
        "a person was told, naming the run that took over": len(stale) == 1
        and f"Run {out.run_id} has taken it over" in stale[0]["message"],
        "SUCCEEDED": out.status == "SUCCEEDED" and writer_region(d) == WEST,
        "the lock is free": lock_of(d) is None,
    })


def scenario_verify_waits(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    assert d.shop is not None
    d.say(f"resolvers keep www's old answer for {d.shop.cache_seconds:.0f} s after a change")
    d.break_primary()
    out.broke_at = time.time()
    d.canary()
    d.follow(out, sm, inbox)
    attempts = (out.report or {}).get("verify_attempts") or 0
    verify_entries = sum(1 for st in out.states if st["name"] == "Verify" and st["type"].endswith("Entered"))
    verdict(d, out, {
        "verify failed at first and passed on a later attempt": attempts > 1 and verify_entries == attempts,
        "SUCCEEDED": out.status == "SUCCEEDED" and writer_region(d) == WEST,
        "the report shows the attempts": f"Verify: {attempts} attempts" in "".join(
            n["message"] for n in out.notifications if "succeeded" in n["subject"]),
    })


def scenario_forged_probe(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    import datetime as dt
    alarm = d.plan()["triggers"]["alarms"][0]
    d.say(f"an operator mutes the failover alarm {alarm} (DisableAlarmActions) for maintenance")
    d.client("cloudwatch").disable_alarm_actions(AlarmNames=[alarm])
    now = dt.datetime.now(dt.timezone.utc)
    reasons = []
    for label, at in (("an hour old", now - dt.timedelta(hours=1)), ("of now", now)):
        event = d.canary_event()
        event.pop("EventBusName")  # the default bus: anyone with events:PutEvents may put there
        detail = json.loads(event["Detail"])
        detail["at"] = at.isoformat().replace("+00:00", "Z")
        detail["failures"] = detail["probes"] = 5
        event["Detail"] = json.dumps(detail)
        d.say(f"someone puts a forged lifeboat.probe event ({label}) on the default bus")
        d.client("events").put_events(Entries=[event])
        # what alarm-to-failover answers for it (the same event, invoked directly)
        resp = d.client("lambda").invoke(FunctionName="alarm-to-failover", Payload=json.dumps({
            "version": "0", "id": "forged", "detail-type": event["DetailType"],
            "source": event["Source"], "account": "123456789012",
            "time": now.isoformat().replace("+00:00", "Z"), "region": WEST, "resources": [],
            "detail": detail}))
        body = json.loads(resp["Payload"].read() or b"{}")
        reasons.append(((body.get("reason") or {}).get("reason"), body.get("outcome")))
        d.say(f"alarm-to-failover: {body.get('outcome')}: {str(body.get('message'))[:160]}")
    d.say("the mute ends (EnableAlarmActions); a forged report of now is put on the default bus again")
    d.client("cloudwatch").enable_alarm_actions(AlarmNames=[alarm])
    event = d.canary_event()
    event.pop("EventBusName")
    detail = json.loads(event["Detail"])
    detail["failures"] = detail["probes"] = 5
    event["Detail"] = json.dumps(detail)
    d.client("events").put_events(Entries=[event])
    time.sleep(3.0)
    out.executions = len(d.executions(sm))
    out.notifications = d.inbox(inbox, out.notifications)
    verdict(d, out, {
        "a report on the default bus reaches nothing: only the canary's bus has the rule":
            out.executions == 0,
        "the old report is ignored as out of time": reasons[0] == ("out_of_time", "ignored"),
        "the report of now is held back by the mute": reasons[1] == ("muted", "ignored"),
        "no run started, no lock taken": out.executions == 0 and lock_of(d) is None,
        "nothing moved": writer_region(d) == EAST,
    })


def scenario_hostile_text(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    assert d.shop is not None
    d.say("us-east-1's health endpoint answers 200 with a hostile body (mention, link, ANSI, "
          "bidi override, 200 kB); its regional services go dark")
    d.shop.hostile.add(EAST)
    d.control("/_lifeboat/outage", {"region": EAST, "services": OUTAGE_SERVICES})
    out.broke_at = time.time()
    probe = d.canary()
    d.say(f"canary: {probe.get('failures')} of {probe.get('probes')} probes failed")
    d.follow(out, sm, inbox)
    asks = approval_requests(out)
    shown = "".join(n["subject"] + n["message"] for n in out.notifications)
    logs = "".join(p.read_text(errors="replace") for p in d.work.glob("*.log"))
    verdict(d, out, {
        "the approval shows the evidence": bool(asks) and "lacks 'ok'" in asks[0]["message"],
        "no control, bidi or zero-width character reaches a person": not any(
            c in shown for c in ("\x1b", "\u202e", "\u200b")),
        "shown escaped instead": "\\u{202e}gnp.exe" in shown,
        "every message is bounded": all(len(n["message"]) < 20_000 for n in out.notifications),
        "no log line holds the body whole": "A" * 1_000 not in logs,
        "SUCCEEDED": out.status == "SUCCEEDED" and writer_region(d) == WEST,
    })


def template_alarm(logical_id: str, values: dict[str, str]) -> dict[str, Any]:
    """PutMetricAlarm's arguments for an alarm of infra/template.yaml, its !Ref / !Sub resolved
    from `values` (what CloudFormation would fill in)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def ref(loader: Any, node: Any) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return None
        name = loader.construct_scalar(node)
        return values.get(name, f"<{name}>")

    def sub(loader: Any, node: Any) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return None
        return re.sub(r"\$\{([A-Za-z:]+)\}", lambda m: values.get(m.group(1), m.group(0)),
                      loader.construct_scalar(node))

    def other(loader: Any, suffix: str, node: Any) -> Any:
        return None

    Loader.add_constructor("!Ref", ref)
    Loader.add_constructor("!Sub", sub)
    Loader.add_multi_constructor("!", other)
    doc = yaml.load((ROOT / "infra/template.yaml").read_text(), Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    props = dict(doc["Resources"][logical_id]["Properties"])
    props.pop("AlarmDescription", None)
    return props


def evaluate_alarms(d: Drill, region: str = WEST) -> dict[str, Any]:
    """One evaluation of the region's metric alarms, as CloudWatch does once per period."""
    return d.control("/_lifeboat/alarms/evaluate", {"region": region})


def scenario_canary_silent(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    alarm = d.plan()["triggers"]["alarms"][0]
    silent = f"lifeboat-{APP}-canary-silent-{WEST}"
    topic = f"arn:aws:sns:{WEST}:{ACCOUNT}:lifeboat-{APP}"
    dims = [{"Name": "App", "Value": APP}, {"Name": "ProbedRegion", "Value": EAST}]
    cw = d.client("cloudwatch")
    d.say(f"the template's alarms, as infra/template.yaml defines them: {alarm}, {silent}")
    values = {"AppName": APP, "OtherRegion": EAST, "AWS::Region": WEST, "AlarmName": alarm,
              "Topic": topic}
    for logical in ("PrimaryUnhealthyAlarm", "CanarySilentAlarm"):
        cw.put_metric_alarm(**template_alarm(logical, values))
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="drill: the shop is healthy")
    probe = d.canary()
    d.emf_to_metrics()
    healthy = evaluate_alarms(d)
    d.say(f"canary healthy ({probe.get('failures')} of {probe.get('probes')} failed); alarms: {healthy or 'no change'}")
    d.say("the canary goes silent (its function broken), then us-east-1 goes dark too")
    d.break_primary()
    out.broke_at = time.time()
    wait = 3 * 60 * d.time_scale + 1.0
    d.say(f"three silent canary periods ({wait:.0f} s at this time scale), then CloudWatch evaluates")
    time.sleep(wait)
    changed = evaluate_alarms(d)
    d.say(f"alarms: {changed}")
    time.sleep(3.0)
    out.notifications = d.inbox(inbox, out.notifications)
    out.executions = len(d.executions(sm))
    state = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"]
    pages = [n for n in out.notifications if silent in n["subject"] and n["subject"].startswith("ALARM")]
    verdict(d, out, {
        "the canary-silent alarm went into ALARM and paged a person, once":
            (changed.get(silent) or {}).get("to") == "ALARM" and len(pages) == 1,
        "the failover alarm stayed OK: silence is not an outage": state == "OK" and alarm not in changed,
        "no run started, no lock taken": out.executions == 0 and lock_of(d) is None,
        "nothing moved": writer_region(d) == EAST,
    })


def scenario_control_plane_only(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    d.say("us-east-1's RDS API goes dark (503); its database endpoint and health endpoints still serve")
    d.control("/_lifeboat/outage", {"region": EAST, "services": ["rds"]})
    out.broke_at = time.time()
    d.say("the failover alarm's event arrives (20 deliveries at once)")
    events = d.client("events")
    threads = [threading.Thread(target=lambda: events.put_events(Entries=[d.canary_event()]))
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    d.expect_refusal(out, sm, inbox)
    refusal = next((n for n in out.notifications if "refused" in n["subject"]), {"message": ""})
    verdict(d, out, {
        "refused, once, nothing started": out.passed,
        "the refusal names the data plane": "accepts connections" in refusal["message"],
        "nothing moved": writer_region(d) == EAST and lock_of(d) is None
            and d.shop is not None and d.shop.www_region() == EAST,
    })


def failed_over_with_data_loss(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    """us-east-1 goes dark (lag 0.8 s, within the guard): the canary starts the run, a person
    approves, the database is promoted with data loss, the old primary fenced as far as reached."""
    d.say("breaking the primary: us-east-1 goes dark")
    d.break_primary()
    out.broke_at = time.time()
    d.canary()
    d.follow(out, sm, inbox)


def east_compute(d: Drill) -> dict[str, int]:
    services = d.client("ecs", EAST).describe_services(cluster="shop", services=["web", "checkout"])
    asg = d.client("autoscaling", EAST).describe_auto_scaling_groups(
        AutoScalingGroupNames=["shop-workers-use1"])["AutoScalingGroups"][0]
    return {**{s["serviceName"]: s["desiredCount"] for s in services["services"]},
            "workers": asg["DesiredCapacity"], "workers_min": asg["MinSize"]}


def scenario_old_region_returns(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    failed_over_with_data_loss(d, out, sm, inbox)
    fence = (out.report or {}).get("fence") or {}
    outcomes = {a["resource"]: a["outcome"] for a in fence.get("actions", [])}
    d.say(f"the run's fence of us-east-1: {outcomes}")
    d.say("us-east-1 comes back: its services answer again, its compute still at active capacity")
    d.heal_primary()
    before = east_compute(d)
    home_inbox = d.seeded["home_inbox_url"]
    said: list[dict[str, str]] = []
    d.inbox(home_inbox, said, EAST)
    said.clear()
    # The home copy's schedule (the template's Guard event: every canary period).
    guard = d.home_copy("dr-scale-up", {"action": "guard"})
    d.say(f"home copy, dr-scale-up guard: {guard.get('verdict')}; announced: {bool(guard.get('announced'))}")
    after = east_compute(d)
    d.say(f"us-east-1 compute: {before} -> {after}")
    traffic = d.home_copy("dns-flip", {"action": "guard"})
    d.say(f"home copy, dns-flip guard: {traffic.get('verdict')}; traffic moved: {traffic.get('moved')} "
          "(the run's traffic step had moved it already)")
    again = d.home_copy("dr-scale-up", {"action": "guard"})
    time.sleep(1.0)
    d.inbox(home_inbox, said, EAST)
    fenced_msgs = [n for n in said if "fenced itself" in n["subject"]]
    out.notifications += said
    home_runs = d.client("stepfunctions", EAST).list_executions(stateMachineArn=d.home_sm)["executions"]
    verdict(d, out, {
        "SUCCEEDED, a failover with data loss": out.status == "SUCCEEDED"
        and ((out.report or {}).get("promotion") or {}).get("mode") == "failover",
        "the run recorded each fence action; the dark region as unreachable, never a blocker":
            outcomes.get("ecs:shop/web") == "unreachable" and outcomes.get("asg:shop-workers-use1") == "unreachable"
            and outcomes.get("database:shop-use1") == "delegated",
        "us-east-1 came back at active capacity": before.get("web") == 6,
        "its own copy fenced it: compute at the fenced level (0)":
            after == {"web": 0, "checkout": 0, "workers": 0, "workers_min": 0},
        "its topic says so, once": len(fenced_msgs) == 1 and not again.get("announced")
            and "us-west-2 holds the writer" in fenced_msgs[0]["subject"],
        "its traffic stays away: the guard finds it at the writer's region, sends nothing":
            traffic.get("verdict") == "fence" and traffic.get("moved") is False,
        "its copy started no run": not home_runs,
        "the shop is still served from us-west-2": writer_region(d) == WEST
            and d.shop is not None and d.shop.www_region() == WEST,
    })


def scenario_home_copy_alarm(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    failed_over_with_data_loss(d, out, sm, inbox)
    failed_over = out.status == "SUCCEEDED"
    d.say("us-east-1 comes back; its own copy receives its failover alarm (into us-east-1)")
    d.heal_primary()
    import datetime as dt
    now = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    event = json.loads((ROOT / "events/alarm-to-failover/alarm-state-change.json").read_text())
    event.update({"time": now, "region": EAST,
                  "resources": [f"arn:aws:cloudwatch:{EAST}:{ACCOUNT}:alarm:{event['detail']['alarmName']}"]})
    event["detail"]["state"]["timestamp"] = now.replace("Z", "+0000")
    answer = d.home_copy("alarm-to-failover", event)
    why = (answer.get("reason") or {}).get("reason")
    d.say(f"home copy, alarm-to-failover: {answer.get('outcome')} ({why}): {str(answer.get('message'))[:160]}")
    home_runs = d.client("stepfunctions", EAST).list_executions(stateMachineArn=d.home_sm)["executions"]
    back = d.failback(inbox)
    out.failback = back
    verdict(d, out, {
        "failed over": failed_over,
        "the home copy refused: bringing the shop home is a failback":
            answer.get("outcome") == "refused" and why == "home_is_a_failback"
            and "lifeboat failback" in str(answer.get("message")),
        "the home copy started no run": not home_runs,
        "lifeboat failback from us-west-2 is unaffected: the shop is home": back.passed,
    })


SPECIAL: dict[str, Callable[[Drill, Outcome, str, str], None]] = {
    "canary-silent": scenario_canary_silent,
    "control-plane-only": scenario_control_plane_only,
    "old-region-returns": scenario_old_region_returns,
    "home-copy-alarm": scenario_home_copy_alarm,
    "hostile-text": scenario_hostile_text,
    "forged-probe": scenario_forged_probe,
    "override-data-loss": scenario_override_data_loss,
    "approved-mode-changes": scenario_approved_mode_changes,
    "manual-after-abort": scenario_manual_after_abort,
    "retry-after-reject": scenario_retry_after_reject,
    "stop-while-approval": scenario_stop_while_approval,
    "stale-lock": scenario_stale_lock,
    "verify-waits": scenario_verify_waits,
}


def function_key(fn: str, region: str) -> str:
    """The access key a function signs with (iam_check.access_key): the home copy's in us-east-1."""
    import iam_check
    return iam_check.access_key(fn, region == EAST)


def substitute(definition: str, values: dict[str, str]) -> str:
    """CloudFormation DefinitionSubstitutions: ${Key} -> value; every key must be filled."""
    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise DrillError(f"the state machine names ${{{key}}}, which the drill does not fill")
        return values[key]

    return re.sub(r"\$\{([A-Za-z0-9]+)\}", repl, definition)


def trigger_patterns(alarms: list[str]) -> dict[str, dict[str, Any]]:
    """The EventBridge rules of infra/template.yaml that start alarm-to-failover."""
    return {
        "lifeboat-canary-event": {"source": ["lifeboat.probe"], "detail-type": ["Primary Unhealthy"]},
        "lifeboat-alarm-event": {
            "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": alarms, "state": {"value": ["ALARM"]}},
        },
    }


# --------------------------------------------------------------------------------------------
# Progress, summary and the HTML report


class Progress:
    """A live view of the steps (step, state, elapsed); plain lines when not on a terminal."""

    def __init__(self, enabled: bool, t0: float) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stdout.isatty()
        self.t0 = t0
        self.steps: dict[str, dict[str, Any]] = {}
        self.lines = 0
        self.printed: set[tuple[str, str]] = set()

    def note(self, msg: str) -> None:
        if self.enabled:
            self._clear()
            print(f"[{time.monotonic() - self.t0:6.1f} s] {msg}", flush=True)
            self._draw()

    def update(self, history: list[dict[str, Any]]) -> None:
        self.steps = {}
        for e in history:
            for key, entered in (("stateEnteredEventDetails", True), ("stateExitedEventDetails", False)):
                if key not in e:
                    continue
                name = e[key]["name"]
                step = name.split(": ")[0]
                if step in ("Record", "Notify", "Done", "Aborted", "Failed"):
                    step = "Record and notify"
                s = self.steps.setdefault(step, {"state": name, "start": e["timestamp"], "end": None, "open": 0})
                s["state"] = name
                s["open"] += 1 if entered else -1
                s["end"] = None if s["open"] > 0 else e["timestamp"]
                if e["type"].endswith("Failed") or e["type"] == "TaskTimedOut":
                    s["failed"] = True
        if not self.enabled:
            return
        if self.tty:
            self._clear()
            self._draw()
        else:
            for step, s in self.steps.items():
                phase = "done" if s["end"] else "running"
                if (step, phase) not in self.printed:
                    self.printed.add((step, phase))
                    took = f" in {(s['end'] - s['start']).total_seconds():.1f} s" if s["end"] else ""
                    print(f"[{time.monotonic() - self.t0:6.1f} s]   {step:<28} {phase}{took}", flush=True)

    def _clear(self) -> None:
        if self.tty and self.lines:
            sys.stdout.write(f"\x1b[{self.lines}A\x1b[J")
            self.lines = 0

    def _draw(self) -> None:
        if not self.tty:
            return
        now = time.time()
        rows = []
        for step, s in self.steps.items():
            end = s["end"].timestamp() if s["end"] else now
            elapsed = end - s["start"].timestamp()
            mark = "✔" if s["end"] else "…"
            rows.append(f"  {mark} {step:<28} {s['state'][:40]:<40} {elapsed:6.1f} s")
        sys.stdout.write("\n".join(rows) + ("\n" if rows else ""))
        sys.stdout.flush()
        self.lines = len(rows)

    def close(self) -> None:
        """Leave the final table on the terminal."""
        if self.tty:
            self._clear()
            self._draw()
            self.lines = 0
            self.tty = False


def summary(out: Outcome) -> str:
    lines = [f"Drill '{out.scenario}': {'PASSED' if out.passed else 'FAILED'} — {out.verdict}"]
    r = out.report
    if r:
        rto = r.get("rto_seconds")
        rpo = r.get("rpo_estimate_seconds")
        back = out.scenario == "failback"
        lines.append(f"  {'Request -> traffic verified home' if back else 'RTO (trigger -> traffic verified)'}: "
                     f"{f'{rto:.1f} s' if rto is not None else '-'}")
        lines.append(f"  {'RPO (planned switchover)        ' if back else 'RPO estimate (lag at promotion): '} "
                     f"{f'{rpo:.1f} s' if rpo is not None else '-'}")
        tl = r["timeline"]
        t0 = parse_time(tl["triggered_at"])
        lines.append("  Steps:")
        for s in tl["steps"]:
            start = parse_time(s["started_at"]) - t0
            end = parse_time(s["ended_at"]) - t0 if s.get("ended_at") else None
            took = f"{end - start:6.1f} s" if end is not None else "  not finished"
            lines.append(f"    +{start:6.1f} s  {s['name']:<10} {took}")
        if r.get("error"):
            lines.append(f"  Error: {r['error']['Error']}: {(r['error'].get('Cause') or '(no cause given)')[:200]}")
    rd = out.readiness
    if rd:
        lines.append("  Readiness before the outage: " + (
            f"ready ({rd['ok']} checks ok, {rd['warnings']} warnings)" if rd["ready"]
            else f"NOT READY ({'; '.join(rd['critical'])})"))
    es = out.end_state
    if es:
        lines.append(
            f"  End state: writer {es.get('writer_region')}, www -> {es.get('www_region')}, "
            f"ECS {es.get('ecs_desired')}, workers {es.get('asg_desired')}, "
            f"lock {'held' if es.get('lock') else 'free'}"
        )
    lines.append(f"  Notifications: {len(out.notifications)} ({'; '.join(n['subject'] for n in out.notifications)})")
    if out.scenario != "failback":
        lines.append(f"  Secrets in {out.timings.get('log_lines_checked', 0):.0f} function log lines: none"
                     if "SECRET" not in out.verdict else "  Secrets in the function logs: FOUND")
    if out.scenario == "failback":
        lines.append(f"  Waited {out.timings.get('waited_seconds', 0):.1f} s for: "
                     f"{', '.join(out.waited_for) or 'nothing'} (lifeboat refused until then)")
        lines.append(f"  Failback wall time {out.wall_seconds:.1f} s")
        return "\n".join(lines)
    lines.append(f"  Drill wall time {out.wall_seconds:.1f} s (set-up {out.timings.get('setup_seconds', 0):.1f} s)")
    if out.failback is not None:
        lines.append("")
        lines.append("The way home:")
        lines.append(summary(out.failback))
    if out.iam:
        lines.append("")
        lines.append(f"Least privilege, executed: {out.iam['calls']} calls of the functions, each "
                     "allowed at the call by its own role (infra/template.yaml, enforced by the "
                     "emulator) and judged again by an IAM policy simulator")
        lines.extend("  " + line for line in out.iam["table"].splitlines())
        lines.extend(f"  {p}" for p in out.iam["problems"])
    return "\n".join(lines)


def parse_time(s: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def html_report(out: Outcome) -> str:
    r = out.report or {}
    chart = timeline_chart(r)
    rows = notification_rows(out)
    fmt = lambda v: f"{v:.1f} s" if isinstance(v, (int, float)) else "-"  # noqa: E731
    error = r.get("error")
    home = ""
    fb = out.failback
    if fb is not None:
        fr = fb.report or {}
        home = f"""<h2>The way home: failback</h2>
<p class="{'ok' if fb.passed else 'bad'}"><b>{'PASSED' if fb.passed else 'FAILED'}</b>: {html.escape(fb.verdict)}</p>
<table>
<tr><th>Run</th><td>{html.escape(str(fb.run_id or '-'))}</td></tr>
<tr><th>Waited for (lifeboat refused until then)</th><td>{html.escape(', '.join(fb.waited_for) or '-')} ({fmt(fb.timings.get('waited_seconds'))})</td></tr>
<tr><th>Outcome</th><td>{html.escape(str(fr.get('outcome', '-')))}</td></tr>
<tr><th>Trigger → traffic verified at home</th><td>{fmt(fr.get('rto_seconds'))}</td></tr>
<tr><th>RPO (planned switchover)</th><td>{fmt(fr.get('rpo_estimate_seconds'))}</td></tr>
<tr><th>Active region / epoch</th><td>{html.escape(str(fr.get('active_region', '-')))} / {html.escape(str(fr.get('epoch', '-')))}</td></tr>
<tr><th>End state</th><td><pre>{html.escape(json.dumps(fb.end_state, indent=1, default=str))}</pre></td></tr>
</table>
<h3>Timeline</h3>{timeline_chart(fr)}
<h3>Notifications ({len(fb.notifications)})</h3><table>{notification_rows(fb)}</table>"""
    return page(out, r, chart, rows, fmt, error, home)


def notification_rows(out: Outcome) -> str:
    return "".join(
        f"<tr><td>{html.escape(n['subject'])}</td><td><pre>{html.escape(n['message'][:1500])}</pre></td></tr>"
        for n in out.notifications
    )


def timeline_chart(r: dict[str, Any]) -> str:
    tl = r.get("timeline") or {"steps": [], "triggered_at": None}
    t0 = parse_time(tl["triggered_at"]) if tl.get("triggered_at") else None
    bars = []
    if t0 is not None:
        spans = [(s["name"], parse_time(s["started_at"]) - t0,
                  (parse_time(s["ended_at"]) - t0) if s.get("ended_at") else None) for s in tl["steps"]]
        total = max([e or s for _, s, e in spans] + [r.get("rto_seconds") or 0, 1.0])
        width, left, row = 760, 110, 28
        for i, (name, s, e) in enumerate(spans):
            x = left + s / total * (width - left)
            w = max(2.0, ((e if e is not None else total) - s) / total * (width - left))
            color = "#2e7d32" if e is not None else "#c62828"
            label = f"{(e - s):.1f} s" if e is not None else "not finished"
            y = 10 + i * row
            bars.append(
                f'<text x="4" y="{y + 16}">{html.escape(name)}</text>'
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{color}" rx="3"/>'
                f'<text x="{x + w + 4:.1f}" y="{y + 16}">{html.escape(label)}</text>'
            )
        height = 20 + len(spans) * row + 40
        axis = "".join(
            f'<line x1="{left + k / 4 * (width - left):.1f}" y1="0" x2="{left + k / 4 * (width - left):.1f}" '
            f'y2="{height - 18}" stroke="#ddd"/><text x="{left + k / 4 * (width - left) - 10:.1f}" '
            f'y="{height - 4}">{total * k / 4:.0f} s</text>'
            for k in range(5)
        )
        rto = r.get("rto_seconds")
        marker = ""
        if isinstance(rto, (int, float)):
            mx = left + rto / total * (width - left)
            marker = (f'<line x1="{mx:.1f}" y1="0" x2="{mx:.1f}" y2="{height - 18}" stroke="#1565c0" '
                      f'stroke-dasharray="4 3"/><text x="{mx + 4:.1f}" y="{height - 22}" fill="#1565c0">'
                      f'RTO {rto:.1f} s: traffic verified</text>')
        trigger = (f'<text x="{left + 2}" y="{height - 22}" fill="#555">trigger</text>')
        chart = f'<svg width="{width + 160}" height="{height}" font-family="sans-serif" font-size="12">{axis}{"".join(bars)}{marker}{trigger}</svg>'
    else:
        chart = "<p>No run timeline (no run was started).</p>"
    return chart


def page(out: Outcome, r: dict[str, Any], chart: str, rows: str, fmt: Any, error: Any, home: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lifeboat drill: {html.escape(out.scenario)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}
td,th{{border-bottom:1px solid #eee;padding:4px 8px;vertical-align:top;text-align:left}}
pre{{white-space:pre-wrap;margin:0;font-size:12px}} .ok{{color:#2e7d32}} .bad{{color:#c62828}}</style></head>
<body><h1>lifeboat drill — {html.escape(out.scenario)}</h1>
<p class="{'ok' if out.passed else 'bad'}"><b>{'PASSED' if out.passed else 'FAILED'}</b>: {html.escape(out.verdict)}</p>
<p>{html.escape(SCENARIOS[out.scenario])}{'' if out.approval else ' (--no-approval: the plan needs no person)'}</p>
<table>
<tr><th>Run</th><td>{html.escape(str(out.run_id or '-'))}</td></tr>
<tr><th>Outcome</th><td>{html.escape(str(r.get('outcome', '-')))}</td></tr>
<tr><th>RTO (trigger → traffic verified)</th><td>{fmt(r.get('rto_seconds'))}</td></tr>
<tr><th>RPO estimate (lag at promotion)</th><td>{fmt(r.get('rpo_estimate_seconds'))}</td></tr>
<tr><th>Active region / epoch</th><td>{html.escape(str(r.get('active_region', '-')))} / {html.escape(str(r.get('epoch', '-')))}</td></tr>
<tr><th>Error</th><td>{html.escape(error['Error'] + ': ' + (error.get('Cause') or '(no cause given)')) if error else '-'}</td></tr>
<tr><th>Open steps</th><td>{html.escape(', '.join(r.get('open_steps') or []) or '-')}</td></tr>
<tr><th>Readiness before the outage</th><td>{html.escape(('ready (' + str(out.readiness.get('ok')) + ' checks ok)') if out.readiness.get('ready') else ('NOT READY: ' + '; '.join(out.readiness.get('critical') or [])) if out.readiness else '-')}</td></tr>
<tr><th>End state</th><td><pre>{html.escape(json.dumps(out.end_state, indent=1, default=str))}</pre></td></tr>
</table>
<h2>Timeline</h2>{chart}
<h2>Notifications ({len(out.notifications)})</h2><table>{rows}</table>
{home}
<p><small>Drill wall time {out.wall_seconds:.1f} s; simulated AWS durations scaled (see --time-scale).</small></p>
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="lifeboat's local failover drill",
        epilog="Scenarios:\n" + "\n".join(f"  {k:<18} {v}" for k, v in SCENARIOS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", default="failover", choices=sorted(SCENARIOS))
    parser.add_argument("--no-approval", action="store_true",
                        help="the plan does not require a person (default: the drill approves by link)")
    parser.add_argument("--time-scale", type=float, default=0.1,
                        help="simulated AWS durations x this (default 0.1: a 60 s failover takes 6 s)")
    parser.add_argument("--report", default=str(ROOT / "target/drill/report.html"),
                        help="where to write the HTML report")
    parser.add_argument("--json", help="also write the outcome as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--no-failback", action="store_true",
                        help="scenario failover: stop once failed over (default: then fail back home)")
    args = parser.parse_args(argv)
    try:
        drill = Drill(args.scenario, not args.no_approval, args.time_scale, keep=args.keep,
                      go_home=not args.no_failback)
    except ValueError as exc:
        print(f"drill: {exc}", file=sys.stderr)
        return 2
    print(f"lifeboat drill — scenario '{args.scenario}': {SCENARIOS[args.scenario]}")
    try:
        out = drill.run()
    except DrillError as exc:
        print(f"drill: {exc}", file=sys.stderr)
        for log in ("emulator.log", "watch.log", "functions.log"):
            tail = drill.logs(log)[-3000:]
            if tail:
                print(f"--- {log} (tail)\n{tail}", file=sys.stderr)
        drill.stop()
        return 2
    except KeyboardInterrupt:
        drill.stop()
        return 130
    drill.stop()
    print()
    print(summary(out))
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(html_report(out))
    print(f"  HTML report: {report}")
    if args.json:
        Path(args.json).write_text(json.dumps(dataclasses.asdict(out), indent=1, default=str))
    return 0 if out.passed else 1


if __name__ == "__main__":
    sys.exit(main())
