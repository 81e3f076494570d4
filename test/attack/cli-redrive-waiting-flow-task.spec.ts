import { EXIT } from '../../lib/cli/cli-commands';
import { enqueueFlowScript } from '../../lib/scripts/enqueue-flow.script';
import { cliQueueForSuite } from '../fixtures/cli-queue';
import { waitingTaskIds } from '../fixtures/flow-state';

const LIMITS = { global: 1, group: 0, agingMs: 1000 };
const deadLetter = (id: string) => ['id', id, 'n', 'job', 'p', '{}', 'a', '3', 'fl', '1', 'gr', 'G', 'reason', 'boom'];

/**
 * `dlq redrive <id>` of a task under flow control whose slot is taken: redrive.lua puts it in the
 * waiting room, with no stream entry yet (redrive() answers ''). The CLI printed "Redrove <id> as
 * entry ." and `{"redriven":true,"entryId":""}`, an entry id that is none, without saying the task
 * waits for its slot. It now says so, as the handle's `waitsForSlot` does. A review finding; the
 * tests failed.
 */
describe('attack: the CLI redrives a flow task that waits for its slot', () => {
  const queue = cliQueueForSuite(async (redis, keys) => {
    // 'holder' takes the task's only slot: a redriven task of it waits.
    await enqueueFlowScript(keys, {
      id: 'holder',
      name: 'job',
      payload: '{}',
      delayMs: 0,
      runAt: 0,
      limits: LIMITS,
    }).run(redis);
    await redis.xadd(keys.deadLetter, '1-1', ...deadLetter('w-text'));
    await redis.xadd(keys.deadLetter, '1-2', ...deadLetter('w-json'));
  });

  it('the text says it waits for a slot, naming no entry', async () => {
    const { code, out, err } = await queue.cli(['dlq', 'redrive', '1-1', '--yes']);
    expect({ code, err }).toEqual({ code: EXIT.ok, err: '' });
    expect(out).toBe('Redrove 1-1: the task waits for a flow slot (no stream entry yet).\n');
    expect(await waitingTaskIds(queue.redis, queue.keys)).toContain('w-text');
  });

  it('--json says waitsForSlot, with no entry id', async () => {
    const { code, out } = await queue.cli(['dlq', 'redrive', '1-2', '--yes', '--json']);
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(out)).toEqual([{ deadLetterId: '1-2', redriven: true, waitsForSlot: true }]);
    expect(await waitingTaskIds(queue.redis, queue.keys)).toContain('w-json');
  });
});
