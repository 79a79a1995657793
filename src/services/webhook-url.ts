import { isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

// A webhook makes the node send requests wherever a client says: the classic server-side
// request forgery vector. So the URL is checked when a subscription is written, and the
// address is checked again when the connection is made (a name may resolve elsewhere by then).

export type WebhookPolicy = Readonly<{ allowPrivate: boolean; allowHttp: boolean; hosts: readonly string[] | undefined }>;

// IANA allocates only 2000::/3 to global unicast; ipaddr.js calls the rest of its unnamed space
// 'unicast' too, which would let ::7f00:1 (IPv4-compatible, RFC 4291 §2.5.5.1) through.
const globalUnicast6 = ipaddr.parseCIDR('2000::/3');
const nat64WellKnown = ipaddr.parseCIDR('64:ff9b::/96');

/** "::1.2.3.4" as "::102:304": ipaddr.js reads that deprecated form as ::ffff:1.2.3.4. */
function hexTail(address: string): string {
  return address.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)(%.*)?$/,
    (_, a, b, c, d, zone = '') => `${(a * 256 + +b).toString(16)}:${(c * 256 + +d).toString(16)}${zone}`,
  );
}

/**
 * Why an address may not receive webhooks (its ipaddr.js range), or undefined when it is public
 * unicast. The URL check and the connect-time check both ask this, and nothing else.
 */
export function refusedAddressClass(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const ip = ipaddr.parse(family === 6 ? hexTail(address) : address);
  if (ip.kind() === 'ipv4') return ip.range() === 'unicast' ? undefined : ip.range();
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  // An IPv4-mapped address is the IPv4 address on a dual-stack socket, and the well-known NAT64
  // prefix carries one in its last 32 bits (RFC 6052 §2.2): both are judged by that address, since
  // DNS64 on IPv6-only networks gives every public receiver such an address. The other tunnels
  // (6to4, Teredo, SIIT's rfc6145, local-use NAT64) are refused outright: deprecated or local, with
  // an embedding we cannot prove public, and no webhook receiver needs them.
  if (range === 'ipv4Mapped' || (range === 'rfc6052' && v6.match(nat64WellKnown))) {
    const embedded = ipaddr.fromByteArray(v6.toByteArray().slice(12));
    const inner = refusedAddressClass(embedded.toString());
    return inner && `${range} (embeds ${embedded.toString()}, ${inner})`;
  }
  if (range === 'unicast') return v6.match(globalUnicast6) ? undefined : 'outside 2000::/3';
  return range;
}

function hostAllowed(host: string, hosts: readonly string[]): boolean {
  return hosts.some((h) => (h.startsWith('*.') ? host === h.slice(2) || host.endsWith(h.slice(1)) : host === h.replace(/^\[|\]$/g, '')));
}

/** Why the URL may not receive webhooks, or undefined when it may. */
export function webhookUrlProblem(raw: string, policy: WebhookPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return policy.allowHttp ? 'must be an https:// or http:// URL' : 'must be an https:// URL';
  }
  if (url.username || url.password) return 'must not carry credentials: the receiver checks the signature instead';
  if (url.hash) return 'must not have a #fragment';
  // A fully qualified name's trailing dot ("localhost.") names the same host.
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (policy.hosts && !hostAllowed(host, policy.hosts)) return `host ${host} is not in ALERT_WEBHOOK_HOSTS`;
  if (!policy.allowPrivate) {
    const refused = isIP(host) ? refusedAddressClass(host) : undefined;
    if (refused) return `${host} is not a public unicast address (${refused})`;
    if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a loopback name`;
  }
  return undefined;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * dns.lookup for the webhook connections, refusing private addresses when they are not
 * allowed: the check happens on the address actually connected to (no DNS rebinding).
 */
export function guardedLookup(policy: WebhookPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const refused = policy.allowPrivate ? undefined : list.find((a) => refusedAddressClass(a.address));
      if (refused) {
        const why = refusedAddressClass(refused.address);
        const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${refused.address}, not a public unicast address (${why})`);
        e.code = 'EWEBHOOKPRIVATE';
        return callback(e, []);
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}
