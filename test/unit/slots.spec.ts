import { Slots } from '../../lib/consumer/slots';

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

  it('never releases below zero held', () => {
    const slots = new Slots(2);
    slots.reserve(1);
    slots.release(5);
    expect(slots.free).toBe(2);
    expect(slots.reserve(3)).toBe(2);
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
