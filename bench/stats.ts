/** Small, dependency-free statistics for benchmark samples. */

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an already sorted array. */
export function percentileSorted(s: ArrayLike<number>, p: number): number {
  if (s.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1];
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), n: finite.length };
}

/** Collects latency samples without boxing; summary() sorts once. */
export class SampleRecorder {
  private data = new Float64Array(1024);
  private size = 0;

  record(value: number): void {
    if (this.size === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.size++] = value;
  }

  get count(): number {
    return this.size;
  }

  summary(): { count: number; p50: number; p99: number; max: number } {
    const s = this.data.slice(0, this.size).sort();
    return {
      count: this.size,
      p50: percentileSorted(s, 50),
      p99: percentileSorted(s, 99),
      max: this.size ? s[this.size - 1] : NaN,
    };
  }
}
