import { MissingCommandError } from '../../lib';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

// A Redis whose scripting is turned off (a renamed command, as some providers do): bootstrap says so.
describe('a Redis lacking a command the queue needs', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer({ args: ['--rename-command', 'EVALSHA', ''] });
  });
  afterEach(closeHostileApps);
  afterAll(() => server.stop());

  it('fails bootstrap with MissingCommandError naming the command and the node', async () => {
    const app = await buildApp(testOptions(randomPrefix(), { connection: { url: server.url }, retryAttempts: 0 }));
    const error = await app.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MissingCommandError);
    expect(error).toMatchObject({ code: 'MISSING_COMMAND', command: 'evalsha', address: `127.0.0.1:${server.port}` });
    expect((error as Error).message).toMatch(/EVALSHA/);
  });
});
