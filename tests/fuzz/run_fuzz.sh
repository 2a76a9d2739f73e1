#!/usr/bin/env bash
# Fuzzes the checkpoint readers (tests/fuzz/fuzz_*.cpp) with libFuzzer under ASan/UBSan.
#   run_fuzz.sh BUILD_DIR [TARGET...]      (targets: safetensors pth; default both)
# Each target is built with clang++-14 into BUILD_DIR (rebuilt when a source or a library
# header is newer), seeded with every *.safetensors / *.pth under tests/golden, tests/io/data
# and tests/models/data (zip and legacy .pth; copied into a temporary corpus) and run for
# CASCADEV_FUZZ_SECONDS (default 60) seconds.
# Exit: 0 clean, 1 a finding (the reproducer's path is printed; rerun it with
# `BUILD_DIR/fuzz_<target> REPRODUCER`), 2 usage/build error, 77 clang++-14 missing (skip).
set -uo pipefail

case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:?usage: run_fuzz.sh BUILD_DIR [safetensors] [pth]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors pth)
seconds=${CASCADEV_FUZZ_SECONDS:-60}
cxx=${CASCADEV_FUZZ_CXX:-clang++-14}

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "$cxx not found: skipping"
  exit 77
fi
mkdir -p "$build" || exit 2
build=$(cd "$build" && pwd)

flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -I"$repo/include")

# Build (in parallel; header-only library, nlohmann-json from the system).
pids=()
for t in "${targets[@]}"; do
  src=$here/fuzz_$t.cpp
  bin=$build/fuzz_$t
  [ -f "$src" ] || { echo "run_fuzz.sh: unknown target '$t'"; exit 2; }
  if [ -x "$bin" ] && [ -z "$(find "$here" "$repo/include" -newer "$bin" \( -name '*.hpp' -o -name '*.cpp' \) -print -quit)" ]; then
    echo "fuzz_$t: up to date"
    continue
  fi
  echo "building fuzz_$t"
  ( "$cxx" "${flags[@]}" "$src" -o "$bin.tmp" && mv "$bin.tmp" "$bin" ) &
  pids+=($!)
done
for p in "${pids[@]}"; do
  wait "$p" || { echo "run_fuzz.sh: build failed"; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cascadev-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for t in "${targets[@]}"; do
  case $t in
    safetensors) pattern='*.safetensors' ;;
    pth) pattern='*.pth' ;;
  esac
  corpus=$tmp/corpus_$t
  mkdir -p "$corpus"
  # Seeds: the golden files, named by content (duplicates collapse).
  while IFS= read -r -d '' f; do
    cp "$f" "$corpus/$(sha1sum "$f" | cut -c1-40)"
  done < <(find "$repo/tests/golden" "$repo/tests/io/data" "$repo/tests/models/data" -type f -name "$pattern" \
             -size -1025k -print0 2>/dev/null)
  seeds=$(ls "$corpus" | wc -l)
  artifacts=$build/artifacts/$t
  mkdir -p "$artifacts"
  before=$(ls "$artifacts" | wc -l)
  echo "== fuzz_$t: $seeds seeds, ${seconds}s (artifacts in $artifacts)"
  log=$build/fuzz_$t.log
  "$build/fuzz_$t" "$corpus" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1048576 -timeout=20 \
      -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
      -dict="$here/$t.dict" -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  grep -E '^#[0-9]+ +(DONE|pulse)|^(stat::|Done )' "$log" | tail -n 8
  echo "fuzz_$t: corpus grew from $seeds to $(ls "$corpus" | wc -l) inputs"
  after=$(ls "$artifacts" | wc -l)
  if [ $rc -ne 0 ] || [ "$after" -ne "$before" ]; then
    status=1
    echo "fuzz_$t: FINDING (libFuzzer exit $rc); log: $log"
    grep -E 'ERROR: |runtime error:|SUMMARY:|==[0-9]+==|terminate called|what\(\)' "$log" | head -n 20
    if [ "$after" -gt "$before" ]; then
      for a in $(ls -t "$artifacts" | head -n $((after - before))); do
        echo "reproducer: $artifacts/$a   (rerun: $build/fuzz_$t $artifacts/$a)"
      done
    else
      echo "fuzz_$t: no reproducer was written; the end of the log:"
      tail -n 15 "$log"
    fi
  else
    echo "fuzz_$t: no findings"
  fi
done
exit $status
