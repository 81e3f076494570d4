#!/usr/bin/env node
'use strict';
/**
 * Runs sample-app from source against a Redis it finds or starts:
 *   npm run sample                      one process: HTTP API and worker
 *   npm run sample -- --workers 3       one API process (producer only) and 3 worker processes
 *   npm run sample -- --port 8080
 * Redis: REDIS_URL if set; else the one answering PING at SAMPLE_REDIS_PROBE_URL (default
 * redis://127.0.0.1:6379); else a private `redis-server` on a free port, without persistence,
 * stopped on exit. SIGINT / SIGTERM / SIGHUP are forwarded so every child drains before it exits.
 */
const { spawn } = require('node:child_process');
const { accessSync, constants: fsConstants, mkdtempSync, rmSync } = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { createInterface } = require('node:readline');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join('sample-app', 'main.ts');
const DEFAULT_PROBE_URL = 'redis://127.0.0.1:6379';
const PING_TIMEOUT_MS = 1_000;
const REDIS_READY_TIMEOUT_MS = 10_000;
const API_READY_TIMEOUT_MS = 60_000;
/** Beyond the library's own drain deadline (shutdownTimeoutMs, 10 s by default). */
const STOP_DEADLINE_MS = 20_000;
/** npm and the terminal both deliver one Ctrl-C: signals this close together count once. */
const DUPLICATE_SIGNAL_MS = 1_000;
const MAX_WORKERS = 32;

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const say = (line) => console.log(`${paint('1', '[runner]')} ${line}`);
const complain = (line) => console.error(`${paint('1;31', '[runner]')} ${line}`);

function options() {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', short: 'w' },
      port: { type: 'string', short: 'p' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run sample [-- --workers N] [--port P]\n(env: REDIS_URL, SQ_PREFIX, PORT, SAMPLE_REDIS_PROBE_URL)',
    );
    process.exit(0);
  }
  const workers = values.workers === undefined ? 0 : Number(values.workers);
  if (!Number.isInteger(workers) || (values.workers !== undefined && workers < 1) || workers > MAX_WORKERS) {
    throw new Error(`--workers must be an integer from 1 to ${MAX_WORKERS}`);
  }
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error('--port must be a port number');
  return { workers, port };
}

/**
 * A raw RESP PING, no client library needed: 'pong', 'auth' (a Redis that wants a password),
 * or 'none' (nothing, or something else, answers).
 */
function ping(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    let reply = '';
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(PING_TIMEOUT_MS, () => done('none'));
    socket.once('error', () => done('none'));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n'))
        done(reply.startsWith('+PONG') ? 'pong' : reply.startsWith('-NOAUTH') ? 'auth' : 'none');
    });
  });
}

function findOnPath(binary) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a private redis-server. It gets a process group of its own so the terminal's Ctrl-C
 * does not stop it while the sample's workers are still draining against it.
 */
async function startRedisServer(binary) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'sample-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
  ];
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const keep = (line) => output.push(line) > 50 && output.shift();
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', keep);
  let exited = false;
  const exit = new Promise((resolve) => {
    child.once('exit', () => resolve((exited = true)));
    child.once('error', (error) => {
      keep(error.message);
      resolve((exited = true));
    });
  });
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      if (!(await Promise.race([exit, sleep(5_000).then(() => false)]))) child.kill('SIGKILL');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + REDIS_READY_TIMEOUT_MS;
  while ((await ping(url)) !== 'pong') {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start on port ${port}:\n${output.slice(-15).join('\n')}`);
    }
    await sleep(100);
  }
  return { url, source: `private ${binary}, pid ${child.pid}, no persistence`, stop, exited: exit };
}

async function resolveRedis() {
  const given = process.env.REDIS_URL;
  if (given) {
    // Only a warning: a TLS (rediss://) server cannot be probed with a plain-text PING.
    if (given.startsWith('redis://') && (await ping(given)) === 'none')
      complain(`nothing answers PING at REDIS_URL=${given}; starting anyway`);
    return { url: given, source: 'REDIS_URL' };
  }
  const probe = process.env.SAMPLE_REDIS_PROBE_URL || DEFAULT_PROBE_URL;
  const answer = await ping(probe);
  if (answer === 'pong') return { url: probe, source: `answered PING at ${new URL(probe).host}` };
  if (answer === 'auth')
    complain(
      `the Redis at ${new URL(probe).host} wants a password; set REDIS_URL=redis://:<password>@host:port to use it`,
    );
  const binary = findOnPath('redis-server');
  if (binary) {
    say(`no Redis answers at ${new URL(probe).host}; starting a private redis-server`);
    return startRedisServer(binary);
  }
  complain(
    [
      `No Redis found: REDIS_URL is not set, nothing answers PING at ${new URL(probe).host}, and redis-server is not on PATH.`,
      'Any of these works:',
      '  - install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), then rerun;',
      '  - point at an existing one:  REDIS_URL=redis://host:6379 npm run sample',
      '  - run one in Docker:         docker run --rm -p 6379:6379 redis:7',
    ].join('\n'),
  );
  process.exit(1);
}

/** Node's flags for a sample process: TypeScript from source, and tsconfig `paths` applied. */
const SOURCE_NODE_ARGS = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];

/**
 * What a sample process needs in its environment to import 'nest-stream-queue' from lib/, as the
 * root tsconfig's `paths` map it. sample-app/tsconfig.json extends that config, and tsconfig-paths
 * resolves the inherited `paths` (which have no baseUrl) from sample-app/: the name fell through to
 * Node's own resolution, the package's `exports`, dist/, which a fresh clone has not built.
 */
function sourceEnv(env) {
  return {
    TS_NODE_PROJECT: env.TS_NODE_PROJECT || path.join(ROOT, 'sample-app', 'tsconfig.json'),
    TS_NODE_BASEURL: env.TS_NODE_BASEURL || ROOT,
  };
}

/** Spawns one sample process; its output lines are prefixed with `label` when there are several. */
function spawnApp(role, label, env, prefixWidth) {
  const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, MAIN, role], {
    cwd: ROOT,
    env: { ...env, SAMPLE_LABEL: label },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tag = prefixWidth > 0 ? `${paint(label === 'api' ? '36' : '35', `[${label}]`.padEnd(prefixWidth))} ` : '';
  createInterface({ input: child.stdout }).on('line', (line) => process.stdout.write(`${tag}${line}\n`));
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${tag}${line}\n`));
  child.label = label;
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

/** Resolves true once GET /stats answers 200, false if `isStopping()` turns true or time runs out. */
async function waitForApi(port, isStopping) {
  const deadline = Date.now() + API_READY_TIMEOUT_MS;
  while (!isStopping() && Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/stats', timeout: 1_000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.once('error', () => resolve(false));
      req.once('timeout', () => req.destroy());
    });
    if (ok) return true;
    await sleep(250);
  }
  return false;
}

function printTryIt(port, redis, workers) {
  const base = `localhost:${port}`;
  const json = "-H 'content-type: application/json'";
  say(
    [
      `sample ready at http://${base} (${workers ? `1 API + ${workers} workers` : 'API and worker in one process'}; Redis ${redis.url}, ${redis.source})`,
      'try:',
      `  curl -s -X POST ${base}/reports ${json} -d '{"userId":"ada","pages":20}'`,
      `  curl -s "${base}/tasks/reports/<task id>/result?timeoutMs=10000"`,
      `  curl -s -X POST ${base}/emails ${json} -d '{"to":["a@example.com","b@example.com","bounce@example.com"]}'`,
      `  curl -s ${base}/stats`,
      'Ctrl-C stops everything gracefully.',
    ].join('\n'),
  );
}

async function main() {
  const { workers, port } = options();
  try {
    require.resolve('ts-node/register/transpile-only', { paths: [ROOT] });
  } catch {
    complain('ts-node is not installed; run `npm install` first.');
    return 1;
  }
  // Until the children exist, a stop request only has to undo what resolveRedis started.
  let interrupted = false;
  const early = () => (interrupted = true);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, early);
  const redis = await resolveRedis();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(signal, early);
  if (interrupted) {
    await redis.stop?.();
    return 0;
  }
  say(`Redis ${redis.url} (${redis.source})`);

  const env = {
    ...process.env,
    REDIS_URL: redis.url,
    PORT: String(port),
    ...sourceEnv(process.env),
    // Nest colours its logs unless NO_COLOR is set; keep pipes and files plain.
    ...(color ? {} : { NO_COLOR: '1' }),
  };
  const plan =
    workers === 0
      ? [['all', 'all']]
      : [['api', 'api'], ...Array.from({ length: workers }, (_, i) => ['worker', `worker-${i + 1}`])];
  const prefixWidth = plan.length > 1 ? Math.max(...plan.map(([, label]) => label.length)) + 2 : 0;
  const children = plan.map(([role, label]) => spawnApp(role, label, env, prefixWidth));

  let stopping = false;
  let failed = false;
  let firstSignalAt = 0;
  let forceTimer;
  const alive = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  const stopAll = (signal) => {
    stopping = true;
    for (const child of alive()) child.kill(signal);
    forceTimer = setTimeout(() => {
      complain(
        `still running after ${STOP_DEADLINE_MS / 1000} s: ${alive()
          .map((c) => c.label)
          .join(', ')}; killing`,
      );
      for (const child of alive()) child.kill('SIGKILL');
    }, STOP_DEADLINE_MS);
  };
  const onSignal = (signal) => {
    if (!stopping) {
      firstSignalAt = Date.now();
      say(
        `${signal}: stopping ${children.length === 1 ? 'the sample' : `${children.length} processes`} (each drains its in-flight tasks)`,
      );
      stopAll(signal === 'SIGHUP' ? 'SIGTERM' : signal);
    } else if (Date.now() - firstSignalAt > DUPLICATE_SIGNAL_MS) {
      complain(`${signal} again: killing without waiting for the drain`);
      for (const child of alive()) child.kill('SIGKILL');
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);

  // A child that dies on its own (port taken, Redis gone, a crash) takes the others down with it.
  const results = children.map((child) =>
    child.exited.then(({ code, signal }) => {
      const how = signal ?? `code ${code}`;
      if (!stopping) {
        failed = true;
        complain(`${child.label} exited (${how}); stopping the others`);
        stopAll('SIGTERM');
      } else if (code !== 0) {
        failed = true;
        complain(`${child.label} exited (${how})`);
      }
    }),
  );
  redis.exited?.then(() => {
    if (stopping) return;
    failed = true;
    complain('the private redis-server exited; stopping');
    stopAll('SIGTERM');
  });

  if (await waitForApi(port, () => stopping)) printTryIt(port, redis, workers);
  else if (!stopping) complain(`the API did not answer on port ${port} within ${API_READY_TIMEOUT_MS / 1000} s`);

  await Promise.all(results);
  clearTimeout(forceTimer);
  if (redis.stop) {
    await redis.stop();
    say('private redis-server stopped');
  }
  say(failed ? 'stopped with errors' : 'all processes exited cleanly');
  return failed ? 1 : 0;
}

module.exports = { SOURCE_NODE_ARGS, sourceEnv };

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      complain(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
