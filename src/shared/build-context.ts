import type { Config } from '../config/config';
import type { Database } from '../db/database';
import type { Clock } from './clock';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

/** What every module's build function gets from the composition root (src/main.ts). */
export interface BuildContext {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Prometheus metrics of this app (a registry of its own) */
  metrics: Metrics;
}
