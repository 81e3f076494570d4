import { StreamQueueEvents, type StreamQueueEvent } from '../../lib';

describe('StreamQueueEvents', () => {
  it('starts every counter at zero', () => {
    expect(Object.values(new StreamQueueEvents().counters()).every((n) => n === 0)).toBe(true);
  });

  it('counts each event type and splits superseded by where it was caught', () => {
    const events = new StreamQueueEvents();
    events.emit({ type: 'completed', queue: 'q' });
    events.emit({ type: 'completed', queue: 'q' });
    events.emit({ type: 'retry-scheduled', queue: 'q' });
    events.emit({ type: 'dead-lettered', queue: 'q' });
    events.emit({ type: 'superseded', queue: 'q', detail: 'head' });
    events.emit({ type: 'superseded', queue: 'q', detail: 'tail' });
    events.emit({ type: 'superseded', queue: 'q', detail: 'tail' });

    expect(events.counters()).toEqual({
      completed: 2,
      failed: 0,
      'retry-scheduled': 1,
      'dead-lettered': 1,
      reclaimed: 0,
      'lease-lost': 0,
      'completion-refused': 0,
      'superseded-head': 1,
      'superseded-tail': 2,
    });
  });

  it('delivers events of one type to its listeners until they stop listening', () => {
    const events = new StreamQueueEvents();
    const seen: StreamQueueEvent[] = [];
    const stop = events.on('dead-lettered', (e) => seen.push(e));
    events.emit({ type: 'dead-lettered', queue: 'q', detail: 'why' });
    events.emit({ type: 'completed', queue: 'q' });
    stop();
    events.emit({ type: 'dead-lettered', queue: 'q' });

    expect(seen).toEqual([{ type: 'dead-lettered', queue: 'q', detail: 'why' }]);
  });
});
