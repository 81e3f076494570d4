import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';

/**
 * What a handler receives is JSON.parse(JSON.stringify(payload)) taken when enqueue() is called
 * (README, Enqueueing, Payloads): values JSON has no form for change on the way, as documented,
 * and a payload changed after the call, while group commit still holds it, runs as it was.
 */
describe('payloads round-trip as JSON, taken at the call', () => {
  const { prefix } = useSpecRedis();
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ prefix });
  });
  afterAll(closeApps);

  it('values JSON has no form for arrive as the README says', async () => {
    let reads = 0;
    const payload = {
      date: new Date(0),
      map: new Map([[1, 2]]),
      set: new Set([1]),
      nan: Number.NaN,
      infinite: -Infinity,
      negativeZero: -0,
      missing: undefined,
      list: [undefined, () => 1, Symbol('s')],
      lone: 'a\uD800b',
      custom: { toJSON: () => 'as toJSON says' },
      get counted() {
        reads += 1;
        return reads;
      },
    };
    const handle = await t.client.enqueue('echo', payload);
    await handle.result({ timeoutMs: 5_000 });
    const [run] = t.probe.runsOf('echo');
    expect(run.payload).toStrictEqual({
      date: '1970-01-01T00:00:00.000Z',
      map: {},
      set: {},
      nan: null,
      infinite: null,
      negativeZero: 0,
      list: [null, null, null],
      lone: 'a\uD800b', // escaped in the JSON text, so the lone surrogate survives
      custom: 'as toJSON says',
      counted: 1,
    });
    expect(Object.is((run.payload as { negativeZero: number }).negativeZero, -0)).toBe(false);
    expect(reads).toBe(1); // a getter is read once, at the call
  });

  it('a payload changed after enqueue() returned, before its send, runs as it was at the call', async () => {
    // The first call is written at once; the second waits in group commit for its reply.
    const first = { step: 'first' };
    const held = { step: 'held', list: [1] };
    const sent = Promise.all([t.client.enqueue('echo', first), t.client.enqueue('echo', held)]);
    first.step = 'changed';
    held.step = 'changed';
    held.list.push(2);
    const handles = await sent;
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 5_000 })));
    const seen = t.probe.runsOf('echo').map((r) => r.payload);
    expect(seen).toEqual(expect.arrayContaining([{ step: 'first' }, { step: 'held', list: [1] }]));
  });
});
