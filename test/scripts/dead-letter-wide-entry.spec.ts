import { redriveScript } from '../../lib/scripts/redrive.script';
import { unpackedFields } from '../../lib/task/packed-fields';
import { isMalformed, parseEntry } from '../../lib/task/task-message';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

/**
 * A dead letter of an entry with more than 64 field pairs (anyone can XADD one, and a room
 * member can hold as many, admitted packed) keeps only the task's fields
 * (includes/dead-letter-entry.lua). Those are every field a task travels with
 * (includes/message.lua): the trace context t and flow control's fl, gr and pr too, or its
 * redrive ran the task outside its group, at priority 5, out of its trace.
 */
describe('dead letter of an entry with more than 64 field pairs', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const TRACE = '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}';
  const TASK = ['n', 'job', 'p', '{}', 'a', '1', 't', TRACE, 'fl', '1', 'gr', 'G', 'pr', '3'];
  const junk = (pairs: number) => Array.from({ length: pairs }, (_, i) => [`x${i}`, 'v']).flat();

  /** Dead-letters the entry `fields` as the worker does a malformed one; its dead letter's id and fields. */
  async function deadLettered(id: string, fields: string[]): Promise<[string, string[]]> {
    // Limits of 'job' recorded (an enqueue under flow control), so a redrive admits at once.
    await f.enqueueFlow('other', { global: 10, group: 0, agingMs: 1000 });
    const entryId = (await f.redis.xadd(f.keys.stream, '*', ...fields))!;
    await f.deliver('w');
    expect(isMalformed(parseEntry(entryId, fields))).toBe(true); // the worker's verdict: too wide
    expect(await f.deadLetter('w', entryId, 'malformed', { id })).toBe('dead-lettered');
    const [[deadLetterId, dead]] = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    return [deadLetterId, dead];
  }

  /** The redriven entry's fields, unpacked. */
  async function redriven(deadLetterId: string, id: string): Promise<string[]> {
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: id, key: undefined }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'redriven', entryId: expect.any(String) });
    const [[, raw]] = await f.redis.xrange(f.keys.stream, reply.entryId!, reply.entryId!);
    return unpackedFields(raw);
  }

  const droppedSeventy = ['dropped-fields', '70', 'reason', 'malformed', 'entry', expect.any(String)];
  const pairs = (fields: string[]) => new Map(fields.flatMap((v, i) => (i % 2 ? [] : [[v, fields[i + 1]] as const])));

  it('a flat entry keeps t, fl, gr and pr, and its redrive is admitted in its group at its priority', async () => {
    const [deadLetterId, dead] = await deadLettered('h', ['id', 'h', ...TASK, ...junk(70)]);
    const back = pairs(await redriven(deadLetterId, 'h'));
    expect([back.get('fl'), back.get('gr'), back.get('pr'), back.get('t')]).toEqual(['1', 'G', '3', TRACE]);
    expect(dead).toEqual(['id', 'h', ...TASK, ...droppedSeventy]);
  });

  it('a packed entry whose j holds them is unpacked first: its dead letter keeps them and no j', async () => {
    const packed = JSON.stringify([...TASK, ...junk(70)]);
    const [deadLetterId, dead] = await deadLettered('h', ['id', 'h', 'fl', '1', 'j', packed]);
    // Its fields as every reader takes them: id and fl flat, then j's (its fl a repeat).
    expect(dead).toEqual(['id', 'h', 'fl', '1', ...TASK.slice(0, 8), ...TASK.slice(10), ...droppedSeventy]);
    const back = pairs(await redriven(deadLetterId, 'h'));
    expect([back.get('fl'), back.get('gr'), back.get('pr'), back.get('t')]).toEqual(['1', 'G', '3', TRACE]);
  });

  it('repeated task field names never crowd out the others: the first value of each is kept', async () => {
    const repeats = Array.from({ length: 40 }, (_, i) => ['a', String(i + 2)]).flat();
    // Forty more a's after n, p and a, before t, fl, gr and pr.
    const entry = ['id', 'h', ...TASK.slice(0, 6), ...repeats, ...TASK.slice(6), ...junk(30)];
    const [, dead] = await deadLettered('h', entry);
    expect(dead).toEqual(['id', 'h', ...TASK, ...droppedSeventy]);
  });
});
