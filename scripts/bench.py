#!/usr/bin/env python3
"""lifeboat's benchmarks: `make bench` (builds the release binaries first), or

    .venv/bin/python scripts/bench.py [--runs 20] [--only cold-start,sizes,orchestration,dns,ecs]

Measures, side by side in one run on this machine, and prints a table with every target:

* cold start and memory of every function's release binary, against a hello-world Rust Lambda
  built with the same profile (the floor) and the usual boto3 failover handler in Python, all
  through the same local Lambda Runtime API (lifeboat_drill/bench_lambda.py);
* the binaries' sizes, stripped and zipped as Lambda takes them;
* orchestration overhead: the drill (release binaries, no approval step) with fixed simulated AWS
  durations, its measured RTO against the critical path;
* a DNS flip of 1,000 records in 10 hosted zones: API calls and wall time, against one call per
  record;
* the scale-up of 50 ECS services against one.

Figures are medians over runs interleaved across subjects (so slow phases of this shared machine
hit every subject alike) and are compared as ratios measured in the same run. Writes
bench/RESULTS.md (the one place the latest figures live; docs/benchmarks.md links it) and target/bench/results.json.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifeboat_drill.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
