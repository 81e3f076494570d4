import { createInterface } from 'node:readline/promises';

/** @internal A terminal's input, as process.stdin is one (isTTY set only on a terminal). */
export type TerminalInput = NodeJS.ReadableStream & { isTTY?: boolean };

/**
 * @internal Asks `question` on the terminal: true on "y" or "yes"; false on any other answer, on
 * Ctrl+D or Ctrl+C at the question (readline rejects: a no, not a failure), and without a terminal.
 */
export async function confirmOnTerminal(
  question: string,
  input: TerminalInput,
  output: NodeJS.WritableStream,
): Promise<boolean> {
  if (!input.isTTY) return false;
  const rl = createInterface({ input, output });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } catch (error) {
    if ((error as Error)?.name !== 'AbortError') throw error;
    output.write('\n');
    return false;
  } finally {
    rl.close();
  }
}
