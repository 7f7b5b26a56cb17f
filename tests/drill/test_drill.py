"""The drill's scenarios as integration tests: each runs the real state machine in the emulator's
Step Functions with the real function binaries (scripts/drill.py), then checks the end state in
the emulated AWS and the execution history.

Needs the debug binaries (`cargo build --workspace --all-targets`; `make test` builds them) and
cargo-lambda (the venv). Each test starts its own emulator, Lambda APIs and shop.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import lifeboat_drill as drill_mod  # noqa: E402



@pytest.fixture
def run_drill() -> Iterator[Any]:
    started: list[drill_mod.Drill] = []

    def run(scenario: str, approval: bool = True, go_home: bool = False,
            **kwargs: Any) -> tuple[drill_mod.Drill, drill_mod.Outcome]:
        d = drill_mod.Drill(scenario, approval, time_scale=0.05, verbose=False, go_home=go_home,
                            **kwargs)
        started.append(d)
        return d, d.run()

    yield run
    for d in started:
        d.stop()


def www(d: drill_mod.Drill) -> str | None:
    """The region www.shop.example.com answers from, as a resolver sees it (by the plan's
    traffic mode: the ARC routing controls behind Route 53's failover records, or the record)."""
    assert d.shop is not None
    return d.shop.www_region()


def writer(d: drill_mod.Drill) -> str:
    gc = d.client("rds").describe_global_clusters(GlobalClusterIdentifier="shop-global")
    member = next(m for m in gc["GlobalClusters"][0]["GlobalClusterMembers"] if m["IsWriter"])
    return member["DBClusterArn"].split(":")[3]


def capacity(d: drill_mod.Drill) -> tuple[dict[str, int], int]:
    services = d.client("ecs").describe_services(cluster="shop", services=["web", "checkout"])
    asg = d.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["shop-workers-usw2"])["AutoScalingGroups"][0]
    return {s["serviceName"]: s["desiredCount"] for s in services["services"]}, asg["DesiredCapacity"]


def parameter(d: drill_mod.Drill, name: str) -> Any:
    try:
        return json.loads(d.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
    except d.client("ssm").exceptions.ParameterNotFound:
        return None


def visited(out: drill_mod.Outcome) -> list[str]:
    return [s["name"] for s in out.states if s["type"].endswith("Entered")]


def assert_entered_in_order(names: list[str], path: list[Any]) -> None:
    """The states of `path` were entered in its order; a tuple in it names the first states of
    a Parallel state's branches, which run together and may be entered in either order (but
    both after what precedes them and before what follows)."""
    flat = [n for step in path for n in ([step] if isinstance(step, str) else step)]
    seen = [n for n in names if n in flat]
    got, i = [], 0
    for step in path:
        width = 1 if isinstance(step, str) else len(step)
        chunk = seen[i:i + width]
        got.append(chunk[0] if isinstance(step, str) and chunk else set(chunk))
        i += width
    assert got + seen[i:] == [s if isinstance(s, str) else set(s) for s in path], seen


def assert_nothing_moved(d: drill_mod.Drill) -> None:
    assert writer(d) == "us-east-1"
    assert www(d) == "us-east-1"
    assert capacity(d) == ({"web": 1, "checkout": 1}, 1)


def test_failover_approved_by_link_then_failback_brings_the_shop_home(run_drill: Any) -> None:
    d, out = run_drill("failover", go_home=True)
    assert out.passed, out.verdict
    # execution history: the whole path, in order
    names = visited(out)
    assert_entered_in_order(names, ["Assess", "Approval", ("Database: start", "Compute: start"),
                                    "Traffic: start", "Verify", "Record", "Notify", "Done"])
    approval = next(e for e in d.client("stepfunctions").get_execution_history(
        executionArn=out.execution_arn)["events"] if e["type"] == "TaskSucceeded"
        and "Drill Operator" in e["taskSucceededEventDetails"].get("output", ""))
    assert json.loads(approval["taskSucceededEventDetails"]["output"])["decision"] == "approve"
    # the example plan's routing controls moved the traffic (issue 18 item 9): us-east-1 is dark,
    # and so is its ARC cluster endpoint, the plan's first; the flip went through us-west-2's
    flips = [json.loads(e["taskSucceededEventDetails"]["output"])["Payload"] for e in
             d.client("stepfunctions").get_execution_history(
                 executionArn=out.execution_arn, maxResults=1000)["events"]
             if e["type"] == "TaskSucceeded"
             and '"flipped"' in e["taskSucceededEventDetails"].get("output", "")]
    assert [f["mode"] for f in flips] == ["routing_control"], flips
    assert "/_arc/us-west-2/" in flips[0]["endpoint"], flips
    # routing controls take effect when set: nothing to wait for, no poll, no status asked
    assert not {"Traffic: wait", "Traffic: wait briefly", "Traffic: status"} & set(names), names
    # end state in the emulated AWS once failed over (read before the way home began)
    es = out.end_state
    assert es["writer_region"] == "us-west-2"
    assert es["www_region"] == "us-west-2"
    assert (es["ecs_desired"], es["asg_desired"]) == ({"web": 6, "checkout": 4}, 6)
    # the DR database raised to the plan's active range before traffic shifted
    assert es["db_acu_west"] == (8.0, 64.0), es
    state = es["run_state"]
    assert state["active_region"] == "us-west-2" and state["epoch"] == 1
    assert state["last_run"]["outcome"] == "succeeded"
    assert es["lock"] is None
    report = parameter(d, f"/lifeboat/shop/runs/{out.run_id}")
    assert report["rto_seconds"] > 0 and report["rpo_estimate_seconds"] is not None
    # pilot light, full capacity first: traffic shifted with every task and instance in
    cap = report["capacity_at_shift"]
    assert (cap["planned_percent"], cap["ready"], cap["desired"]) == (100, 16, 16), cap
    assert [s["name"] for s in report["timeline"]["steps"]][:2] == ["Assess", "Approval"]
    # readiness, evaluated on schedule before the outage, found the plan would work (and, all
    # clear the first time, paged nobody)
    assert out.readiness["ready"] is True and out.readiness["critical"] == [], out.readiness
    assert out.readiness["ok"] >= 16 and out.readiness["notified"] is False
    # notifications: one approval request, one report
    subjects = [n["subject"] for n in out.notifications]
    assert len(subjects) == 2, subjects
    assert "APPROVAL NEEDED" in subjects[0] and "succeeded" in subjects[1]

    # the way home: refused (naming why) while us-east-1 was resyncing / not healthy long enough
    fb = out.failback
    assert fb is not None and fb.passed, fb.verdict
    assert {"home_not_healthy_long_enough", "home_unhealthy", "home_not_synchronized"} & set(fb.waited_for), fb.waited_for
    names = visited(fb)
    assert_entered_in_order(names, ["Assess", ("Database: start", "Compute: start"),
                                    "Traffic: start", "Verify", "Standby: scale down", "Record",
                                    "Notify", "Done"])
    assert "Approval" not in names  # an operator asked (lifeboat failback): a person decided
    assert not {"Traffic: wait", "Traffic: status"} & set(names), names
    scheduled = [json.loads(e["taskScheduledEventDetails"]["parameters"]) for e in
                 d.client("stepfunctions").get_execution_history(
                     executionArn=fb.execution_arn, maxResults=1000)["events"]
                 if e["type"] == "TaskScheduled"]
    db_start = next(p["Payload"] for p in scheduled if p["FunctionName"].endswith("db-failover")
                    and p["Payload"].get("action") == "start")
    assert db_start["planned"] is True and db_start["target_region"] == "us-east-1"
    # home again: writer, traffic, us-west-2 back to standby capacity, us-east-1 active
    assert writer(d) == "us-east-1"
    assert www(d) == "us-east-1"
    assert capacity(d) == ({"web": 1, "checkout": 1}, 1)
    assert fb.end_state["ecs_desired_east"] == {"web": 6, "checkout": 4}
    # and its database back to the plan's standby range
    assert "Standby: database capacity" in names
    assert fb.end_state["db_acu_west"] == (0.5, 16.0), fb.end_state
    state = parameter(d, "/lifeboat/shop/state")
    assert state["active_region"] == "us-east-1" and state["epoch"] == 2
    assert state["last_run"]["run_id"] == fb.run_id and state["last_run"]["outcome"] == "succeeded"
    assert parameter(d, "/lifeboat/shop/lock") is None
    back = parameter(d, f"/lifeboat/shop/runs/{fb.run_id}")
    assert back["kind"] == "failback" and back["rpo_estimate_seconds"] == 0.0
    assert any("failback into us-east-1 succeeded" in n["subject"] for n in fb.notifications), fb.notifications
    # no secret in any function log line; and the check is real: a leaked task token is caught
    assert "SECRET" not in out.verdict
    history = d.client("stepfunctions").get_execution_history(
        executionArn=out.execution_arn, maxResults=1000)["events"]
    token = next(json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["task_token"]
                 for e in history if "task_token" in e.get("taskScheduledEventDetails", {}).get("parameters", ""))
    with open(d.work / "functions.log", "a") as log:
        log.write(f"oops {token}\n")
    d.check_logs(out)
    assert "SECRET IN THE LOGS: the task token" in out.verdict and not out.passed


def test_warm_standby_shifts_traffic_at_the_plans_share_and_scales_on_to_full(run_drill: Any) -> None:
    # GIVEN us-west-2 at warm standby (web 3, checkout 2, workers 3: half of active) and a plan
    # that shifts at 50 %
    d, out = run_drill("warm-standby", approval=False)
    # THEN the run succeeded, and the report's check held: the shift found the plan's share
    # ready and not everything (the new instances take 120 s, the promotion 70 s)
    assert out.passed, out.verdict
    names = visited(out)
    assert "Compute: serving" in names and "Compute: steady" not in names, names
    assert_entered_in_order(names, ["Assess", ("Database: start", "Compute: start"),
                                    "Compute: serving", "Traffic: start", "Verify", "Record"])
    cap = out.report["capacity_at_shift"]
    assert cap["planned_percent"] == 50 and cap["desired"] == 16, cap
    assert cap["desired"] / 2 <= cap["ready"] < cap["desired"], cap
    by_name = {r["resource"]: r for r in cap["resources"]}
    assert by_name["asg:shop-workers-usw2"]["ready"] == 3, by_name
    # AND scale-up went on: the desired counts are the active capacity
    assert (out.end_state["ecs_desired"], out.end_state["asg_desired"]) == ({"web": 6, "checkout": 4}, 6)
    assert out.end_state["writer_region"] == "us-west-2" and out.end_state["www_region"] == "us-west-2"


def test_record_upserts_are_waited_for_until_insync_there_and_back(run_drill: Any) -> None:
    # GIVEN a plan that moves traffic by Route 53 record UPSERT (examples/plan-record-upsert.yaml)
    d, out = run_drill("record-upsert", go_home=True)
    # THEN the failover flipped the records in one batch and polled Route 53 until INSYNC
    assert out.passed, out.verdict
    names = list(dict.fromkeys(visited(out)))  # each state's first entry (status is polled)
    assert_entered_in_order(names, ["Assess", "Approval", ("Database: start", "Compute: start"),
                                    "Traffic: start", "Traffic: status", "Verify", "Record"])
    flips = [json.loads(e["taskSucceededEventDetails"]["output"])["Payload"] for e in
             d.client("stepfunctions").get_execution_history(
                 executionArn=out.execution_arn, maxResults=1000)["events"]
             if e["type"] == "TaskSucceeded"
             and '"flipped"' in e["taskSucceededEventDetails"].get("output", "")]
    assert [(f["mode"], len(f["changes"])) for f in flips] == [("record_upsert", 1)], flips
    assert out.end_state["www_region"] == "us-west-2"
    # AND the way home moved the records back the same way
    fb = out.failback
    assert fb is not None and fb.passed, fb.verdict
    assert_entered_in_order(list(dict.fromkeys(visited(fb))),
                            ["Assess", "Traffic: start", "Traffic: status", "Verify", "Record"])
    assert www(d) == "us-east-1"


def test_no_approval_when_the_plan_does_not_require_one(run_drill: Any) -> None:
    d, out = run_drill("failover", approval=False)
    assert out.passed, out.verdict
    assert "Approval" not in visited(out)
    assert writer(d) == "us-west-2" and www(d) == "us-west-2"
    assert [n["subject"] for n in out.notifications if "APPROVAL" in n["subject"]] == []


def test_lag_above_the_guard_is_refused_once_and_nothing_moves(run_drill: Any) -> None:
    d, out = run_drill("lag-above-guard")
    assert out.passed, out.verdict
    assert d.executions(d.client("stepfunctions").list_state_machines()["stateMachines"][0]["stateMachineArn"]) == []
    refusals = [n for n in out.notifications if "refused" in n["subject"]]
    assert len(refusals) == 1 and "lag" in refusals[0]["message"].lower()
    # readiness had said so before the outage, once, on the topic
    assert out.readiness["ready"] is False, out.readiness
    assert [c for c in out.readiness["critical"] if c.startswith("replication_lag")], out.readiness
    assert out.readiness["notified"] is True
    assert_nothing_moved(d)
    assert parameter(d, "/lifeboat/shop/lock") is None


def test_a_rejected_approval_aborts_and_nothing_moves(run_drill: Any) -> None:
    d, out = run_drill("approval-rejected")
    assert out.passed, out.verdict
    names = visited(out)
    assert "Aborted: record" in names and "Promote" not in names
    assert_nothing_moved(d)
    state = parameter(d, "/lifeboat/shop/state")
    assert state["active_region"] == "us-east-1" and state["last_run"]["outcome"] == "aborted"
    assert parameter(d, "/lifeboat/shop/lock") is None
    assert out.report["error"]["Error"] == "ApprovalRejected"
    assert any("aborted" in n["subject"] for n in out.notifications)


def test_an_approval_timeout_follows_the_plan_abort(run_drill: Any) -> None:
    d, out = run_drill("approval-timeout")
    assert out.passed, out.verdict
    names = visited(out)
    assert "Approval: on timeout?" in names and "Promote" not in names
    assert out.report["error"]["Error"] == "States.Timeout"
    assert_nothing_moved(d)
    assert parameter(d, "/lifeboat/shop/lock") is None


def test_an_approval_timeout_with_proceed_goes_on_once_the_outage_is_confirmed(run_drill: Any) -> None:
    d, out = run_drill("approval-timeout-proceed")
    assert out.passed, out.verdict
    names = visited(out)
    i = names.index("Approval: timed out, assess")
    assert names.index("Approval: on timeout?") < i < names.index("Promote")
    assert writer(d) == "us-west-2" and www(d) == "us-west-2"
    pages = [n for n in out.notifications if "APPROVAL NEEDED" in n["subject"]]
    assert len(pages) == 1  # asked once, nobody answered, the plan decided


def test_a_failed_promotion_notifies_keeps_the_lock_and_leaves_traffic(run_drill: Any) -> None:
    d, out = run_drill("promotion-fails")
    assert out.passed, out.verdict
    names = visited(out)
    assert "Database: failed" in names and "Failed: record" in names
    assert "Traffic: start" not in names
    assert writer(d) == "us-east-1"
    assert www(d) == "us-east-1"  # traffic untouched
    assert parameter(d, "/lifeboat/shop/lock") is not None  # a person decides
    state = parameter(d, "/lifeboat/shop/state")
    assert state["active_region"] == "us-east-1" and state["last_run"]["outcome"] == "failed"
    assert out.report["error"]["Error"] == "PromotionFailed"
    assert "Database" in out.report["open_steps"]
    failed = [n for n in out.notifications if "FAILED" in n["subject"]]
    assert len(failed) == 1 and "PromotionFailed" in failed[0]["message"]
    assert "resume" in failed[0]["message"]

    # THEN the run is resumable as the report says: the same input under a new execution name
    # (the fault was one-off); every step is idempotent, a person approves again
    again = d.resume(out, d.seeded["state_machine_arn"], d.seeded["inbox_url"])
    assert again.status == "SUCCEEDED", again.verdict
    assert writer(d) == "us-west-2" and www(d) == "us-west-2"
    assert parameter(d, "/lifeboat/shop/lock") is None
    state = parameter(d, "/lifeboat/shop/state")
    assert state["active_region"] == "us-west-2" and state["last_run"]["outcome"] == "succeeded"
    # the scale-up of the failed attempt was kept, not repeated: nothing left to change
    compute = next(e for e in d.client("stepfunctions").get_execution_history(
        executionArn=again.execution_arn, maxResults=1000)["events"]
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Compute: start")
    assert json.loads(compute["stateExitedEventDetails"]["output"])["compute_start"]["value"]["changed"] == []


def test_an_alarm_storm_makes_one_run_and_one_page(run_drill: Any) -> None:
    d, out = run_drill("alarm-storm")
    assert out.passed, out.verdict
    assert out.executions == 1
    pages = [n for n in out.notifications if "APPROVAL NEEDED" in n["subject"]]
    assert len(pages) == 1
    assert writer(d) == "us-west-2" and www(d) == "us-west-2"


# --- issue 17: a failover that works when it is needed (each failed on 80feadf) ---------------


def notices(out: drill_mod.Outcome) -> list[dict[str, str]]:
    """The notifications other than approval requests and readiness findings."""
    return [n for n in out.notifications
            if "APPROVAL NEEDED" not in n["subject"] and "READY" not in n["subject"]]


def test_the_override_reaches_the_database(run_drill: Any) -> None:
    d, out = run_drill("override-data-loss")
    assert out.passed, out.verdict
    scheduled = [json.loads(e["taskScheduledEventDetails"]["parameters"]) for e in
                 d.client("stepfunctions").get_execution_history(
                     executionArn=out.execution_arn, maxResults=1000)["events"]
                 if e["type"] == "TaskScheduled"]
    db_start = next(p["Payload"] for p in scheduled if p["FunctionName"].endswith("db-failover")
                    and p["Payload"].get("action") == "start")
    assert db_start["approved"]["mode"] == "failover" and db_start["approved"]["overridden"] is True
    report = out.report
    assert report["promotion"]["overridden"] is True and report["rpo_estimate_seconds"] == 60.0
    assert report["decided"]["by"] == "Drill Operator" and report["decided"]["via"] == "e-mail link"
    done = [n for n in out.notifications if "succeeded" in n["subject"]][0]
    assert "OVERRIDDEN by a person" in done["message"] and "Drill Operator" in done["message"]


def test_what_a_person_approved_is_what_runs(run_drill: Any) -> None:
    d, out = run_drill("approved-mode-changes")
    assert out.passed, out.verdict
    names = visited(out)
    i = names.index("Approval: ask again")
    assert names.count("Approval") == 2 and names.index("Approval") < i
    assert "Assess" in names[i:]
    asks = [n for n in out.notifications if "APPROVAL NEEDED" in n["subject"]]
    assert "a switchover (no data loss) was approved, but the primary no longer answers" in asks[1]["message"]


def test_a_person_can_always_act_after_an_abort(run_drill: Any) -> None:
    d, out = run_drill("manual-after-abort")
    assert out.passed, out.verdict
    assert parameter(d, "/lifeboat/shop/state")["last_run"]["run_id"] == out.run_id


def test_a_closed_execution_never_stands_for_a_new_attempt(run_drill: Any) -> None:
    d, out = run_drill("retry-after-reject")
    assert out.passed, out.verdict
    names = [e["name"] for e in d.executions(d.seeded["state_machine_arn"])]
    assert len(names) == 2, names


def test_stopping_an_execution_while_approval_waits_is_recorded_and_announced(run_drill: Any) -> None:
    d, out = run_drill("stop-while-approval")
    assert out.passed, out.verdict
    assert parameter(d, "/lifeboat/shop/state")["last_run"]["outcome"] == "aborted"
    assert_nothing_moved(d)


def test_a_stale_lock_is_taken_over_and_announced(run_drill: Any) -> None:
    d, out = run_drill("stale-lock")
    assert out.passed, out.verdict


def test_verify_waits_for_resolvers(run_drill: Any) -> None:
    d, out = run_drill("verify-waits")
    assert out.passed, out.verdict
    assert out.report["verify_attempts"] > 1


def test_an_execution_timeout_shorter_than_the_approval_wait_ends_recorded(run_drill: Any) -> None:
    """GIVEN a machine deployed with a 6 s execution timeout and a person who never answers,
    THEN the execution times out and the safety net records it (aborted: nothing moved), frees
    the lock and sends one notice."""
    d = drill_mod.Drill("failover", time_scale=0.05, verbose=False, go_home=False,
                        execution_timeout_seconds=6)
    try:
        seeded = d.set_up()
        d.seeded = seeded
        sm, inbox = seeded["state_machine_arn"], seeded["inbox_url"]
        d.break_primary()
        d.canary()
        out = drill_mod.Outcome(scenario="failover")
        d.follow(out, sm, inbox, decisions=[])
        assert out.status == "TIMED_OUT", out.status
        drill_mod.wait_for("the notice", lambda: notices(drill_mod.Outcome(
            scenario="", notifications=d.inbox(inbox, out.notifications))), 30, 0.3)
        import time as _t
        _t.sleep(2)
        d.inbox(inbox, out.notifications)
        report = parameter(d, f"/lifeboat/shop/runs/{out.run_id}")
        assert report["outcome"] == "aborted" and "timeout" in report["error"]["Cause"], report
        assert parameter(d, "/lifeboat/shop/lock") is None
        assert len(notices(out)) == 1 and "aborted" in notices(out)[0]["subject"], out.notifications
        assert_nothing_moved(d)
    finally:
        d.stop()


def test_the_parameter_store_dark_right_after_verify_still_notifies_once(run_drill: Any) -> None:
    """GIVEN SSM in us-west-2 goes dark the moment Record is invoked (right after Verify), THEN
    the run cannot be recorded, and the topic still gets exactly one message saying so and what
    to do; the lock is held for resumption (the message says so)."""
    d = drill_mod.Drill("failover", time_scale=0.05, verbose=False, go_home=False)
    try:
        seeded = d.set_up()
        d.seeded = seeded
        sm, inbox = seeded["state_machine_arn"], seeded["inbox_url"]
        d.control("/_lifeboat/faults", {"outage_on_invoke": {
            "function": "run-ledger", "payload_contains": '"record"', "region": "us-west-2",
            "services": ["ssm"]}})
        d.break_primary()
        d.canary()
        out = drill_mod.Outcome(scenario="failover")
        d.follow(out, sm, inbox)
        names = visited(out)
        assert "Verify" in names and "Failed: notify without record" in names, names
        assert out.status == "FAILED"
        import time as _t
        _t.sleep(3)  # the safety net's delivery, too
        d.control("/_lifeboat/outage", method="DELETE")
        d.inbox(inbox, out.notifications)
        told = notices(out)
        assert len(told) == 1 and "UNRECORDED" in told[0]["subject"], out.notifications
        assert "lock may still be held" in told[0]["message"]
        assert writer(d) == "us-west-2" and www(d) == "us-west-2"  # the shift itself happened
    finally:
        d.stop()


def test_the_override_reaches_the_database_when_the_lag_is_unknown(run_drill: Any) -> None:
    """GIVEN us-east-1 dark and no replication-lag datapoint at all (the lag is unknown), WHEN an
    operator runs `lifeboat failover --allow-data-loss` and a person approves, THEN the writer
    moves by a failover with data loss, and the report says the RPO is unknown and overridden;
    without the flag the same state is refused before anything changes."""
    d, out = run_drill("override-data-loss", lag_ms=-1)
    assert out.passed, out.verdict
    assert out.report["promotion"] == {"mode": "failover", "lag": None, "overridden": True}
    assert out.report["rpo_estimate_seconds"] is None
    calls = d.control("/_lifeboat/calls", method="GET")
    assert calls.get("rds:FailoverGlobalCluster") == 1, calls
    assert not calls.get("rds:SwitchoverGlobalCluster"), calls


def test_a_failback_rejected_then_requested_again_runs_again(run_drill: Any) -> None:
    """GIVEN the shop served from us-west-2 after a failover and us-east-1 back, WHEN a failback
    is requested without a person (the plan's approval applies) and the person rejects it, THEN
    it aborts with the lock free; WHEN it is requested again inside the same window, THEN a new
    attempt runs under a distinct name and brings the shop home."""
    d, out = run_drill("failover", go_home=False)
    assert out.passed, out.verdict
    inbox = d.seeded["inbox_url"]
    first = d.failback(inbox, by_function=True, decisions=["reject"])
    assert first.status == "FAILED" and (first.report or {}).get("outcome") == "aborted", first.verdict
    assert parameter(d, "/lifeboat/shop/lock") is None
    assert writer(d) == "us-west-2" and www(d) == "us-west-2"
    second = d.failback(inbox, by_function=True)
    assert second.status == "SUCCEEDED" and (second.report or {}).get("outcome") == "succeeded", \
        second.verdict
    assert second.run_id == f"{first.run_id}-a2", (first.run_id, second.run_id)
    assert writer(d) == "us-east-1" and www(d) == "us-east-1"
    assert parameter(d, "/lifeboat/shop/lock") is None


def run_with_answer(function: str, payload_contains: str) -> tuple[drill_mod.Drill, drill_mod.Outcome]:
    """A failover drill in which `function`'s first invocation whose payload contains
    `payload_contains` answers {"unexpected": "shape"} (as a function of another version would)."""
    d = drill_mod.Drill("failover", time_scale=0.05, verbose=False, go_home=False)
    seeded = d.set_up()
    d.seeded = seeded
    sm, inbox = seeded["state_machine_arn"], seeded["inbox_url"]
    d.control("/_lifeboat/faults", {"result_on_invoke": {
        "function": function, "payload_contains": payload_contains,
        "result": {"unexpected": "shape"}}})
    d.break_primary()
    d.canary()
    out = drill_mod.Outcome(scenario="failover")
    d.follow(out, sm, inbox)
    drill_mod.wait_for("the notice", lambda: notices(drill_mod.Outcome(
        scenario="", notifications=d.inbox(inbox, out.notifications))), 30, 0.3)
    import time as _t
    _t.sleep(2)  # the safety net's delivery, too
    d.inbox(inbox, out.notifications)
    return d, out


def test_an_unreadable_assessment_never_moves_anything(run_drill: Any) -> None:
    """GIVEN run-ledger's assessment comes back in a shape the machine cannot read (functions and
    machine of different versions), THEN the machine moves nothing (on main before this test,
    the Choice's Default went on to Promote and scaled up compute without an approval): the run
    is recorded as aborted with why, the lock is free, and one notice is sent."""
    d, out = run_with_answer("run-ledger", '"assess"')
    try:
        assert out.status == "FAILED" and out.error == "FailoverAborted", (out.status, out.error)
        assert "Promote" not in visited(out), visited(out)
        report = parameter(d, f"/lifeboat/shop/runs/{out.run_id}")
        assert report["outcome"] == "aborted" and report["error"]["Error"] == "AssessmentUnreadable", report
        assert parameter(d, "/lifeboat/shop/lock") is None
        assert len(notices(out)) == 1, out.notifications
        assert_nothing_moved(d)
    finally:
        d.stop()


def test_a_runtime_error_in_the_machine_ends_recorded_and_announced(run_drill: Any) -> None:
    """GIVEN dns-flip's answer lacks what the next state reads, THEN Step Functions fails the
    execution with States.Runtime (no Catch runs, as on AWS), and the safety net records the run
    (failed: the database and compute had moved; the lock kept for resumption) and sends exactly
    one notice. The 25,000-event history limit ends an execution the same way (FAILED, no Catch)
    and takes the same path."""
    d, out = run_with_answer("dns-flip", '"flip"')
    try:
        assert out.status == "FAILED" and out.error == "States.Runtime", (out.status, out.error)
        assert "Failed: record" not in visited(out), visited(out)
        report = parameter(d, f"/lifeboat/shop/runs/{out.run_id}")
        assert report is not None and report["outcome"] == "failed", report
        assert report["error"]["Error"] == "States.Runtime", report
        assert len(notices(out)) == 1, out.notifications
        assert "FAILED" in notices(out)[0]["subject"], notices(out)
        assert parameter(d, "/lifeboat/shop/lock") is not None  # kept for resumption, and said so
    finally:
        d.stop()


def test_a_stale_lag_datapoint_counts_as_unknown(run_drill: Any) -> None:
    """GIVEN the newest replication-lag datapoint is 0.8 s but 4 minutes old (guard 30 s), WHEN
    us-east-1 goes dark, THEN the lag counts as unknown: refused once, nothing moves; readiness
    had warned about the stale datapoint before the outage."""
    d, out = run_drill("stale-lag")
    assert out.passed, out.verdict
    assert out.readiness["warnings"] >= 1, out.readiness
    assert_nothing_moved(d)
    assert parameter(d, "/lifeboat/shop/lock") is None


def test_a_forged_probe_event_during_a_mute_starts_nothing(run_drill: Any) -> None:
    """GIVEN the failover alarm muted (DisableAlarmActions), WHEN forged lifeboat.probe events
    are put on the bus (one timed an hour ago, one of now), THEN neither starts a run: the old one
    is out of time, the fresh one is held back by the mute."""
    d, out = run_drill("forged-probe")
    assert out.passed, out.verdict
    assert_nothing_moved(d)


def test_hostile_text_reaches_a_person_inert_and_bounded(run_drill: Any) -> None:
    """GIVEN us-east-1's health endpoint answers a hostile body (a Slack broadcast, a disguised
    link, ANSI and bidi control characters, 200 kB) and its services go dark, THEN the approval
    e-mail, the report and the function logs show it inert and bounded, and the run succeeds."""
    d, out = run_drill("hostile-text")
    assert out.passed, out.verdict


def test_the_old_primary_is_fenced_by_the_run_and_by_its_own_copy_when_it_returns(run_drill: Any) -> None:
    """GIVEN a failover with data loss while us-east-1 is dark, THEN the run records each fence
    action (the dark region unreachable: recorded, never a blocker; the database demoted by
    Aurora's failover); WHEN us-east-1 comes back at active capacity, THEN within one canary
    period its own copy (dr-scale-up `guard`) takes its compute to the fenced level (0), says so
    on its topic once, and starts no run."""
    d, out = run_drill("old-region-returns")
    assert out.passed, out.verdict
    names = visited(out)
    assert "Fence" in names and "Fence: recorded" in names, names
    report = parameter(d, f"/lifeboat/shop/runs/{out.run_id}")
    assert report["fence"]["region"] == "us-east-1", report["fence"]
    done = next(n for n in out.notifications if "succeeded" in n["subject"])
    assert "Fence of us-east-1 (the old primary) - NOT COMPLETE" in done["message"], done["message"]
    fenced = next(n for n in out.notifications if "fenced itself" in n["subject"])
    assert "lifeboat failback" in fenced["message"]


def test_the_home_copy_never_fails_over_home_and_the_failback_is_unaffected(run_drill: Any) -> None:
    """GIVEN a failover into us-west-2, WHEN us-east-1's own copy receives its failover alarm,
    THEN it refuses (HomeIsAFailback, naming `lifeboat failback`) and starts no run; `lifeboat
    failback` from us-west-2 then brings the shop home."""
    d, out = run_drill("home-copy-alarm")
    assert out.passed, out.verdict
    assert out.failback is not None and out.failback.passed, out.failback.verdict


def test_a_control_plane_fault_is_not_an_outage(run_drill: Any) -> None:
    """GIVEN us-east-1's RDS API dark while its database endpoint and health endpoints serve, WHEN
    the failover alarm fires, THEN no failover with data loss: refused (naming the data plane),
    announced once, nothing moves."""
    d, out = run_drill("control-plane-only")
    assert out.passed, out.verdict
    assert_nothing_moved(d)


def test_silence_is_not_an_outage(run_drill: Any) -> None:
    """GIVEN the template's two alarms (infra/template.yaml) in the emulated CloudWatch, which
    evaluates them, WHEN the canary goes silent for three periods and then us-east-1 goes dark,
    THEN the canary-silent alarm pages a person once, the failover alarm stays OK, nothing runs."""
    d, out = run_drill("canary-silent")
    assert out.passed, out.verdict
    assert_nothing_moved(d)


def test_a_real_alertmanager_triggers_a_run_only_with_its_token_and_once_per_group(run_drill: Any) -> None:
    d, out = run_drill("alertmanager")
    assert out.passed, out.verdict
    # the run was started by the webhook's function (its own key, its own role), and only once
    calls = d.control("/_lifeboat/iam", None, "GET")["calls"]
    starts = [c for c in calls if c["service"] == "states" and c["operation"] == "StartExecution"]
    assert {c["access_key"] for c in starts} == {"LBFNALERTMANAGERWEBHOOK"}, starts
    assert sum(c["count"] for c in starts) == 1, starts


def test_the_cache_moves_with_the_database_and_home_catches_up_before_it_is_promoted(run_drill: Any) -> None:
    """GIVEN real Redis + Sentinel in both regions and a cart written at home, WHEN us-east-1 goes
    dark with its cache and a person approves, THEN us-west-2's replica becomes the master its
    Sentinels watch (the cart kept), verify sees it and the report names the home nodes not
    reached; AND with home back as an empty master, the way home catches it up before promoting
    it: both carts are home and us-west-2 is the standby again."""
    d, out = run_drill("cache", go_home=True)
    assert out.passed, out.verdict
    assert out.failback is not None and out.failback.passed, out.failback.verdict
    moved = (out.report or {}).get("cache") or {}
    assert (moved.get("outcome") or {}).get("master"), moved


def test_a_patroni_database_switches_over_there_and_back_with_no_order_lost(run_drill: Any) -> None:
    """GIVEN the shop's PostgreSQL under Patroni (real Patroni, etcd and PostgreSQL in each
    region, us-west-2 a standby cluster) with orders written at home, WHEN us-east-1's shop fails
    while its database answers and a person approves, THEN the failover machine switches over
    (us-east-1 demoted first, us-west-2 promoted with every order), traffic moves and verify
    reads the writer from Patroni; AND the failback machine brings the database home by
    switchover, with the order written in us-west-2, us-west-2 the standby again. Fails on
    12b6e81 (the failback was refused, PreconditionFailed: no global cluster in the plan)."""
    d, out = run_drill("patroni", go_home=True)
    assert out.passed, out.verdict
    assert out.failback is not None and out.failback.passed, out.failback.verdict
    assert ((out.report or {}).get("promotion") or {}).get("mode") == "switchover"


def test_the_worst_night_under_patroni_fences_the_returning_home_and_brings_it_back(run_drill: Any) -> None:
    """GIVEN the shop's PostgreSQL under Patroni, WHEN us-east-1 goes dark with its database,
    THEN the lag is unknown and only a person's override fails over (recorded); AND when
    us-east-1 comes back as a primary of its own, the failback refuses it as not fenced, its own
    copy's guard makes it a standby cluster of us-west-2 (announced once), lifeboat names its
    history forked until it is rebuilt, and the failback brings the shop home with every order.
    Fails on 44e49f9: with the primary's Patroni dark the writer read as unknown and even the
    override was refused (writer_unknown); and the home copy's guard could not tell the two
    primaries apart (both on timeline 2) nor read the other copy's run state."""
    d, out = run_drill("patroni-dark-home", go_home=True)
    assert out.passed, out.verdict
    assert out.failback is not None and out.failback.passed, out.failback.verdict



def test_the_whole_digitalocean_stack_fails_over_and_comes_home_with_no_order_or_cart_lost(run_drill: Any) -> None:
    """GIVEN the DigitalOcean stack (make drill ARGS="--stack digitalocean"): a real Alertmanager
    as the trigger, real Patroni + etcd + PostgreSQL and real Redis + Sentinel in each region, the
    shop's domain at DigitalOcean (the fake checked against DigitalOcean's OpenAPI description),
    no compute, WHEN us-east-1's droplets fail while its database and cache answer and
    Alertmanager notifies lifeboat, THEN one run (the group's repeats start nothing more), approved
    by a person, switches Patroni over, moves the cache's master, sets the domain's records and
    verifies www from us-west-2; AND the way home does each of these back with every order and
    cart, and every request dns-flip sent DigitalOcean is one its description accepts."""
    d, out = run_drill("digitalocean", go_home=True)
    assert out.passed, out.verdict
    assert out.failback is not None and out.failback.passed, out.failback.verdict
    # the records were set by dns-flip through DigitalOcean's API, nothing else
    changes = [r for r in d.dns.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]
    assert changes and not d.dns.violations, (changes, d.dns.violations)
    # the token reached no log line
    assert "dop_v1_drill0digitalocean0token0d5c9a" not in d.logs("functions.log")


def test_the_linode_stack_fails_over_and_comes_home_with_no_order_lost(run_drill: Any) -> None:
    """GIVEN the Linode stack (make drill ARGS="--stack linode"): real MariaDB in each region,
    us-west-2's a read-only GTID replica of us-east-1's source, the shop's pods on a Kubernetes
    cluster in each region and its domain at Linode (fakes checked against Kubernetes' and
    Linode's published OpenAPI descriptions), WHEN us-east-1's /healthz fails while its database
    answers, THEN the canary's alarm starts one run, approved by a person, that makes us-east-1's
    server read-only, promotes us-west-2's once it holds every order, scales us-west-2's
    deployments and stateful set to active (steady once every pod is ready), sets the domain's
    records at Linode and verifies www from us-west-2; AND the way home switches back with the
    order written in us-west-2, us-west-2 a read-only replica and its workloads at standby."""
    d, out = run_drill("linode", go_home=True)
    assert out.passed, out.verdict
    assert out.failback is not None and out.failback.passed, out.failback.verdict
    assert ((out.report or {}).get("promotion") or {}).get("mode") == "switchover"
    changes = [r for r in d.dns.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]
    assert changes and not d.dns.violations, (changes, d.dns.violations)
    # no password or token reached a log line
    logs = d.logs("functions.log")
    for secret in d.secrets.values():
        assert secret not in logs


def test_on_eks_dr_scale_up_is_let_in_by_the_token_it_signs_with_its_role(run_drill: Any) -> None:
    """GIVEN the AWS stack with the shop's pods also on an EKS cluster in each region (the
    contract-checked Kubernetes fake over https with its cluster's CA, authenticating callers as
    EKS does: the bearer token's presigned STS request sent to the emulated STS, which checks its
    signature, the signing role mapped through the cluster's access entries), and no Kubernetes
    token stored anywhere, WHEN us-east-1 goes dark and a person approves, THEN dr-scale-up
    scales us-west-2's deployments and stateful set to active, let in as its own role by the
    token it signed, AND the way home returns them to standby; no token or signature reaches a
    log line."""
    d, out = run_drill("eks", go_home=True)
    assert out.passed, out.verdict
    assert out.failback is not None and out.failback.passed, out.failback.verdict
    assert out.timings.get("eks_tokens", 0) > 0
    logs = d.logs("functions.log")
    assert "k8s-aws-v1." not in logs and "X-Amz-Signature" not in logs


def test_the_worst_night_on_the_linode_stack_fences_the_returning_source_and_brings_it_home(run_drill: Any) -> None:
    """GIVEN the Linode stack, WHEN us-east-1 goes dark with its MariaDB and Kubernetes API, THEN
    the replica's lag is unknown (never 0) and only a person's override fails over (recorded);
    AND when us-east-1's server comes back writable beside us-west-2's, the failback refuses it as
    not fenced, its own copy's guard makes it read-only (announced once) and then has it
    replicate us-west-2 and catch up, and the failback brings the shop home with every order.
    Fails on 1aee2c0: with the source dark and its replica read-only the writer read as nobody,
    so even the override was refused (writer_unknown)."""
    d, out = run_drill("linode-dark-home", go_home=True)
    assert out.passed, out.verdict
    assert out.failback is not None and out.failback.passed, out.failback.verdict
    promotion = (out.report or {}).get("promotion") or {}
    assert promotion.get("mode") == "failover" and promotion.get("overridden") is True
