// Capture server for real SCEP clients: answers GetCACaps/GetCACert from the test
// fixtures, stores every PKIOperation body it receives, then answers HTTP 500 so the
// client gives up. Used to record DER fixtures and by interop tests (no real CA here).
//
//   node dist/scripts/capture/capture-scep.js --out DIR [--port N] [--ra] [--caps "A\nB"] [--prefix NAME]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

export const DEFAULT_CAPS = 'POSTPKIOperation\nSHA-1\nSHA-256\nSHA-512\nAES\nDES3\nRenewal\nSCEPStandard';

// dist/scripts/capture -> repo root
const DEFAULT_FIXTURES = path.resolve(__dirname, '../../../test/fixtures');

export interface CaptureOptions {
  outDir: string;
  port?: number; // 0 (default) picks a free port
  host?: string;
  caps?: string;
  ra?: boolean; // answer GetCACert with the degenerate PKCS#7 RA-sign + RA-encrypt + CA
  fixturesDir?: string;
  prefix?: string; // file name prefix of saved captures
  log?: (line: string) => void;
}

export interface CapturedRequest {
  file: string;
  method: string;
  contentType?: string;
  urlLength: number;
  rawUrl?: string; // GET only: path and query exactly as sent (shows the client's escaping)
  bytes: number;
  receivedAt: string;
}

export interface CaptureServer {
  port: number;
  url: string; // ends with /scep
  captures: CapturedRequest[];
  /** Resolves with the next PKIOperation received after the call. */
  waitForCapture(timeoutMs: number): Promise<CapturedRequest>;
  close(): Promise<void>;
}

function pemToDer(pem: string): Buffer {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(b64, 'base64');
}

// Degenerate PKCS#7 (certs only, no signers) built by openssl so the fixture does not
// depend on our own (still evolving) CMS code. Order: RA sign, RA encrypt, CA.
function buildRaBundle(fixturesDir: string): Buffer {
  const files = ['test-ra-sign.cert.pem', 'test-ra-encrypt.cert.pem', 'test-ca.cert.pem'];
  const args = ['crl2pkcs7', '-nocrl', '-outform', 'DER'];
  for (const f of files) args.push('-certfile', path.join(fixturesDir, f));
  return execFileSync('openssl', args);
}

// Raw query parsing on purpose: URLSearchParams turns '+' into ' ', and iOS sends
// unescaped '+' in message=. Node's base64 decoder also accepts the URL-safe alphabet.
function queryParam(rawUrl: string, name: string): string | undefined {
  const q = rawUrl.indexOf('?');
  if (q < 0) return undefined;
  for (const part of rawUrl.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (decodeURIComponent(key) === name) return eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
  }
  return undefined;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startCaptureServer(opts: CaptureOptions): Promise<CaptureServer> {
  const fixturesDir = opts.fixturesDir ?? DEFAULT_FIXTURES;
  const caps = opts.caps ?? DEFAULT_CAPS;
  const prefix = opts.prefix ?? 'pkioperation';
  const log = opts.log ?? (() => undefined);
  fs.mkdirSync(opts.outDir, { recursive: true });
  const caDer = pemToDer(fs.readFileSync(path.join(fixturesDir, 'test-ca.cert.pem'), 'utf8'));
  const raBundle = opts.ra ? buildRaBundle(fixturesDir) : undefined;

  const captures: CapturedRequest[] = [];
  const waiters: Array<(c: CapturedRequest) => void> = [];

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const rawUrl = req.url ?? '/';
    const body = await readBody(req);
    const operation = queryParam(rawUrl, 'operation');
    log(`${req.method} ${rawUrl.length > 120 ? `${rawUrl.slice(0, 120)}...` : rawUrl} (url ${rawUrl.length} chars, body ${body.length} bytes)`);
    if (operation === 'GetCACaps') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(caps);
      return;
    }
    if (operation === 'GetCACert') {
      if (raBundle) res.writeHead(200, { 'content-type': 'application/x-x509-ca-ra-cert' }).end(raBundle);
      else res.writeHead(200, { 'content-type': 'application/x-x509-ca-cert' }).end(caDer);
      return;
    }
    if (operation === 'PKIOperation') {
      const message = req.method === 'GET' ? queryParam(rawUrl, 'message') : undefined;
      const der = message !== undefined ? Buffer.from(message.replace(/ /g, '+'), 'base64') : body;
      const file = path.join(opts.outDir, `${prefix}-${captures.length + 1}.der`);
      fs.writeFileSync(file, der);
      const capture: CapturedRequest = {
        file,
        method: req.method ?? '?',
        contentType: req.headers['content-type'],
        urlLength: rawUrl.length,
        rawUrl: req.method === 'GET' ? rawUrl : undefined,
        bytes: der.length,
        receivedAt: new Date().toISOString(),
      };
      captures.push(capture);
      fs.writeFileSync(`${file}.json`, JSON.stringify(capture, null, 2) + '\n');
      log(`saved ${file} (${der.length} bytes)`);
      waiters.splice(0).forEach((w) => w(capture));
      // 500 makes every client stop instead of polling (a PENDING reply would make it retry)
      res.writeHead(500, { 'content-type': 'text/plain' }).end('capture only\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('unknown operation\n');
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    port,
    url: `http://127.0.0.1:${port}/scep`,
    captures,
    waitForCapture(timeoutMs: number): Promise<CapturedRequest> {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no PKIOperation captured within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((c) => {
          clearTimeout(t);
          resolve(c);
        });
      });
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function parseArgs(argv: string[]): CaptureOptions {
  const opts: CaptureOptions = { outDir: 'captures' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--out') opts.outDir = next();
    else if (a === '--port') opts.port = Number(next());
    else if (a === '--host') opts.host = next();
    else if (a === '--caps') opts.caps = next().replace(/\\n/g, '\n');
    else if (a === '--ra') opts.ra = true;
    else if (a === '--fixtures') opts.fixturesDir = next();
    else if (a === '--prefix') opts.prefix = next();
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const USAGE = 'usage: capture-scep --out DIR [--port N] [--host H] [--ra] [--caps "A\\nB"] [--prefix NAME] [--fixtures DIR]';

if (require.main === module) {
  let opts: CaptureOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  opts.log = (line) => console.log(line);
  startCaptureServer(opts).then(
    (s) => {
      console.log(`capture server listening on ${s.url}, saving to ${path.resolve(opts.outDir)}`);
      const stop = (): void => void s.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
