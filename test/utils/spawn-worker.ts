import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { reapOnExit } from './child-reaper';

/**
 * Runs a TypeScript worker script in a child Node process (ts-node, transpile-only), for specs that
 * need a worker they can SIGKILL or SIGTERM: crash recovery, reclaim, graceful shutdown.
 * The child uses the same Node binary as Jest and inherits the environment, REDIS_URL included.
 */

const REPO_ROOT = resolve(__dirname, '..', '..');
const DEFAULT_READY = /\bready\b/;
const OUTPUT_TAIL = 40;

export interface SpawnWorkerOptions {
  /** Extra environment; `undefined` removes an inherited variable. */
  env?: Record<string, string | undefined>;
  /** Arguments after the script path. */
  args?: string[];
  /** Default: the repository root. */
  cwd?: string;
  /** Stdout line that means "ready"; spawnWorker resolves once it appears. Default /\bready\b/; false: do not wait. */
  ready?: string | RegExp | false;
  /** Default 30 s: the first ts-node compile of the library is slow on a busy 2-core machine. */
  readyTimeoutMs?: number;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WaitForLineOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Only lines at or after this index of `stdout` count; pass `worker.stdout.length` to skip earlier ones. */
  from?: number;
}

export interface WorkerHandle {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far, in order. */
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
  readonly running: boolean;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<WorkerExit>;
  /** Resolves with the first matching stdout line; rejects on timeout or if the worker exits first. */
  waitForLine(match: string | RegExp, options?: WaitForLineOptions): Promise<string>;
  /** Sends a signal (default SIGTERM) and waits for the exit; escalates to SIGKILL after `graceMs` (default 10 s). */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<WorkerExit>;
  /** The last lines of stdout and stderr, for assertion messages. */
  output(): string;
}

const workers = new Set<WorkerHandle>();

/**
 * Spawns `node -r ts-node/register/transpile-only <file>` and, unless `ready: false`, resolves once
 * the worker prints its ready line. Set SQ_TEST_WORKER_ECHO=1 to mirror its output to stderr.
 */
export async function spawnWorker(file: string, options: SpawnWorkerOptions = {}): Promise<WorkerHandle> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TS_NODE_PROJECT: resolve(REPO_ROOT, 'tsconfig.json'),
    TS_NODE_TRANSPILE_ONLY: 'true',
  };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const script = resolve(REPO_ROOT, file);
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('ts-node/register/transpile-only'), script, ...(options.args ?? [])],
    { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (child.pid === undefined) {
    const err = await new Promise<Error>((done) => child.once('error', done));
    throw new Error(`could not spawn worker ${script}: ${err.message}`);
  }
  reapOnExit(child);

  const stdout: string[] = [];
  const stderr: string[] = [];
  const lineListeners = new Set<() => void>();
  const echo = process.env.SQ_TEST_WORKER_ECHO
    ? (line: string) => process.stderr.write(`[worker ${child.pid}] ${line}\n`)
    : undefined;
  const collect = (into: string[]) => (line: string) => {
    into.push(line);
    echo?.(line);
    for (const listener of lineListeners) listener();
  };
  if (child.stdout) createInterface({ input: child.stdout }).on('line', collect(stdout));
  if (child.stderr) createInterface({ input: child.stderr }).on('line', collect(stderr));

  // 'close', not 'exit': every line the worker printed has been read by then.
  const exited = new Promise<WorkerExit>((done) => child.once('close', (code, signal) => done({ code, signal })));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    workers.delete(handle);
    for (const listener of lineListeners) listener();
  });

  const output = (): string =>
    [
      `stdout (last ${OUTPUT_TAIL}):`,
      ...stdout.slice(-OUTPUT_TAIL),
      `stderr (last ${OUTPUT_TAIL}):`,
      ...stderr.slice(-OUTPUT_TAIL),
    ].join('\n');

  const waitForLine = (
    match: string | RegExp,
    { timeoutMs = 10_000, from = 0 }: WaitForLineOptions = {},
  ): Promise<string> =>
    new Promise((resolveLine, reject) => {
      const matches = (line: string): boolean => (typeof match === 'string' ? line.includes(match) : match.test(line));
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        lineListeners.delete(check);
        settle();
      };
      const check = (): void => {
        const found = stdout.slice(from).find(matches);
        if (found !== undefined) finish(() => resolveLine(found));
        else if (hasExited)
          finish(() => reject(new Error(`worker ${script} exited before printing ${String(match)}\n${output()}`)));
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`worker ${script} did not print ${String(match)} within ${timeoutMs} ms\n${output()}`)),
          ),
        timeoutMs,
      );
      lineListeners.add(check);
      check();
    });

  const kill = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<WorkerExit> => {
    if (hasExited) return exited;
    child.kill(signal);
    // Also keeps the event loop alive until the exit arrives: the child itself is unref'd (child-reaper.ts).
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };

  const handle: WorkerHandle = {
    child,
    pid: child.pid,
    stdout,
    stderr,
    get running() {
      return !hasExited;
    },
    exited,
    waitForLine,
    kill,
    output,
  };
  workers.add(handle);

  const ready = options.ready ?? DEFAULT_READY;
  if (ready !== false) {
    try {
      await waitForLine(ready, { timeoutMs: options.readyTimeoutMs ?? 30_000 });
    } catch (err) {
      await kill('SIGKILL');
      throw err;
    }
  }
  return handle;
}

/** SIGKILLs every worker still running; call it in `afterEach`/`afterAll`. */
export async function killWorkers(): Promise<void> {
  await Promise.all([...workers].map((worker) => worker.kill('SIGKILL')));
}
