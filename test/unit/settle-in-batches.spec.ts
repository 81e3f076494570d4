import { Logger } from '@nestjs/common';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import { settleInBatches } from '../../lib/consumer/settle-in-batches';
import { Latch, sleep } from '../utils/helpers';
import { RecordingLogger } from '../fixtures/recording-logger';

/**
 * Resolves after the flush a zero window scheduled (setImmediate callbacks run in order). A timer
 * would not do: on a busy machine a due timer runs before the pending immediate.
 */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A settle function that records each batch and can be held open by a latch. */
function recorder(plan: (batch: string[], call: number) => string[] | Promise<string[]> = () => []) {
  const batches: string[][] = [];
  const settle = async (batch: string[]) => {
    batches.push([...batch]);
    return plan(batch, batches.length);
  };
  return { batches, settle };
}

describe('settleInBatches', () => {
  it('settles items that arrive within the window together, and emits each once settled', async () => {
    const source = new Subject<string>();
    const { batches, settle } = recorder();
    const out = lastValueFrom(source.pipe(settleInBatches(settle, 20, 100, 10), toArray()));
    source.next('a');
    source.next('b');
    source.next('c');
    source.complete();

    await expect(out).resolves.toEqual(['a', 'b', 'c']);
    expect(batches).toEqual([['a', 'b', 'c']]);
  });

  it('with a zero window, settles the items of one event-loop turn together', async () => {
    const source = new Subject<string>();
    const { batches, settle } = recorder();
    const out = lastValueFrom(source.pipe(settleInBatches(settle, 0, 100, 10), toArray()));
    source.next('a');
    source.next('b');
    await nextTurn();
    source.next('c');
    source.complete();

    await expect(out).resolves.toEqual(['a', 'b', 'c']);
    expect(batches).toEqual([['a', 'b'], ['c']]);
  });

  it('gathers items that arrive while a batch is in flight and sends them together right after', async () => {
    const source = new Subject<string>();
    const gate = new Latch();
    const { batches, settle } = recorder(async (_b, call) => (call === 1 ? gate.wait().then(() => []) : []));
    const out = lastValueFrom(source.pipe(settleInBatches(settle, 0, 100, 10), toArray()));
    source.next('a');
    await nextTurn();
    source.next('b');
    source.next('c');
    source.complete();
    await nextTurn();
    expect(batches).toEqual([['a']]);
    gate.open();

    await expect(out).resolves.toEqual(['a', 'b', 'c']);
    expect(batches).toEqual([['a'], ['b', 'c']]);
  });

  it('splits a burst into batches of at most maxBatch', async () => {
    const source = new Subject<number>();
    const batches: number[][] = [];
    const out = lastValueFrom(
      source.pipe(
        settleInBatches(async (b) => (batches.push(b), []), 50, 2, 10),
        toArray(),
      ),
    );
    [1, 2, 3, 4, 5].forEach((n) => source.next(n));
    source.complete();

    await expect(out).resolves.toEqual([1, 2, 3, 4, 5]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('retries what the settle function hands back, emitting it only once settled', async () => {
    const source = new Subject<string>();
    const { batches, settle } = recorder((batch, call) => (call === 1 ? batch.filter((x) => x === 'b') : []));
    const out = lastValueFrom(source.pipe(settleInBatches(settle, 5, 100, 20), toArray()));
    source.next('a');
    source.next('b');
    source.complete();

    await expect(out).resolves.toEqual(['a', 'b']);
    expect(batches).toEqual([['a', 'b'], ['b']]);
  });

  it('retries a whole batch when the settle function throws', async () => {
    const source = new Subject<string>();
    const { batches, settle } = recorder((_b, call) => {
      if (call === 1) throw new Error('connection lost');
      return [];
    });
    const out = lastValueFrom(source.pipe(settleInBatches(settle, 5, 100, 10), toArray()));
    source.next('a');
    source.next('b');
    source.complete();

    await expect(out).resolves.toEqual(['a', 'b']);
    expect(batches).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });

  // Issue 15 item 10: a settle that failed every 500 ms forever used to say nothing at all.
  it('logs a settle function that throws, by default as an error, before retrying the batch', async () => {
    const logs = new RecordingLogger();
    Logger.overrideLogger(logs);
    try {
      const source = new Subject<string>();
      const { settle } = recorder((_b, call) => {
        if (call === 1) throw new Error('successor does not compute');
        return [];
      });
      const out = lastValueFrom(source.pipe(settleInBatches(settle, 5, 100, 10), toArray()));
      source.next('a');
      source.complete();
      await expect(out).resolves.toEqual(['a']);
    } finally {
      Logger.overrideLogger(false);
    }
    expect(logs.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'Settling a batch of 1 run(s) failed (successor does not compute); retrying it.',
    ]);
  });

  it('completes only after the source completed and every item is settled', async () => {
    const source = new Subject<string>();
    const gate = new Latch();
    const { settle } = recorder(() => gate.wait().then(() => []));
    let completed = false;
    const out = lastValueFrom(source.pipe(settleInBatches(settle, 0, 100, 10), toArray())).then((items) => {
      completed = true;
      return items;
    });
    source.next('a');
    source.complete();
    await sleep(20);
    expect(completed).toBe(false);
    gate.open();

    await expect(out).resolves.toEqual(['a']);
  });

  it('completes at once when the source completes empty, and passes source errors on', async () => {
    const empty = new Subject<string>();
    const none = lastValueFrom(
      empty.pipe(
        settleInBatches<string>(async () => [], 5, 10, 10),
        toArray(),
      ),
    );
    empty.complete();
    await expect(none).resolves.toEqual([]);

    const failing = new Subject<string>();
    const out = lastValueFrom(failing.pipe(settleInBatches<string>(async () => [], 5, 10, 10)));
    failing.error(new Error('source broke'));
    await expect(out).rejects.toThrow('source broke');
  });
});
