export * from './backoff-options.interface';
export * from './connection-options.interface';
export * from './enqueue-options.interface';
export * from './stream-queue-options.interface';
export * from './task-context.interface';
export * from './task-options.interface';
export * from './task-status.interface';
export * from './queue-state.interface';
