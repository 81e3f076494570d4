// Liveness heartbeat, run in a worker thread so a blocked main event loop does not stop it.
// Plain JavaScript (not compiled): worker threads load it by path, under ts-jest and from dist.
// workerData: { ioredisPath, connection, keyGroups, leaseMs, intervalMs, maxStallMs, progress }
// `connection` is the module's topology (topology.ts ThreadConnection): { kind: 'single', options }
// (one node, or a Sentinel primary) or { kind: 'cluster', nodes, options }. `keyGroups` holds the
// liveness keys by hash slot: one pipeline per group, since a cluster pipeline stays in one slot.
// `progress` is a SharedArrayBuffer of seven numbers and two per key, the times on the process's
// monotonic clock (process.hrtime, shared by every thread and never stepped with the wall clock):
//   slot 0: the main loop stamps it (past `maxStallMs` without a stamp the beat stops, so a
//           stalled process gives its tasks up);
//   slot 1: when the last beat Redis confirmed was sent (the lease runs at least until then
//           plus leaseMs);
//   slot 2: since when the keys have existed without a break (the reply time of the first beat
//           of the current unbroken chain of beats), -1 before the first and from a beat that
//           finds a key gone until a beat is confirmed again (shared: a restarted thread sees it);
//   slot 3: the incarnation n: the keys hold `${incarnationBase}:${n}`, 0 before any was written;
//   slot 4: when the reply came that created a key with that value; while that write is on its
//           way, a time no run precedes (slot 4 is set to it before slot 3 moves on);
//   slots 5 and 6: renewals asked by the main thread (LeaseKeeper.renewIncarnation: runs aborted
//           as unconfirmed, the keys maybe never lapsed) and done: a beat that sees more asked
//           writes every key with the next incarnation and starts a new chain, then records the
//           renewals done (after slot 2), so a keyed run claimed under the old value (its field
//           rliv) is judged abandoned, as its abort left it; nothing starts while one is pending;
//   slots 7 + 2i and 8 + 2i, for keys[i]: the incarnation that last created the key (SET NX after
//           it was found gone), set before that write, and when its reply came (UNKNOWN before,
//           and when it was lost until a beat finds the key): a key holding a value of that
//           incarnation or a later one has existed without a break since then, whatever values
//           it held meanwhile (see LeaseKeeper.unbrokenSince, and Settler).
// A beat only renews keys that exist (SET XX); one it finds gone is created again with the next
// incarnation (SET NX), the others renewed with it in the same write, so a key holding a value has
// existed without a break since that value was first written, and since the key's last creation
// (slots 7 + 2i) if that came before: a settle whose reply was lost asks that of Redis (see
// Settler), to tell its own earlier call from another worker's takeover.
// A chain breaks when a beat finds a key gone (it expired: another worker may have reclaimed
// this worker's entries) or when a beat is confirmed later than the previous one's lease could
// have lasted. The main thread starts an entry only if Redis handed it over after that time.
// A thread restarted after its predecessor died (the slots outlive it) counts every key as
// written: one it finds gone lapsed, in the gap or before, and is reported as any lapse is.
// Messages out: { type: 'ready', error } after the first beat (error: why it failed, undefined
// when it succeeded), { type: 'lapsed', key } when a key had expired before a beat renewed it,
// { type: 'stalled', sinceProgress } once per stall, { type: 'stopped', released } after a stop
// (released: its DEL of the keys was answered). In:
// { type: 'stop', release } ends the thread, deleting the keys when `release` (a clean shutdown
// hands the tasks over at once).
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Redis = require(workerData.ioredisPath);

const { connection, keyGroups, leaseMs, intervalMs, maxStallMs, incarnationBase } = workerData;
const keys = keyGroups.flat();
const nonEmpty = keyGroups.filter((group) => group.length > 0);
const progress = new BigInt64Array(workerData.progress);
const redis =
  connection.kind === 'cluster'
    ? new Redis.Cluster(connection.nodes, {
        ...connection.options,
        redisOptions: { ...connection.options.redisOptions, maxRetriesPerRequest: 1 },
        lazyConnect: false,
      })
    : new Redis({ ...connection.options, maxRetriesPerRequest: 1, lazyConnect: false });
// Reconnects by itself; the main thread logs its own connections. The last connection error is
// kept: a beat that fails for want of a connection reports it, not ioredis's retry-limit wording.
let connectionError;
redis.on('error', (error) => void (connectionError = error.message));
redis.on('ready', () => void (connectionError = undefined));
// Clock-rate drift between this host and Redis is far below this share of a lease.
const CONTINUITY_MARGIN = 0.02;
const established = new Set();
let stalled = false;
let busy = false;
let stopping = false;

const why = (error) =>
  error.name === 'MaxRetriesPerRequestError' && connectionError ? connectionError : error.message;
const monotonicMs = () => Number(process.hrtime.bigint() / 1000000n);

async function beat() {
  // After a stop, nothing is written: see the 'stop' handler.
  if (busy || stopping) return undefined;
  const sinceProgress = monotonicMs() - Number(Atomics.load(progress, 0));
  if (sinceProgress > maxStallMs) {
    if (!stalled) parentPort.postMessage({ type: 'stalled', sinceProgress });
    stalled = true;
    return;
  }
  stalled = false;
  busy = true;
  const sentAt = monotonicMs();
  const asked = Atomics.load(progress, RENEW_ASKED);
  const renew = asked !== Atomics.load(progress, RENEW_DONE);
  try {
    const replies = (await withinBeatTimeout(beatAll())).flat();
    let failure;
    let lapsed = false;
    const gone = [];
    replies.forEach(([error, previous], i) => {
      if (error) return void (failure = failure || why(error));
      if (previous !== null) return void established.add(keys[i]);
      gone.push(keys[i]);
      if (established.has(keys[i])) {
        // The chain is broken from now on, not from the new write's reply: nothing proven before
        // counts while the key is written again, nor after if that reply is lost or this thread
        // dies first (the slot outlives it): the next confirmed beat starts a new chain.
        if (!lapsed) Atomics.store(progress, 2, -1n);
        lapsed = true;
        parentPort.postMessage({ type: 'lapsed', key: keys[i] });
      }
    });
    if (failure) return failure;
    if (gone.length > 0 || renew) {
      // The stop came while this beat was on its way: its DEL may have run after the renewal
      // above, so a key found gone stays gone (see the 'stop' handler).
      if (stopping) return undefined;
      failure = await withinBeatTimeout(createAll(gone));
      if (failure) return failure;
      gone.forEach((key) => established.add(key));
    }
    const receivedAt = monotonicMs();
    // A creation whose reply was lost left its start unknown: every key renewed with the value
    // since then has held it without a break from this beat on.
    if (gone.length === 0 && Atomics.load(progress, INCARNATION_SINCE) === UNKNOWN)
      Atomics.store(progress, INCARNATION_SINCE, BigInt(receivedAt));
    keys.forEach((key, i) => {
      if (!gone.includes(key) && Atomics.load(progress, keySince(i)) === UNKNOWN)
        Atomics.store(progress, keySince(i), BigInt(receivedAt));
    });
    const previousSentAt = Number(Atomics.load(progress, 1));
    const heldSince = Number(Atomics.load(progress, 2));
    const continuous = heldSince >= 0 && receivedAt - previousSentAt < leaseMs * (1 - CONTINUITY_MARGIN);
    // Order matters to the main thread: the chain's start moves before the confirmation does.
    if (lapsed || renew || !continuous) Atomics.store(progress, 2, BigInt(receivedAt));
    Atomics.store(progress, 1, BigInt(sentAt));
    if (renew) Atomics.store(progress, RENEW_DONE, asked);
    return undefined;
  } catch (error) {
    // Redis unreachable: the lease runs down; a later beat reports the lapse.
    return why(error);
  } finally {
    busy = false;
  }
}

const INCARNATION = 3;
const INCARNATION_SINCE = 4;
const RENEW_ASKED = 5;
const RENEW_DONE = 6;
const UNKNOWN = BigInt(Number.MAX_SAFE_INTEGER);
const keyCreated = (i) => 7 + 2 * i;
const keySince = (i) => 8 + 2 * i;
const incarnation = () => `${incarnationBase}:${Atomics.load(progress, INCARNATION)}`;
// A restarted thread (a predecessor took an incarnation) counts every key as written: the
// lease's first beat wrote them all (a lease whose first beat failed never starts), so a key it
// finds gone lapsed, in the gap between the threads or before, and is reported as any lapse is.
if (Atomics.load(progress, INCARNATION) > 0n) keys.forEach((key) => established.add(key));

// Keys found gone (the first beat, or a lapse) are written with the next incarnation, never
// with one a key held before, and the keys found there are renewed with it in the same write
// (SET XX): every key holds the lease's one value from that reply on. A key that did not lapse
// changes its value only in the beat that starts a new chain, never inside a chain: a keyed run
// records the value it was claimed under (rliv, see stranded-run.lua), and one claimed after the
// new chain began under a value the next beat replaced was judged gone while it ran.
// Resolves to why it failed, or undefined.
async function createAll(gone) {
  // The number is taken before the write, so no later write can hold a value a key held before
  // (a thread that dies after the write restarts on the number after it); until the write is
  // confirmed, the incarnation's start is unknown and proves nothing (and no keyed claim records
  // the value: claim.lua marks a run only under the one the worker passes, Lease.livenessSince).
  Atomics.store(progress, INCARNATION_SINCE, UNKNOWN);
  const n = Atomics.add(progress, INCARNATION, 1n) + 1n;
  const value = `${incarnationBase}:${n}`;
  // Likewise per key created: its start unknown before the creation is, so no value it then
  // holds is read with an older start.
  const created = keys.flatMap((key, i) => (gone.includes(key) ? [i] : []));
  for (const i of created) {
    Atomics.store(progress, keySince(i), UNKNOWN);
    Atomics.store(progress, keyCreated(i), n);
  }
  const pipelines = nonEmpty.map((group) => {
    const pipeline = redis.pipeline();
    for (const key of group) pipeline.set(key, value, 'PX', leaseMs, gone.includes(key) ? 'NX' : 'XX');
    return pipeline.exec();
  });
  try {
    const replies = (await Promise.all(pipelines)).flatMap((r) => r || []);
    const error = replies.find(([e]) => e);
    if (error) return why(error[0]);
    const now = BigInt(monotonicMs());
    // A creation that found the key there (NX refused) created nothing: its start stays unknown.
    for (const i of created) if (replies[i] && replies[i][1] === 'OK') Atomics.store(progress, keySince(i), now);
  } catch (error) {
    return why(error);
  }
  Atomics.store(progress, INCARNATION_SINCE, BigInt(monotonicMs()));
  return undefined;
}

// One pipeline per group, all sent at once; a group whose pipeline failed answers its error per key.
// A key is renewed only if it exists (XX): its value says since when it has (see the header).
function beatAll() {
  const value = incarnation();
  return Promise.all(
    nonEmpty.map((group) => {
      const pipeline = redis.pipeline();
      for (const key of group) pipeline.set(key, value, 'PX', leaseMs, 'XX', 'GET');
      return pipeline.exec().then(
        (replies) => replies || [],
        (error) => group.map(() => [error]),
      );
    }),
  );
}

// A beat unanswered by now is on a dead connection (half-open: a NAT that lost its state, a peer
// gone without a FIN), which the OS may take many minutes to notice. Every later beat would wait
// behind it (`busy`), so the connection is dropped and made again, and a beat goes out as soon as
// the new one is ready: the lost beat may have renewed the keys (Redis read it, the reply was
// lost) and they expire a lease after it, so waiting for the next tick (a lease after it, when
// the interval divides the lease) let a live worker's keys lapse. A beat waits leaseMs - 2
// intervals, at most half the lease (a third at least, as the config bounds the interval): the
// rest is left for the reconnect and that beat.
// (The race is lib/race-timeout.ts's, written again: a worker thread loads no TypeScript.)
const BEAT_TIMEOUT_MS = Math.max(1, Math.min(leaseMs - 2 * intervalMs, Math.floor(leaseMs / 2)));
let beatWhenReady = false;
redis.on('ready', () => {
  if (!beatWhenReady || stopping) return;
  beatWhenReady = false;
  void beat();
});
function withinBeatTimeout(exec) {
  let timer;
  let turn;
  const timeout = new Promise((_, reject) => {
    // One turn of I/O after the timer, as there: a reply read in it wins (finally clears the turn).
    timer = setTimeout(() => {
      turn = setImmediate(() => {
        beatWhenReady = true;
        redis.disconnect(true);
        reject(new Error(`no reply to the heartbeat within ${BEAT_TIMEOUT_MS} ms; reconnecting`));
      });
    }, BEAT_TIMEOUT_MS);
  });
  exec.catch(() => undefined); // settled after a timeout: nobody waits for it any more
  return Promise.race([exec, timeout]).finally(() => {
    clearTimeout(timer);
    clearImmediate(turn);
  });
}

// The first beat waits for the connection's first outcome: a cluster client's start (its slot
// map, then each master) may take longer than a beat may, and counts for nothing then.
const connected = new Promise((resolve) => {
  redis.once('ready', resolve);
  redis.once('error', resolve);
});
let timer;
connected.then(beat).then((error) => {
  if (!stopping) timer = setInterval(beat, intervalMs);
  parentPort.postMessage({ type: 'ready', error });
});

// From `stopping` on, no key is written (a beat in flight does not write one it found gone, no
// beat starts): every write of this thread was then sent before the DEL, on this one connection,
// so Redis runs it before the DEL, and a key deleted stays deleted. (A creation sent before may
// be resent on a new connection after its reply was lost, before the DEL too: ioredis resends
// those ahead of commands queued meanwhile.) Were a beat in flight to write a key it found gone
// after a lapse at the stop, the key would be back for a lease: the stopped worker would look
// alive and its runs would wait that lease to be taken over.
parentPort.on('message', async (message) => {
  if (message.type !== 'stop') return;
  stopping = true;
  clearInterval(timer);
  // released: the DEL was answered; otherwise the main thread deletes the keys, once this
  // thread ended (LeaseKeeper.stop).
  let released = false;
  try {
    if (message.release) await Promise.all(nonEmpty.map((group) => redis.del(...group)));
    released = message.release === true;
    await redis.quit();
  } catch {
    redis.disconnect();
  }
  parentPort.postMessage({ type: 'stopped', released });
});
