#!/usr/bin/env bash
# Issue 17: cases per CPU-second of the differential fuzz targets and the agreement property,
# today's set-up (KCB_BASELINE_SETUP=1: a fresh SQL schema and ~50 prepared statements per
# simulated device, 1,000 escrow rounds per iCloud key derivation, malloc for SQLite and OpenSSL,
# and the restore target's bundle wrapped into a whole backup folder) beside the new one (pooled
# in-memory stores, fast escrow KDF, pooled library memory, the bundle's files restored as they
# are), in one run on one machine. CPU time (user + sys of each process), not wall time: the
# machine is shared. Verdicts are compared too (journey; restore through the folder and without).
#   bench/fuzz_speed.sh [--build DIR] [--fuzz-build DIR] [--repeat N] [--cases N] [--runs N]
#                       [--seconds S] [--trials T]
#
# --build: the GCC build with replay_* and agreement_props (default build); --fuzz-build: the
# clang ASan+UBSan libFuzzer build (default build-fuzz; skipped when absent). The libFuzzer rows
# run a fixed number of executions (--runs; ten times as many for restore), and then, as issue 17
# measured its starting point, each binary for S seconds from the corpus (--seconds, default 20;
# 0 skips them): the faster one spends less of its time loading the corpus. --trials T (default 1)
# runs every row T times, old and new taking turns, and reports each side's least CPU time (the
# most runs per CPU-second for the timed rows): on a shared machine a neighbour's load only ever
# adds time, so the least is the closest to the code's own cost, and taking turns gives both sides
# the same neighbours.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
fuzz_build="$root/build-fuzz"
repeat=3
cases=2000
runs=2000
seconds=20
trials=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$(realpath "$2"); shift 2 ;;
    --fuzz-build) fuzz_build=$(realpath -m "$2"); shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --trials) trials=$2; shift 2 ;;
    -h | --help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "bench/fuzz_speed.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/kcb-fuzz-speed.XXXXXX")
trap 'rm -rf "$work"' EXIT

# cpu_of BASELINE CMD...: runs CMD with KCB_BASELINE_SETUP=BASELINE, prints its user+sys seconds.
cpu_of() {
  local baseline=$1
  shift
  KCB_BASELINE_SETUP=$baseline /usr/bin/time -f "%U %S" -o "$work/time" "$@" >"$work/out" 2>&1 ||
    { cat "$work/out" >&2; echo "bench/fuzz_speed.sh: failed: $*" >&2; exit 1; }
  awk '{ printf "%.2f", $1 + $2 }' "$work/time"
}

# timed BASELINE SECONDS CMD...: runs libFuzzer CMD for SECONDS; prints "executions CPU-seconds".
timed() {
  local baseline=$1 secs=$2
  shift 2
  cpu=$(cpu_of "$baseline" "$@" -max_total_time="$secs" -print_final_stats=1)
  echo "$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$work/out") $cpu"
}

row_timed() {  # name runs_old cpu_old runs_new cpu_new
  awk -v n="$1" -v ro="$2" -v a="$3" -v rn="$4" -v b="$5" 'BEGIN {
    printf "| %-44s | %7s | %7.2f | %7.2f | %9.0f | %9.0f | %5.1fx |\n", n, ro "/" rn, a, b, ro / a,
      rn / b, (rn / b) / (ro / a) }'
}

row() {  # name cases cpu_old cpu_new
  awk -v n="$1" -v c="$2" -v a="$3" -v b="$4" 'BEGIN {
    printf "| %-44s | %7d | %7.2f | %7.2f | %9.0f | %9.0f | %5.1fx |\n", n, c, a, b, c / a, c / b, a / b }'
}

case "$trials" in
  '' | *[!0-9]* | 0) echo "bench/fuzz_speed.sh: --trials takes a whole number of at least 1" >&2; exit 2 ;;
esac

# least CPU-SECONDS...: the smallest of them.
least() { printf '%s\n' "$@" | sort -g | head -n1; }

# fastest "EXECUTIONS CPU-SECONDS"...: the pair with the most executions per CPU-second.
fastest() {
  printf '%s\n' "$@" | awk '$2 > 0 && (best == "" || $1 / $2 > rate) { rate = $1 / $2; best = $0 }
    END { print best }'
}

# A row's two sides are measured in turns, trial after trial: "old new old new ...". Each
# measure call runs one side once and appends its CPU-seconds to the named array.
measure() {  # ARRAY BASELINE CMD...
  local -n into=$1
  local cpu
  cpu=$(cpu_of "${@:2}")
  into+=("$cpu")
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $(date -u +%FT%TZ)," \
  "least CPU of $trials trial(s)"
echo "| what | cases | CPU-s old | CPU-s new | old cases/CPU-s | new cases/CPU-s | new/old |"
echo "|---|---|---|---|---|---|---|"

dirs() { for _ in $(seq "$repeat"); do printf '%s ' "$root/corpus/$1"; done; }
for t in journey restore; do
  n=$(( $(ls "$root/corpus/$t" | wc -l) * repeat ))
  old=() new=()
  for _ in $(seq "$trials"); do
    # shellcheck disable=SC2046
    measure old 1 "$build/fuzz/replay_$t" $(dirs $t)
    # shellcheck disable=SC2046
    measure new 0 "$build/fuzz/replay_$t" $(dirs $t)
  done
  row "replay_$t corpus/$t x$repeat ($(basename "$build"))" "$n" "$(least "${old[@]}")" \
    "$(least "${new[@]}")"
done

# The agreement property alone (its binary also holds the oracle's own, cheaper properties).
agreement=(--gtest_filter=Agreement.EngineOutcomeAndRoadEqualPredict)
old=() new=()
for _ in $(seq "$trials"); do
  RC_PARAMS="seed=20240601 max_success=$cases" measure old 1 \
    "$build/properties/agreement_props" "${agreement[@]}"
  RC_PARAMS="seed=20240601 max_success=$cases" measure new 0 \
    "$build/properties/agreement_props" "${agreement[@]}"
done
row "agreement property, $cases cases" "$cases" "$(least "${old[@]}")" "$(least "${new[@]}")"

# The same corpus through the replay main, old and new set-up: the same verdict for every input.
KCB_BASELINE_SETUP=1 KCB_JOURNEY_VERDICTS="$work/v-old" "$build/fuzz/replay_journey" \
  "$root/corpus/journey" >/dev/null 2>&1
KCB_BASELINE_SETUP=0 KCB_JOURNEY_VERDICTS="$work/v-new" "$build/fuzz/replay_journey" \
  "$root/corpus/journey" >/dev/null 2>&1
cmp -s "$work/v-old" "$work/v-new" || { echo "journey verdicts differ (replay old/new)" >&2; exit 1; }
# restore: both ways on every input, the same report and rows wherever the folder restores.
KCB_RESTORE_CROSS_CHECK=1 "$build/fuzz/replay_restore" "$root/corpus/restore" >/dev/null 2>&1 ||
  { echo "restore: the bare files and the folder disagree (KCB_RESTORE_CROSS_CHECK=1)" >&2; exit 1; }

if [ -x "$fuzz_build/fuzz/fuzz_journey" ]; then
  # journey's and restore's libFuzzer binaries link the edge-coverage copies of the libraries
  # (fuzz/CMakeLists.txt); with-cmp/fuzz_<target> is the same target on the fully instrumented
  # ones, as before issue 17, and is what the old set-up runs on. Without the copies (an OSS-Fuzz
  # style build) both are fuzz_<target>.
  for t in journey restore; do
    n=$runs
    [ "$t" = restore ] && n=$((runs * 10))
    args=(-runs="$n" -seed=1 -dict="$root/fuzz/$t.dict")
    bin="$fuzz_build/fuzz/fuzz_$t"
    full=$bin
    if cmake --build "$fuzz_build" --target "fuzz_${t}_cmp" >/dev/null 2>&1; then
      full="$fuzz_build/fuzz/with-cmp/fuzz_$t"
    fi
    # What scripts/fuzz adds: shorter ASan allocation stacks and OSS-Fuzz's 10 MB quarantine for
    # every target, entropic off for journey, a shorter list of rare features for restore
    # (docs/fuzzing.md measures each option).
    flags=(-entropic=0)
    [ "$t" = restore ] && flags=(-entropic_feature_frequency_threshold=16)
    asan=malloc_context_size=5:quarantine_size_mb=10
    old=() new=() edges=() opt=()
    for _ in $(seq "$trials"); do
      measure old 1 "$full" "${args[@]}" "$(mktemp -d -p "$work")" "$root/corpus/$t"
      measure new 0 "$full" "${args[@]}" "$(mktemp -d -p "$work")" "$root/corpus/$t"
      if [ "$full" != "$bin" ]; then
        measure edges 0 "$bin" "${args[@]}" "$(mktemp -d -p "$work")" "$root/corpus/$t"
      fi
      ASAN_OPTIONS=$asan measure opt 0 "$bin" "${args[@]}" "${flags[@]}" \
        "$(mktemp -d -p "$work")" "$root/corpus/$t"
    done
    old_cpu=$(least "${old[@]}")
    row "fuzz_$t -runs=$n (ASan+UBSan, libFuzzer)" "$n" "$old_cpu" "$(least "${new[@]}")"
    if [ "$full" != "$bin" ]; then
      row "  new, edge coverage only (fuzz_$t)" "$n" "$old_cpu" "$(least "${edges[@]}")"
    fi
    row "  new + scripts/fuzz options (see fuzzing.md)" "$n" "$old_cpu" "$(least "${opt[@]}")"
    if [ "$seconds" -gt 0 ]; then
      old=() new=()
      for _ in $(seq "$trials"); do
        pair=$(timed 1 "$seconds" "$full" -seed=1 -dict="$root/fuzz/$t.dict" \
          "$(mktemp -d -p "$work")" "$root/corpus/$t")
        old+=("$pair")
        pair=$(ASAN_OPTIONS=$asan timed 0 "$seconds" "$bin" -seed=1 -dict="$root/fuzz/$t.dict" \
          "${flags[@]}" "$(mktemp -d -p "$work")" "$root/corpus/$t")
        new+=("$pair")
      done
      read -r old_runs old_cpu <<<"$(fastest "${old[@]}")"
      read -r new_runs new_cpu <<<"$(fastest "${new[@]}")"
      row_timed "  ${seconds} s each (old / new + options)" "$old_runs" "$old_cpu" "$new_runs" \
        "$new_cpu"
    fi
  done
  # libFuzzer's -runs=0 over the corpus runs every input (and a few executions of its own, e.g.
  # inputs it re-runs while loading): every verdict the replay main gave must be among its lines.
  KCB_JOURNEY_VERDICTS="$work/v-fuzz" "$fuzz_build/fuzz/fuzz_journey" -runs=0 \
    "$(mktemp -d -p "$work")" "$root/corpus/journey" >/dev/null 2>&1
  missing=$(comm -23 <(sort -u "$work/v-new") <(sort -u "$work/v-fuzz") | wc -l)
  if [ "$missing" -ne 0 ]; then
    echo "journey: $missing replay verdicts not given by fuzz_journey -runs=0" >&2
    exit 1
  fi
  echo "journey verdicts: replay_journey with the old and the new set-up identical on $(wc -l <"$work/v-new") inputs; fuzz_journey -runs=0 gives every one of them"
  echo "restore: the folder way and the bare files agree on all $(ls "$root/corpus/restore" | wc -l) inputs (KCB_RESTORE_CROSS_CHECK=1)"
else
  echo "($fuzz_build/fuzz/fuzz_journey not built: cmake --preset fuzz && cmake --build build-fuzz --target kcb_fuzz_all)"
fi
