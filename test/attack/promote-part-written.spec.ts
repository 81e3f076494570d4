import { closeAll } from '../utils/redis';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on promote.lua refused midway. It removed a malformed due member from the delayed set
 * (ZREM), then appended it to the dead-letter stream (XADD): Redis does not roll a script back,
 * so a dead-letter stream of another type (anyone with Redis access can SET one) failed the
 * promotion after the ZREM, and the member was neither in the delayed set nor dead-lettered
 * (lost), as were the due members moved before it in that call, whose caller was told only of an
 * error. Now promote.lua decides each member's fate before its first write and, when one is to
 * be dead-lettered, reads the dead-letter stream's type first: one of another type refuses the
 * promotion, nothing written, every member still due, and the next promotion after the stream is
 * back moves them.
 */
describe('attack: a promotion Redis refuses midway', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** What a promotion may write: the delayed set, the stream, the dead letters. */
  async function written() {
    const dead =
      (await f.redis.type(f.keys.deadLetter)) === 'string'
        ? await f.redis.get(f.keys.deadLetter)
        : await f.redis.xrange(f.keys.deadLetter, '-', '+');
    return {
      delayed: await f.redis.zrange(f.keys.delayed, 0, -1),
      stream: await f.redis.xrange(f.keys.stream, '-', '+'),
      dead,
    };
  }

  it.each([
    ['does not decode', '{not json'],
    ['is not UTF-8 text', Buffer.from('{"id":"x","n":"job","p":"\xff","a":"1"}', 'latin1')],
  ])(
    'a due member that %s, the dead-letter stream a string: refused naming it, nothing moved nor lost',
    async (_, bad) => {
      await f.redis.zadd(f.keys.delayed, 0, '{"id":"plain","n":"job","p":"{}","a":"1"}');
      await f.redis.zadd(f.keys.delayed, 1, bad);
      await f.redis.set(f.keys.deadLetter, 'x');
      const before = await written();
      const refusal = await f.promote().then(
        () => 'not refused',
        (error: Error) => error.message,
      );
      expect(await written()).toEqual(before);
      expect(refusal).toMatch(`WRONGTYPE the dead-letter stream ${f.keys.deadLetter} holds a string`);
      await f.redis.del(f.keys.deadLetter);
      await expect(f.promote()).resolves.toMatchObject({ moved: 1 });
      expect(await f.redis.zcard(f.keys.delayed)).toBe(0);
      expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    },
  );

  it('due members that are all well formed move, the dead-letter stream a string (it is not read)', async () => {
    await f.redis.zadd(f.keys.delayed, 0, '{"id":"plain","n":"job","p":"{}","a":"1"}');
    await f.redis.set(f.keys.deadLetter, 'x');
    await expect(f.promote()).resolves.toMatchObject({ moved: 1 });
    expect(await f.redis.xlen(f.keys.stream)).toBe(1);
  });
});
