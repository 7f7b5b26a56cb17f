"""The drill's course: set up the scenario, break the primary, follow the run as a person would
(deciding by the e-mail's signed link), judge it, and bring the shop home."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

from .deploy import HOME_COPY, Deploy
from .harness import APP, CANARY_BUS, LINK_SECRET_PARAMETER, EAST, OUTAGE_SERVICES, ROOT, WEST, DrillError, Outcome, ShopServer, wait_for
from .report import Progress
from .scenarios import SCENARIOS, SUCCEEDED, Expect, Refused, record_upsert_traffic


class Drill(Deploy):
    """One scenario of the drill (scenarios.SCENARIOS), end to end."""

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
        self.spec = SCENARIOS[scenario]
        if not approval and self.spec.needs_approval:
            raise ValueError(f"scenario {scenario} needs the approval step (drop --no-approval)")
        super().__init__(scenario, time_scale, bin_dir, verbose, keep)
        self.approval = approval
        self.go_home = go_home
        # Deploy the failover machine with this TimeoutSeconds instead of the template's
        # (a misconfigured machine: the safety net must still record and announce the run).
        self.execution_timeout_seconds = execution_timeout_seconds
        # The replication lag the emulated CloudWatch holds (ms); negative: no datapoint at all
        # (the lag is unknown). None: the scenario's own.
        self.lag_ms = lag_ms

    def heal_primary(self) -> None:
        assert self.shop is not None
        self.control("/_lifeboat/outage", method="DELETE")
        self.shop.broken.discard(EAST)

    def set_up(self) -> dict[str, Any]:
        self.check_binaries()
        self.say("starting the emulated AWS, and the Lambda APIs (cargo lambda watch)")
        self.start_emulator()
        self.start_watch()
        spec = self.spec
        lag_ms = self.lag_ms if self.lag_ms is not None else spec.lag_ms
        stale = spec.lag_age_seconds > 0
        lag = f"lag {lag_ms / 1000:.1f} s" if lag_ms >= 0 and not stale else "no fresh lag datapoint"
        self.say(f"seeding the two-region shop (primary us-east-1, {lag})")
        seeded = self.seed(-1.0 if stale else lag_ms)
        if stale:
            self.put_lag(lag_ms, ago_seconds=spec.lag_age_seconds)
        elif lag_ms >= 0:
            # Aurora publishes the secondary's lag every minute; keep a fresh datapoint.
            self.lag_publisher = threading.Thread(target=self.publish_lag, args=(lag_ms,), daemon=True)
            self.lag_publisher.start()
        self.control("/_lifeboat/config", {
            "time_scale": self.time_scale,
            "lambda": {"forward_url": f"http://127.0.0.1:{self.invoke_port}"},
        })
        self.shop = ShopServer(self.client("route53", EAST), seeded["zone_id"])
        if spec.stack == "digitalocean":
            from . import digitalocean
            self.dns = digitalocean.DomainRecords(self)
            self.shop.resolver = self.dns.www_region
            self.say(f"DigitalOcean's DNS API: the contract-checked fake on {self.dns.base_url}, "
                     f"{digitalocean.DOMAIN} holding us-east-1's records")
        elif spec.stack == "linode":
            from . import linode
            self.dns = linode.DomainRecords(self)
            self.shop.resolver = self.dns.www_region
            self.say(f"Linode's DNS API: the contract-checked fake on {self.dns.base_url}, "
                     f"{linode.DOMAIN} holding us-east-1's records")
        # the functions' roles as deployed for the seeded shop (its hosted zone), enforced from
        # their first call on
        self.enforce_roles()
        plan = self.plan()
        if spec.traffic == "record_upsert":
            record_upsert_traffic(plan, seeded["zone_id"])
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
        if spec.plan is not None:
            spec.plan(plan)
        self.put_plan(plan)
        self.say("deploying the stack into the emulated us-west-2 (functions, state machine, rule)")
        self.deploy(seeded["state_machine_arn"])
        self.start_functions(seeded["state_machine_arn"])
        if spec.home_copy:
            self.say("deploying the home copy into the emulated us-east-1 (" + ", ".join(HOME_COPY) + ")")
            self.deploy_home_copy(plan, seeded["state_machine_arn"])
        if spec.fault is not None:
            spec.fault(self)
        return seeded

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
        services = [s for s in OUTAGE_SERVICES if s not in self.spec.spares]
        self.control("/_lifeboat/outage", {"region": EAST, "services": services})

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
            if self.spec.course is not None:
                self.spec.course(self, out, sm, inbox)
                self.collect_end_state(out, seeded)
                self.check_logs(out)
                self.check_iam(out)
                return out
            spared = f"; {', '.join(self.spec.spares)} answering" if self.spec.spares else ""
            self.say(f"breaking the primary: us-east-1 goes dark ({', '.join(OUTAGE_SERVICES[:4])}, ...; health endpoint 503{spared})")
            self.break_primary()
            out.broke_at = time.time()
            if self.spec.trigger == "storm":
                self.storm()
            else:
                probe = self.canary()
                self.say(f"canary: {probe.get('failures')} of {probe.get('probes')} probes of us-east-1 failed; event sent: {probe.get('event_sent')}")
            if isinstance(self.spec.expect, Refused):
                self.expect_refusal(out, sm, inbox, self.spec.expect)
            else:
                self.follow(out, sm, inbox)
            if self.spec.report_check is not None and out.passed:
                problem = self.spec.report_check(out.report or {})
                if problem:
                    out.passed = False
                    out.verdict += f"; {problem}"
            self.collect_end_state(out, seeded)
            self.check_logs(out)
            if self.spec.way_home and self.go_home and out.passed:
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

    def expect_refusal(self, out: Outcome, sm: str, inbox: str, expect: Refused = Refused()) -> None:
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
        if expect.says:
            out.passed = out.passed and expect.says in refusals[0]["message"]
        out.verdict = (
            f"refused: {refusals[0]['subject'] if refusals else 'no refusal'}; "
            f"{out.executions} executions, {len(refusals)} refusal notification(s)"
        )
        self.say(out.verdict)

    def follow(self, out: Outcome, sm: str, inbox: str, execution_arn: str | None = None,
               decisions: list[str] | None = None,
               before_deciding: Callable[[int], None] | None = None,
               expect: Expect | None = None) -> None:
        """Follow an execution to its end, deciding each approval request as a person would:
        `decisions` in turn (default: the scenario's; the last one repeats; none: nobody
        answers), `before_deciding(n)` called before the n-th decision; then judge it against
        `expect` (default: the scenario's end)."""
        if execution_arn is None:
            execs = wait_for("an execution started by the canary's event", lambda: self.executions(sm), 60, 0.2)
            out.execution_arn = execs[0]["executionArn"]
            out.run_id = execs[0]["name"]
            if out.broke_at:
                # outage's first second -> the run started (the canary is invoked by the drill
                # at once here; core's canary module gives the cadence's share at scale)
                out.timings["outage_to_run_seconds"] = execs[0]["startDate"].timestamp() - out.broke_at
            self.say(f"run {out.run_id} started")
        else:
            out.execution_arn = execution_arn
        sfn = self.client("stepfunctions")
        progress = Progress(self.verbose, self.t0)
        if decisions is None:
            decisions = list(self.spec.decisions)
        handled = 0
        asked = len(out.notifications)  # approval requests before this execution do not count
        deadline = time.monotonic() + 600
        while True:
            hist = sfn.get_execution_history(executionArn=out.execution_arn, maxResults=1000)["events"]
            progress.update(hist)
            entered = {e["stateEnteredEventDetails"]["name"] for e in hist if "stateEnteredEventDetails" in e}
            if "Approval" in entered and decisions:
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
        self.judge(out, expect if expect is not None else self.spec_end())

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
        self.follow(out, self.failback_arn, inbox, execution_arn=started_run["execution_arn"],
                    decisions=decisions if decisions is not None else ["approve"], expect=SUCCEEDED)
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
        self.follow(out, sm, inbox, execution_arn=arn, decisions=[decision], expect=SUCCEEDED)
        return out

    def spec_end(self) -> Expect:
        """The end the scenario expects of the runs it follows (a refusal has none to follow)."""
        return self.spec.expect if isinstance(self.spec.expect, Expect) else SUCCEEDED

    def judge(self, out: Outcome, expect: Expect) -> None:
        outcome = (out.report or {}).get("outcome")
        expected = (expect.status, expect.error, expect.outcome)
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
        needles = {"the link-signing key": secret, **self.secrets}
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
        cluster = self.client("rds", WEST).describe_db_clusters(
            DBClusterIdentifier="shop-usw2")["DBClusters"][0]
        acu = cluster.get("ServerlessV2ScalingConfiguration") or {}
        out.end_state = {
            # the DR database's Serverless v2 range (the plan's database_capacity)
            "db_acu_west": (acu.get("MinCapacity"), acu.get("MaxCapacity")),
            "ecs_desired_east": east,
            # the plan's database: Aurora's global cluster, or the drill's Patroni clusters or
            # MariaDB servers
            "writer_region": (self.patroni_world.writer() if hasattr(self, "patroni_world")  # type: ignore[attr-defined]
                              else self.mariadb_world.writer() if hasattr(self, "mariadb_world")  # type: ignore[attr-defined]
                              else writer.split(":")[3] if writer else None),
            "www_region": self.shop.www_region(),
            "ecs_desired": {s["serviceName"]: s["desiredCount"] for s in services},
            "asg_desired": asg["DesiredCapacity"],
            "run_state": state,
            "lock": lock,
        }
