import { failScript } from '../../lib/scripts/fail.script';
import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { unpackedFields } from '../../lib/task/packed-fields';
import { closeAll } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LIMITS: FlowLimits[] = [
  { global: 1, group: 1, agingMs: 1000 },
  { global: 2, group: 1, agingMs: 1000 },
  { global: 2, group: 0, agingMs: 1000 },
  { global: 0, group: 1, agingMs: 1000 },
  { global: 3, group: 2, agingMs: 1000 },
  { global: 0, group: 0, agingMs: 1000 },
];

/**
 * Random schedules of the settle paths the explorer's flow worlds do not take (a plain entry of the
 * limited task moved into admission with limits that may differ, a redrive, dead-letter.lua, a
 * remove of an admitted or waiting task, a reclaim from a worker judged dead and its zombie's late
 * settles), with limits changed by some enqueues. After every step: each hold names an admitted
 * entry not yet settled and each such entry holds its slot, the counts equal the holds, and no
 * task waits while its group and its task have a free slot. FLOW_SEEDS and FLOW_SEED widen a run.
 */
describe('flow slots through random schedules of every settle path', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const record = (fields: string[]) => {
    const u = unpackedFields(fields);
    const r: Record<string, string> = {};
    for (let i = 0; i + 1 < u.length; i += 2) if (!(u[i] in r)) r[u[i]] = u[i + 1];
    return r;
  };

  async function check(log: string[]): Promise<void> {
    const tasks = await f.redis.hgetall(f.keys.flow.tasks);
    const count = await f.redis.hgetall(f.keys.flow.count);
    const limitsText = await f.redis.hget(f.keys.flow.limits, 'job');
    const [g, gr] = (limitsText ?? '0 0').split(' ').map(Number);
    const stream = await f.redis.xrange(f.keys.stream, '-', '+');
    const pending = new Set(
      ((await f.redis.xpending(f.keys.stream, GROUP, '-', '+', 1000)) as [string][]).map((r) => r[0]),
    );
    const info = (await f.redis.xinfo('GROUPS', f.keys.stream)) as unknown[][];
    const last = String(info[0][info[0].indexOf('last-delivered-id') + 1]);
    const gt = (a: string, b: string) => {
      const [a1, a2] = a.split('-').map(BigInt);
      const [b1, b2] = b.split('-').map(BigInt);
      return a1 > b1 || (a1 === b1 && a2 > b2);
    };
    const unsettled = new Map<string, Record<string, string>>();
    for (const [id, fields] of stream) if (pending.has(id) || gt(id, last)) unsettled.set(id, record(fields));
    const held = new Map<string, number>();
    const problems: string[] = [];
    for (const [id, state] of Object.entries(tasks)) {
      if (state.startsWith('\0')) continue;
      const [entryId, name, group] = state.split('\0');
      const e = unsettled.get(entryId);
      if (!e || e.id !== id)
        problems.push(
          `hold ${id} -> ${entryId} not unsettled (in stream: ${stream.some(([x]) => x === entryId)}, pending: ${pending.has(entryId)}, last ${last}, e ${JSON.stringify(e)})`,
        );
      held.set(name, (held.get(name) ?? 0) + 1);
      held.set(`${name}\0${group}`, (held.get(`${name}\0${group}`) ?? 0) + 1);
    }
    for (const [entryId, e] of unsettled)
      if (e.fl === '1' && !(tasks[e.id] ?? '').startsWith(entryId + '\0'))
        problems.push(`entry ${entryId} of ${e.id} admitted without hold`);
    for (const [field, n] of Object.entries(count))
      if ((held.get(field) ?? 0) !== Number(n)) problems.push(`count ${field} = ${n}, held ${held.get(field) ?? 0}`);
    for (const [field, n] of held) if (count[field] === undefined) problems.push(`count ${field} missing, held ${n}`);
    // A waiting task with a free slot in its group and its task waits for nothing.
    const room = await f.redis.zrange(f.keys.flow.room, 0, -1);
    for (const m of room) {
      const [name, group] = m.split('\0');
      const gc = Number(count[`${name}\0${group}`] ?? 0);
      const tc = Number(count[name] ?? 0);
      if (!(gr > 0 && gc >= gr) && !(g > 0 && tc >= g)) problems.push(`idle: ${m.split('\0')[3]} of ${group} waits`);
    }
    if (problems.length) throw new Error(problems.join('\n') + '\n--\n' + log.join('\n'));
  }

  it.each(
    Array.from({ length: Number(process.env.FLOW_SEEDS ?? 100) }, (_, i) => i + Number(process.env.FLOW_SEED ?? 1)),
  )(
    'seed %i',
    async (seed) => {
      const r = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
      let limits = pick(LIMITS.slice(0, 5));
      let n = 0;
      const held: Record<string, [string, Record<string, string>][]> = { a: [], b: [] };
      const log: string[] = [];
      for (let step = 0; step < 60; step++) {
        const op = r();
        if (op < 0.25) {
          if (r() < Number(process.env.FLOW_CHANGE ?? 0.2)) limits = pick(LIMITS);
          const id = `t${++n}`;
          const group = pick(['g1', 'g2', 'g3', 'g4', '']);
          const rep = await f.enqueueFlow(id, limits, group);
          log.push(`enqueue ${id} ${group} ${JSON.stringify(limits)} -> ${rep.entryId ?? 'wait'}`);
        } else if (op < 0.32) {
          const id = `p${++n}`;
          await f.redis.xadd(f.keys.stream, '*', 'id', id, 'n', 'job', 'p', '{}', 'a', '1');
          log.push(`plain ${id}`);
        } else if (op < 0.5) {
          const c = pick(['a', 'b']);
          const got = await f.deliver(c, 1);
          for (const [entryId, fields] of got) {
            if (fields.fl !== '1') {
              const lim = r() < 0.2 ? pick(LIMITS) : limits;
              const rep = await enterAdmissionScript(f.keys, {
                group: GROUP,
                consumer: c,
                entryId,
                taskId: fields.id,
                limits: lim,
              }).run(f.redis);
              log.push(
                `read ${c} ${entryId} ${fields.id} plain -> move ${JSON.stringify(lim)} ${rep.outcome} ${rep.entryId}`,
              );
            } else {
              held[c].push([entryId, fields]);
              log.push(`read ${c} ${entryId} ${fields.id}`);
            }
          }
        } else if (op < 0.75) {
          const c = pick(['a', 'b']);
          if (held[c].length === 0) continue;
          const i = Math.floor(r() * held[c].length);
          const [entryId, fields] = held[c][i];
          const kind = r();
          let rep: unknown;
          if (kind < 0.5) rep = await f.complete(c, [{ entryId, id: fields.id, flow: true }]);
          else if (kind < 0.75)
            rep = await failScript(f.keys, {
              group: GROUP,
              consumer: c,
              stateTtlMs: LEASE_MS,
              entryId,
              retryInMs: r() < 0.7 ? 0 : undefined,
              resultTtlMs: LEASE_MS,
              failure: '{"ok":false}',
              deadLetterReason: 'boom',
              deadLetterMaxLen: 100,
              successor: '',
              task: {
                id: fields.id,
                name: 'job',
                payload: '{}',
                attempt: Number(fields.a) + 1,
                generation: 0,
                keepResult: false,
                flow: { group: fields.gr, priority: fields.pr === undefined ? undefined : Number(fields.pr) },
              },
            }).run(f.redis);
          else rep = await f.deadLetter(c, entryId, 'x', { id: fields.id });
          if (r() < 0.8) held[c].splice(i, 1);
          log.push(
            `settle ${c} ${entryId} ${fields.id} ${kind < 0.5 ? 'complete' : kind < 0.75 ? 'retry' : 'dead'} -> ${JSON.stringify(rep)}`,
          );
        } else if (op < 0.8) {
          // a is judged dead; b reclaims its entries
          const rows = (await f.redis.xpending(f.keys.stream, GROUP, '-', '+', 100, 'a')) as [string][];
          const rep = await f.reclaim(
            'b',
            rows.map((x) => [x[0], 'a']),
            3,
          );
          for (const [id, fields] of rep.claimed) held.b.push([id, record(fields as string[])]);
          for (const [id, fields] of rep.poison) {
            const rec = record(fields as string[]);
            await f.deadLetter('b', id, 'poison', { id: rec.id });
          }
          log.push(`reclaim b <- a: ${rep.claimed.length} claimed ${rep.poison.length} poison`);
        } else if (op < 0.86) {
          const rep = await f.promote();
          log.push(`promote ${JSON.stringify(rep)}`);
        } else if (op < 0.92) {
          const dl = await f.redis.xrange(f.keys.deadLetter, '-', '+');
          if (dl.length === 0) continue;
          const [dlId, fields] = pick(dl);
          const id = fields[fields.indexOf('id') + 1];
          const rep = await redriveScript(f.keys, { deadLetterId: dlId, taskId: id, key: undefined }).run(f.redis);
          log.push(`redrive ${id} -> ${JSON.stringify(rep)}`);
        } else {
          const tasks = await f.redis.hgetall(f.keys.flow.tasks);
          const ids = Object.keys(tasks);
          if (ids.length === 0) continue;
          const id = pick(ids);
          const state = tasks[id];
          const rep = state.startsWith('\0')
            ? await removeTaskScript(f.keys, { id, state: 'waiting' }, LEASE_MS).run(f.redis)
            : await removeTaskScript(f.keys, { id, state: 'queued', entryId: state.split('\0')[0] }, LEASE_MS).run(
                f.redis,
              );
          log.push(`remove ${id} -> ${rep}`);
        }
        await check(log);
      }
    },
    60_000,
  );
});
