import { closeAll, createRedis, monitorNodeOf, randomPrefix, waitFor } from '../utils/redis';
import type { MonitorConnection } from '../utils/monitor-connection';

/**
 * The specs that count commands through MONITOR open it while the server is busy (a worker's
 * reads and heartbeats, other specs). ioredis's monitor() lost its connection to output that came
 * in the chunk of MONITOR's OK ("Command queue state error": pause.spec failed about one run in
 * three); MonitorConnection takes everything after the OK as output, and decodes every argument.
 */
describe('MonitorConnection (test harness)', () => {
  const prefix = randomPrefix();
  // Cleared here too: a test that fails mid-way (its timeout) must not leave the flood running.
  let traffic = false;
  afterEach(() => (traffic = false));
  afterAll(closeAll);

  it('opens under traffic, and reads back arguments with quotes, NUL, escapes and UTF-8 whole', async () => {
    const busy = createRedis();
    traffic = true;
    const flood = (async () => {
      while (traffic) await Promise.all(Array.from({ length: 50 }, (_, i) => busy.set(`${prefix}:busy:${i}`, 'x')));
    })();
    const odd = ['a" "b', 'nul\0nul', 'tab\tline\nquote"back\\slash', 'é — 😀', '\x7f\x01'];
    try {
      for (let round = 0; round < 20; round++) {
        const monitor: MonitorConnection = await monitorNodeOf(`${prefix}:probe`);
        const seen: string[][] = [];
        monitor.on('monitor', (_time: string, args: string[]) => {
          if (args[1] === `${prefix}:probe`) seen.push(args);
        });
        await busy.rpush(`${prefix}:probe`, ...odd);
        await waitFor(() => seen.length > 0, { description: 'the probe in MONITOR output' });
        expect(seen[0]).toEqual(['rpush', `${prefix}:probe`, ...odd]);
        monitor.disconnect();
      }
    } finally {
      traffic = false;
      await flood;
      await busy.del(`${prefix}:probe`, ...Array.from({ length: 50 }, (_, i) => `${prefix}:busy:${i}`));
    }
  });
});
