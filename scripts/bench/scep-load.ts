/**
 * The timed half of the SCEP benchmark: sends prepared PKIOperation bodies at a fixed concurrency
 * over keep-alive connections and classifies each answer with as little work as possible (a byte
 * search for the pkiStatus attribute), so that the load generator never becomes the bottleneck.
 * Full verification (signature, decryption, certificate) happens after the clock stops.
 */
import http from 'node:http';
import fs from 'node:fs';
import { derOid } from '../../src/pki/der-writer';
import { OID } from '../../src/pki/oids';

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  failures: number;
  /** failures by kind: `http 500`, `pkiStatus 2 failInfo 2`, `no envelope`, `error ECONNRESET`... */
  failureKinds: Record<string, number>;
  /** response bodies by request index (for verification after timing) */
  bodies: (Buffer | undefined)[];
  /** index -> true when the answer counted as an enrollment */
  ok: boolean[];
  /** CPU seconds used during the run by the server's process group and by this process */
  serverCpu: number;
  /** of which the server's main thread (the event loop): its thread id is the process id */
  serverMainCpu: number;
  clientCpu: number;
}

const PKI_STATUS = derOid(OID.scepPkiStatus);
const FAIL_INFO = derOid(OID.scepFailInfo);
const ENVELOPED_DATA = derOid(OID.envelopedData);

/** A numeric SCEP attribute (pkiStatus, failInfo) from a CertRep without parsing it: OID, then SET { PrintableString "0" }. */
export function sniffNumber(body: Buffer, oid: Buffer = PKI_STATUS): number | undefined {
  const at = body.indexOf(oid);
  if (at < 0) return undefined;
  let p = at + oid.length;
  if (body[p] !== 0x31) return undefined;
  p += 2; // SET tag and short length
  const len = body[p + 1];
  if (len === undefined || len > 4) return undefined;
  const text = body.toString('latin1', p + 2, p + 2 + len);
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** CPU seconds (user + system) of every process in the group led by `pgid` (Linux /proc). */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // fields after the parenthesised command name: state ppid pgrp ... utime(14) stime(15)
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** CPU seconds (user + system) of one thread of process `pid` (Linux /proc). */
export function threadCpuSeconds(pid: number, tid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

function post(agent: http.Agent, url: URL, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}?operation=PKIOperation`,
        method: 'POST',
        headers: { 'Content-Type': 'application/x-pki-message', 'Content-Length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Sends every body once, `concurrency` at a time, and measures. */
export async function runLoad(url: string, bodies: Buffer[], concurrency: number, serverPgid?: number): Promise<LoadResult> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = new Array(bodies.length);
  const answers: (Buffer | undefined)[] = new Array(bodies.length);
  const ok: boolean[] = new Array(bodies.length).fill(false);
  const kinds: Record<string, number> = {};
  const fail = (kind: string) => (kinds[kind] = (kinds[kind] ?? 0) + 1);
  let next = 0;

  const cpu0 = process.cpuUsage();
  const server0 = serverPgid ? groupCpuSeconds(serverPgid) : 0;
  const main0 = serverPgid ? threadCpuSeconds(serverPgid, serverPgid) : 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const start = process.hrtime.bigint();
        try {
          const res = await post(agent, target, bodies[i]!);
          latencies[i] = Number(process.hrtime.bigint() - start) / 1e6;
          if (res.status !== 200) {
            fail(`http ${res.status}`);
            continue;
          }
          answers[i] = res.body;
          const status = sniffNumber(res.body);
          if (status !== 0) fail(status === undefined ? 'no pkiStatus' : `pkiStatus ${status} failInfo ${sniffNumber(res.body, FAIL_INFO)}`);
          else if (res.body.indexOf(ENVELOPED_DATA) < 0) fail('no envelope');
          else ok[i] = true;
        } catch (err) {
          latencies[i] = Number(process.hrtime.bigint() - start) / 1e6;
          fail(`error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const clientCpu = process.cpuUsage(cpu0);
  const serverCpu = serverPgid ? groupCpuSeconds(serverPgid) - server0 : NaN;
  const serverMainCpu = serverPgid ? threadCpuSeconds(serverPgid, serverPgid) - main0 : NaN;
  agent.destroy();

  const sorted = latencies.filter((x) => x !== undefined).sort((a, b) => a - b);
  const failures = ok.filter((x) => !x).length;
  return {
    requests: bodies.length,
    seconds,
    perSecond: (bodies.length - failures) / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    failures,
    failureKinds: kinds,
    bodies: answers,
    ok,
    serverCpu,
    serverMainCpu,
    clientCpu: (clientCpu.user + clientCpu.system) / 1e6,
  };
}
