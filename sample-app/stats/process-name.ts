import type { Role } from '../sample.config';

/** How this process appears in logs and GET /stats: the runner's label (worker-2) or the role, plus the pid. */
export const processName = (role: Role): string => `${process.env.SAMPLE_LABEL || role}-${process.pid}`;
