import { QueueInspector } from '../../lib/client/queue-inspector';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { isMalformed, parseEntry } from '../../lib/task/task-message';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Review: a packed entry's field j is unpacked by two JSON decoders, JSON.parse in the worker
 * and the listings (packed-fields.ts), Redis's cjson in the scripts (includes/message.lua). They
 * do not accept the same texts: cjson takes a raw control character inside a string, which
 * JSON.parse refuses, and refuses an escaped lone surrogate, which JSON.parse takes. For a
 * foreign entry with such a j, the worker and the scripts read two different tasks: a dead
 * letter listed without a name was redriven and ran, one listed as a task was refused as none.
 */
describe('a packed entry whose j only one of the two decoders takes', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const texts = {
    'a raw tab inside a string (cjson takes it)': '["n","job","p","1","x","a\tb"]',
    'an escaped lone surrogate (JSON.parse takes it)': '["n","job","p","1","x","\\ud800"]',
  };

  it.each(Object.entries(texts))('is read alike by the worker, the listing and the redrive: %s', async (_, j) => {
    const raw = ['id', 'b', 'fl', '1', 'j', j];
    const runs = !isMalformed(parseEntry('1-1', raw));
    const deadLetterId = (await f.redis.xadd(f.keys.deadLetter, '*', ...raw, 'reason', 'r', 'entry', '1-1'))!;
    const [listed] = (await new QueueInspector(f.redis).dead(f.keys, { limit: 10 })).tasks;
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: 'b', key: undefined }).run(f.redis);
    const redriven = reply.outcome === 'redriven';
    // Neither decoder's choice is wrong alone; both readers taking the same one is the point.
    expect({ listedAsTask: listed.name !== undefined, redriven }).toEqual({ listedAsTask: runs, redriven: runs });
  });
});
