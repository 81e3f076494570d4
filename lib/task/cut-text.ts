/** The marker cutText appends: how long the text was. */
const cutMarker = (length: number) => `… [cut: ${length} characters]`;

/**
 * @internal `text` at most `max` characters, then a marker saying how long it was: for text of
 * any size (an error message, a foreign entry's field) sent or stored where its size multiplies.
 */
export function cutText(text: string, max: number): string {
  return text.length <= max ? text : `${headOf(text, max)}${cutMarker(text.length)}`;
}

/**
 * @internal `text`'s first `max` characters (UTF-16 units), one fewer where the last would be the
 * first half of a surrogate pair: a cut never leaves half a character (a lone surrogate, which
 * a terminal shows as U+FFFD and UTF-8 cannot carry).
 */
export function headOf(text: string, max: number): string {
  return text.slice(0, /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max);
}

/**
 * @internal The longest text cutText(…, max) returns, whatever it was given: `max` characters
 * and the marker of the longest length a number can say exactly.
 */
export function longestCut(max: number): number {
  return max + cutMarker(Number.MAX_SAFE_INTEGER).length;
}
