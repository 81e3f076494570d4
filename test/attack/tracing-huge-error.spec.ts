import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { FAILURE_MESSAGE_MAX, FAILURE_NAME_MAX } from '../../lib/task/task-outcome';
import { tracingSdkForSuite } from '../fixtures/tracing-sdk';
import { startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * The stored failure is cut past FAILURE_MESSAGE_MAX / FAILURE_NAME_MAX characters, but a run's
 * span took the handler's error whole: its status message, `error.type`, and the exception event
 * (message, type, and a stack that repeats the message). A handler throwing a 1,000,000-character
 * message and name exported 4 MB per attempt. Each is now cut as the stored failure is, with its
 * marker. A review finding; the test failed.
 */
describe("attack: a handler error's huge message and name in its run's span", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const { register, spans } = tracingSdkForSuite(prefix, redis);

  it('are exported cut as the stored failure is', async () => {
    register();
    const t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    const message = `${'m'.repeat(1_000_000)}END`;
    const name = `${'n'.repeat(1_000_000)}END`;
    t.probe.on('doomed', () => {
      const error = new Error(message);
      error.name = name;
      throw error;
    });
    const handle = await t.client.enqueue('doomed', 0);
    await expect(handle.result()).rejects.toThrow('[cut: 1000003 characters]');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 2, { description: 'both attempts ended' });

    const cutMessage = `${'m'.repeat(FAILURE_MESSAGE_MAX)}… [cut: ${message.length} characters]`;
    const cutName = `${'n'.repeat(FAILURE_NAME_MAX)}… [cut: ${name.length} characters]`;
    for (const run of spans(SpanKind.CONSUMER)) {
      const exception = run.events.find((e) => e.name === 'exception')?.attributes ?? {};
      const stack = String(exception['exception.stacktrace']);
      // Compared by sizes and markers: a failure must not print megabytes.
      expect({
        status: [run.status.code, run.status.message === cutMessage],
        errorType: run.attributes['error.type'] === cutName,
        exceptionType: exception['exception.type'] === cutName,
        exceptionMessage: exception['exception.message'] === cutMessage,
        stackStart: stack.startsWith(`${cutName}: ${cutMessage}\n`),
        stackFrames: stack.includes('    at '),
        stackBounded: stack.length < 4 * FAILURE_MESSAGE_MAX,
      }).toEqual({
        status: [SpanStatusCode.ERROR, true],
        errorType: true,
        exceptionType: true,
        exceptionMessage: true,
        stackStart: true,
        stackFrames: true,
        stackBounded: true,
      });
    }
  });

  // error.type read the name unguarded: a getter that throws left the span open, and its error
  // replaced the handler's in the stored failure.
  it('an error whose name getter throws: the span ends, the failure stored as without tracing', async () => {
    register();
    const t = await startApp({ prefix, imports: [StreamQueueTracingModule] });
    t.probe.on('doomed', () => {
      const error = new Error('refused');
      Object.defineProperty(error, 'name', {
        get() {
          throw new TypeError('no name');
        },
      });
      throw error;
    });
    const handle = await t.client.enqueue('doomed', 0);
    await expect(handle.result()).rejects.toThrow('refused');
    await waitFor(() => spans(SpanKind.CONSUMER).length === 2, { description: 'both attempts ended' });
    for (const run of spans(SpanKind.CONSUMER)) {
      expect([run.status, run.attributes['error.type']]).toEqual([
        { code: SpanStatusCode.ERROR, message: 'refused' },
        'Error',
      ]);
    }
  });
});
