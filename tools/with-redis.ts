/**
 * Runs a command with REDIS_URL pointing at a Redis, found the way the test suite finds one
 * (test/utils/test-redis.ts: REDIS_URL, else a Docker redis:7, else a private redis-server), and
 * stops what it started when the command ends. For CI checks that run outside Jest:
 *   node -r ts-node/register/transpile-only tools/with-redis.ts <command> [args...]
 * Exits with the command's status (128 + signal number if it was killed).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { provideTestRedis } from '../test/utils/test-redis';

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    console.error('usage: with-redis.ts <command> [args...]');
    return 2;
  }
  const redis = await provideTestRedis();
  console.error(`[with-redis] ${redis.url} (from ${redis.source})`);
  try {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, REDIS_URL: redis.url } });
    // Forward a stop request to the command; the Redis is stopped once it has exited.
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
    return await new Promise<number>((resolve) => {
      child.once('error', (err) => {
        console.error(`[with-redis] cannot run ${command}: ${err.message}`);
        resolve(127);
      });
      child.once('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[with-redis] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
