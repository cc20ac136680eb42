#!/bin/sh
# Runs every fuzz target from its seed corpus, one after another: RUNS executions each (default
# 1,000,000), with the input length each needs. Findings go to artifacts/<target>/, the grown
# corpus to corpus/<target>/ (both ignored by git), a log per target to artifacts/logs/.
# No sanitizer (-s none): ASan made runs 3-5x slower. Debug assertions on (-a): an overflow panics.
# Usage: fuzz/run.sh [target...] [-- libFuzzer flags...]   (from anywhere; RUNS=n to change the
# count). After `--`, flags go to libFuzzer: `fuzz/run.sh secrets -- -fork=1 -ignore_crashes=1
# -max_total_time=1800` runs for 30 minutes, going on past findings (each saved).
set -u
cd "$(dirname "$0")" || exit 1
RUNS=${RUNS:-1000000}
targets=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  targets="$targets $1"
  shift
done
[ $# -gt 0 ] && shift
# Temp files (journal, outbox, store targets) on tmpfs when there is one.
[ -d /dev/shm ] && export TMPDIR="${TMPDIR:-/dev/shm}"
max_len() {
  case $1 in
    payload) echo 65536 ;;          # a key or value past the largest field cap (16 KiB), x4
    session_file | store_read) echo 16384 ;;  # past the 8 KiB file limit
    settings_merge | journal_read) echo 16384 ;;
    outbox) echo 4096 ;;
    env_values) echo 256 ;;
    secrets) echo 16384 ;;          # the field cap: the filter sees at most a field's text
  esac
}
targets=${targets:-payload session_file store_read outbox env_values settings_merge journal_read secrets}
mkdir -p artifacts/logs
for t in $targets; do
  mkdir -p "corpus/$t" "artifacts/$t"
  start=$(date +%s)
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" -O -a -s none "corpus/$t" "seeds/$t" -- \
    -runs="$RUNS" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 "$@" > "artifacts/logs/$t.log" 2>&1
  rc=$?
  echo "$t: exit $rc in $(( $(date +%s) - start )) s; $(grep -E '^Done|stat::number_of_executed_units' "artifacts/logs/$t.log" | tr '\n' ' ')"
done
