/**
 * What the groups drain's settles cost Redis, counted in instructions, not timed: timings on a
 * shared 2-core VM swing by 20% from run to run, instruction counts by under 1%. So a change to
 * the settle scripts is judged here first, then in `npm run bench`.
 *
 *   node -r ts-node/register/transpile-only bench/settle-instructions.ts
 *   (SETTLE_TASKS, default 4000; SETTLE_BATCH, runs per settle, default 50; SETTLE_PAYLOAD_BYTES,
 *   characters added to each task's payload, default 0 (Redis's Lua hashes every character of
 *   each string a script makes, and an admission makes two of its task's fields); SETTLE_SHAPES, a
 *   comma-separated list of the shapes below, default all three; needs `valgrind`, Debian's
 *   package. complete.lua is loaded before the first count, so no shape pays its compile)
 *
 * Starts its own redis-server under callgrind on a free port. Per shape it prefills the tasks, then
 * zeroes callgrind's counters, drains them as one worker would (XREADGROUP 50, then complete.lua
 * for those 50, no handlers) and reads the instructions Redis ran for that, per task:
 *   plain   tasks in the stream, settled as plain runs (the plain drain's reads and settles);
 *   limit   tasks under a globalConcurrency as large as the prefill (bench's sq-limit): it never
 *           binds, so each settle releases its runs' slots and admits nothing;
 *   groups  tasks over 100 groups under groupConcurrency 2 (bench's sq-groups): each settle
 *           releases its runs' slots and admits the next tasks of their groups.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { QueueKeys } from '../lib/redis/keys';
import { loadLuaSource } from '../lib/redis/lua-source';
import { defineScripts } from '../lib/redis/scripts';
import { completeScript } from '../lib/scripts/complete.script';
import { enqueueFlowScript } from '../lib/scripts/enqueue-flow.script';
import { CONSUMER_GROUP } from '../lib/stream-queue.constants';
import { unpackedFields } from '../lib/task/packed-fields';
import { freePort } from '../lib/testing/free-port';

const TASKS = Number(process.env.SETTLE_TASKS ?? 4000);
const GROUPS = 100;
const BATCH = Number(process.env.SETTLE_BATCH ?? 50);
const PAD = 'x'.repeat(Number(process.env.SETTLE_PAYLOAD_BYTES ?? 0));
const TTL_MS = 3_600_000;
type Shape = 'plain' | 'limit' | 'groups';

async function prefill(redis: Redis, keys: QueueKeys, shape: Shape): Promise<void> {
  const limits =
    shape === 'limit' ? { global: TASKS, group: 0, agingMs: 1000 } : { global: 0, group: 2, agingMs: 1000 };
  for (let i = 0; i < TASKS; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, TASKS - i) }, (_, j) => {
        const [id, payload] = [randomUUID(), JSON.stringify(PAD ? { i: i + j, pad: PAD } : { i: i + j })];
        return shape === 'plain'
          ? redis.xadd(keys.stream, '*', 'id', id, 'n', 'bench.noop', 'p', payload, 'a', '1')
          : enqueueFlowScript(keys, {
              id,
              name: 'bench.noop',
              payload,
              delayMs: 0,
              runAt: 0,
              group: shape === 'limit' ? undefined : `g${(i + j) % GROUPS}`,
              limits,
            }).run(redis);
      }),
    );
  }
}

/** Reads and settles every task, BATCH at a time, as one worker with no-op handlers. */
async function drain(redis: Redis, keys: QueueKeys, shape: Shape): Promise<void> {
  for (let done = 0; done < TASKS;) {
    const reply = (await redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      'w',
      'COUNT',
      BATCH,
      'STREAMS',
      keys.stream,
      '>',
    )) as [string, [string, string[]][]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) throw new Error(`${shape}: the stream ran dry after ${done} of ${TASKS} tasks`);
    const runs = entries.map(([entryId, raw]) => ({ entryId, f: unpackedFields(raw) }));
    const settled = runs.map(({ entryId, f }) => ({
      entryId,
      taskId: f[f.indexOf('id') + 1],
      result: '',
      generation: 0,
      resultTtlMs: TTL_MS,
      keepResult: f.includes('r'),
      successor: '',
      flow: shape !== 'plain',
    }));
    const call = completeScript(keys, {
      group: CONSUMER_GROUP,
      consumer: 'w',
      stateTtlMs: TTL_MS,
      defaultResultTtlMs: TTL_MS,
      runs: settled,
    });
    await call.run(redis);
    done += entries.length;
  }
}

/** Instructions callgrind counted since its last zeroing, from the dump it writes now. */
function dumpedInstructions(pid: number, dir: string): number {
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
  const [latest] = readdirSync(dir)
    .filter((f) => f.startsWith('callgrind.out.'))
    .sort((a, b) => Number(b.split('.').pop()) - Number(a.split('.').pop()));
  const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, latest), 'utf8'));
  if (!totals) throw new Error(`no instruction total in ${latest}`);
  return Number(totals[1]);
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind is not installed (apt-get install -y valgrind)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'sq-callgrind-'));
  const port = await freePort();
  const server = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${dir}/callgrind.out`, 'redis-server', '--port', String(port)].concat([
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]),
    { stdio: 'ignore' },
  );
  try {
    await answersPing(port);
    const redis = new Redis({ port });
    try {
      defineScripts(redis);
      await measure(redis, server.pid!, dir);
    } finally {
      redis.disconnect();
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until the server under valgrind (slow to start) answers PING. */
async function answersPing(port: number): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`redis-server under callgrind did not answer on port ${port} within 30 s`);
}

async function measure(redis: Redis, pid: number, dir: string): Promise<void> {
  console.log(`| shape (${TASKS} tasks, settles of ${BATCH}) | Redis instructions per task |`);
  console.log('|---|--:|');
  const shapes = (process.env.SETTLE_SHAPES ?? 'plain,limit,groups').split(',') as Shape[];
  // The settle script is compiled before any count: else the first shape's first settle paid
  // complete.lua's compile (its EVAL after NOSCRIPT, about 5,000 instructions per task of 4,000)
  // and the shapes after it did not.
  await redis.script('LOAD', loadLuaSource('complete'));
  for (const shape of shapes) {
    if (!['plain', 'limit', 'groups'].includes(shape)) throw new Error(`SETTLE_SHAPES: no shape ${shape}`);
    const keys = new QueueKeys(`settle-${shape}`, 'default');
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    await prefill(redis, keys, shape);
    execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
    await drain(redis, keys, shape);
    const perTask = dumpedInstructions(pid, dir) / TASKS;
    console.log(`| ${shape} | ${Math.round(perTask).toLocaleString('en-US')} |`);
    await redis.flushall();
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
