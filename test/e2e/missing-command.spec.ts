import { Redis } from 'ioredis';
import { MissingCommandError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps, rejectionOf, within } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { MonitorConnection } from '../utils/monitor-connection';
import { randomPrefix } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

const BOUND_MS = 15_000;

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

// Review finding: the partition layout step began at the command connection's 'ready', beside the
// command check, so a process that was to fail that check had already read the layout record (and
// could go on to freeze partitions for a count change) on a Redis it then refused.
describe('a Redis lacking a command, where the partition count changes', () => {
  let server: RedisServerHandle;
  let monitor: MonitorConnection | undefined;
  beforeAll(async () => {
    // SUBSCRIBE: no script uses it, so nothing but the check itself stops the layout step.
    server = await startRedisServer({ args: ['--rename-command', 'SUBSCRIBE', ''] });
  });
  afterEach(async () => {
    await closeHostileApps();
    monitor?.disconnect();
  });
  afterAll(() => server.stop());

  it('sends no command of the layout step before the command check refused Redis', async () => {
    const prefix = randomPrefix();
    monitor = await MonitorConnection.open(server.url);
    const marker = `${prefix}:after-init`;
    const touched: string[][] = [];
    const sawMarker = new Promise<void>((resolve) =>
      monitor!.on('monitor', (_time: string, args: string[]) => {
        if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) return resolve();
        // A key of the queue, a script's (EVALSHA's keys) included.
        if (args.some((arg) => arg.includes(prefix))) touched.push(args);
      }),
    );
    // Stored with 1 partition (no record), configured with 2: the step would freeze partitions.
    const app = await buildApp(
      testOptions(prefix, {
        connection: { url: server.url },
        retryAttempts: 0,
        queues: { default: { partitions: 2 } },
      }),
    );
    const error = await rejectionOf(app.init(), BOUND_MS, 'the init, SUBSCRIBE missing');
    expect(error).toBeInstanceOf(MissingCommandError);
    expect(error).toMatchObject({ command: 'subscribe' });

    // Everything the init sent came before this.
    const own = new Redis(server.port);
    try {
      await own.echo(marker);
      await within(sawMarker, BOUND_MS, 'the marker in MONITOR');
      expect(touched).toEqual([]);
      await expect(own.get(new QueueKeys(prefix, 'default').layout)).resolves.toBeNull();
    } finally {
      own.disconnect();
    }
  });
});
