import type { CanActivate, Type } from '@nestjs/common';
import { InvalidOptionError } from '../errors';
import { checkName } from '../task/resolved-task-options';

/** `StreamQueueDashboardModule.forRoot()` options. @publicApi */
export interface StreamQueueDashboardOptions {
  /** Where the page is served, e.g. '/queues' (every API route is under it). */
  readonly path: string;
  /** Your guard (a class, resolved by Nest, or an instance): every page and API route goes through it. */
  readonly guard?: Type<CanActivate> | CanActivate;
  /** Queues shown (default ['default']). */
  readonly queues?: readonly string[];
  /** How often the charts take a sample while someone looks, in ms (default 2000). */
  readonly sampleIntervalMs?: number;
}

/** @internal Validated options with defaults. */
export interface DashboardConfig {
  readonly path: string;
  readonly guard?: Type<CanActivate> | CanActivate;
  readonly queues: readonly string[];
  readonly sampleIntervalMs: number;
}

/** @internal Provider token of the validated options. */
export const DASHBOARD_CONFIG = 'STREAM_QUEUE:DASHBOARD_CONFIG';

/** Segments of URL-safe characters; not "." nor "..", which a browser resolves away before asking. */
const PATH = /^(\/(?!\.\.?(\/|$))[A-Za-z0-9_.~-]+)+$/;

/** @internal Validates at bootstrap; throws InvalidOptionError naming the option. */
export function resolveDashboardConfig(raw: StreamQueueDashboardOptions): DashboardConfig {
  if (raw == null || typeof raw !== 'object') throw new InvalidOptionError('options', 'an object with `path`', raw);
  if (typeof raw.path !== 'string' || !PATH.test(raw.path))
    throw new InvalidOptionError(
      'path',
      'a URL path such as "/queues": segments of letters, digits, "_", ".", "~", "-", none "." or "..", no trailing "/"',
      raw.path,
    );
  const { guard } = raw;
  // A class's canActivate is on its prototype (an arrow function has none): Nest would run no other.
  const canActivate = typeof guard === 'function' ? guard.prototype?.canActivate : guard?.canActivate;
  if (guard !== undefined && typeof canActivate !== 'function')
    throw new InvalidOptionError(
      'guard',
      'a guard class (with a canActivate() method) or an object with canActivate()',
      guard,
    );
  const queues = raw.queues ?? ['default'];
  if (!Array.isArray(queues) || queues.length === 0)
    throw new InvalidOptionError('queues', 'a non-empty array of queue names', queues);
  queues.forEach((q, i) => {
    checkName(`queues[${i}]`, q);
    // The name is a segment of the page's URLs, which a browser resolves away when it is one of these.
    if (q === '.' || q === '..')
      throw new InvalidOptionError(`queues[${i}]`, 'a queue name other than "." and ".." (a URL path segment)', q);
  });
  const interval = raw.sampleIntervalMs ?? 2_000;
  if (!Number.isInteger(interval) || interval < 100 || interval > 60_000)
    throw new InvalidOptionError('sampleIntervalMs', 'an integer from 100 to 60000', interval);
  return { path: raw.path, guard, queues: [...queues], sampleIntervalMs: interval };
}
