"""make chaos (scripts/chaos.py): its invariant checks catch each violation they name, and the CI
set of seeds (every fault kind it draws) ends with 0 violations against the real binaries and
state machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import chaos  # noqa: E402
import drill as drill_mod  # noqa: E402


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


def test_the_ci_seeds_cover_every_fault_kind_drawn() -> None:
    assert chaos.uncovered(chaos.CI_SEEDS) == set()
    assert chaos.ALL_KINDS == set(chaos.KINDS) | {"duplicate-events", "canary-again", "approve-twice"}
    assert chaos.draw(5) == chaos.draw(5), "a schedule is replayable from its seed"


def test_the_ci_set_of_chaos_schedules_has_no_violation() -> None:
    for seed in chaos.CI_SEEDS:
        v = chaos.run_one(seed, 0.05, verbose=False)
        assert v.violation is None, f"seed {seed}: {v.violation} (replay: make chaos SEED={seed})"
        assert v.checks >= 8
