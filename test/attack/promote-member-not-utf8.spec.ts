import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * The promoter reads the due members as text (ioredis decodes replies as UTF-8) and sends them
 * back to promote.lua, which moves only members it finds in the delayed set. A member whose bytes
 * are not UTF-8 (anyone can ZADD one: {"id":"x",…,"gr":"<FF>A"}) came back with U+FFFD in place
 * of the byte, named no member, and was never moved nor dead-lettered: it stayed due for ever, and
 * every promotion answered "next due in 0 ms", so each worker's promoter ran again at once, two
 * scripts a turn, for as long as it stayed (a thousand of them would fill every batch, and no
 * other delayed task would be promoted again). promote.lua now dead-letters a due member that is
 * not UTF-8 text, which no promoter can name.
 */
describe('attack: a due delayed member whose bytes are not UTF-8', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it.each([
    ['a flow member with a group of bytes FF 41', '{"id":"x","n":"job","p":"{}","a":"1","fl":"1","gr":"\xffA"}'],
    ['a plain member with an overlong form (C0 AF)', '{"id":"x","n":"job","p":"\xc0\xaf","a":"1"}'],
  ])('%s is dead-lettered, and the promotions stop', async (_, text) => {
    const member = Buffer.from(text, 'latin1');
    await f.redis.zadd(f.keys.delayed, 0, member);
    await f.redis.zadd(f.keys.delayed, 1, '{"id":"plain","n":"job","p":"{}","a":"1"}');

    const first = await f.promote();
    const second = await f.promote();

    const [letter] = await f.redis.xrangeBuffer(f.keys.deadLetter, '-', '+');
    expect({
      first,
      second,
      delayed: await f.redis.zcard(f.keys.delayed),
      stream: await f.redis.xlen(f.keys.stream),
      raw: letter?.[1][1].equals(member),
      reason: letter?.[1][3].toString(),
    }).toEqual({
      first: { moved: 1, nextDueInMs: -1 },
      second: { moved: 0, nextDueInMs: -1 },
      delayed: 0,
      stream: 1,
      raw: true,
      reason: 'delayed member is not UTF-8 text',
    });
  });

  it('a member that reads as the text of another (FF read as U+FFFD) leaves that other moved once', async () => {
    await f.redis.zadd(f.keys.delayed, 0, Buffer.from('{"id":"x","n":"job","p":"\xff","a":"1"}', 'latin1'));
    await f.redis.zadd(f.keys.delayed, 0, '{"id":"x","n":"job","p":"\ufffd","a":"1"}');

    await f.promote();

    expect({
      stream: await f.redis.xlen(f.keys.stream),
      delayed: await f.redis.zcard(f.keys.delayed),
      letters: await f.redis.xlen(f.keys.deadLetter),
    }).toEqual({ stream: 1, delayed: 0, letters: 1 });
  });
});
