import { FleetEventRepeats } from '../../lib/client/fleet-event-repeats';

describe('FleetEventRepeats', () => {
  it('drops a mark seen before, per publisher', () => {
    const repeats = new FleetEventRepeats();
    expect(repeats.repeated('a:1')).toBe(false);
    expect(repeats.repeated('b:1')).toBe(false);
    expect(repeats.repeated('a:1')).toBe(true);
    expect(repeats.repeated('a:2')).toBe(false);
  });

  it('delivers a reordered mark once, and forgets a mark 4 096 marks of its publisher later', () => {
    const repeats = new FleetEventRepeats();
    for (let n = 1; n <= 10_000; n++) if (n !== 9_000) expect(repeats.repeated(`p:${n}`)).toBe(false);
    expect(repeats.repeated('p:9000')).toBe(false); // arrived late, not seen: delivered
    expect(repeats.repeated('p:9000')).toBe(true);
    expect(repeats.repeated('p:9999')).toBe(true);
    // What a mark claims decides nothing (anyone can write one): a resend after a long cut
    // was dropped for being far behind the newest number, and is now delivered again.
    expect(repeats.repeated('p:10')).toBe(false);
  });

  it('lets an unmarked or malformed mark through (a worker of an older version, a foreign publisher)', () => {
    const repeats = new FleetEventRepeats();
    for (const mark of [undefined, 5, 'x', ':1', 'a:', `${'a'.repeat(70)}:1`]) {
      expect(repeats.repeated(mark)).toBe(false);
      expect(repeats.repeated(mark)).toBe(false);
    }
  });

  it('takes any token as a mark: a repeat of a worker of an older version (numbered) or of today (drawn)', () => {
    const repeats = new FleetEventRepeats();
    for (const mark of ['a:0', 'a:-1', 'a:1.5', `a:${'9'.repeat(20)}`, 'pub:Vx3_k-Q9aZ0b']) {
      expect(repeats.repeated(mark)).toBe(false);
      expect(repeats.repeated(mark)).toBe(true);
    }
  });

  it("drops none of a publisher's new marks after a forged one far ahead or of an unknown publisher", () => {
    const repeats = new FleetEventRepeats();
    expect(repeats.repeated('p:1')).toBe(false);
    expect(repeats.repeated(`p:${Number.MAX_SAFE_INTEGER}`)).toBe(false);
    expect(repeats.repeated(`q:${Number.MAX_SAFE_INTEGER}`)).toBe(false);
    for (let n = 2; n <= 5_000; n++) expect(repeats.repeated(`p:${n}`)).toBe(false);
    expect(repeats.repeated('p:5000')).toBe(true);
  });

  it('forgets, but never drops, the marks a flood of forged ones pushes out', () => {
    const repeats = new FleetEventRepeats();
    expect(repeats.repeated('p:genuine')).toBe(false);
    for (let n = 0; n < 4_096; n++) repeats.repeated(`p:forged-${n}`);
    for (let n = 0; n < 1_024; n++) repeats.repeated(`other-${n}:1`);
    expect(repeats.repeated('p:genuine')).toBe(false); // a resend now delivered twice: the cost
    expect(repeats.repeated('p:next')).toBe(false);
  });

  it('remembers 65 536 marks in all, however many publishers write them', () => {
    const repeats = new FleetEventRepeats();
    for (let n = 0; n < 65_536; n++) repeats.repeated(`p${n % 64}:${n}`);
    expect(repeats.repeated('p0:0')).toBe(true); // all remembered up to the bound
    expect(repeats.repeated('p1:1')).toBe(true);
    expect(repeats.repeated('q:1')).toBe(false); // one more: the oldest of the least recent (p2) forgotten
    expect(repeats.repeated('p2:66')).toBe(true);
    expect(repeats.repeated('p3:3')).toBe(true);
    expect(repeats.repeated('p2:2')).toBe(false);
  });
});
