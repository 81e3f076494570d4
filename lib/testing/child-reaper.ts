import { ChildProcess, spawn } from 'node:child_process';

/**
 * Kills the test suite's child processes (redis-servers, workers) when the process that spawned them
 * ends, so a crashed or interrupted run leaves nothing holding ports or temp dirs.
 *
 * Three layers, because each covers a way out the others miss:
 * - `exit` listener: normal exit and `process.exit()` (Jest's forced exit included);
 * - SIGINT/SIGTERM/SIGHUP listeners: Ctrl-C or a CI timeout that signals the runner;
 * - a watchdog shell per child: the runner itself SIGKILLed, where no listener runs.
 */

const live = new Set<ChildProcess>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  uninstall();
  // Re-raise only when nobody else (e.g. Jest) handles the signal, so the default action still ends us.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', killAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Polls once a second (a `sleep` fork, negligible) and, once this process is gone, SIGKILLs the child
 * and removes `dir` if given. It exits by itself when the child exits, so it outlives no child.
 */
function spawnWatchdog(childPid: number, dir: string | undefined): void {
  const script =
    'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
    'if ! kill -0 "$1" 2>/dev/null; then kill -9 "$2" 2>/dev/null; [ -n "$3" ] && rm -rf "$3"; fi; exit 0';
  const dog = spawn('sh', ['-c', script, 'watchdog', String(process.pid), String(childPid), dir ?? ''], {
    stdio: 'ignore',
    detached: true, // its own process group: a Ctrl-C to the runner's group must not kill it early
  });
  dog.on('error', () => undefined); // best effort: the in-process layers still apply
  dog.unref();
}

/**
 * Registers a child so it dies with this process (and `removeDir`, a temp dir it owns, is deleted
 * if this process is killed outright); untracks it once it exits on its own.
 * The child and its pipes are unref'd: a spec that forgets to stop one must not keep Jest from exiting
 * (the watchdog then ends it). Inside a spec file, Jest hands out a sandboxed `process` whose exit
 * and signal events never fire, so there the watchdog is the layer that acts.
 */
export function reapOnExit(child: ChildProcess, options: { removeDir?: string } = {}): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
  if (live.size === 0) install();
  live.add(child);
  spawnWatchdog(child.pid, options.removeDir);
  child.once('exit', () => {
    live.delete(child);
    if (live.size === 0) uninstall();
  });
}
