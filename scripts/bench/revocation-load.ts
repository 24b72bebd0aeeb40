/**
 * The OCSP half of the revocation benchmark: requests like openssl's (one CertID, a fresh nonce),
 * a fixed-concurrency HTTP load that classifies answers by their status byte only, and the server
 * processes under test.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { certIdFor, encodeCertId, OCSP_NONCE_OID } from '../../src/pki/ocsp.codec';
import { derExplicit, derExtension, derOctetString, derSequence } from '../../src/pki/der-writer';
import { waitFor } from '../../test/support/proc';

/** OCSPRequest with one CertID (SHA-1, as openssl sends) and a nonce extension. */
export function ocspRequest(caDer: Buffer, serialHex: string): Buffer {
  const nonce = derExtension(OCSP_NONCE_OID, derOctetString(randomBytes(16)));
  return derSequence(derSequence(derSequence(derSequence(encodeCertId(certIdFor(caDer, serialHex)))), derExplicit(2, derSequence(nonce))));
}

/** OCSPResponseStatus without parsing: SEQUENCE header, then ENUMERATED. */
function responseStatus(body: Buffer): number {
  const lenBytes = body[1]! & 0x80 ? 1 + (body[1]! & 0x7f) : 1;
  const at = 1 + lenBytes;
  return body[at] === 0x0a && body[at + 1] === 1 ? body[at + 2]! : -1;
}

export interface Load {
  perSecond: number;
  p50: number;
  p99: number;
  failures: number;
  sample?: Buffer;
}

export async function runLoad(url: string, bodies: Buffer[], concurrency: number, keepAlive: boolean): Promise<Load> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive, maxSockets: concurrency });
  const latencies: number[] = [];
  let failures = 0;
  let sample: Buffer | undefined;
  let next = 0;
  const post = (body: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'Content-Type': 'application/ocsp-request', 'Content-Length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const start = process.hrtime.bigint();
        try {
          const answer = await post(bodies[i]!);
          if (responseStatus(answer) !== 0) failures++;
          else sample ??= answer;
        } catch {
          failures++;
        }
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
  return { perSecond: (bodies.length - failures) / seconds, p50: pct(0.5), p99: pct(0.99), failures, sample };
}

export interface Server {
  stop(): Promise<void>;
}

/**
 * A server process, ready once it answers a real OCSP request. (A bare TCP connect would not do:
 * `openssl ocsp` spins on a connection closed without a request and then serves nobody.) Not
 * detached: `openssl ocsp -multi` makes itself a process group leader, which a session leader cannot.
 */
export async function startServer(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, url: string, probe: Buffer): Promise<Server> {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  let exited = false;
  const gone = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  const kill = (sig: NodeJS.Signals) => {
    for (const pid of [-child.pid!, child.pid!]) {
      try {
        process.kill(pid, sig); // the group -multi made, else the process
      } catch {
        // not there
      }
    }
  };
  const onExit = () => kill('SIGKILL');
  process.on('exit', onExit);
  const server: Server = {
    async stop() {
      kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000).unref())]);
      kill('SIGKILL');
      process.off('exit', onExit);
    },
  };
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`${name} exited: ${stderr}`);
        return runLoad(url, [probe], 1, false).then(
          (r) => r.failures === 0,
          () => false,
        );
      },
      60_000,
      name,
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
