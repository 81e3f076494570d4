import { PartitionLayoutError } from '../../lib';
import { TERMINAL_UNSAFE } from '../../lib/terminal-unsafe';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A PartitionLayoutError's message names the layout record Redis holds, and anyone can SET that
 * record: "2" followed by ESC[2J ESC[H (clear the screen, home the cursor), U+202E and NEL came
 * back raw in the message of a refused keyed enqueue (the script's 'LAYOUT <stored> <count>'
 * refusal), and a record holding a line break in the message of status(): an app logging the
 * error wrote them to the operator's terminal (a forged line, a cleared screen, a reordered
 * one). A record the library cannot have written is now quoted as JSON, escaped as the CLI's
 * --json escapes. A review finding; the test failed. A record holding a space still came back
 * raw (the refusal was read as 'LAYOUT <no space> <count>', so it was not recognised): another
 * review finding, whose case failed too.
 */
describe('attack: a hostile layout record in PartitionLayoutError messages', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it.each([
    [
      'a keyed enqueue() (the script refusal)',
      '2\x1b[2J\x1b[Hforged\u202e\u0085',
      '"2\\u001b[2J\\u001b[Hforged\\u202e\\u0085"',
      () => t.client.enqueue('echo', 1, { key: 'k' }),
    ],
    [
      'a keyed enqueue() of a record holding spaces (the script refusal)',
      '2 \x1b[2J 3 \u202e',
      '"2 \\u001b[2J 3 \\u202e"',
      () => t.client.enqueue('echo', 1, { key: 'k' }),
    ],
    [
      'status() (the read check)',
      '2\n[Nest] 1 - ERROR forged line',
      '"2\\n[Nest] 1 - ERROR forged line"',
      () => t.client.status('k'),
    ],
  ])('%s: the record quoted, no character a terminal must not get raw', async (_, record, quoted, call) => {
    await redis.set(t.keys.layout, record);
    const error = (await call().then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect([
      error instanceof PartitionLayoutError,
      error.message.match(TERMINAL_UNSAFE),
      error.message.includes(quoted),
    ]).toEqual([true, null, true]);
  });
});
