import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { QueueClient } from '../../lib';
import { buildApp, captureConsole, closeHostileApps, rejectionOf, renderings, within } from '../fixtures/hostile-tasks';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Credentials never leak: not in an error the module hands back, not in anything it (or ioredis
 * under it) logs, whether the password is wrong or the connection to a server that requires one
 * is lost and restored. Every secret is a fresh random string, so a match can only be a leak.
 */

const BOUND_MS = 5_000;
const USER = 'queue-app';

describe('credentials', () => {
  const serverPassword = `server-secret-${randomUUID()}`;
  let server: RedisServerHandle;
  let consoleCapture: ReturnType<typeof captureConsole>;

  beforeAll(async () => {
    // The harness's readiness check PINGs without credentials, so the default user's password
    // (what `--requirepass` sets) is set once the server is up. The ACL user `queue-app` is part
    // of the arguments, so it survives the restart in the last test.
    server = await startRedisServer({ args: ['--user', USER, 'on', `>${serverPassword}`, '~*', '&*', '+@all'] });
    const admin = createRedis({}, server.url);
    await admin.config('SET', 'requirepass', serverPassword);
    await admin.quit();
  });
  beforeEach(() => {
    consoleCapture = captureConsole();
  });
  afterEach(async () => {
    await closeHostileApps();
    consoleCapture.restore();
  });
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  /** Fails naming where `secret` appeared, if it appears anywhere in `texts`. */
  function expectNoSecret(secret: string, texts: Record<string, string[]>): void {
    for (const [where, lines] of Object.entries(texts)) {
      const leaks = lines.filter((line) => line.includes(secret));
      expect({ where, leaks }).toEqual({ where, leaks: [] });
    }
  }

  const urlWith = (password: string, username = '') =>
    `redis://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${server.port}`;

  describe('a wrong password', () => {
    const wrong = `wrong-secret-${randomUUID()}`;

    const forms: [string, () => ReturnType<typeof testOptions>['connection']][] = [
      ['in the URL', () => ({ url: urlWith(wrong) })],
      ['in RedisOptions', () => ({ host: '127.0.0.1', port: server.port, password: wrong })],
      [
        'with a username, in url options',
        () => ({ url: `redis://127.0.0.1:${server.port}`, options: { username: USER, password: wrong } }),
      ],
      ['with a username, in the URL', () => ({ url: urlWith(wrong, USER) })],
    ];

    /** A producer with `connection`; its bootstrap's rejection and everything logged meanwhile. */
    async function enqueueWith(
      connection: ReturnType<typeof testOptions>['connection'],
    ): Promise<{ error: Error; logs: string[] }> {
      const logger = new RecordingLogger();
      // One retry: its attempt is logged, with the reason, before bootstrap gives up.
      const options = testOptions(randomPrefix(), { connection, worker: false, retryAttempts: 1, retryDelay: 10 });
      const app = await buildApp(options, { logger });
      const error = await rejectionOf(app.init(), BOUND_MS, 'producer bootstrap with a wrong password');
      // Give the module's connection logger a reconnect cycle to say what it says.
      await waitFor(() => logger.lines.some((l) => /WRONGPASS/.test(l.message)), {
        description: 'the connection failure logged',
      });
      return { error, logs: logger.lines.map((l) => l.message) };
    }

    it.each(forms)(
      '%s: bootstrap fails with WRONGPASS; the password is in no error message and no log line',
      async (_label, connection) => {
        const { error, logs } = await enqueueWith(connection());
        expect(error.message).toMatch(/WRONGPASS/);
        const shown = [error.message, String(error), String(error.stack)];
        expectNoSecret(wrong, { error: shown, logs, console: consoleCapture.lines });
        expectNoSecret(serverPassword, { error: shown, logs, console: consoleCapture.lines });
      },
    );

    // What an application's logger prints for the rejection: Nest's and pino's serialisers, like
    // util.inspect, include the error's own properties. ioredis attaches the failed command to
    // its ReplyError, here AUTH with its arguments.
    it.each(forms)(
      '%s: the rejected error object, as a logger serialises it, does not carry the password',
      async (_label, connection) => {
        const { error } = await enqueueWith(connection());
        expectNoSecret(wrong, {
          'util.inspect(error)': [inspect(error, { depth: 5 })],
          'JSON of its own properties': [JSON.stringify({ ...error })],
        });
      },
    );

    it('a worker fails bootstrap with WRONGPASS; the password is in no error message, no log line, no console output', async () => {
      const logger = new RecordingLogger();
      const options = testOptions(randomPrefix(), {
        connection: { url: urlWith(wrong) },
        retryAttempts: 1,
        retryDelay: 10,
      });
      const app = await buildApp(options, { logger });
      const error = await rejectionOf(app.init(), BOUND_MS, 'worker bootstrap with a wrong password');
      expect(error.message).toMatch(/WRONGPASS/);
      const shown = [error.message, String(error), String(error.stack)];
      expectNoSecret(wrong, { error: shown, logs: logger.lines.map((l) => l.message), console: consoleCapture.lines });
      // As an application's logger would print the bootstrap failure (see above).
      expectNoSecret(wrong, { 'util.inspect(error)': [inspect(error, { depth: 5 })] });
    });
  });

  it('losing and regaining the connection logs both transitions, never the password', async () => {
    const logger = new RecordingLogger();
    const app = await buildApp(testOptions(randomPrefix(), { connection: { url: urlWith(serverPassword, USER) } }), {
      logger,
    });
    await app.init();
    const client = app.moduleRef.get(QueueClient);
    await expect((await client.enqueue('echo', 'before')).result({ timeoutMs: 3_000 })).resolves.toBe('before');

    await server.kill('SIGKILL');
    await waitFor(() => logger.warnings().some((w) => /lost/.test(w)), { description: 'a connection-lost warning' });
    // An enqueue during the outage fails (or waits for the reconnect); either way it settles.
    const during = client.enqueue('echo', 'during').then(
      () => undefined,
      (error: Error) => error,
    );
    await server.restart();
    await waitFor(() => logger.lines.some((l) => /restored/.test(l.message)), {
      timeoutMs: 10_000,
      description: 'a connection-restored log',
    });
    const duringError = await within(during, 10_000, 'enqueue across the outage');
    await expect((await client.enqueue('echo', 'after')).result({ timeoutMs: 3_000 })).resolves.toBe('after');

    const lines = logger.lines.map((l) => l.message);
    expect(lines.some((l) => l.includes(`127.0.0.1:${server.port}`) || /ECONNREFUSED|Connection|closed/i.test(l))).toBe(
      true,
    );
    expectNoSecret(serverPassword, {
      logs: lines,
      console: consoleCapture.lines,
      error: duringError ? renderings(duringError) : [],
    });
  });
});
