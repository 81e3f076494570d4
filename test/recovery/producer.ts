import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { QueueClient, StreamQueueModule, type StreamQueueModuleOptions } from '../../lib';
import { testConnection } from '../utils/redis';

/** A producer-only application (worker: false) enqueuing into `prefix`. */
export async function startProducer(
  prefix: string,
  options: Partial<StreamQueueModuleOptions> = {},
): Promise<{ app: INestApplicationContext; client: QueueClient }> {
  @Module({ imports: [StreamQueueModule.forRoot({ connection: testConnection(), prefix, worker: false, ...options })] })
  class ProducerModule {}
  const app = await NestFactory.createApplicationContext(ProducerModule, { logger: false });
  await app.init();
  return { app, client: app.get(QueueClient) };
}
