import { PayloadError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Payloads are data: whatever text they hold is never evaluated, keys such as "__proto__" and
 * "constructor" stay own data properties (no prototype pollution, in the handler or in result()),
 * and the size limit holds at the producer.
 */

const POLLUTION_PROBES = ['polluted', 'isAdmin', 'sqPolluted'] as const;

function expectPrototypesClean(): void {
  for (const name of POLLUTION_PROBES) {
    expect(Object.prototype).not.toHaveProperty(name);
    expect(({} as Record<string, unknown>)[name]).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain(name);
  }
  expect(Array.prototype).not.toHaveProperty('polluted');
}

describe('payloads are data', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ prefix, options: { maxPayloadBytes: 4_096 } });
  });
  afterAll(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
    await closeAll();
    expectPrototypesClean();
  });

  it('code-like strings reach the handler verbatim and are never run', async () => {
    const strings = [
      'process.exit(1)',
      "require('child_process').execSync('kill -9 ' + process.pid)",
      '${process.exit(1)}',
      '{{constructor.constructor("process.exit(1)")()}}',
      "'); redis.call('FLUSHALL'); --",
      ']]; redis.call("FLUSHALL") --[[',
      "return redis.call('FLUSHALL')",
    ];
    const canary = `${prefix}-canary`;
    await redis.set(canary, 'still here'); // a FLUSHALL smuggled into a script would remove it
    try {
      for (const text of strings) {
        const handle = await t.client.enqueue('echo', text);
        await expect(handle.result({ timeoutMs: 3_000 })).resolves.toBe(text);
      }
      const seen = t.probe.runsOf('echo').map((r) => r.payload);
      expect(seen).toEqual(strings);
      expect(await redis.get(canary)).toBe('still here');
    } finally {
      await redis.del(canary);
    }
  });

  it('"__proto__" and "constructor" keys are own data of the payload: nothing is polluted', async () => {
    // JSON.parse makes "__proto__" an own property; an object literal would set the prototype instead.
    const payload = JSON.parse(
      '{"__proto__":{"polluted":"yes","isAdmin":true},"constructor":{"prototype":{"sqPolluted":"yes"}},"nested":{"__proto__":{"polluted":"deep"}}}',
    ) as Record<string, unknown>;
    const handle = await t.client.enqueue('echo', payload);
    const result = (await handle.result({ timeoutMs: 3_000 })) as Record<string, unknown>;

    const [run] = t.probe.runsOf('echo').slice(-1);
    const seen = run.payload as Record<string, unknown>;
    for (const received of [seen, result]) {
      expect(Object.getPrototypeOf(received)).toBe(Object.prototype);
      expect(Object.prototype.hasOwnProperty.call(received, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(received, '__proto__')?.value).toEqual({ polluted: 'yes', isAdmin: true });
      expect(received.polluted).toBeUndefined(); // not inherited from a replaced prototype
      expect(received.isAdmin).toBeUndefined();
      expect(received.constructor).toEqual({ prototype: { sqPolluted: 'yes' } });
      const nested = received.nested as Record<string, unknown>;
      expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
      expect(nested.polluted).toBeUndefined();
    }
    expectPrototypesClean();
  });

  it('an entry written around the producer with a "__proto__" payload also arrives as plain data', async () => {
    const id = `raw-${Date.now()}`;
    await redis.xadd(t.keys.stream, '*', 'id', id, 'n', 'echo', 'p', '{"__proto__":{"polluted":"raw"},"a":1}');
    const run = await waitFor(() => t.probe.runs.find((r) => r.ctx.id === id), { description: 'the raw entry run' });
    const seen = run.payload as Record<string, unknown>;
    expect(seen.a).toBe(1);
    expect(seen.polluted).toBeUndefined();
    expect(Object.getPrototypeOf(seen)).toBe(Object.prototype);
    expectPrototypesClean();
  });

  it('the size limit holds at the producer: one byte over maxPayloadBytes is refused, nothing written', async () => {
    // JSON of a string is the string plus two quotes: 4094 characters encode to exactly 4096 bytes.
    const atLimit = 'x'.repeat(4_094);
    await waitFor(async () => (await redis.xlen(t.keys.stream)) === 0, { description: 'earlier entries settled' });
    await expect(t.client.enqueue('once', `${atLimit}y`)).rejects.toThrow(PayloadError);
    // Multi-byte characters count in bytes, not characters: 1366 × "€" (3 bytes) + quotes > 4096.
    await expect(t.client.enqueue('once', '€'.repeat(1_366))).rejects.toThrow(/exceed maxPayloadBytes \(4096\)/);
    expect(await redis.xlen(t.keys.stream)).toBe(0);
    const handle = await t.client.enqueue('once', atLimit);
    await expect(handle.result({ timeoutMs: 3_000 })).resolves.toBe(atLimit);
  });
});
