"""make chaos (scripts/chaos.py): its invariant checks catch each violation they name, and the CI
set of seeds (every fault kind it draws) ends with 0 violations against the real binaries and
state machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import chaos  # noqa: E402
import lifeboat_drill as drill_mod  # noqa: E402


class _Sfn:
    def __init__(self, status: str) -> None:
        self.status = status

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803
        return {"status": self.status}


class _Drill:
    def __init__(self, status: str = "SUCCEEDED") -> None:
        self.sfn = _Sfn(status)

    def client(self, service: str) -> _Sfn:
        return self.sfn


def good() -> drill_mod.Outcome:
    out = drill_mod.Outcome(scenario="failover", status="SUCCEEDED", executions=1)
    out.report = {"outcome": "succeeded", "promotion": {"mode": "failover", "lag": 0.8}}
    out.notifications = [{"subject": "approval", "message": "Approve: http://x"},
                         {"subject": "succeeded", "message": "report"}]
    out.states = [{"name": n, "type": "TaskStateEntered", "at": 0.0}
                  for n in ("Assess", "Approval", "Database: start", "Compute: start", "Traffic: start")]
    out.end_state = {"writer_region": "us-west-2", "www_region": "us-west-2",
                     "ecs_desired": {"web": 6, "checkout": 4}, "asg_desired": 6, "lock": None}
    return out


def violation(out: drill_mod.Outcome, drill: Any = None) -> str | None:
    v = chaos.Verdict(seed=0, schedule=chaos.draw(0))
    chaos.check(drill or _Drill(), out, v)
    assert v.checks >= 8
    return v.violation


def test_a_clean_run_violates_nothing() -> None:
    assert violation(good()) is None


def test_each_invariant_is_caught() -> None:
    out = good()
    out.end_state["www_region"] = "us-east-1"
    assert (violation(out) or "").startswith("I1")
    out = good()
    out.executions = 2
    assert (violation(out) or "").startswith("I2")
    out = good()
    out.status = "RUNNING"
    assert (violation(out) or "").startswith("I3")
    out = good()
    out.notifications.append({"subject": "succeeded", "message": "report again"})
    assert (violation(out) or "").startswith("I3")
    out = good()
    out.end_state["lock"] = {"execution_arn": "arn:x"}
    assert (violation(out, _Drill("RUNNING")) or "").startswith("I3")
    assert violation(out, _Drill("FAILED")) is None  # a stale lock after the run is the lease rule's
    out = good()
    out.report = {"outcome": "succeeded", "promotion": {"mode": "failover", "lag": 45.0}}
    assert (violation(out) or "").startswith("I4")
    out.report["promotion"]["overridden"] = True
    assert violation(out) is None
    out = good()
    out.states = [s for s in out.states if s["name"] != "Approval"]
    assert (violation(out) or "").startswith("I5")
    out = good()
    out.end_state["ecs_desired"] = {"web": 1, "checkout": 4}
    assert (violation(out) or "").startswith("I5")


def test_a_report_repeated_only_by_a_crash_in_its_announcement_is_one_report() -> None:
    """SNS is at-least-once: the same report twice is one only when the crash cut an announcing
    invocation (between its publish and its record); any other second message is a violation."""
    twice = good()
    twice.notifications.append(dict(twice.notifications[-1]))
    assert (violation(twice) or "").startswith("I3")  # no crash
    cut = _Drill()
    cut.requests_lost = ["record"]  # type: ignore[attr-defined]
    assert (violation(twice, cut) or "").startswith("I3")  # a crash, elsewhere
    cut.requests_lost = ["notify"]  # type: ignore[attr-defined]
    v = chaos.Verdict(seed=0, schedule=chaos.draw(0))
    chaos.check(cut, twice, v)
    assert v.violation is None and v.repeated_reports == 1
    differs = good()
    differs.notifications.append({"subject": "succeeded", "message": "another report"})
    assert (violation(differs, cut) or "").startswith("I3")  # not the same message
    thrice = good()
    thrice.notifications += [dict(thrice.notifications[-1])] * 2
    assert (violation(thrice, cut) or "").startswith("I3")


def good_failback() -> drill_mod.Outcome:
    fb = drill_mod.Outcome(scenario="failback", status="SUCCEEDED", executions=1)
    fb.report = {"outcome": "succeeded"}
    fb.notifications = [{"subject": "failback succeeded", "message": "report"}]
    fb.end_state = {"writer_region": "us-east-1", "www_region": "us-east-1",
                    "ecs_desired_east": {"web": 6, "checkout": 4}}
    return fb


def failback_violation(fb: drill_mod.Outcome, drill: Any = None) -> str | None:
    v = chaos.Verdict(seed=0, schedule=chaos.draw(0))
    chaos.check_failback(drill or _Drill(), fb, v)
    assert v.checks >= 4
    return v.violation


def test_each_invariant_of_the_way_home_is_caught() -> None:
    assert failback_violation(good_failback()) is None
    fb = good_failback()
    fb.end_state["www_region"] = "us-west-2"
    assert (failback_violation(fb) or "").startswith("I1")
    fb = good_failback()
    fb.executions = 2
    assert (failback_violation(fb) or "").startswith("I2")
    two = _Drill()
    two.failback_results = [(0, {"outcome": "started", "execution_arn": "a"}),  # type: ignore[attr-defined]
                            (0, {"outcome": "started", "execution_arn": "b"})]
    assert (failback_violation(good_failback(), two) or "").startswith("I2")
    for second in [(3, {"outcome": "refused"}), (0, {"outcome": "started", "execution_arn": "a"})]:
        one = _Drill()
        one.failback_results = [(0, {"outcome": "started", "execution_arn": "a"}), second]  # type: ignore[attr-defined]
        assert failback_violation(good_failback(), one) is None
    fb = good_failback()
    fb.status, fb.report = "RUNNING", None
    assert (failback_violation(fb) or "").startswith("I3")
    fb = good_failback()
    fb.end_state["ecs_desired_east"] = {"web": 1, "checkout": 1}
    assert (failback_violation(fb) or "").startswith("I5")


class _TwoCopies(_Drill):
    """The failback asked of both copies: the home copy's answer and its machine's executions."""

    def __init__(self, home_answer: tuple[int, dict[str, Any]], home_runs: int = 0) -> None:
        super().__init__()
        self.failback_results = [(0, {"outcome": "started", "execution_arn": "a"})]
        self.home_failback_answer = home_answer
        self.home_failback_sm = "arn:aws:states:us-east-1:123456789012:stateMachine:lifeboat-shop-failback"
        self.home_runs = home_runs

    def executions(self, sm: str) -> list[dict[str, Any]]:
        assert sm == self.home_failback_sm
        return [{"status": "SUCCEEDED"}] * self.home_runs


def test_the_home_copy_may_only_refuse_a_failback_while_the_other_copy_serves() -> None:
    """Failback asked of both copies at once (fails on bfc4edf: only one copy was asked)."""
    refused = (3, {"outcome": "refused", "reasons": [
        {"reason": "not_serving_here", "serving": "us-west-2", "here": "us-east-1"}]})
    assert failback_violation(good_failback(), _TwoCopies(refused)) is None
    started = (0, {"outcome": "started", "execution_arn": "arn:aws:states:us-east-1:x"})
    assert (failback_violation(good_failback(), _TwoCopies(started)) or "").startswith("I2")
    # refused for a reason that is not about who serves: the rule was not what held it back
    lag = (3, {"outcome": "refused", "reasons": [{"reason": "lag_unknown"}]})
    assert (failback_violation(good_failback(), _TwoCopies(lag)) or "").startswith("I2")
    assert (failback_violation(good_failback(), _TwoCopies(refused, home_runs=1)) or "").startswith("I2")


FAILED_REPORT = """Failover of 'shop' from us-east-1 into us-west-2: Failed
Error: Throttled: ecs UpdateService: Rate exceeded
The run lock is kept for resumption: something may be half-done and a person decides.
To resume once the cause is fixed: start the state machine again with this execution's input"""


def test_a_run_that_did_not_succeed_names_the_fault_and_how_to_go_on() -> None:
    """A fault injected by the harness is never hidden (the issue's bad-input rule)."""
    out = good()
    out.status, out.report = "FAILED", {"outcome": "failed"}
    out.notifications[1]["message"] = FAILED_REPORT
    assert violation(out) is None
    out.notifications[1]["message"] = FAILED_REPORT.replace("To resume", "Later")
    assert (violation(out) or "").startswith("I3")
    out.notifications[1]["message"] = FAILED_REPORT.replace("Error: Throttled", "Throttled")
    assert (violation(out) or "").startswith("I3")
    fb = good_failback()
    fb.status, fb.report = "FAILED", {"outcome": "aborted"}
    fb.notifications[0]["message"] = ("Failback of 'shop' from us-west-2 into us-east-1: Aborted\n"
                                      "Nothing moved: the shop is still served from us-west-2. A person "
                                      "can ask again once the cause is fixed: lifeboat failback "
                                      "--region us-west-2.")
    assert failback_violation(fb) is None
    # what bfc4edf said of an aborted failback: a failover command, which would move the shop away
    fb.notifications[0]["message"] = ("Nothing moved. A person can start a run at any time: "
                                      "lifeboat failover --to us-east-1.")
    assert (failback_violation(fb) or "").startswith("I3")


def _worker_lost(seed: int, time_scale: float, verbose: bool) -> chaos.Verdict:
    raise RuntimeError(f"worker lost while playing seed {seed}")


def test_a_schedule_the_harness_cannot_play_fails_with_its_seed_and_the_others_are_reported(
        monkeypatch: Any, capsys: Any) -> None:
    """Fails on f0e59b8: one schedule's exception (not a DrillError) left `make chaos RUNS=200`
    reporting nothing more while the pool played on, and the run's verdicts were lost."""
    class Broken(chaos.ChaosDrill):
        def run(self) -> drill_mod.Outcome:
            raise ConnectionResetError("the emulator went away")

        def stop(self) -> None:
            pass

    monkeypatch.setattr(chaos, "ChaosDrill", Broken)
    v = chaos.play(chaos.draw(7), 0.05)
    assert (v.violation or "").startswith("HARNESS: the schedule could not be played: ConnectionResetError")

    monkeypatch.setattr(chaos, "run_one", _worker_lost)
    assert chaos.main(["--runs", "2", "--from", "3", "--jobs", "2"]) == 1
    out = capsys.readouterr().out
    for seed in (3, 4):
        assert f"chaos seed {seed}:" in out and "HARNESS: the schedule's worker failed" in out
        assert f"make chaos SEED={seed}" in out
    assert "chaos: 2 runs" in out and "2 violations" in out


def test_the_ci_seeds_cover_every_fault_kind_drawn() -> None:
    assert chaos.uncovered(chaos.CI_SEEDS) == set()
    assert chaos.ALL_KINDS == set(chaos.KINDS) | {
        "duplicate-events", "canary-again", "approve-twice", "late-events", "operator-failover",
        "failback-twice", "expired-link", "crash", "outage", "control-plane-only", "alarm-flapping",
        "way-home"}
    assert chaos.draw(5) == chaos.draw(5), "a schedule is replayable from its seed"
    # every crash point names a step of its machine that invokes that function
    import json
    root = Path(__file__).resolve().parents[2] / "infra/statemachine"

    def states(machine: str) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def walk(level: dict[str, Any]) -> None:
            for name, state in level.items():
                found[name] = state
                for branch in state.get("Branches", []):
                    walk(branch["States"])

        walk(json.loads((root / f"{machine}.asl.json").read_text())["States"])
        return found

    for machine, state, fn in chaos.CRASH_POINTS:
        arn = states(machine)[state]["Parameters"]["FunctionName"]
        assert drill_mod.SUBSTITUTIONS[arn.strip("${}")] == fn, (machine, state, fn)
    for machine, state in chaos.OUTAGE_POINTS:
        assert state in states(machine), (machine, state)


def test_the_seeds_that_found_a_defect_still_draw_what_found_it() -> None:
    # 42: failover-approval killed while the person's decision was in flight
    crash = chaos.draw(42).crash
    assert crash is not None
    assert (crash["machine"], crash["state"], crash["function"]) == (
        "failover", "Approval", "failover-approval")
    # 57 and 59: the storm of 100 events, with timeouts on the functions' calls
    for seed in (57, 59):
        kinds = chaos.draw(seed).kinds()
        assert {"duplicate-events", "timeout"} <= kinds, (seed, kinds)
    # 93: API errors and throttling on the functions' calls (the canary's one event failed)
    assert {"error", "throttle"} <= chaos.draw(93).kinds()
    # 94: an operator's failover and duplicated events, two triggers beside the run's end
    assert {"duplicate-events", "operator-failover"} <= chaos.draw(94).kinds()
    # 108: run-ledger killed at the failback's Record (under load the kill reaches Notify)
    crash = chaos.draw(108).crash
    assert crash is not None and chaos.draw(108).way_home
    assert (crash["machine"], crash["state"], crash["function"]) == (
        "failback", "Record", "run-ledger")


def test_after_a_lost_press_only_the_same_decision_counts_as_recorded() -> None:
    import io
    import urllib.error

    def refusal(page: str) -> urllib.error.HTTPError:
        return urllib.error.HTTPError("http://127.0.0.1/", 409, "Conflict", {},  # type: ignore[arg-type]
                                      io.BytesIO(page.encode()))

    # as failover-approval words it: "This request was already decided: {} by {} via {} at {}."
    page = "<p>This request was already decided: approve by Ana Ops via link at 02:14Z.</p>"
    assert chaos.decided_as(refusal(page), "approve")
    assert not chaos.decided_as(refusal(page), "reject")
    assert not chaos.decided_as(refusal("<p>No longer waiting</p>"), "approve")


def test_a_function_killed_mid_step_is_retried_and_the_run_goes_on() -> None:
    """db-failover's process killed while it starts the promotion: Lambda answers the lost
    invocation with Runtime.ExitError, Step Functions runs the (idempotent) step again, and the
    failover and the way home succeed (before the retry, the run failed: FAILED at 1c3af5f)."""
    schedule = chaos.Schedule(
        seed=0, rules=[], duplicate_events=0, canary_again=False, approve_twice=False,
        way_home=True, crash={"machine": "failover", "state": "Database: start", "function": "db-failover",
               "delay_ms": 50})
    v = chaos.play(schedule, 0.05)
    assert v.fired == {"crash": 1}
    assert v.violation is None, v.violation
    assert (v.status, v.outcome, v.failback_status) == ("SUCCEEDED", "succeeded", "SUCCEEDED")


def test_the_ci_set_of_chaos_schedules_has_no_violation() -> None:
    for seed in chaos.CI_SEEDS:
        v = chaos.run_one(seed, 0.05, verbose=False)
        assert v.violation is None, f"seed {seed}: {v.violation} (replay: make chaos SEED={seed})"
        assert v.checks >= 8


def test_while_no_run_has_started_the_canary_runs_on_its_schedule() -> None:
    """Seed 123 under load: all three of Lambda's attempts at the canary's one event met injected
    timeouts and no run started; in production the next minute's canary reports again."""
    now = [0.0]
    canaries: list[float] = []
    executions: list[dict[str, str]] = []

    def canary() -> None:
        canaries.append(now[0])
        if len(canaries) == 2:  # the second scheduled report gets through
            executions.append({"name": "shop-to-us-west-2-1", "executionArn": "arn:x"})

    def sleep(s: float) -> None:
        now[0] += s

    first, reruns = chaos.until_a_run_starts(lambda: list(executions), canary, 3.0,
                                             clock=lambda: now[0], sleep=sleep)
    assert first["name"] == "shop-to-us-west-2-1" and reruns == 2
    assert canaries[0] >= 3.0 and canaries[1] - canaries[0] >= 3.0
    # a run that never starts is reported, naming the canary runs made
    now[0], canaries[:], executions[:] = 0.0, [], []
    with pytest.raises(chaos.drill_mod.DrillError, match=r"not within 60 s \(20 canary runs\)"):
        chaos.until_a_run_starts(lambda: [], lambda: canaries.append(now[0]), 3.0,
                                 clock=lambda: now[0], sleep=sleep)
