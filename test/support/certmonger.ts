// Runs a private certmonger (no systemd, no D-Bus): its own socket, state directories and
// lock file under a temp dir, driven with `getcert` through CERTMONGER_PVT_ADDRESS.
// See "Driving the real clients here" in /work/shared/DESIGN.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir, run, spawnDaemon, waitFor, type Daemon, type RunResult } from './proc';

export const SCEP_SUBMIT = '/usr/lib/certmonger/scep-submit';

export interface CertmongerOptions {
  debugLevel?: number; // certmonger -d LEVEL; the log is in daemon.output()
  startTimeoutMs?: number;
}

export interface AddCaOptions {
  caCertPem?: string; // passed with -N; default: fetched with `scep-submit -C`
  raCertPem?: string; // passed with -r
  otherCertsPem?: string; // passed with -I
  identifier?: string; // -i (the GetCACert/GetCACaps message= value)
}

/** The files a CA was added with: certmonger reads them again on every submission. */
export interface AddedCa {
  caFile?: string; // the -N file
  raFile?: string; // the -r file
  otherFile?: string; // the -I file
}

export interface CertmongerRequestOptions {
  caName: string;
  id: string;
  cn?: string;
  subject?: string; // full subject, overrides cn (e.g. "CN=dev,O=Example")
  challenge?: string;
  timeoutSec?: number; // getcert --wait-timeout, default 30
  keySize?: number;
  extraArgs?: string[];
}

export interface CertmongerListing {
  status?: string; // MONITORING = issued
  caError?: string;
  stuck?: boolean;
  fields: Record<string, string>;
  raw: string;
}

export interface CertmongerRequestResult {
  status: string;
  caError?: string;
  certPem?: string;
  keyPem?: string;
  keyFile: string;
  certFile: string;
  listing: CertmongerListing;
  getcert: RunResult;
}

export interface Certmonger {
  dir: string;
  env: NodeJS.ProcessEnv; // for running getcert yourself
  daemon: Daemon;
  getcert(args: string[], timeoutMs?: number): Promise<RunResult>;
  fetchCaCerts(url: string): Promise<string>;
  addCa(name: string, url: string, opts?: AddCaOptions): Promise<AddedCa>;
  request(opts: CertmongerRequestOptions): Promise<CertmongerRequestResult>;
  resubmit(id: string, args?: string[], timeoutSec?: number): Promise<CertmongerListing>;
  list(id: string): Promise<CertmongerListing>;
  waitForStatus(id: string, accept: (l: CertmongerListing) => boolean, timeoutMs: number): Promise<CertmongerListing>;
  stop(): Promise<void>;
}

export function parseListing(raw: string): CertmongerListing {
  const fields: Record<string, string> = {};
  for (const line of raw.split('\n')) {
    const [, name, value] = /^\t([a-zA-Z][a-zA-Z0-9 ()-]*): ?(.*)$/.exec(line) ?? [];
    if (name !== undefined && value !== undefined && !(name in fields)) fields[name] = value.trim();
  }
  return {
    status: fields['status'],
    caError: fields['ca-error'],
    stuck: fields['stuck'] === undefined ? undefined : fields['stuck'] === 'yes',
    fields,
    raw,
  };
}

export async function startCertmonger(opts: CertmongerOptions = {}): Promise<Certmonger> {
  const dir = makeTempDir('scepter-certmonger');
  for (const d of ['requests', 'cas', 'tmp', 'local', 'files']) fs.mkdirSync(path.join(dir, d));
  const sock = path.join(dir, 'sock');
  const daemonEnv: NodeJS.ProcessEnv = {
    ...process.env,
    CERTMONGER_REQUESTS_DIR: path.join(dir, 'requests'),
    CERTMONGER_CAS_DIR: path.join(dir, 'cas'),
    CERTMONGER_TMPDIR: path.join(dir, 'tmp'),
    CERTMONGER_LOCAL_CA_DIR: path.join(dir, 'local'),
    CERTMONGER_SYSTEM_LOCK_FILE: path.join(dir, 'lock'),
  };
  const env: NodeJS.ProcessEnv = { ...process.env, CERTMONGER_PVT_ADDRESS: `unix:path=${sock}` };
  const args = ['-n', '-L', '-P', sock, '-p', path.join(dir, 'pid')];
  if (opts.debugLevel) args.push('-d', String(opts.debugLevel));
  const daemon = spawnDaemon('certmonger', args, { env: daemonEnv, cwd: dir });

  const getcert = (a: string[], timeoutMs = 30_000): Promise<RunResult> => run('getcert', a, { env, cwd: dir, timeoutMs });
  const list = async (id: string): Promise<CertmongerListing> => {
    const r = await getcert(['list', '-i', id]);
    return parseListing(r.stdout + r.stderr);
  };
  const stop = async (): Promise<void> => {
    await daemon.stop();
    removeDir(dir);
  };

  try {
    await waitFor(
      async () => {
        if (!daemon.isRunning()) throw new Error(`certmonger exited: ${daemon.output()}`);
        if (!fs.existsSync(sock)) return false;
        return (await getcert(['list-cas'], 5_000)).exitCode === 0;
      },
      opts.startTimeoutMs ?? 10_000,
      'certmonger socket',
    );
  } catch (err) {
    await stop();
    throw err;
  }

  let caFiles = 0;
  const fetchCaCerts = async (url: string): Promise<string> => {
    // scep-submit has no HTTP timeout of its own
    const r = await run(SCEP_SUBMIT, ['-u', url, '-C'], { timeoutMs: 20_000 });
    if (r.exitCode !== 0 || !r.stdout.includes('BEGIN CERTIFICATE')) {
      throw new Error(`scep-submit -C failed (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}): ${r.stdout}${r.stderr}`);
    }
    return r.stdout;
  };
  const writeFile = (name: string, content: string): string => {
    const file = path.join(dir, 'files', `${++caFiles}-${name}`);
    fs.writeFileSync(file, content);
    return file;
  };

  return {
    dir,
    env,
    daemon,
    getcert,
    list,
    stop,
    fetchCaCerts,
    async addCa(name: string, url: string, o: AddCaOptions = {}): Promise<AddedCa> {
      const a = ['add-scep-ca', '-c', name, '-u', url];
      const added: AddedCa = {};
      // certmonger needs the CA with -N when GetCACert answers a single certificate
      const caPem = o.caCertPem ?? (o.raCertPem ? undefined : await fetchCaCerts(url));
      if (caPem) a.push('-N', (added.caFile = writeFile('ca.pem', caPem)));
      if (o.raCertPem) a.push('-r', (added.raFile = writeFile('ra.pem', o.raCertPem)));
      if (o.otherCertsPem) a.push('-I', (added.otherFile = writeFile('other.pem', o.otherCertsPem)));
      if (o.identifier) a.push('-i', o.identifier);
      const r = await getcert(a);
      if (r.exitCode !== 0) throw new Error(`getcert add-scep-ca failed: ${r.stdout}${r.stderr}`);
      return added;
    },
    async request(o: CertmongerRequestOptions): Promise<CertmongerRequestResult> {
      const keyFile = path.join(dir, 'files', `${o.id}.key.pem`);
      const certFile = path.join(dir, 'files', `${o.id}.cert.pem`);
      // an existing file at -f is taken as an already issued certificate
      fs.rmSync(certFile, { force: true });
      const timeoutSec = o.timeoutSec ?? 30;
      const a = ['request', '-c', o.caName, '-I', o.id, '-k', keyFile, '-f', certFile];
      a.push('-N', o.subject ?? `CN=${o.cn ?? o.id}`);
      if (o.challenge !== undefined) a.push('-L', o.challenge);
      if (o.keySize !== undefined) a.push('-g', String(o.keySize));
      a.push('-w', `--wait-timeout=${timeoutSec}`, ...(o.extraArgs ?? []));
      const r = await getcert(a, (timeoutSec + 15) * 1000);
      const listing = await list(o.id);
      const read = (f: string): string | undefined => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined);
      return {
        status: listing.status ?? 'UNKNOWN',
        caError: listing.caError,
        certPem: read(certFile),
        keyPem: read(keyFile),
        keyFile,
        certFile,
        listing,
        getcert: r,
      };
    },
    async resubmit(id: string, args: string[] = [], timeoutSec = 30): Promise<CertmongerListing> {
      // `resubmit -w` exits 0 even when refused: the listing is the truth
      await getcert(['resubmit', '-i', id, ...args, '-w', `--wait-timeout=${timeoutSec}`], (timeoutSec + 15) * 1000);
      return list(id);
    },
    async waitForStatus(id, accept, timeoutMs): Promise<CertmongerListing> {
      let last: CertmongerListing | undefined;
      try {
        await waitFor(async () => accept((last = await list(id))), timeoutMs, `certmonger request ${id}`);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last status ${last?.status} ${last?.caError ?? ''}`);
      }
      return last!;
    },
  };
}
