import { Injectable, Module } from '@nestjs/common';
import { Task } from '../../lib';
import { Intake } from '../../lib/consumer/intake';
import { admitWithoutTokens } from '../fixtures/tokenless-admissions';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

const PER_MS = 150;
const HELD = 12;
let started = 0;

@Injectable()
class RatedTasks {
  @Task('attack.held', { rateLimit: { max: 1, perMs: PER_MS } })
  held() {
    started++;
  }
}

@Module({ providers: [RatedTasks] })
class RatedTasksModule {}

/**
 * Review finding (left open last session): runs a worker holds for a token (restarts, or entries
 * admitted without one) each slept on a timer of its own, all until the same instant, and each
 * then sent a claim for the one token a start frees: N claims per token, O(N²) to drain N.
 * Held runs of one task and group now claim in turn, and the rest wait as long as the first
 * one told to wait, unclaimed.
 */
describe('attack: runs held for a rate token wake together', () => {
  const env = useProbeApps();
  beforeEach(() => (started = 0));

  it(`${HELD} held runs under 1 start per ${PER_MS} ms: about one claim per token, not one per held run`, async () => {
    // A producer whose definition has no rate admits them all at once, without tokens: the
    // worker's own rate holds all but one.
    await admitWithoutTokens(env, [RatedTasksModule], 'attack.held', HELD);
    const claims = jest.spyOn(Intake.prototype, 'claimAgain');
    try {
      await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { concurrency: HELD } });
      await waitFor(() => started === HELD, { timeoutMs: 20_000, description: 'every held run started' });
      // Each of the HELD - 1 later starts needs one claim that runs, and at most about one told to
      // wait (a wake a little early). One claim per held run per token would be ~HELD²/2 = 66.
      expect(claims.mock.calls.length).toBeLessThanOrEqual(2 * (HELD - 1) + 2);
    } finally {
      claims.mockRestore();
    }
  }, 30_000);
});
