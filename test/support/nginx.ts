// Runs Debian's nginx in the foreground on a private prefix: `nginx -p DIR -c nginx.conf -g 'daemon off;'`.
// Used as a TLS-terminating proxy in front of Scepter (tests) and as the mTLS peer (benchmark).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort } from './ports';
import { makeTempDir, removeDir, spawnDaemon, waitFor, type Daemon } from './proc';

export interface Nginx {
  port: number;
  dir: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** the `server { ... }` blocks; `{{PORT}}` is replaced by the chosen port */
  servers: string;
  /** files to put into the prefix first, name -> content (certificates, keys, CRLs) */
  files?: Record<string, string | Buffer>;
  workers?: number;
  port?: number;
}

export function nginxAvailable(): boolean {
  return ['/usr/sbin/nginx', '/usr/bin/nginx'].some((p) => fs.existsSync(p));
}

export async function startNginx(o: NginxOptions): Promise<Nginx> {
  const dir = makeTempDir('scepter-nginx');
  fs.chmodSync(dir, 0o755); // workers may run as another user
  for (const sub of ['logs', 'tmp']) fs.mkdirSync(path.join(dir, sub));
  for (const [name, content] of Object.entries(o.files ?? {})) fs.writeFileSync(path.join(dir, name), content, { mode: 0o644 });
  const port = o.port ?? (await freePort());
  const conf = `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes ${o.workers ?? 1};
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  ${o.servers.replace(/\{\{PORT\}\}/g, String(port))}
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const daemon = spawnDaemon('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { cwd: dir });
  const stop = async () => {
    await daemon.stop();
    removeDir(dir);
  };
  try {
    await waitFor(
      async () => {
        if (!daemon.isRunning()) throw new Error(`nginx exited: ${daemon.output()}${readLog(dir)}`);
        return connects(port);
      },
      10_000,
      'nginx to listen',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, dir, daemon, stop };
}

function readLog(dir: string): string {
  const f = path.join(dir, 'logs', 'error.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}
