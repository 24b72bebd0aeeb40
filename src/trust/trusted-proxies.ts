import { isIP } from 'node:net';
import proxyaddr from 'proxy-addr';

/**
 * The proxies we trust (SCEPTER_TRUSTED_PROXIES, validated by config): TLS-terminating or
 * forwarding proxies whose `X-Forwarded-For` and client-certificate headers we believe. Anyone
 * else sending those headers is spoofing. One notion for every use: the client address of the
 * auth-failure limiter, the audit log and the authentication log, and who may pass a client
 * certificate in a header. The matching and the hop walk are `proxy-addr`'s (Express's).
 */
export class TrustedProxies {
  private readonly trust: (address: string, hop: number) => boolean;
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    this.trust = this.empty ? () => false : proxyaddr.compile([...entries]);
  }

  contains(address: string | undefined): boolean {
    if (!address || this.empty || !isIP(address)) return false;
    return this.trust(address, 0);
  }

  /**
   * The client's address: the nearest X-Forwarded-For hop that is not one of our proxies, walking
   * from the connection's peer leftwards; only a trusted peer's header is read at all.
   */
  clientAddress(peer: string | undefined, forwardedFor: string | undefined): string {
    const req = { socket: { remoteAddress: peer ?? '' }, headers: { 'x-forwarded-for': forwardedFor ?? '' } };
    const chain = proxyaddr.all(req as never, (addr, i) => this.contains(addr) && i >= 0);
    // a hop that is not an address (garbage a trusted proxy passed on) stops the walk at the hop before it
    let i = chain.length - 1;
    while (i > 0 && !isIP(chain[i]!)) i--;
    return unmapped(chain[i] ?? '');
  }
}

/** `::ffff:10.0.0.1` (IPv4 on a dual-stack socket) as `10.0.0.1`. */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
