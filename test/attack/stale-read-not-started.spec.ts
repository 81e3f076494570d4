import { InFlight } from '../../lib/consumer/in-flight';
import { Intake, type RawEntry } from '../../lib/consumer/intake';
import { monotonicMs } from '../../lib/consumer/lease';
import { Slots } from '../../lib/consumer/slots';
import { settleContext } from '../fixtures/settle-context';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * Guarantee 4 on the worker's side: a message read before a replace() is judged stale by
 * claim.lua (the head check), and the worker must then drop it, never hand it to a runner. The
 * script specs check the verdict; this checks what the worker does with it.
 */
describe('attack: a keyed message superseded between its read and its claim', () => {
  let f: ScriptFixture;
  beforeEach(() => (f = new ScriptFixture()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('is not handed to a runner: the intake returns nothing to run', async () => {
    const { ctx, keys } = await settleContext(f.redis, f.prefix, f.keys.queue);
    const inFlight = new InFlight();
    const slots = new Slots(4);
    const intake = new Intake({ ...ctx, inFlight, slots });
    const [older] = await f.enqueue({ key: 'k' });
    const sentAt = monotonicMs();
    const reply = (await f.redis.xreadgroup('GROUP', 'workers', 'me', 'STREAMS', keys.stream, '>')) as [
      string,
      RawEntry[],
    ][];
    const entries = reply[0][1];
    expect(entries).toHaveLength(1);
    // The replace lands after the read, before the claim.
    await f.enqueue({ key: 'k', mode: 'replace' });
    slots.reserve(1);
    const ready = await intake.admit({ entries, sentAt });
    expect(ready.map((d) => d.message.id)).not.toContain(older);
    expect(ready).toEqual([]);
  });
});
