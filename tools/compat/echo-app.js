// Boots the installed package in a Nest application context and runs one task end to end:
// @Task('compat.echo') handler, QueueClient.enqueue, handle.result(). Plain CommonJS on purpose: NestJS 12
// is ESM-only and reaches a CommonJS app through Node's require(esm), which is what this proves.
//
// Run from a directory whose node_modules holds the Nest / ioredis versions under test, with REDIS_URL set:
//   EXPECT_NEST_MAJOR=12 EXPECT_IOREDIS_MAJOR=6 node echo-app.js [package specifier, default nest-stream-queue]
// No TypeScript, so decorators are applied with Reflect.decorate, as tsc's output does.
'use strict';
require('reflect-metadata');
const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const { dirname } = require('node:path');

const DEADLINE_MS = 60_000;
const EXIT_GRACE_MS = 5_000;
const specifier = process.argv[2] || 'nest-stream-queue';

function fail(message) {
  console.error(`compat check FAILED: ${message}`);
  process.exit(1);
}

const deadline = setTimeout(() => fail(`no result within ${DEADLINE_MS} ms`), DEADLINE_MS);

/** The version of `name` as the package under test resolves it, so a nested copy cannot fool the check. */
function versionSeenByPackage(name) {
  const from = dirname(require.resolve(specifier));
  return require(require.resolve(`${name}/package.json`, { paths: [from] })).version;
}

function expectMajor(name, envVar) {
  const version = versionSeenByPackage(name);
  const expected = process.env[envVar];
  if (expected && version.split('.')[0] !== expected) {
    fail(`${specifier} resolves ${name}@${version}, expected major ${expected}`);
  }
  return version;
}

async function main() {
  const url = process.env.REDIS_URL;
  if (!url) fail('REDIS_URL is not set');
  const nestVersion = expectMajor('@nestjs/core', 'EXPECT_NEST_MAJOR');
  expectMajor('@nestjs/common', 'EXPECT_NEST_MAJOR');
  const ioredisVersion = expectMajor('ioredis', 'EXPECT_IOREDIS_MAJOR');

  const { Injectable, Module } = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const { StreamQueueModule, Task, QueueClient } = require(specifier);
  const prefix = `sq-compat-${randomUUID()}`;

  class EchoService {
    echo(payload) {
      return payload;
    }
  }
  const echo = Reflect.decorate(
    [Task('compat.echo')],
    EchoService.prototype,
    'echo',
    Object.getOwnPropertyDescriptor(EchoService.prototype, 'echo'),
  );
  if (echo) Object.defineProperty(EchoService.prototype, 'echo', echo);
  Reflect.decorate([Injectable()], EchoService);

  /** One task end to end on `connection`, in an app of its own. */
  async function echoOn(connection) {
    class AppModule {}
    Reflect.decorate(
      [Module({ imports: [StreamQueueModule.forRoot({ connection, prefix })], providers: [EchoService] })],
      AppModule,
    );
    const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
    try {
      const payload = { hello: 'compat', n: 42, list: [1, 'two', null], nested: { ok: true } };
      const handle = await app.get(QueueClient).enqueue('compat.echo', payload);
      assert.equal(typeof handle.id, 'string', 'enqueue() returned a handle without an id');
      const value = await handle.result({ timeoutMs: 10_000 });
      assert.deepEqual(value, payload, 'the task result differs from its payload');
    } finally {
      await app.close();
    }
  }

  try {
    await echoOn({ url });
    // A client of the ioredis under test handed in: the module reaches it through a view that
    // marks its own commands (lib/redis/module-client.ts), which leans on ioredis's internals.
    const client = new (ioredisClass())(url);
    try {
      await echoOn(client);
      assert.equal(await client.ping(), 'PONG', 'the client handed in no longer answers after app.close()');
    } finally {
      client.disconnect();
    }
  } finally {
    await deleteKeys(url, prefix);
  }
  clearTimeout(deadline);
  console.log(
    `compat check ok: @nestjs/core ${nestVersion}, ioredis ${ioredisVersion} (by URL and handed in), node ${process.version}`,
  );
  // app.close() must release every connection and timer: a process that lingers has leaked one.
  setTimeout(
    () => fail(`process still alive ${EXIT_GRACE_MS} ms after app.close(): a handle leaked`),
    EXIT_GRACE_MS,
  ).unref();
}

/** The Redis class of the ioredis under test (the one the package resolves). */
function ioredisClass() {
  const ioredis = require(require.resolve('ioredis', { paths: [dirname(require.resolve(specifier))] }));
  return ioredis.Redis ?? ioredis.default ?? ioredis;
}

/** Removes the run's keys with the ioredis under test (one more proof that it works). */
async function deleteKeys(url, prefix) {
  const Redis = ioredisClass();
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    for (const match of [`{${prefix}:*`, `${prefix}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
