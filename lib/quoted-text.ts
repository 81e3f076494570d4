import { headOf } from './task/cut-text';
import { RAW_IN_JSON, unicodeEscaped } from './terminal-unsafe';

/**
 * @internal `text` as a message quotes it, for text anyone may have written (a key from a
 * request, a record read from Redis) in a message that is logged: JSON of its first `max`
 * characters (never half a surrogate pair; "…" after a cut), with every character a terminal
 * must not get raw escaped as JSON escapes the C0 controls. It parses back to what it quotes.
 */
export function quotedText(text: string, max = 40): string {
  return JSON.stringify(text.length > max ? `${headOf(text, max)}…` : text).replace(RAW_IN_JSON, unicodeEscaped);
}
