import { QueueKeys } from '../../lib/redis/keys';
import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { heldTaskIds } from '../fixtures/flow-state';
import { monitorNodeOf } from '../utils/redis';
import { waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * A limit that does not bind leaves the waiting room and the parked pairs empty, yet every release
 * asked both for its pair's next task: two lex ranges per run, each costing Redis about three
 * EXISTS even on a missing key (20 % of the settle's instructions, bench/settle-instructions.ts).
 * A script call now asks once whether they are empty (includes/flow.lua roomEmpty, rate.lua
 * parkedEmpty), and forgets the answer when it adds to them.
 */
describe('flow control: a limit that does not bind', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());

  it('settles its runs without a lex range on the empty room or parked pairs', async () => {
    const { room, parked } = new QueueKeys(env.prefix, 'default').flow;
    // Opened before the app: MONITOR output arriving with its OK, while ioredis still takes it
    // for replies, would break the connection.
    const mon = await monitorNodeOf(room);
    const calls: string[][] = [];
    // A command of this test's own after the runs: MONITOR shows commands in the order Redis ran
    // them, so once it shows this one it has shown every settle's.
    const marker = `${room}:end`;
    let markerSeen = false;
    // MONITOR shows the commands scripts run, with their keys: only this test's keys are counted.
    mon.on('monitor', (_time: string, args: string[]) => {
      if (args[1] === marker) markerSeen = true;
      if (args[1] === room || args[1] === parked)
        calls.push([args[0].toLowerCase(), args[1] === room ? 'room' : 'parked']);
    });
    const a: TestApp = await startApp({ prefix: env.prefix, imports: [FlowTasksModule], options: { concurrency: 20 } });
    await a.client.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ name: 'flow.wide', payload: { i } })));
    await waitFor(() => ledger.done.length >= 40, { timeoutMs: 20_000 });
    await waitFor(async () => (await heldTaskIds(env.redis, a.keys)).length === 0);
    await env.redis.exists(marker);
    await waitFor(() => markerSeen);
    mon.disconnect();

    expect(calls.filter(([command]) => command === 'zrangebylex' || command === 'zlexcount')).toEqual([]);
    // It asked instead, once per script call: by EXISTS, or by the TYPE that checks the key before
    // the call's first write (includes/flow.lua flowCheckKeys): each of the 40 enqueues and of the
    // settle calls (at most 40: the 40 runs settle in a few batches) asks each key at most once.
    const asked = calls.filter(([command]) => command === 'exists' || command === 'type');
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.length).toBeLessThanOrEqual(2 * (40 + 40));
    expect(ledger.most.get('flow.wide')).toBeGreaterThan(1);
  });
});
