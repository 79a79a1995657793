// The values a plain block list takes (docs/feeds.md): IP addresses and networks, domains, URLs
// and file hashes, from an indicator's STIX pattern or from an SCO. Every value is checked and
// normalised here, once, when its object is stored: a list is served line by line, so a value
// with a line break, a space or a control character would inject lines or comments.

import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { patternComparisons } from './pattern.ts';
import type { Comparison } from './pattern.ts';

export const FEED_KINDS = ['ipv4', 'ipv6', 'domain', 'url', 'sha256', 'md5'] as const;
export type FeedKind = (typeof FEED_KINDS)[number];

export type FeedValue = { kind: FeedKind; value: string };

/** What stands for a token in every feed URL shown: a real one would end up in screenshots and logs. */
export const FEED_TOKEN_PLACEHOLDER = '<your feed token>';

/** What an object version gives the feeds: its values, and for an indicator its end of validity and confidence. */
export type FeedSource = { values: FeedValue[]; validUntil: string | null; confidence: number | null };

/** The object types whose versions may give feed values (the others are never parsed for them). */
export const FEED_TYPES: readonly string[] = ['indicator', 'ipv4-addr', 'ipv6-addr', 'domain-name', 'url', 'file'];

/** Longer values are left out: the longest URL most block lists take, and far beyond any host name. */
export const MAX_VALUE_LENGTH = 2048;

/** Whitespace, line and paragraph separators, control, format, surrogate and unassigned characters. */
const UNSAFE = /[\s\p{C}]/u;
const HASHES: Record<string, FeedKind> = { 'sha-256': 'sha256', sha256: 'sha256', md5: 'md5' };
const HEX = { sha256: /^[0-9a-f]{64}$/, md5: /^[0-9a-f]{32}$/ };
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** An IPv4 address or network; a network with host bits set is given as its network address. */
function ipv4(text: string): string | undefined {
  const [address, prefix, ...rest] = text.split('/');
  if (rest.length > 0 || isIP(address ?? '') !== 4) return undefined;
  if (prefix === undefined) return address;
  if (!/^\d{1,2}$/.test(prefix) || Number(prefix) > 32) return undefined;
  const bits = Number(prefix);
  if (bits === 32) return address;
  const n = address!.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const network = bits === 0 ? 0 : n - (n % 2 ** (32 - bits));
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${octets.join('.')}/${bits}`;
}

/** The eight 16-bit groups of an IPv6 address (isIP has accepted it), IPv4 tail included. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const o = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16));
}

/** RFC 5952 text of eight groups: lower case, no leading zeros, the longest run of zeros (two or more) as `::`. */
function ipv6Text(groups: number[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** An IPv6 address or network in RFC 5952 form; a network with host bits set is given as its network address. */
function ipv6(text: string): string | undefined {
  const [address, prefix, ...rest] = text.split('/');
  // isIP takes a zone (fe80::1%eth0): no block list does.
  if (rest.length > 0 || !address || address.includes('%') || isIP(address) !== 6) return undefined;
  const groups = ipv6Groups(address);
  if (prefix === undefined) return ipv6Text(groups);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > 128) return undefined;
  const bits = Number(prefix);
  if (bits === 128) return ipv6Text(groups);
  const masked = groups.map((g, i) => {
    const keep = Math.min(16, Math.max(0, bits - 16 * i));
    return keep === 0 ? 0 : g & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${ipv6Text(masked)}/${bits}`;
}

/**
 * A domain name of two labels or more, in lower case (IDNs as punycode), without a trailing
 * dot. A single label is refused: `com` on a DNS or firewall list blocks a whole top-level domain.
 */
function domain(text: string): string | undefined {
  const ascii = domainToASCII(text.endsWith('.') ? text.slice(0, -1) : text);
  if (!ascii || ascii.length > 253 || isIP(ascii) !== 0) return undefined;
  const labels = ascii.split('.');
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) ? ascii : undefined;
}

/** An absolute http, https or ftp URL with a host, served as written. */
function url(text: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return undefined;
  }
  return ['http:', 'https:', 'ftp:'].includes(parsed.protocol) && parsed.hostname !== '' ? text : undefined;
}

/** A value checked and normalised for its kind; undefined when it cannot go on a list. */
export function feedValue(kind: FeedKind, raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_VALUE_LENGTH || UNSAFE.test(raw)) return undefined;
  switch (kind) {
    case 'ipv4':
      return ipv4(raw);
    case 'ipv6':
      return ipv6(raw);
    case 'domain':
      return domain(raw);
    case 'url':
      return url(raw);
    case 'sha256':
    case 'md5': {
      const lower = raw.toLowerCase();
      return HEX[kind].test(lower) ? lower : undefined;
    }
  }
}

/** The kind a comparison's path names: `ipv4-addr:value`, `file:hashes.'SHA-256'`, …; undefined for any other path. */
function kindOfPath(c: Comparison): FeedKind | undefined {
  const [first, second, ...rest] = c.path;
  if (rest.length > 0) return undefined;
  if (c.objectType === 'file') return first === 'hashes' && typeof second === 'string' ? HASHES[second.toLowerCase()] : undefined;
  if (first !== 'value' || second !== undefined) return undefined;
  return ({ 'ipv4-addr': 'ipv4', 'ipv6-addr': 'ipv6', 'domain-name': 'domain', url: 'url' } as const)[c.objectType];
}

/**
 * The values whose presence alone makes the pattern match: `=` and `IN` comparisons on the paths
 * above, and `ISSUBSET` a network on ipv4-addr:value or ipv6-addr:value, joined to the rest by OR
 * only and under no qualifier (Comparison.sufficient). SHA256 and sha256 are taken for SHA-256.
 */
export function patternValues(pattern: string): FeedValue[] {
  const out = new Map<string, FeedValue>();
  for (const c of patternComparisons(pattern) ?? []) {
    if (!c.sufficient) continue;
    const kind = kindOfPath(c);
    if (!kind) continue;
    const cidr = c.operator === 'ISSUBSET' && (kind === 'ipv4' || kind === 'ipv6');
    if (c.operator !== 'EQ' && c.operator !== 'IN' && !cidr) continue;
    for (const raw of c.strings) {
      if (cidr && !raw.includes('/')) continue;
      const value = feedValue(kind, raw);
      if (value !== undefined) out.set(`${kind} ${value}`, { kind, value });
    }
  }
  return [...out.values()];
}

/** The values of an SCO: ipv4-addr, ipv6-addr, domain-name, url by `value`; file by its SHA-256 and MD5 hashes. */
function scoValues(object: Record<string, unknown>): FeedValue[] {
  // A defanged value (hxxp://…, example[.]com) is not the value a tool must match.
  if (object.defanged === true) return [];
  const simple = ({ 'ipv4-addr': 'ipv4', 'ipv6-addr': 'ipv6', 'domain-name': 'domain', url: 'url' } as const)[object.type as string];
  const out: FeedValue[] = [];
  const add = (kind: FeedKind, raw: unknown) => {
    const value = feedValue(kind, raw);
    if (value !== undefined && !out.some((v) => v.kind === kind && v.value === value)) out.push({ kind, value });
  };
  if (simple) add(simple, object.value);
  if (object.type === 'file' && object.hashes && typeof object.hashes === 'object') {
    for (const [key, raw] of Object.entries(object.hashes as Record<string, unknown>)) {
      const kind = HASHES[key.toLowerCase()];
      if (kind) add(kind, raw);
    }
  }
  return out;
}

/**
 * What a stored object version gives the feeds; undefined when nothing. An indicator counts when
 * its pattern_type is stix (a STIX 2.0 indicator, without spec_version, has no pattern_type: its
 * pattern is always a STIX pattern) and it is not revoked; its end of validity and confidence go along.
 */
export function feedSource(object: Record<string, unknown>): FeedSource | undefined {
  if (object.type === 'indicator') {
    const stix = object.pattern_type === 'stix' || (object.pattern_type === undefined && object.spec_version === undefined);
    if (!stix || object.revoked === true || typeof object.pattern !== 'string') return undefined;
    const values = patternValues(object.pattern);
    if (values.length === 0) return undefined;
    const validUntil = typeof object.valid_until === 'string' ? object.valid_until : null;
    const confidence = Number.isInteger(object.confidence) ? (object.confidence as number) : null;
    return { values, validUntil, confidence };
  }
  if (!FEED_TYPES.includes(object.type as string)) return undefined;
  const values = scoValues(object);
  return values.length > 0 ? { values, validUntil: null, confidence: null } : undefined;
}
