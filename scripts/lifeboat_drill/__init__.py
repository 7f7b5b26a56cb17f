"""lifeboat's local failover drill, as a package: the real product against an emulated
two-region AWS (`make drill`, scripts/drill.py), and the benchmarks built on it (`make bench`,
scripts/bench.py). docs/drill.md is the guide.

- template.py   infra/template.yaml read as CloudFormation reads it: functions, environment,
                DefinitionSubstitutions, intrinsics
- harness.py    the stack's names, the shop's health endpoints, the processes and clients, the
                checks every course shares (least privilege, logs, the operator's CLI)
- deploy.py     what `sam deploy` creates, in us-west-2 and the home copy in us-east-1
- scenarios.py  the scenarios: one record each (plan change, fault, trigger, decisions, end)
- course.py     Drill: set up, break the primary, follow the run as a person would, judge it,
                the way home
- report.py     the progress line, the summary and the HTML report
- cli.py        the command line of `make drill`
- bench.py, bench_lambda.py   `make bench`
"""

from .course import Drill
from .harness import (ACCOUNT, APP, EAST, FAILBACK_STATE_MACHINE, FAILOVER_STATE_MACHINE, FUNCTIONS,
                      OUTAGE_SERVICES, ROOT, SUBSTITUTIONS, WEST, DrillError, Outcome, wait_for)
from .scenarios import SCENARIOS, Scenario, writer_region

__all__ = ["ACCOUNT", "APP", "EAST", "FAILBACK_STATE_MACHINE", "FAILOVER_STATE_MACHINE", "FUNCTIONS",
           "OUTAGE_SERVICES", "ROOT", "SCENARIOS", "SUBSTITUTIONS", "WEST", "Drill", "DrillError",
           "Outcome", "Scenario", "wait_for", "writer_region"]
