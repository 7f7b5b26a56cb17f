#!/usr/bin/env bash
# Local end-to-end demo of every failover step, with the real function binaries under the Lambda
# Runtime API (cargo lambda watch) and the emulated two-region AWS:
#   canary alarm -> alarm-to-failover -> one run started (and a duplicate collapsed)
#   -> failover-approval: request by SNS, the e-mail's link opened (GET) and confirmed (POST)
#      through the function URL, as a person does -> the waiting execution is approved
#   -> db-failover start -> status until done -> the writer is in us-west-2
#   -> dr-scale-up start -> status until steady -> dns-flip -> verify
#   -> health-probe finds us-east-1 dark and puts a lifeboat.probe event
#   -> a malformed request comes back as errorType InvalidInput.
# (`make drill` runs the same steps through the failover state machine; here the script drives
# each function with `cargo lambda invoke`, one by one.)
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
# --all-targets: the same feature set as `cargo test --workspace --all-targets`, so after the
# tests only the function binaries themselves are built.
cargo build -q --workspace --all-targets
bin="${CARGO_TARGET_DIR:-target}/debug"
functions=(alarm-to-failover failover-approval db-failover dr-scale-up dns-flip verify health-probe)

say "starting the emulated AWS"
.venv/bin/python tests/emulator/server.py --port 0 --port-file "$work/port" >/dev/null &
pids+=($!)
for _ in $(seq 1 1200); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the emulator did not start"
endpoint="http://127.0.0.1:$(cat "$work/port")"

say "seeding the two-region shop (examples/plan.yaml) at $endpoint"
seed=$("$bin/lifeboat-seed" "$endpoint" 1200)
sm=$(echo "$seed" | json_get '["state_machine_arn"]')
inbox=$(echo "$seed" | json_get '["inbox_url"]')
helper() { .venv/bin/python scripts/demo_helper.py "$endpoint" "$@"; }

say "serving the shop's health endpoints locally (us-east-1 answers 503)"
.venv/bin/python scripts/demo_helper.py serve-shop "$work/shop-port" &
pids+=($!)
for _ in $(seq 1 1200); do [ -s "$work/shop-port" ] && break; sleep 0.1; done
helper point-plan-at "http://127.0.0.1:$(cat "$work/shop-port")" >/dev/null
curl -sf -X POST "$endpoint/_lifeboat/config" -H 'content-type: application/json' \
  -d '{"time_scale": 0.005}' >/dev/null

invoke_port=$(free_port)
say "Lambda Runtime + Invoke APIs (cargo lambda watch --only-lambda-apis) on 127.0.0.1:$invoke_port"
cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
  >"$work/watch.log" 2>&1 &
pids+=($!)
# A loaded machine can take a while to start it: wait up to 120 s, then say so.
up=
for _ in $(seq 1 1200); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$invoke_port") 2>/dev/null; then up=1; break; fi
  sleep 0.1
done
[ -n "$up" ] || fail "cargo lambda watch did not listen on 127.0.0.1:$invoke_port within 120 s"

for fn in "${functions[@]}"; do
  env AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$invoke_port/.rt/$fn" \
    AWS_LAMBDA_FUNCTION_NAME="$fn" AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 AWS_LAMBDA_LOG_STREAM_NAME=demo \
    AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/$fn" \
    AWS_REGION=us-west-2 AWS_ENDPOINT_URL="$endpoint" \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    LIFEBOAT_AWS_MAX_ATTEMPTS=1 LIFEBOAT_PLAN_PARAMETER=/lifeboat/shop/plan \
    LIFEBOAT_PEER_REGION=us-east-1 \
    LIFEBOAT_STATE_MACHINE_ARN="$sm" RUST_LOG=info \
    LIFEBOAT_LINK_SECRET_PARAMETER=/lifeboat/shop/approval-link-secret \
    LIFEBOAT_PROBE_INTERVAL_MS=50 \
    "$bin/$fn" >>"$work/functions.log" 2>&1 &
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

say "failover-approval <- a task token from a waiting execution (request by SNS)"
waiting=$(helper wait-for-approval "$sm")
execution=$(echo "$waiting" | json_get '["execution"]')
python3 - "$waiting" > "$work/approval-request.json" <<'PY'
import json, sys
w = json.loads(sys.argv[1])
print(json.dumps({"action": "request", "task_token": w["task_token"],
                  "callback_url": "http://127.0.0.1:INVOKE_PORT/lambda-url/failover-approval/",
                  "run": w["run"]}))
PY
sed -i "s/INVOKE_PORT/$invoke_port/" "$work/approval-request.json"
out=$(invoke failover-approval --data-file "$work/approval-request.json")
echo "$out" | python3 -m json.tool
link=$(helper approval-link "$inbox" "Approve:")
echo "  e-mail link: ${link:0:90}..."
say "opening the link (GET): a confirmation page, nothing decided yet"
page=$(curl -s -w '\n%{http_code}' "$link")
[ "$(echo "$page" | tail -1)" = 200 ] || fail "GET: $page"
echo "$page" | grep -q 'Approve failover' || fail "no confirmation page: $page"
[ "$(helper status "$execution")" = RUNNING ] || fail "a GET must not decide"
say "pressing the button (POST from the page)"
token=${link#*\?t=}
page=$(curl -s -w '\n%{http_code}' --data-urlencode "t=$token" --data-urlencode "who=Demo Operator" \
  "http://127.0.0.1:$invoke_port/lambda-url/failover-approval/")
[ "$(echo "$page" | tail -1)" = 200 ] || fail "POST: $page"
result=$(helper execution "$execution")
echo "  execution: $result"
[ "$(echo "$result" | json_get '["status"]')" = SUCCEEDED ] || fail "the execution was not approved"

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

say "dr-scale-up <- events/dr-scale-up/start.json"
out=$(invoke dr-scale-up --data-file events/dr-scale-up/start.json)
echo "$out" | python3 -c 'import json,sys; o=json.load(sys.stdin); [print("  ", c["resource"], c["before"], "->", c["after"]) for c in o["changed"]]'
[ "$(echo "$out" | json_get '["state"]')" = scaled ] || fail "expected scaled: $out"
say "dr-scale-up <- status, until steady"
for _ in $(seq 1 100); do
  out=$(invoke dr-scale-up --data-file events/dr-scale-up/status.json)
  state=$(echo "$out" | json_get '["state"]')
  [ "$state" = steady ] && break
  sleep 0.2
done
[ "$state" = steady ] || fail "never steady: $out"
echo "  steady: $(echo "$out" | python3 -c 'import json,sys; print(", ".join("%s %s/%s" % (r["resource"], r["ready"], r["desired"]) for r in json.load(sys.stdin)["resources"]))')"

say "dns-flip <- events/dns-flip/flip.json"
out=$(invoke dns-flip --data-file events/dns-flip/flip.json)
[ "$(echo "$out" | json_get '["state"]')" = flipped ] || fail "expected flipped: $out"
echo "  changes: $(echo "$out" | json_get '["changes"]')"
python3 -c 'import json,sys; print(json.dumps({"action": "status", "changes": json.loads(sys.argv[1])["changes"]}))' "$out" > "$work/dns-status.json"
for _ in $(seq 1 100); do
  out=$(invoke dns-flip --data-file "$work/dns-status.json")
  state=$(echo "$out" | json_get '["state"]')
  [ "$state" = in_sync ] && break
  echo "  $state (Route 53 propagating)"
  sleep 0.2
done
[ "$state" = in_sync ] || fail "expected in_sync: $out"
echo "  in sync"

say "verify <- events/verify/verify.json"
out=$(invoke verify --data-file events/verify/verify.json)
echo "$out" | python3 -c 'import json,sys; [print("  ", "PASS" if c["passed"] else "FAIL", c["evidence"]) for c in json.load(sys.stdin)["checks"]]'
[ "$(echo "$out" | json_get '["passed"]')" = True ] || fail "verify failed: $out"

say "health-probe <- events/health-probe/scheduled.json (us-east-1 answers 503)"
out=$(invoke health-probe --data-file events/health-probe/scheduled.json)
echo "$out" | python3 -c 'import json,sys; o=json.load(sys.stdin); print("  %s of %s probes of %s failed; event sent: %s" % (o["failures"], o["probes"], o["probed_region"], o["event_sent"]))'
[ "$(echo "$out" | json_get '["event_sent"]')" = True ] || fail "expected a canary event: $out"

say "db-failover <- a malformed request"
if out=$(invoke db-failover --data-ascii '{"action": "promote"}' 2>&1); then
  fail "a malformed request succeeded: $out"
fi
echo "$out" | grep -q "InvalidInput" || fail "expected errorType InvalidInput: $out"
echo "$out" | grep -m1 -o '.*InvalidInput.*' | cut -c1-160

say "the functions' logs: no secret in any line"
[ -s "$work/functions.log" ] || fail "no function logs captured"
for value in "$(helper secret /lifeboat/shop/approval-link-secret)" \
             "$(echo "$waiting" | json_get '["task_token"]')" "$token"; do
  if grep -qF -- "$value" "$work/functions.log"; then fail "a secret appears in the logs"; fi
done
echo "  $(wc -l < "$work/functions.log") log lines checked (link key, task token, link token)"

say "demo passed: 1 run started, 1 duplicate collapsed, approved by link, writer moved to us-west-2, scaled up, traffic moved, verified, canary fired, bad input typed"
