#!/usr/bin/env python3
"""make chaos: seeded fault schedules over a real failover, checked against the safety invariants.

Each run draws, from its seed, a schedule of faults and plays the drill's failover under it: the
same emulated AWS, the real function binaries under cargo lambda watch, the real state machine.
The functions call AWS with their own access keys (``LBFN<NAME>``), so the faults reach lifeboat
and never the harness:

* API faults per call (the emulator's ``/_lifeboat/api-faults``): throttling, server errors,
  timeouts and added latency on the services a failover uses, at drawn rates;
* events duplicated and stormed: the canary's event delivered again, up to 100 times in a second,
  and the canary invoked again while the run is under way;
* a second actor: the approval link opened and confirmed twice.

After the run it checks, from the emulated AWS's state, the execution histories, the run's
report and the notifications, and fails with the seed and the first invariant violated:

* I1 one serving writer: traffic ends in the writer's region; Traffic never began before the
  database step reported the target as the writer;
* I2 one run: one execution for the incident;
* I3 every run ends known: the execution closed (SUCCEEDED, FAILED or ABORTED), a report with its
  outcome recorded, exactly one report notification, and no live lock left behind;
* I4 data loss only as decided: a failover with data loss only within the RPO guard, or with a
  recorded override;
* I5 capacity and approval: the writer's region at active capacity after a success; nothing
  scaled or shifted before the approval.

``make chaos SEED=n`` replays one schedule; ``make chaos RUNS=n`` runs seeds 1..n; the CI set is
``make chaos CHAOS_SET=ci``. It prints runs, faults injected by kind, invariant checks made,
violations and runs per minute.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import drill as drill_mod  # noqa: E402

# Seeds the CI set runs: chosen so that together they draw every fault kind (checked at start).
CI_SEEDS = [3, 5]
SERVICES = ["ssm", "rds", "ecs", "autoscaling", "states", "sns", "route53-recovery-cluster",
            "monitoring", "events"]
KINDS = ["throttle", "error", "timeout", "latency"]
# Every kind of fault a schedule may draw.
ALL_KINDS = set(KINDS) | {"duplicate-events", "canary-again", "approve-twice"}
FUNCTION_KEY_PREFIX = "LBFN"


@dataclass
class Schedule:
    seed: int
    rules: list[dict[str, Any]]
    duplicate_events: int
    canary_again: bool
    approve_twice: bool

    def kinds(self) -> set[str]:
        kinds = {r["kind"] for r in self.rules}
        if self.duplicate_events:
            kinds.add("duplicate-events")
        if self.canary_again:
            kinds.add("canary-again")
        if self.approve_twice:
            kinds.add("approve-twice")
        return kinds


def uncovered(seeds: list[int]) -> set[str]:
    """The fault kinds none of these seeds' schedules draws."""
    return ALL_KINDS - set().union(*(draw(s).kinds() for s in seeds))


def draw(seed: int) -> Schedule:
    rng = random.Random(seed)
    rules = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(KINDS)
        rule: dict[str, Any] = {
            "service": rng.choice(SERVICES),
            "access_key": FUNCTION_KEY_PREFIX,
            "kind": kind,
            "rate": round(rng.uniform(0.05, 0.3), 2),
        }
        if kind == "latency":
            rule["latency_ms"] = rng.randint(50, 800)
        if kind == "timeout":
            rule["timeout_ms"] = rng.randint(500, 3000)
        rules.append(rule)
    return Schedule(
        seed=seed,
        rules=rules,
        duplicate_events=rng.choice([0, 0, 5, 100]),
        canary_again=rng.random() < 0.5,
        approve_twice=rng.random() < 0.5,
    )


@dataclass
class Verdict:
    seed: int
    schedule: Schedule
    checks: int = 0
    violation: str | None = None
    injected: dict[str, int] = field(default_factory=dict)
    status: str | None = None
    outcome: str | None = None
    seconds: float = 0.0
    # approval pages that answered 5xx and were opened again
    pages_retried: int = 0
    canary_reruns: int = 0


class ChaosDrill(drill_mod.Drill):
    def __init__(self, schedule: Schedule, time_scale: float, verbose: bool) -> None:
        super().__init__("failover", True, time_scale=time_scale, verbose=verbose, go_home=False)
        self.schedule = schedule
        self.extra: list[threading.Thread] = []
        # Approval pages that answered 5xx and were opened again (a person's retry).
        self.faulted_pages = 0
        # Canary runs that failed and were followed by the next scheduled one.
        self.canary_reruns = 0

    def spawn(self, args: list[str], log: str, env: dict[str, str] | None = None) -> Any:
        """As the drill does, but each function signs with its own access key."""
        if env is not None and "AWS_LAMBDA_FUNCTION_NAME" in env:
            name = env["AWS_LAMBDA_FUNCTION_NAME"].replace("-", "").upper()
            env = {**env, "AWS_ACCESS_KEY_ID": f"{FUNCTION_KEY_PREFIX}{name}"}
        return super().spawn(args, log, env)

    def break_primary(self) -> None:
        super().break_primary()
        self.control("/_lifeboat/api-faults", {"seed": self.schedule.seed, "rules": self.schedule.rules})
        if self.schedule.duplicate_events:
            events = self.client("events")
            n = self.schedule.duplicate_events

            def storm() -> None:
                time.sleep(0.5)
                batch = [self.canary_event()] * 10
                try:
                    for _ in range(max(1, n // 10)):
                        events.put_events(Entries=batch)
                except Exception:  # noqa: BLE001 - the run may be over and the emulator gone
                    pass

            self.extra.append(threading.Thread(target=storm, daemon=True))
        if self.schedule.canary_again:
            def again() -> None:
                time.sleep(3.0)
                try:
                    self.canary()
                except Exception:  # noqa: BLE001 - the run may be over and the emulator gone
                    pass

            self.extra.append(threading.Thread(target=again, daemon=True))
        for t in self.extra:
            t.start()

    def canary(self) -> dict[str, Any]:
        """As its schedule does: a canary run that failed (a fault reached its PutEvents) is
        followed by the next scheduled one (here a second later, up to five)."""
        for attempt in range(6):
            try:
                return super().canary()
            except drill_mod.DrillError:
                if attempt == 5:
                    raise
                self.canary_reruns += 1
                time.sleep(1.0)
        raise drill_mod.DrillError("unreachable")

    def decide(self, message: str, decision: str) -> None:
        """As a person would: a page that answers 5xx (a fault reached the approval function)
        is tried again, a few times, a second apart."""
        for attempt in range(6):
            try:
                super().decide(message, decision)
                break
            except urllib.error.HTTPError as e:
                if e.code < 500 or attempt == 5:
                    raise
                self.faulted_pages += 1
                time.sleep(1.0)
        if self.schedule.approve_twice:
            try:
                super().decide(message, decision)
            except Exception:  # noqa: BLE001 - the second press is refused: as it should be
                pass


def check(d: ChaosDrill, out: drill_mod.Outcome, v: Verdict) -> None:
    def require(ok: bool, what: str) -> None:
        v.checks += 1
        if not ok and v.violation is None:
            v.violation = what

    es = out.end_state
    report = out.report or {}
    names = [s["name"] for s in out.states if s["type"].endswith("StateEntered")]
    # I3 every run ends known
    require(out.status in ("SUCCEEDED", "FAILED", "ABORTED"), f"I3: the execution ended {out.status}")
    require(bool(report), "I3: no run report recorded")
    require(report.get("outcome") in ("succeeded", "failed", "aborted"),
            f"I3: report outcome {report.get('outcome')!r}")
    reports = [n for n in out.notifications if "Approve:" not in n["message"]]
    require(len(reports) == 1, f"I3: {len(reports)} report notifications, not exactly one")
    lock = es.get("lock")
    if lock is not None:
        arn = lock.get("execution_arn")
        status = (d.client("stepfunctions").describe_execution(executionArn=arn)["status"]
                  if arn else None)
        require(status != "RUNNING", "I3: a lock is held for a running execution after the run")
    # I2 one run
    require(out.executions == 1, f"I2: {out.executions} executions for one incident")
    # I1 one serving writer
    if "Traffic: start" in names:
        require(es.get("www_region") == es.get("writer_region") or out.status != "SUCCEEDED",
                f"I1: www serves {es.get('www_region')} while the writer is {es.get('writer_region')}")
    if out.status == "SUCCEEDED":
        require(es.get("www_region") == es.get("writer_region") == drill_mod.WEST,
                f"I1: succeeded with writer {es.get('writer_region')} and www {es.get('www_region')}")
    # I4 data loss only as decided
    promotion = report.get("promotion") or {}
    if promotion.get("mode") == "failover" and not promotion.get("overridden"):
        lag = promotion.get("lag")
        require(lag is not None and lag <= 30, f"I4: a failover with data loss at lag {lag}")
    # I5 approval before anything moves; capacity of the writer's region
    if "Database: start" in names or "Compute: start" in names:
        first_move = min(i for i, n in enumerate(names) if n in ("Database: start", "Compute: start"))
        require("Approval" in names[:first_move], "I5: scaled or promoted before the approval")
    if out.status == "SUCCEEDED":
        require(es.get("ecs_desired") == {"web": 6, "checkout": 4} and es.get("asg_desired") == 6,
                f"I5: the writer's region at {es.get('ecs_desired')}, workers {es.get('asg_desired')}")


def run_one(seed: int, time_scale: float, verbose: bool) -> Verdict:
    schedule = draw(seed)
    v = Verdict(seed=seed, schedule=schedule)
    d = ChaosDrill(schedule, time_scale, verbose)
    started = time.monotonic()
    try:
        out = d.run()
        v.status = out.status
        v.outcome = (out.report or {}).get("outcome")
        v.injected = d.control("/_lifeboat/api-faults", None, "GET").get("injected", {})
        v.pages_retried = d.faulted_pages
        v.canary_reruns = d.canary_reruns
        check(d, out, v)
    except drill_mod.DrillError as exc:
        v.violation = f"I3: the run could not be followed to its end: {exc}"
    finally:
        v.seconds = time.monotonic() - started
        d.stop()
    return v


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, help="replay one schedule")
    p.add_argument("--runs", type=int, default=0, help="run seeds FROM..FROM+RUNS-1")
    p.add_argument("--from", dest="first", type=int, default=1, help="the first seed of --runs")
    p.add_argument("--set", choices=["ci"], help="the CI set of seeds")
    p.add_argument("--time-scale", type=float, default=0.05)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--show", action="store_true", help="print the schedules and exit")
    args = p.parse_args(argv)
    if args.seed is not None:
        seeds = [args.seed]
    elif args.runs:
        seeds = list(range(args.first, args.first + args.runs))
    else:
        seeds = CI_SEEDS
    if args.set == "ci" or not (args.seed or args.runs):
        missing = uncovered(CI_SEEDS)
        if missing:
            print(f"chaos: the CI seeds do not cover {sorted(missing)}", file=sys.stderr)
            return 2
    if args.show:
        for s in seeds:
            print(json.dumps(draw(s).__dict__))
        return 0
    t0 = time.monotonic()
    verdicts = []
    for s in seeds:
        v = run_one(s, args.time_scale, args.verbose)
        verdicts.append(v)
        mark = "ok" if v.violation is None else f"VIOLATION: {v.violation}"
        print(f"chaos seed {s}: {sorted(v.schedule.kinds())} -> execution {v.status}, "
              f"run {v.outcome}, injected {v.injected}, approval pages retried "
              f"{v.pages_retried}, canary reruns {v.canary_reruns}, {v.checks} checks, "
              f"{v.seconds:.0f} s: {mark}", flush=True)
        if v.violation is not None:
            print(f"chaos: replay with `make chaos SEED={s}`", flush=True)
            break
    minutes = (time.monotonic() - t0) / 60
    injected: dict[str, int] = {}
    for v in verdicts:
        for k, n in v.injected.items():
            injected[k] = injected.get(k, 0) + n
    events = {k: sum(1 for v in verdicts if k in v.schedule.kinds())
              for k in ("duplicate-events", "canary-again", "approve-twice")}
    violations = sum(1 for v in verdicts if v.violation)
    print(f"chaos: {len(verdicts)} runs, API faults injected {injected}, schedules with {events}, "
          f"{sum(v.checks for v in verdicts)} invariant checks, {violations} violations, "
          f"{len(verdicts) / minutes:.2f} runs per minute")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
