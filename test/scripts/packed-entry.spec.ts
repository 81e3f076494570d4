import { QueueInspector } from '../../lib/client/queue-inspector';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { unpackedFields } from '../../lib/task/packed-fields';
import { isMalformed, parseEntry, type TaskMessage } from '../../lib/task/task-message';
import { closeAll } from '../utils/helpers';
import { heldTaskIds } from '../fixtures/flow-state';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';

/**
 * A task admitted from the waiting room is appended packed (includes/message.lua): its task id
 * and fl flat, then field j holding the room member's JSON field list as it is, so the settle that
 * admits it neither decodes that list nor spreads it into XADD arguments. Every reader unpacks it:
 * the worker's parser, the listings, and the scripts that read an entry back (dead-lettering,
 * removal, the claim's deferral, the move into admission).
 */
describe('packed stream entries of tasks admitted from the waiting room', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };
  /** Task a admitted at once (flat), b waiting in group G with priority 3, then a settled: b is admitted packed. */
  async function admitPacked(): Promise<{ entryId: string; raw: string[] }> {
    const a = await f.enqueueFlow('a', limits);
    await f.enqueueFlow('b', limits, 'G');
    expect((await f.redis.xrange(f.keys.stream, a.entryId!, a.entryId!))[0][1][0]).toBe('id'); // flat
    const [[entryA]] = await f.deliver('a');
    await f.complete('a', [{ entryId: entryA, id: 'a', result: '', flow: true }]);
    const [[entryId, raw]] = await f.redis.xrange(f.keys.stream, `(${entryA}`, '+');
    return { entryId, raw };
  }

  it('is the task id, fl and the member fields as one JSON list; the parser reads the task the flat form would give', async () => {
    const { entryId, raw } = await admitPacked();
    expect(raw.slice(0, 5)).toEqual(['id', 'b', 'fl', '1', 'j']);
    expect(raw).toHaveLength(6);
    const packed = parseEntry(entryId, raw) as TaskMessage;
    const flat = parseEntry(entryId, JSON.parse(raw[5]) as string[]) as TaskMessage;
    expect(isMalformed(packed)).toBe(false);
    expect(packed).toEqual(flat);
    expect(packed).toMatchObject({ id: 'b', name: 'job', payload: '{}', attempt: 1, keepResult: false });
    expect(packed.flow).toMatchObject({ group: 'G' });
  });

  it('is listed with its fields, and its dead letter keeps them unpacked, which a redrive puts back', async () => {
    const { entryId } = await admitPacked();
    const page = await new QueueInspector(f.redis).queued(f.keys, { limit: 10 });
    expect(page.tasks.find((t) => t.id === 'b')).toMatchObject({ name: 'job', group: 'G', payload: '{}' });
    await f.deliver('a');
    expect(await f.deadLetter('a', entryId, 'poison', { id: 'b' })).toBe('dead-lettered');
    expect(await heldTaskIds(f.redis, f.keys)).toEqual([]); // released by its flat id and fl
    const [[deadLetterId, dead]] = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    expect(dead).not.toContain('j');
    expect(dead).toEqual(expect.arrayContaining(['n', 'job', 'gr', 'G']));
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: 'b', key: undefined }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'redriven', entryId: expect.any(String) });
  });

  it('is removed by id before it runs, giving its slot back', async () => {
    const { entryId } = await admitPacked();
    const reply = await removeTaskScript(f.keys, { id: 'b', state: 'queued', entryId }, LEASE_MS).run(f.redis);
    expect(reply).toBe('removed');
    expect(await heldTaskIds(f.redis, f.keys)).toEqual([]);
  });

  it('refuses a j that is not a list of name/value strings, naming the field; the flat id still names the task', () => {
    for (const j of ['{not json', '{}', '[]', '["id"]', '[1,2]', '["id",null]']) {
      const parsed = parseEntry('1-1', ['id', 'b', 'fl', '1', 'j', j]);
      expect(parsed).toEqual({
        entryId: '1-1',
        reason: 'missing field "n" (task name): field "j" is not a JSON array of name/value strings',
      });
      expect(unpackedFields(['id', 'b', 'fl', '1', 'j', j])).toEqual(['id', 'b', 'fl', '1', 'j', j]);
    }
    // A foreign entry naming its task in full, with a field j of its own, still runs.
    expect(parseEntry('1-1', ['id', 'b', 'n', 'job', 'p', '1', 'j', 'x'])).toMatchObject({ id: 'b', name: 'job' });
  });

  // Review: an older version's worker dead-letters a packed entry as malformed, copying its raw
  // fields and adding its reason after them; the new version's redrive must find the task in it.
  it('unpacks a dead letter that an older version copied raw, with its reason after j', async () => {
    const { entryId, raw } = await admitPacked();
    await f.deliver('a');
    await f.redis.xadd(f.keys.deadLetter, '*', ...raw, 'reason', 'missing field "n"', 'entry', entryId);
    await f.redis.xack(f.keys.stream, GROUP, entryId);
    const [[deadLetterId, dead]] = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    expect(unpackedFields(dead)).toEqual(expect.arrayContaining(['n', 'job', 'reason', 'missing field "n"']));
    const page = await new QueueInspector(f.redis).dead(f.keys, { limit: 10 });
    expect(page.tasks[0]).toMatchObject({ id: 'b', name: 'job', payload: '{}' });
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: 'b', key: undefined }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'redriven' });
  });

  it('lets the flat fields win over the copies in j, and counts the unpacked fields against the bound', () => {
    const list = ['id', 'other', 'n', 'job', 'p', '1'];
    expect(parseEntry('1-1', ['id', 'b', 'j', JSON.stringify(list)])).toMatchObject({ id: 'b', name: 'job' });
    const crowd = JSON.stringify(Array.from({ length: 200 }, (_, i) => [`x${i}`, 'v']).flat());
    expect(parseEntry('1-1', ['j', crowd])).toMatchObject({ reason: expect.stringContaining('more than 64') });
  });

  // unpackedFields checks j's values for lone surrogates one by one only when its text holds a
  // surrogate or a surrogate escape: every spelling of one must still refuse j, and a pair pass.
  it('refuses a lone surrogate in j however it is spelled, and keeps a pair, the fields in order', () => {
    const refused = ['\\ud800', '\\uD800', '\\uDBFF', '\\udc00', '\\uDFFF', '\\ud83d\\ud83d', '\ud800', '\udfff'];
    for (const value of refused) {
      const raw = ['id', 'b', 'fl', '1', 'j', `["n","job","p","1","x","${value}"]`, 'reason', 'r'];
      expect(unpackedFields(raw)).toBe(raw);
    }
    for (const value of ['\\ud83d\\ude00', '\\uD83D\\uDE00', '\ud83d\ude00', '\\u00e9', 'plain']) {
      const list = ['n', 'job', 'p', '1', 'x', JSON.parse(`"${value}"`) as string];
      const raw = ['id', 'b', 'fl', '1', 'j', `["n","job","p","1","x","${value}"]`, 'reason', 'r'];
      expect(unpackedFields(raw)).toEqual(['id', 'b', 'fl', '1', ...list, 'reason', 'r']);
    }
  });
});
