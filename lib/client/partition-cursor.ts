import { InvalidOptionError } from '../errors';
import type { ListedState, PageOptions } from '../interfaces';
import { checkPage, type Page } from './page-options';

/** A partitioned queue's cursor: `p<partition>:<that partition's own cursor, '' = its start>`. */
const PARTITION_CURSOR = /^p(\d{1,4}):(.*)$/s;

/** @internal Where a listing of a queue of `count` partitions resumes: a partition and its page. */
export interface PartitionPage {
  readonly partition: number;
  readonly page: Page;
}

/**
 * @internal Validates a listing's paging across `count` partitions. A queue of one partition keeps
 * the cursor it always had (an entry id, a delayed cursor), so old cursors and scripts keep
 * working; a partitioned queue's cursor names its partition. A cursor without one (issued before
 * the queue was partitioned) resumes partition 0, where all of that queue's tasks were.
 */
export function checkPartitionPage(state: ListedState, options: PageOptions, count: number): PartitionPage {
  const { cursor } = options;
  const match = count > 1 && typeof cursor === 'string' ? PARTITION_CURSOR.exec(cursor) : null;
  if (!match) return { partition: 0, page: checkPage(state, options) };
  const partition = Number(match[1]);
  if (partition >= count)
    throw new InvalidOptionError('cursor', `a cursor of a partition from 0 to ${count - 1}`, cursor);
  return { partition, page: checkPage(state, { ...options, cursor: match[2] }) };
}

/** @internal The cursor resuming partition `partition` at its own `inner` cursor ('' = its start). */
export function partitionCursor(count: number, partition: number, inner: string): string {
  return count > 1 ? `p${partition}:${inner}` : inner;
}
