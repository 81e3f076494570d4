import { readsFixture, sizes } from './slot-group-readers';
import type { Slots } from '../../lib/consumer/slots';
import { sendNow } from '../../lib/redis/send-now';
import { createRedis, waitFor } from '../utils/redis';

/**
 * A busy queue's next read goes ahead of the settle of the runs that freed its slots, so it takes
 * the entries that were waiting, not those the settle admits. The runs finish, their slots wake
 * the read (one setImmediate), and the settle goes one setImmediate later on the command
 * connection. A read on the blocking connection (the shared reader sends it a turn later) or
 * auto-pipelined on the command connection (ioredis flushes it a turn later) reached Redis after
 * the settle. Here the settle is an XADD sent the way settles are sent (at once, past
 * auto-pipelining): the read must not see it. (Redis still answers both together: see
 * QueueReads.hadBacklog.)
 */
describe('a busy queue reads ahead of its settle', () => {
  // The command connection, as the module makes it: auto-pipelined.
  const commands = createRedis({ enableAutoPipelining: true });
  const { redis, blocking, setup: setupOf } = readsFixture({ commands });
  const setup = (capacity: number) => {
    const { partitions, slots, reads } = setupOf(capacity, 1);
    return { stream: partitions.all[0].stream, slots, reads };
  };

  /** The runs of a read finish: their slots free as the pipeline frees them, and the read goes. */
  function finishRuns(slots: Slots, n: number): void {
    const runs = Array.from({ length: n }, () => slots.adopt());
    runs.forEach((slot) => slot.finish());
  }

  it('after a read that filled its slots: the next one reaches Redis before a settle sent a turn after it', async () => {
    const { stream, slots, reads } = setup(3);
    await reads.ensureGroup();
    for (let i = 0; i < 5; i++) await redis.xadd(stream, '*', 'n', String(i));

    expect(sizes(await reads.read())).toEqual([3]); // all its slots: a backlog is likely
    finishRuns(slots, 3);
    const next = reads.read();
    // The settle of the three runs, one turn later, as settleInBatches sends it.
    const settled = new Promise((resolve) =>
      setImmediate(() => resolve(sendNow(commands, 'xadd', [stream, '*', 'settle', '1']))),
    );
    await settled;
    const answer = await next;
    // The two left, not the settle's entry: the read went first.
    expect(sizes(answer)).toEqual([2]);
    expect(answer[0].entries.map(([, fields]) => fields?.[0])).toEqual(['n', 'n']);
  });

  it('after a read that did not fill its slots, the next one blocks (an idle queue costs no extra call)', async () => {
    const { stream, slots, reads } = setup(3);
    await reads.ensureGroup();
    await redis.xadd(stream, '*', 'n', '0');

    expect(sizes(await reads.read())).toEqual([1]);
    const blockingId = Number(await blocking[0].client('ID'));
    const commandsId = Number(await commands.client('ID'));
    finishRuns(slots, 1);
    const next = reads.read();
    await waitFor(
      async () =>
        clientLines(await redis.client('LIST'))
          .get(blockingId)
          ?.includes(' flags=b '),
      {
        description: 'the blocking connection blocks in XREADGROUP',
      },
    );
    // No read went on the command connection first: its last command is still CLIENT ID.
    expect(clientLines(await redis.client('LIST')).get(commandsId)).toContain(' cmd=client|id ');
    await redis.xadd(stream, '*', 'n', '1');
    expect(sizes(await next)).toEqual([1]);
  });
});

/** CLIENT LIST's line of each client, by id. */
function clientLines(list: unknown): Map<number, string> {
  const lines = String(list).split('\n');
  return new Map(lines.map((line) => [Number(/\bid=(\d+)/.exec(line)?.[1]), ` ${line} `]));
}
