import { RAW_IN_JSON, unicodeEscaped } from '../terminal-unsafe';

/**
 * @internal `value` as the CLI's `--json` prints it. JSON.stringify escapes the C0 controls (ESC
 * among them) but writes DEL, the C1 controls and the invisible format characters as they are:
 * some terminals act on a C1 control as on its ESC form, and a bidirectional override reorders
 * what follows it, so text from Redis (a payload, a reason, a name) could drive or forge the
 * operator's terminal. They can only be inside strings, where `\uXXXX` (a pair of them past
 * U+FFFF) is the same character: the output is the same JSON, with nothing in it a terminal acts on.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(RAW_IN_JSON, unicodeEscaped);
}
