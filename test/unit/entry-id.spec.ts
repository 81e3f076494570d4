import { compareEntryIds, entryIdRange } from '../../lib/redis/entry-id';

describe('compareEntryIds', () => {
  it('orders by milliseconds, then sequence, numerically rather than as text', () => {
    const ids = ['10-0', '9-5', '9-10', '100-0', '9-9', '1795698008387-0', '1795698008387-12', '1795698008387-2'];
    expect([...ids].sort(compareEntryIds)).toEqual([
      '9-5',
      '9-9',
      '9-10',
      '10-0',
      '100-0',
      '1795698008387-0',
      '1795698008387-2',
      '1795698008387-12',
    ]);
  });

  it('treats equal ids as equal', () => {
    expect(compareEntryIds('5-1', '5-1')).toBe(0);
  });

  it('finds the lowest and highest id in one pass', () => {
    expect(entryIdRange(['9-10', '100-0', '9-9', '10-0'])).toEqual(['9-9', '100-0']);
    expect(entryIdRange(['7-1'])).toEqual(['7-1', '7-1']);
  });
});
