import { periodicKey } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { useGenerationApps } from '../generations/generation-apps';

/**
 * Attack on the type of a periodic task's key state: anyone who can write to Redis can make it a
 * string (`SET <key state> x`). schedule-periodic.lua's HMGET on it raised WRONGTYPE: a worker's
 * boot, which puts every periodic chain in place, threw it, so app.init() failed and the worker
 * ran nothing of any queue; replace() of the periodic key threw it as a raw ReplyError. Such a
 * state reads as none, as an expired one: the chain gets a fresh state in its place.
 */
describe('attack: a periodic key whose state is not a hash', () => {
  const gen = useGenerationApps();

  async function hostileTick(): Promise<QueueKeys> {
    const keys = new QueueKeys(gen.prefix, 'default'); // as the app will build them
    await gen.redis.set(keys.keyState(periodicKey('tick')), 'x');
    return keys;
  }

  it('a worker boots and puts the chain in place', async () => {
    await hostileTick();
    const app = await gen.start();
    expect(await app.client.status(periodicKey('tick'))).toMatchObject({ state: 'delayed' });
  });

  it('replace() of the periodic key puts a run in place', async () => {
    const app = await gen.start();
    await gen.redis.del(app.keys.keyState(periodicKey('tick')));
    await gen.redis.set(app.keys.keyState(periodicKey('tick')), 'x');
    const handle = await app.client.replace('tick', null, { key: periodicKey('tick'), delayMs: 60_000 });
    expect(await app.client.status(periodicKey('tick'))).toMatchObject({ state: 'delayed', id: handle.id });
  });
});
