# lifeboat — see README.md. Every target installs what it needs on a fresh machine.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
FUNCTIONS   := alarm-to-failover alertmanager-webhook failover-approval db-failover dr-scale-up dns-flip verify health-probe run-ledger readiness failback-orchestrator
# The crates that build them: alertmanager-webhook is a binary of the alarm-to-failover crate.
PACKAGES    := $(filter-out alertmanager-webhook,$(FUNCTIONS))
EMULATOR_PORT ?= 5005

# The drill's options, e.g. make drill ARGS="--scenario approval-rejected"
ARGS        ?=

.PHONY: help drill bench fuzz chaos iam-report infra-lint deploy setup test test-drill test-rust test-emulator lint fmt schema emulator build sizes demo ci clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

INFRA_VENV  := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed
ASL_STAMP   := infra/node_modules/.installed
IAM_STAMP   := tests/iam/node_modules/.installed
ENV         ?= usw2

$(INFRA_STAMP): infra/requirements.txt
	python3 -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/python -m pip install --quiet -r infra/requirements.txt
	touch $@

$(ASL_STAMP): infra/package.json infra/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (Node.js)"; exit 1; }
	cd infra && npm ci --no-audit --no-fund --silent
	touch $@

$(STAMP): tests/emulator/requirements.txt
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r tests/emulator/requirements.txt
	touch $@

# Real servers on loopback (Debian packages): Alertmanager, whose webhook triggers a run in the
# alertmanager scenario; Redis and Sentinel, the cache adapter's two "regions"
# (crates/redis/tests/sentinel_it.rs); PostgreSQL and etcd under Patroni (PyPI, in
# .venv-patroni), the database adapter's two regions (crates/http/tests/patroni_it.rs); MariaDB,
# a source and its binlog replica (crates/mysql/tests/mariadb_it.rs); openssl, which issues the
# MariaDB servers' TLS certificates there and in the linode drill.
DEBIAN_PACKAGES := prometheus-alertmanager redis-server redis-sentinel postgresql etcd-server mariadb-server openssl
DEBIAN_COMMANDS := prometheus-alertmanager redis-server redis-sentinel etcd openssl
DEBIAN_STAMP    := .venv/.debian-installed-5
PATRONI_VENV    := .venv-patroni
PATRONI_STAMP   := $(PATRONI_VENV)/.installed

$(DEBIAN_STAMP): $(STAMP)
	@missing=; for c in $(DEBIAN_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgres"; \
	ls /usr/sbin/mariadbd >/dev/null 2>&1 || missing="$$missing mariadbd"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES) >/dev/null; \
	elif command -v sudo >/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES) >/dev/null; \
	else echo "install the Debian packages $(DEBIAN_PACKAGES) (root or sudo needed)"; exit 1; fi
	@# where systemd runs, the packages start services on :9093, :6379, :26379, :5432, :2379
	@# and :3306; the tests and the drill run their own
	@-systemctl disable --now prometheus-alertmanager redis-server redis-sentinel postgresql etcd mariadb >/dev/null 2>&1 || true
	touch $@

# Debian's own Python (not the moto venv's): Patroni runs as the postgres user when the tests
# run as root, and that user must be able to run it.
$(PATRONI_STAMP): tests/patroni/requirements.txt $(DEBIAN_STAMP)
	/usr/bin/python3 -m venv $(PATRONI_VENV)
	$(PATRONI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PATRONI_VENV)/bin/python -m pip install --quiet -r tests/patroni/requirements.txt
	chmod -R a+rX $(PATRONI_VENV)
	touch $@

$(IAM_STAMP): tests/iam/package.json tests/iam/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (Node.js)"; exit 1; }
	cd tests/iam && npm ci --no-audit --no-fund --silent
	touch $@

setup: $(STAMP) $(IAM_STAMP) $(DEBIAN_STAMP) $(PATRONI_STAMP) ## Python venv (moto server, pytest, cargo-lambda from PyPI); the IAM policy simulator (npm); the real servers: Debian's Alertmanager, Redis, PostgreSQL, etcd, MariaDB and PyPI's Patroni

test: setup ## All tests: Rust unit, adapter, contract and emulator-backed tests; the emulator's own tests; the drill's scenarios
	cargo test --workspace --all-targets
	cargo build -q --workspace --all-targets
	rm -rf target/iam-calls
	$(PY) -m pytest -q -n 4 tests/emulator tests/drill tests/bench tests/vendor

iam-report: setup ## Least privilege over every run since make test (drill scenarios, chaos set, make drill): the table, and each statement no call needed with its reason (infra/iam-unused.yaml)
	$(PY) scripts/iam_check.py --union target/iam-calls

test-rust: setup ## Rust tests only
	cargo test --workspace --all-targets

test-emulator: setup ## The moto extension's own tests only
	$(PY) -m pytest -q tests/emulator

test-drill: setup ## The drill's scenarios only (builds the function binaries first)
	cargo build -q --workspace --all-targets
	$(PY) -m pytest -q -n 4 tests/drill

infra-lint: $(INFRA_STAMP) $(ASL_STAMP) ## cfn-lint, sam validate --lint, asl-validator on infra/
	$(INFRA_VENV)/bin/cfn-lint infra/template.yaml
	SAM_CLI_TELEMETRY=0 $(INFRA_VENV)/bin/sam validate --lint --template infra/template.yaml --region us-west-2
	infra/node_modules/.bin/asl-validator $(addprefix --json-path ,$(wildcard infra/statemachine/*.asl.json))

deploy: $(INFRA_STAMP) $(STAMP) ## sam build + sam deploy of one region's copy (ENV=usw2 or ENV=use1, see infra/samconfig.toml)
	$(PY) scripts/deploy_secret.py --config infra/samconfig.toml --env $(ENV)
	SAM_CLI_TELEMETRY=0 $(INFRA_VENV)/bin/sam build --template infra/template.yaml --build-dir target/sam --beta-features
	SAM_CLI_TELEMETRY=0 $(INFRA_VENV)/bin/sam deploy --template-file target/sam/template.yaml \
	  --config-file $(CURDIR)/infra/samconfig.toml --config-env $(ENV)

lint: ## rustfmt check and clippy with warnings denied
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

schema: ## Regenerate schema/plan.schema.json from the Rust types
	LIFEBOAT_UPDATE_SCHEMA=1 cargo test -q -p lifeboat-core plan::tests::the_committed_json_schema_is_up_to_date

emulator: setup ## Run the emulated AWS in the foreground on 127.0.0.1:$(EMULATOR_PORT)
	$(PY) tests/emulator/server.py --port $(EMULATOR_PORT)

build: setup ## Release builds of every function for Lambda (arm64, provided.al2023) with cargo-lambda
	cargo lambda build --release --arm64 $(addprefix -p ,$(PACKAGES))
	@$(MAKE) --no-print-directory sizes

sizes: ## Sizes of the built bootstrap binaries
	@for f in $(FUNCTIONS); do \
	  b=target/lambda/$$f/bootstrap; \
	  if [ -f $$b ]; then printf '%-22s %6s KiB\n' $$f $$(( $$(stat -c %s $$b) / 1024 )); fi; \
	done

drill: setup ## The local failover drill: emulated two-region AWS, the real functions and state machine (ARGS="--scenario ...")
	cargo build -q --workspace --all-targets
	$(PY) scripts/drill.py $(ARGS)

# The benchmarks' options, e.g. make bench BENCH_ARGS="--runs 30 --only cold-start,sizes"
BENCH_ARGS  ?=

bench: setup ## Benchmarks with their targets: cold start, memory, sizes, orchestration overhead, DNS and ECS at scale (writes bench/RESULTS.md)
	cargo build --release $(addprefix -p ,$(PACKAGES)) -p lifeboat-bench-hello
	cargo build -q --workspace --all-targets
	$(PY) scripts/bench.py $(BENCH_ARGS)

SEED ?=
RUNS ?=
SET ?=
FROM ?=
CHAOS_JOBS ?= 1

chaos: setup ## Seeded fault schedules over a real failover and failback, checked against I1-I5 (SEED=n replays one; RUNS=n [FROM=k] runs seeds k..k+n-1; SET=found replays the seeds that found a defect; CHAOS_JOBS=n at once; default: the CI set)
	cargo build -q --workspace --all-targets
	$(PY) scripts/chaos.py $(if $(SEED),--seed $(SEED)) $(if $(RUNS),--runs $(RUNS)) $(if $(FROM),--from $(FROM)) $(if $(SET),--set $(SET)) --jobs $(CHAOS_JOBS)

FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1

fuzz: ## Every fuzz target for FUZZ_SECONDS each (cargo fuzz, nightly), FUZZ_JOBS at a time; prints executions, exec/s and findings
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) bash scripts/fuzz.sh

demo: setup ## Local end-to-end: every failover step under cargo lambda watch against the emulator
	bash scripts/demo.sh

ci: setup lint infra-lint test drill demo ## What CI runs

clean: ## Remove build output and the venv
	cargo clean
	rm -rf $(VENV)
