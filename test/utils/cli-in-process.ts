import type { Redis } from 'ioredis';
import { parseArgs } from '../../lib/cli/cli-args';
import { runCommand, type CliIo } from '../../lib/cli/cli-commands';

/**
 * Runs a CLI command line in this process, as the bin would (no environment read), answering its
 * confirmation with `answer`: the exit code, what it printed to out and err, and the question it asked.
 */
export async function runCliInProcess(
  redis: Redis,
  argv: string[],
  answer: boolean,
): Promise<{ code: number; out: string; err: string; question?: string }> {
  let out = '';
  let err = '';
  let question: string | undefined;
  const io: CliIo = {
    out: (s) => (out += `${s}\n`),
    err: (s) => (err += `${s}\n`),
    confirm: async (asked) => ((question = asked), answer),
  };
  const code = await runCommand(redis, parseArgs(argv, {}), io);
  return { code, out, err, question };
}
