import http from 'node:http';

export interface FuzzCase {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
}

export interface FuzzReport {
  sent: number;
  byStatus: Record<number, number>;
  serverErrors: Array<{ case: FuzzCase; status: number; body: string }>;
  /** live heap (MB) after a full GC, sampled ten times over the run; RSS without GC when gc is not exposed */
  rssMb: number[];
}

/**
 * What the process really holds: the heap after a full collection (mocha runs with --expose-gc, see
 * .mocharc.json). RSS alone grows until V8 decides to collect, which says nothing about leaks.
 */
function liveHeapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return Math.round(process.memoryUsage().rss / 1e6);
  gc();
  return Math.round(process.memoryUsage().heapUsed / 1e6);
}

/** Sends cases over keep-alive connections, `concurrency` at a time, recording statuses and memory. */
export async function runFuzzCases(
  baseUrl: string,
  cases: FuzzCase[],
  opts: { concurrency?: number; check?: (c: FuzzCase, status: number, body: Buffer) => string | undefined } = {},
): Promise<FuzzReport> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 16 });
  const url = new URL(baseUrl);
  const report: FuzzReport = { sent: 0, byStatus: {}, serverErrors: [], rssMb: [] };
  let next = 0;
  const send = (c: FuzzCase) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: c.method,
          path: c.path,
          agent,
          headers: { ...(c.body ? { 'Content-Length': String(c.body.length) } : {}), ...c.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end(c.body);
    });
  const step = Math.max(1, Math.floor(cases.length / 10));
  await Promise.all(
    Array.from({ length: opts.concurrency ?? 16 }, async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i]!;
        const { status, body } = await send(c);
        report.sent++;
        report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
        const problem = status >= 500 ? 'server error' : opts.check?.(c, status, body);
        if (problem && report.serverErrors.length < 10) report.serverErrors.push({ case: c, status, body: `${problem}: ${body.subarray(0, 200).toString()}` });
        if (i % step === 0) report.rssMb.push(liveHeapMb());
      }
    }),
  );
  agent.destroy();
  return report;
}
