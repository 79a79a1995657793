import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';

// A webhook makes the node send requests wherever a client says: the classic server-side
// request forgery vector. So the URL is checked when a subscription is written, and the
// address is checked again when the connection is made (a name may resolve elsewhere by then).

export type WebhookPolicy = Readonly<{ allowPrivate: boolean; allowHttp: boolean; hosts: readonly string[] | undefined }>;

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
// ::/96 holds ::, ::1 and the deprecated IPv4-compatible addresses (::127.0.0.1).
for (const [net, prefix] of [['::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** Loopback, private, link-local, shared, multicast or reserved: not a place for a webhook. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  // An IPv4 address mapped into IPv6 (::ffff:127.0.0.1) is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  return blocked.check(address, 'ipv6');
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
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (policy.hosts && !hostAllowed(host, policy.hosts)) return `host ${host} is not in ALERT_WEBHOOK_HOSTS`;
  if (!policy.allowPrivate) {
    if (isIP(host) && isPrivateAddress(host)) return `${host} is a loopback, private or link-local address`;
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
      const refused = policy.allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (refused) {
        const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${refused.address}, a loopback, private or link-local address`);
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
