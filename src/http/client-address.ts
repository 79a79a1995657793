import ipaddr from 'ipaddr.js';

// Where a request comes from, as the rate limits count it. Behind a proxy every connection is the
// proxy's: X-Forwarded-For is believed only from a trusted proxy (TRUSTED_PROXIES), and only up to
// the right-most address no trusted proxy wrote (anything left of it the caller may have forged).

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** TRUSTED_PROXIES' addresses and CIDR ranges, parsed once. */
export function trustedRanges(list: readonly string[]): Range[] {
  return list.map((entry): Range => {
    if (entry.includes('/')) return ipaddr.parseCIDR(entry);
    const addr = ipaddr.process(entry);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  });
}

function parse(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.process(address.trim().replace(/^\[(.*)\]$/, '$1'));
  } catch {
    return undefined;
  }
}

function trusted(addr: ipaddr.IPv4 | ipaddr.IPv6 | undefined, ranges: readonly Range[]): boolean {
  return addr !== undefined && ranges.some((r) => r[0].kind() === addr.kind() && addr.match(r));
}

/**
 * The key of the caller's address: an IPv4 address, or an IPv6 address's /64 (one host is
 * commonly given a whole /64, so its single addresses cost nothing to change). `peer` is the
 * connection's address, `forwardedFor` the X-Forwarded-For header.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, ranges: readonly Range[]): string {
  let addr = peer === undefined ? undefined : parse(peer);
  if (forwardedFor !== undefined && trusted(addr, ranges)) {
    const hops = forwardedFor.split(',').map(parse);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i];
      if (hop === undefined) break; // not an address: stop at the last hop that was
      addr = hop;
      if (!trusted(hop, ranges)) break;
    }
  }
  if (addr === undefined) return peer ?? 'unknown';
  if (addr.kind() === 'ipv4') return addr.toString();
  return `${new ipaddr.IPv6([...(addr as ipaddr.IPv6).parts.slice(0, 4), 0, 0, 0, 0]).toString()}/64`;
}
