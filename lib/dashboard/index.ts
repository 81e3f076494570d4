export { StreamQueueDashboardModule } from './stream-queue-dashboard.module';
export type { StreamQueueDashboardOptions } from './dashboard-options';
