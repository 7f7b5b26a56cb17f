"""The drill's scenarios, one record each: what the plan changes, the fault, the trigger, the
person's decisions and the end state expected; a scenario with a course of its own names it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from . import template
from .harness import (ACCOUNT, APP, EAST, OUTAGE_SERVICES, PLAN_PARAMETER, ROOT, WEST, DrillError, Outcome,
                      function_key, wait_for)

if TYPE_CHECKING:
    from .course import Drill



@dataclass(frozen=True)
class Expect:
    """How the run ends: the execution's status and error, the recorded run's outcome."""

    status: str = "SUCCEEDED"
    error: str | None = None
    outcome: str = "succeeded"


SUCCEEDED = Expect()
ABORTED = Expect("FAILED", "FailoverAborted", "aborted")
FAILED = Expect("FAILED", "FailoverFailed", "failed")


@dataclass(frozen=True)
class Refused:
    """No execution at all, and exactly one refusal on the topic (whose text has `says`)."""

    says: str = ""


@dataclass(frozen=True)
class Scenario:
    """One scenario of the drill. The common course: set up (the plan changed by `plan`, the
    replication lag, `fault` once deployed), read readiness, break the primary, `trigger`, then
    follow the run deciding `decisions` in turn and judge it against `expect`. A scenario with a
    `course` of its own runs that after readiness instead, and judges itself by named checks."""

    summary: str
    # The plan's change, before anything is deployed.
    plan: Callable[[dict[str, Any]], None] | None = None
    # The secondary's AuroraGlobalDBReplicationLag (ms), published fresh every few seconds; with
    # `lag_age_seconds`, one datapoint that old and nothing since.
    lag_ms: float = 800.0
    lag_age_seconds: float = 0.0
    # Set once the stack is deployed, before the outage.
    fault: Callable[[Drill], None] | None = None
    # Deploy the home region's own copy (us-east-1) too.
    home_copy: bool = False
    # "canary": one scheduled canary run sees the outage; "storm": 30 deliveries at once.
    trigger: str = "canary"
    # The person's answers to each approval request in turn (the last repeats); () never answers.
    decisions: tuple[str, ...] = ("approve",)
    expect: Expect | Refused = SUCCEEDED
    # The scenario is about the approval step: --no-approval does not apply.
    needs_approval: bool = False
    # Once failed over, bring the shop home (unless the drill is told --no-failback).
    way_home: bool = False
    course: Callable[[Drill, Outcome, str, str], None] | None = None
    # What the run's report must show beyond its end (None when it does), judged after the run.
    report_check: Callable[[dict[str, Any]], str | None] | None = None
    # How the plan moves traffic: the example plan's ARC routing controls, or "record_upsert"
    # (examples/plan-record-upsert.yaml's records, in the seeded zone).
    traffic: str = "routing_control"
    # us-east-1's services the outage leaves answering.
    spares: tuple[str, ...] = ()
    # "aws", or "digitalocean": the shop's DNS at DigitalOcean (the contract-checked fake that
    # dns-flip reaches, www resolving through it), set up before the functions start.
    stack: str = "aws"


def record_upsert_traffic(plan: dict[str, Any], zone_id: str) -> None:
    """The plan moves traffic as examples/plan-record-upsert.yaml does: one UPSERT batch of www
    and api per zone, here the seeded zone; the run waits for the change to be INSYNC."""
    import yaml

    example = yaml.safe_load((ROOT / "examples/plan-record-upsert.yaml").read_text())
    plan["traffic"] = example["traffic"]
    for region in (EAST, WEST):
        traffic = example["regions"][region]["traffic"]
        for zone in traffic["hosted_zones"]:
            zone["zone_id"] = zone_id
        plan["regions"][region]["traffic"] = traffic


def approval_timeout(on_timeout: str) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["approval"]["timeout_minutes"] = 1
        plan["approval"]["on_timeout"] = on_timeout
        if on_timeout == "proceed":
            plan["approval"]["proceed_after_outage_minutes"] = 1
    return change


def no_pause_between_runs(plan: dict[str, Any]) -> None:
    """A closed run's next trigger starts a new attempt at once."""
    plan["triggers"]["min_seconds_between_runs"] = 0


def promotion_cancelled(d: Drill) -> None:
    d.control("/_lifeboat/faults", {"cancel_next_rds_operations": 1})


def www_ttl(d: Drill) -> int:
    """The TTL of www's record in the shop's zone, as Route 53 serves it (the seed's 60 s)."""
    assert d.shop is not None
    records = d.shop.route53.list_resource_record_sets(
        HostedZoneId=d.shop.zone_id, StartRecordName="www.shop.example.com", MaxItems="1"
    )["ResourceRecordSets"]
    for r in records:
        if r["Name"].rstrip(".") == "www.shop.example.com":
            return int(r["TTL"])
    raise DrillError("the shop's zone has no record for www.shop.example.com")


def set_record_ttl(d: Drill, ttl: int) -> None:
    """The shop's records (www, api) served with `ttl` seconds instead, their values unchanged."""
    assert d.shop is not None
    records = d.shop.route53.list_resource_record_sets(HostedZoneId=d.shop.zone_id)["ResourceRecordSets"]
    changes = [{"Action": "UPSERT", "ResourceRecordSet": {**r, "TTL": ttl}} for r in records
               if r["Type"] == "CNAME" and r["Name"].rstrip(".") in ("www.shop.example.com",
                                                                      "api.shop.example.com")]
    if len(changes) != 2:
        raise DrillError(f"the shop's zone lacks www or api: {records}")
    d.shop.route53.change_resource_record_sets(HostedZoneId=d.shop.zone_id,
                                               ChangeBatch={"Changes": changes})


def resolvers_keep_the_old_answer(d: Drill) -> None:
    """Resolvers keep the old answer for a while: www's TTL as Route 53 serves it, time-scaled."""
    assert d.shop is not None
    d.shop.cache_seconds = max(3.0, www_ttl(d) * d.time_scale)
    d.shop._cached = (EAST, 0.0)


# Warm standby (issue 21, item 3): us-west-2 runs half its active capacity all the time, and
# the plan shifts traffic at half: web 3 of 6, checkout 2 of 4, workers 3 of 6.
WARM = {"web": 3, "checkout": 2, "workers": 3}


def warm_standby_plan(plan: dict[str, Any]) -> None:
    plan["traffic"]["shift_at_capacity_percent"] = 50
    for region in (EAST, WEST):
        compute = plan["regions"][region]["compute"]
        for s in compute["ecs_services"]:
            s["standby_count"] = WARM[s["service"]]
        for g in compute["autoscaling_groups"]:
            g["standby"] = {"min": WARM["workers"], "desired": WARM["workers"]}


def warm_standby_running(d: Drill) -> None:
    """us-west-2 at its warm-standby capacity, steady, before the outage."""
    ecs = d.client("ecs", WEST)
    for service in ("web", "checkout"):
        ecs.update_service(cluster="shop", service=service, desiredCount=WARM[service])
    d.client("autoscaling", WEST).update_auto_scaling_group(
        AutoScalingGroupName="shop-workers-usw2", MinSize=WARM["workers"],
        DesiredCapacity=WARM["workers"])

    def steady() -> bool:
        services = ecs.describe_services(cluster="shop", services=["web", "checkout"])["services"]
        group = d.client("autoscaling", WEST).describe_auto_scaling_groups(
            AutoScalingGroupNames=["shop-workers-usw2"])["AutoScalingGroups"][0]
        in_service = [i for i in group["Instances"] if i["LifecycleState"] == "InService"]
        return (all(s["runningCount"] == WARM[s["serviceName"]] for s in services)
                and len(in_service) == WARM["workers"])

    wait_for("us-west-2 at warm-standby capacity", steady, 300, every=0.5)


def shifted_before_full_capacity(report: dict[str, Any]) -> str | None:
    """The shift found the plan's share ready and not yet everything: it did not wait for the
    new instances."""
    c = report.get("capacity_at_shift")
    if not c:
        return "the report shows no capacity at shift"
    if c.get("planned_percent") != 50:
        return f"capacity at shift: planned {c.get('planned_percent')} %, not 50 %"
    if c["ready"] >= c["desired"]:
        return f"traffic shifted at full capacity ({c['ready']} of {c['desired']}): it waited for scale-up"
    if c["ready"] * 2 < c["desired"]:
        return f"traffic shifted below the plan's share ({c['ready']} of {c['desired']})"
    return None


# Alertmanager as the trigger (issue 22, item 2): a real Alertmanager, the webhook function.

ALERTMANAGER_TOKEN = "drill-alertmanager-token-7c1f0e"
PRIMARY_DOWN = {"alertname": "PrimaryRegionDown", "severity": "critical", "region": EAST}


def alertmanager_plan(plan: dict[str, Any]) -> None:
    plan["triggers"]["alertmanager"] = {
        "token_parameter": "/lifeboat/shop/alertmanager-token",
        "alerts": [{"alertname": "PrimaryRegionDown", "labels": {"severity": "critical"},
                    "region": EAST}],
    }


def start_alertmanager(d: Drill) -> tuple[Any, str]:
    """A real Alertmanager whose receiver is lifeboat's webhook URL with the bearer token (the
    token's SecureString put first): it and the URL."""
    from . import alertmanager

    d.client("ssm").put_parameter(Name=alertmanager.TOKEN_PARAMETER, Value=ALERTMANAGER_TOKEN,
                                  Type="SecureString", Overwrite=True)
    d.secrets["Alertmanager's bearer token"] = ALERTMANAGER_TOKEN
    url = f"http://127.0.0.1:{d.invoke_port}/lambda-url/alertmanager-webhook/alertmanager"
    am = alertmanager.Alertmanager(d, url, ALERTMANAGER_TOKEN)
    d.say(f"Alertmanager on {am.url}, its webhook receiver at lifeboat's URL with the bearer token")
    return am, url


def scenario_alertmanager(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    from . import alertmanager

    am, url = start_alertmanager(d)
    d.say("breaking the primary: us-east-1 goes dark")
    d.break_primary()
    out.broke_at = time.time()
    # Anyone else on the URL: refused before anything is read or started
    body = {"version": "4", "status": "firing", "groupKey": "forged", "receiver": "x",
            "alerts": [{"status": "firing", "labels": PRIMARY_DOWN,
                        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}]}
    refused = [alertmanager.post(url, body, None), alertmanager.post(url, body, "Bearer guess")]
    d.say(f"a notification without the token, then with a wrong one: HTTP {refused}")
    untouched = not d.executions(sm) and lock_of(d) is None
    # Prometheus's rule fires: Alertmanager notifies lifeboat
    am.fire(PRIMARY_DOWN, "us-east-1 does not answer")
    d.say("Prometheus fires PrimaryRegionDown{severity=critical, region=us-east-1}: Alertmanager notifies lifeboat")
    d.follow(out, sm, inbox)
    # Alertmanager repeats the group's notification while it fires: still one run
    before = am.metrics()
    wait_for("two more notifications of the group", lambda: am.metrics()["sent"] >= before["sent"] + 2,
             60, 0.5)
    sent = am.metrics()
    runs = d.executions(sm)
    d.say(f"Alertmanager sent {sent['sent']:.0f} notifications ({sent['failed']:.0f} failed); "
          f"{len(runs)} execution(s)")
    report = out.report or {}
    verdict(d, out, {
        "without the token or with a wrong one: 401, nothing started": refused == [401, 401]
        and untouched,
        "Alertmanager's notification started the run": str(report.get("trigger", "")).startswith(
            "Alertmanager: PrimaryRegionDown"),
        "SUCCEEDED": out.status == "SUCCEEDED" and report.get("outcome") == "succeeded",
        "the writer and traffic moved to us-west-2": writer_region(d) == WEST
        and d.shop is not None and d.shop.www_region() == WEST,
        "the group's repeats started nothing more (one execution)": len(runs) == 1,
        "Alertmanager saw every notification accepted": sent["failed"] == 0 and sent["sent"] >= 3,
    })


# Scenarios with their own course (issue 17): each sets out.passed and out.verdict from named
# checks, so that a failure says which rule broke.


def verdict(d: Drill, out: Outcome, checks: dict[str, bool]) -> None:
    failed = [name for name, ok in checks.items() if not ok]
    out.passed = not failed
    out.verdict = (f"execution {out.status}, run {(out.report or {}).get('outcome')}; "
                   + ("all of: " + "; ".join(checks) if not failed else "FAILED: " + "; ".join(failed)))
    seen = " | ".join(d.said)
    d.say(out.verdict)
    if failed:
        # one line, so that a test's failure message (all CI keeps) shows what the drill saw
        out.verdict += f" || the drill's last lines: {seen}"


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


def failover_refused_then_overridden(
    d: Drill, out: Outcome, sm: str, inbox: str, between: Callable[[], bool] | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """The break-glass path as an operator walks it: `lifeboat failover` without the flag (its
    exit status and answer), `between()` judged at once (nothing started or changed?), then
    `--allow-data-loss`, a person approves, followed to its end."""
    code, refused = d.lifeboat("failover", "--to", WEST, "--state-machine-arn", sm)
    d.say(f"operator: lifeboat failover --to {WEST} -> exit {code}: {str(refused.get('message'))[:160]}")
    judged = between() if between is not None else True
    code2, started = d.lifeboat("failover", "--to", WEST, "--allow-data-loss", "--state-machine-arn", sm)
    if code2 != 0 or started.get("outcome") != "started":
        raise DrillError(f"lifeboat failover --allow-data-loss: exit {code2}: {started}")
    out.run_id = started["run_id"]
    d.say(f"operator: lifeboat failover --to {WEST} --allow-data-loss -> run {out.run_id}; a person approves")
    d.follow(out, sm, inbox, execution_arn=started["execution_arn"])
    return code, refused, judged


def scenario_override_data_loss(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    unknown = d.lag_ms is not None and d.lag_ms < 0
    d.say("breaking the primary: us-east-1 goes dark; " + (
        "no replication-lag datapoint: the lag is unknown" if unknown
        else "the lag is 60 s, above the plan's 30 s guard"))
    d.break_primary()
    out.broke_at = time.time()
    code, refused, untouched = failover_refused_then_overridden(
        d, out, sm, inbox,
        lambda: not d.executions(sm) and writer_region(d) == EAST and d.shop is not None
        and d.shop.www_region() == EAST and lock_of(d) is None)
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


def template_alarm(logical_id: str, overrides: dict[str, str]) -> dict[str, Any]:
    """PutMetricAlarm's arguments for an alarm of infra/template.yaml, resolved as CloudFormation
    would for the emulated stack (`overrides`: parameter values other than the defaults)."""
    stack = template.Context(template.load_template(), overrides=overrides)
    props = dict(stack.resolve(stack.template["Resources"][logical_id]["Properties"]))
    props.pop("AlarmDescription", None)
    return props


def evaluate_alarms(d: Drill, region: str = WEST) -> dict[str, Any]:
    """One evaluation of the region's metric alarms, as CloudWatch does once per period."""
    return d.control("/_lifeboat/alarms/evaluate", {"region": region})


def scenario_canary_silent(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    alarm = d.plan()["triggers"]["alarms"][0]
    silent = f"lifeboat-{APP}-canary-silent-{WEST}"
    cw = d.client("cloudwatch")
    d.say(f"the template's alarms, as infra/template.yaml defines them: {alarm}, {silent}")
    for logical in ("PrimaryUnhealthyAlarm", "CanarySilentAlarm"):
        cw.put_metric_alarm(**template_alarm(logical, {"AlarmName": alarm}))
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


def cache_in_both_regions(d: Drill) -> None:
    from . import cache
    d.cache_world = cache.set_up(d)  # type: ignore[attr-defined]
    d.secrets["the Redis password"] = cache.PASSWORD


def scenario_cache(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    from . import cache
    world: cache.CacheWorld = d.cache_world  # type: ignore[attr-defined]
    d.say("breaking the primary: us-east-1 goes dark, its Redis nodes and Sentinels stopped with it")
    d.break_primary()
    world.go_dark(EAST)
    out.broke_at = time.time()
    d.canary()
    d.follow(out, sm, inbox)
    failed_over = out.status == "SUCCEEDED" and writer_region(d) == WEST
    report = out.report or {}
    moved = (report.get("cache") or {}).get("outcome") or {}
    west = [p.addr for p in world.nodes[WEST]]
    east = [p.addr for p in world.nodes[EAST]]
    west_master = world.master_of(WEST)
    cart_there = west_master is not None and world.cmd(west_master, "GET", "cart:42") == "3 items"
    if west_master:
        world.cmd(west_master, "SET", "cart:43", "1 item")
    d.say(f"cache after the failover (database writer in {writer_region(d)}): us-west-2's Sentinels watch "
          f"{west_master} (each: {world.watched_by(WEST)}), the report names {moved.get('master')}; cart:42 there: {cart_there}; "
          f"not reached: {', '.join(moved.get('not_reached') or []) or '-'}; cart:43 written there")
    checks = {
        "failed over": failed_over,
        "the cache's master in us-west-2, watched by all its Sentinels": west_master in west,
        "the report names that master": moved.get("master") == west_master,
        "cart:42 kept": cart_there,
        "the report names the home nodes and Sentinels not reached (left as they were)":
            len(moved.get("not_reached") or []) == len(east) + 3,
    }
    if not d.go_home:
        verdict(d, out, checks)
        return
    d.say("us-east-1's Redis comes back: a1 empty as its own master, a2 its replica; its Sentinels with the standby's configuration (watching nothing)")
    world.come_back(EAST)
    back = d.failback(inbox)
    out.failback = back
    east_master = world.master_of(EAST)
    carts = [world.cmd(east_master, "GET", k) for k in ("cart:42", "cart:43")] if east_master else []
    d.say(f"cache after the failback: us-east-1's Sentinels watch {east_master}; carts there: {carts}; "
          f"us-west-2's Sentinels watch {world.master_of(WEST) or 'nothing'}")
    verdict(d, out, {
        **checks,
        "the failback passed": back.passed,
        "the failback brought the cache home with both carts (home caught up first; its empty a1 never won)":
            east_master in east and carts == ["3 items", "1 item"],
        "us-west-2 is the standby again: its Sentinels watch nothing, its nodes replicate home":
            world.master_of(WEST) is None and all(world.role(a) == "slave" for a in west),
    })


# PostgreSQL under Patroni (issue 22): real Patroni, etcd and PostgreSQL in both regions.

def patroni_in_both_regions(d: Drill) -> None:
    from . import patroni
    world = patroni.PatroniWorld(d)
    d.patroni_world = world  # type: ignore[attr-defined]
    d.secrets["the Patroni REST password"] = patroni.PASSWORD
    for region in (WEST, EAST):
        d.client("ssm", region).put_parameter(
            Name=patroni.PASSWORD_PARAMETER, Value=patroni.PASSWORD, Type="SecureString",
            Overwrite=True)
    plan = d.plan()
    patroni.patroni_plan(world, plan)
    d.put_plan(plan)
    if getattr(d, "home_sm", None):
        # the home copy reads its own region's plan
        d.client("ssm", EAST).put_parameter(
            Name=PLAN_PARAMETER, Value=json.dumps(plan), Type="String", Overwrite=True)
    world.regions[EAST].psql("insert into orders values (1), (2)")
    wait_for("orders 1 and 2 replicated to us-west-2", lambda: world.orders(WEST) == "{1,2}", 60)
    d.say("database: PostgreSQL under Patroni in both regions (its own etcd each); us-west-2 a "
          "standby cluster of us-east-1, orders 1 and 2 written at home and replicated")


def scenario_patroni(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    from . import patroni
    world: patroni.PatroniWorld = d.patroni_world  # type: ignore[attr-defined]
    assert d.shop is not None
    d.say("us-east-1's shop fails (its health endpoint answers 503); its database still answers: "
          "lifeboat switches over")
    d.shop.broken.add(EAST)
    out.broke_at = time.time()
    probe = d.canary()
    d.say(f"canary: {probe.get('failures')} of {probe.get('probes')} probes of us-east-1 failed")
    d.follow(out, sm, inbox)
    report = out.report or {}
    promotion = report.get("promotion") or {}
    failed_over = out.status == "SUCCEEDED" and report.get("outcome") == "succeeded"
    writer_after = world.writer()
    west_orders = world.orders(WEST)
    east_follows = world.streaming(EAST) or wait_for_quietly(lambda: world.streaming(EAST), 30)
    east_refuses = world.regions[EAST].try_psql("insert into orders values (99)") is None
    d.say(f"after the failover: writer {writer_after}; orders in us-west-2 {west_orders}; "
          f"us-east-1 a standby cluster streaming: {east_follows}; refuses writes: {east_refuses}")
    home = None
    if writer_after == WEST:
        world.regions[WEST].psql("insert into orders values (3)")
        wait_quietly = wait_for_quietly(lambda: world.orders(EAST) == "{1,2,3}", 30)
        d.say(f"order 3 written in us-west-2; replicated home: {wait_quietly}")
    if d.go_home and failed_over:
        d.shop.broken.discard(EAST)
        back = d.failback(inbox)
        out.failback = back
        home = {
            "writer": world.writer(),
            "orders": world.orders(EAST),
            "west_follows": world.streaming(WEST) or wait_for_quietly(lambda: world.streaming(WEST), 30),
            "mode": ((back.report or {}).get("promotion") or {}).get("mode"),
        }
        d.say(f"after the failback: {home}")
    checks = {
        "SUCCEEDED": failed_over,
        "the approval and the run made a switchover (RPO 0): the primary answered":
            promotion.get("mode") == "switchover",
        "us-west-2's Patroni leads as the only primary, with every order":
            writer_after == WEST and west_orders == "{1,2}",
        "us-east-1 is the standby cluster, streaming, read-only": east_follows and east_refuses,
        "traffic moved to us-west-2": (d.shop.www_region() == WEST) if home is None else True,
    }
    if d.go_home:
        checks["the failback brought the database home by switchover with every order, "
               "us-west-2 the standby again"] = bool(
            home and out.failback is not None and out.failback.passed and home["writer"] == EAST
            and home["orders"] == "{1,2,3}" and home["west_follows"])
    verdict(d, out, checks)


def scenario_patroni_dark_home(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    from . import patroni
    world: patroni.PatroniWorld = d.patroni_world  # type: ignore[attr-defined]
    east = world.regions[EAST]
    d.say("breaking the primary: us-east-1 goes dark, its Patroni, PostgreSQL and etcd killed")
    d.break_primary()
    east.kill()
    out.broke_at = time.time()
    code, _, _ = failover_refused_then_overridden(d, out, sm, inbox)
    report = out.report or {}
    promotion = report.get("promotion") or {}
    fence = {a["resource"]: a for a in (report.get("fence") or {}).get("actions", [])}
    db_fence = fence.get(f"database:{EAST} Patroni cluster") or {}
    failed_over = out.status == "SUCCEEDED" and world.writer() == WEST and world.orders(WEST) == "{1,2}"
    d.say(f"after the failover: writer {world.writer()}; orders in us-west-2 {world.orders(WEST)}; "
          f"the run's fence of the database: {db_fence.get('outcome')}")
    world.regions[WEST].psql("insert into orders values (3)")

    d.say("us-east-1 comes back: its AWS services and health endpoint answer; Patroni starts on its "
          "old data")
    d.heal_primary()
    east.start()
    two = wait_for_quietly(lambda: east.role() == "primary", 60)
    code3, dry = d.lifeboat("failback", "--dry-run", "--state-machine-arn", d.failback_arn)
    unfenced = [r for r in dry.get("refusals", []) if r.get("reason") == "home_not_synchronized"]
    d.say(f"us-east-1 is a primary of its own again: {two}; lifeboat failback --dry-run -> exit "
          f"{code3}: {[r.get('reason') for r in dry.get('refusals', [])] or str(dry)[:300]}")
    guard = d.home_copy("dr-scale-up", {"action": "guard"})
    actions = {a["resource"]: a["outcome"] for a in ((guard.get("fence") or {}).get("actions") or [])}
    d.say(f"home copy, dr-scale-up guard: {str(guard.get('verdict'))[:120]}; "
          f"database: {actions.get(f'database:{EAST} Patroni cluster')}; announced: {bool(guard.get('announced'))}")
    demoted = wait_for_quietly(lambda: east.role() == "standby_leader", 30)
    read_only = east.try_psql("insert into orders values (99)") is None
    again = d.home_copy("dr-scale-up", {"action": "guard"})
    again_db = {a["resource"]: a["outcome"] for a in ((again.get("fence") or {}).get("actions") or [])}
    # lifeboat's own verdict on home (the failback's dry run), not a glance at Patroni: a forked
    # standby's WAL receiver reconnects now and then, and reads "streaming" for a moment
    wait_for_quietly(lambda: world.streaming(EAST), 15)
    _, dry2 = d.lifeboat("failback", "--dry-run", "--state-machine-arn", d.failback_arn)
    forked = "forked" in json.dumps(dry2)
    streams = not forked and world.streaming(EAST)
    rebuilt = False
    if forked or not streams:
        d.say("us-east-1's timeline forked at the failover: it does not stream; rebuilt as "
              "docs/plan.md says (its data directory moved aside, Patroni bootstraps it from "
              "us-west-2)")
        world.rebuild(EAST)
        rebuilt = True
        streams = wait_for_quietly(lambda: world.streaming(EAST), 120)
    d.say(f"us-east-1 streams from us-west-2: {streams}")
    back, home = None, {}
    if d.go_home:
        back = d.failback(inbox)
        out.failback = back
        home = {"writer": world.writer(), "orders": world.orders(EAST),
                "west_follows": wait_for_quietly(lambda: world.streaming(WEST), 30)}
        d.say(f"after the failback: {home}")
    checks = {
        "without the override: refused (lag unknown, the primary dark), nothing started": code == 3,
        "SUCCEEDED, a failover with data loss, the override recorded": failed_over
            and promotion.get("mode") == "failover" and promotion.get("overridden") is True,
        "the run's fence says the home copy demotes the database when it returns (not Aurora)":
            db_fence.get("outcome") == "delegated" and "own copy" in str(db_fence.get("detail")),
        "home back as its own primary: the failback refused it as not fenced": two and code3 == 3
            and bool(unfenced) and "not fenced yet" in str(unfenced[0]),
        "its own copy demoted it (a standby cluster of us-west-2, read-only), announced once":
            actions.get(f"database:{EAST} Patroni cluster") == "demoted" and demoted and read_only
            and bool(guard.get("announced")) and not again.get("announced")
            and again_db.get(f"database:{EAST} Patroni cluster") == "read_only",
        "lifeboat named home's history as forked (never 'connected'), and once rebuilt it streams":
            forked and rebuilt and streams,
    }
    if back is not None:
        checks["the failback brought the database home by switchover with every order"] = (
            back.passed and home["writer"] == EAST and home["orders"] == "{1,2,3}"
            and bool(home["west_follows"]))
    verdict(d, out, checks)
    out.timings["home_rebuilt"] = 1.0 if rebuilt else 0.0


# The whole DigitalOcean stack (issue 22, item 6): Alertmanager, Patroni, Redis with Sentinel,
# DigitalOcean's DNS; no compute (the droplets run in both regions).

def digitalocean_stack_plan(plan: dict[str, Any]) -> None:
    from . import digitalocean
    digitalocean.plan(plan)
    alertmanager_plan(plan)


def digitalocean_stack(d: Drill) -> None:
    patroni_in_both_regions(d)
    cache_in_both_regions(d)


def scenario_digitalocean(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    from . import cache, patroni
    db: patroni.PatroniWorld = d.patroni_world  # type: ignore[attr-defined]
    redis: cache.CacheWorld = d.cache_world  # type: ignore[attr-defined]
    dns = d.dns
    assert dns is not None
    assert d.shop is not None
    am, _ = start_alertmanager(d)

    d.say("us-east-1's droplets fail (its health endpoint answers 503); its PostgreSQL and Redis "
          "still answer")
    d.shop.broken.add(EAST)
    out.broke_at = time.time()
    am.fire(PRIMARY_DOWN, "us-east-1 does not answer")
    d.say("Prometheus fires PrimaryRegionDown{severity=critical, region=us-east-1}: Alertmanager "
          "notifies lifeboat")
    d.follow(out, sm, inbox)
    report = out.report or {}
    promotion = report.get("promotion") or {}
    failed_over = out.status == "SUCCEEDED" and report.get("outcome") == "succeeded"
    before = am.metrics()
    wait_for_quietly(lambda: am.metrics()["sent"] >= before["sent"] + 2, 30)
    runs = len(d.executions(sm))
    there = {
        "writer": db.writer(), "orders": db.orders(WEST),
        "east_follows": db.streaming(EAST) or wait_for_quietly(lambda: db.streaming(EAST), 30),
        "east_refuses": db.regions[EAST].try_psql("insert into orders values (99)") is None,
        "cache_master": redis.master_of(WEST),
        "dns": dns.region(), "www": d.shop.www_region(),
    }
    west_master = there["cache_master"]
    there["cart"] = west_master is not None and redis.cmd(west_master, "GET", "cart:42") == "3 items"
    there["east_cache_replicates"] = west_master is not None and all(
        redis.role(n.addr) == "slave" for n in redis.nodes[EAST])
    d.say(f"after the failover: {there}; {runs} execution(s) while Alertmanager repeated")
    checks = {
        "Alertmanager's notification started the run; its repeats started nothing more":
            str(report.get("trigger", "")).startswith("Alertmanager: PrimaryRegionDown") and runs == 1,
        "SUCCEEDED by switchover (RPO 0): the primary's database answered":
            failed_over and promotion.get("mode") == "switchover",
        "us-west-2's Patroni leads with every order; us-east-1 a read-only standby cluster streaming":
            there["writer"] == WEST and there["orders"] == "{1,2}" and there["east_follows"]
            and there["east_refuses"],
        "the cache's master in us-west-2 with cart:42, us-east-1's nodes its replicas":
            bool(there["cart"]) and there["east_cache_replicates"],
        "DigitalOcean holds us-west-2's records, and www answers from there":
            there["dns"] == WEST and there["www"] == WEST,
    }
    if there["writer"] == WEST and west_master:
        db.regions[WEST].psql("insert into orders values (3)")
        redis.cmd(west_master, "SET", "cart:43", "1 item")
        d.say("order 3 and cart:43 written in us-west-2")
    if d.go_home and failed_over:
        d.say("us-east-1's droplets answer again: Prometheus resolves PrimaryRegionDown")
        am.resolve(PRIMARY_DOWN, "us-east-1 answers")
        back = d.failback(inbox)
        out.failback = back
        east_master = redis.master_of(EAST)
        home = {
            "writer": db.writer(), "orders": db.orders(EAST),
            "west_follows": db.streaming(WEST) or wait_for_quietly(lambda: db.streaming(WEST), 30),
            "mode": ((back.report or {}).get("promotion") or {}).get("mode"),
            "cache_master": east_master,
            "carts": [redis.cmd(east_master, "GET", k) for k in ("cart:42", "cart:43")] if east_master else [],
            "dns": dns.region(), "www": d.shop.www_region(),
        }
        d.say(f"after the failback: {home}")
        checks["the way home: a switchover back with every order and cart, us-west-2 the standby, "
               "DigitalOcean holding us-east-1's records"] = (
            back.passed and home["writer"] == EAST and home["orders"] == "{1,2,3}"
            and home["west_follows"] and home["mode"] == "switchover"
            and home["carts"] == ["3 items", "1 item"] and redis.master_of(WEST) is None
            and home["dns"] == EAST and home["www"] == EAST)
    changed = [r for r in dns.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]
    d.say(f"DigitalOcean's API: {len(dns.requests)} requests ({len(changed)} changes), "
          f"{len(dns.violations)} rejected by its OpenAPI description")
    checks["every request to DigitalOcean and every answer as its OpenAPI description says"] = (
        not dns.violations and bool(changed))
    verdict(d, out, checks)
    out.timings["digitalocean_requests"] = float(len(dns.requests))


# The Linode stack (issue 23): MariaDB with a GTID binlog replica, the shop's pods on a
# Kubernetes cluster in each region, Linode's DNS; the canary sees the /healthz outage.

def linode_stack(d: Drill) -> None:
    from . import linode
    world = linode.MariaDBWorld(d)
    d.mariadb_world = world  # type: ignore[attr-defined]
    clusters = linode.Clusters(d)
    d.k8s_clusters = clusters  # type: ignore[attr-defined]
    d.stoppers.append(clusters.stop)
    plan = d.plan()
    linode.plan(world, clusters, plan)
    d.put_plan(plan)
    if getattr(d, "home_sm", None):
        # the home copy reads its own region's plan
        d.client("ssm", EAST).put_parameter(
            Name=PLAN_PARAMETER, Value=json.dumps(plan), Type="String", Overwrite=True)
    east = world.servers[EAST]
    if not (east.shop_write("INSERT INTO shop.orders VALUES (1)")
            and east.shop_write("INSERT INTO shop.orders VALUES (2)")):
        raise DrillError("the shop could not write orders 1 and 2 in us-east-1")
    wait_for("orders 1 and 2 replicated to us-west-2", lambda: world.orders(WEST) == "{1,2}", 30)
    d.say(f"database: MariaDB in both regions ({east.addr} the source, "
          f"{world.servers[WEST].addr} its read-only GTID replica), orders 1 and 2 written at home "
          f"and replicated; Kubernetes: each region's cluster (the contract-checked fake), "
          f"us-west-2's workloads at standby {clusters.replicas(WEST)}")


def scenario_linode(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    from . import linode
    world: linode.MariaDBWorld = d.mariadb_world  # type: ignore[attr-defined]
    k8s: linode.Clusters = d.k8s_clusters  # type: ignore[attr-defined]
    dns = d.dns
    assert dns is not None
    assert d.shop is not None
    d.say("us-east-1's shop fails (its /healthz answers 503); its MariaDB still answers")
    d.shop.broken.add(EAST)
    out.broke_at = time.time()
    probe = d.canary()
    d.say(f"canary: {probe.get('failures')} of {probe.get('probes')} probes of us-east-1 failed")
    d.follow(out, sm, inbox)
    report = out.report or {}
    promotion = report.get("promotion") or {}
    failed_over = out.status == "SUCCEEDED" and report.get("outcome") == "succeeded"
    there = {
        "writer": world.writer(), "orders": world.orders(WEST),
        "east_replicates": world.replicates(EAST) or wait_for_quietly(lambda: world.replicates(EAST), 30),
        "east_refuses": not world.servers[EAST].shop_write("INSERT INTO shop.orders VALUES (99)"),
        "west_pods": k8s.replicas(WEST), "dns": dns.region(), "www": d.shop.www_region(),
    }
    d.say(f"after the failover: {there}")
    checks = {
        "the canary's alarm started the run; SUCCEEDED by switchover (RPO 0): the source answered":
            failed_over and promotion.get("mode") == "switchover",
        "us-west-2's MariaDB takes writes with every order; us-east-1's read-only, replicating it":
            there["writer"] == WEST and there["orders"] == "{1,2}" and there["east_replicates"]
            and there["east_refuses"],
        "us-west-2's workloads at their active replicas, every pod ready":
            k8s.at(WEST, "active") and all(spec == ready for spec, ready in there["west_pods"].values()),
        "Linode holds us-west-2's records, and www answers from there":
            there["dns"] == WEST and there["www"] == WEST,
    }
    if there["writer"] == WEST:
        wrote = world.servers[WEST].shop_write("INSERT INTO shop.orders VALUES (3)")
        d.say(f"order 3 written in us-west-2: {wrote}")
    if d.go_home and failed_over:
        d.say("us-east-1's shop answers again")
        d.shop.broken.discard(EAST)
        back = d.failback(inbox)
        out.failback = back
        home = {
            "writer": world.writer(), "orders": world.orders(EAST),
            "west_replicates": world.replicates(WEST) or wait_for_quietly(lambda: world.replicates(WEST), 30),
            "mode": ((back.report or {}).get("promotion") or {}).get("mode"),
            "west_pods": k8s.replicas(WEST), "dns": dns.region(), "www": d.shop.www_region(),
        }
        d.say(f"after the failback: {home}")
        checks["the way home: a switchover back with every order, us-west-2 the read-only replica, "
               "its workloads back at standby, Linode holding us-east-1's records"] = (
            back.passed and home["writer"] == EAST and home["orders"] == "{1,2,3}"
            and home["west_replicates"] and home["mode"] == "switchover"
            and k8s.at(WEST, "standby") and home["dns"] == EAST and home["www"] == EAST)
    changed = [r for r in dns.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]
    d.say(f"Linode's API: {len(dns.requests)} requests ({len(changed)} changes), "
          f"{len(dns.violations)} rejected by its OpenAPI description; Kubernetes: "
          f"{len(k8s.patches)} scale patches, {len(k8s.violations)} rejected by its description")
    checks["every request to Linode and to Kubernetes and every answer as their OpenAPI "
           "descriptions say"] = not dns.violations and bool(changed) and not k8s.violations \
        and bool(k8s.patches)
    verdict(d, out, checks)
    out.timings["linode_requests"] = float(len(dns.requests))
    out.timings["kubernetes_patches"] = float(len(k8s.patches))


def scenario_linode_dark_home(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    from . import linode
    world: linode.MariaDBWorld = d.mariadb_world  # type: ignore[attr-defined]
    k8s: linode.Clusters = d.k8s_clusters  # type: ignore[attr-defined]
    assert d.shop is not None
    east = world.servers[EAST]
    db = f"database:{EAST} MySQL server"
    d.say("breaking the primary: us-east-1 goes dark, its MariaDB killed and its Kubernetes API "
          "silent")
    d.break_primary()
    east.kill()
    k8s.go_dark(EAST)
    out.broke_at = time.time()
    code, _, _ = failover_refused_then_overridden(d, out, sm, inbox)
    report = out.report or {}
    promotion = report.get("promotion") or {}
    fence = {a["resource"]: a for a in (report.get("fence") or {}).get("actions", [])}
    db_fence = fence.get(db) or {}
    failed_over = out.status == "SUCCEEDED" and world.writer() == WEST and world.orders(WEST) == "{1,2}"
    d.say(f"after the failover: writer {world.writer()}; orders in us-west-2 {world.orders(WEST)}; "
          f"the run's fence of the database: {db_fence.get('outcome')}")
    wrote = world.servers[WEST].shop_write("INSERT INTO shop.orders VALUES (3)")
    d.say(f"order 3 written in us-west-2: {wrote}")

    d.say("us-east-1 comes back: its AWS services, health endpoint and Kubernetes API answer; "
          "MariaDB starts on its old data, writable")
    d.heal_primary()
    k8s.go_dark(EAST, dark=False)
    east.start()
    two = east.sql("SELECT @@read_only", quiet=True) == "0"
    code3, dry = d.lifeboat("failback", "--dry-run", "--state-machine-arn", d.failback_arn)
    unfenced = [r for r in dry.get("refusals", []) if r.get("reason") == "home_not_synchronized"]
    d.say(f"us-east-1's server takes writes again: {two}; lifeboat failback --dry-run -> exit "
          f"{code3}: {[r.get('reason') for r in dry.get('refusals', [])] or str(dry)[:300]}")
    guard = d.home_copy("dr-scale-up", {"action": "guard"})
    actions = {a["resource"]: a["outcome"] for a in ((guard.get("fence") or {}).get("actions") or [])}
    d.say(f"home copy, dr-scale-up guard: {str(guard.get('verdict'))[:120]}; database: "
          f"{actions.get(db)}; announced: {bool(guard.get('announced'))}")
    read_only = not east.shop_write("INSERT INTO shop.orders VALUES (99)")
    again = d.home_copy("dr-scale-up", {"action": "guard"})
    again_db = {a["resource"]: a["outcome"] for a in ((again.get("fence") or {}).get("actions") or [])}
    follows = wait_for_quietly(lambda: world.replicates(EAST) and world.orders(EAST) == "{1,2,3}", 30)
    d.say(f"home copy's guard again: database {again_db.get(db)}; us-east-1 replicates us-west-2 "
          f"with every order: {follows}")
    back, home = None, {}
    if d.go_home:
        back = d.failback(inbox)
        out.failback = back
        home = {"writer": world.writer(), "orders": world.orders(EAST),
                "west_replicates": wait_for_quietly(lambda: world.replicates(WEST), 30),
                "east_pods": k8s.replicas(EAST), "west_pods": k8s.replicas(WEST)}
        d.say(f"after the failback: {home}")
    checks = {
        "without the override: refused (lag unknown, the source dark), nothing started": code == 3,
        "SUCCEEDED, a failover with data loss, the override recorded": failed_over
            and promotion.get("mode") == "failover" and promotion.get("overridden") is True,
        "the run's fence says the home copy fences the database when it returns":
            db_fence.get("outcome") == "delegated" and "own copy" in str(db_fence.get("detail")),
        "home back writable: the failback refused it as not fenced": two and code3 == 3
            and bool(unfenced) and "not fenced yet" in str(unfenced[0]),
        "its own copy made it read-only (announced once), then had it replicate us-west-2 and "
        "catch up": actions.get(db) == "demoted" and read_only and bool(guard.get("announced"))
            and not again.get("announced") and again_db.get(db) == "read_only" and follows,
    }
    if back is not None:
        checks["the failback brought the shop home by switchover with every order, us-east-1's "
               "workloads active, us-west-2's at standby"] = (
            back.passed and home["writer"] == EAST and home["orders"] == "{1,2,3}"
            and bool(home["west_replicates"]) and k8s.at(EAST, "active") and k8s.at(WEST, "standby"))
    verdict(d, out, checks)


# The shop's pods on EKS (issue 23 item 2): the AWS stack, each region's compute also an EKS
# cluster that lets dr-scale-up in by its IAM role (the token it signs, checked through STS).

def eks_clusters(d: Drill) -> None:
    from . import eks
    clusters = eks.EksClusters(d)
    d.k8s_clusters = clusters  # type: ignore[attr-defined]
    d.stoppers.append(clusters.stop)
    plan = d.plan()
    eks.plan(clusters, plan)
    d.put_plan(plan)
    d.say(f"Kubernetes: an EKS cluster in each region (the contract-checked fake over https, its "
          f"own CA), us-west-2's workloads at standby {clusters.replicas(WEST)}; each lets in "
          f"both copies' dr-scale-up roles (access entries) by the token STS vouches for")


def scenario_eks(d: Drill, out: Outcome, sm: str, inbox: str) -> None:
    from . import eks
    k8s: eks.EksClusters = d.k8s_clusters  # type: ignore[attr-defined]
    d.say(f"breaking the primary: us-east-1 goes dark ({', '.join(OUTAGE_SERVICES[:4])}, ...)")
    d.break_primary()
    out.broke_at = time.time()
    probe = d.canary()
    d.say(f"canary: {probe.get('failures')} of {probe.get('probes')} probes of us-east-1 failed")
    d.follow(out, sm, inbox)
    report = out.report or {}
    failed_over = out.status == "SUCCEEDED" and report.get("outcome") == "succeeded"
    role = f"arn:aws:iam::{eks.ACCOUNT}:role/{function_key('dr-scale-up', WEST)}"
    there = {"west_pods": k8s.replicas(WEST), "let_in": sorted(set(k8s.authenticated(WEST))),
             "refused": k8s.refused(WEST)}
    d.say(f"after the failover: {there}")
    checks = {
        "SUCCEEDED: the failover ran to its end": failed_over,
        "us-west-2's EKS workloads at their active replicas, every pod ready":
            k8s.at(WEST, "active") and all(spec == ready for spec, ready in there["west_pods"].values()),
        "us-west-2's cluster let in only us-west-2's dr-scale-up role, by the token STS vouched "
        "for, and refused nothing": there["let_in"] == [role] and not there["refused"],
    }
    if d.go_home and failed_over:
        back = d.failback(inbox)
        out.failback = back
        checks["the way home: us-west-2's EKS workloads back at standby, us-east-1's active"] = (
            back.passed and k8s.at(WEST, "standby") and k8s.at(EAST, "active"))
    d.say(f"Kubernetes: {len(k8s.patches)} scale patches, {len(k8s.violations)} rejected by its "
          f"OpenAPI description; {len(k8s.authenticated(WEST))} requests let in by STS")
    checks["every request to Kubernetes and every answer as its OpenAPI description says"] = \
        not k8s.violations and bool(k8s.patches)
    # each token dr-scale-up signed is a credential for minutes: none may reach a log line
    for i, token in enumerate(sorted(k8s.tokens())):
        d.secrets[f"EKS token {i + 1}"] = token
        d.secrets[f"EKS token {i + 1}'s signature"] = eks.signature(token)
    verdict(d, out, checks)
    out.timings["kubernetes_patches"] = float(len(k8s.patches))
    out.timings["eks_tokens"] = float(len(k8s.tokens()))


def wait_for_quietly(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


LAG_ABOVE_GUARD_MS = 60_000.0  # the example plan's guard is 30 s

SCENARIOS: dict[str, Scenario] = {
    "failover": Scenario(
        "the primary goes dark; a person approves; the shop is served from us-west-2",
        way_home=True),
    "warm-standby": Scenario(
        "warm standby: us-west-2 runs half its capacity; the plan shifts at 50 %: traffic moves once the database is promoted, scale-up goes on to full",
        plan=warm_standby_plan, fault=warm_standby_running, report_check=shifted_before_full_capacity),
    "lag-above-guard": Scenario(
        "replication lag is above the RPO guard: refused, announced once, nothing moves",
        lag_ms=LAG_ABOVE_GUARD_MS, trigger="storm", expect=Refused()),
    "stale-lag": Scenario(
        "the newest lag datapoint is 4 minutes old (guard 30 s): the lag counts as unknown; refused, announced once, nothing moves",
        lag_age_seconds=240, trigger="storm",
        # a lag of 0.8 s, but measured 4 minutes ago: it says nothing about the last minutes
        expect=Refused(says="replication lag is unknown")),
    "approval-rejected": Scenario(
        "the person rejects: the run is aborted, nothing moves",
        decisions=("reject",), expect=ABORTED, needs_approval=True),
    "approval-timeout": Scenario(
        "nobody answers within the plan's timeout (abort): nothing moves",
        plan=approval_timeout("abort"), decisions=(), expect=ABORTED, needs_approval=True),
    "approval-timeout-proceed": Scenario(
        "nobody answers; the plan proceeds once the outage is confirmed for its minutes",
        plan=approval_timeout("proceed"), decisions=(), needs_approval=True),
    "promotion-fails": Scenario(
        "RDS cancels the promotion: the failure path notifies, traffic untouched",
        fault=promotion_cancelled, expect=FAILED),
    "alarm-storm": Scenario(
        "the canary and EventBridge deliver 30 events at once: one run, one page",
        trigger="storm"),
    "override-data-loss": Scenario(
        "lag above the guard: refused without the flag; `lifeboat failover --allow-data-loss`, a person approves, failover with data loss",
        lag_ms=LAG_ABOVE_GUARD_MS, course=scenario_override_data_loss),
    "approved-mode-changes": Scenario(
        "a switchover is approved, then the primary's database goes dark: lifeboat asks again for the failover",
        course=scenario_approved_mode_changes),
    "manual-after-abort": Scenario(
        "the person rejects; at once an operator runs `lifeboat failover`: its own run, approved, succeeds",
        course=scenario_manual_after_abort),
    "retry-after-reject": Scenario(
        "the person rejects; the canary fires again in the same incident window: a new attempt runs",
        plan=no_pause_between_runs, course=scenario_retry_after_reject),
    "stop-while-approval": Scenario(
        "an operator stops the execution while it waits for approval: recorded, lock freed, one notice",
        course=scenario_stop_while_approval),
    "stale-lock": Scenario(
        "a lock left by a closed execution; the primary goes dark: the run takes it over and says so",
        course=scenario_stale_lock),
    "verify-waits": Scenario(
        "resolvers serve the old address for a while after the flip: verify tries again and passes",
        fault=resolvers_keep_the_old_answer, course=scenario_verify_waits),
    "hostile-text": Scenario(
        "us-east-1's health endpoint answers a hostile body: the approval e-mail and the report show it inert and bounded; approved, the run succeeds",
        course=scenario_hostile_text),
    "forged-probe": Scenario(
        "during a mute of the failover alarm, forged canary events (one an hour old, one of now) are put on the bus: no run",
        course=scenario_forged_probe),
    "canary-silent": Scenario(
        "the canary goes silent, then us-east-1 goes dark: the emulated CloudWatch evaluates the template's alarms; the canary-silent alarm pages a person, the failover alarm stays OK (missing data is not breaching): no run",
        course=scenario_canary_silent),
    "control-plane-only": Scenario(
        "us-east-1's RDS API goes dark while its database endpoint and health endpoints serve; the failover alarm fires: refused (no failover with data loss), announced once, nothing moves",
        course=scenario_control_plane_only),
    "old-region-returns": Scenario(
        "a failover with data loss (us-east-1 fenced as far as reachable: unreachable, recorded); us-east-1 comes back at active capacity: its own copy fences it and says so, starts no run",
        home_copy=True, course=scenario_old_region_returns),
    "alertmanager": Scenario(
        "a real Alertmanager is the trigger: requests without its bearer token are refused (401), its notification of PrimaryRegionDown starts the run, a person approves, the group's repeats start nothing more",
        plan=alertmanager_plan, course=scenario_alertmanager),
    "record-upsert": Scenario(
        "traffic moves by Route 53 record UPSERT (examples/plan-record-upsert.yaml; the outage spares Route 53's control plane, which this mode needs): the run waits for the change to be INSYNC, verifies, and the way home does the same",
        traffic="record_upsert", spares=("route53",), way_home=True),
    "patroni": Scenario(
        "the shop's PostgreSQL under Patroni (real Patroni, etcd and PostgreSQL in each region; us-west-2 a standby cluster): us-east-1's shop fails while its database answers; a person approves; lifeboat switches over (us-east-1 demoted first, us-west-2 promoted once it has every order), traffic moves, verify reads the writer from Patroni; the way home is the failback machine's switchover back: no order lost either way",
        fault=patroni_in_both_regions, course=scenario_patroni),
    "patroni-dark-home": Scenario(
        "the worst night under Patroni: us-east-1 goes dark with its database; the lag is unknown, so only a person's override fails over (with data loss, approved); us-east-1 comes back as a primary of its own beside us-west-2's; the failback refuses it as not fenced, its own copy's guard makes it a standby cluster of us-west-2 (read-only, announced once); rebuilt where its timeline forked, it streams, and the failback brings the shop home with every order",
        fault=patroni_in_both_regions, course=scenario_patroni_dark_home, home_copy=True),
    "cache": Scenario(
        "the shop's Redis (Sentinel in each region) moves with the database: us-east-1 goes dark with its cache; us-west-2's replica furthest along becomes the master, its Sentinels watch it, verify sees it; home comes back empty (its Sentinels reset to the standby's configuration) and the way home catches it up before promoting it: no cart lost",
        fault=cache_in_both_regions, course=scenario_cache),
    "digitalocean": Scenario(
        "the whole DigitalOcean stack (make drill ARGS=\"--stack digitalocean\"): Prometheus's Alertmanager is the trigger, PostgreSQL under Patroni and Redis under Sentinel in each region, DNS at DigitalOcean (the contract-checked fake), no compute to scale; us-east-1's droplets fail while its database and cache answer; a person approves; lifeboat switches Patroni over and moves the cache, sets the domain's records, verifies; the group's repeats start nothing more; the way home does it all back: no order or cart lost",
        plan=digitalocean_stack_plan, fault=digitalocean_stack, course=scenario_digitalocean,
        stack="digitalocean"),
    "linode": Scenario(
        "the Linode stack (make drill ARGS=\"--stack linode\"): MariaDB with a GTID binlog replica in us-west-2 (real servers), the shop's pods on a Kubernetes cluster in each region and DNS at Linode (both contract-checked fakes); us-east-1's /healthz fails while its database answers; the canary's alarm starts the run, a person approves; lifeboat makes us-east-1's server read-only, promotes us-west-2's once it holds every order ‖ scales us-west-2's deployments and stateful set to active, sets the domain's records at Linode, verifies; the way home does it all back: no order lost",
        fault=linode_stack, course=scenario_linode, stack="linode"),
    "linode-dark-home": Scenario(
        "the worst night on the Linode stack: us-east-1 goes dark with its MariaDB and Kubernetes API; the replica's lag is unknown, so only a person's override fails over (with data loss, approved); us-east-1's server comes back writable beside us-west-2's; the failback refuses it as not fenced, its own copy's guard makes it read-only (announced once), then has it replicate us-west-2 and catch up; the failback brings the shop home with every order",
        fault=linode_stack, course=scenario_linode_dark_home, stack="linode", home_copy=True),
    "eks": Scenario(
        "the shop's pods on EKS in each region (the contract-checked Kubernetes fake over https, with its cluster's CA) beside the AWS stack: us-east-1 goes dark; a person approves; dr-scale-up scales us-west-2's deployments and stateful set to active with the IAM-authenticated token it signs with its role (no stored token; the cluster has STS vouch for it and maps the role through its access entries); the way home returns them to standby",
        fault=eks_clusters, course=scenario_eks),
    "home-copy-alarm": Scenario(
        "after a failover, us-east-1's own copy gets its alarm: refused (a failback, not a failover); `lifeboat failback` from us-west-2 brings the shop home",
        home_copy=True, course=scenario_home_copy_alarm),
}
