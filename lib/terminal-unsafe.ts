/**
 * What text read from Redis must not reach the operator's terminal raw, beyond the C0 controls:
 * DEL and the C1 controls (some terminals act on CSI U+009B as on ESC[), Unicode's format
 * characters (category Cf: the bidirectional overrides and isolates U+202A-U+202E and
 * U+2066-U+2069, which reorder the rest of a line, Trojan-Source style, and the zero-width ones,
 * which hide text) and the line and paragraph separators.
 */
const ABOVE_C0 = '\\u007f-\\u009f\\p{Cf}\\u2028\\u2029';

/**
 * @internal Every character a terminal must not get raw: the C0 controls (escape sequences, \r,
 * \b) and ABOVE_C0. Unicode-aware: a tag character (U+E0000 block) is one match of two units.
 */
export const TERMINAL_UNSAFE = new RegExp(`[\\u0000-\\u001f${ABOVE_C0}]`, 'gu');

/** @internal Those JSON.stringify writes raw inside strings (it escapes the C0 controls itself). */
export const RAW_IN_JSON = new RegExp(`[${ABOVE_C0}]`, 'gu');

/** @internal `chars` as `\uXXXX` escapes, one per UTF-16 unit (a pair past U+FFFF): the same text in JSON. */
export function unicodeEscaped(chars: string): string {
  return Array.from({ length: chars.length }, (_, i) => `\\u${chars.charCodeAt(i).toString(16).padStart(4, '0')}`).join(
    '',
  );
}
