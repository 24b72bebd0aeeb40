import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; SCEP enrollments take tens of milliseconds, trust checks and OCSP well under one. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SYNC_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** A PostgreSQL pool's counters (pg.Pool); SQLite has one connection and no pool. */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * Every Prometheus metric the server exports, on a registry of its own (never prom-client's global
 * one), so several apps in one process (tests) keep separate counts. The few central places that
 * count (HTTP middleware, WS1 sync, retention) call the typed methods below; label values come
 * from small fixed sets so the number of series stays bounded.
 */
export class Metrics {
  readonly registry = new Registry();
  private defaultsOn = false;

  readonly httpRequests = new Counter({
    name: 'scepter_http_requests_total',
    help: 'HTTP requests by area and status code',
    labelNames: ['area', 'code'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'scepter_http_request_duration_seconds',
    help: 'HTTP request latency by area',
    labelNames: ['area'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly scepDuration = new Histogram({
    name: 'scepter_scep_request_duration_seconds',
    help: 'SCEP request latency per operation (PKIOperation split by messageType)',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly scepOperations = new Counter({
    name: 'scepter_scep_pki_operations_total',
    help: 'SCEP PKIOperations by messageType, pkiStatus (or bad_request before decryption) and failInfo',
    labelNames: ['message_type', 'status', 'fail_info'] as const,
    registers: [this.registry],
  });
  readonly enrollments = new Counter({
    name: 'scepter_enrollments_total',
    help: 'PKCSReq and RenewalReq answered: outcome issued or refused, with failInfo',
    labelNames: ['outcome', 'fail_info'] as const,
    registers: [this.registry],
  });
  readonly trustDecisions = new Counter({
    name: 'scepter_trust_decisions_total',
    help: 'Device-trust decisions by decision and reason',
    labelNames: ['decision', 'reason'] as const,
    registers: [this.registry],
  });
  readonly ocspRequests = new Counter({
    name: 'scepter_ocsp_requests_total',
    help: 'OCSP requests by HTTP method and responseStatus',
    labelNames: ['method', 'status'] as const,
    registers: [this.registry],
  });
  readonly crlRequests = new Counter({
    name: 'scepter_crl_requests_total',
    help: 'CRL downloads by HTTP status (304 = not modified)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly challengeFetches = new Counter({
    name: 'scepter_challenge_fetches_total',
    help: 'Challenge URL requests by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly limiterRefusals = new Counter({
    name: 'scepter_auth_limiter_refusals_total',
    help: 'Requests refused with 429 by the failed-authentication limiter, by area',
    labelNames: ['area'] as const,
    registers: [this.registry],
  });
  readonly ws1Syncs = new Counter({
    name: 'scepter_ws1_syncs_total',
    help: 'WS1 device syncs run by this process, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly ws1SyncDuration = new Histogram({
    name: 'scepter_ws1_sync_duration_seconds',
    help: 'WS1 device sync duration by result',
    labelNames: ['result'] as const,
    buckets: SYNC_BUCKETS,
    registers: [this.registry],
  });
  readonly ws1SyncDevices = new Gauge({
    name: 'scepter_ws1_sync_devices',
    help: 'Devices fetched by the last WS1 sync of each integration (this process)',
    labelNames: ['integration'] as const,
    registers: [this.registry],
  });
  readonly retentionRuns = new Counter({
    name: 'scepter_retention_runs_total',
    help: 'Retention pruning runs by result (done, failed, skipped when another instance holds the lease)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly retentionDeleted = new Counter({
    name: 'scepter_retention_deleted_rows_total',
    help: 'Rows deleted by retention pruning, by table',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });
  readonly retentionLastSuccess = new Gauge({
    name: 'scepter_retention_last_success_timestamp_seconds',
    help: 'When this process last finished a retention run',
    registers: [this.registry],
  });

  /** Process metrics of prom-client (CPU, memory, event-loop lag, handles): the server only, not the CLI. */
  collectProcessMetrics(): void {
    if (this.defaultsOn) return;
    this.defaultsOn = true;
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
  }

  /** Exports the pool size and waiting clients of a PostgreSQL pool at every scrape. */
  watchDatabasePool(pool: () => PoolStats | undefined): void {
    const read = (pick: (p: PoolStats) => number) =>
      function (this: Gauge) {
        const p = pool();
        if (p) this.set(pick(p));
      };
    new Gauge({
      name: 'scepter_db_pool_connections',
      help: 'PostgreSQL pool: open connections',
      registers: [this.registry],
      collect: read((p) => p.totalCount),
    });
    new Gauge({ name: 'scepter_db_pool_idle', help: 'PostgreSQL pool: idle connections', registers: [this.registry], collect: read((p) => p.idleCount) });
    new Gauge({
      name: 'scepter_db_pool_waiting',
      help: 'PostgreSQL pool: queries waiting for a connection (alert when it stays above 0)',
      registers: [this.registry],
      collect: read((p) => p.waitingCount),
    });
  }

  /** The WS1 sync outcome (Ws1SyncService's SyncOutcome, structurally). */
  recordWs1Sync(o: { ok: boolean; integrationId: string; fetched: number; durationMs: number }): void {
    const result = o.ok ? 'success' : 'failure';
    this.ws1Syncs.inc({ result });
    this.ws1SyncDuration.observe({ result }, o.durationMs / 1000);
    if (o.ok) this.ws1SyncDevices.set({ integration: o.integrationId }, o.fetched);
  }

  /** The text exposition format (a Promise in prom-client 15). */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
