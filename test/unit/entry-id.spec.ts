import { compareEntryIds } from '../../lib/redis/entry-id';

describe('compareEntryIds', () => {
  it('orders by milliseconds, then sequence, numerically rather than as text', () => {
    const ids = ['10-0', '9-5', '9-10', '100-0', '9-9', '1795698008387-0', '1795698008387-12', '1795698008387-2'];
    expect([...ids].sort(compareEntryIds)).toEqual(['9-5', '9-9', '9-10', '10-0', '100-0', '1795698008387-0', '1795698008387-2', '1795698008387-12']);
  });

  it('treats equal ids as equal', () => {
    expect(compareEntryIds('5-1', '5-1')).toBe(0);
  });
});
