#!/usr/bin/env bash
# Local end-to-end demo of the first slice, with the real function binaries under the Lambda
# Runtime API (cargo lambda watch) and the emulated two-region AWS:
#   canary alarm -> alarm-to-failover -> one run started (and a duplicate collapsed)
#   -> db-failover start -> status until done -> the writer is in us-west-2
#   -> a malformed request comes back as errorType InvalidInput.
# Loopback only. Run through `make demo` (which installs the venv first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
t0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
say() { printf '[%6s ms] %s\n' "$(ms)" "$*"; }
fail() { echo "DEMO FAILED: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_get() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval('v'+sys.argv[1]))" "$1"; }

say "building the functions (debug profile)"
cargo build -q -p alarm-to-failover -p db-failover
cargo build -q -p lifeboat-tests --bin lifeboat-seed

say "starting the emulated AWS"
.venv/bin/python tests/emulator/server.py --port 0 --port-file "$work/port" >/dev/null &
pids+=($!)
for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the emulator did not start"
endpoint="http://127.0.0.1:$(cat "$work/port")"

say "seeding the two-region shop (examples/plan.yaml) at $endpoint"
sm=$(target/debug/lifeboat-seed "$endpoint" 1200 | json_get '["state_machine_arn"]')
curl -sf -X POST "$endpoint/_lifeboat/config" -H 'content-type: application/json' \
  -d '{"time_scale": 0.005}' >/dev/null

invoke_port=$(free_port)
say "Lambda Runtime + Invoke APIs (cargo lambda watch --only-lambda-apis) on 127.0.0.1:$invoke_port"
cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
  >"$work/watch.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$invoke_port") 2>/dev/null && break
  sleep 0.1
done

for fn in alarm-to-failover db-failover; do
  env AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$invoke_port/.rt/$fn" \
    AWS_LAMBDA_FUNCTION_NAME="$fn" AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 AWS_LAMBDA_LOG_STREAM_NAME=demo \
    AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/$fn" \
    AWS_REGION=us-west-2 AWS_ENDPOINT_URL="$endpoint" \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    LIFEBOAT_AWS_MAX_ATTEMPTS=1 LIFEBOAT_PLAN_PARAMETER=/lifeboat/shop/plan \
    LIFEBOAT_STATE_MACHINE_ARN="$sm" RUST_LOG=warn \
    "target/debug/$fn" >>"$work/functions.log" 2>&1 &
  pids+=($!)
done

invoke() {
  local fn=$1; shift
  timeout 60 cargo lambda invoke "$fn" --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
    --output-format json "$@"
}

say "alarm-to-failover <- events/alarm-to-failover/alarm-state-change.json"
out=$(invoke alarm-to-failover --data-file events/alarm-to-failover/alarm-state-change.json)
echo "$out" | python3 -m json.tool | sed -n '1,12p'
[ "$(echo "$out" | json_get '["outcome"]')" = started ] || fail "expected a started run: $out"
[ "$(echo "$out" | json_get '["duplicate"]')" = False ] || fail "expected a fresh start"
run_id=$(echo "$out" | json_get '["run_id"]')

say "alarm-to-failover <- the same event again (EventBridge may deliver twice)"
out=$(invoke alarm-to-failover --data-file events/alarm-to-failover/alarm-state-change.json)
[ "$(echo "$out" | json_get '["duplicate"]')" = True ] || fail "expected the duplicate to collapse: $out"
[ "$(echo "$out" | json_get '["run_id"]')" = "$run_id" ] || fail "expected the same run"
echo "  collapsed into run $run_id"

say "db-failover <- events/db-failover/start.json"
out=$(invoke db-failover --data-file events/db-failover/start.json)
echo "$out" | python3 -m json.tool
[ "$(echo "$out" | json_get '["state"]')" = started ] || fail "expected started: $out"

say "db-failover <- status, until done"
for _ in $(seq 1 100); do
  out=$(invoke db-failover --data-file events/db-failover/status.json)
  state=$(echo "$out" | json_get '["state"]')
  [ "$state" = in_progress ] || break
  printf '  %s (%s)\n' "$state" "$(echo "$out" | json_get '["rds_status"]')"
  sleep 0.2
done
echo "$out" | python3 -m json.tool | sed -n '1,8p'
[ "$state" = done ] || fail "expected done: $out"
[ "$(echo "$out" | json_get '["writer_region"]')" = us-west-2 ] || fail "writer did not move"

say "db-failover <- a malformed request"
if out=$(invoke db-failover --data-ascii '{"action": "promote"}' 2>&1); then
  fail "a malformed request succeeded: $out"
fi
echo "$out" | grep -q "InvalidInput" || fail "expected errorType InvalidInput: $out"
echo "$out" | grep -m1 -o '.*InvalidInput.*' | cut -c1-160

say "demo passed: 1 run started, 1 duplicate collapsed, writer moved to us-west-2, bad input typed"
