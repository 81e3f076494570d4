/**
 * Runs ONE measurement in a fresh process, so no side inherits another's heap, JIT state, timers or
 * connections. Reads the job from BENCH_JOB, reports one message to the parent over IPC, then lets
 * the event loop empty by itself: a side that leaves handles open after closing shows up as a child
 * that does not exit (the parent notes it).
 */
import { ChildJob, ChildMessage, Side, SideName } from './scenario';
import { RedisProbe } from './redis-stats';

async function loadSide(name: SideName): Promise<Side> {
  // Loaded lazily so the BullMQ and raw children never load lib/ (and work before it compiles).
  switch (name) {
    case 'bullmq':
      return (await import('./bullmq-side')).side;
    case 'raw':
      return (await import('./raw-side')).side;
    case 'sq':
    case 'sq-limit':
    case 'sq-groups':
    case 'sq-rate':
      return (await import('./sq-side')).side;
    case 'sq-observed':
    case 'sq-observed-sampled':
      (await import('./observed')).installTracing(name);
      return (await import('./sq-side')).side;
  }
}

async function main(): Promise<ChildMessage> {
  const job = JSON.parse(process.env.BENCH_JOB ?? 'null') as ChildJob | null;
  if (!job) return { ok: false, error: 'BENCH_JOB is not set: child.ts is started by bench/main.ts' };
  const probe = await RedisProbe.connect(job.redisUrl);
  try {
    const run = (await loadSide(job.side))[job.scenario];
    if (!run) return { ok: false, error: `side ${job.side} has no scenario ${job.scenario}` };
    const result = await run({ job, probe });
    return { ok: true, measurement: { side: job.side, scenario: job.scenario, round: job.round, ...result } };
  } finally {
    await probe.close();
  }
}

function report(message: ChildMessage): void {
  if (process.send) process.send(message, () => process.disconnect());
  else console.log(JSON.stringify(message, null, 2));
}

main().then(report, (err: unknown) =>
  report({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : `non-Error thrown: ${String(err)}` }),
);
