import type { Redis } from 'ioredis';
import type { CommandFilter, QueuedCommand } from './module-commands';

/** @internal A client handed in as `connection`, as the module uses it: its commands marked as the module's. */
export interface ModuleClient<T extends object> {
  /** The client, for the module's own calls: every command sent through it is marked. */
  readonly client: T;
  /**
   * The client itself, for what wraps its methods: read through `client`, its sendCommand is the
   * view's, which calls the client's, so a wrapper set on the client over it called itself.
   */
  readonly handedIn: T;
  /** Whether a command is one the module sent (through `client`), not the application. */
  readonly isModuleCommand: CommandFilter;
  /** After this, a command the module sends is refused, never written (see refuseAfter). */
  refuseFrom(refusal: () => Error): void;
}

/** The client handed in behind each view of it (see underlying). */
const handedInOf = new WeakMap<object, object>();

/**
 * @internal The client behind a view of it (`redis` itself when it is none): what is kept per
 * connection, such as one listener on it, is kept once for every application's view of it.
 */
export function underlying<T extends object>(redis: T): T {
  return (handedInOf.get(redis) as T | undefined) ?? redis;
}

/**
 * @internal The module's view of a client handed in as `connection`, which the application uses
 * too. Every command the module sends goes through `sendCommand` of the view (ioredis's command
 * methods, scripts, pipelines and MULTI all call `this.sendCommand`, or `this.redis.sendCommand`
 * for a pipeline made from it), so it is marked there: MULTI and EXEC included, though they name
 * no key, and never an application command, whatever text its values hold (matching the module's
 * `{<prefix>:` in arguments did both). The view auto-pipelines in batches of its own, so no batch
 * mixes the application's commands with the module's. Everything else is the client's own.
 */
export function moduleClient<T extends object>(handedIn: T): ModuleClient<T> {
  const sent = new WeakSet<object>();
  const autoPipelines = new Map<string, unknown>();
  const runningAutoPipelines = new Set<string>();
  let refusal: (() => Error) | undefined;
  const target = handedIn as unknown as Redis;
  const sendCommand = function (
    this: Redis,
    command: QueuedCommand & { promise: Promise<unknown> },
    ...rest: unknown[]
  ) {
    sent.add(command);
    if (refusal) {
      // The application closed: nothing of the module's is written to the application's client.
      (command as unknown as { reject(error: Error): void }).reject(refusal());
      return command.promise;
    }
    return (target.sendCommand as (...args: unknown[]) => unknown).call(this, command, ...rest);
  };
  // A connect keeps its `this` in the socket's handlers, which send the client's queued calls once
  // ready (the application's among them): made through the view, they would be marked the module's.
  const connect = (...args: unknown[]) => (target.connect as (...a: unknown[]) => unknown).apply(target, args);
  const client = new Proxy(handedIn, {
    get(object, property, receiver) {
      if (property === 'sendCommand') return sendCommand;
      if (property === 'connect') return connect;
      if (property === '_autoPipelines') return autoPipelines;
      if (property === '_runningAutoPipelines') return runningAutoPipelines;
      return Reflect.get(object, property, receiver) as unknown;
    },
  });
  handedInOf.set(client, handedIn);
  return {
    client,
    handedIn,
    isModuleCommand: (command) => sent.has(command),
    refuseFrom: (error) => void (refusal = error),
  };
}
