import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { raceTimeout } from '../race-timeout';
import { reapOnExit } from './child-reaper';
import { freePort } from './free-port';

/**
 * @internal A private `redis-server` child: createTestRedis()'s fallback when no Docker engine
 * answers, and the repo's own specs that must crash, restart or reconfigure Redis.
 * Every port the suite uses comes from here or from REDIS_URL: specs never write a port number.
 */

export interface RedisServerOptions {
  /** Fixed port; default: a free one picked by the kernel. */
  port?: number;
  /** Extra `redis-server` arguments, applied after the defaults so they win, e.g. `['--appendonly', 'yes']`. */
  args?: string[];
  /** Working dir (RDB/AOF files). Default: a fresh temp dir, removed by `stop()`; a given dir is kept. */
  dir?: string;
  /** How long to wait for PING after spawning. Default 10 s. */
  readyTimeoutMs?: number;
}

export interface RedisServerHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Pid of the current process, undefined while stopped. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Last lines the server printed, for assertion messages. */
  logs(): string;
  /** Graceful shutdown (SIGTERM), then removes the temp dir it created. Final: no restart after it. */
  stop(): Promise<void>;
  /**
   * Sends a signal (default SIGKILL, a crash) and waits for the exit; port and dir are kept.
   * SIGSTOP / SIGCONT only freeze / thaw the server and resolve at once.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same port, dir and args (AOF survives). */
  restart(): Promise<void>;
}

// Persistence off by default: a test that wants AOF passes `--appendonly yes` in args.
const DEFAULT_ARGS = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''];
const LOG_LINES = 100;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 5;

/** Spawns `redis-server` and resolves once it answers PING. */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'sq-redis-'));
  const extraArgs = opts.args ?? [];
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  const log: string[] = [];
  let child: ChildProcess | undefined;
  let stopped = false;
  let port = opts.port ?? 0;

  const logs = (): string => log.join('\n');

  const launch = async (firstStart: boolean): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      // A kernel-picked port can be taken by someone else before we bind it: pick again. A fixed port
      // (or a restart) may still be held for a moment by the process just killed: retry the same one.
      if (firstStart && opts.port === undefined) port = await freePort();
      const attemptLog: string[] = [];
      child = spawnServer(port, dir, ownsDir, extraArgs, (line) => {
        attemptLog.push(line);
        log.push(line);
        if (log.length > LOG_LINES) log.shift();
      });
      const outcome = await waitUntilReady(child, port, attemptLog, readyTimeoutMs);
      if (outcome === 'ready') return;
      await terminate(child, 'SIGKILL');
      if (attemptLog.some((l) => /address already in use/i.test(l)) && attempt < PORT_ATTEMPTS) {
        await delay(200);
        continue;
      }
      throw new Error(
        `redis-server on port ${port} did not become ready (${outcome}) in dir ${dir}.\n` +
          `Last output:\n${logs() || '(none)'}`,
      );
    }
  };
  await launch(true).catch((err: unknown) => {
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  });

  const handle: RedisServerHandle = {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    get pid() {
      return isRunning(child) ? child?.pid : undefined;
    },
    get running() {
      return isRunning(child);
    },
    logs,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child) await terminate(child, 'SIGTERM');
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!child) return;
      // SIGSTOP/SIGCONT freeze and thaw (a stalled Redis): there is no exit to wait for.
      if (signal === 'SIGSTOP' || signal === 'SIGCONT') child.kill(signal);
      else await terminate(child, signal);
    },
    async restart() {
      if (stopped) throw new Error(`redis-server ${handle.url} was stopped for good; start a new one`);
      if (child) await terminate(child, 'SIGTERM');
      await launch(false);
    },
  };
  return handle;
}

function spawnServer(
  port: number,
  dir: string,
  ownsDir: boolean,
  extraArgs: string[],
  keep: (line: string) => void,
): ChildProcess {
  const args = ['--port', String(port), '--dir', dir, ...DEFAULT_ARGS, ...extraArgs];
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', keep);
  }
  child.on('error', (err) => keep(`spawn error: ${err.message}`));
  child.once('close', () => closedChildren.add(child));
  reapOnExit(child, { removeDir: ownsDir ? dir : undefined });
  return child;
}

type ReadyOutcome = 'ready' | 'exited' | 'timeout';

/**
 * Ready = this child logged that it listens (so the port is ours, not another server's that won a
 * race for it) and it answers PING (after any AOF replay).
 */
async function waitUntilReady(
  child: ChildProcess,
  port: number,
  output: readonly string[],
  timeoutMs: number,
): Promise<ReadyOutcome> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(child)) {
      // Let the last lines ("Address already in use") drain before the caller reads them.
      await raceTimeout(closed(child), 500, () => undefined);
      return 'exited';
    }
    if (output.some((l) => l.includes('Ready to accept connections')) && (await ping(port))) return 'ready';
    await delay(50);
  }
  return 'timeout';
}

/** A raw RESP PING, so readiness checks need no client library and add no reconnect noise. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      // -LOADING while an AOF replays: not ready yet.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return !!child && child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

const closedChildren = new WeakSet<ChildProcess>();

function closed(child: ChildProcess): Promise<void> {
  if (closedChildren.has(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal` and waits for the exit; escalates to SIGKILL if a graceful stop hangs. */
async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (!isRunning(child)) return;
  const gone = exited(child);
  child.kill(signal);
  if (signal !== 'SIGKILL') child.kill('SIGCONT'); // a frozen (SIGSTOPped) server must run to act on the signal
  // Also keeps the event loop alive until the exit arrives: the child itself is unref'd (child-reaper.ts).
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await gone;
  clearTimeout(timer);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
