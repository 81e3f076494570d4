import { DynamicModule, Module } from '@nestjs/common';
import { SAMPLE_CONFIG, type SampleConfig } from './sample.config';

/** Makes this process's SampleConfig injectable, e.g. into StreamQueueModule.forRootAsync. */
@Module({})
export class SampleConfigModule {
  static forRoot(config: SampleConfig): DynamicModule {
    return {
      module: SampleConfigModule,
      providers: [{ provide: SAMPLE_CONFIG, useValue: config }],
      exports: [SAMPLE_CONFIG],
    };
  }
}
