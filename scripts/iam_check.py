#!/usr/bin/env python3
"""Least privilege, executed: every AWS call a function made, checked against its own role.

In the drill and in chaos runs each function signs with its own access key (``LBFN<NAME>``) and
the emulator records each such call (``/_lifeboat/iam``): service, operation and the parameters
that name resources. This module turns each call into its IAM action and resource ARNs, resolves
that function's role policy from ``infra/template.yaml`` (its substitutions filled for the
emulated account), and has an IAM policy simulator (``@cloud-copilot/iam-simulate``, run by
``tests/iam/simulate.mjs``) decide each request. It prints a table per function (calls, allowed,
denied, statements no call needed) and names every denied call with its action and resource.

    python scripts/iam_check.py CALLS.json      # calls as GET /_lifeboat/iam answers them
    python scripts/iam_check.py --union target/iam-calls   # make iam-report: every run's calls

Each drill scenario and chaos schedule saves its calls under ``target/iam-calls``; the union over
them names every statement no call needed, and each must be removed or kept with its reason in
``infra/iam-unused.yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = ROOT / "tests/iam/simulate.mjs"
KEY_PREFIX = "LBFN"

# The call -> (action, resource) mapping is the emulator's too (it enforces each role at the
# moment of the call): one module for both.
sys.path.insert(0, str(ROOT / "tests/emulator"))
from iam_requests import ACCOUNT, IamError, requests_of  # noqa: E402


# -- the template (scripts/lifeboat_drill/template.py reads it as CloudFormation would) -------------

from lifeboat_drill.template import Context, TemplateError, load_template  # noqa: E402,F401  (re-exported)


def function_policies(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """Each function's binary name -> the statements of its role's inline policies."""
    resources = ctx.template["Resources"]
    out: dict[str, list[dict[str, Any]]] = {}
    for res in resources.values():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        role = res.get("Properties", {}).get("Role", {})
        if not binary or "Fn::GetAtt" not in role:
            continue
        role_res = resources[role["Fn::GetAtt"][0]]
        statements: list[dict[str, Any]] = []
        for policy in role_res["Properties"].get("Policies", []):
            doc = ctx.resolve(policy["PolicyDocument"])
            for n, st in enumerate(doc["Statement"], start=1):
                st = dict(st)
                st.setdefault("Sid", f"{policy['PolicyName']}{n}".replace("-", ""))
                statements.append(st)
        out[binary] = statements
    return out


# -- the calls ----------------------------------------------------------------------------


HOME_PREFIX = KEY_PREFIX + "HOME"


def function_of(access_key: str) -> tuple[str, bool]:
    """LBFNDBFAILOVER -> ("dbfailover", False): the key's function (compared without dashes),
    and whether it is the home copy's (LBFNHOME..., in us-east-1)."""
    if access_key.startswith(HOME_PREFIX):
        return access_key[len(HOME_PREFIX):].lower(), True
    return access_key[len(KEY_PREFIX):].lower(), False


# -- the verdict ----------------------------------------------------------------------------


@dataclass
class Row:
    function: str
    calls: int = 0
    allowed: int = 0
    denied: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    statements: list[dict[str, Any]] = field(default_factory=list)

    def unused_statements(self) -> list[dict[str, Any]]:
        """Statements no call needed; the log statements are Lambda's own (it writes the
        function's logs with the role), never a call of the function's."""
        return [s for s in self.statements if s["Sid"] not in self.used
                and not all(a.startswith("logs:") for a in _as_list(s["Action"]))]

    def unused(self) -> list[str]:
        return [f"{s['Sid']} ({', '.join(_as_list(s['Action']))})" for s in self.unused_statements()]


def access_key(fn: str, at_home: bool) -> str:
    """The access key a function signs with in the drill: LBFN<NAME> in us-west-2 (the copy
    serving the shop), LBFNHOME<NAME> in us-east-1 (the home copy)."""
    return f"{HOME_PREFIX if at_home else KEY_PREFIX}{fn.replace('-', '').upper()}"


def policies_by_key(template: dict[str, Any] | None = None,
                    parameters: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Each function key -> its role's policy document, for the emulator to enforce at the
    moment of each call (``POST /_lifeboat/iam {"policies": ...}``): both copies, each with the
    role the template deploys in its region with the stack's `parameters` (those other than the
    template's defaults, e.g. the seeded HostedZoneId)."""
    template = template or load_template()
    out: dict[str, dict[str, Any]] = {}
    for at_home, ctx in _contexts(template, parameters or {}):
        for fn, statements in function_policies(ctx).items():
            out[access_key(fn, at_home)] = {"Version": "2012-10-17", "Statement": statements}
    return out


def _contexts(template: dict[str, Any], parameters: dict[str, str]) -> list[tuple[bool, Context]]:
    """The copy serving the shop (us-west-2) and the home copy (us-east-1), each the template
    deployed in its region with the stack's parameters."""
    return [(False, Context(template, overrides=dict(parameters))),
            (True, Context(template, region="us-east-1", other_region="us-west-2",
                           overrides=dict(parameters)))]


def _as_list(v: Any) -> list[str]:
    return v if isinstance(v, list) else [v]


def _simulator(payload: Any, *args: str, timeout: float = 300) -> Any:
    """tests/iam/simulate.mjs with `payload` as JSON on stdin; its JSON answer."""
    done = subprocess.run(["node", str(SIMULATOR), *args], input=json.dumps(payload), text=True,
                          capture_output=True, timeout=timeout, cwd=SIMULATOR.parent)
    if done.returncode != 0:
        raise IamError(f"the IAM simulator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def simulate(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each {action, resource, policy} -> {result, statements (Sids that allowed it)}."""
    return _simulator(requests)


def check(calls: list[dict[str, Any]], template: dict[str, Any] | None = None,
          parameters: dict[str, str] | None = None) -> tuple[list[Row], list[str]]:
    """The table's rows (one per function that has a role) and the problems: calls denied, calls
    of a key without a function, operations not modelled. The copy in us-west-2 and the home
    copy in us-east-1 each have their own roles (the template deployed in each region with the
    stack's `parameters`; a call saved with its run's own ``parameters`` is judged by those)."""
    template = template or load_template()
    stacks: dict[str, dict[bool, dict[str, list[dict[str, Any]]]]] = {}

    def roles(params: dict[str, str]) -> dict[bool, dict[str, list[dict[str, Any]]]]:
        key = json.dumps(params, sort_keys=True)
        if key not in stacks:
            stacks[key] = {at_home: function_policies(ctx)
                           for at_home, ctx in _contexts(template, params)}
        return stacks[key]

    stack = roles(parameters or {})
    rows = {f: Row(f, statements=st) for f, st in stack[False].items()}
    # a key names its function without dashes (the functions are the template's, whatever
    # the parameters)
    by_key = {at_home: {f.replace("-", ""): f for f in policies}
              for at_home, policies in stack.items()}
    problems: list[str] = []
    batch: list[dict[str, Any]] = []
    for call in calls:
        name, at_home = function_of(call["access_key"])
        policies = roles(call.get("parameters") or parameters or {})[at_home]
        fn = by_key[at_home].get(name)
        if fn is None:
            problems.append(f"{call['access_key']}: no function of infra/template.yaml has this key")
            continue
        try:
            reqs = requests_of(call)
        except (IamError, KeyError, IndexError) as e:
            problems.append(f"{fn}: {e}")
            continue
        for action, resource in reqs:
            batch.append({"function": fn, "action": action, "resource": resource,
                          "count": call["count"],
                          "policy": {"Version": "2012-10-17", "Statement": policies[fn]}})
    for req, verdict in zip(batch, simulate(batch)):
        row = rows[req["function"]]
        row.calls += req["count"]
        if verdict["result"] == "Allowed":
            row.allowed += req["count"]
            row.used.update(verdict["statements"])
        else:
            denial = f"{req['action']} on {req['resource']} ({verdict['result']})"
            row.denied.append(denial)
            problems.append(f"{req['function']}: DENIED {denial}")
    return sorted(rows.values(), key=lambda r: r.function), problems


def table(rows: list[Row]) -> str:
    lines = [f"{'function':<22} {'calls':>6} {'allowed':>8} {'denied':>7}  statements no call needed",
             f"{'-' * 22} {'-' * 6} {'-' * 8} {'-' * 7}  {'-' * 26}"]
    for r in rows:
        lines.append(f"{r.function:<22} {r.calls:>6} {r.allowed:>8} {len(r.denied):>7}  "
                     + ("; ".join(r.unused()) or "-"))
    return "\n".join(lines)


def report(rows: list[Row], problems: list[str]) -> str:
    return "\n".join([table(rows), *(f"iam: {p}" for p in problems)])


def wildcard_only_scoped(template: dict[str, Any] | None = None) -> list[str]:
    """Statements that name resources for an action IAM authorizes only on "*" (the Service
    Authorization Reference): such a statement never matches, so the call is denied."""
    template = template or load_template()
    policies = function_policies(Context(template))
    named = sorted({a for st in (s for sts in policies.values() for s in sts)
                    if _as_list(st["Resource"]) != ["*"] for a in _as_list(st["Action"])})
    facts = {f["action"]: f for f in _simulator(named, "--actions", timeout=120)}
    out = []
    for fn, sts in sorted(policies.items()):
        for st in sts:
            if _as_list(st["Resource"]) == ["*"]:
                continue
            for a in _as_list(st["Action"]):
                if not facts[a]["known"]:
                    out.append(f"{fn} {st['Sid']}: {a} is not an IAM action")
                elif facts[a]["wildcardOnly"]:
                    out.append(f"{fn} {st['Sid']}: {a} supports only Resource \"*\"")
    return out


# -- the union over every run ---------------------------------------------------------------

CALLS_DIR = ROOT / "target/iam-calls"
REASONS = ROOT / "infra/iam-unused.yaml"


def save_calls(calls: list[dict[str, Any]], source: str, directory: Path | None = None,
               parameters: dict[str, str] | None = None) -> Path:
    """One run's calls (a drill scenario, a chaos schedule), kept for the union over all runs,
    each with the stack parameters its run deployed (the union judges it by those)."""
    if parameters:
        calls = [{**c, "parameters": dict(parameters)} for c in calls]
    directory = directory or Path(os.environ.get("LIFEBOAT_IAM_CALLS", CALLS_DIR))
    directory.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in source)[:60]
    path = directory / f"{safe}-{os.getpid()}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps({"source": source, "calls": calls}))
    return path


def load_union(directory: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every saved run's calls, merged (counts added), and the runs' sources."""
    merged: dict[str, dict[str, Any]] = {}
    sources: list[str] = []
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text())
        sources.append(doc.get("source", path.name))
        for call in doc["calls"]:
            key = json.dumps({k: v for k, v in call.items() if k != "count"}, sort_keys=True)
            if key in merged:
                merged[key]["count"] += call["count"]
            else:
                merged[key] = dict(call)
    return list(merged.values()), sources


def load_reasons(path: Path = REASONS) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise IamError(f"{path}: {e}") from e
    if not isinstance(doc, dict) or not all(
            isinstance(v, dict) and all(isinstance(r, str) and r.strip() for r in v.values())
            for v in doc.values()):
        raise IamError(f"{path}: expected function -> {{statement Sid: reason}}")
    return doc


def unused_verdict(rows: list[Row], reasons: dict[str, dict[str, str]]) -> tuple[list[str], list[str]]:
    """Statements no call of any run needed: (kept, each with its reason; without a reason).
    A reason for a statement that some call needed, or that the template no longer has, is
    reported too (it would hide the next unused statement under the same Sid)."""
    kept, unexplained = [], []
    for r in rows:
        why = reasons.get(r.function, {})
        unused = {s["Sid"]: s for s in r.unused_statements()}
        for sid, st in unused.items():
            actions = ", ".join(_as_list(st["Action"]))
            if sid in why:
                kept.append(f"{r.function} {sid} ({actions}): {why[sid].strip()}")
            else:
                unexplained.append(f"{r.function} {sid} ({actions}): no call needed it and "
                                   f"{REASONS.relative_to(ROOT)} gives no reason to keep it")
        sids = {s["Sid"] for s in r.statements}
        for sid in why:
            if sid not in unused:
                unexplained.append(f"{r.function} {sid}: a reason is given, but the statement "
                                   + ("was needed by a call" if sid in sids else "is not in the template"))
    for fn in reasons:
        if fn not in {r.function for r in rows}:
            unexplained.append(f"{fn}: reasons given for a function without a role")
    return kept, unexplained


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("calls", nargs="?", type=Path, help="one run's calls (GET /_lifeboat/iam)")
    parser.add_argument("--union", type=Path, metavar="DIR",
                        help="every run's calls saved under DIR (target/iam-calls): the table over "
                             "all of them; each statement no call needed must have its reason in "
                             "infra/iam-unused.yaml")
    args = parser.parse_args(argv)
    if args.union is not None:
        calls, sources = load_union(args.union)
        if not sources:
            print(f"iam: no runs saved under {args.union}", file=sys.stderr)
            return 2
        rows, problems = check(calls)
        kept, unexplained = unused_verdict(rows, load_reasons())
        print(f"Least privilege over {len(sources)} runs "
              f"({sum(c['count'] for c in calls)} calls of the functions):")
        print(report(rows, problems))
        print("\nStatements no call needed, kept with their reasons:")
        print("\n".join(f"  {k}" for k in kept) or "  none")
        for u in unexplained:
            print(f"iam: {u}")
        return 1 if problems or unexplained else 0
    if args.calls is None:
        parser.print_usage(sys.stderr)
        return 2
    doc = json.loads(args.calls.read_text())
    rows, problems = check(doc["calls"] if isinstance(doc, dict) else doc)
    print(report(rows, problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
