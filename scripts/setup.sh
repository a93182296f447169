#!/usr/bin/env bash
# Installs what grpo-xla needs on a fresh Debian/Ubuntu machine and builds it: the Debian packages for the
# native build (g++ and CMake; OpenBLAS for the CPU device; ccache, which lets the package test's install reuse
# this build's objects; MLIR tools for the test suite), the npm dependencies (whose install step builds the addon
# and the CPU plugin), the C++ tests and tools, and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build ccache libopenblas-dev mlir-22-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm run build
