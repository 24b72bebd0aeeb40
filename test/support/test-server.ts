import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { App, buildApp, BuildOptions } from '../../src/main';
import { ScepClient } from '../../src/scep/client/scep-client';

export const TEST_CHALLENGE = 'test-static-challenge';

export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  app: App;
  url: string;
  scepUrl: string;
  dir: string;
  env: Record<string, string>;
  caPemFile: string;
  client: ScepClient;
  stop(): Promise<void>;
  /** stops and deletes its files */
  destroy(): Promise<void>;
}

/**
 * The real server, in this process, on a free port, with its own SQLite file and CA directory.
 * Pass `dir` to start again on the files of an earlier server.
 */
export async function startTestServer(env: Record<string, string> = {}, dir?: string, opts: BuildOptions = {}): Promise<TestServer> {
  const base = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-test-'));
  const port = await freeTcpPort();
  const fullEnv: Record<string, string> = {
    SCEPTER_HTTP_PORT: String(port),
    SCEPTER_HOST: '127.0.0.1',
    SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    // its own home: a scepter.env in the checkout never leaks into a test
    SCEPTER_HOME: base,
    SCEPTER_DATABASE: path.join(base, 'scepter.sqlite'),
    SCEPTER_CERTS_DIR: path.join(base, 'certs'),
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_LOG_LEVEL: process.env.SCEPTER_TEST_LOG_LEVEL ?? 'silent',
    SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
    // the HTTPS (device trust) listener on any free port, so servers never collide on 8443
    SCEPTER_TLS_PORT: '0',
    // the WS1 simulator speaks plain http on localhost
    SCEPTER_WS1_ALLOW_HTTP: 'on',
    ...env,
  };
  const app = await buildApp(loadConfig(fullEnv), opts);
  await app.listen();
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
  };
  return {
    app,
    url,
    scepUrl: `${url}/scep`,
    dir: base,
    env: fullEnv,
    caPemFile: path.join(base, 'certs', 'ca.cert.pem'),
    client: new ScepClient(`${url}/scep`),
    stop,
    destroy: async () => {
      await stop();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
