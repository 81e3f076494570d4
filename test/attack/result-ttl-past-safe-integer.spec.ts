import { InvalidOptionError } from '../../lib';
import { resolveConfig } from '../../lib/stream-queue.config';
import { resolveTaskOptions } from '../../lib/task/resolved-task-options';
import { redisUrl } from '../utils/redis';

/*
 * Attack on 170aa13 (resultTtlMs: 0 or at least 1000): its new reader, resultTtl(), dropped the
 * upper bound the module's int() reader had (Number.MAX_SAFE_INTEGER). A resultTtlMs of 2^53 or
 * 1e20 (an integer to JavaScript) was accepted at startup again, a @Task's too: a TTL no script
 * can write exactly (a Lua number past 2^53 is written `1e+20`, which Redis's PX refuses), found
 * only at the first settle.
 */
describe('attack: resultTtlMs past the safe integers', () => {
  const connection = { url: redisUrl() };

  it.each([2 ** 53, 1e20, Number.MAX_VALUE])('refuses %s, the module’s and a task’s', (ttl) => {
    expect(() => resolveConfig({ connection, resultTtlMs: ttl })).toThrow(InvalidOptionError);
    expect(() => resolveConfig({ connection, resultTtlMs: ttl })).toThrow(/"resultTtlMs".*9007199254740991/);
    expect(() => resolveTaskOptions('brief', { resultTtlMs: ttl }, 1_000)).toThrow(InvalidOptionError);
  });

  it('takes the largest safe integer', () => {
    expect(resolveConfig({ connection, resultTtlMs: Number.MAX_SAFE_INTEGER }).resultTtlMs).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });
});
