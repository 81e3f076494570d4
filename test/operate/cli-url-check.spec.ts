import { parseArgs } from '../../lib/cli/cli-args';
import { spawnCli } from '../utils/cli-bin';

/**
 * The CLI checked --url for its scheme only, so a URL ioredis (Node's legacy url.parse) misreads
 * got through: with an unencoded "#" in a password ioredis dialled the wrong host and Node's
 * DEP0170 warning printed the whole URL, password included. The CLI now runs the module's own
 * URL check (a review finding; the bin case failed).
 */
describe('CLI --url that ioredis would misread', () => {
  it('refuses a password holding "#" as a bad command line (exit 2) without printing the password', async () => {
    const result = await spawnCli('dlq', 'list', '--url', 'redis://ops:Sup3rSecret#42@127.0.0.1:1', '--prefix', 'x');
    expect({ code: result.code, leaksPassword: `${result.out}${result.err}`.includes('Sup3rSecret') }).toEqual({
      code: 2,
      leaksPassword: false,
    });
    expect(result.err).toMatch(/"--url".*%23/);
  }, 60_000);

  it('names STREAM_QUEUE_URL when the URL came from there', () => {
    expect(() => parseArgs(['inspect'], { STREAM_QUEUE_URL: 'redis://ops:pw#1@h' })).toThrow(/"STREAM_QUEUE_URL"/);
  });
});
