/**
 * Bounded soak: one real server process on loopback (SQLite, the embedded default) under a
 * steady mix of enrollments (each with a challenge fetched from the challenge URL), extra challenge
 * fetches, device-trust checks (client certificate via the trusted-proxy header), OCSP and admin API
 * calls. Stops by itself. Reports per-endpoint counts, errors and p99 latency, and samples the
 * server's live heap (heapUsed + external after a full GC, through scripts/bench/heap-probe), RSS
 * (/proc/PID/status VmRSS) and open handles (/proc/PID/fd) every 10 s. PASS needs zero errors and the
 * live heap and handles flat from minute 2 to the end (for runs of 4 minutes or less: from half-way).
 * RSS is reported, not judged: V8 and glibc keep freed pages for reuse, so RSS settles late even
 * when nothing leaks (seen: +25 MB levelling off over 10 minutes with a flat live heap).
 *
 *   npm run bench:soak -- [--minutes N] [--rate-scale X]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ScepClient, CaCertificates } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';
import { pemEncode } from '../../src/pki/der';
import { pooledKeys } from '../../test/support/keys';
import { startServerProcess, ServerProcess } from '../../test/support/server-process';
import { freeTcpPort } from '../../test/support/test-server';

const ROOT = path.resolve(__dirname, '../../..');
const SAMPLE_MS = 10_000;
// requests per second per endpoint (times --rate-scale)
const RATES = { enroll: 4, challenge: 4, trust: 20, ocsp: 20, admin: 4 };
type Endpoint = keyof typeof RATES;

function args(): { minutes: number; scale: number } {
  const a = process.argv.slice(2);
  const get = (name: string, dflt: number) => {
    const i = a.indexOf(name);
    if (i < 0) return dflt;
    const n = Number(a[i + 1]);
    if (!(n > 0)) throw new Error(`${name} needs a positive number`);
    return n;
  };
  return { minutes: get('--minutes', 10), scale: get('--rate-scale', 1) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function request(url: string, o: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(o.body);
  });
}

function cli(env: Record<string, string>, argv: string[]): string {
  return execFileSync(process.execPath, [path.join(ROOT, 'bin', 'scepter'), ...argv], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
}

function procSample(pid: number): { rssMb: number; fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  return { rssMb: kb / 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

/** live heap of the server: asks heap-probe (SIGUSR2) for a full GC and its memoryUsage() */
async function liveHeapMb(pid: number, file: string): Promise<number> {
  const before = fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    if (fs.existsSync(file) && fs.statSync(file).mtimeMs !== before) {
      const m = JSON.parse(fs.readFileSync(file, 'utf8')) as NodeJS.MemoryUsage;
      return (m.heapUsed + m.external) / 2 ** 20;
    }
  }
  throw new Error('heap probe did not answer within 10 s');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)]! : NaN);

async function main(): Promise<void> {
  const { minutes, scale } = args();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-soak-'));
  const port = await freeTcpPort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    SCEPTER_HTTP_PORT: String(port),
    SCEPTER_HOST: '127.0.0.1',
    SCEPTER_PUBLIC_URL: base,
    SCEPTER_TLS_PORT: '0',
    SCEPTER_DATABASE: path.join(dir, 'soak.sqlite'),
    SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_TRUSTED_PROXIES: '127.0.0.1',
    SCEPTER_CHALLENGE_CACHE_LIMIT: '1000000',
    SCEPTER_LOG_LEVEL: 'warn',
    SCEPTER_HEAP_PROBE_FILE: path.join(dir, 'heap.json'),
  };
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess(env, 30_000, ['-r', path.join(__dirname, 'heap-probe.js')]);
    const pid = server.child.pid!;
    // setup (untimed): an ios-certs integration, a read-only API key, one certificate for trust/OCSP
    const integ = JSON.parse(cli(env, ['--json', 'integration', 'create', '--type', 'ios-certs', '--name', 'soak', '--allow-legacy'])) as {
      id: string;
      challengeUsername: string;
      challengePassword: string;
    };
    cli(env, ['policy', 'set', 'allow-all']); // every trust check looks the certificate up and is logged
    const apiKey = (JSON.parse(cli(env, ['--json', 'admin', 'create-key', '--role', 'read-only'])) as { key: string }).key;
    const scep = new ScepClient(`${base}/scep/${integ.id}`);
    const cas: CaCertificates = await scep.getCaCertificates();
    const keys = await pooledKeys(8);
    const challengeAuth = {
      Authorization: `Basic ${Buffer.from(`${integ.challengeUsername}:${integ.challengePassword}`).toString('base64')}`,
      Accept: 'application/json',
    };
    const fetchChallenge = async () => {
      const r = await request(`${base}/certsrv/mscep_admin/`, { headers: challengeAuth });
      if (r.status !== 200) throw new Error(`challenge HTTP ${r.status}`);
      return (JSON.parse(r.body.toString()) as { challenge: string }).challenge;
    };
    let seq = 0;
    const enroll = async () => {
      const i = seq++;
      const challenge = await fetchChallenge();
      const r = await scep.enroll({
        cas,
        key: keys[i % keys.length]!,
        challenge,
        transactionId: `soak-${i}`,
        subject: [
          { type: 'OU', value: integ.id },
          { type: 'CN', value: `soak-${i}` },
        ],
      });
      if (r.status !== PkiStatus.SUCCESS) throw new Error(`enroll: ${r.failText}`);
      return r.certificate!;
    };
    const leaf = await enroll();
    const caPem = path.join(dir, 'ca.pem');
    const leafPem = path.join(dir, 'leaf.pem');
    fs.writeFileSync(caPem, pemEncode('CERTIFICATE', cas.ca.der));
    fs.writeFileSync(leafPem, pemEncode('CERTIFICATE', leaf.der));
    const ocspReq = path.join(dir, 'ocsp.der');
    execFileSync('openssl', ['ocsp', '-issuer', caPem, '-cert', leafPem, '-no_nonce', '-reqout', ocspReq]);
    const ocspBody = fs.readFileSync(ocspReq);
    const certHeader = encodeURIComponent(fs.readFileSync(leafPem, 'utf8')); // as nginx's $ssl_client_escaped_cert

    const ops: Record<Endpoint, () => Promise<void>> = {
      enroll: async () => {
        await enroll();
      },
      challenge: async () => {
        await fetchChallenge();
      },
      trust: async () => {
        const r = await request(`${base}/v1/device-trust?user=soak&application=vpn`, { headers: { 'X-SSL-Client-Cert': certHeader } });
        const body = r.status === 200 ? (JSON.parse(r.body.toString()) as { decision?: string; reason?: string }) : {};
        if (body.decision !== 'allow' || body.reason === 'not-checked' || body.reason === 'no-certificate')
          throw new Error(`trust HTTP ${r.status} ${r.body.toString().slice(0, 120)}`);
      },
      ocsp: async () => {
        const r = await request(`${base}/ocsp`, { method: 'POST', headers: { 'Content-Type': 'application/ocsp-request' }, body: ocspBody });
        if (r.status !== 200 || r.body.length < 100) throw new Error(`ocsp HTTP ${r.status}`);
      },
      admin: async () => {
        const r = await request(`${base}/admin/v1/${seq % 2 ? 'integrations' : 'certificates?limit=20'}`, { headers: { Authorization: `Bearer ${apiKey}` } });
        if (r.status !== 200) throw new Error(`admin HTTP ${r.status}`);
      },
    };
    const stats = Object.fromEntries(Object.keys(RATES).map((k) => [k, { count: 0, errors: 0, lat: [] as number[], firstError: '' }])) as Record<
      Endpoint,
      { count: number; errors: number; lat: number[]; firstError: string }
    >;
    const samples: { t: number; heapMb: number; rssMb: number; fds: number }[] = [];
    const started = Date.now();
    const endAt = started + minutes * 60_000;
    let inFlight = 0;
    let shed = 0;
    const pending = new Set<Promise<void>>();
    const fire = (ep: Endpoint) => {
      if (inFlight >= 256) {
        shed++; // open loop, but never an unbounded pile-up
        return;
      }
      inFlight++;
      const t0 = performance.now();
      const p = ops[ep]()
        .then(() => void stats[ep].lat.push(performance.now() - t0))
        .catch((e: Error) => {
          stats[ep].errors++;
          stats[ep].firstError ||= e.message;
        })
        .finally(() => (inFlight--, stats[ep].count++, pending.delete(p)));
      pending.add(p);
    };
    // steady rate: every 100 ms, fire what is due per endpoint (fractional credit carries over)
    const credit = Object.fromEntries(Object.keys(RATES).map((k) => [k, 0])) as Record<Endpoint, number>;
    const tick = setInterval(() => {
      for (const ep of Object.keys(RATES) as Endpoint[]) {
        credit[ep] += (RATES[ep] * scale) / 10;
        while (credit[ep] >= 1) {
          credit[ep]--;
          fire(ep);
        }
      }
    }, 100);
    const sample = async () => {
      const t = Math.round((Date.now() - started) / 1000);
      const s = { t, heapMb: await liveHeapMb(pid, env.SCEPTER_HEAP_PROBE_FILE), ...procSample(pid) };
      samples.push(s);
      const line = (Object.keys(RATES) as Endpoint[]).map((e) => `${e} ${stats[e].count}/${stats[e].errors}`).join('  ');
      console.log(`t=${String(s.t).padStart(4)}s  heap ${s.heapMb.toFixed(1)} MB  rss ${s.rssMb.toFixed(1)} MB  fds ${s.fds}  in-flight ${inFlight}  ${line}`);
    };
    await sample();
    let sampling = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = sampling.then(sample);
    }, SAMPLE_MS);
    await new Promise((r) => setTimeout(r, endAt - Date.now()));
    clearInterval(tick);
    await Promise.all(pending);
    clearInterval(sampler);
    await sampling;
    await sample();

    const secs = (Date.now() - started) / 1000;
    console.log(
      `\nsoak ${minutes} min (${secs.toFixed(0)} s), rates/s ${JSON.stringify(Object.fromEntries(Object.entries(RATES).map(([k, v]) => [k, v * scale])))}`,
    );
    console.log('endpoint    count  errors   p50 ms   p99 ms   max ms');
    let errors = 0;
    for (const ep of Object.keys(RATES) as Endpoint[]) {
      const s = stats[ep];
      errors += s.errors;
      const sorted = [...s.lat].sort((a, b) => a - b);
      console.log(
        `${ep.padEnd(10)} ${String(s.count).padStart(6)} ${String(s.errors).padStart(7)} ${median(sorted).toFixed(1).padStart(8)} ${p99(sorted).toFixed(1).padStart(8)} ${sorted[sorted.length - 1]!.toFixed(1).padStart(8)}${s.firstError ? `  first error: ${s.firstError}` : ''}`,
      );
    }
    if (shed) console.log(`shed (over 256 in flight): ${shed}`);
    // flatness: median of the first three samples in the window vs the last three
    const from = minutes > 4 ? 120 : (minutes * 60) / 2;
    const win = samples.filter((s) => s.t >= from);
    const head = win.slice(0, 3);
    const tail = win.slice(-3);
    const heap0 = median(head.map((s) => s.heapMb));
    const heap1 = median(tail.map((s) => s.heapMb));
    const rss0 = median(head.map((s) => s.rssMb));
    const rss1 = median(tail.map((s) => s.rssMb));
    const fd0 = median(head.map((s) => s.fds));
    const fd1 = median(tail.map((s) => s.fds));
    // a leak of one object per request would add megabytes over the window; allow 10% (min 4 MB) for caches filling
    const heapFlat = win.length >= 4 && heap1 - heap0 <= Math.max(4, heap0 * 0.1);
    const fdFlat = win.length >= 4 && fd1 - fd0 <= 5;
    const verdict = (ok: boolean) => (win.length < 4 ? 'run too short to judge' : ok ? 'flat' : 'GROWING');
    console.log(
      `window t>=${from}s (${win.length} samples): live heap ${heap0.toFixed(1)} -> ${heap1.toFixed(1)} MB (${verdict(heapFlat)}), fds ${fd0} -> ${fd1} (${verdict(fdFlat)}), rss ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB (reported, not judged)`,
    );
    const pass = errors === 0 && shed === 0 && heapFlat && fdFlat;
    console.log(pass ? 'PASS' : 'FAIL');
    process.exitCode = pass ? 0 : 1;
  } finally {
    await server?.kill('SIGTERM');
    agent.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
