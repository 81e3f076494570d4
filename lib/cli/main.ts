#!/usr/bin/env node
import type { Redis } from 'ioredis';
import { redactUrl } from '../redis/connection-check';
import { disconnect } from '../redis/disconnect';
import { defineScripts } from '../redis/scripts';
import { parseArgs, USAGE, UsageError } from './cli-args';
import { EXIT, howToLook, runCommand, type CliIo } from './cli-commands';
import { connectCli, unanswered } from './cli-connection';
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
  // Masked as the module's messages mask it: the user part up to the last "@", and every query
  // value (ioredis reads `?password=` as the password).
  const where = redactUrl(args.url);
  const late = `no answer within ${args.timeoutMs} ms`;
  let redis: Redis;
  try {
    redis = await connectCli(args.url, args.timeoutMs);
  } catch (error) {
    const why = unanswered(error) === 'late' ? late : (error as Error).message;
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
    const why = unanswered(error);
    if (!why) throw error;
    // The command may have run, its answer late or lost with the connection: say so, and how to
    // look, rather than "not changed" or ioredis's bare "Connection is closed.".
    const what =
      why === 'late'
        ? `Redis at ${where} gave ${late}`
        : `the connection to Redis at ${where} closed before the answer (${(error as Error).message})`;
    const look = howToLook(args.command);
    process.stderr.write(
      `nest-stream-queue: ${what}: what was sent may have been done (look before trying again${look ? `: ${look}` : ''})\n`,
    );
    return EXIT.failed;
  } finally {
    // Lost, it has ended already.
    disconnect(redis);
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`nest-stream-queue: ${error.message}\n`);
    process.exitCode = EXIT.failed;
  },
);
