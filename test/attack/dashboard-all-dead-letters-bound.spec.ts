import { QueueClient } from '../../lib';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * The dashboard's "Purge all" and "Redrive all" acted on every dead letter present when the
 * request arrived: one a worker dead-lettered after the page last listed them (a second ago, or
 * minutes ago while the question waited) was purged unseen ({purged: 3} after 2 were shown) or
 * redriven. The listing now returns its bound (the count, each partition's newest dead letter),
 * the page sends it back, and the routes act on those dead letters alone; a request without a
 * well-formed bound is a 400 naming `upTo` that changes nothing (a review finding; it failed).
 */
describe('attack: a dashboard action on all dead letters takes one dead-lettered after the listing', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const partitions = new QueuePartitions(prefix, 'default', 2);
  const dash = dashboardAppForSuite(prefix, redis, { queueOptions: { queues: { default: { partitions: 2 } } } });

  const deadLetter = (p: number, id: string) =>
    redis.xadd(partitions.keysFor(p).deadLetter, '*', 'id', id, 'n', 'echo', 'p', '"x"', 'a', '1', 'reason', 'r');
  /** The task ids of each partition's dead letters, oldest first. */
  const left = () =>
    Promise.all(
      [0, 1].map(async (p) =>
        (await redis.xrange(partitions.keysFor(p).deadLetter, '-', '+')).map(([, fields]) => fields[1]),
      ),
    );
  const call = async (path: string, body?: unknown) => {
    const response = await fetch(`${dash.base}/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeEach(async () => {
    await redis.del(...partitions.all.flatMap((keys) => [keys.deadLetter, keys.stream]));
  });

  /** Two dead letters in partition 0, none in 1; the listing; then one in each, never listed. */
  async function listedThenLate() {
    await deadLetter(0, 'shown-1');
    const newest = await deadLetter(0, 'shown-2');
    const listing = await call('tasks?state=dead');
    await deadLetter(0, 'late-0');
    await deadLetter(1, 'late-1');
    return { newest, listing };
  }

  it('purge all: the listing counts the dead letters, and those alone are purged', async () => {
    const { newest, listing } = await listedThenLate();
    const bound = listing.body.deadLetters as { upTo?: unknown } | undefined;
    const purged = await call('dead-letters/purge', { all: true, upTo: bound?.upTo });
    expect({ bound, purged, left: await left() }).toEqual({
      bound: { count: 2, upTo: [newest, null] },
      purged: { status: 201, body: { purged: 2 } },
      left: [['late-0'], ['late-1']],
    });
  });

  it('redrive all: the listing counts the dead letters, and those alone are redriven', async () => {
    const { listing } = await listedThenLate();
    const bound = listing.body.deadLetters as { upTo?: unknown } | undefined;
    const redriven = await call('dead-letters/redrive-all', { upTo: bound?.upTo });
    const queued = await redis.xlen(partitions.keysFor(0).stream);
    expect({ redriven, queued, left: await left() }).toEqual({
      redriven: { status: 201, body: { redriven: 2, refused: [] } },
      queued: 2,
      left: [['late-0'], ['late-1']],
    });
  });

  it('a later page of the listing carries no bound (the first page shows the newest)', async () => {
    for (let i = 0; i < 3; i++) await deadLetter(0, `t-${i}`);
    const first = await call('tasks?state=dead&limit=2');
    const next = await call(`tasks?state=dead&limit=2&cursor=${encodeURIComponent(first.body.cursor as string)}`);
    expect([first.body.deadLetters, next.body.deadLetters]).toEqual([
      { count: 3, upTo: [expect.any(String), null] },
      undefined,
    ]);
  });

  it.each([
    ['no bound (a page older than the bound)', undefined],
    ['a bound that is no array', '1-1'],
    ['an id that is no entry id', ['not-an-id', null]],
    ['a number for an id', [1, null]],
    ['more partitions than the queue has', [null, null, null]],
  ])('refuses %s: a 400 naming upTo, and nothing is purged or redriven', async (_, upTo) => {
    const shown = await deadLetter(0, 'shown');
    await deadLetter(1, 'other');
    const before = await left();
    const purge = await call('dead-letters/purge', { all: true, upTo });
    const redrive = await call('dead-letters/redrive-all', upTo === undefined ? {} : { upTo });
    expect([purge.status, redrive.status]).toEqual([400, 400]);
    expect([purge.body.message, redrive.body.message]).toEqual([
      expect.stringMatching(/"upTo(\[0\])?"/),
      expect.stringMatching(/"upTo(\[0\])?"/),
    ]);
    expect(await left()).toEqual(before);
    expect(await redis.xlen(partitions.keysFor(0).stream)).toBe(0);
    expect(shown).toBeTruthy();
  });

  it('refuses a bound with ids: a purge names its dead letters or says all, bounded', async () => {
    const id = await deadLetter(0, 'shown');
    const purge = await call('dead-letters/purge', { ids: [id], upTo: [id, null] });
    expect([purge.status, purge.body.message]).toEqual([400, expect.stringMatching(/"upTo"/)]);
    expect(await left()).toEqual([['shown'], []]);
  });

  it('the client takes the same bound: a shorter one leaves the partitions past it, none with partition', async () => {
    const client = dash.app.get(QueueClient);
    await deadLetter(0, 'shown-0');
    await deadLetter(1, 'shown-1');
    const bound = await client.deadLetterBound();
    await expect(client.purgeDeadLetters({ upTo: bound.upTo, partition: 0 })).rejects.toThrow(/"upTo"/);
    await deadLetter(1, 'late-1');
    expect(await client.purgeDeadLetters({ upTo: bound.upTo.slice(0, 1) })).toBe(1);
    expect(await client.redriveAll({ upTo: bound.upTo })).toEqual({ redriven: 1, refused: [] });
    expect({ count: bound.count, left: await left() }).toEqual({ count: 2, left: [[], ['late-1']] });
  });
});
