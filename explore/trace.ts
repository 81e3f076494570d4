import { REPLY_MEANING, scriptShas } from './protocol-adapter';
import type { Violation } from './invariants';
import type { TraceLine } from './runner';
import type { Step } from './steps';
import type { WireRecord } from './wire';
import type { World } from './world';
import { createHash } from 'node:crypto';

const SHAS = scriptShas();

/** A script call as the trace shows it: its name and its reply, with reply codes spelled out. */
export function formatRecord(world: World, record: WireRecord): string {
  const first = String(record.args[0]);
  const name = SHAS.get(first) ?? SHAS.get(createHash('sha1').update(first).digest('hex')) ?? record.name;
  return `${name} -> ${formatReply(world, name, text(record.reply))}`;
}

/** Replies as the wire sees them hold Buffers (ioredis decodes after): as text. */
function text(reply: unknown): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString();
  return Array.isArray(reply) ? reply.map(text) : reply;
}

function formatReply(world: World, script: string, reply: unknown): string {
  if (reply instanceof Error) return `ERROR ${reply.message.slice(0, 120)}`;
  const meaning = REPLY_MEANING[script];
  if (meaning && typeof reply === 'number') return meaning[String(reply)] ?? String(reply);
  if (meaning && Array.isArray(reply) && reply.every((r) => typeof r === 'number'))
    return `[${reply.map((r: number) => meaning[String(r)] ?? r).join(', ')}]`;
  const text = JSON.stringify(reply, (_k, v: unknown) =>
    typeof v === 'string' && world.tasks.has(v)
      ? world.alias(v)
      : Array.isArray(v) && v.length > 16
        ? `[${v.length} values]`
        : v,
  );
  return text.length > 160 ? `${text.slice(0, 160)}...` : text;
}

/** One line per step: who, what, with which arguments, and what Redis and the library said. */
export function formatStep(step: Step): string {
  const { op, ...args } = step;
  const client = ['enqueue', 'enqueue-flow', 'remove', 'cancel', 'hostile'].includes(op);
  const who =
    'w' in args ? `w${args.w}` : client ? ('by' in args ? String(args.by) : 'client') : op === 'layout' ? 'oper' : '-';
  const rest = Object.entries(args)
    .filter(([k]) => k !== 'w' && k !== 'by')
    .map(([k, v]) => (v === true ? k : `${k}=${String(v)}`))
    .join(' ');
  return `${who.padEnd(6)} ${op}${rest ? ` ${rest}` : ''}`;
}

export function formatTrace(lines: TraceLine[], violations: Violation[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    if (!line.applied) return;
    // The drain repeats itself round after round: each distinct drain line is printed once.
    const text = `${formatStep(line.step)} ${line.note}`;
    if (line.drain && (line.note === 'renewed' || seen.has(text))) return;
    if (line.drain) seen.add(text);
    const prefix = line.drain ? 'drain' : String(i + 1).padStart(5);
    out.push(`${prefix}  ${formatStep(line.step).padEnd(40)} ${line.note}`);
    for (const r of line.replies) out.push(`${' '.repeat(48)}${r}`);
  });
  for (const v of violations) out.push(`  VIOLATED ${v.invariant} [${v.tag}]: ${v.message}`);
  return out.join('\n');
}

/** The command line that replays `steps` exactly, in the world they ran in. */
export function replayCommand(steps: Step[], world = 'classic'): string {
  return `npm run explore -- ${world === 'classic' ? '' : `--world ${world} `}--replay '${JSON.stringify(steps)}'`;
}
