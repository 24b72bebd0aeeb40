// Helpers shared by the security suite: the real server process started with a given environment,
// and what it printed when it refused to start.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, TEST_CHALLENGE } from '../support/test-server';

export const SERVER = path.resolve(__dirname, '../../src/server.js');
export const BIN = path.resolve(__dirname, '../../../bin/scepter');

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/src/server.js` in `cwd` and resolves when it exits, or when it printed that it
 * listens (then it is stopped, and `code` is 'listening'). Asynchronous, so a server in this process
 * keeps answering while the child runs.
 */
export function runServer(env: Record<string, string>, cwd: string, timeoutMs = 60_000): Promise<Exit | 'listening'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER], { cwd, env: { ...process.env, SCEPTER_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let listening = false;
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`server neither started nor exited: ${stdout}${stderr}`))), timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!listening && /listening on/.test(stdout)) {
        listening = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(listening ? 'listening' : { code, stdout, stderr });
    });
  });
}

/** Runs the `scepter` CLI (bin/scepter) asynchronously. */
export function runCli(args: string[], env: Record<string, string>, cwd: string): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, SCEPTER_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh directory and the environment of a server whose files all live in it. */
export async function serverEnv(prefix: string): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `scepter-${prefix}-`));
  const port = await freeTcpPort();
  return {
    dir,
    env: {
      SCEPTER_HTTP_PORT: String(port),
      SCEPTER_HOST: '127.0.0.1',
      SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
      SCEPTER_DATABASE: path.join(dir, 'data', 'scepter.sqlite'),
      SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
      SCEPTER_CA_KEY_BITS: '2048',
      SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
      SCEPTER_TLS_PORT: '0',
    },
  };
}

/** The one line a refused start prints, checked to be one line that names `what`. */
export function refusal(r: Exit | 'listening', what: string): string {
  if (r === 'listening') throw new Error(`the server started instead of refusing (${what})`);
  const lines = r.stderr.trim().split('\n');
  if (r.code !== 2 || lines.length !== 1 || !lines[0]!.includes(what))
    throw new Error(`expected exit 2 with one line naming ${what}, got ${r.code}: ${r.stderr}${r.stdout}`);
  return lines[0]!;
}
