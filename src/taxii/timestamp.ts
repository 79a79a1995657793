const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$/;

/**
 * A TAXII/STIX timestamp with a real calendar value, cut (never rounded) to microseconds: a
 * rounded-up `added_after` would skip the rows in between. Undefined when invalid.
 */
export function toMicroseconds(value: string): string | undefined {
  const m = PATTERN.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = ''] = m;
  // A leap second (RFC 3339 §5.6) is the last microsecond of its minute here, as stored versions are.
  if (s === '60' && h === '23' && mi === '59') return toMicroseconds(`${y}-${mo}-${d}T23:59:59.999999Z`);
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  const ok =
    date.getUTCFullYear() === Number(y) &&
    date.getUTCMonth() === Number(mo) - 1 &&
    date.getUTCDate() === Number(d) &&
    date.getUTCHours() === Number(h) &&
    date.getUTCMinutes() === Number(mi) &&
    date.getUTCSeconds() === Number(s);
  if (!ok || Number(y) < 1) return undefined;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.slice(0, 6).padEnd(6, '0')}Z`;
}
