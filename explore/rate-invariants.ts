import type { FlowView } from './flow-snapshot';
import type { Check, Violation } from './invariants';
import { TASK } from './protocol-adapter';
import { ledgerEntry, type LedgerStart } from './rate-ledger';
import { windowName, windowsOf, type RateWindow } from './rate-snapshot';
import { unsettledEntry, type Snapshot } from './snapshot';
import type { World } from './world';

const violation = (invariant: string, tag: string, message: string): Violation => ({ invariant, tag, message });

/** Checks one partition's rate state; a world without rate limits has none to check. */
const perRate =
  (check: (world: World, flow: FlowView, snap: Snapshot, partition: number) => Violation[]): Check =>
  (world, snaps) =>
    world.shape.flow?.rate || world.shape.flow?.groupRate
      ? snaps.flatMap((snap, p) => (snap.flow ? check(world, snap.flow, snap, p) : []))
      : [];

/** The windows of every group the world's task runs in (the task's own window once). */
function allWindows(world: World): RateWindow[] {
  const byKey = new Map<string, RateWindow>();
  for (const group of world.shape.flow?.groups ?? [])
    for (const w of windowsOf(world.shape.flow, TASK, group)) byKey.set(w.window, w);
  return [...byKey.values()];
}

/** The partition a ledger start was read from (ledgerEntry names entries past partition 0). */
export const partitionOfStart = (s: LedgerStart): number => Number(/@p(\d+)$/.exec(s.entryId)?.[1] ?? 0);

/**
 * The windows of a task's group as partition `flow` enforces them: a task window's max is the
 * rateLimit.max it recorded there (its share on a partitioned queue: flowLimitsOf), a group
 * window's the shape's (group limits stay whole).
 */
function windowsHere(world: World, flow: FlowView, name: string, group: string): RateWindow[] {
  const recorded = flow.limits.get(name)?.rate ?? 0;
  return windowsOf(world.shape.flow, name, group).map((w) =>
    w.window.startsWith('t\0') && recorded > 0 ? { ...w, max: recorded } : w,
  );
}

/**
 * Tokens a window holds in partition `p` at the world's clock: its starts there within perMs,
 * and its pending markers (a task window of a partitioned queue has one in each partition).
 */
function tokensHeld(world: World, flow: FlowView, w: RateWindow, p: number): number {
  const now = world.rates.nowOf(flow.rate);
  const recent = world.rates.startsOf(w.window).filter((s) => partitionOfStart(s) === p && s.at > now - w.perMs);
  return recent.length + flow.rate.markers.filter((m) => m.window === w.window).length;
}

/** Reservations held in a window (held restarts' claims on its next tokens). */
function reservedIn(flow: FlowView, w: RateWindow): number {
  return flow.rate.reservations.filter((r) => r.window === w.window).length;
}

/**
 * Within the rate: in every window, the starts of the last perMs plus the pending markers (the
 * tokens taken at admission, each a start to come) never exceed the max the partition enforces;
 * and over the whole schedule, no interval of perMs holds more than the whole max starts in all
 * partitions (the guarantee; the ledger keeps the records Redis trimmed, of every partition).
 * Starts are on the world's clock: Redis's, plus what `elapse` added.
 */
export const rateWithinLimit = perRate((world, flow, _snap, p) => {
  const out: Violation[] = [];
  for (const w of allWindows(world)) {
    const held = tokensHeld(world, flow, w, p);
    const max = windowsHere(world, flow, TASK, '').find((x) => x.window === w.window)?.max ?? w.max;
    if (held > max)
      out.push(violation('rateWithinLimit', 'window', `window ${windowName(w.window)} holds ${held} tokens > ${max}`));
    const starts = world.rates.startsOf(w.window);
    for (const first of starts) {
      const within = starts.filter((s) => s.at >= first.at && s.at < first.at + w.perMs);
      if (within.length > w.max) {
        const names = within.map((s) => `${s.entryId}#${s.delivery}`).join(' ');
        out.push(
          violation(
            'rateWithinLimit',
            'interval',
            `window ${windowName(w.window)}: ${within.length} starts > ${w.max} within perMs: ${names}`,
          ),
        );
        break;
      }
    }
  }
  return out;
});

/**
 * One token per window for each admitted run until it starts: an unsettled rated entry of the
 * stream whose claim has not started it yet holds exactly one marker per window of it (except
 * one a restart took over: see RateLedger.handedOver), and one that started holds none (its
 * start record counts instead). A marker without such an entry is a leaked token: its window
 * stays short of one start for good.
 */
export const rateMarkersMatchEntries = perRate((world, flow, snap, p) => {
  const out: Violation[] = [];
  const markers = new Map<string, string[]>();
  for (const m of flow.rate.markers) markers.set(m.entryId, [...(markers.get(m.entryId) ?? []), m.window]);
  for (const [entryId, c] of snap.stream) {
    if (!c.rated || !unsettledEntry(snap, entryId)) continue;
    const windows = windowsOf(world.shape.flow, TASK, c.flow ?? '').map((w) => w.window);
    const held = markers.get(entryId) ?? [];
    markers.delete(entryId);
    const named = ledgerEntry(entryId, p);
    const started = world.rates.started(named);
    const expected = started ? [] : windows.filter((w) => !world.rates.handedOver.has(`${w}\0${named}`));
    const same = held.length === expected.length && expected.every((w) => held.includes(w));
    if (!same)
      out.push(
        violation(
          'rateMarkersMatchEntries',
          started ? 'started-with-marker' : 'marker-missing',
          `${world.alias(c.id)}'s entry ${entryId} (${started ? 'started' : 'not started'}) holds markers in [${held.map(windowName).join(' ')}], expected [${expected.map(windowName).join(' ')}]`,
        ),
      );
  }
  for (const [entryId, windows] of markers)
    out.push(
      violation(
        'rateMarkersMatchEntries',
        'leaked',
        `markers of entry ${entryId} in [${windows.map(windowName).join(' ')}]: no unsettled rated entry holds them`,
      ),
    );
  return out;
});

/**
 * No start bypasses claim.lua: every run of a rated entry the explorer saw start has a start
 * record of its own in each window of it (a record per claim that let a run start; a claim
 * whose run never started leaves one more, which only costs a token).
 */
export const rateStartsRecorded = perRate((world) => {
  const out: Violation[] = [];
  for (const [entryId, run] of world.rates.runs)
    for (const w of windowsOf(world.shape.flow, TASK, run.group)) {
      const records = world.rates.recordsOfEntry(w.window, entryId);
      if (records < run.count)
        out.push(
          violation(
            'rateStartsRecorded',
            'bypass',
            `${world.alias(run.taskId)} (entry ${entryId}) started ${run.count} time(s), window ${windowName(w.window)} recorded ${records}`,
          ),
        );
    }
  return out;
});

/**
 * A task waiting for a token is served without polling, so something already planned must
 * admit it. For a rated task in the room whose slots are free (one waiting for a slot is fed by
 * the release of a run holding it: flowNoIdleSlot's concern):
 * - stranded: it is covered by a wake of its pair (due or future: `elapse` makes it due, and
 *   `promote` rings the pair and feeds), or its pair is in the ring and a wake of its task or a
 *   held run of its task (whose release feeds the ring) will pass over the ring. Otherwise
 *   nothing will ever admit it: no time passing, only an unrelated enqueue or settle.
 * - idle-token: when every window of it has a free token now, a wake covering it is due (time
 *   freed the token: the promotion loop admits it now). Otherwise it waits with a free token
 *   and free slots for a later wake or a release: a start later than the limit allows.
 */
export const rateWaitServed = perRate((world, flow, _snap, p) => {
  const out: Violation[] = [];
  const now = flow.rate.now;
  const due = (member: string) => (flow.rate.wakes.get(member) ?? Infinity) <= now;
  for (const t of flow.room) {
    const limits = flow.limits.get(t.name) ?? { global: 0, group: 0 };
    const pair = `${t.name}\0${t.group}`;
    const slotsFree =
      (limits.group === 0 || (flow.count.get(pair) ?? 0) < limits.group) &&
      (limits.global === 0 || (flow.count.get(t.name) ?? 0) < limits.global);
    const windows = windowsHere(world, flow, t.name, t.group);
    if (!slotsFree || windows.length === 0) continue;
    const ringed = flow.ringed.has(pair);
    const covered =
      flow.rate.wakes.has(pair) || (ringed && (flow.rate.wakes.has(t.name) || (flow.count.get(t.name) ?? 0) > 0));
    const where = `${world.alias(t.id)} of group ${t.group} waits with free slots${ringed ? ', its pair in the ring' : ''}`;
    if (!covered) {
      out.push(violation('rateWaitServed', 'stranded', `${where}: no wake and no held run will admit it`));
      continue;
    }
    // A token a held restart reserved is not free for it: the restart comes first.
    const tokensFree = windows.every((w) => tokensHeld(world, flow, w, p) + reservedIn(flow, w) < w.max);
    if (tokensFree && !due(pair) && !(ringed && due(t.name)))
      out.push(violation('rateWaitServed', 'idle-token', `${where}, a free token in each window, and no due wake`));
  }
  return out;
});

/**
 * A reservation (a held restart's claim on a full window's next token, which admissions count)
 * belongs to an unsettled entry of the stream that waits to start, in a window of it. One left
 * by an entry settled or removed keeps a token from every admission for good; one left by the
 * run that started (on the worker the entry is pending under) keeps a token idle while it runs.
 */
export const rateReservationsHeld = perRate((world, flow, snap) => {
  const out: Violation[] = [];
  const runningHere = (entryId: string) =>
    world.runs.some(
      (run) =>
        run.info.entryId === entryId && snap.pending.get(entryId)?.owner === world.workers[run.worker].sim.consumer,
    );
  for (const r of flow.rate.reservations) {
    const c = snap.stream.get(r.entryId);
    const live = c !== undefined && unsettledEntry(snap, r.entryId);
    const ofIt = live && windowsOf(world.shape.flow, TASK, c.flow ?? '').some((w) => w.window === r.window);
    const problem = !live
      ? ['leaked', 'no unsettled entry holds it']
      : !ofIt
        ? ['foreign-window', 'not a window of it']
        : runningHere(r.entryId)
          ? ['started', 'its run started on the worker that holds it']
          : undefined;
    if (problem)
      out.push(
        violation(
          'rateReservationsHeld',
          problem[0],
          `a reservation of entry ${r.entryId} in ${windowName(r.window)}: ${problem[1]}`,
        ),
      );
  }
  return out;
});

/**
 * A wake is no later than a token frees by time: when the window it serves holds a start record
 * (within perMs), its earliest leaves the window at its time + perMs, and a wake set later would
 * leave the waiting pairs idle past then (a window that held only marks when the wake was set
 * gets its wake brought forward by the claim that starts one).
 */
export const rateWakeOnTime = perRate((world, flow) => {
  const out: Violation[] = [];
  const shape = world.shape.flow;
  for (const [member, at] of flow.rate.wakes) {
    const cut = member.indexOf('\0');
    if (member.length === 1 && member.charCodeAt(0) < 32) continue; // a promotion's budget mark
    const w =
      cut < 0
        ? windowsOf(shape, member, '').find((x) => x.window.startsWith('t\0'))
        : windowsOf(shape, member.slice(0, cut), member.slice(cut + 1)).find((x) => x.window.startsWith('g\0'));
    if (!w) continue;
    const inWindow = flow.rate.records.filter((r) => r.window === w.window && r.at > flow.rate.now - w.perMs);
    if (inWindow.length === 0) continue;
    const frees = Math.min(...inWindow.map((r) => r.at)) + w.perMs;
    if (at > frees)
      out.push(
        violation(
          'rateWakeOnTime',
          'late',
          `the wake of ${windowName(w.window)} is due ${at - frees} ms after its earliest start leaves the window`,
        ),
      );
  }
  return out;
});

/**
 * One start record per delivery and window: a record '<W>\0<ms>\0<entry id>\0<delivery>' names the
 * delivery that counted it by its entry id and its delivery number (the entry's count in the
 * group's pending list at that claim, claim.lua; uncount.lua, which lowers the count so that the
 * number names the next delivery again, turns the given-back delivery's record into a marker
 * first), and a delivery's run starts at most once. So among the records a window counts
 * (rateCount: those within perMs of Redis's now; older ones wait for the next trim and count
 * nowhere), no delivery holds two. A second one is a token lost for perMs (the limit binds
 * stricter than configured): a claim again after a pause, or a first claim of a delivery whose
 * start was counted already (resent after its reply was lost, a held read reply's), that took a
 * token instead of finding the earlier record (rateEarlierRecord) and moving it. Read from Redis's records, not the ledger, which
 * keeps one per delivery and would hide the double count.
 * Markers and reservations are not start records (no time, no delivery part) and are left out:
 * an entry's marker may stand beside a record of the same entry, as the design allows:
 * uncount.lua gives a later delivery's counted start back as the entry's marker while an
 * earlier delivery's record stays (that start was counted once); a held restart's reservation
 * likewise stands beside its earlier delivery's record. A marker left beside the record its own
 * start made is rateMarkersMatchEntries's [started-with-marker]. Records of two deliveries of
 * one entry (a start, then a restart on a token of its own) are two starts, both counted.
 */
export const rateOneStartPerDelivery = perRate((world, flow) => {
  const out: Violation[] = [];
  for (const w of allWindows(world)) {
    const counted = flow.rate.records.filter((r) => r.window === w.window && r.at > flow.rate.now - w.perMs);
    const byDelivery = new Map<string, number[]>();
    for (const r of counted) {
      const delivery = `${r.entryId}#${r.delivery}`;
      byDelivery.set(delivery, [...(byDelivery.get(delivery) ?? []), r.at]);
    }
    for (const [delivery, times] of byDelivery)
      if (times.length > 1)
        out.push(
          violation(
            'rateOneStartPerDelivery',
            'double-start',
            `window ${windowName(w.window)} holds ${times.length} start records of delivery ${delivery} (at ${times.map((t) => t - flow.rate.now).join(', ')} ms from now)`,
          ),
        );
  }
  return out;
});

/** Rate limits' checks, after every step. */
export const RATE_INVARIANTS: Check[] = [
  rateWithinLimit,
  rateMarkersMatchEntries,
  rateStartsRecorded,
  rateWaitServed,
  rateReservationsHeld,
  rateWakeOnTime,
  rateOneStartPerDelivery,
];
