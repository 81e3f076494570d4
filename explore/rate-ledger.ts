import type { RateView } from './rate-snapshot';

/** A start record as the ledger keeps it: on the world's clock (Redis's, plus the time `elapse` made pass). */
export interface LedgerStart {
  readonly window: string;
  readonly at: number;
  readonly entryId: string;
  readonly delivery: string;
}

/**
 * An entry as the ledger names it: stream ids are per stream, so two partitions may hold the
 * same id; past partition 0 the ledger adds the partition.
 */
export const ledgerEntry = (entryId: string, partition: number): string =>
  partition === 0 ? entryId : `${entryId}@p${partition}`;

/**
 * Every start record the snapshots ever showed, kept after Redis trims it: the rate guarantee is
 * about any interval of perMs, and a window's count in Redis only shows the one ending now.
 * Times are the world's: Redis's ms plus the time the `elapse` steps made pass (each shifts the
 * stored records back by as much), so a record keeps one time however often time passes.
 */
export class RateLedger {
  private readonly starts = new Map<string, LedgerStart>();
  /** Rated runs the explorer saw start, per entry: each must have a record of its own. */
  readonly runs = new Map<string, { readonly taskId: string; readonly group: string; count: number }>();
  /** The time `elapse` steps made pass so far (ms). */
  elapsedMs = 0;
  /**
   * Markers ('<window>\0<entry id>') a restart took over (rate.lua's rateStart): the entry's
   * admission token became another run's start, and the entry starts as a restart does.
   */
  readonly handedOver = new Set<string>();
  /** Per partition, the markers its last snapshot showed (a window's markers live in one). */
  private readonly markersOf = new Map<number, Set<string>>();

  /**
   * Records the start records of a snapshot not seen before, and the markers taken over since the
   * last: a marker gone while a restart (a run without a marker of its own in that window)
   * started in its window, its entry not starting. `live`: the unsettled rated entries of the
   * stream, each with its windows. A marker can be written and taken over between two snapshots
   * (one step admits an entry, a release feeding it, then a claim in the same step starts a
   * restart in the full window): a restart no gone marker accounts for took over the marker of
   * a live entry that has not started and never showed one in that window. `partition`: the
   * partition `view` was read from (each keeps its own markers; its entries are named by ledgerEntry).
   */
  note(partitionView: RateView, partitionLive: ReadonlyMap<string, readonly string[]>, partition = 0): void {
    const seen = this.markersOf.get(partition) ?? new Set<string>();
    const named = <T extends { readonly entryId: string }>(x: T): T => ({
      ...x,
      entryId: ledgerEntry(x.entryId, partition),
    });
    const view = {
      ...partitionView,
      records: partitionView.records.map(named),
      markers: partitionView.markers.map(named),
    };
    const live = new Map([...partitionLive].map(([entryId, windows]) => [ledgerEntry(entryId, partition), windows]));
    const fresh: LedgerStart[] = [];
    for (const r of view.records) {
      const start = { window: r.window, at: r.at + this.elapsedMs, entryId: r.entryId, delivery: r.delivery };
      const id = [start.window, start.at, start.entryId, start.delivery].join('\0');
      if (this.starts.has(id)) continue;
      fresh.push(start);
      // A delivery's run starts once: an earlier record of it (a claim whose run a pause held,
      // moved to now by the claim that started it, or left its window) stood for no start.
      for (const [other, s] of this.starts)
        if (s.window === start.window && s.entryId === start.entryId && s.delivery === start.delivery)
          this.starts.delete(other);
      this.starts.set(id, start);
    }
    const markers = new Set(view.markers.map((m) => `${m.window}\0${m.entryId}`));
    // Per window, the restarts that started since the last snapshot: each took over one marker.
    const restarts = new Map<string, number>();
    for (const s of fresh)
      if (!seen.has(`${s.window}\0${s.entryId}`)) restarts.set(s.window, (restarts.get(s.window) ?? 0) + 1);
    for (const gone of seen) {
      if (markers.has(gone)) continue;
      const cut = gone.lastIndexOf('\0');
      const [window, entryId] = [gone.slice(0, cut), gone.slice(cut + 1)];
      const left = restarts.get(window) ?? 0;
      // A gone marker of an entry no longer live (removed, settled) needs no restart to explain it.
      if (left === 0 || !live.has(entryId) || fresh.some((s) => s.window === window && s.entryId === entryId)) continue;
      restarts.set(window, left - 1);
      this.handedOver.add(gone);
    }
    // rateStart takes over the window's first marker in lex order: the lowest entry id.
    for (const entryId of [...live.keys()].sort()) {
      if (this.started(entryId)) continue;
      for (const window of live.get(entryId) ?? []) {
        const member = `${window}\0${entryId}`;
        const left = restarts.get(window) ?? 0;
        if (left === 0 || markers.has(member) || seen.has(member) || this.handedOver.has(member)) continue;
        restarts.set(window, left - 1);
        this.handedOver.add(member);
      }
    }
    this.markersOf.set(partition, markers);
  }

  /** The world's clock when `view` was read. */
  nowOf(view: RateView): number {
    return view.now + this.elapsedMs;
  }

  /** The starts of `window`, oldest first. */
  startsOf(window: string): LedgerStart[] {
    return [...this.starts.values()].filter((s) => s.window === window).sort((a, b) => a.at - b.at);
  }

  /** How many records of `window` belong to entry `entryId`. */
  recordsOfEntry(window: string, entryId: string): number {
    return [...this.starts.values()].filter((s) => s.window === window && s.entryId === entryId).length;
  }

  /** Whether any record belongs to entry `entryId` (its claim started it once). */
  started(entryId: string): boolean {
    return [...this.starts.values()].some((s) => s.entryId === entryId);
  }

  /** A rated run of entry `entryId` started. */
  ranRated(entryId: string, taskId: string, group: string): void {
    const seen = this.runs.get(entryId);
    if (seen) seen.count++;
    else this.runs.set(entryId, { taskId, group, count: 1 });
  }
}
