import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

// The fixture dead-letters with deadLetterMaxLen 100. Trimming is approximate (whole stream nodes
// of at most 100 entries): 250 letters leave 150, uncapped they would be 250.
const LETTERS = 250;
const BOUND = 200;

// Guarantee 5: the dead-letter stream is capped on every path that writes to it, not only one.
describe('dead-letter stream: capped by each script that appends to it', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  async function delivered(): Promise<Array<[string, string]>> {
    for (let i = 0; i < LETTERS; i++) await f.enqueue();
    return (await f.deliver('a', LETTERS)).map(([entryId, fields]) => [entryId, fields.id]);
  }

  it('fail.lua: a run failed past its last attempt', async () => {
    for (const [entryId, id] of await delivered()) {
      expect(await f.fail('a', { entryId, id, retryDelayMs: -1 })).toBe('dead-lettered');
    }
    expect(await f.redis.xlen(f.keys.deadLetter)).toBeLessThanOrEqual(BOUND);
  });

  it('dead-letter.lua: a malformed or poison run', async () => {
    for (const [entryId, id] of await delivered()) {
      expect(await f.deadLetter('a', entryId, 'poison', { id })).toBe('dead-lettered');
    }
    expect(await f.redis.xlen(f.keys.deadLetter)).toBeLessThanOrEqual(BOUND);
  });
});
