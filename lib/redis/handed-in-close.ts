import type { Cluster, Redis } from 'ioredis';
import { ApplicationClosedError } from '../errors';
import { raceTimeout } from '../race-timeout';
import { takeOutSelected, type CommandFilter, type CommandQueueOf, type QueuedCommand } from './module-commands';

/** ioredis's queues (internal fields; the items of a Cluster's offline queue have the same `command`). */
type Queue = CommandQueueOf<Withdrawn>;
type Withdrawn = QueuedCommand & { promise: Promise<unknown>; reject(error: Error): void };
interface Queues {
  offlineQueue?: Queue;
  commandQueue?: Queue;
  prevCommandQueue?: Queue | null;
}

/** @internal What a module's call on a client handed in is refused with once the application closed. */
export const closedNeverSent = (): Error =>
  new ApplicationClosedError('The application closed: this command was never sent, nothing was written.');
const closedMayHaveRun = (): Error =>
  new ApplicationClosedError(
    'The application closed before Redis answered: this command was sent and never answered; it may have run.',
  );

/**
 * @internal At close, the module's own calls (`ours`) on a client handed in as `connection`, which
 * the application keeps: ioredis would send those it queued once the client reconnects, after
 * the application closed, and those written to a frozen Redis waited as long as the client let
 * them. Queued ones (never sent) are taken out and rejected; ones written before a drop, which
 * ioredis resends once ready, are taken out and rejected as may have run. Ones written on the
 * open socket get `graceMs` (what QUIT gets on the module's own connections) to be answered, then
 * are rejected as may have run but left in the queue, so the replies that come later still go to
 * the commands they answer (the application's own among them), and are taken out once the socket
 * closes, before ioredis would keep them to resend, or at once if it dropped during that grace
 * (ioredis holds them to resend then). The application's own calls are untouched.
 */
export async function withdrawAtClose(redis: Redis, ours: CommandFilter, graceMs: number): Promise<void> {
  const queues = redis as unknown as Queues;
  takeOutSelected(queues.offlineQueue, ours, closedNeverSent);
  takeOutSelected(queues.prevCommandQueue ?? undefined, ours, closedMayHaveRun);
  // A Cluster's written commands are its node connections': withdrawn from each as from a client.
  // Left there, a call written to a frozen node waited past the close as long as the client let it.
  if (redis.isCluster) {
    const nodes = (redis as unknown as Cluster).nodes('all');
    await Promise.all(nodes.map((node) => withdrawAtClose(node, ours, graceMs)));
    return;
  }
  const socket = redis.stream;
  const written = selected(queues.commandQueue, ours);
  if (written.length === 0 || !socket || socket.destroyed) return;
  const answered = Promise.allSettled(written.map((command) => command.promise));
  await raceTimeout(answered, graceMs, () => undefined);
  const withdrawn = new Set<Withdrawn>(written);
  const isWithdrawn: CommandFilter = (command) => withdrawn.has(command as Withdrawn);
  // Already settled: a no-op.
  for (const command of written) command.reject(closedMayHaveRun());
  // The socket dropped meanwhile: ioredis moved them to resend once ready (a frozen Redis that
  // comes back ran them from the dropped socket too). Taken out, they are not sent again.
  takeOutSelected(queues.prevCommandQueue ?? undefined, isWithdrawn, () => undefined);
  takeOutSelected(queues.offlineQueue, isWithdrawn, () => undefined);
  // One destroyed but not yet closed still hands them to ioredis's close handler: listened too.
  redis.stream?.prependOnceListener('close', () => takeOutSelected(queues.commandQueue, isWithdrawn, () => undefined));
}

function selected(queue: Queue | undefined, which: CommandFilter): Withdrawn[] {
  const found: Withdrawn[] = [];
  for (let i = 0; queue && i < queue.length; i++) {
    const command = queue.peekAt(i)?.command;
    if (command && which(command)) found.push(command);
  }
  return found;
}
