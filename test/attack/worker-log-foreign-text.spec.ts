import { TERMINAL_UNSAFE } from '../../lib/terminal-unsafe';
import { cleanUpAfterSuite, logger, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * The worker's log lines quoted a foreign entry's task name and id as written. Anyone can XADD to
 * the stream: a name holding "\n[Nest] ... ERROR ..." wrote a forged line into the application's
 * log (a log collector reads it as its own record), and an ESC sequence or a bidirectional
 * override drove or reordered the operator's terminal. Entry text is now quoted with every such
 * character escaped (\uXXXX), so one entry is one line. A review finding; the test failed.
 */
describe("attack: a foreign entry's text in the worker's log lines", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it('is written escaped: one line, nothing a terminal acts on', async () => {
    const t = await startApp({ prefix });
    const forged = '\n[Nest] 1  - 12/03/2026, 7:00:00 PM   ERROR [Auth] forged-line';
    const name = `ghost${forged}\u001b[2K\u202e`;
    const id = `id\r${forged}`;
    await redis.xadd(t.keys.stream, '*', 'id', id, 'n', name, 'p', '1');
    const mentions = () =>
      logger.lines.filter((l) => l.message.includes('forged-line') || l.message.includes('forged\\u000a'));
    await waitFor(() => mentions().length > 0, { description: 'the dead letter logged' });

    const lines = mentions().map((l) => l.message);
    expect({
      unsafe: lines.filter((line) => new RegExp(TERMINAL_UNSAFE.source, 'u').test(line)),
      escaped: lines.every((line) => line.includes('ghost\\u000a[Nest] 1')),
    }).toEqual({ unsafe: [], escaped: true });
  });
});
