// Runs Debian's micromdm `scepserver` as a peer (interop checks, benchmarks): a fresh
// file depot with a 2048-bit CA (its default is 4096), on a free port, with a challenge.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from './ports';
import { makeTempDir, removeDir, run, spawnDaemon, waitFor, type Daemon } from './proc';

export interface ScepserverOptions {
  challenge?: string; // omitted: scepserver accepts any request
  keySize?: number; // CA key, default 2048
  port?: number;
  crtValidDays?: number;
  allowRenewDays?: number; // scepserver refuses a second cert for a CN unless it expires within this
  debug?: boolean;
  startTimeoutMs?: number;
  /** an existing CA replacing the one `ca -init` made: PEM certificate, PKCS#1 PEM key encrypted with `pass` (DEK-Info) */
  ca?: { certPem: string; keyPem: string; pass: string };
}

export interface DepotEntry {
  status: string; // V = valid, R = revoked
  serial: string; // hex
  file: string;
  subject: string; // OpenSSL one-line form, e.g. /CN=dev1
}

export interface Scepserver {
  url: string; // http://127.0.0.1:PORT/scep
  port: number;
  dir: string;
  depot: string;
  caCertPem: string;
  daemon: Daemon;
  output(): string;
  issued(): DepotEntry[]; // from the depot's index.txt
  stop(): Promise<void>;
}

function readIndex(depot: string): DepotEntry[] {
  const file = path.join(depot, 'index.txt');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [status, , , serial, name, subject] = line.split('\t');
      if (status === undefined || serial === undefined || name === undefined || subject === undefined) throw new Error(`malformed depot index line: ${line}`);
      return { status, serial, file: name, subject };
    });
}

export async function startScepserver(opts: ScepserverOptions = {}): Promise<Scepserver> {
  const dir = makeTempDir('scepter-scepserver');
  const depot = path.join(dir, 'depot');
  try {
    const init = await run('scepserver', ['ca', '-init', '-depot', depot, '-keySize', String(opts.keySize ?? 2048), '-organization', 'Scepter Test Peer'], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    if (init.exitCode !== 0) throw new Error(`scepserver ca -init failed: ${init.stdout}${init.stderr}`);
    if (opts.ca) {
      fs.writeFileSync(path.join(depot, 'ca.pem'), opts.ca.certPem);
      fs.writeFileSync(path.join(depot, 'ca.key'), opts.ca.keyPem, { mode: 0o600 });
    }
    const port = opts.port ?? (await freePort());
    const args = ['-depot', depot, '-port', String(port)];
    if (opts.challenge !== undefined) args.push('-challenge', opts.challenge);
    if (opts.crtValidDays !== undefined) args.push('-crtvalid', String(opts.crtValidDays));
    if (opts.allowRenewDays !== undefined) args.push('-allowrenew', String(opts.allowRenewDays));
    if (opts.debug) args.push('-debug');
    if (opts.ca) args.push('-capass', opts.ca.pass);
    const daemon = spawnDaemon('scepserver', args, { cwd: dir });
    const url = `http://127.0.0.1:${port}/scep`;
    try {
      await waitFor(
        async () => {
          if (!daemon.isRunning()) throw new Error(`scepserver exited: ${daemon.output()}`);
          try {
            const res = await fetch(`${url}?operation=GetCACaps`);
            return res.ok;
          } catch {
            return false;
          }
        },
        opts.startTimeoutMs ?? 10_000,
        'scepserver GetCACaps',
      );
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return {
      url,
      port,
      dir,
      depot,
      caCertPem: fs.readFileSync(path.join(depot, 'ca.pem'), 'utf8'),
      daemon,
      output: () => daemon.output(),
      issued: () => readIndex(depot),
      async stop(): Promise<void> {
        await daemon.stop();
        removeDir(dir);
      },
    };
  } catch (err) {
    removeDir(dir);
    throw err;
  }
}
