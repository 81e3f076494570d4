export * from './errors';
export * from './interfaces';
export { QueueClient } from './client/queue-client';
export type { FleetEvent } from './client/fleet-events';
export { StreamQueueModule } from './stream-queue.module';
export type { StreamQueueModuleAsyncOptions } from './stream-queue.module-definition';
export {
  StreamQueueEvents,
  type StreamQueueCounter,
  type StreamQueueEvent,
  type StreamQueueEventType,
} from './stream-queue.events';
export { currentTask } from './stream-queue.instrumentation';
export { StreamQueueLifecycle } from './stream-queue.lifecycle';
export { Task } from './task/task.decorator';
export { STREAM_QUEUE_CONTEXT_TYPE } from './task/task.enhancers';
export { TaskHandle } from './client/task-handle';
export { periodicKey } from './task/schedule';
