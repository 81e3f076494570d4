/**
 * @internal Attribute names of OpenTelemetry's messaging semantic conventions (v1.27+), written
 * out so the package needs no @opentelemetry/semantic-conventions, and this package's own.
 */
export const ATTR = {
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  batchCount: 'messaging.batch.message_count',
  consumerGroup: 'messaging.consumer.group.name',
  errorType: 'error.type',
  taskName: 'stream_queue.task.name',
  taskKey: 'stream_queue.task.key',
  taskAttempt: 'stream_queue.task.attempt',
  taskGeneration: 'stream_queue.task.generation',
  runAborted: 'stream_queue.run.aborted',
} as const;

/** @internal messaging.system: not one of the conventions' well-known values, so our own name. */
export const MESSAGING_SYSTEM = 'nest_stream_queue';
