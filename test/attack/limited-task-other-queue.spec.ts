import { Injectable } from '@nestjs/common';
import { EnqueueManyError, InvalidOptionError, Task } from '../../lib';
import { useTasksModule } from '../fixtures/tasks-module';
import { Latch } from '../utils/latch';
import { keysMatching, waitFor } from '../utils/redis';

const gate = new Latch();
const running = new Set<string>();
const ran: string[] = [];

@Injectable()
class Tasks {
  @Task('lq.limited', { queue: 'lq-home', globalConcurrency: 1 })
  async limited(payload: string): Promise<void> {
    running.add(payload);
    await gate.wait();
    running.delete(payload);
  }

  // Makes the worker consume 'lq-side' too, as any task of the fleet on it would.
  @Task('lq.plain', { queue: 'lq-side' })
  plain(payload: string): void {
    ran.push(payload);
  }
}

/**
 * An enqueue may name another queue than its task's (`options.queue`), and a worker consuming
 * that queue runs it there. A task's limits are counted per queue (each queue's flow keys live in
 * its own slot, and no atomic step spans two), so a `globalConcurrency: 1` task enqueued once on
 * its own queue and once on another ran twice at once: each queue admitted one. An enqueue of a
 * task with limits (a process with its `@Task`) now names its own queue or none, else it is
 * refused with InvalidOptionError naming `queue`, nothing written.
 */
describe('attack: a limited task enqueued on another queue than its own', () => {
  const t = useTasksModule([Tasks], { concurrency: 5 });
  afterAll(() => gate.open());

  it("is refused, naming queue, and never runs beside its own queue's run", async () => {
    await t.client.enqueue('lq.limited', 'home');
    await waitFor(() => running.has('home'), { description: 'the run on its own queue started' });

    const outcome = await t.client.enqueue('lq.limited', 'side', { queue: 'lq-side' }).then(
      () => 'written',
      (error: unknown) => error,
    );
    // Written, it runs at once beside the held one (nothing limits it there): wait to see it.
    if (outcome === 'written') await waitFor(() => running.has('side'), { description: 'the side run started' });

    expect({
      refused: outcome instanceof InvalidOptionError ? outcome.option : outcome,
      atOnce: [...running].sort(),
    }).toEqual({ refused: 'queue', atOnce: ['home'] });
    expect((outcome as Error).message).toContain('"lq-home"');
    // The side queue's stream is the worker's (it consumes it); its flow keys would be the task's.
    expect(await keysMatching(t.redis, `*${t.prefix}:lq-side}:flow:*`)).toEqual([]);
  });

  it('enqueueMany() names the item; a task without limits still goes to any queue', async () => {
    const error = await t.client
      .enqueueMany([
        { name: 'lq.plain', payload: 'x' },
        { name: 'lq.limited', payload: 'y', options: { queue: 'lq-side' } },
      ])
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(EnqueueManyError);
    expect((error as InvalidOptionError).option).toBe('items[1].options.queue');

    await t.client.enqueue('lq.plain', 'elsewhere', { queue: 'lq-home', group: 'g' });
    await waitFor(() => ran.includes('elsewhere'), { description: 'the unlimited task ran on another queue' });
  });
});
