import { TERMINAL_UNSAFE, unicodeEscaped } from '../terminal-unsafe';
import { cutText } from '../task/cut-text';

/** @internal The most characters of one piece of entry text a log line quotes (ids, names, keys fit). */
export const LOG_TEXT_MAX = 1_024;

/**
 * @internal Text a worker's log line quotes from a stream entry, or from what a handler threw:
 * anyone can XADD, so it is cut past `max` characters (cutText), and every character a terminal
 * or a log collector must not get raw (TERMINAL_UNSAFE: a newline would start a forged record, an
 * ESC sequence or a bidirectional override would drive or reorder the terminal) is written as its
 * `\uXXXX` escape. One entry stays one line.
 */
export function logText(text: string, max = LOG_TEXT_MAX): string {
  return cutText(text, max).replace(TERMINAL_UNSAFE, unicodeEscaped);
}
