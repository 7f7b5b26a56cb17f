#!/usr/bin/env python3
"""lifeboat's local failover drill: the real product against an emulated two-region AWS.

    make drill [ARGS="--scenario approval-rejected --time-scale 0.05"]
    .venv/bin/python scripts/drill.py [--scenario NAME] [--no-approval] [--time-scale F]
                                      [--report FILE] [--json FILE] [--keep]

What it sets up (all on 127.0.0.1):
  * the emulated AWS (tests/emulator/server.py: moto + lifeboat's extensions), with Step Functions
    executing state machines and Lambda invocations forwarded to the real function binaries;
  * the Lambda Runtime and Invoke APIs (``cargo lambda watch --only-lambda-apis``) and every
    function's debug binary attached to it, configured as infra/template.yaml configures them;
  * the two-region shop (``lifeboat-seed``: Aurora global database written in us-east-1, hosted
    zone and records, ECS services and Auto Scaling groups at standby capacity in us-west-2, the
    topic with a subscribed inbox, the plan in SSM) and what ``sam deploy`` creates in us-west-2:
    the functions, the failover state machine from infra/statemachine/failover.asl.json (its
    DefinitionSubstitutions filled in), the EventBridge rule that sends the canary's events and
    the plan's alarms to alarm-to-failover;
  * the shop's health endpoints: /use1/healthz, /usw2/healthz, and /www/healthz, which answers
    from whichever region Route 53 sends www.shop.example.com to.

Then it breaks the primary (us-east-1's regional services and its health endpoint) and lets the
product work: the canary (health-probe, invoked as its schedule would) finds the primary down,
its event reaches alarm-to-failover through EventBridge, which starts the run; the state machine
asks for approval, the drill reads the e-mail in the inbox and opens the signed link (GET), then
confirms (POST), as a person would; then promotion || scale-up, DNS, verify, record, notify.

Scenarios (--scenario): one record each in lifeboat_drill/scenarios.py (or --help). Exit status 0 when the scenario behaved as named, 1 when not, 2 on
bad usage or when the drill could not set up.
"""


import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifeboat_drill.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
