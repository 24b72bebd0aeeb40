import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/shared/logger';
import type { TestServer } from './test-server';

export const BIN = path.resolve(__dirname, '../../../bin/scepter');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/scepter ...` on the test server's database and certs folder, as an admin would run it. */
export function cli(server: TestServer, args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        SCEPTER_DATABASE: server.env.SCEPTER_DATABASE!,
        SCEPTER_CERTS_DIR: server.env.SCEPTER_CERTS_DIR!,
        SCEPTER_CA_KEY_BITS: '2048',
        SCEPTER_WS1_ALLOW_HTTP: 'on',
        SCEPTER_LOG_LEVEL: 'debug',
        ...opts.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // EPIPE when the CLI exits before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

export function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

/** A debug-level logger whose lines are kept, to check that no secret ever reaches a log. */
export function capturingLogger(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('debug', sink), text: () => lines.join('') };
}

/** Writes secrets to files (mode 0600) for --ws1-password-file / --ws1-api-key-file. */
export function secretFiles(dir: string, password: string, apiKey: string): { passwordFile: string; apiKeyFile: string } {
  const passwordFile = path.join(dir, 'ws1-password.txt');
  const apiKeyFile = path.join(dir, 'ws1-api-key.txt');
  fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  fs.writeFileSync(apiKeyFile, apiKey, { mode: 0o600 });
  return { passwordFile, apiKeyFile };
}
