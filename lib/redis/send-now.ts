import { Command, type Redis } from 'ioredis';

/**
 * @internal Sends one command written at once, past auto-pipelining and without a Pipeline:
 * for a lone call on a hot path (ioredis builds a Pipeline per auto-pipelined turn and copies
 * every defined script onto it, about 3 KB of garbage). Scripts go by ScriptCall.runNow.
 */
export function sendNow(redis: Redis, name: string, args: (string | number)[]): Promise<unknown> {
  const command = new Command(name, args, { replyEncoding: 'utf8', keyPrefix: redis.options.keyPrefix });
  void redis.sendCommand(command);
  return command.promise;
}
