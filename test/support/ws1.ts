import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ws1ClientSettings } from '../../src/mdm/workspace-one/ws1-client';
import type { Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';

/** Client settings pointing at a running simulator with its valid credentials. */
export function settingsFor(sim: Ws1Simulator, overrides: Partial<Ws1ClientSettings> = {}): Ws1ClientSettings {
  return {
    baseUrl: sim.url,
    username: sim.credentials.username,
    password: sim.credentials.password,
    apiKey: sim.credentials.tenantCode,
    timeoutMs: 5_000,
    ...overrides,
  };
}

/** Fast retry policy for tests. */
export const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50 };

/** A fresh self-signed certificate for 127.0.0.1/localhost, made with openssl in a temp dir. */
export function selfSignedCert(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'ws1-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=ws1-sim.test',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'pipe' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
