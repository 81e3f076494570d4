/**
 * BENCH_CPU_PROF=<dir>: a drain child writes a V8 CPU profile of its measured window (worker start
 * to last ack) to <dir>/<side>-r<round>.cpuprofile, so the profile holds the per-task path only,
 * not start-up, TypeScript compilation or the prefill. Open it in Chrome DevTools or speedscope.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** Starts profiling when `dir` is set; the returned function stops and writes the profile. */
export async function profileWindow(dir: string | undefined, name: string): Promise<() => Promise<void>> {
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  };
}
