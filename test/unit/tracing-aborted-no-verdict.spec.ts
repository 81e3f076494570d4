import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { LeaseLostError } from '../../lib';
import { Delivery } from '../../lib/consumer/delivery';
import { TaskRunner } from '../../lib/consumer/task-runner';
import { ShutdownAbortError } from '../../lib/errors/shutdown-abort.error';
import { TaskRegistry } from '../../lib/task/task.registry';
import { resolveTaskOptions } from '../../lib/task/resolved-task-options';
import type { TaskMessage } from '../../lib/task/task-message';
import { traceRuns } from '../../lib/tracing/queue-tracer';
import { tracingSdk } from '../fixtures/tracing-sdk';

const message: TaskMessage = {
  entryId: '1-0',
  id: 't1',
  name: 'job',
  payload: '{}',
  attempt: 1,
  key: undefined,
  generation: 1,
  dueAt: undefined,
  keepResult: false,
  trace: undefined,
};

/** Runs a traced handler that ends after `reason` aborted it: resolving with a value, or rejecting. */
async function runAbortedBy(reason: Error, ends: 'returns' | 'throws') {
  const registry = new TaskRegistry();
  registry.add({
    name: 'job',
    location: 'Spec.job',
    options: resolveTaskOptions('job', {}, 1_000),
    handler: ((_p: unknown, ctx: { signal: AbortSignal }) =>
      new Promise((resolve, reject) =>
        ctx.signal.addEventListener('abort', () =>
          setTimeout(() => (ends === 'returns' ? resolve('done') : reject(new Error('own failure'))), 5),
        ),
      )) as never,
  });
  const runner = new TaskRunner(
    registry,
    'default',
    'me',
    undefined,
    traceRuns({ askSamplerForUnsampledTraces: false }),
  );
  const delivery = new Delivery(message);
  const running = runner.run(delivery);
  delivery.abort(reason);
  return running;
}

/**
 * A lost lease, and the shutdown deadline, are precautions, not verdicts (TaskRunner): a handler
 * that returned anyway is settled with its value and Redis's fence decides, so its span is no
 * error, and says why the run was aborted; one that threw leaves the run pending for another
 * worker, so its span is in error with the abort. (A handler returning past the shutdown
 * deadline used to end its span in error, SHUTDOWN, for a run that completed.)
 */
describe.each([
  {
    why: 'its lease was lost',
    reason: () => new LeaseLostError('lease lost'),
    type: 'LeaseLostError',
    code: 'LEASE_LOST',
  },
  {
    why: 'the shutdown deadline passed',
    reason: () => new ShutdownAbortError(100),
    type: 'ShutdownAbortError',
    code: 'SHUTDOWN',
  },
])('the span of a run aborted because $why while it ran', ({ reason, type, code }) => {
  const { exporter, register, unregister, spans } = tracingSdk();

  beforeEach(() => {
    exporter.reset();
    register();
  });
  afterEach(() => unregister());

  it('handler returned: settled for the fence to decide, so no error, and the abort noted', async () => {
    expect(await runAbortedBy(reason(), 'returns')).toMatchObject({ kind: 'completed' });
    const [run] = spans(SpanKind.CONSUMER);
    expect(run.status.code).toBe(SpanStatusCode.UNSET);
    expect(run.attributes['stream_queue.run.aborted']).toBe(code);
    expect(run.attributes['error.type']).toBeUndefined();
  });

  it('handler threw: the run is left pending, the span in error with the abort, not the handler error', async () => {
    expect(await runAbortedBy(reason(), 'throws')).toMatchObject({ kind: 'abandoned' });
    const [run] = spans(SpanKind.CONSUMER);
    expect(run.status.code).toBe(SpanStatusCode.ERROR);
    expect(run.attributes['error.type']).toBe(type);
    expect(run.attributes['stream_queue.run.aborted']).toBe(code);
  });
});
