// Liveness heartbeat, run in a worker thread so a blocked main event loop does not stop it.
// Plain JavaScript (not compiled): worker threads load it by path, under ts-jest and from dist.
// workerData: { ioredisPath, redisOptions, keys, leaseMs, intervalMs, maxStallMs, progress }
// `progress` is a SharedArrayBuffer of two times: slot 0 the main loop stamps with Date.now()
// (past `maxStallMs` without a stamp the beat stops, so a stalled process gives its tasks up);
// slot 1 this thread stamps with the time of the last beat Redis confirmed.
// Messages out: { type: 'lapsed', key } when a key had expired before a beat renewed it,
// { type: 'stalled' } once per stall. In: { type: 'stop', release } ends the thread, deleting
// the keys when `release` (a clean shutdown hands the tasks over at once).
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Redis = require(workerData.ioredisPath);

const { keys, leaseMs, intervalMs, maxStallMs } = workerData;
const progress = new BigInt64Array(workerData.progress);
const redis = new Redis({ ...workerData.redisOptions, maxRetriesPerRequest: 1, lazyConnect: false });
redis.on('error', () => {}); // reconnects by itself; the main thread logs its own connections.
const established = new Set();
let stalled = false;
let busy = false;

async function beat() {
  if (busy) return undefined;
  const sinceProgress = Date.now() - Number(Atomics.load(progress, 0));
  if (sinceProgress > maxStallMs) {
    if (!stalled) parentPort.postMessage({ type: 'stalled', sinceProgress });
    stalled = true;
    return;
  }
  stalled = false;
  busy = true;
  const sentAt = Date.now();
  try {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.set(key, '1', 'PX', leaseMs, 'GET');
    const replies = (await pipeline.exec()) || [];
    let failure;
    replies.forEach(([error, previous], i) => {
      if (error) return void (failure = failure || error.message);
      if (previous === null && established.has(keys[i])) parentPort.postMessage({ type: 'lapsed', key: keys[i] });
      established.add(keys[i]);
    });
    // Slot 1: when every key was last renewed (the time the beat was sent: the lease runs from it).
    if (!failure) Atomics.store(progress, 1, BigInt(sentAt));
    return failure;
  } catch (error) {
    // Redis unreachable: the lease runs down; a later beat reports the lapse.
    return error.message;
  } finally {
    busy = false;
  }
}

const timer = setInterval(beat, intervalMs);
beat().then((error) => parentPort.postMessage({ type: 'ready', error }));

parentPort.on('message', async (message) => {
  if (message.type !== 'stop') return;
  clearInterval(timer);
  try {
    if (message.release && keys.length > 0) await redis.del(...keys);
    await redis.quit();
  } catch {
    redis.disconnect();
  }
  parentPort.postMessage({ type: 'stopped' });
});
