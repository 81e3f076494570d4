/**
 * Forks one measurement process and waits for its single IPC message. Shared by the single-Redis
 * scenarios (child.ts) and the cluster scenarios (cluster-child.ts).
 */
import { fork } from 'node:child_process';

/** After reporting, a child gets this long to exit on its own before it is killed (and noted). */
const EXIT_GRACE_MS = 5_000;

export type ForkedResult<M> = (M & { exitNote?: string }) | { ok: false; error: string };

/**
 * Runs `script` with `job` as JSON in the environment variable `envName`; resolves with its
 * message, or a failure describing how the child died.
 */
export function runChild<M extends { ok: boolean }>(
  script: string,
  envName: string,
  job: unknown,
  timeoutMs: number,
): Promise<ForkedResult<M>> {
  return new Promise((resolve) => {
    const child = fork(script, [], {
      execArgv: ['-r', 'ts-node/register', '--expose-gc'],
      // Children only run code that `npm run typecheck` already checks: skip type-checking per fork.
      env: { ...process.env, [envName]: JSON.stringify(job), TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      process.stderr.write(chunk);
    });
    let message: M | undefined;
    let exitNote: string | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const killTimer = setTimeout(() => {
      exitNote = `killed after ${timeoutMs} ms without a result`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m: M) => {
      message = m;
      clearTimeout(killTimer);
      graceTimer = setTimeout(() => {
        exitNote =
          `process did not exit within ${EXIT_GRACE_MS} ms after reporting ` +
          '(handles left open after close); killed';
        child.kill('SIGKILL');
      }, EXIT_GRACE_MS);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      if (graceTimer) clearTimeout(graceTimer);
      if (message) return resolve({ ...message, exitNote });
      const how = exitNote ?? `exited with ${signal ? `signal ${signal}` : `code ${code}`} before reporting`;
      resolve({ ok: false, error: `${how}\n--- stderr (tail) ---\n${stderr.trim() || '(empty)'}` });
    });
  });
}
