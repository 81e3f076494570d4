/** DEL, the C1 controls (CSI U+009B, OSC U+009D...) and the Unicode line separators. */
// eslint-disable-next-line no-control-regex
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * @internal `value` as the CLI's `--json` prints it. JSON.stringify escapes the C0 controls (ESC
 * among them) but writes DEL and the C1 controls as they are, and some terminals act on a C1
 * control as on its ESC form: text from Redis (a payload, a reason, a name) could drive the
 * operator's terminal. They can only be inside strings, where `\uXXXX` is the same character:
 * the output is the same JSON, with nothing in it a terminal acts on.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    RAW_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
