#!/usr/bin/env node
import type { Redis } from 'ioredis';
import { defineScripts } from '../redis/scripts';
import { parseArgs, USAGE, UsageError } from './cli-args';
import { EXIT, runCommand, type CliIo } from './cli-commands';
import { ConnectTimeoutError, connectCli } from './cli-connection';
import { confirmOnTerminal } from './terminal-confirm';

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
  const where = args.url.replace(/\/\/[^@/]*@/, '//***@');
  const late = `no answer within ${args.timeoutMs} ms`;
  let redis: Redis;
  try {
    redis = await connectCli(args.url, args.timeoutMs);
  } catch (error) {
    const why = isTimeout(error) ? late : (error as Error).message;
    process.stderr.write(`nest-stream-queue: cannot reach Redis at ${where}: ${why}\n`);
    return EXIT.failed;
  }
  defineScripts(redis);
  const io: CliIo = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    confirm: (question) => confirmOnTerminal(question, process.stdin, process.stderr),
  };
  try {
    return await runCommand(redis, args, io);
  } catch (error) {
    if (!isTimeout(error)) throw error;
    // The command may have run, its answer late: say so rather than "not changed".
    process.stderr.write(
      `nest-stream-queue: Redis at ${where} gave ${late}: what was sent may have been done (look before trying again)\n`,
    );
    return EXIT.failed;
  } finally {
    redis.disconnect();
  }
}

/** A wait past --timeout: ours while connecting, ioredis's connectTimeout or commandTimeout. */
function isTimeout(error: unknown): boolean {
  if (error instanceof ConnectTimeoutError) return true;
  return (error as Error)?.message === 'Command timed out' || (error as { code?: string })?.code === 'ETIMEDOUT';
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`nest-stream-queue: ${error.message}\n`);
    process.exitCode = EXIT.failed;
  },
);
