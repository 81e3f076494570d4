import type { TaskHandle } from 'nest-stream-queue';

/**
 * Where to ask about a task, from any API process. A keyed task's status link carries its key,
 * since only a key keeps run state (an unkeyed task reads `pending` until it settles).
 */
export function taskLinks(handle: TaskHandle<unknown>): { result: string; status: string } {
  const base = `/tasks/${handle.queue}/${handle.id}`;
  return {
    result: `${base}/result`,
    status: handle.key === undefined ? `${base}/status` : `${base}/status?key=${encodeURIComponent(handle.key)}`,
  };
}
