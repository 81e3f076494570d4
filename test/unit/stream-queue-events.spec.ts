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

  // Listeners are kept between emits (see StreamQueueEvents.heard): an emit under way must still
  // read the listeners as they were when it began, as the emitter's copy per emit read them.
  it('an emit reaches the listeners there when it began, whatever they change meanwhile', () => {
    const events = new StreamQueueEvents();
    const heard: string[] = [];
    let stopSecond: () => void = () => {};
    let changed = false;
    events.on('completed', (e) => {
      heard.push(`first ${e.taskId}`);
      if (changed) return;
      changed = true;
      stopSecond();
      events.on('completed', (later) => void heard.push(`added ${later.taskId}`));
    });
    stopSecond = events.on('completed', (e) => void heard.push(`second ${e.taskId}`));

    events.emit({ type: 'completed', queue: 'q', taskId: 'a' });
    expect(heard).toEqual(['first a', 'second a']);
    events.emit({ type: 'completed', queue: 'q', taskId: 'b' });
    expect(heard).toEqual(['first a', 'second a', 'first b', 'added b']);
  });

  it('a listener added twice hears each event twice, and each stop removes one', () => {
    const events = new StreamQueueEvents();
    let heard = 0;
    const listener = () => void heard++;
    const stopOne = events.on('failed', listener);
    const stopOther = events.on('failed', listener);
    events.emit({ type: 'failed', queue: 'q' });
    expect(heard).toBe(2);
    stopOne();
    events.emit({ type: 'failed', queue: 'q' });
    expect(heard).toBe(3);
    stopOther();
    events.emit({ type: 'failed', queue: 'q' });
    expect(heard).toBe(3);
  });
});
