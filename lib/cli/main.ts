#!/usr/bin/env node
import { Redis } from 'ioredis';
import { createInterface } from 'node:readline/promises';
import { defineScripts } from '../redis/scripts';
import { parseArgs, USAGE, UsageError } from './cli-args';
import { EXIT, runCommand, type CliIo } from './cli-commands';

/** The `nest-stream-queue` bin: operate queues without a Nest app (see USAGE). */
async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`nest-stream-queue: ${error.message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  // No retries: an operator wants to hear at once that the address is wrong.
  const redis = new Redis(args.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (error) {
    const where = args.url.replace(/\/\/[^@/]*@/, '//***@');
    process.stderr.write(`nest-stream-queue: cannot reach Redis at ${where}: ${(error as Error).message}\n`);
    return EXIT.failed;
  }
  defineScripts(redis);
  const io: CliIo = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    confirm: async (question) => {
      if (!process.stdin.isTTY) return false;
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(question)).trim());
      } finally {
        rl.close();
      }
    },
  };
  try {
    return await runCommand(redis, args, io);
  } finally {
    redis.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`nest-stream-queue: ${error.message}\n`);
    process.exitCode = EXIT.failed;
  },
);
