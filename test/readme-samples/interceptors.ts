import { Injectable, type CallHandler, type NestInterceptor } from '@nestjs/common';

/** The interceptors the README's "Nest enhancers" sample names; an application's own would log and time. */
@Injectable()
export class LoggingInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler) {
    return next.handle();
  }
}

@Injectable()
export class TimingInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler) {
    return next.handle();
  }
}

/** The payload that sample's task takes. */
export interface Email {
  to: string;
  subject: string;
}
