import { compareEntryIds, endBefore, entryIdRange, parseEntryId, startPast } from '../../lib/redis/entry-id';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';

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

describe('parseEntryId', () => {
  it('accepts each part up to 2^64-1, in canonical form', () => {
    expect(parseEntryId('1700000000000-0')).toBe('1700000000000-0');
    expect(parseEntryId('007-010')).toBe('7-10');
    expect(parseEntryId(LAST_ENTRY_ID)).toBe(LAST_ENTRY_ID);
  });

  it('refuses what Redis refuses: a part past 2^64-1, other shapes', () => {
    for (const text of [
      '18446744073709551616-0',
      '0-18446744073709551616',
      '99999999999999999999-0',
      '1',
      '1-',
      '-1',
      'a-1',
      1,
    ])
      expect(parseEntryId(text)).toBeUndefined();
  });
});

describe('exclusive range bounds', () => {
  it('start past an id, or nothing past the largest one', () => {
    expect([startPast(undefined), startPast('5-1'), startPast(LAST_ENTRY_ID)]).toEqual(['-', '(5-1', undefined]);
  });

  it('end before an id, or nothing before 0-0', () => {
    expect([endBefore(undefined), endBefore('5-1'), endBefore('0-0')]).toEqual(['+', '(5-1', undefined]);
  });
});
