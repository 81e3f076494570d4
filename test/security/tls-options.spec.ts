import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { QueueClient } from '../../lib';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { QueueKeys } from '../../lib/redis/keys';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { buildApp, closeHostileApps, within } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { freePort } from '../utils/free-port';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * TLS settings reach every connection the module makes: the command connection, the ones it
 * derives (blocking reads, pub/sub) and the heartbeat's, which lives in a worker thread and is
 * rebuilt there from a structured-clone copy of the options (Buffers such as a CA survive it,
 * functions do not). First at the level of options, then against a redis-server that only
 * speaks TLS on the port the app is given, with a certificate signed by a CA of the test's own.
 */

const CA = Buffer.from(
  '-----BEGIN CERTIFICATE-----\nnot a real CA, only bytes that must arrive intact\n-----END CERTIFICATE-----\n',
);
const CERT = Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x00, 0xff]);

describe('TLS options', () => {
  afterEach(closeHostileApps);
  afterAll(closeAll);

  describe('passed through to ioredis (no TLS server needed)', () => {
    /** A producer that never connects (lazyConnect), so the options are all that is tested. */
    async function connectionsOf(connection: ReturnType<typeof testOptions>['connection']): Promise<RedisConnections> {
      const app = await buildApp(testOptions(randomPrefix(), { connection, worker: false }));
      return app.moduleRef.get(RedisConnections);
    }

    it('rediss:// URL with options.tls: the command connection, its duplicates and the heartbeat options carry them', async () => {
      const tls = {
        ca: CA,
        cert: CERT,
        servername: 'queue.internal',
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2' as const,
      };
      const connections = await connectionsOf({
        url: 'rediss://queue.internal:6390',
        options: { tls, lazyConnect: true },
      });
      const options = connections.commands.options;
      expect(options).toMatchObject({ host: 'queue.internal', port: 6390 });
      expect(options.tls).toMatchObject({
        servername: 'queue.internal',
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
      });
      expect(Buffer.isBuffer(options.tls?.ca) && (options.tls.ca as Buffer).equals(CA)).toBe(true);

      const derived = connections.dedicated('test');
      try {
        expect(Buffer.from(derived.options.tls!.ca as Buffer).equals(CA)).toBe(true);
        expect(derived.options.tls?.servername).toBe('queue.internal');
      } finally {
        derived.disconnect();
      }

      // What the heartbeat thread is given, after the structured clone a Worker applies.
      const transferable = connections.transferableOptions();
      const received = structuredClone(transferable);
      expect(received).toMatchObject({ host: 'queue.internal', port: 6390 });
      expect(received.tls).toMatchObject({
        servername: 'queue.internal',
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
      });
      expect(Buffer.from(received.tls!.ca as Uint8Array).equals(CA)).toBe(true);
      expect(Buffer.from(received.tls!.cert as Uint8Array).equals(CERT)).toBe(true);
    });

    it('RedisOptions with tls: the same, and a bare rediss:// URL turns TLS on', async () => {
      const viaOptions = await connectionsOf({
        host: '127.0.0.1',
        port: 6391,
        tls: { ca: [CA], servername: 'redis-a' },
        lazyConnect: true,
      });
      expect((viaOptions.commands.options.tls!.ca as Buffer[])[0].equals(CA)).toBe(true);
      const clone = structuredClone(viaOptions.transferableOptions());
      expect(Buffer.from((clone.tls!.ca as Uint8Array[])[0]).equals(CA)).toBe(true);
      expect(clone.tls?.servername).toBe('redis-a');

      const bare = await connectionsOf({ url: 'rediss://127.0.0.1:6392', options: { lazyConnect: true } });
      expect(bare.commands.options.tls).toBeTruthy();
      expect(structuredClone(bare.transferableOptions()).tls).toBeTruthy();
    });
  });

  describe('against a TLS-only port', () => {
    let server: RedisServerHandle;
    let tlsPort: number;
    let dir: string;
    let ca: Buffer;
    let admin: Redis;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sq-tls-'));
      makeCertificates(dir);
      ca = readFileSync(join(dir, 'ca.crt'));
      tlsPort = await freePort();
      // The plain port stays open for the harness's readiness check and for `admin`; the app is
      // only ever given the TLS port, where a plain-text connection cannot work.
      server = await startRedisServer({
        args: [
          '--tls-port',
          String(tlsPort),
          '--tls-cert-file',
          join(dir, 'server.crt'),
          '--tls-key-file',
          join(dir, 'server.key'),
          '--tls-ca-cert-file',
          join(dir, 'ca.crt'),
          '--tls-auth-clients',
          'no',
        ],
      });
      admin = createRedis({}, server.url);
    });
    afterAll(async () => {
      await closeAll();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** The consumer's liveness key is written only by the heartbeat thread: it proves that thread's TLS. */
    async function expectHeartbeat(app: Awaited<ReturnType<typeof buildApp>>, prefix: string): Promise<void> {
      const alive = new QueueKeys(prefix, 'default').alive(app.moduleRef.get(ConsumerHost).consumerName);
      await waitFor(async () => (await admin.exists(alive)) === 1, {
        timeoutMs: 3_000,
        description: `liveness key ${alive}`,
      });
      // And it is renewed: its TTL goes back up after it ran down a little.
      const first = await admin.pttl(alive);
      await waitFor(async () => (await admin.pttl(alive)) > first, {
        timeoutMs: 3_000,
        description: 'the liveness key renewed',
      });
    }

    it('a worker with the CA as a Buffer runs tasks, and its heartbeat thread connects over TLS too', async () => {
      const prefix = randomPrefix();
      const app = await buildApp(
        testOptions(prefix, { connection: { url: `rediss://127.0.0.1:${tlsPort}`, options: { tls: { ca } } } }),
      );
      await within(app.init(), 5_000, 'bootstrap over TLS');
      const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'over tls');
      await expect(handle.result({ timeoutMs: 3_000 })).resolves.toBe('over tls');
      await expectHeartbeat(app, prefix);
    });

    it('without the CA the connection is refused (the options above are what made it work)', async () => {
      const app = await buildApp(
        testOptions(randomPrefix(), {
          connection: { url: `rediss://127.0.0.1:${tlsPort}`, options: { tls: {}, maxRetriesPerRequest: 0 } },
          worker: false,
          retryAttempts: 0,
        }),
      );
      await expect(within(app.init(), 5_000, 'bootstrap with an untrusted certificate')).rejects.toThrow(
        /could not be reached after 1 attempt .*: self-signed certificate/,
      );
    });

    // Functions cannot cross to the worker thread, so a TLS option given as a function (here the
    // common `checkServerIdentity` for a certificate whose name is not the host dialled) is lost
    // there. The heartbeat must still work, or bootstrap must fail saying why: a worker that runs
    // tasks without a heartbeat is presumed dead by every other worker, which reclaim its tasks
    // while it is still running them.
    it('a checkServerIdentity function: the heartbeat still beats, or bootstrap fails naming it', async () => {
      const prefix = randomPrefix();
      // The certificate names 127.0.0.1 and localhost, not the name verified here: only the
      // application's checkServerIdentity accepts it.
      const tls = { ca, servername: 'elsewhere.example', checkServerIdentity: () => undefined };
      const app = await buildApp(testOptions(prefix, { connection: { host: '127.0.0.1', port: tlsPort, tls } }));
      const outcome = await within(app.init(), 5_000, 'bootstrap with checkServerIdentity').then(
        () => undefined,
        (error: Error) => error,
      );
      if (outcome) {
        expect(outcome.message).toMatch(/checkServerIdentity|heartbeat/);
        return;
      }
      await expectHeartbeat(app, prefix);
    });
  });
});

/** A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost (EC keys: fast). */
function makeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=sq-test-ca');
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
}
