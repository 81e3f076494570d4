import { Injectable, Module } from '@nestjs/common';
import { LazyModuleLoader, MetadataScanner } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { QueueClient, StreamQueueModule, Task, UnknownTaskError } from '../../lib';
import { TaskRegistry } from '../../lib/task/task.registry';
import { cleanUpAfterSuite, startApp, testOptions } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * A @Task() in a module loaded after bootstrap with LazyModuleLoader is never discovered (Nest
 * runs no lifecycle hook for a lazy module, and the queues were mounted at bootstrap). Its tasks
 * failed with nothing to say why: an enqueue in that process threw 'Unknown task "reports.build".
 * Registered tasks: echo, ...', and a run of it read by that worker was dead-lettered as 'unknown
 * task "reports.build"', while the handler was right there. Both now name where the @Task() is
 * declared and why it was not discovered (a review finding; the spec failed). The README says
 * tasks are discovered at bootstrap only.
 */
@Injectable()
class ReportTasks {
  @Task('reports.build')
  build(): string {
    return 'built';
  }
}

@Module({ providers: [ReportTasks] })
class ReportsModule {}

describe('attack: a @Task() in a lazily loaded module', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it('an enqueue of it fails naming the declaration and the lazy load', async () => {
    const { app, client } = await startApp({ prefix });
    await app.get(LazyModuleLoader).load(() => ReportsModule);

    const enqueue = client.enqueue('reports.build', 1);

    await expect(enqueue).rejects.toThrow(UnknownTaskError);
    await expect(enqueue).rejects.toThrow(/ReportTasks\.build in ReportsModule.*after bootstrap.*LazyModuleLoader/);
  });

  it('a worker that loaded the module lazily dead-letters a run of it with that reason', async () => {
    const worker = await startApp({ prefix });
    await worker.app.get(LazyModuleLoader).load(() => ReportsModule);
    // A process without handlers cannot tell the name is unknown: it queues the task.
    const producer = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(prefix, { worker: false }))],
    }).compile();
    await producer.init();
    try {
      await producer.get(QueueClient).enqueue('reports.build', 1);
    } finally {
      await producer.close();
    }

    const letter = await waitFor(
      async () => {
        const [entry] = await redis.xrange(worker.keys.deadLetter, '-', '+');
        return entry?.[1];
      },
      { description: 'the dead letter' },
    );
    const reason = letter[letter.indexOf('reason') + 1];
    expect(reason).toMatch(/unknown task "reports\.build".*ReportTasks\.build in ReportsModule.*LazyModuleLoader/);
  });

  // Anyone can write to the stream: each entry of a name without handler asked for the reason, and
  // each ask scanned every provider's methods (a flood of junk names, a full scan per message).
  it('the reason is looked up in an index built once, not by scanning the providers per name', async () => {
    const { app } = await startApp({ prefix });
    await app.get(LazyModuleLoader).load(() => ReportsModule);
    const registry = app.get(TaskRegistry);
    const scan = jest.spyOn(MetadataScanner.prototype, 'getAllMethodNames');
    try {
      expect(registry.whyMissing('reports.build')).toMatch(/ReportTasks\.build in ReportsModule/);
      const scansForOne = scan.mock.calls.length;
      for (let i = 0; i < 100; i++) expect(registry.whyMissing(`junk-${i}`)).toBeUndefined();
      expect(registry.whyMissing('reports.build')).toMatch(/ReportTasks\.build in ReportsModule/);
      expect(scan.mock.calls.length).toBe(scansForOne);
    } finally {
      scan.mockRestore();
    }
  });
});
