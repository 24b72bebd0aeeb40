import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { Ws1Error, Ws1HostNotFoundError, Ws1NetworkError, Ws1ProtocolError, Ws1TimeoutError, Ws1TlsError } from './ws1.errors';

export interface Ws1RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Ws1TransportOptions {
  /** Extra trust anchor(s) (PEM) added to the system roots; verification is never turned off. */
  ca?: Buffer | string;
  timeoutMs: number;
}

/**
 * One keep-alive agent per client, with one prepared TLS secure context: passing `ca` per request
 * would rebuild the context (and re-parse every root) on each connection.
 */
export class Ws1Transport {
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(
    readonly baseUrl: URL,
    private readonly options: Ws1TransportOptions,
  ) {
    if (baseUrl.protocol === 'https:') {
      const secureContext = tls.createSecureContext(options.ca === undefined ? {} : { ca: [...tls.rootCertificates, options.ca.toString()] });
      this.agent = new https.Agent({ keepAlive: true, maxSockets: 4, secureContext, rejectUnauthorized: true });
      this.mod = https;
    } else {
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      this.mod = http;
    }
  }

  /**
   * One GET with an overall deadline (connect + headers + body). Throws a classified Ws1Error. A
   * body longer than `maxBodyBytes` is refused while it arrives: the caller sizes the cap to what
   * the request can legitimately return, because the body is parsed in memory afterwards.
   */
  get(pathAndQuery: string, headers: http.OutgoingHttpHeaders, maxBodyBytes: number): Promise<Ws1RawResponse> {
    const url = new URL(this.baseUrl.pathname.replace(/\/$/, '') + pathAndQuery, this.baseUrl);
    return new Promise<Ws1RawResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(classifyError(err, url.hostname));
      };
      const req = this.mod.request(url, { method: 'GET', agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= maxBodyBytes) return void chunks.push(chunk);
          fail(new Ws1ProtocolError(`Workspace ONE answered with a body larger than ${maxBodyBytes} bytes, the most this request can legitimately return`));
          req.destroy();
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
      });
      // Settle first, then destroy: the socket errors that the destroy causes are then ignored.
      const timer = setTimeout(() => {
        fail(new Ws1TimeoutError(this.options.timeoutMs));
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', fail);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

// Codes Node/OpenSSL use for certificate and handshake failures.
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_|HOSTNAME_MISMATCH|ERR_OSSL_)/;
// Transient: worth a retry with backoff.
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

export function classifyError(err: unknown, host: string): Ws1Error {
  if (err instanceof Ws1Error) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'UNKNOWN';
  if (code === 'ENOTFOUND') return new Ws1HostNotFoundError(host, err);
  if (TLS_CODES.test(code) || (err as { library?: unknown })?.library === 'SSL routines') return new Ws1TlsError(code, err);
  // A handshake that fails at the record layer (e.g. https to a plain-http port) is EPROTO with OpenSSL's reason in the text.
  const ssl = /SSL routines:[^:]*:([^:]+):/.exec(String((err as { message?: unknown })?.message ?? ''));
  if (code === 'EPROTO' && ssl) return new Ws1TlsError(`EPROTO: ${ssl[1]}`, err);
  return new Ws1NetworkError(code, NETWORK_CODES.has(code), err);
}
