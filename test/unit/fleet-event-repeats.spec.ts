import { FleetEventRepeats } from '../../lib/client/fleet-event-repeats';

describe('FleetEventRepeats', () => {
  it('drops a mark seen before, per publisher', () => {
    const repeats = new FleetEventRepeats();
    expect(repeats.repeated('a:1')).toBe(false);
    expect(repeats.repeated('b:1')).toBe(false);
    expect(repeats.repeated('a:1')).toBe(true);
    expect(repeats.repeated('a:2')).toBe(false);
  });

  it('delivers a reordered mark within the window once, and drops one far behind the newest', () => {
    const repeats = new FleetEventRepeats();
    for (let n = 1; n <= 10_000; n++) if (n !== 9_000) expect(repeats.repeated(`p:${n}`)).toBe(false);
    expect(repeats.repeated('p:9000')).toBe(false); // arrived late, not seen: delivered
    expect(repeats.repeated('p:9000')).toBe(true);
    expect(repeats.repeated('p:9999')).toBe(true);
    expect(repeats.repeated('p:10')).toBe(true); // a resend after a long cut
  });

  it('lets an unmarked or malformed mark through (a worker of an older version, a foreign publisher)', () => {
    const repeats = new FleetEventRepeats();
    for (const mark of [
      undefined,
      5,
      'x',
      ':1',
      'a:0',
      'a:-1',
      'a:1.5',
      `a:${'9'.repeat(20)}`,
      `${'a'.repeat(70)}:1`,
    ]) {
      expect(repeats.repeated(mark)).toBe(false);
      expect(repeats.repeated(mark)).toBe(false);
    }
  });
});
