import { InFlight } from '../../lib/consumer/in-flight';
import { PauseGate } from '../../lib/consumer/pause-gate';
import { QueueConsumer } from '../../lib/consumer/queue-consumer';
import { QueueKeys } from '../../lib/redis/keys';
import type { QueueContext } from '../../lib/consumer/queue-context';
import type { TaskMessage } from '../../lib/task/task-message';

const message = (generation: number, key = 'k'): TaskMessage => ({
  entryId: `${key}-${generation}`,
  id: `t${generation}`,
  name: 'job',
  payload: '{}',
  attempt: 1,
  key,
  generation,
  dueAt: undefined,
  keepResult: false,
  trace: undefined,
});

describe('QueueConsumer.abortKey', () => {
  it('stops the runs of the key older than the announced generation, never the new one', () => {
    const inFlight = new InFlight();
    const old = inFlight.add(message(1));
    const current = inFlight.add(message(2));
    const other = inFlight.add(message(1, 'other'));
    const ctx = { inFlight, keys: new QueueKeys('p', 'q'), config: { leaseMs: 1_000 } } as unknown as QueueContext;
    const consumer = new QueueConsumer([ctx], {} as never, { names: () => [] } as never, new PauseGate());
    consumer.abortKey('k', 'superseded', 2);
    expect(old.isAborted).toBe(true);
    expect(old.abortReason).toMatchObject({ code: 'SUPERSEDED' });
    expect(current.isAborted).toBe(false);
    expect(other.isAborted).toBe(false);
  });
});
