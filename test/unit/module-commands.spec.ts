import { Command } from 'ioredis';
import { moduleCommands } from '../../lib/redis/module-commands';

/**
 * Which commands on a client handed in are the module's, for offlineTimeoutMs's bound (the
 * application's own are never given up): ioredis's own Command objects, as its queues hold them.
 */
describe('moduleCommands', () => {
  const ours = moduleCommands('sq');

  it("selects a command naming a key or channel of the module's prefix, after any keyPrefix", () => {
    expect(ours(new Command('get', ['{sq:emails}:result:1']))).toBe(true);
    expect(ours(new Command('get', ['{sq:emails}:result:1'], { keyPrefix: 'app:' }))).toBe(true);
    expect(ours(new Command('evalsha', ['abc', '1', '{sq:emails#2}:stream', 'x']))).toBe(true);
    expect(ours(new Command('publish', [Buffer.from('{sq:emails}:control'), 'due']))).toBe(true);
  });

  it("leaves the application's own commands, another prefix's, and a command inside a MULTI", () => {
    expect(ours(new Command('get', ['bull:emails:1']))).toBe(false);
    expect(ours(new Command('get', ['{sq-other:emails}:result:1']))).toBe(false);
    expect(ours(new Command('ping', []))).toBe(false);
    const inTransaction = new Command('get', ['{sq:emails}:result:1']);
    inTransaction.inTransaction = true;
    expect(ours(inTransaction)).toBe(false);
  });
});
