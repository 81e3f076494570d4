import { Registry } from 'prom-client';
import type { ConnectionOptions } from 'nest-stream-queue';

// What the README's Metrics and Tracing samples take as given: the app's connection and registry.
export const connection: ConnectionOptions = { url: process.env.REDIS_URL! };
export const registry = new Registry();
