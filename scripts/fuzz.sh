#!/usr/bin/env bash
# Run every fuzz target (fuzz/, cargo fuzz on the nightly toolchain) for FUZZ_SECONDS each,
# FUZZ_JOBS at a time, seeded from events/ and examples/ and the kept findings; print per target
# the executions, executions per second, coverage and findings. A finding fails the run: its input
# is under fuzz/artifacts/<target>/; fix it and keep the input in fuzz/regressions/<target>/
# (tests/fuzz_replay.rs runs it in `make test`).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
targets=${FUZZ_TARGETS:-"plan events requests link_token slack function_url"}
# Build flags for cargo fuzz: release with AddressSanitizer by default; CI: "--dev -s none".
read -r -a build <<<"${FUZZ_BUILD:--O}"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: the nightly toolchain is not installed (cargo fuzz needs it)" >&2; exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
echo "fuzz: building the targets (nightly, ${build[*]})"
cargo +nightly fuzz build "${build[@]}" >/dev/null
mkdir -p artifacts
started=artifacts/.started
touch "$started"
mkdir -p logs
run() {
  local t=$1
  mkdir -p "corpus/$t" "regressions/$t"
  cargo +nightly fuzz run "${build[@]}" "$t" "corpus/$t" ../events ../examples "regressions/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 >"logs/$t.log" 2>&1
}
failed=0
pids=()
names=()
for t in $targets; do
  run "$t" & pids+=($!); names+=("$t")
  if (( ${#pids[@]} >= jobs )); then
    wait "${pids[0]}" || failed=1; pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
printf '%-14s %8s %14s %10s %8s %s\n' target seconds executions exec/s cov findings
for t in $targets; do
  log="logs/$t.log"
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  # findings of this run only (artifacts left by earlier runs are not counted again)
  crashes=$(find "artifacts/$t" -type f -newer "$started" 2>/dev/null | grep -c . || true)
  printf '%-14s %8s %14s %10s %8s %s\n' "$t" "$seconds" "$execs" "$rate" "$cov" "$crashes"
done
if (( failed )); then
  echo "fuzz: a target failed; see fuzz/logs/ and fuzz/artifacts/" >&2
  exit 1
fi
