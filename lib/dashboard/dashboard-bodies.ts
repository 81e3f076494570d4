import { HttpException, HttpStatus } from '@nestjs/common';
import { InvalidOptionError } from '../errors';
import type { DeadLetterBound } from '../interfaces';

/**
 * A `partition` from the query or body, as the listings gave it: absent is undefined, digits a
 * number; anything else goes through as it came, so the client's check refuses it (400) by name.
 */
export function partitionOf(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : (value as number);
}

/**
 * A write's JSON body as an object. Undefined when the app parses no JSON bodies (`bodyParser:
 * false`, a parser of other types): then the request is refused, never read as "nothing asked".
 */
export function bodyOf(body: unknown): Record<string, unknown> {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  throw new HttpException(
    {
      code: 'BODY_NOT_READ',
      message: 'The request body was not read as a JSON object (does the app parse JSON bodies?): nothing was changed.',
    },
    HttpStatus.BAD_REQUEST,
  );
}

/**
 * The bound of an action on all dead letters: the `upTo` of the dead-letter listing the page
 * showed (its `deadLetters`), so that one dead-lettered since stays. Required: a request without
 * it (a page loaded before the bound existed) would act on dead letters nobody was shown. Its
 * entries are checked by the client (checkBound), which names the one refused.
 */
function boundOf(upTo: unknown): DeadLetterBound['upTo'] {
  if (upTo === undefined)
    throw new InvalidOptionError(
      'upTo',
      "each partition's newest dead letter as the dead-letter listing gave it (its deadLetters.upTo; reload the page)",
      upTo,
    );
  return upTo as DeadLetterBound['upTo'];
}

/**
 * A purge names its dead letters (`ids`) or says `all: true` with the listing's bound (`upTo`):
 * no body purges everything by default.
 */
export function purgeOf(body: unknown): { ids?: string[]; partition?: number; upTo?: DeadLetterBound['upTo'] } {
  const { ids, all, partition, upTo } = bodyOf(body);
  if ((all === true) === (ids !== undefined))
    throw new InvalidOptionError('ids', 'dead-letter ids, or `all: true` instead (one of them)', ids ?? all);
  if (all === true) return { upTo: boundOf(upTo), partition: partitionOf(partition) };
  return { ids: ids as string[], partition: partitionOf(partition), upTo: upTo as undefined };
}

/** A redrive of all dead letters: those up to the listing's bound (`upTo`). */
export function redriveAllOf(body: unknown): { upTo: DeadLetterBound['upTo'] } {
  return { upTo: boundOf(bodyOf(body).upTo) };
}
