import type { Redis } from 'ioredis';
import { moduleClient } from '../../lib/redis/module-client';
import { closeAll, createRedis } from '../utils/redis';

/** ioredis's queue of commands written and unanswered (internal). */
type Written = { commandQueue: { length: number; peekAt(i: number): { command: object } } };
const written = (redis: Redis) => {
  const queue = (redis as unknown as Written).commandQueue;
  return Array.from({ length: queue.length }, (_, i) => queue.peekAt(i).command);
};

/**
 * Which commands on a client handed in are the module's, for offlineTimeoutMs's bound and the
 * close (the application's own are never given up): those sent through the module's view of the
 * client, whatever they name, and none the application sends, whatever its values hold.
 */
describe('moduleClient', () => {
  afterAll(closeAll);

  it("marks every command sent through the view, a transaction's MULTI and EXEC included, and no other", async () => {
    const client = createRedis();
    await client.ping();
    const { client: view, isModuleCommand } = moduleClient(client);

    const commands = () => written(client) as Parameters<typeof isModuleCommand>[0][];
    const own = client.set('module-client-spec', '{sq:emails}:not-the-module');
    const ownMarked = commands().map(isModuleCommand);
    const transaction = view.multi().get('module-client-spec').exec();
    const transactionMarked = commands().map(isModuleCommand);
    await Promise.all([own, transaction]);

    expect(ownMarked).toEqual([false]);
    expect(transactionMarked).toEqual([false, true, true, true]);
    await client.del('module-client-spec');
  });

  it("marks the module's auto-pipelined calls and none of the application's beside them", async () => {
    const client = createRedis({ enableAutoPipelining: true });
    await client.ping();
    const { client: view, isModuleCommand } = moduleClient(client);
    const marks: boolean[] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: Parameters<typeof isModuleCommand>[0], ...rest: never[]) => {
      marks.push(isModuleCommand(command));
      return send(command as never, ...rest);
    }) as typeof client.sendCommand;

    await Promise.all([client.get('module-client-spec'), view.get('module-client-spec'), client.echo('x')]);

    expect(marks.sort()).toEqual([false, false, true]);
  });

  it("leaves unmarked the application's calls a connect made through the view sends (a lazy client)", async () => {
    const client = createRedis({ lazyConnect: true });
    const { client: view, isModuleCommand } = moduleClient(client);
    type Offline = { offlineQueue: { length: number; peekAt(i: number): { command: object } } };
    const offline = (client as unknown as Offline).offlineQueue;

    // The module's call connects the client; the application's waits in its offline queue meanwhile.
    const module = view.get('module-client-spec');
    const own = client.echo('the-applications');
    const ownCommand = offline.peekAt(offline.length - 1).command as Parameters<typeof isModuleCommand>[0];
    expect(ownCommand.name).toBe('echo');
    await Promise.all([module, own]);

    // Sent by the client's own ready handler, once connected: still the application's.
    expect(isModuleCommand(ownCommand)).toBe(false);
  });
});
