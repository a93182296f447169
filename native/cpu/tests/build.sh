#!/usr/bin/env bash
# Builds the engine's command-line tools (run_mlir, bench_engine) into build/engine-tests/ (git-ignored), linked
# against the engine library that `npm run build:native` builds. The engine's tests are cpu_engine_test there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="$root/build/engine-tests"
engine="$root/build/Release/grpo_cpu_engine.a"
if [[ ! -f "$engine" ]]; then
  echo "missing $engine: run npm run build:native first" >&2
  exit 1
fi
mkdir -p "$out"
flags=(-O2 -std=c++20 -pthread -Wall -Wextra -Wno-unused-parameter -I"$root/native/cpu/engine")
echo "link run_mlir"
g++ "${flags[@]}" "$root/native/cpu/tests/run_mlir.cc" "$engine" -ldl -o "$out/run_mlir"
echo "link bench_engine"
g++ "${flags[@]}" "$root/native/cpu/tests/bench_engine.cc" "$engine" -ldl -o "$out/bench_engine"
