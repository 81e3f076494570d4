import { Slot, SlotAccountingError, Slots } from '../../lib/consumer/slots';

/** Takes `n` slots as a read or sweep does, and hands each to a delivery (Slots.adopt). */
function deliveries(slots: Slots, n: number): Slot[] {
  expect(slots.reserve(n)).toBe(n);
  return Array.from({ length: n }, () => slots.adopt());
}

/** Resolves true if whenFree() resolved before the end of the next turn of the event loop. */
async function wokeSoon(waiting: Promise<unknown>): Promise<boolean> {
  let woken = false;
  void waiting.then(() => (woken = true));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return woken;
}

describe('Slots', () => {
  it('reserves at most what is free and returns how many it took', () => {
    const slots = new Slots(3);
    expect(slots.reserve(2)).toBe(2);
    expect(slots.free).toBe(1);
    expect(slots.reserve(5)).toBe(1);
    expect(slots.reserve(1)).toBe(0);
    expect(slots.reserve(-1)).toBe(0);
    expect(slots.free).toBe(0);
  });

  it('a read holds every free slot and keeps only what it filled', () => {
    const slots = new Slots(4);
    slots.reserve(1);
    expect(slots.beginRead()).toBe(3);
    expect(slots.free).toBe(0);
    slots.endRead(2);
    expect(slots.free).toBe(1);
  });

  it('reads of several slot groups at once hold disjoint shares, each ended with its own hold', () => {
    const slots = new Slots(5);
    // Group reads capped at a share each (SlotGroupReads): together never more than the free slots.
    expect(slots.beginRead(2)).toBe(2);
    expect(slots.beginRead(2)).toBe(2);
    expect(slots.beginRead(2)).toBe(1);
    expect(slots.free).toBe(0);
    slots.endRead(1, 2);
    expect(slots.free).toBe(1);
    slots.endRead(0, 1);
    expect(slots.free).toBe(2);
    // Ending a hold twice would free slots another read still holds.
    expect(() => slots.endRead(0, 3)).toThrow(SlotAccountingError);
    slots.endRead(2, 2);
    expect(slots.free).toBe(2);
  });

  it('lets a sweep claim beside a blocked read, up to the capacity of held runs', () => {
    const slots = new Slots(2);
    slots.beginRead();
    // An idle worker always sits in a read: reclaim must still be able to take work.
    expect(slots.reserve(5)).toBe(2);
    slots.endRead(1);
    expect(slots.free).toBe(0);
    slots.release(3);
    expect(slots.free).toBe(2);
  });

  it('throws, instead of freeing another delivery’s slot, when more is released than held', () => {
    const slots = new Slots(2);
    slots.reserve(1);
    expect(() => slots.release(2)).toThrow(SlotAccountingError);
    expect(slots.free).toBe(1); // nothing was freed
    slots.release(1);
    expect(() => slots.release()).toThrow(SlotAccountingError);
  });

  it('whenFree() waits for a release while every slot is taken', async () => {
    const slots = new Slots(1);
    slots.reserve(1);
    let woken = false;
    const waiting = slots.whenFree().then(() => (woken = true));
    await Promise.resolve();
    expect(woken).toBe(false);
    slots.release();
    await waiting;
    expect(woken).toBe(true);
  });

  it('whenFree() waits while a read holds the slots, and wakes when the read ends unfilled', async () => {
    const slots = new Slots(1);
    slots.beginRead();
    let woken = false;
    const waiting = slots.whenFree().then(() => (woken = true));
    await Promise.resolve();
    expect(woken).toBe(false);
    slots.endRead(0);
    await waiting;
    expect(woken).toBe(true);
  });

  it('whenFree() resolves at once when a slot is free, and for every waiter after close()', async () => {
    const slots = new Slots(1);
    await expect(slots.whenFree()).resolves.toBeUndefined();
    slots.reserve(1);
    const waiters = [slots.whenFree(), slots.whenFree()];
    slots.close();
    await expect(Promise.all(waiters)).resolves.toHaveLength(2);
    await expect(slots.whenFree()).resolves.toBeUndefined();
    expect(slots.free).toBe(0);
  });
});

describe("Slot: one delivery's slot, freed exactly once", () => {
  it('runs held -> finished -> settled, and a delivery dropped before running frees its slot', () => {
    const slots = new Slots(2);
    const [run, dropped] = deliveries(slots, 2);
    expect(slots.free).toBe(0);
    dropped.release();
    expect(slots.free).toBe(1);
    run.finish();
    expect(slots.free).toBe(2);
    run.settled();
    expect(slots.free).toBe(2);
  });

  it.each([
    ['released twice', (s: Slot) => (s.release(), s.release())],
    ['finished twice', (s: Slot) => (s.finish(), s.finish())],
    ['settled twice', (s: Slot) => (s.finish(), s.settled(), s.settled())],
    ['released after it finished', (s: Slot) => (s.finish(), s.release())],
    ['settled before it finished', (s: Slot) => s.settled()],
  ])('throws when %s, leaving the other deliveries’ slots held', (_label, misuse) => {
    const slots = new Slots(3);
    const [slot, other] = deliveries(slots, 2);
    expect(() => misuse(slot)).toThrow(SlotAccountingError);
    // The repeat freed nothing of the other delivery's: it still holds its slot and frees it once.
    const free = slots.free;
    other.release();
    expect(slots.free).toBe(free + 1);
  });

  it('a delivery cannot be admitted without a held slot', () => {
    const slots = new Slots(1);
    expect(() => slots.adopt()).toThrow(SlotAccountingError);
  });
});

describe('settle back-pressure: finished runs waiting for their settle bound the reads', () => {
  it('stops offering slots at twice the capacity of unsettled runs, and resumes as they settle', async () => {
    const slots = new Slots(2);
    // At most 3 x capacity outstanding (running or waiting for their settle): 6 finished runs.
    const unsettled: Slot[] = [];
    for (let round = 0; round < 3; round++) {
      expect(slots.free).toBe(2);
      for (const slot of deliveries(slots, 2)) {
        slot.finish();
        unsettled.push(slot);
      }
    }
    // Nothing runs, yet nothing may be read: Redis is not keeping up with the settles.
    expect(slots.free).toBe(0);
    expect(slots.beginRead()).toBe(0);
    slots.endRead(0);
    const waiting = slots.whenFree();
    expect(await wokeSoon(waiting)).toBe(false);

    unsettled.shift()!.settled();

    expect(await wokeSoon(waiting)).toBe(true);
    expect(slots.free).toBe(1);
    unsettled.forEach((slot) => slot.settled());
    expect(slots.free).toBe(2);
  });

  it('a read in flight counts against the bound too', () => {
    const slots = new Slots(2);
    for (const slot of deliveries(slots, 2)) slot.finish();
    for (const slot of deliveries(slots, 2)) slot.finish();
    expect(slots.free).toBe(2);
    expect(slots.beginRead()).toBe(2);
    expect(slots.free).toBe(0);
    slots.endRead(1);
    expect(slots.free).toBe(1); // 1 running and 4 unsettled: 5 of the 6 outstanding
  });
});
