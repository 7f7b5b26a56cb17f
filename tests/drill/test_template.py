"""The harness deploys what infra/template.yaml deploys (scripts/cfn_template.py): nothing
re-types its function list or its state machines' substitutions, and the Makefile's list is
checked against it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import cfn_template  # noqa: E402
import drill as drill_mod  # noqa: E402


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
    assert len(functions) == 10 and len(set(functions)) == 10
    subs = cfn_template.function_substitutions()
    assert drill_mod.SUBSTITUTIONS == subs
    assert set(subs.values()) <= set(functions)
    # every placeholder of both machines is a function's ARN or the approval URL
    for asl in (ROOT / "infra/statemachine").glob("*.asl.json"):
        for key in set(re.findall(r"\$\{(\w+)\}", asl.read_text())):
            assert key in subs or key == "ApprovalUrl", (asl.name, key)
