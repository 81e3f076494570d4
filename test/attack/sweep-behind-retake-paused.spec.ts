import type { Redis } from 'ioredis';
import { sendEnqueue } from '../../lib/client/enqueue-script';
import { PauseGate } from '../../lib/consumer/pause-gate';
import { QueueConsumer } from '../../lib/consumer/queue-consumer';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { defineScripts } from '../../lib/redis/scripts';
import { TaskRegistry } from '../../lib/task/task.registry';
import { interceptCommands } from '../fixtures/command-hooks';
import { definitionOf } from '../fixtures/settle-context';
import { Latch, useSpecRedis, waitFor } from '../utils/helpers';
import { lateLease, keyedJob, retakeConsumer, RETAKE_GROUP } from '../fixtures/retake-consumer';

const GROUP = RETAKE_GROUP;
/** XPENDING's extended rows: [entry id, owner, idle ms, deliveries]. */
type PendingRow = [string, string, number, number];
type Turns = { inTurn(take: () => Promise<unknown>): Promise<unknown> };

/*
 * Review finding: the sweep read the pause before it waited its turn behind a retake of runs
 * given back unproven (QueueConsumer.inTurn), not once it had it. A sweep queued behind a retake
 * when a pause landed ran after it all the same: it reclaimed a dead worker's entries while the
 * queue was paused, one delivery counted against each (a pause never counts deliveries: README).
 */
describe('attack: a sweep queued behind a retake when the queue is paused', () => {
  const { prefix, redis } = useSpecRedis();
  const blocking: Redis[] = [];
  afterAll(() => blocking.forEach((r) => r.disconnect()));
  defineScripts(redis);

  it("reclaims no dead worker's entry until the resume", async () => {
    const queue = 'sbr';
    const consumer = 'c1';
    const keys = new QueuePartitions(prefix, queue, 1).all[0];
    await redis.xgroup('CREATE', keys.stream, GROUP, '0', 'MKSTREAM');
    const call = (key: string) => keyedJob(queue, keys, key, JSON.stringify(key));
    // A worker's entry, read and held; the worker alive for now (its death comes below).
    await sendEnqueue(call('dead-run'), (script) => script.run(redis), 'sbr-dead');
    const [[, [[deadId]]]] = (await redis.xreadgroup(
      'GROUP',
      GROUP,
      'dead',
      'COUNT',
      1,
      'STREAMS',
      keys.stream,
      '>',
    )) as [string, [string, string[]][]][];
    await redis.set(keys.alive('dead'), '1');
    await sendEnqueue(call('retaken'), (script) => script.run(redis), 'sbr-retaken');
    await redis.set(keys.alive(consumer), 'lost-then-written-again');
    const { lease, confirm } = lateLease(redis, keys.alive(consumer));
    const gate = new PauseGate();

    // The retake's reply (recover.lua's, once Redis ran it) waits for `release`.
    let confirmed = false;
    let held = false;
    const retaking = new Latch();
    const release = new Latch();
    let reclaimsWhilePaused = 0;
    const commands = interceptCommands(redis, {
      sq_recover: async (_args, send) => {
        const reply = await send();
        if (confirmed && (reply as unknown[]).length > 0 && !held) {
          held = true;
          retaking.open();
          await release.wait();
        }
        return reply;
      },
      sq_reclaim: (_args, send) => {
        if (gate.isPaused) reclaimsWhilePaused++;
        return send();
      },
    });

    const ran: unknown[] = [];
    const registry = new TaskRegistry();
    registry.add({ ...definitionOf('job', { queue }), handler: async (payload: unknown) => void ran.push(payload) });
    const c1 = retakeConsumer({ redis, commands, prefix, queue, consumer, lease, registry, gate: gate, blocking });

    // Every sweep and retake waits its turn here: the spec sees one queued.
    const proto = QueueConsumer.prototype as unknown as Turns;
    const inTurn = proto.inTurn;
    const turns: Promise<unknown>[] = [];
    // Turns taken and not over: the held retake's, and any queued behind it.
    let unfinished = 0;
    const spy = jest.spyOn(proto, 'inTurn').mockImplementation(function (this: Turns, take) {
      const turn = inTurn.call(this, take);
      unfinished++;
      turns.push(turn.catch(() => undefined).finally(() => unfinished--));
      return turn;
    });
    const pending = async () => (await redis.xpending(keys.stream, GROUP, '-', '+', 10)) as PendingRow[];
    /** The dead worker's entry: its owner and deliveries counted. */
    const deadEntry = async () => (await pending()).find(([id]) => id === deadId)?.filter((_, i) => i % 2 === 1);

    await c1.start();
    try {
      // Read, claimed unproven, given back (remembered for the next confirmed beat).
      await waitFor(async () => (await pending()).some(([, owner, , n]) => owner === consumer && n === 0), {
        description: 'the keyed run given back unproven',
      });
      // The beat is confirmed: the retake takes it back, and its reply is held.
      confirmed = true;
      await confirm();
      await retaking.wait();
      // Counted as unfinished, not as turns taken after this line: a sweep due while the
      // retake's recover was on its way queued behind it before this line ran (a sweep every
      // 50 ms; under load the round trip takes that long), and the next sweep waits for it.
      await waitFor(() => unfinished >= 2, { description: 'a sweep queued behind the retake' });

      // The worker dies, and the queue is paused, while the sweep waits its turn.
      await redis.del(keys.alive('dead'));
      gate.set(true);
      release.open();
      await Promise.all(turns);

      expect({ reclaimsWhilePaused, dead: await deadEntry(), ran }).toEqual({
        reclaimsWhilePaused: 0,
        dead: ['dead', 1],
        ran: [],
      });

      // Resumed: the sweep reclaims it, and both run.
      gate.set(false);
      await waitFor(() => ran.length === 2, { description: 'both runs after the resume' });
      expect([...ran].sort()).toEqual(['dead-run', 'retaken']);
    } finally {
      spy.mockRestore();
      release.open();
      await c1.stop();
    }
  }, 20_000);
});
