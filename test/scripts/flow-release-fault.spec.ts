import { defineScripts } from '../../lib/redis/scripts';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { createRedis } from '../utils/redis';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { LEASE_MS, ScriptFixture } from './script-fixture';

/**
 * A test double of includes/rcall.lua that fails the room's lex range for pair (G, y): a runtime
 * error in the middle of a settle's releases, after an earlier release of the batch admitted a
 * task. Redis keeps a script's writes up to its error, so those writes must be whole.
 */
const faultAtPairY = (fault: string) => `
local function rcall(command, ...)
  local from = select(2, ...)
  if command == 'ZRANGEBYLEX' and type(from) == 'string' and string.sub(from, 1, 4) == '[G\\0y' then
    ${fault}
  end
  return redis.call(command, ...)
end
`;
const FAULTS = [
  { kind: 'a Lua error', fault: "error('injected fault', 0)", message: 'injected fault' },
  // Redis raises a command's error as a table: it must reach the caller as Redis's own reply.
  { kind: 'a command refused by Redis', fault: "redis.call('LPUSH', KEYS[1], 'x')", message: 'WRONGTYPE' },
];

/**
 * complete.lua defers its releases' writes of the tasks hash and the entry times to one command
 * each at the batch's end (includes/flow-writes.lua). An error mid-loop must still write what the
 * releases before it deferred: else a task they admitted is in the stream with no hold (its
 * settle would release nothing, its group's slot taken for good) and the released run keeps its.
 */
describe('a runtime error in a settle’s releases keeps the earlier releases whole', () => {
  let f: ScriptFixture;
  beforeEach(async () => {
    f = await new ScriptFixture().setUp();
  });
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const single: FlowLimits = { global: 0, group: 1, agingMs: 1000 };
  const enqueue = (id: string, group: string) =>
    enqueueFlowScript(f.keys, { id, name: 'G', payload: '{}', delayMs: 0, runAt: 0, group, limits: single }).run(
      f.redis,
    );

  it.each(FAULTS)(
    "$kind: the admitted task's hold and the released run's removal are written, then the error raised",
    async ({ fault, message }) => {
      const faulty = createRedis();
      defineScripts(faulty, { replace: { rcall: faultAtPairY(fault) } });
      await enqueue('g1', 'x');
      await enqueue('g2', 'x'); // waits behind g1
      await enqueue('h1', 'y');
      await enqueue('h2', 'y'); // waits behind h1
      const runs = (await f.deliver('w')).map(([entryId, fields]) => ({
        entryId,
        id: fields.id,
        result: '',
        flow: true,
      }));
      expect(runs.map((r) => r.id)).toEqual(['g1', 'h1']);

      await expect(f.complete('w', runs, LEASE_MS, faulty)).rejects.toThrow(message);

      // g1's release handed its slot to g2, which is in the stream: it holds the slot, g1 no longer.
      const streamIds = (await f.redis.xrange(f.keys.stream, '-', '+')).map(([, fields]) => fields[1]);
      expect(streamIds).toContain('g2');
      const held = await heldTaskIds(f.redis, f.keys);
      expect(held).toContain('g2');
      expect(held).not.toContain('g1');
      expect(await f.redis.zscore(f.keys.flow.entered, 'g2')).toBeNull();
      // h1's release stopped at the error, as it would with every write sent at once: h2 waits on.
      expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['h2']);
    },
  );
});
