import { Controller, Get, Inject } from '@nestjs/common';
import { StreamQueueEvents } from 'nest-stream-queue';
import { consumes, SAMPLE_CONFIG, type SampleConfig } from '../sample.config';
import { processName } from './process-name';
import { type Counters, StatsStore } from './stats.store';

@Controller('stats')
export class StatsController {
  private readonly name: string;

  constructor(
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
    private readonly events: StreamQueueEvents,
    private readonly store: StatsStore,
  ) {
    this.name = processName(config.role);
  }

  /** This process's counters, each live worker's latest ones, and their sum. */
  @Get()
  async stats(): Promise<{
    process: { name: string; role: string; counters: Counters };
    workers: Record<string, Counters>;
    total: Counters;
  }> {
    const own = this.events.counters();
    const workers = await this.store.readAll();
    // A consuming process reports itself live rather than as of its last publish.
    if (consumes(this.config.role)) workers[this.name] = own;
    const total = Object.fromEntries(Object.keys(own).map((c) => [c, 0])) as Counters;
    for (const counters of Object.values(workers)) {
      for (const c of Object.keys(total) as (keyof Counters)[]) total[c] += counters[c] ?? 0;
    }
    return { process: { name: this.name, role: this.config.role, counters: own }, workers, total };
  }
}
