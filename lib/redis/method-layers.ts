/**
 * @internal One watcher's part of a method wrapped by addMethodLayer: it gets the object called,
 * `next` (the older watchers' parts, then the method itself: called with that object first) and
 * the call's arguments.
 */
export type MethodLayer<T, A extends unknown[], R> = (self: T, next: Next<T, A, R>, ...args: A) => R;
/** @internal What a layer calls to go on: the object called, then the arguments. */
export type Next<T, A extends unknown[], R> = (self: T, ...args: A) => R;

type Method = (...args: unknown[]) => unknown;
type Layer = MethodLayer<unknown, unknown[], unknown>;
type Chain = Next<unknown, unknown[], unknown>;

/** The one wrapper of a method, and what it took the place of. */
interface Wrapping {
  readonly wrapper: Method;
  /** The method it wraps, as read when it was put on (the prototype's, usually). */
  readonly below: Method;
  /** Whether the object held the method as its own property then (else it is deleted at the end). */
  readonly ownBefore: boolean;
  /** The watchers' parts, oldest first. */
  readonly layers: Layer[];
  /**
   * The layers composed, newest outermost: made again at each change, not at each call (no
   * allocation on a hot path such as sendCommand), and a call already in it keeps its own.
   */
  chain: Chain;
}

/**
 * Each object's wrapped methods, by name. Kept here, not on the object, so the last removal leaves
 * nothing behind; and found here by a second install even when another's wrapper lies over ours.
 */
const wrappings = new WeakMap<object, Map<string, Wrapping>>();

/**
 * @internal Adds `layer` to method `name` of `target` (an ioredis object the module does not own,
 * such as a client handed in, which outlives the application): the method is wrapped once, the
 * first time, and every later watcher adds a layer to that wrapper, newest outermost, as nested
 * wrappers ran. A wrapper per watcher, left in place when another lay over it, piled up one per
 * application booted on the client, and a flush walking thousands overflowed the stack. Returns
 * the removal: the last one puts the method back exactly as it was (the own property deleted
 * when there was none), unless another wrapper was put over ours since, which calls ours: then
 * ours stays as a pass-through, and the next install reuses it rather than nesting a second.
 * A method `target` lacks is left alone (the removal does nothing).
 */
export function addMethodLayer<T extends object, A extends unknown[], R>(
  target: T,
  name: string,
  layer: MethodLayer<T, A, R>,
): () => void {
  const holder = target as unknown as Record<string, Method | undefined>;
  // An ioredis without it (none of 5 or 6) keeps its own behaviour: nothing to wrap, nor to throw from an event.
  if (typeof holder[name] !== 'function') return () => undefined;
  const methods = wrappings.get(target) ?? new Map<string, Wrapping>();
  wrappings.set(target, methods);
  let wrapping = methods.get(name);
  if (!wrapping) {
    wrapping = wrap(holder, name);
    methods.set(name, wrapping);
  }
  const { layers } = wrapping;
  layers.push(layer as unknown as Layer);
  compose(wrapping);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    layers.splice(layers.lastIndexOf(layer as unknown as Layer), 1);
    compose(wrapping);
    if (layers.length > 0 || holder[name] !== wrapping.wrapper) return;
    if (wrapping.ownBefore) holder[name] = wrapping.below;
    else delete holder[name];
    methods.delete(name);
    if (methods.size === 0) wrappings.delete(target);
  };
}

/** Puts the one wrapper on `holder[name]`: it runs the layers' chain of the moment. */
function wrap(holder: Record<string, Method | undefined>, name: string): Wrapping {
  const below = holder[name] as Method;
  const wrapping: Wrapping = {
    wrapper: function (this: unknown, ...args: unknown[]): unknown {
      return wrapping.chain(this, ...args);
    },
    below,
    ownBefore: Object.prototype.hasOwnProperty.call(holder, name),
    layers: [],
    chain: (self, ...args) => below.apply(self, args),
  };
  holder[name] = wrapping.wrapper;
  return wrapping;
}

/** Composes `wrapping`'s layers over its method, the newest outermost. */
function compose(wrapping: Wrapping): void {
  const { below } = wrapping;
  wrapping.chain = wrapping.layers.reduce<Chain>(
    (next, layer) =>
      (self, ...args) =>
        layer(self, next, ...args),
    (self, ...args) => below.apply(self, args),
  );
}
