import type { TaskPage } from '../../lib';
import { watchCommands } from '../fixtures/monitored-commands';
import { RemovalTasksModule } from '../fixtures/removal-tasks';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * list('queued') reads the stream's unread tasks, then the flow waiting room: pages of 1 to 3
 * tasks that cross from one into the other list every task once, in order, and each page sends
 * the commands the README counts (MONITOR, this queue's keys only: the Redis is shared).
 */
describe("list('queued') across the stream and the waiting room", () => {
  const redis = createRedis();
  const producer = producerAppForSuite(randomPrefix(), redis, [RemovalTasksModule]);
  let expected: string[];

  beforeAll(async () => {
    const { client } = producer;
    // Without a worker the first limited task takes the one slot as it is enqueued (admitted,
    // unread in the stream); the others wait in the room, in arrival order.
    const plain = [await client.enqueue('echo', 'a'), await client.enqueue('echo', 'b')];
    const limited = [];
    for (let i = 0; i < 4; i++) limited.push(await client.enqueue('removal.one', { i }, { group: 'g' }));
    expect(await client.counts()).toMatchObject({ waiting: 6, waitingForSlot: 3 });
    expected = [...plain, ...limited].map((h) => h.id);
  });

  it.each([1, 2, 3])(
    'pages of %i: every task once, in order, each page at most 6 commands, 5 in the room',
    async (limit) => {
      const commands = await watchCommands(producer.keys.stream);
      try {
        await commands.take();
        const listed: string[] = [];
        const sent: { inRoom: boolean; names: string[] }[] = [];
        let page: TaskPage | undefined;
        do {
          const cursor = page?.cursor ?? undefined;
          page = await producer.client.list('queued', { limit, cursor });
          listed.push(...page.tasks.map((t) => t.id!));
          sent.push({ inRoom: !!cursor?.startsWith('w:'), names: (await commands.take()).map(([name]) => name) });
        } while (page.cursor);
        expect(listed).toEqual(expected);
        // The queue's layout record (which partitions to read), the group's read position
        // (read-position.lua, one EVALSHA) and the stream; past its unread tasks the room, the stream
        // again (what was admitted meanwhile) and the room's entry times. A room page (its cursor)
        // reads the layout record, the read position, the room, the stream past the cursor's entry
        // (what was admitted since) and the room's entry times.
        for (const { inRoom, names } of sent) {
          expect(names.length).toBeLessThanOrEqual(inRoom ? 5 : 6);
          if (inRoom) expect(names.slice(0, 4)).toEqual(['get', 'evalsha', 'zrangebylex', 'xrange']);
        }
        expect(sent.map(({ names }) => names)).toContainEqual([
          'get',
          'evalsha',
          'xrange',
          'zrangebylex',
          'xrange',
          'zmscore',
        ]);
        expect(sent.filter(({ inRoom }) => inRoom)).not.toEqual([]);
      } finally {
        commands.close();
      }
    },
  );
});
