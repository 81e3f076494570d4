import { closeEnv, openEnv, type Env } from '../../explore/runner';
import { redisUrl } from './redis';

/**
 * The explorer's connections on the suite's Redis for one describe block: opened before its
 * specs, closed after. Returns a getter, as the env exists only once beforeAll ran.
 */
export function useExploreEnv(): () => Env {
  let env: Env | undefined;
  beforeAll(async () => {
    env = await openEnv(redisUrl());
  });
  afterAll(() => (env ? closeEnv(env) : undefined));
  return () => env!;
}
