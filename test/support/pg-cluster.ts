// Two (or one) `node dist/src/server.js` processes on one fresh PostgreSQL database, with a
// round-robin nginx in front whose access log records which upstream served each request.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from './postgres';
import { startNginx, nginxAvailable, Nginx } from './nginx';
import { startServerProcess, ServerProcess } from './server-process';
import { freeTcpPort, TEST_CHALLENGE } from './test-server';

export interface Instance {
  url: string;
  port: number;
  env: Record<string, string>;
  proc: ServerProcess;
}

export interface PgCluster {
  instances: Instance[];
  /** the load balancer's base URL */
  url: string;
  dir: string;
  databaseUrl: string;
  /** upstream "127.0.0.1:PORT" of every proxied request so far, in order */
  upstreams(): string[];
  /** nginx's error log so far (upstream failures, e.g. an instance killed mid-request) */
  nginxErrors(): string;
  stop(): Promise<void>;
}

/** Throws with the reason when PostgreSQL or nginx is missing: a silently skipped run proves nothing. */
export async function startPgCluster(count: number, extraEnv: Record<string, string> = {}): Promise<PgCluster> {
  if (!nginxAvailable()) throw new Error('multi-instance run did not happen: nginx is not installed (apt-get install nginx)');
  const db = await createTestDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-pgc-'));
  const instances: Instance[] = [];
  let nginx: Nginx | undefined;
  const stop = async () => {
    await nginx?.stop().catch(() => undefined);
    await Promise.all(instances.map((i) => i.proc.kill('SIGTERM')));
    await db.drop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    // one after the other: the first creates the CA in the shared certs directory
    for (let i = 0; i < count; i++) {
      const port = await freeTcpPort();
      const env = {
        SCEPTER_HTTP_PORT: String(port),
        SCEPTER_HOST: '127.0.0.1',
        SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
        SCEPTER_TLS_PORT: '0',
        SCEPTER_DATABASE: db.url,
        SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
        SCEPTER_CA_KEY_BITS: '2048',
        SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
        ...extraEnv,
      };
      instances.push({ url: `http://127.0.0.1:${port}`, port, env, proc: await startServerProcess(env) });
    }
    const upstream = instances.map((i) => `server 127.0.0.1:${i.port};`).join(' ');
    nginx = await startNginx({
      workers: 1,
      servers: `
  log_format up '$upstream_addr';
  upstream scepter { ${upstream} keepalive 32; }
  server {
    listen 127.0.0.1:{{PORT}};
    client_max_body_size 1m;
    access_log ${dir}/upstream.log up;
    location / { proxy_pass http://scepter; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
    });
    const logFile = path.join(dir, 'upstream.log');
    return {
      instances,
      url: `http://127.0.0.1:${nginx.port}`,
      dir,
      databaseUrl: db.url,
      stop,
      upstreams: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []),
      nginxErrors: () => {
        const errorLog = path.join(nginx!.dir, 'logs', 'error.log');
        return fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '';
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
