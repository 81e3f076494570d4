import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { readSampleConfig, SAMPLE_CONFIG, type Role } from './sample.config';

/** Reads this process's SampleConfig through ConfigService and makes it injectable (SAMPLE_CONFIG). */
@Module({})
export class SampleConfigModule {
  static forRoot(role: Role): DynamicModule {
    return {
      module: SampleConfigModule,
      imports: [ConfigModule.forRoot({ cache: true })],
      providers: [
        {
          provide: SAMPLE_CONFIG,
          useFactory: (config: ConfigService) => readSampleConfig(role, config),
          inject: [ConfigService],
        },
      ],
      exports: [SAMPLE_CONFIG],
    };
  }
}
