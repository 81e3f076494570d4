export * from './duplicate-task.error';
export * from './invalid-option.error';
export * from './lease-lost.error';
export * from './payload.error';
export * from './stream-queue.error';
export * from './task-failed.error';
export * from './task-timeout.error';
export * from './unknown-task.error';
