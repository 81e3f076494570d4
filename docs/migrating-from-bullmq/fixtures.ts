// Stand-ins for the application's own providers, so the guide's samples compile as they read.
import { Injectable, Module } from '@nestjs/common';

@Injectable()
export class Mailer {
  async send(to: string, options: { signal: AbortSignal; idempotencyKey: string }): Promise<string> {
    return `${to}:${options.idempotencyKey}`;
  }
}

@Injectable()
export class Reports {
  async build(userId: string, signal: AbortSignal): Promise<{ pages: number }> {
    signal.throwIfAborted();
    return { pages: userId.length };
  }
}

@Injectable()
export class AppConfig {
  redisUrl(): string {
    return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  }
}

@Module({ providers: [AppConfig], exports: [AppConfig] })
export class AppConfigModule {}
