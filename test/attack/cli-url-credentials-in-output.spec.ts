import { spawnCli } from '../utils/cli-bin';

/**
 * The CLI named the Redis it could not reach by its --url with the part between "//" and the
 * first "@" masked: a password in the query (`?password=`, which ioredis reads as its password
 * option) was printed whole, and of a password holding a raw "@" (which both URL parsers take
 * up to the last "@") the part after its first "@" was printed. It now masks the URL as the
 * module's messages do (redactUrl). A review finding; both cases failed.
 */
describe('attack: the CLI names the Redis it cannot reach', () => {
  it.each([
    ['a password in the query', 'redis://127.0.0.1:1/0?username=ops&password=Sup3rSecret42', '127.0.0.1:1'],
    ['a password holding a raw "@"', 'redis://ops:pre@Sup3rSecret42@127.0.0.1:1', '127.0.0.1:1'],
  ])(
    'with %s, prints no part of the password',
    async (_case, url, host) => {
      const result = await spawnCli('dlq', 'list', '--url', url, '--prefix', 'x');
      expect({ code: result.code, out: result.out }).toEqual({ code: 1, out: '' });
      expect(result.err).toContain(`cannot reach Redis at redis://`);
      expect(result.err).toContain(host);
      expect(result.err).not.toContain('Sup3rSecret42');
    },
    60_000,
  );
});
