import type { Step } from './steps';

/**
 * Delta debugging (ddmin): drops chunks of steps, then single steps, while the schedule still
 * fails the same way. `fails` replays a candidate on a fresh queue. The result is 1-minimal:
 * dropping any one of its steps makes the failure go away.
 */
export async function shrink(steps: Step[], fails: (candidate: Step[]) => Promise<boolean>): Promise<Step[]> {
  let current = steps;
  let chunks = 2;
  while (current.length >= 2) {
    const size = Math.ceil(current.length / chunks);
    let reduced = false;
    for (let start = 0; start < current.length; start += size) {
      const candidate = [...current.slice(0, start), ...current.slice(start + size)];
      if (await fails(candidate)) {
        current = candidate;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size === 1) break;
      chunks = Math.min(chunks * 2, current.length);
    }
  }
  // Then drop optional flags (a resend, a held reply, replace) that the failure does not need.
  for (let i = 0; i < current.length; i++) {
    for (const flag of ['resend', 'reply', 'replace'] as const) {
      if (!(flag in current[i])) continue;
      const { [flag]: _dropped, ...plain } = current[i] as Record<string, unknown>;
      const candidate = [...current.slice(0, i), plain as Step, ...current.slice(i + 1)];
      if (await fails(candidate)) current = candidate;
    }
  }
  return current;
}
