import fc from 'fast-check';
import type Redis from 'ioredis';
import { QueueClient, StreamQueueError, type EnqueueItem } from '../../lib';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix } from '../utils/redis';

/*
 * Bad arguments to enqueue / enqueueMany / replace / cancel / status / handle, drawn by
 * fast-check, one bad thing per call among otherwise valid arguments: each call fails with a
 * StreamQueueError whose stable `code` (and, for options, `option`) names what is wrong, and
 * nothing reaches Redis: the private server stays empty (DBSIZE 0) and no message is published.
 */

const MAX_PAYLOAD = 256;
/** SQ_FUZZ_RUNS=5000 for a deeper search; the default keeps the file around a second. */
const RUNS = { numRuns: Number(process.env.SQ_FUZZ_RUNS ?? 250) };

type Expected = { code: 'INVALID_OPTION'; option: string } | { code: 'INVALID_PAYLOAD' } | { code: 'UNKNOWN_TASK' };
interface BadCall {
  readonly label: string;
  readonly invoke: (client: QueueClient) => unknown;
  readonly expected: Expected;
}

const REGISTERED = ['echo', 'flaky', 'doomed', 'slow', 'once'];
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const show = (value: unknown): string => {
  try {
    return typeof value === 'symbol' || typeof value === 'bigint' ? String(value) : fc.stringify(value);
  } catch {
    return '(unprintable)';
  }
};

// ---- valid parts -----------------------------------------------------------------------------
const validName = fc.constantFrom('echo', 'once');
const validPayload = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 40 }),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
const validKey = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' });

// ---- bad parts, each with what the error must say ----------------------------------------------
const nonString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.object(),
  fc.array(fc.string()),
  fc.constant(Symbol('s')),
  fc.constant(() => 'echo'),
);

const badName: fc.Arbitrary<[unknown, Expected]> = fc.oneof(
  nonString.map((v): [unknown, Expected] => [v, { code: 'INVALID_OPTION', option: 'name' }]),
  fc
    .string({ maxLength: 140, unit: 'binary' })
    .filter((s) => !NAME.test(s))
    .map((v): [unknown, Expected] => [v, { code: 'INVALID_OPTION', option: 'name' }]),
  fc
    .constantFrom('{sq:default}', 'a b', '', 'x'.repeat(129), 'echo\n', 'é')
    .map((v): [unknown, Expected] => [v, { code: 'INVALID_OPTION', option: 'name' }]),
  fc
    .stringMatching(NAME)
    .filter((s) => !REGISTERED.includes(s))
    .map((v): [unknown, Expected] => [v, { code: 'UNKNOWN_TASK' }]),
);

const circular = (): unknown => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
};
const badPayload: fc.Arbitrary<unknown> = fc.oneof(
  fc.bigInt(),
  fc.bigInt().map((b) => ({ nested: [1, { deep: b }] })),
  fc.constant(null).map(circular),
  fc.constant(() => 1),
  fc.constant(Symbol('payload')),
  fc.constant({
    toJSON: () => {
      throw new Error('toJSON refuses');
    },
  }),
  fc.constant({
    get boom(): unknown {
      throw new Error('getter throws');
    },
  }),
  fc.string({ minLength: MAX_PAYLOAD - 1, maxLength: 4 * MAX_PAYLOAD }), // plus two quotes: over the limit
  fc.array(fc.integer(), { minLength: MAX_PAYLOAD / 2, maxLength: MAX_PAYLOAD }),
  fc.constant('€'.repeat(90)), // 90 characters, 272 bytes: the limit counts bytes
);

const badKey: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 1025, maxLength: 1100 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.object(),
  fc.array(fc.string(), { minLength: 1 }),
  fc.bigInt(),
);

const badDelay: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ max: -1 }),
  fc.double({ noInteger: true }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, 1e300, -0.5, Number.NaN, Number.POSITIVE_INFINITY),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt(),
  fc.object(),
);

const badRunAt: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(new Date(Number.NaN)),
  fc.integer({ max: 0 }),
  fc.double({ noInteger: true }),
  fc.constant(new Date(0)),
  fc.constant(new Date(-1_000)),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.object(),
);

const badQueue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 140 }).filter((s) => !NAME.test(s)),
  fc.constantFrom('{other}', 'a}b', 'q*', ''),
  fc.integer(),
  fc.constant(null),
  fc.object(),
);

const notAnObject: fc.Arbitrary<unknown> = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null));

const invalid = (option: string): Expected => ({ code: 'INVALID_OPTION', option });

// ---- bad calls ---------------------------------------------------------------------------------
/** The arguments of an enqueue or replace call, with one bad among them. */
interface BadArgs {
  readonly label: string;
  readonly args: readonly [name: unknown, payload: unknown, options: unknown];
  readonly expected: Expected;
}

/** enqueue / replace arguments with exactly one bad argument or option. */
function badEnqueueArgs(method: 'enqueue' | 'replace', { asItem = false } = {}): fc.Arbitrary<BadArgs> {
  return fc.tuple(validName, validPayload, validKey).chain(([name, payload, key]) => {
    const base = method === 'replace' ? { key } : {};
    const bad = (label: string, args: BadArgs['args'], expected: Expected): BadArgs => ({
      label: `${method}(${label})`,
      args,
      expected,
    });
    return fc.oneof(
      badName.map(([n, expected]) => bad(`name=${show(n)}`, [n, payload, base], expected)),
      badPayload.map((p) => bad(`payload=${show(p)}`, [name, p, base], { code: 'INVALID_PAYLOAD' })),
      badKey.map((k) => bad(`key=${show(k)}`, [name, payload, { ...base, key: k }], invalid('key'))),
      badDelay.map((d) => bad(`delayMs=${show(d)}`, [name, payload, { ...base, delayMs: d }], invalid('delayMs'))),
      badRunAt.map((r) => bad(`runAt=${show(r)}`, [name, payload, { ...base, runAt: r }], invalid('runAt'))),
      fc
        .integer({ min: 1, max: 1_000_000 })
        .map((d) =>
          bad(
            `runAt and delayMs ${d}`,
            [name, payload, { ...base, runAt: Date.now() + 60_000, delayMs: d }],
            invalid('runAt'),
          ),
        ),
      badQueue.map((q) => bad(`queue=${show(q)}`, [name, payload, { ...base, queue: q }], invalid('queue'))),
      method === 'replace'
        ? fc
            .oneof(notAnObject, fc.constant({}), fc.constant({ delayMs: 5 }))
            .map((o) => bad(`options=${show(o)}`, [name, payload, o], invalid('key')))
        : // An item's `options: null` means "no options" in enqueueMany (`item.options ?? {}`).
          notAnObject
            .filter((o) => !asItem || o !== null)
            .map((o) => bad(`options=${show(o)}`, [name, payload, o], invalid('options'))),
      method === 'replace'
        ? fc
            .constantFrom<unknown>('5s', 1_000)
            .map((every) =>
              bad(`every=${show(every)} on a non-periodic key`, [name, payload, { ...base, every }], invalid('every')),
            )
        : fc.constant(bad('every on a plain key', [name, payload, { key, every: '5s' }], invalid('every'))),
    );
  });
}

const badEnqueueLike = (method: 'enqueue' | 'replace'): fc.Arbitrary<BadCall> =>
  badEnqueueArgs(method).map(({ label, args: [name, payload, options], expected }) => ({
    label,
    invoke: (c: QueueClient) =>
      (c[method] as (n: unknown, p: unknown, o: unknown) => Promise<unknown>)(name, payload, options),
    expected,
  }));

/** enqueueMany with one bad item (or a bad list) among valid ones. */
const badEnqueueMany: fc.Arbitrary<BadCall> = fc
  .tuple(
    fc.array(fc.record({ name: validName, payload: validPayload }), { maxLength: 5 }),
    fc.nat(),
    badEnqueueArgs('enqueue', { asItem: true }),
  )
  .chain(([valid, at, bad]) => {
    const i = at % (valid.length + 1);
    const withItem = (item: unknown): unknown[] => [...valid.slice(0, i), item, ...valid.slice(i)];
    const [name, payload, options] = bad.args;
    return fc.oneof(
      fc.constant<BadCall>({
        label: `enqueueMany(items[${i}] = ${bad.label})`,
        invoke: (c) => c.enqueueMany(withItem({ name, payload, options }) as EnqueueItem[]),
        // An invalid option is named at its item: items[i].name, items[i].options, items[i].options.delayMs.
        expected:
          'option' in bad.expected
            ? invalid(
                ['name', 'options'].includes(bad.expected.option)
                  ? `items[${i}].${bad.expected.option}`
                  : `items[${i}].options.${bad.expected.option}`,
              )
            : bad.expected,
      }),
      notAnObject
        .filter((v) => v !== null)
        .map((v) => ({
          label: `enqueueMany(${show(v)})`,
          invoke: (c: QueueClient) => c.enqueueMany(v as never),
          expected: invalid('items'),
        })),
      fc.oneof(notAnObject, fc.constant(undefined)).map((v) => ({
        label: `enqueueMany(items[${i}]=${show(v)})`,
        invoke: (c: QueueClient) => c.enqueueMany(withItem(v) as EnqueueItem[]),
        expected: invalid(`items[${i}]`),
      })),
    );
  });

/** cancel / status / handle with a bad key, queue or id. */
const badKeyedRead: fc.Arbitrary<BadCall> = fc.oneof(
  ...(['cancel', 'status'] as const).flatMap((method) => [
    badKey.map((k) => ({
      label: `${method}(${show(k)})`,
      invoke: (c: QueueClient) => c[method](k as string),
      expected: invalid('key'),
    })),
    fc.tuple(validKey, badQueue).map(([k, q]) => ({
      label: `${method}(key, { queue: ${show(q)} })`,
      invoke: (c: QueueClient) => c[method](k, { queue: q as string }),
      expected: invalid('queue'),
    })),
  ]),
  fc
    .oneof(
      nonString.filter((v) => typeof v !== 'string'),
      fc.constant(''),
    )
    .map((id) => ({
      label: `handle(${show(id)})`,
      invoke: (c: QueueClient) => c.handle(id as string),
      expected: invalid('id'),
    })),
  fc
    .tuple(
      badKey.filter((k) => k !== undefined),
      badQueue,
    )
    .chain(([k, q]) =>
      fc.constantFrom<BadCall>(
        {
          label: `handle(id, { key: ${show(k)} })`,
          invoke: (c) => c.handle('some-id', { key: k as string }),
          expected: invalid('key'),
        },
        {
          label: `handle(id, { queue: ${show(q)} })`,
          invoke: (c) => c.handle('some-id', { queue: q as string }),
          expected: invalid('queue'),
        },
      ),
    ),
);

describe('enqueue-side arguments, fuzzed: a typed error and nothing written', () => {
  let server: RedisServerHandle;
  let admin: Redis;
  let subscriber: Redis;
  let client: QueueClient;
  const published: string[] = [];
  const prefix = randomPrefix();

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
    subscriber = createRedis({}, server.url);
    await subscriber.psubscribe('*');
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) =>
      published.push(`${channel} ${message}`),
    );
    // A producer-only app with the probe tasks registered: unknown names are refused, nothing consumes.
    const app = await buildApp(
      testOptions(prefix, { connection: { url: server.url }, worker: false, maxPayloadBytes: MAX_PAYLOAD }),
    );
    await app.init();
    client = app.moduleRef.get(QueueClient);
  });
  afterAll(async () => {
    await closeHostileApps();
    await closeAll();
    await server.stop();
  });

  /** Runs the call (a throw or a rejection), checks the error, then that Redis is untouched. */
  async function expectRefusedCleanly(call: BadCall): Promise<void> {
    let error: unknown;
    try {
      await call.invoke(client);
    } catch (thrown) {
      error = thrown;
    }
    // Keys first, and always cleaned: each run (and fast-check's shrinking) starts from empty.
    const written = await admin.keys('*');
    if (written.length > 0) await admin.flushall();
    const problems: string[] = [];
    if (!(error instanceof StreamQueueError)) {
      problems.push(`expected a StreamQueueError, got ${error === undefined ? 'success' : show(error)}`);
    } else {
      const got = {
        code: error.code,
        ...('option' in call.expected ? { option: (error as { option?: string }).option } : {}),
      };
      if (JSON.stringify(got) !== JSON.stringify(call.expected)) {
        problems.push(`expected ${JSON.stringify(call.expected)}, got ${JSON.stringify(got)} (${error.message})`);
      } else if ('option' in call.expected && !error.message.includes(`"${call.expected.option}"`)) {
        problems.push(`the message does not name "${call.expected.option}": ${error.message}`);
      }
    }
    if (written.length > 0) problems.push(`key(s) written: ${written.join(', ')}`);
    if (problems.length > 0) throw new Error(`${call.label}: ${problems.join('; ')}`);
  }

  beforeEach(async () => {
    await admin.flushall();
    published.length = 0;
  });
  afterEach(() => {
    expect(published).toEqual([]);
  });

  it('enqueue: every bad argument throws a typed error and writes nothing', async () => {
    await fc.assert(fc.asyncProperty(badEnqueueLike('enqueue'), expectRefusedCleanly), RUNS);
  });

  it('replace: every bad argument throws a typed error and writes nothing', async () => {
    await fc.assert(fc.asyncProperty(badEnqueueLike('replace'), expectRefusedCleanly), RUNS);
  });

  it('enqueueMany: one bad item among valid ones writes none of them', async () => {
    await fc.assert(fc.asyncProperty(badEnqueueMany, expectRefusedCleanly), RUNS);
  });

  it('cancel, status and handle: every bad key or option throws a typed error and writes nothing', async () => {
    await fc.assert(fc.asyncProperty(badKeyedRead, expectRefusedCleanly), RUNS);
  });

  // `options` defaults only when undefined: null (from a JSON body, say) must be refused as a
  // bad option, not crash on `null.queue` with a TypeError.
  it.each<[string, (c: QueueClient) => unknown, string]>([
    ['cancel(key, null)', (c) => c.cancel('k', null as never), 'options'],
    ['status(key, null)', (c) => c.status('k', null as never), 'options'],
    ['handle(id, null)', (c) => c.handle('id', null as never), 'options'],
    [
      'enqueueMany([{ name, payload, options: "x" }])',
      (c) => c.enqueueMany([{ name: 'echo', payload: 1, options: 'x' as never }]),
      'items[0].options',
    ],
  ])('%s is refused with an InvalidOptionError naming the options', async (label, invoke, option) => {
    await expectRefusedCleanly({ label, invoke, expected: invalid(option) });
  });

  it('valid calls do write (the checks above can see a write), each key under the prefix, whatever the task key', async () => {
    await fc.assert(
      fc.asyncProperty(validName, validPayload, validKey, fc.boolean(), async (name, payload, key, delayed) => {
        await client.enqueue(name, payload, { key, ...(delayed ? { delayMs: 60_000 } : {}) });
        const keys = await admin.keys('*');
        expect(keys.length).toBeGreaterThan(0);
        expect(keys.filter((k) => !k.startsWith(`{${prefix}:`))).toEqual([]);
        await admin.flushall();
      }),
      { numRuns: 40 },
    );
    await client.enqueue('echo', 1, { delayMs: 60_000 }); // a delayed task publishes "due"
    await admin.flushall();
    expect(published.length).toBeGreaterThan(0);
    published.length = 0;
  });
});
