import {
  Controller,
  Injectable,
  Module,
  UseInterceptors,
  type CallHandler,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { Task } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp } from '../fixtures/test-app';

// Review finding: Nest's ExternalContextCreator finds a task's interceptor classes among the
// enhancers of the class provider that holds it. A @Task() on a controller (the README allows
// any provider or controller), or on a provider built by useFactory or useValue (whose class's
// enhancers Nest never registers), declared @UseInterceptors() for nothing: the runs went
// without them (no logging, no CLS context, no result mapping), and nothing said so.

/** Which tasks' runs the interceptor wrapped. */
const wrapped: string[] = [];

@Injectable()
class Local implements NestInterceptor {
  intercept(context: { getArgByIndex(i: number): { name: string } }, next: CallHandler): Observable<unknown> {
    wrapped.push(context.getArgByIndex(1).name);
    return next.handle();
  }
}

@Controller()
class ControllerTasks {
  @Task('left-out.controller')
  @UseInterceptors(Local)
  run(): string {
    return 'ran';
  }
}

@UseInterceptors(Local)
class FactoryTasks {
  @Task('left-out.factory')
  run(): string {
    return 'ran';
  }
}

class ValueTasks {
  @Task('left-out.value')
  @UseInterceptors(Local)
  run(): string {
    return 'ran';
  }
}

@Injectable()
class ClassTasks {
  @Task('left-out.class')
  @UseInterceptors(Local)
  run(): string {
    return 'ran';
  }
}

// Each in a module of its own: a class declaring Local (a controller too) registers it among its
// module's enhancers, where Nest would then find it for that module's factories as well.
@Module({ controllers: [ControllerTasks] })
class ControllerModule {}

@Module({
  providers: [
    { provide: 'FACTORY_TASKS', useFactory: () => new FactoryTasks() },
    { provide: 'VALUE_TASKS', useValue: new ValueTasks() },
  ],
})
class FactoryModule {}

@Module({ providers: [ClassTasks] })
class ClassModule {}

describe('attack: interceptors a task declares where Nest does not resolve them', () => {
  const env = useProbeApps();

  // Providers are discovered before controllers.
  it('bootstrap warns for each such task; a class provider gets its interceptor', async () => {
    const w = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      imports: [ControllerModule, FactoryModule, ClassModule],
    });
    for (const name of ['left-out.controller', 'left-out.factory', 'left-out.value', 'left-out.class']) {
      await expect((await w.client.enqueue(name, {})).result({ timeoutMs: 5_000 })).resolves.toBe('ran');
    }
    expect(wrapped).toEqual(['left-out.class']);
    const warnings = logger.warnings().filter((line) => line.includes('that Nest leaves out of its runs'));
    expect(warnings).toEqual([
      expect.stringContaining("@Task('left-out.factory') on FactoryTasks.run declares interceptors (Local)"),
      expect.stringContaining("@Task('left-out.value') on ValueTasks.run declares interceptors (Local)"),
      "@Task('left-out.controller') on ControllerTasks.run declares interceptors (Local) that Nest leaves out of its runs: it finds a task's interceptor classes among the enhancers of the class provider that holds it, and ControllerTasks is not one (a controller, or a provider built by useFactory or useValue). Move the task to a class provider, or give @UseInterceptors() an instance.",
    ]);
  });
});
