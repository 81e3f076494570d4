import { cleanUpAfterSuite, logger, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * An entry with a field that is not valid UTF-8 is dead-lettered, its reason naming the field:
 * the name as written, of any size. Anyone can XADD: a 1,000,000-character field name made a
 * 1 MB reason, stored whole in the dead-letter stream (on top of the entry's own fields, which
 * are bounded), and written whole into the worker's warning line. The name is now cut in the
 * reason. A review finding; the test failed.
 */
describe('attack: the huge name of a field that is not UTF-8', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it('is cut in the dead letter reason and the warning', async () => {
    const t = await startApp({ prefix });
    const field = `${'f'.repeat(1_000_000)}END`;
    await redis.xadd(t.keys.stream, '*', 'id', 'utf8-1', 'n', 'echo', 'p', '1', field, Buffer.from([0xff, 0xfe]));
    await waitFor(async () => (await redis.xlen(t.keys.deadLetter)) === 1, { description: 'dead-lettered' });

    const [[, fields]] = await redis.xrange(t.keys.deadLetter, '-', '+');
    const reason = fields[fields.indexOf('reason') + 1];
    const warning = logger.warnings().find((w) => w.includes('is not valid UTF-8') && w.includes('ffff'));
    // Compared by sizes and ends: a failure must not print megabytes.
    expect({
      reason: [reason.length < 2_000, reason.endsWith(`f… [cut: ${field.length} characters]" is not valid UTF-8`)],
      warning: warning !== undefined && warning.length < 2_000,
    }).toEqual({
      reason: [true, true],
      warning: true,
    });
  });
});
