import { parseArgs } from '../../lib/cli/cli-args';
import { EXIT, runCommand, type CliIo } from '../../lib/cli/cli-commands';
import { idAfter } from '../../lib/redis/entry-id';
import { cliQueueForSuite } from '../fixtures/cli-queue';
import { LAST_ENTRY_ID, MAX_ID_PART } from '../fixtures/last-entry-id';
import { redisUrl } from '../utils/redis';

/**
 * `dlq purge --all` and `dlq redrive --all` ask first, and a question may wait for minutes: a task
 * a worker dead-letters while it waits was never shown to the operator. The purge deleted it
 * with the others (lost unseen: the question named no count, and the purge took what was there
 * when it ran), and the redrive ran it again (a review finding). Both now act on the dead
 * letters present when the question is asked, and the question says how many.
 */
describe('attack: a dead letter written while the CLI asks to purge or redrive them all', () => {
  const q = cliQueueForSuite(async () => undefined);
  const deadLetter = (reason: string) => q.redis.xadd(q.keys.deadLetter, '*', 'raw', 'x', 'reason', reason);

  /** Runs `argv`, a worker dead-lettering a task while the question waits, then answering yes. */
  async function answeredLate(argv: string[]) {
    let question = '';
    let out = '';
    const io: CliIo = {
      out: (s) => (out += s),
      err: () => undefined,
      confirm: async (asked) => {
        question = asked;
        await deadLetter('failed while the question waited');
        return true;
      },
    };
    const args = parseArgs([...argv, '--url', redisUrl(), '--prefix', q.prefix], {});
    const code = await runCommand(q.redis, args, io);
    return { code, question, out };
  }

  it('purge --all: the question counts the dead letters, and the late one stays', async () => {
    await deadLetter('r1');
    await deadLetter('r2');
    const run = await answeredLate(['dlq', 'purge', '--all', '--json']);
    const left = (await q.redis.xrange(q.keys.deadLetter, '-', '+')).map(([, f]) => f[3]);
    expect({ ...run, left }).toEqual({
      code: EXIT.ok,
      question: expect.stringMatching(/^Purge all 2 dead letter\(s\) on queue "default"/),
      out: JSON.stringify({ purged: 2 }, null, 2),
      left: ['failed while the question waited'],
    });
    await q.redis.del(q.keys.deadLetter);
  });

  it('redrive --all: the question counts the dead letters, and the late one stays', async () => {
    await deadLetter('r1');
    const run = await answeredLate(['dlq', 'redrive', '--all', '--json']);
    const left = (await q.redis.xrange(q.keys.deadLetter, '-', '+')).map(([, f]) => f[3]);
    // The one present is not a task (kept, refused); the late one is not even tried.
    expect({ code: run.code, question: run.question, refused: JSON.parse(run.out).refused.length, left }).toEqual({
      code: EXIT.failed,
      question: expect.stringMatching(/^Redrive all 1 dead letter\(s\) on queue "default"/),
      refused: 1,
      left: ['r1', 'failed while the question waited'],
    });
  });
});

describe('idAfter: the XTRIM MINID threshold that takes an id and every one before it', () => {
  it('is the next sequence, the next millisecond past the largest sequence, none past the largest id', () => {
    expect([idAfter('5-0'), idAfter(`5-${MAX_ID_PART}`), idAfter(LAST_ENTRY_ID)]).toEqual(['5-1', '6-0', undefined]);
  });
});
