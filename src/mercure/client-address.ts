/**
 * The client's address behind reverse proxies. A request from a trusted proxy (an address or CIDR range in
 * `--trusted-proxies`) is attributed to the address its `X-Forwarded-For` names: the rightmost entry that
 * is not itself a trusted proxy (entries further left were written by the client and prove nothing).
 * Requests from anywhere else are attributed to the peer address; their `X-Forwarded-For` is ignored.
 */
import { BlockList, isIP } from 'node:net';

/** `entry` as `{ address, prefix, family }`, or an error message. */
export function parseProxyEntry(
  entry: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | string {
  const [address = '', bits, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return `"${entry}" is not an IP address or CIDR range`;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d+$/.test(bits ?? String(max)) || prefix > max)
    return `"${entry}" has a prefix length that is not 0 to ${max}`;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export class ClientAddress {
  private readonly trusted: BlockList | null;

  /** `proxies`: addresses and CIDR ranges, already validated by the configuration. */
  constructor(proxies: readonly string[]) {
    if (proxies.length === 0) {
      this.trusted = null;
      return;
    }
    this.trusted = new BlockList();
    for (const entry of proxies) {
      const parsed = parseProxyEntry(entry);
      if (typeof parsed === 'string') throw new Error(parsed);
      this.trusted.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
  }

  /** The address to count limits against, from the peer address and the `X-Forwarded-For` header. */
  of(peer: string | undefined, forwardedFor: string | undefined): string {
    const address = unmapped(peer ?? 'unknown');
    if (this.trusted === null || forwardedFor === undefined || !this.isTrusted(address)) return address;
    const hops = forwardedFor.split(',').map((s) => unmapped(s.trim()));
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) return address; // garbage from the proxy: do not trust the header at all
      if (!this.isTrusted(hop)) return hop;
    }
    return hops[0] ?? address;
  }

  /** The same for a request: its socket's peer address and its `X-Forwarded-For` header. */
  ofRequest(req: {
    socket: { remoteAddress?: string };
    headers: Record<string, string | string[] | undefined>;
  }): string {
    const header = req.headers['x-forwarded-for'];
    return this.of(req.socket.remoteAddress, Array.isArray(header) ? header.join(', ') : header);
  }

  /** Whether a peer address is one of the trusted reverse proxies. */
  isProxy(peer: string): boolean {
    return this.trusted !== null && this.isTrusted(unmapped(peer));
  }

  private isTrusted(address: string): boolean {
    const version = isIP(address);
    return version !== 0 && this.trusted!.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
