import { EXIT } from '../../lib/cli/cli-commands';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { cliQueueForSuite } from '../fixtures/cli-queue';
import { runCliInProcess } from '../utils/cli-in-process';
import { redisUrl } from '../utils/redis';

// ESC[2J clears the screen, CSI (0x9b) is ESC[ in one byte, \r rewrites the line, U+202E reverses it.
const HOSTILE = 't\x1b[2J\x9b31m\rforged\u202e';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * A task id is anyone's text (a producer names it), and an operator removes it by the id a
 * listing gave: `remove "$(... --json | jq -r .tasks[0].id)"`, the JSON's escapes undone. The CLI
 * printed that id raw in its question, its "Removed task" line and the refusals' messages
 * (TASK_NOT_FOUND, TASK_RUNNING), where the tables and --json never print text read from Redis
 * raw (a review finding).
 */
describe('attack: remove of a task id holding terminal controls', () => {
  const q = cliQueueForSuite(async () => undefined);
  const remove = (id: string, answer: boolean, ...more: string[]) =>
    runCliInProcess(q.redis, ['remove', id, ...more, '--url', redisUrl(), '--prefix', q.prefix], answer);
  const printed = (run: { out: string; err: string; question?: string }) => `${run.question ?? ''}${run.out}${run.err}`;

  it('a queued one: the question and the removal line quote it, escaped', async () => {
    await q.redis.xadd(q.keys.stream, '*', 'id', HOSTILE, 'n', 'echo', 'p', '1', 'a', '1');
    const run = await remove(HOSTILE, true);
    expect({ code: run.code, left: await q.redis.xlen(q.keys.stream) }).toEqual({ code: EXIT.ok, left: 0 });
    expect(printed(run)).toContain(JSON.stringify('t\x1b[2J').slice(1, -1));
    expect(printed(run)).not.toMatch(RAW_CONTROL);
  });

  it('one not there (TASK_NOT_FOUND) and one running (TASK_RUNNING): their messages escape it', async () => {
    const gone = await remove(HOSTILE, true, '--yes');
    expect(gone.code).toBe(EXIT.failed);
    expect(gone.err).toMatch(/^No queued or delayed task /);
    expect(printed(gone)).not.toMatch(RAW_CONTROL);

    await q.redis.xgroup('CREATE', q.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    await q.redis.xadd(q.keys.stream, '*', 'id', HOSTILE, 'n', 'echo', 'p', '1', 'a', '1');
    await q.redis.xreadgroup('GROUP', CONSUMER_GROUP, 'w1', 'COUNT', 1, 'STREAMS', q.keys.stream, '>');
    const running = await remove(HOSTILE, true, '--yes');
    expect(running.code).toBe(EXIT.failed);
    expect(running.err).toMatch(/^Task .* is running/);
    expect(printed(running)).not.toMatch(RAW_CONTROL);
  });
});
