"""`make drill`: the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from pathlib import Path

from .course import Drill
from .harness import ROOT, DrillError
from .report import html_report, summary
from .scenarios import SCENARIOS

# Each stack's drill when no scenario is named.
STACKS = {"aws": "failover", "digitalocean": "digitalocean", "linode": "linode"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="lifeboat's local failover drill",
        epilog="Scenarios:\n" + "\n".join(f"  {k:<18} {v.summary}" for k, v in SCENARIOS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS),
                        help="default: the stack's own (failover on AWS)")
    parser.add_argument("--stack", choices=sorted(STACKS),
                        help="aws (Aurora, ECS, Route 53: the default); digitalocean: the whole "
                             "DigitalOcean stack (Alertmanager, Patroni, Redis, DigitalOcean DNS); "
                             "linode: the Linode stack (MariaDB, Kubernetes, Linode DNS)")
    parser.add_argument("--no-approval", action="store_true",
                        help="the plan does not require a person (default: the drill approves by link)")
    parser.add_argument("--time-scale", type=float, default=0.1,
                        help="simulated AWS durations x this (default 0.1: a 60 s failover takes 6 s)")
    parser.add_argument("--report", default=str(ROOT / "target/drill/report.html"),
                        help="where to write the HTML report")
    parser.add_argument("--json", help="also write the outcome as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--no-failback", action="store_true",
                        help="scenario failover: stop once failed over (default: then fail back home)")
    args = parser.parse_args(argv)
    if args.scenario is None:
        args.scenario = STACKS[args.stack or "aws"]
    elif args.stack and SCENARIOS[args.scenario].stack != args.stack:
        print(f"drill: scenario {args.scenario} runs on the {SCENARIOS[args.scenario].stack} stack, "
              f"not {args.stack}", file=sys.stderr)
        return 2
    try:
        drill = Drill(args.scenario, not args.no_approval, args.time_scale, keep=args.keep,
                      go_home=not args.no_failback)
    except ValueError as exc:
        print(f"drill: {exc}", file=sys.stderr)
        return 2
    print(f"lifeboat drill — scenario '{args.scenario}': {SCENARIOS[args.scenario].summary}")
    # `timeout` and `kill` send SIGTERM: stop the real servers (Patroni, PostgreSQL, etcd, Redis,
    # the emulator) as for Ctrl-C, never leave them running
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        out = drill.run()
    except DrillError as exc:
        print(f"drill: {exc}", file=sys.stderr)
        for log in ("emulator.log", "watch.log", "functions.log"):
            tail = drill.logs(log)[-3000:]
            if tail:
                print(f"--- {log} (tail)\n{tail}", file=sys.stderr)
        drill.stop()
        return 2
    except KeyboardInterrupt:
        drill.stop()
        return 130
    drill.stop()
    print()
    print(summary(out))
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(html_report(out))
    print(f"  HTML report: {report}")
    if args.json:
        Path(args.json).write_text(json.dumps(dataclasses.asdict(out), indent=1, default=str))
    return 0 if out.passed else 1


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    sys.exit(main())
