import { InvalidOptionError } from './errors';

/**
 * @internal A copy of options object `raw` with every getter read once, here: plain objects and
 * arrays are copied, to any depth; anything else (an ioredis client, a Buffer, a function) is
 * kept as it is. Validation then reads plain values, so a getter that throws (a config object
 * reading an unset variable) fails as an InvalidOptionError naming the option, at `path` + its
 * name (`''`, `@Task('x').`), with the getter's error as cause; and a getter read twice cannot
 * answer differently to the check and to the code that uses the value.
 *
 * `known` (module options, which a `useClass` factory may return as a class instance with
 * getters on its prototype): the options of those names `raw` inherits are read too.
 */
export function snapshotOptions<T>(raw: T, path: string, known: readonly string[] = []): T {
  const copying: Copying = { copies: new Map(), values: 0 };
  if (typeof raw !== 'object' || raw === null || plainShape(raw, path)) return copy(raw, path, copying, 0) as T;
  const snapshot: Record<string, unknown> = {};
  copyProperties(raw, snapshot, path, copying, 0);
  for (const name of known) {
    if (looked(path, () => Object.prototype.hasOwnProperty.call(raw, name) || !(name in raw))) continue;
    snapshot[name] = copy(readOption(raw, name, path + name), `${path + name}.`, copying, 1, path + name);
  }
  return snapshot as T;
}

/** One copy under way: what was copied (a cycle stays a cycle), how many values so far. */
interface Copying {
  readonly copies: Map<object, object>;
  values: number;
}

/**
 * @internal More values (array items and object properties, counted at every depth) than one
 * call's or module's options hold (a purge's ids, the queues listed): past it they are refused,
 * counted before they are copied. The copy is linear in their size: a million ids took about
 * 1.7 s to copy before the first was checked.
 */
export const MAX_OPTION_VALUES = 100_000;

/**
 * Deeper than any option is written (a few levels): past it, options are refused, not copied
 * until the stack overflows (a RangeError naming nothing).
 */
const MAX_DEPTH = 100;

/** `outer`: the outermost option `value` lies in (depth 1 and more), named when too deep. */
function copy(value: unknown, path: string, copying: Copying, depth: number, outer?: string): unknown {
  const shape = plainShape(value, path);
  if (!shape) return value;
  // A cycle stays a cycle, in the copy.
  const done = copying.copies.get(value as object);
  if (done) return done;
  if (depth > MAX_DEPTH)
    throw new InvalidOptionError(outer ?? 'options', `options nested at most ${MAX_DEPTH} levels deep`, value);
  // The prototype seen once: a Proxy's trap may answer another on a second look.
  const target = (shape === 'array' ? [] : Object.create(shape.prototype)) as object;
  copying.copies.set(value as object, target);
  copyProperties(value as object, target, path, copying, depth, outer);
  return target;
}

/** Each own property of `source` onto `target`, read once, enumerable as it was. */
function copyProperties(
  source: object,
  target: object,
  path: string,
  copying: Copying,
  depth: number,
  outer?: string,
): void {
  const array = looked(path, () => Array.isArray(source));
  // Counted before anything is listed or read: an array's by its length (listing its indexes is itself linear).
  const length = array ? arrayLength(source, path) : 0;
  if (array) countValues(copying, length, source, path, outer);
  const names = looked(path, () => Object.getOwnPropertyNames(source));
  // Once listed, before any is read: an array's names past its length too (a Proxy's length may lie).
  countValues(copying, array ? Math.max(0, names.length - 1 - length) : names.length, source, path, outer);
  for (const name of names) {
    if (array && name === 'length') continue;
    const at = array ? `${path.replace(/\.$/, '')}[${name}]` : path + name;
    const descriptor = looked(`${at}.`, () => Object.getOwnPropertyDescriptor(source, name));
    if (!descriptor) continue; // a Proxy listed a name it does not have
    const read = descriptor.get ? readOption(source, name, at) : descriptor.value;
    Object.defineProperty(target, name, {
      value: copy(read, `${at}.`, copying, depth + 1, outer ?? at),
      enumerable: descriptor.enumerable,
      writable: true,
      configurable: true,
    });
  }
  // The length too: copied index by index, an array lost its trailing holes (`[id, , ]` read as `[id]`).
  if (array) (target as unknown[]).length = length;
}

/** Adds `count` values of `source` (at `path`) to the copy's, refusing the outermost option past the bound. */
function countValues(copying: Copying, count: number, source: object, path: string, outer?: string): void {
  copying.values += count;
  if (copying.values > MAX_OPTION_VALUES)
    throw new InvalidOptionError(
      outer ?? (path.replace(/\.$/, '') || 'options'),
      `options of at most ${MAX_OPTION_VALUES} values in all (array items and properties, at any depth)`,
      source,
    );
}

/** @internal The longest array a JavaScript engine makes. */
export const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

/** Array `source`'s length, read once: a Proxy's may be anything, refused naming it. */
function arrayLength(source: object, path: string): number {
  const at = `${path.replace(/\.$/, '') || 'options'}.length`;
  const length = readOption(source, 'length', at);
  if (!Number.isSafeInteger(length) || (length as number) < 0 || (length as number) > MAX_ARRAY_LENGTH)
    throw new InvalidOptionError(at, 'the length of an array', length);
  return length as number;
}

/** @internal `owner[name]`, or the InvalidOptionError naming `at` when reading it throws. */
export function readOption(owner: object, name: string, at: string): unknown {
  try {
    return (owner as Record<string, unknown>)[name];
  } catch (error) {
    throw InvalidOptionError.unreadable(at, error);
  }
}

/**
 * @internal `look()`, a look into the object at `path` (its keys, a descriptor, its prototype), or the
 * InvalidOptionError naming it when that throws: a revoked Proxy throws on any look, and a
 * Proxy's trap may throw anything.
 */
export function looked<T>(path: string, look: () => T): T {
  try {
    return look();
  } catch (error) {
    throw InvalidOptionError.unreadable(path.replace(/\.$/, '') || 'options', error);
  }
}

/**
 * Whether `value` is an object literal (or Object.create(null)) or an array, what option objects
 * are written as: `'array'`, or the object's prototype; undefined for anything else.
 */
function plainShape(value: unknown, path: string): 'array' | { prototype: object | null } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return looked(path, () => {
    if (Array.isArray(value)) return 'array';
    const prototype = Object.getPrototypeOf(value) as object | null;
    return prototype === Object.prototype || prototype === null ? { prototype } : undefined;
  });
}
