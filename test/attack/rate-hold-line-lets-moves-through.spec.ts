import { Delivery } from '../../lib/consumer/delivery';
import { Intake } from '../../lib/consumer/intake';
import type { QueueContext } from '../../lib/consumer/queue-context';
import { RateHold } from '../../lib/consumer/rate-hold';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import type { TaskMessage } from '../../lib/task/task-message';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

const PER_MS = 2_000;
const rated: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 2, perMs: PER_MS } };

/**
 * Runs held for a token of one task and group claim in turn (RateHold's line), and a "wait"
 * answer makes the line's next members wait as long without a claim. A run claimed again only
 * to move its counted start (after a pause, or a stale start) waited there too, behind a restart
 * told to wait for the window's oldest record: its own. It sat out its own window and started on
 * a second token (a review finding). Such a run now claims at once.
 */
describe('attack: a run that may move its start, behind a restart told to wait in its RateHold line', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const message = (entryId: string, id: string): TaskMessage => ({
    entryId,
    id,
    name: 'job',
    payload: '{}',
    attempt: 1,
    key: undefined,
    generation: 0,
    dueAt: undefined,
    keepResult: false,
    trace: undefined,
    flow: { rated: true },
  });

  it('starts at once, on its one record', async () => {
    const ctx = {
      queue: 'q',
      keys: f.keys,
      group: GROUP,
      consumer: 'w',
      redis: f.redis,
      config: { sweepIntervalMs: 100, resultTtlMs: 60_000 },
      promoteIn: () => undefined,
      // Claims pass the liveness value the worker knows (2837406); these runs are unkeyed.
      lease: { livenessSince: () => undefined },
    } as unknown as QueueContext;
    const intake = new Intake(ctx, (name) => (name === 'job' ? rated : undefined));
    const hold = new RateHold();
    const a = await f.enqueueFlow('A', rated);
    const b = await f.enqueueFlow('B', rated);
    // Q: admitted without a token (a producer whose definition has no rate): this worker's rate gates it.
    const q = await f.enqueueFlow('Q', { global: 10, group: 0, agingMs: 1000 });
    await f.deliver('w');
    const [dA, dB, dQ] = [a, b, q].map((t, i) => new Delivery(message(t.entryId!, 'ABQ'[i])));
    // A and B start (the window of 2 is full); Q must wait for A's record to leave.
    for (const d of [dA, dB, dQ]) await intake.claimAgain(d);
    expect(dA.startedAt).toBeDefined();
    expect(dQ.rateWaitMs).toBeGreaterThan(PER_MS / 2);

    // Q claims in its line first and is told to wait; A (held by a pause, say) comes next.
    dQ.rateWaitMs = 0;
    const qHeld = hold.hold(dQ, (d) => intake.claimAgain(d));
    await new Promise((r) => setTimeout(r, 50));
    dA.rateWaitMs = 0; // as runWhenFree sets it
    const askedAt = Date.now();
    await hold.hold(dA, (d) => intake.claimAgain(d));
    expect(Date.now() - askedAt).toBeLessThan(PER_MS / 4);
    const ofA = (await f.redis.zrange(f.keys.flow.starts, 0, -1)).filter((m) => m.endsWith(`\0${a.entryId}\u00001`));
    expect(ofA).toHaveLength(1);
    await qHeld;
  }, 20_000);
});
