import type { INestApplication } from '@nestjs/common';
import { InvalidOptionError, QueueClient } from '../../lib';
import { parseArgs, UsageError } from '../../lib/cli/cli-args';
import { EXIT } from '../../lib/cli/cli-commands';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { listenDashboardApp } from '../fixtures/dashboard-app';
import { runCliInProcess } from '../utils/cli-in-process';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * Cursors and dead-letter ids that passed the library's checks (twenty digits a part) reached
 * Redis, which refused them: a part past 2^64-1, an exclusive start past the largest id, an
 * exclusive end before 0-0. The caller got a raw ReplyError, the dashboard a 500, the CLI exit 1.
 * Ids past 2^64 are now an InvalidOptionError (the CLI's bad command line, exit 2), and a cursor
 * at either end of the id space is an empty page (a review finding; every case failed).
 */
describe('attack: cursors and dead-letter ids at the edges of the entry id space', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const keys = new QueueKeys(prefix, 'default');
  const PAST_2_64 = '99999999999999999999-0';
  let app: INestApplication;
  let client: QueueClient;
  let base: string;

  beforeAll(async () => {
    await cleanupPrefix(redis, prefix);
    ({ app, base } = await listenDashboardApp(prefix));
    client = app.get(QueueClient);
    await redis.xadd(keys.deadLetter, '*', 'id', 't-1', 'n', 'echo', 'p', '"x"', 'a', '1', 'reason', 'broke');
    await client.enqueue('echo', 1);
  });
  afterAll(async () => {
    await app?.close();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const empty = { tasks: [], cursor: null };

  it("list('dead') past 0-0 (newest first) is an empty page", async () => {
    expect(await client.list('dead', { cursor: '0-0' })).toEqual(empty);
  });

  it("list('queued') and list('running') past the largest entry id are empty pages", async () => {
    expect(await client.list('queued', { cursor: LAST_ENTRY_ID })).toEqual(empty);
    expect(await client.list('running', { cursor: LAST_ENTRY_ID })).toEqual(empty);
  });

  it('a cursor with a part past 2^64 is an InvalidOptionError', async () => {
    await expect(client.list('dead', { cursor: PAST_2_64 })).rejects.toThrow(InvalidOptionError);
    await expect(client.list('queued', { cursor: `0-${PAST_2_64.split('-')[0]}` })).rejects.toThrow(InvalidOptionError);
  });

  it('redrive and purge of a dead-letter id past 2^64 are InvalidOptionErrors, and change nothing', async () => {
    await expect(client.redrive(PAST_2_64)).rejects.toThrow(InvalidOptionError);
    await expect(client.purgeDeadLetters({ ids: [PAST_2_64] })).rejects.toThrow(InvalidOptionError);
    expect(await redis.xlen(keys.deadLetter)).toBe(1);
  });

  it('the dashboard: an edge cursor is an empty page, an id past 2^64 a 400', async () => {
    const edge = await fetch(`${base}/tasks?state=dead&cursor=0-0`);
    expect({ status: edge.status, body: await edge.json() }).toEqual({ status: 200, body: empty });
    expect((await fetch(`${base}/tasks?state=dead&cursor=${PAST_2_64}`)).status).toBe(400);
    const redrive = { method: 'POST', headers: { 'content-type': 'application/json' } };
    expect((await fetch(`${base}/dead-letters/${PAST_2_64}/redrive`, redrive)).status).toBe(400);
  });

  it('the CLI: a cursor or dead-letter id past 2^64 is a bad command line (exit 2)', async () => {
    const list = await runCliInProcess(
      redis,
      ['dlq', 'list', '--url', redisUrl(), '--prefix', prefix, '--cursor', PAST_2_64],
      true,
    );
    expect({ code: list.code, err: list.err }).toEqual({ code: EXIT.usage, err: expect.stringMatching(/cursor/) });
    expect(() => parseArgs(['dlq', 'redrive', PAST_2_64, '--url', 'redis://h'], {})).toThrow(UsageError);
  });
});
