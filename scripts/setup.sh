#!/usr/bin/env bash
# Installs what grpo-xla needs on a fresh Debian/Ubuntu machine and builds it: the Debian packages for the
# native build (OpenBLAS for the CPU device, MLIR tools for the test suite), the npm dependencies, the N-API
# addon with our CPU PJRT plugin, and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ make python3 libopenblas-dev mlir-22-tools)
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

# node-gyp builds against the headers of the Node.js that runs it; with no network it must not try to
# download them, so point it at the installed ones when npm has not been told already.
if [ -z "${npm_config_nodedir:-}" ] && ! npm config get nodedir 2>/dev/null | grep -q '^/'; then
  node_prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$node_prefix/include/node/node_api.h" ]; then export npm_config_nodedir="$node_prefix"; fi
fi

npm ci --no-audit --no-fund
npm run build
