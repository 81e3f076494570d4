import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { FleetEventRelay } from '../../lib/consumer/fleet-event-relay';
import { QueueKeys } from '../../lib/redis/keys';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { cleanUpAfterSuite, closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { publishedWhileRunning, watchedEvents } from '../fixtures/watched-events';
import { holdNextExistsReply } from '../fixtures/held-exists-reply';
import { createRedis, Latch, randomPrefix, waitFor } from '../utils/helpers';
import { spawnWorker } from '../utils/spawn-worker';

const SUBSCRIBER_FILE = 'test/attack/fixtures/events-subscriber.ts';

/**
 * events() must cost nothing when nobody subscribes. A subscriber that left did nothing but stop
 * refreshing its watch: the key it had refreshed lived on for up to 30 s, and every worker went
 * on publishing its events to no one until its next check after the key expired, up to about
 * 35 s after the unsubscribe. Now a subscriber that leaves takes its own mark out of the watch
 * and tells the workers, who ask again at once: the events stop within a round trip, while a
 * subscriber that is still there (in this process or another) misses none of them.
 */
describe('attack: fleet events after the last subscriber leaves', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const subscriptions: Subscription[] = [];
  cleanUpAfterSuite(prefix, redis);
  const keys = new QueueKeys(prefix, 'default');
  afterEach(async () => {
    subscriptions.splice(0).forEach((s) => s.unsubscribe());
    await closeApps();
    await redis.del(keys.eventsWatch);
  });

  /** Within 2 s of the last subscriber leaving, a run's events are no longer published. */
  async function stopsPublishing(worker: TestApp): Promise<void> {
    await waitFor(async () => (await publishedWhileRunning(worker, 1)).length === 0, {
      timeoutMs: 2_000,
      description: 'a run whose events are not published (the old watch lived on for up to 30 s)',
    });
    expect(await publishedWhileRunning(worker, 20)).toEqual([]);
  }

  /** Enqueues `tasks` runs, and waits until `events` holds the completed event of each. */
  async function everyCompletedHeard(worker: TestApp, events: FleetEvent[], tasks: number): Promise<void> {
    const ids: string[] = [];
    for (let i = 0; i < tasks; i++) ids.push((await worker.client.enqueue('echo', i)).id);
    await waitFor(() => ids.every((id) => events.some((e) => e.type === 'completed' && e.taskId === id)), {
      description: `the completed event of each of ${tasks} runs`,
    });
  }

  it('stops publishing within 2 s of the last subscriber leaving', async () => {
    const worker = await startApp({ prefix });
    const watcher = await startApp({ prefix, options: { worker: false } });
    const subscription = await watchedEvents(watcher.client, []);
    subscription.unsubscribe();
    await stopsPublishing(worker);
  });

  // A subscription open when its application closes is completed by the close (ClosedGuard), and
  // its leave went through the auto-pipeline, to be flushed on the next tick, while the QUIT that
  // followed in the same turn is never pipelined: the QUIT went first, the leave never ran, and the
  // mark kept the workers publishing to no one for up to about 35 s.
  it("stops publishing within 2 s of the last subscriber's application closing with it open", async () => {
    const worker = await startApp({ prefix });
    const watcher = await startApp({ prefix, options: { worker: false } });
    await watchedEvents(watcher.client, []);
    await watcher.close();
    expect(await redis.exists(keys.eventsWatch)).toBe(0);
    await stopsPublishing(worker);
  });

  it('keeps every event of a subscriber that stays while others come and go, in its process and others', async () => {
    const worker = await startApp({ prefix });
    const stays = await startApp({ prefix, options: { worker: false } });
    const comesAndGoes = await startApp({ prefix, options: { worker: false } });
    const heard: FleetEvent[] = [];
    subscriptions.push(await watchedEvents(stays.client, heard));
    for (const client of [comesAndGoes.client, stays.client, comesAndGoes.client]) {
      const other = await watchedEvents(client, []);
      other.unsubscribe();
      // Its leave is being answered now: every run from here on is still published.
      await everyCompletedHeard(worker, heard, 10);
    }
    subscriptions.splice(0).forEach((s) => s.unsubscribe());
    await stopsPublishing(worker);
  });

  it('leaves the events stopped when a check answered before the leave comes back after it', async () => {
    const worker = await startApp({ prefix });
    const watcher = await startApp({ prefix, options: { worker: false } });
    const subscription = await watchedEvents(watcher.client, []);
    const relay = worker.app.get(FleetEventRelay);
    const commands = worker.app.get(RedisConnections).commands;
    // The worker's periodic check runs now (watched: 1), its reply held until after the leave.
    const { answered, release } = holdNextExistsReply(commands);
    const checking = relay.checkWatched(['default']);
    await answered.wait();
    subscription.unsubscribe();
    await stopsPublishing(worker);
    release.open();
    await checking;
    expect(await publishedWhileRunning(worker, 5)).toEqual([]);
  });

  it('keeps publishing to a subscriber that arrives while the last leave is being checked', async () => {
    const worker = await startApp({ prefix });
    const watcher = await startApp({ prefix, options: { worker: false } });
    const relay = worker.app.get(FleetEventRelay);
    const commands = worker.app.get(RedisConnections).commands;
    const leaving = await watchedEvents(watcher.client, []);
    // The worker's check after the leave answers "no mark", its reply held until the next
    // subscriber announced itself on the other connection.
    const { answered, release } = holdNextExistsReply(commands);
    leaving.unsubscribe();
    await answered.wait();
    const announced = new Latch();
    const watched = relay.watched.bind(relay);
    jest.spyOn(relay, 'watched').mockImplementation((queue) => {
      watched(queue);
      announced.open();
    });
    const heard: FleetEvent[] = [];
    subscriptions.push(watcher.client.events().subscribe((e) => heard.push(e)));
    await announced.wait();
    release.open();
    await everyCompletedHeard(worker, heard, 5);
  });

  it('keeps publishing to a subscriber of an earlier version when the last one of this version leaves', async () => {
    const worker = await startApp({ prefix });
    // What an earlier version's subscriber keeps alive: one key for all, set with a TTL.
    await redis.set(keys.eventsWatchBefore, '1', 'PX', 30_000);
    const watcher = await startApp({ prefix, options: { worker: false } });
    (await watchedEvents(watcher.client, [])).unsubscribe();
    const published = await publishedWhileRunning(worker, 3);
    const completed = published.flatMap((m) => JSON.parse(m) as FleetEvent[]).filter((e) => e.type === 'completed');
    expect(completed).toHaveLength(3);
    await redis.del(keys.eventsWatchBefore);
  });

  it('keeps publishing for a subscriber that was SIGKILLed, its mark lapsing on its own', async () => {
    const worker = await startApp({ prefix });
    const dies = await spawnWorker(SUBSCRIBER_FILE, { env: { SQ_PREFIX: prefix } });
    await waitFor(async () => (await redis.zcard(keys.eventsWatch)) === 1, { description: "the subscriber's mark" });
    await dies.kill('SIGKILL');
    const leaves = await startApp({ prefix, options: { worker: false } });
    (await watchedEvents(leaves.client, [])).unsubscribe();

    // Its mark outlives it, so the workers go on (to no one) until it lapses.
    const published = await publishedWhileRunning(worker, 3);
    const completed = published.flatMap((m) => JSON.parse(m) as FleetEvent[]).filter((e) => e.type === 'completed');
    expect(completed).toHaveLength(3);
    const [, lapsesAt] = await redis.zrange(keys.eventsWatch, 0, -1, 'WITHSCORES');
    const [seconds, micros] = await redis.time();
    const now = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    expect(Number(lapsesAt) - now).toBeLessThanOrEqual(30_000);
    const ttl = await redis.pttl(keys.eventsWatch);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it("stops at once when the last subscriber leaves after a killed one's mark lapsed", async () => {
    const worker = await startApp({ prefix });
    const [seconds] = await redis.time();
    // The mark a SIGKILLed subscriber left 30 s ago, lapsed a second ago (the key kept alive by another).
    await redis.zadd(keys.eventsWatch, String(Number(seconds) * 1_000 - 1_000), 'killed');
    const watcher = await startApp({ prefix, options: { worker: false } });
    const subscription = await watchedEvents(watcher.client, []);
    expect(await redis.zscore(keys.eventsWatch, 'killed')).toBeNull(); // pruned: the set stays small
    subscription.unsubscribe();
    await stopsPublishing(worker);
    expect(await redis.exists(keys.eventsWatch)).toBe(0);
  });

  // Anyone with Redis access can make the watch a key of another type: each mark's write then
  // failed (the subscriber's refreshes swallowed WRONGTYPE), and the foreign key, existing, kept
  // every worker publishing to no one for good. The watch takes its key back, as the SET of
  // earlier versions did.
  it('takes back a watch key of another type: its leave stops the events', async () => {
    const worker = await startApp({ prefix });
    await redis.hset(keys.eventsWatch, 'not', 'a sorted set');
    const watcher = await startApp({ prefix, options: { worker: false } });
    const subscription = await watchedEvents(watcher.client, []);
    expect(await redis.type(keys.eventsWatch)).toBe('zset');
    subscription.unsubscribe();
    await stopsPublishing(worker);
  });

  /** Redis's clock now, in ms. */
  async function redisNowMs(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
  }

  // No subscriber sets a mark lapsing more than 30 s ahead, but one can be there: written by
  // anyone with Redis access, or set before Redis's clock went back (a failover to a replica whose
  // clock is an hour behind, a clock stepped back). Never pruned, it kept the watch alive (its TTL that
  // mark's), every worker publishing to no one, and no leave ever said 'unwatch'.
  it('prunes a mark lapsing later than any subscriber sets one: the last leave still stops the events', async () => {
    const worker = await startApp({ prefix });
    await redis.zadd(keys.eventsWatch, String((await redisNowMs()) + 3_600_000), 'ahead');
    const watcher = await startApp({ prefix, options: { worker: false } });
    const subscription = await watchedEvents(watcher.client, []);
    expect(await redis.zscore(keys.eventsWatch, 'ahead')).toBeNull();
    expect(await redis.pttl(keys.eventsWatch)).toBeLessThanOrEqual(30_000);
    subscription.unsubscribe();
    await stopsPublishing(worker);
  });

  // A mark at +inf made the script's PEXPIRE negative (Lua's %d of an infinite number), which
  // deleted the watch with every live mark in it at each refresh: the marks never held.
  it("keeps a subscriber's mark beside one written at +inf", async () => {
    await startApp({ prefix });
    await redis.zadd(keys.eventsWatch, '+inf', 'endless');
    const watcher = await startApp({ prefix, options: { worker: false } });
    subscriptions.push(await watchedEvents(watcher.client, []));
    expect(await redis.zrange(keys.eventsWatch, 0, -1)).toHaveLength(1);
    expect(await redis.zscore(keys.eventsWatch, 'endless')).toBeNull();
    expect(await redis.pttl(keys.eventsWatch)).toBeGreaterThan(0);
  });
});
