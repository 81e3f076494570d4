import { Injectable, Module } from '@nestjs/common';
import { parseArgs, UsageError } from '../../lib/cli/cli-args';
import { EXIT } from '../../lib/cli/cli-commands';
import { defineScripts } from '../../lib/redis/scripts';
import { Task } from '../../lib';
import { RemovalTasksModule } from '../fixtures/removal-tasks';
import { producerAppForSuite } from '../fixtures/test-app';
import { spawnCli } from '../utils/cli-bin';
import { runCliInProcess } from '../utils/cli-in-process';
import { createRedis, randomPrefix, redisUrl } from '../utils/redis';

/** A task with a limit on a queue no worker of this spec reads: its waiting tasks stay waiting. */
@Injectable()
class FlowQueueTasks {
  @Task('cli.flow', { queue: 'flow', globalConcurrency: 1 })
  run(): void {}
}

@Module({ providers: [FlowQueueTasks] })
class FlowQueueTasksModule {}

// The operator's CLI against a real Redis: tables, --json, confirmation, exit codes.
describe('nest-stream-queue CLI', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const t = producerAppForSuite(prefix, redis, [RemovalTasksModule, FlowQueueTasksModule]);
  const base = () => ['--url', redisUrl(), '--prefix', prefix];

  /** A command line against this spec's prefix, run in this process (see runCliInProcess). */
  const cli = (argv: string[], answer = false) => runCliInProcess(redis, [...argv, ...base()], answer);

  it('rejects bad command lines, saying what is wrong', () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate', ...base()], /unknown command "frobnicate"/],
      [['inspect'], /--url is required/],
      [['dlq', 'list', ...base(), '--limit', '0'], /--limit: an integer from 1 to 500/],
      [['dlq', 'list', ...base(), '--limit'], /--limit needs a value/],
      [['dlq', 'redrive', ...base()], /dead-letter ids or --all/],
      [['dlq', 'purge', 'abc', ...base()], /not a dead-letter id: "abc"/],
      [['dlq', 'purge', '1-0', '--all', ...base()], /dead-letter ids or --all/],
      [['remove', ...base()], /exactly one task id/],
      [['dlq', 'purge', '1-0', ...base(), '--partition', 'x'], /--partition: an integer from 0 to 1023/],
      [['dlq', 'purge', '--all', ...base(), '--partition', '1'], /--partition goes with dead-letter ids/],
      [['remove', 't', ...base(), '--partition', '1'], /--partition goes with dead-letter ids/],
      [['inspect', ...base(), '--bogus'], /unknown option --bogus/],
      [['inspect', '--url', 'http://x'], /redis:\/\//],
      [['inspect', ...base(), '--queue', 'a b'], /--queue/],
      [['inspect', '--url', 'redis://x', '--prefix', 'bad prefix'], /--prefix/],
    ];
    for (const [args, message] of cases) expect(() => parseArgs(args, {})).toThrow(message);
    expect(() => parseArgs(['inspect'], {})).toThrow(UsageError);
    expect(parseArgs(['inspect'], { STREAM_QUEUE_URL: 'redis://h' })).toMatchObject({ url: 'redis://h', prefix: 'sq' });
  });

  it('inspects every queue as a table and as JSON', async () => {
    await t.client.enqueue('echo', 1);
    await t.client.enqueue('echo', 2, { queue: 'other' });
    const table = await cli(['inspect']);
    expect(table.code).toBe(EXIT.ok);
    expect(table.out).toMatch(/QUEUE\s+WAITING\s+DELAYED/);
    expect(table.out).toMatch(/^default\s+1\s+0\s+0\s+0/m);
    expect(table.out).toMatch(/^other\s+1\s/m);
    const json = await cli(['inspect', '--queue', 'other', '--json']);
    expect(JSON.parse(json.out)).toEqual([expect.objectContaining({ queue: 'other', waiting: 1, consumers: [] })]);
  });

  it('asks before a change (declined: exit 3, nothing changed); confirmed or --yes, it changes', async () => {
    const dead = (await redis.xadd(t.keys.deadLetter, '*', 'id', 't-1', 'n', 'echo', 'p', '"x"', 'reason', 'broke'))!;
    const list = await cli(['dlq', 'list', '--json']);
    expect(JSON.parse(list.out).tasks).toEqual([expect.objectContaining({ deadLetterId: dead, reason: 'broke' })]);
    expect((await cli(['dlq', 'list'])).out).toMatch(/DEAD LETTER.*\n.*\n.*broke/);

    expect(await cli(['dlq', 'redrive', dead])).toMatchObject({ code: EXIT.notConfirmed, err: /nothing was changed/ });
    expect(await redis.xlen(t.keys.deadLetter)).toBe(1);
    expect(await cli(['dlq', 'redrive', dead], true)).toMatchObject({ code: EXIT.ok, out: /Redrove/ });
    expect((await t.client.list('queued')).tasks.map((x) => x.id)).toContain('t-1');
    expect(await cli(['dlq', 'redrive', dead, '--yes'])).toMatchObject({
      code: EXIT.failed,
      err: /No dead letter .* nothing was changed/,
    });
  });

  it("the question names the dead letters' partition when --partition gives it", async () => {
    // Dead-letter ids are per partition: "1-0" of partition 2 is not "1-0" of partition 0.
    const asked = await cli(['dlq', 'purge', '1-0', '2-0', '--partition', '2']);
    expect(asked).toMatchObject({ code: EXIT.notConfirmed });
    expect(asked.question).toMatch(/^Purge 2 dead letter\(s\) of partition 2 on queue "default"/);
    const redrive = await cli(['dlq', 'redrive', '1-0', '--partition', '0']);
    expect(redrive.question).toMatch(/^Redrive 1 dead letter\(s\) of partition 0 on queue "default"/);
    expect((await cli(['dlq', 'purge', '1-0'])).question).toMatch(/^Purge 1 dead letter\(s\) on queue "default"/);
  });

  it('removes a task and purges dead letters; a second removal exits 1', async () => {
    const handle = await t.client.enqueue('echo', 'to remove', { delayMs: 60_000 });
    expect((await cli(['remove', handle.id])).code).toBe(EXIT.notConfirmed);
    expect((await cli(['remove', handle.id, '--yes'])).code).toBe(EXIT.ok);
    expect(await cli(['remove', handle.id, '--yes'])).toMatchObject({ code: EXIT.failed, err: /No queued or delayed/ });
    await redis.xadd(t.keys.deadLetter, '*', 'raw', 'x', 'reason', 'r1');
    await redis.xadd(t.keys.deadLetter, '*', 'raw', 'y', 'reason', 'r2');
    expect(JSON.parse((await cli(['dlq', 'purge', '--all', '--yes', '--json'])).out)).toEqual({ purged: 2 });
    expect(await redis.xlen(t.keys.deadLetter)).toBe(0);
  });

  it('inspect says how many of the waiting tasks wait for a slot or token (flow control)', async () => {
    // One slot: the first takes it as it is enqueued (no worker reads it), the other two wait in the room.
    for (let i = 0; i < 3; i++) await t.client.enqueue('cli.flow', { i });
    const table = await cli(['inspect', '--queue', 'flow']);
    expect(table.out).toMatch(/^flow\s+3 \(2 for a slot\)\s+0\s+0\s+0/m);
    const json = await cli(['inspect', '--queue', 'flow', '--json']);
    expect(JSON.parse(json.out)).toEqual([expect.objectContaining({ queue: 'flow', waiting: 3, waitingForSlot: 2 })]);
  });

  it('the bin: exit 2 on a bad command line, 0 with JSON, 1 when Redis is unreachable, 3 without a terminal', async () => {
    const usage = await spawnCli('frobnicate', ...base());
    expect(usage).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command[\s\S]*Usage:/) });
    const ok = await spawnCli('inspect', ...base(), '--queue', 'other', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)[0]).toMatchObject({ queue: 'other' });
    const down = await spawnCli('inspect', '--url', 'redis://127.0.0.1:1', '--prefix', prefix);
    expect(down).toMatchObject({ code: 1, err: expect.stringMatching(/cannot reach Redis/) });
    const noTerminal = await spawnCli('dlq', 'purge', '--all', ...base());
    expect(noTerminal.code).toBe(3);
  }, 120_000);
});
