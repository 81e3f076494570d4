#!/usr/bin/env bash
# Proves the BUILT package works for a consumer on NestJS 12 + ioredis 6: packs the repo (`npm pack`,
# exactly what would be published), installs it with those versions in a temp project outside the
# repo, and runs tools/compat/echo-app.js there (boot, one task end to end, clean close; by URL and
# with an ioredis 6 client handed in).
# NestJS 12 is ESM-only; a CommonJS app loads it through Node's require(esm) (Node >= 20.19), so this
# is a plain node script, not a Jest spec. Needs dist/ (npm run build) and the npm registry.
# Redis: REDIS_URL if set, else the one tools/with-redis.ts provides (as the test suite does).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEST_MAJOR=12
IOREDIS_MAJOR=6

if [[ ! -f "$ROOT/dist/index.js" ]]; then
  echo "ci-compat-nest12: $ROOT/dist/index.js is missing; run \`npm run build\` first" >&2
  exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sq-compat-nest${NEST_MAJOR}.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "ci-compat-nest12: packing $ROOT"
TARBALL="$(cd "$ROOT" && npm pack --silent --pack-destination "$WORK" | tail -n 1)"
[[ -f "$WORK/$TARBALL" ]] || { echo "ci-compat-nest12: npm pack produced no tarball" >&2; exit 1; }

cd "$WORK"
npm init -y >/dev/null
echo "ci-compat-nest12: installing $TARBALL with @nestjs/*@$NEST_MAJOR and ioredis@$IOREDIS_MAJOR in $WORK"
npm install --no-audit --no-fund --loglevel=error \
  "@nestjs/common@$NEST_MAJOR" "@nestjs/core@$NEST_MAJOR" reflect-metadata rxjs "ioredis@$IOREDIS_MAJOR" \
  "./$TARBALL"
cp "$ROOT/tools/compat/echo-app.js" "$WORK/echo-app.js"

export EXPECT_NEST_MAJOR=$NEST_MAJOR EXPECT_IOREDIS_MAJOR=$IOREDIS_MAJOR
export TS_NODE_PROJECT="$ROOT/tsconfig.json" TS_NODE_TRANSPILE_ONLY=true
node -r "$ROOT/node_modules/ts-node/register/transpile-only" "$ROOT/tools/with-redis.ts" \
  node "$WORK/echo-app.js" nest-stream-queue
