import { BlockList, isIP } from 'node:net';

/**
 * The addresses (SCEPTER_TRUSTED_PROXIES) allowed to hand us a client certificate in a header,
 * i.e. TLS-terminating proxies. Anyone else sending that header is spoofing.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const [addr, bits] = e.split('/') as [string, string | undefined];
      const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(bits), type);
    }
    this.empty = entries.length === 0;
  }

  contains(address: string | undefined): boolean {
    if (!address || this.empty) return false;
    const plain = unmapped(address);
    return this.list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  }

  /** The client's address: the nearest X-Forwarded-For hop that is not one of our proxies. */
  clientAddress(peer: string | undefined, forwardedFor: string | undefined): string {
    const direct = unmapped(peer ?? '');
    if (!this.contains(direct) || !forwardedFor) return direct;
    const hops = forwardedFor.split(',').map((h) => unmapped(h.trim())).filter((h) => isIP(h));
    for (let i = hops.length - 1; i >= 0; i--) if (!this.contains(hops[i])) return hops[i]!;
    return hops[0] ?? direct;
  }
}

/** `::ffff:10.0.0.1` (IPv4 on a dual-stack socket) as `10.0.0.1`. */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
