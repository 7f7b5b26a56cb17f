"""Serve one of the contract-checked fakes for a test in another language (lifeboat's Rust
adapter tests: crates/http/tests/digitalocean_contract.rs, linode_contract.rs,
kubernetes_contract.rs).

    serve_fake.py digitalocean|linode TOKEN DOMAINS_JSON
    serve_fake.py kubernetes TOKEN WORKLOADS_JSON      ([[kind, namespace, name, replicas], ...])

prints `ready <base_url>`, then answers one command per stdin line, each with one JSON line:
`fail <status>` (the next request is answered with that vendor error), `records <domain>`
(the domain's records as the fake holds them), `workload <kind> <namespace> <name>` ([spec
replicas, ready replicas]), `hold <kind> <namespace> <name>` (its pods never become ready),
`violations` (every request or answer the OpenAPI description rejected). End of input stops the
server.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digitalocean_dns import DigitalOceanDns  # noqa: E402
from kubernetes_apps import KubernetesApps  # noqa: E402
from linode_dns import LinodeDns  # noqa: E402

FAKES = {"digitalocean": DigitalOceanDns, "linode": LinodeDns}


def main() -> int:
    vendor, token, state = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    fake = (KubernetesApps(token, [tuple(w) for w in state]) if vendor == "kubernetes"
            else FAKES[vendor](token, state))
    print(f"ready {fake.base_url}", flush=True)
    try:
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "fail":
                fake.fail_next.append(int(arg))
                answer: object = "ok"
            elif command == "records":
                answer = sorted(fake.records.get(arg, {}).values(), key=lambda r: r["id"])
            elif command in ("workload", "hold") and isinstance(fake, KubernetesApps):
                kind, namespace, name = arg.split()
                if command == "hold":
                    fake.hold(kind, namespace, name)
                    answer = "ok"
                else:
                    answer = list(fake.ready(kind, namespace, name))
            elif command == "violations":
                answer = fake.violations
            else:
                answer = f"unknown command {command!r}"
            print(json.dumps(answer), flush=True)
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
