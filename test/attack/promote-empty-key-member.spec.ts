import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * promote.lua reads a member's key '' ("k":"", which anyone can ZADD) as none and declares nothing
 * for it, but the promoter declared a key state for it all the same (and, since result keys are
 * declared, a result key): every keyed member after it in the batch was paired with the KEYS
 * entry meant for the one before. A well-formed keyed member then read another key's state, was
 * judged stale against it and dropped: its run lost, its own state left 'delayed' with a member
 * no longer there. The promoter now declares nothing for a key '' either.
 */
describe("attack: a due member naming the key ''", () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('moves as a member without a key, and the keyed member after it moves with its own state', async () => {
    const [id] = await f.enqueue({ key: 'b', delayMs: 3_600_000 });
    const [member] = await f.redis.zrange(f.keys.delayed, 0, 0);
    await f.redis.zadd(f.keys.delayed, 1, member);
    await f.redis.zadd(f.keys.delayed, 0, '{"id":"a","n":"job","p":"1","a":"1","k":""}');

    const promoted = await f.promote();

    const state = await f.keyState('b');
    expect({
      promoted,
      delayed: await f.redis.zcard(f.keys.delayed),
      stream: (await f.redis.xrange(f.keys.stream, '-', '+')).map(([, fields]) => fields[fields.indexOf('id') + 1]),
      state: state.state,
    }).toEqual({ promoted: { moved: 2, nextDueInMs: -1 }, delayed: 0, stream: ['a', id], state: 'queued' });
  });
});
