/** The marker cutText appends: how long the text was. */
const cutMarker = (length: number) => `… [cut: ${length} characters]`;

/**
 * @internal `text` at most `max` characters, then a marker saying how long it was: for text of
 * any size (an error message, a foreign entry's field) sent or stored where its size multiplies.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  // Not between the two halves of a surrogate pair: the kept text stays well-formed.
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max;
  return `${text.slice(0, end)}${cutMarker(text.length)}`;
}

/**
 * @internal The longest text cutText(…, max) returns, whatever it was given: `max` characters
 * and the marker of the longest length a number can say exactly.
 */
export function longestCut(max: number): number {
  return max + cutMarker(Number.MAX_SAFE_INTEGER).length;
}
