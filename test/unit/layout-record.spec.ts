import { PartitionLayoutError } from '../../lib/errors';
import { layoutOf, layoutRefusal, refusedByFrozenLayout } from '../../lib/partitions/layout-record';

describe('layout records and refusals as the scripts write them', () => {
  it('reads a count and a change under way; nothing a script does not write', () => {
    expect(layoutOf('3')).toEqual({ from: 3, to: 3, switching: false });
    expect(layoutOf('1>2')).toEqual({ from: 1, to: 2, switching: true });
    for (const foreign of ['x', '0', '2000>1', '1>', ' 1', '1>2>3']) expect(layoutOf(foreign)).toBeUndefined();
  });

  it('parses a refusal once, for the error the caller sees and for the frozen-record check', () => {
    const frozen = new Error('LAYOUT 1>2 2');
    expect(layoutRefusal(frozen)).toEqual({ stored: '1>2', count: 2 });
    expect(refusedByFrozenLayout(frozen)).toBe(true);
    const stale = PartitionLayoutError.fromReply('q', new Error('LAYOUT 3 2'));
    expect(stale).toBeInstanceOf(PartitionLayoutError);
    expect(stale).toMatchObject({ stored: '3', configured: 2 });
    expect(refusedByFrozenLayout(new Error('LAYOUT 3 2'))).toBe(false);
  });

  it('takes a record anyone SET, spaces included, as stored, and never as a change under way', () => {
    expect(layoutRefusal(new Error('LAYOUT a b>c 4'))).toEqual({ stored: 'a b>c', count: 4 });
    expect(refusedByFrozenLayout(new Error('LAYOUT a b>c 4'))).toBe(false);
    expect(refusedByFrozenLayout(new Error('LAYOUT 2000>1 1'))).toBe(false);
    expect(refusedByFrozenLayout(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      false,
    );
    expect(refusedByFrozenLayout('LAYOUT 1>2 2')).toBe(false);
    expect(PartitionLayoutError.fromReply('q', new Error('ERR other'))).toEqual(new Error('ERR other'));
  });
});
