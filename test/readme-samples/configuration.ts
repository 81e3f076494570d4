// README.md, "Configuration": the region below is that section's sample, kept compiled (npm run
// typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md).
import { ConfigModule, ConfigService } from '@nestjs/config';
import { StreamQueueModule } from 'nest-stream-queue';

export function configuredModule() {
  // #region configuration
  StreamQueueModule.forRootAsync({
    imports: [ConfigModule],
    inject: [ConfigService],
    useFactory: (config: ConfigService) => ({
      connection: { url: config.getOrThrow('REDIS_URL') },
      prefix: 'billing',
      concurrency: 20,
    }),
  });
  // #endregion
}
