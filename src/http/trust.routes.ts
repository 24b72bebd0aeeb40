import Router from '@koa/router';
import type { Context } from 'koa';
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { parseCertificate } from '../trust/certificate-check';
import type { DeviceTrustService, TrustCheckRequest } from '../trust/device-trust.service';
import type { TrustedProxies } from '../trust/trusted-proxies';
import { BadRequestError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { readJsonObject } from './read-body';

export interface TrustRouterDeps {
  trust: DeviceTrustService;
  proxies: TrustedProxies;
  /** lower case, e.g. x-ssl-client-cert (nginx: proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert) */
  certificateHeader: string;
  logger: Logger;
}

export const DEVICE_TRUST_PATH = '/v1/device-trust';
const MAX_JSON_BYTES = 16 * 1024;

/** `GET|POST /v1/device-trust`: 200 with decision allow, 403 with decision deny (a normal answer, not an error). */
export function trustRouter(d: TrustRouterDeps): Router {
  const r = new Router();
  const answer = async (ctx: Context, input: Omit<TrustCheckRequest, 'sourceAddress' | 'certificate'>) => {
    const presented = presentedCertificate(ctx, d);
    const result = await d.trust.check({ ...input, ...presented });
    ctx.status = result.decision === 'allow' ? 200 : 403;
    ctx.body = result;
  };
  r.get(DEVICE_TRUST_PATH, async (ctx) => {
    const q = ctx.query;
    const one = (k: string) => (Array.isArray(q[k]) ? badRepeat(k) : q[k]);
    await answer(ctx, {
      user: one('user'),
      application: one('application'),
      identifier: one('identifier'),
      platform: one('platform'),
      configurationKey: one('configurationKey'),
    });
  });
  r.post(DEVICE_TRUST_PATH, async (ctx) => {
    const b = await readJsonObject(ctx, MAX_JSON_BYTES);
    await answer(ctx, { user: b.user, application: b.application, identifier: b.identifier, platform: b.platform, configurationKey: b.configurationKey });
  });
  return r;
}

function badRepeat(name: string): never {
  throw new BadRequestError(`${name} given more than once`);
}

// getPeerX509Certificate builds a new object per call; a keep-alive connection asks once
const peerCertificates = new WeakMap<object, X509Certificate | null>();

/** The client certificate: from a trusted proxy's header, else from our own TLS handshake. */
function presentedCertificate(ctx: Context, d: TrustRouterDeps): Pick<TrustCheckRequest, 'certificate' | 'certificateMalformed' | 'sourceAddress' | 'note'> {
  const socket = ctx.req.socket as TLSSocket;
  const peer = socket.remoteAddress;
  const sourceAddress = d.proxies.clientAddress(peer, ctx.get('X-Forwarded-For') || undefined);
  // each header line apart: Node joins repeated ones with ", ", which would hide a second certificate
  const lines = ctx.req.headersDistinct[d.certificateHeader];
  let note: string | undefined;
  if (lines !== undefined) {
    if (d.proxies.contains(peer)) {
      // two values (the client's own line passed on beside the proxy's) are ambiguous: never pick one
      if (lines.length !== 1) return { certificateMalformed: true, sourceAddress, note: 'repeated-certificate-header' };
      const value = lines[0]!;
      // nginx sends an empty value when the client presented no certificate
      if (!value.trim()) return { sourceAddress };
      const certificate = fromHeader(value);
      return certificate ? { certificate, sourceAddress } : { certificateMalformed: true, sourceAddress, note: 'malformed-certificate-header' };
    }
    note = 'spoofed-certificate-header';
    d.logger.warn(
      { peer, header: d.certificateHeader, path: ctx.path },
      'client certificate header from an address that is not a trusted proxy: ignored (spoofing attempt?)',
    );
  }
  if (!socket.encrypted) return { sourceAddress, note };
  let certificate = peerCertificates.get(socket);
  if (certificate === undefined) {
    certificate = socket.getPeerX509Certificate() ?? null;
    peerCertificates.set(socket, certificate);
  }
  return { certificate: certificate ?? undefined, sourceAddress, note };
}

/** nginx `$ssl_client_escaped_cert` (URL-encoded PEM); also plain PEM and `$ssl_client_cert`'s tab-indented form. */
function fromHeader(value: string): X509Certificate | undefined {
  let text = value;
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  text = text.replace(/\t/g, '');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    // bare base64 DER
    const der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
    return der.length ? parseCertificate(der) : undefined;
  }
  // exactly one PEM block; its lines may arrive joined with spaces (header folding by some proxies)
  const m = /^\s*-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----\s*$/.exec(text);
  return m ? parseCertificate(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')) : undefined;
}
