"""The harness deploys what infra/template.yaml deploys (scripts/lifeboat_drill/template.py): nothing
re-types its function list or its state machines' substitutions, and the Makefile's list is
checked against it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from lifeboat_drill import template as cfn_template  # noqa: E402
import lifeboat_drill as drill_mod  # noqa: E402


def makefile_functions() -> list[str]:
    text = (ROOT / "Makefile").read_text()
    match = re.search(r"^FUNCTIONS\s*:=\s*(.+)$", text, re.M)
    assert match, "the Makefile names its FUNCTIONS"
    return match.group(1).split()


def test_the_makefile_builds_exactly_the_functions_the_template_deploys() -> None:
    assert sorted(makefile_functions()) == sorted(cfn_template.functions())


def test_the_drill_deploys_the_templates_functions_and_substitutions() -> None:
    functions = cfn_template.functions()
    assert drill_mod.FUNCTIONS == functions
    assert len(functions) == 11 and len(set(functions)) == 11
    subs = cfn_template.function_substitutions()
    assert drill_mod.SUBSTITUTIONS == subs
    assert set(subs.values()) <= set(functions)
    # every placeholder of both machines is a function's ARN or the approval URL
    for asl in (ROOT / "infra/statemachine").glob("*.asl.json"):
        for key in set(re.findall(r"\$\{(\w+)\}", asl.read_text())):
            assert key in subs or key == "ApprovalUrl", (asl.name, key)


# What the drill adds to a function's configured environment: where the emulated AWS is, the
# function's credentials, and the drill's pace. Everything else comes from the template.
HARNESS_VARIABLES = {"AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "LIFEBOAT_AWS_MAX_ATTEMPTS", "LIFEBOAT_PROBE_INTERVAL_MS",
                     "LIFEBOAT_CANARY_WATCH_MS", "LIFEBOAT_PROBE_TIMEOUT_MS"}


def test_each_function_runs_with_the_environment_the_template_gives_it() -> None:
    d = drill_mod.Drill("failover", verbose=False)
    try:
        d.seeded = {"zone_id": "ZSEEDED"}
        template = cfn_template.load_template()
        for region in (drill_mod.WEST, drill_mod.EAST):
            other = drill_mod.EAST if region == drill_mod.WEST else drill_mod.WEST
            for fn in drill_mod.FUNCTIONS:
                env = d.function_env(fn, region)
                configured = cfn_template.function_environment(
                    fn, cfn_template.Context(template, region=region, other_region=other))
                assert set(env) == set(configured) | HARNESS_VARIABLES, fn
                assert env["AWS_REGION"] == region
                for var in ("LIFEBOAT_PLAN_PARAMETER", "LIFEBOAT_PEER_REGION",
                            "LIFEBOAT_STATE_MACHINE_ARN", "LIFEBOAT_TOPIC_ARN", "RUST_LOG"):
                    if var in configured:
                        assert env[var] == configured[var], (fn, var)
        west = {fn: d.function_env(fn) for fn in drill_mod.FUNCTIONS}
        # the template's values, as CloudFormation would resolve them for this stack
        assert west["alarm-to-failover"]["LIFEBOAT_PEER_REGION"] == drill_mod.EAST
        assert west["alarm-to-failover"]["LIFEBOAT_STATE_MACHINE_ARN"] == (
            f"arn:aws:states:{drill_mod.WEST}:{drill_mod.ACCOUNT}:stateMachine:{drill_mod.FAILOVER_STATE_MACHINE}")
        assert west["run-ledger"]["LIFEBOAT_TOPIC_ARN"] == (
            f"arn:aws:sns:{drill_mod.WEST}:{drill_mod.ACCOUNT}:lifeboat-{drill_mod.APP}")
        assert west["readiness"]["LIFEBOAT_SCOPE_HOSTED_ZONE"] == "ZSEEDED"  # the seeded zone
        assert west["run-ledger"]["LIFEBOAT_POLL_SECONDS"] == "1"  # the drill's pace
        # a function gets only what the template gives it
        assert "LIFEBOAT_TOPIC_ARN" not in west["dns-flip"]
        assert "LIFEBOAT_LINK_SECRET_PARAMETER" not in west["db-failover"]
        east = d.function_env("alarm-to-failover", drill_mod.EAST)
        assert east["LIFEBOAT_PEER_REGION"] == drill_mod.WEST
        assert ":states:us-east-1:" in east["LIFEBOAT_STATE_MACHINE_ARN"]
    finally:
        d.stop()


def test_each_scenario_is_one_complete_record() -> None:
    from lifeboat_drill.scenarios import Expect, Refused

    for name, s in drill_mod.SCENARIOS.items():
        assert s.summary and "\n" not in s.summary, name
        assert s.trigger in ("canary", "storm"), name
        assert isinstance(s.expect, (Expect, Refused)), name
        # a refusal has no run to follow: no decisions to make, no course of its own
        if isinstance(s.expect, Refused):
            assert s.course is None, name
        assert all(d in ("approve", "reject") for d in s.decisions), name
    # the scenarios the approval step is about refuse --no-approval
    assert {n for n, s in drill_mod.SCENARIOS.items() if s.needs_approval} == {
        "approval-rejected", "approval-timeout", "approval-timeout-proceed"}
