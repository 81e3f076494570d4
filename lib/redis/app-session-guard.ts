import { Command, type Redis } from 'ioredis';
import { RedisUnreachableError } from '../errors';
import { addMethodLayer, type MethodLayer } from './method-layers';
import type { CommandFilter, QueuedCommand } from './module-commands';

/** A command as ioredis sends it (internal fields). */
interface SentCommand extends QueuedCommand {
  promise: Promise<unknown>;
  reject(error: Error): void;
}
type SendArgs = [command: SentCommand, ...rest: unknown[]];
interface Sender {
  sendCommand(...args: SendArgs): unknown;
}

/**
 * @internal Keeps the module's commands on a client handed in as `connection` (one node or
 * Sentinel; a Cluster's node connection, see guardClusterAppSessions) out of the connection state its application set:
 * - while the application's transaction without a pipeline is open (its MULTI sent, its EXEC or
 *   DISCARD not yet), Redis would queue the module's commands into it: an enqueue resolved on
 *   `QUEUED` and the application's DISCARD dropped the task. They are held, in order, and sent
 *   right after the EXEC or DISCARD (or once the MULTI that opened it fails); one held for
 *   `heldBound.ms` is refused, never sent (HeldBound). A pipelined
 *   transaction is written in one synchronous pass, so nothing of the module's lands inside it;
 * - after the application's SELECT of another database, the module's commands ran there, while
 *   its workers' connections (derived from the client's options) read the configured one: each is
 *   sent between a SELECT of the module's database and one of the application's, so both keep
 *   theirs (ioredis records each switch, and replays them for calls queued across a reconnect).
 * Watched at `sendCommand`, in call order: what ioredis queues offline is written in that order.
 * Put on after the end's typed refusal (ended-refusal.ts), so outer: what it releases once the
 * connection ended for good (at its end, or the application's DISCARD after it) is refused typed,
 * a RedisUnreachableError saying it was never sent, as every call of the module's after the end.
 * `selects: false` for a Cluster's node connection: Redis refuses SELECT in cluster mode, so the
 * application's (refused) must not bracket every later command of the module's with two more.
 * Returns the layer's removal, which refuses what it still holds with `withdrawn()` (never sent:
 * the application closes, or its init failed, with its transaction open), a removal that sends
 * it instead (a Cluster's node connection gone from its pool: the transaction went with it, and
 * the Cluster sends a command refused there again elsewhere), and whether it holds the module's
 * commands now (the reply watch's PING would wait too: a transaction held open past the lease is
 * not a connection gone silent).
 */
export function guardAppSession(
  client: Redis,
  isModuleCommand: CommandFilter,
  withdrawn: () => Error,
  heldBound: HeldBound,
  { selects = true } = {},
): { remove: () => void; removeSendingHeld: () => void; holding: () => boolean } {
  const moduleDb = client.options.db ?? 0;
  let appDb = (client as unknown as { condition?: { select?: number } }).condition?.select ?? moduleDb;
  let transaction: SentCommand | undefined;
  const held: Held[] = [];
  const release = () => {
    transaction = undefined;
    for (const { send, timer } of held.splice(0)) {
      clearTimeout(timer);
      send();
    }
  };
  const hold = (command: SentCommand, send: () => void) => {
    const entry: Held = { command, send, timer: undefined };
    entry.timer = setTimeout(() => {
      const at = held.indexOf(entry);
      if (at < 0) return;
      held.splice(at, 1);
      command.reject(heldBound.error());
    }, heldBound.ms);
    entry.timer.unref?.();
    held.push(entry);
  };
  const guard: MethodLayer<Sender, SendArgs, unknown> = (self, send, command, ...rest) => {
    if (!isModuleCommand(command)) {
      const sent = send(self, command, ...rest);
      // As named: `call('MULTI')` keeps its capitals.
      const name = command.name.toLowerCase();
      if (name === 'multi' && !transaction) {
        const opening = command;
        transaction = opening;
        // Refused (a MULTI nested in another, a closed connection): no transaction is open.
        opening.promise.catch(() => transaction === opening && release());
      } else if (name === 'exec' || name === 'discard') {
        if (transaction) release();
      } else if (selects && name === 'select' && Number.isInteger(Number(command.args[0]))) {
        appDb = Number(command.args[0]);
      } else if (name === 'reset') {
        // RESET discards a transaction and selects database 0.
        appDb = 0;
        if (transaction) release();
      }
      return sent;
    }
    if (transaction) {
      hold(command, () => void sendInModuleDb(self, send, command, rest));
      return command.promise;
    }
    return sendInModuleDb(self, send, command, rest);
  };
  const sendInModuleDb = (
    self: Sender,
    send: (self: Sender, ...args: SendArgs) => unknown,
    command: SentCommand,
    rest: unknown[],
  ): unknown => {
    if (appDb === moduleDb) return send(self, command, ...rest);
    const back = appDb;
    void send(self, quietSelect(moduleDb));
    const sent = send(self, command, ...rest);
    void send(self, quietSelect(back));
    return sent;
  };
  const unwrap = addMethodLayer(client as unknown as Sender, 'sendCommand', guard);
  // Ended for good, the connection took the transaction with it: no EXEC or DISCARD is to come.
  // What is held goes out to the layers above ioredis (the end's typed refusal: ended-refusal.ts).
  const ended = () => transaction && release();
  client.on('end', ended);
  const remove = () => {
    unwrap();
    client.off('end', ended);
    for (const { command, timer } of held.splice(0)) {
      clearTimeout(timer);
      command.reject(withdrawn());
    }
  };
  const removeSendingHeld = () => {
    unwrap();
    client.off('end', ended);
    release();
  };
  return { remove, removeSendingHeld, holding: () => !!transaction };
}

/**
 * @internal How long a module command waits out the application's transaction (offlineTimeoutMs),
 * and what it is then refused with (never sent). Unbounded, a transaction the application left
 * open (a forgotten `discard()`) stalled every call of the module on the client without an error.
 */
export interface HeldBound {
  readonly ms: number;
  error(): Error;
}

/** @internal The bound of a client handed in: offlineTimeoutMs, refused as a call never sent. */
export function heldByAppTransaction(offlineTimeoutMs: number, address: () => string): HeldBound {
  return {
    ms: offlineTimeoutMs,
    error: () =>
      new RedisUnreachableError(
        address(),
        `held behind the application's transaction for ${offlineTimeoutMs} ms`,
        `The application's transaction without a pipeline (its MULTI) on the client handed in as ` +
          `\`connection\` stayed open for ${offlineTimeoutMs} ms (offlineTimeoutMs): this command was ` +
          `never sent, nothing was written.`,
        false,
      ),
  };
}

interface Held {
  command: SentCommand;
  send: () => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A SELECT whose outcome nobody awaits: a failure shows on the commands around it. */
function quietSelect(db: number): SentCommand {
  const select = new Command('select', [String(db)]) as unknown as SentCommand;
  select.promise.catch(() => undefined);
  return select;
}
