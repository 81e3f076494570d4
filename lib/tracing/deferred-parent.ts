import type { Context } from '@opentelemetry/api';
import { asLocalParent, parentOf, type Registered } from './active-sdk';

/**
 * @internal The context of an unsampled enqueue, extracted from its trace field only when first
 * read. A run of an unsampled trace starts no span, and most handlers never read the context (no
 * span of their own, no log line with a trace id): they skip the parse and the copies. Behaves as
 * the extracted context, its span context made local (see asLocalParent), in every call.
 */
export class DeferredParent implements Context {
  private extracted?: Context;

  constructor(
    private readonly sdk: Registered,
    readonly field: string,
  ) {}

  getValue(key: symbol): unknown {
    return this.context().getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return this.context().setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.context().deleteValue(key);
  }

  private context(): Context {
    return (this.extracted ??= asLocalParent(parentOf(this.sdk, this.field)));
  }
}

/**
 * @internal The deferred parent of a trace field, one per field read in a row: the tasks of an
 * enqueueMany() carry the same field and a worker reads them in a row, so their runs share one
 * (contexts are immutable) and at most one extraction, and a run makes no object of its own.
 */
export function deferredParentOf(sdk: Registered, field: string): DeferredParent {
  const last = sdk.lastDeferred;
  if (last?.field === field) return last;
  return (sdk.lastDeferred = new DeferredParent(sdk, field));
}
