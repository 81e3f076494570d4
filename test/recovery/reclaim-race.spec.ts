import type { Redis } from 'ioredis';
import { SweepLock } from '../../lib/consumer/sweep-lock';
import { reclaimScript } from '../../lib/scripts/reclaim.script';
import { closeAll } from '../utils/redis';
import { defineCheckedScripts, GROUP, ScriptFixture } from '../scripts/script-fixture';
import { Barrier, sleep } from '../utils/helpers';

/**
 * taskiq-redis #123: "if the lock is held, skip; else acquire it and XAUTOCLAIM by idle time".
 * Every sweeper checks the lock before any of them acquires it, then they take it one after the
 * other (the blocking acquire), each XAUTOCLAIMing after min-idle has passed again. The same
 * orchestration is run against the naive sweep (the control, which must duplicate) and ours.
 */
const ROUNDS = 200;
const SWEEPERS = 4;
const MESSAGES = 3;
const MIN_IDLE_MS = 5;

type Sweep = (redis: Redis, me: string, checked: Barrier, turn: Promise<void>) => Promise<string[]>;

describe('reclaim race (taskiq-redis #123), deterministically orchestrated', () => {
  let f: ScriptFixture;
  let connections: Redis[];

  beforeAll(async () => {
    f = await new ScriptFixture().setUp();
    connections = Array.from({ length: SWEEPERS }, () => f.redis.duplicate());
    connections.forEach(defineCheckedScripts);
  });
  afterAll(async () => {
    await f.tearDown();
    connections.forEach((c) => c.disconnect());
    await closeAll();
  });

  /** Runs the orchestration `rounds` times; returns how many messages were claimed twice or more. */
  async function duplicatesOver(rounds: number, sweep: Sweep): Promise<{ duplicates: number; claimed: number }> {
    let duplicates = 0;
    let claimed = 0;
    for (let round = 0; round < rounds; round++) {
      await f.redis.del(f.keys.sweepLock);
      for (let i = 0; i < MESSAGES; i++) await f.enqueue();
      await f.deliver(`dead-${round}`); // its owner died: no liveness key
      await sleep(MIN_IDLE_MS + 1);

      const checked = new Barrier(SWEEPERS);
      let turn: Promise<void> = checked.arrive().then(() => undefined);
      const turns: Promise<void>[] = [];
      const results: Promise<string[]>[] = [];
      for (let s = 0; s < SWEEPERS; s++) {
        // Sweeper s acts only after s-1 finished and min-idle has passed again.
        const myTurn = turn;
        let done!: () => void;
        turn = new Promise<void>((r) => (done = r)).then(() => sleep(MIN_IDLE_MS + 1));
        turns.push(turn);
        results.push(sweep(connections[s], `sweeper-${s}`, checked, myTurn).finally(() => done()));
      }
      const perSweeper = await Promise.all(results);
      const counts = new Map<string, number>();
      for (const id of perSweeper.flat()) counts.set(id, (counts.get(id) ?? 0) + 1);
      claimed += counts.size;
      duplicates += [...counts.values()].filter((n) => n > 1).length;
      // Settle the round: everything pending is acked so the next round starts clean.
      const pending = (await f.redis.xpending(f.keys.stream, GROUP, '-', '+', 1000)) as [string][];
      if (pending.length > 0) await f.redis.xack(f.keys.stream, GROUP, ...pending.map(([id]) => id));
      await f.redis.xtrim(f.keys.stream, 'MAXLEN', 0);
    }
    return { duplicates, claimed };
  }

  /** The control: a non-atomic check, a blocking acquire, and a claim by idle time alone. */
  const naiveSweep: Sweep = async (redis, me, checked, turn) => {
    const locked = (await redis.exists(f.keys.sweepLock)) === 1;
    // Barrier counts this sweeper as checked; the check saw the lock free for every one of them.
    await checked.arrive();
    if (locked) return [];
    await turn;
    while ((await redis.set(f.keys.sweepLock, me, 'PX', 10_000, 'NX')) !== 'OK') await sleep(1);
    try {
      const [, entries] = (await redis.xautoclaim(f.keys.stream, GROUP, me, MIN_IDLE_MS, '0-0', 'COUNT', 100)) as [
        string,
        [string][],
      ];
      return entries.map(([id]) => id);
    } finally {
      await redis.del(f.keys.sweepLock);
    }
  };

  /** Ours: judge owners dead, then let the reclaim script re-check and claim atomically. */
  const atomicSweep =
    (withLock: boolean): Sweep =>
    async (redis, me, checked, turn) => {
      const rows = (await redis.xpending(f.keys.stream, GROUP, '-', '+', 100)) as [string, string][];
      const dead = [];
      for (const [id, owner] of rows) if ((await redis.exists(f.keys.alive(owner))) === 0) dead.push([id, owner]);
      await checked.arrive();
      await turn;
      const lock = new SweepLock(redis, f.keys, 10_000);
      const token = withLock ? await lock.acquire() : 'unlocked';
      if (!token) return [];
      try {
        await redis.set(f.keys.alive(me), '1', 'PX', 60_000); // the sweeper itself is alive
        const { claimed } = await reclaimScript(f.keys, {
          group: GROUP,
          consumer: me,
          maxDeliveries: 100,
          candidates: dead.map(([entryId, owner]) => ({ entryId, owner })),
        }).run(redis);
        return claimed.map(([id]) => id);
      } finally {
        if (withLock) await lock.release(token);
      }
    };

  it('control: the naive check-then-acquire sweep does claim messages twice', async () => {
    const { duplicates, claimed } = await duplicatesOver(20, naiveSweep);
    process.stdout.write(`naive sweep: ${duplicates} of ${claimed} messages claimed more than once in 20 rounds\n`);
    expect(duplicates).toBeGreaterThan(0);
  });

  it(`ours: ${ROUNDS} rounds, every message claimed exactly once`, async () => {
    const { duplicates, claimed } = await duplicatesOver(ROUNDS, atomicSweep(true));
    expect(duplicates).toBe(0);
    expect(claimed).toBe(ROUNDS * MESSAGES);
  });

  it(`ours without the sweep lock: the claim script alone prevents duplicates (${ROUNDS} rounds)`, async () => {
    const { duplicates, claimed } = await duplicatesOver(ROUNDS, atomicSweep(false));
    expect(duplicates).toBe(0);
    expect(claimed).toBe(ROUNDS * MESSAGES);
  });

  it('ours under real concurrency: sweepers fire at once, no orchestration, no duplicates', async () => {
    let duplicates = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < MESSAGES; i++) await f.enqueue();
      await f.deliver(`gone-${round}`);
      const all = await Promise.all(
        connections.map((c, s) =>
          atomicSweep(false)(c, `rc-${s}`, { arrive: async () => undefined } as unknown as Barrier, Promise.resolve()),
        ),
      );
      const ids = all.flat();
      duplicates += ids.length - new Set(ids).size;
      const pending = (await f.redis.xpending(f.keys.stream, GROUP, '-', '+', 1000)) as [string][];
      if (pending.length > 0) await f.redis.xack(f.keys.stream, GROUP, ...pending.map(([id]) => id));
      await f.redis.xtrim(f.keys.stream, 'MAXLEN', 0);
    }
    expect(duplicates).toBe(0);
  });
});

describe('sweep lock hygiene', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('a lock whose holder crashed is taken again after its TTL, not before', async () => {
    const crashed = new SweepLock(f.redis, f.keys, 150);
    expect(await crashed.acquire()).toBeDefined(); // and never released
    const next = new SweepLock(f.redis, f.keys, 150);
    expect(await next.acquire()).toBeUndefined();
    await sleep(200);
    expect(await next.acquire()).toBeDefined();
  });

  it('a holder whose lock expired never deletes the lock another sweeper took', async () => {
    const slow = new SweepLock(f.redis, f.keys, 100);
    const slowToken = await slow.acquire();
    await sleep(150);
    const fast = new SweepLock(f.redis, f.keys, 10_000);
    const fastToken = await fast.acquire();
    expect(fastToken).toBeDefined();
    expect(await slow.release(slowToken!)).toBe(false);
    expect(await f.redis.get(f.keys.sweepLock)).toBe(fastToken);
    expect(await fast.release(fastToken!)).toBe(true);
    expect(await f.redis.exists(f.keys.sweepLock)).toBe(0);
  });

  it('each acquisition uses a fresh token', async () => {
    const lock = new SweepLock(f.redis, f.keys, 10_000);
    const a = await lock.acquire();
    await lock.release(a!);
    const b = await lock.acquire();
    expect(a).not.toBe(b);
  });
});
