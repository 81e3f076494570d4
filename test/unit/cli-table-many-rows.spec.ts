import { table } from '../../lib/cli/table';

/**
 * `inspect` prints a row per consumer of each queue, and anyone who can write to Redis can
 * create consumers (XGROUP CREATECONSUMER, one command each). table() took each column's width as
 * Math.max(...cells) over all rows: an argument per row, and past about 120,000 rows V8 throws
 * "Maximum call stack size exceeded", so `inspect` of a queue given 200,000 consumers printed no
 * table at all (exit 1). The widths are now taken row by row. A review finding; the test failed.
 */
describe('attack: a CLI table of 200,000 rows', () => {
  it('is printed, each column as wide as its widest cell', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [`consumer-${i}`, i % 7]);
    const lines = table(['CONSUMER', 'HOLDS'], rows).split('\n');
    expect([lines.length, lines[0], lines[1], lines.at(-1)]).toEqual([
      200_002,
      'CONSUMER         HOLDS',
      '---------------  -----',
      'consumer-199999  2',
    ]);
  });
});
