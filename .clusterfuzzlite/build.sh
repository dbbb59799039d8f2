#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build: compiles every fuzz target of fuzz/CMakeLists.txt with the
# environment's $CXX, $CXXFLAGS (which already carry the sanitizer and coverage flags) and
# $LIB_FUZZING_ENGINE, and installs into $OUT: <target>, <target>.dict and
# <target>_seed_corpus.zip (from corpus/<target>/ and corpus/regressions/<target>/). Run from the repository root (the image's
# WORKDIR); scripts/fuzz-ci runs it on this machine with the same variables.
src=$(pwd)
[ -f "$src/fuzz/CMakeLists.txt" ] || { echo "build.sh: run me from the kcbackup root" >&2; exit 1; }
build="${WORK:-/tmp}/kcbackup-build"

# CMAKE_BUILD_TYPE names a configuration with no flags of its own: $CXXFLAGS decides.
cmake -S "$src" -B "$build" \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" -DCMAKE_BUILD_TYPE=OssFuzz \
  -DKCB_FUZZ=ON -DKCB_BUILD_TESTS=OFF -DKCB_BUILD_BENCH=OFF -DKCB_BUILD_CLI=OFF -DKCB_INSTALL=OFF \
  -DKCB_FUZZ_SANITIZERS= -DKCB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE"
cmake --build "$build" -j"$(nproc)" --target kcb_fuzz_all

found=0
for bin in "$build"/fuzz/fuzz_*; do
  target=$(basename "$bin")
  target=${target#fuzz_}
  cp "$bin" "$OUT/$target"
  [ -f "$src/fuzz/$target.dict" ] && cp "$src/fuzz/$target.dict" "$OUT/$target.dict"
  # The options scripts/fuzz uses, measured in docs/fuzzing.md ("Speed"): shorter allocation
  # stacks and OSS-Fuzz's own 10 MB quarantine (which its runner image already sets) for every
  # target, libFuzzer's entropic schedule off for journey and its list of rare
  # features shorter for restore.
  {
    echo "[asan]"
    echo "malloc_context_size = 5"
    echo "quarantine_size_mb = 10"
    case "$target" in
      journey) printf '[libfuzzer]\nentropic = 0\n' ;;
      restore) printf '[libfuzzer]\nentropic_feature_frequency_threshold = 16\n' ;;
    esac
  } >"$OUT/$target.options"
  rm -f "$OUT/${target}_seed_corpus.zip"
  # cmake's own zip writer: no dependency on the zip program. Flat archive, SHA-1 file names.
  # The regressions (inputs of fixed findings) go in too: ClusterFuzzLite starts from them.
  seeds=$(mktemp -d "${WORK:-/tmp}/seeds-$target.XXXXXX")
  cp "$src/corpus/$target"/* "$seeds"/
  if [ -d "$src/corpus/regressions/$target" ]; then cp "$src/corpus/regressions/$target"/* "$seeds"/; fi
  (cd "$seeds" && cmake -E tar cf "$OUT/${target}_seed_corpus.zip" --format=zip -- *)
  rm -rf "$seeds"
  found=$((found + 1))
done
[ "$found" -gt 0 ] || { echo "build.sh: no fuzz_* binaries were built" >&2; exit 1; }
echo "build.sh: $found fuzz targets in $OUT"
