#!/usr/bin/env bash
# Proves the packed package in the projects users start from (templates/, see its README):
# nest12-esm-vitest (`nest new` of @nestjs/cli 12: ESM, Vitest) and nest11-cjs-jest (NestJS 11,
# CommonJS, Jest). For each template, in a temp dir outside the repo: npm install its pinned
# dependencies plus the tarball `npm pack` makes; `nest build`; boot dist/main.js and POST /echo
# (the controller enqueues a task, the app's own worker runs it, the answer is its result); stop it
# with SIGTERM; run its e2e spec (the same round trip) with the template's own runner.
# Needs the npm registry only (installs share npm's cache). Redis: REDIS_URL if set, else a private
# redis-server from tools/with-redis.ts, as the test suite finds one.
#   bash tools/ci-templates.sh [template...]    (default: every directory in templates/)
# KEEP_WORK=1 keeps the temp dir for a look after a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPM_INSTALL=(npm install --no-audit --no-fund --prefer-offline --loglevel=error)
APP_DEADLINE_S=60 # boot + first answer of the built app
STOP_DEADLINE_S=20 # SIGTERM to exit

log() { echo "ci-templates: $*"; }

# free_port: a TCP port nothing listens on right now.
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# run_built_app <dir> <name>: boots dist/main.js, POSTs /echo until it answers, checks the task's
# result, then stops the app with SIGTERM and checks it exits (Nest re-raises the signal: 143).
run_built_app() {
  local dir=$1 name=$2 port app rc=0
  port="$(free_port)"
  log "[$name] node dist/main.js on port $port"
  (cd "$dir" && PORT=$port QUEUE_PREFIX="sq-tmpl-$name-$$-app" exec node dist/main.js) >"$dir/app.log" 2>&1 &
  app=$!
  node - "$port" "$app" "$APP_DEADLINE_S" <<'EOF' || rc=$?
const [port, pid, deadlineS] = process.argv.slice(2).map(Number);
const text = `built app ${Date.now()}`;
const deadline = Date.now() + deadlineS * 1000;
(async () => {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      throw new Error('the app exited before answering');
    }
    let res;
    const sentAt = Date.now();
    try {
      res = await fetch(`http://127.0.0.1:${port}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no answer within ${deadlineS} s: ${err.cause?.code ?? err}`);
      await new Promise((r) => setTimeout(r, 250)); // polling an HTTP port that is not open yet
      continue;
    }
    const body = await res.text();
    if (res.status !== 201 || body !== JSON.stringify({ echoed: text })) {
      throw new Error(`POST /echo answered ${res.status} ${body}`);
    }
    console.log(`POST /echo -> ${res.status} ${body} in ${Date.now() - sentAt} ms`);
    return;
  }
})().catch((err) => {
  console.error(`built app check FAILED: ${err.message}`);
  process.exit(1);
});
EOF
  kill -TERM "$app" 2>/dev/null || true
  local waited=0
  while kill -0 "$app" 2>/dev/null && ((waited < STOP_DEADLINE_S * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  local status=0
  if kill -0 "$app" 2>/dev/null; then
    kill -KILL "$app" 2>/dev/null || true
    echo "ci-templates: [$name] the app did not exit within ${STOP_DEADLINE_S} s of SIGTERM" >&2
    rc=1
  fi
  wait "$app" || status=$?
  if ((rc == 0)) && ((status != 0 && status != 143)); then
    echo "ci-templates: [$name] the app exited with status $status after SIGTERM" >&2
    rc=1
  fi
  # An app whose one run has finished has nothing to drain: reaching the deadline means a stuck read.
  if ((rc == 0)) && grep -q 'shutdown deadline\|Shutdown deadline' "$dir/app.log"; then
    echo "ci-templates: [$name] the idle app's shutdown waited out its deadline" >&2
    rc=1
  fi
  if ((rc != 0)); then
    echo "---- $name app.log" >&2
    cat "$dir/app.log" >&2
    return "$rc"
  fi
  log "[$name] stopped by SIGTERM in $((waited * 100)) ms (status $status)"
}

# check_template <dir> <name>: build, run the built app, run the e2e spec. Needs REDIS_URL.
check_template() {
  local dir=$1 name=$2 started=$SECONDS
  log "[$name] nest build"
  (cd "$dir" && npm run --silent build)
  [[ -f "$dir/dist/main.js" ]] || { echo "ci-templates: [$name] nest build wrote no dist/main.js" >&2; return 1; }
  run_built_app "$dir" "$name"
  log "[$name] npm run test:e2e"
  (cd "$dir" && QUEUE_PREFIX="sq-tmpl-$name-$$-e2e" npm run --silent test:e2e)
  log "[$name] ok in $((SECONDS - started)) s"
}

# Second stage, run by tools/with-redis.ts with REDIS_URL set: every installed template in turn.
if [[ "${1:-}" == --under-redis ]]; then
  WORK=$2
  shift 2
  for name in "$@"; do check_template "$WORK/$name" "$name"; done
  exit 0
fi

if (($# > 0)); then
  TEMPLATES=("$@")
else
  TEMPLATES=()
  for dir in "$ROOT"/templates/*/; do TEMPLATES+=("$(basename "$dir")"); done
fi
for name in "${TEMPLATES[@]}"; do
  [[ -f "$ROOT/templates/$name/package.json" ]] || { echo "ci-templates: no template templates/$name" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sq-templates.XXXXXX")"
if [[ -z "${KEEP_WORK:-}" ]]; then trap 'rm -rf "$WORK"' EXIT; else log "keeping $WORK"; fi

log "building and packing $ROOT"
(cd "$ROOT" && npm run --silent build)
TARBALL="$WORK/$(cd "$ROOT" && npm pack --silent --pack-destination "$WORK" | tail -n 1)"
[[ -f "$TARBALL" ]] || { echo "ci-templates: npm pack produced no tarball" >&2; exit 1; }

# The installs are network-bound: run them side by side, each logging to its own file.
declare -A INSTALLS=()
for name in "${TEMPLATES[@]}"; do
  cp -R "$ROOT/templates/$name" "$WORK/$name"
  log "[$name] npm install (pinned dependencies + $(basename "$TARBALL"))"
  (cd "$WORK/$name" && "${NPM_INSTALL[@]}" "$TARBALL") >"$WORK/$name.install.log" 2>&1 &
  INSTALLS[$name]=$!
done
INSTALL_START=$SECONDS
for name in "${TEMPLATES[@]}"; do
  if ! wait "${INSTALLS[$name]}"; then
    echo "ci-templates: [$name] npm install failed:" >&2
    cat "$WORK/$name.install.log" >&2
    exit 1
  fi
  versions="$(cd "$WORK/$name" && node -e '
    const v = (p) => JSON.parse(require("fs").readFileSync(`node_modules/${p}/package.json`, "utf8")).version;
    console.log(["@nestjs/core", "@nestjs/cli", "ioredis", "typescript", "vitest", "jest"]
      .flatMap((p) => { try { return [`${p}@${v(p)}`]; } catch { return []; } }).join(" "));')"
  log "[$name] installed: $versions"
done
log "installs done in $((SECONDS - INSTALL_START)) s"

export TS_NODE_PROJECT="$ROOT/tsconfig.json" TS_NODE_TRANSPILE_ONLY=true
node -r "$ROOT/node_modules/ts-node/register/transpile-only" "$ROOT/tools/with-redis.ts" \
  bash "$ROOT/tools/ci-templates.sh" --under-redis "$WORK" "${TEMPLATES[@]}"
log "every template passed: ${TEMPLATES[*]}"
