/** A UTF-16 surrogate without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * @internal Whether `text` survives the trip to Redis unchanged: ioredis sends strings as UTF-8,
 * where a lone surrogate becomes U+FFFD, so two keys or groups that differ only there would
 * become one (one key's dedupe, one group's limit, for two tenants).
 */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}
