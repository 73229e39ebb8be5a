#!/usr/bin/env bash
# Runs each fuzz target in turn, one at a time on one core, SECONDS_PER_TARGET each.
# Usage: fuzz/run_all.sh [SECONDS_PER_TARGET] [TARGET...]
set -u
cd "$(dirname "$0")"
secs=${1:-600}; shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_text fuzz_json fuzz_jsonl fuzz_sgml fuzz_csv fuzz_html fuzz_decode_date fuzz_query)
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "== $t ($secs s)"
  taskset -c "${FUZZ_CORE:-1}" "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 2>&1 | tail -n 12
done
