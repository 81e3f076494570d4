import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { InvalidOptionError } from '../../lib';
import { buildApp, captureConsole, closeHostileApps, renderings, within } from '../fixtures/hostile-tasks';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';
import { spawnWorker } from '../utils/spawn-worker';

/*
 * A connection URL that ioredis would misread fails bootstrap before ioredis sees it. With an
 * unencoded "#" in the password, Node's legacy url.parse (which ioredis uses) cuts the URL at
 * the "#", prints a warning that holds the password, and ioredis connects to localhost:6379.
 */
describe('a connection URL with an unencoded "#" in its password', () => {
  afterEach(closeHostileApps);

  it('fails bootstrap with a redacted InvalidOptionError: no output, no log line and no connection', async () => {
    const secret = `s3cret-${randomUUID()}`;
    const url = `redis://queue-app:${secret}#x@127.0.0.1:6399`;
    const written: string[] = [];
    const writes = [process.stderr, process.stdout].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      }),
    );
    const connects = jest.spyOn(Socket.prototype, 'connect');
    const consoleCapture = captureConsole();
    const logger = new RecordingLogger();
    let error: unknown;
    try {
      const app = await buildApp(testOptions(randomPrefix(), { connection: { url }, worker: false }), { logger });
      await within(app.init(), 5_000, 'bootstrap');
    } catch (e) {
      error = e;
    } finally {
      // Node prints a warning, and ioredis opens its socket, on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      writes.forEach((spy) => spy.mockRestore());
      consoleCapture.restore();
    }
    const sockets = connects.mock.calls.map((args) => JSON.stringify(args[0]));
    connects.mockRestore();

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('connection.url');
    expect((error as Error).message).toContain('"#" must be percent-encoded as %23');
    const seen = {
      error: renderings(error),
      written,
      console: consoleCapture.lines,
      logs: logger.lines.map((l) => l.message),
    };
    for (const [where, lines] of Object.entries(seen)) {
      expect({ where, leaks: lines.filter((line) => line.includes(secret)) }).toEqual({ where, leaks: [] });
    }
    expect(sockets).toEqual([]);
  });

  // Jest's sandbox does not deliver process 'warning' events: a process of its own does.
  it('in a process of its own: no warning event, nothing on stderr, no socket opened', async () => {
    const secret = `s3cret-${randomUUID()}`;
    const child = await spawnWorker('test/security/fixtures/url-bootstrap.ts', {
      env: { SQ_URL: `redis://queue-app:${secret}#x@127.0.0.1:6399` },
      ready: /^\{/,
    });
    await child.exited;
    const report = JSON.parse(child.stdout.find((line) => line.startsWith('{'))!) as {
      error?: { name: string; rendered: string };
      warnings: string[];
      connects: unknown[];
    };
    expect(report.error?.name).toBe('InvalidOptionError');
    expect(report.warnings).toEqual([]);
    expect(child.stderr.filter((line) => line.includes(secret))).toEqual([]);
    expect(child.stdout.filter((line) => line.includes(secret))).toEqual([]);
    expect(report.connects).toEqual([]);
  });
});
