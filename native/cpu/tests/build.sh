#!/usr/bin/env bash
# Builds the engine's C++ tests into build/engine-tests/ (git-ignored). One compiler at a time: the machine is shared.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="$root/build/engine-tests"
obj="$out/obj"
mkdir -p "$obj"
flags=(-O2 -std=c++20 -pthread -Wall -Wextra -Wno-unused-parameter -I"$root/native/cpu/engine")
objects=()
for src in "$root"/native/cpu/engine/*.cc; do
  o="$obj/$(basename "${src%.cc}").o"
  # Rebuild when the source or any engine header is newer than the object.
  if [[ ! -f "$o" || "$src" -nt "$o" || -n "$(find "$root/native/cpu/engine" -name '*.h' -newer "$o" -print -quit)" ]]; then
    echo "compile $(basename "$src")"
    g++ "${flags[@]}" -c "$src" -o "$o"
  fi
  objects+=("$o")
done
echo "link engine_test"
g++ "${flags[@]}" "$root"/native/cpu/tests/engine_*test.cc "${objects[@]}" -ldl -o "$out/engine_test"
echo "link run_mlir"
g++ "${flags[@]}" "$root/native/cpu/tests/run_mlir.cc" "${objects[@]}" -ldl -o "$out/run_mlir"
echo "link bench_engine"
g++ "${flags[@]}" "$root/native/cpu/tests/bench_engine.cc" "${objects[@]}" -ldl -o "$out/bench_engine"
