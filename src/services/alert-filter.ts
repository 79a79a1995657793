import { z } from 'zod';
import { parsePattern } from '../stix/pattern.ts';

// What a subscription asks to be alerted on. Every criterion given must hold; within a list,
// any value does. The CPE watchlist is the one criterion that looks beyond the object itself:
// a vulnerability matches when a `has`/`targets` relationship links it to software whose `cpe`
// starts with a listed prefix (the products a hospital runs). The trend criteria
// (min_sighting_orgs, rising) make a subscription fire on an indicator's sighting aggregates
// rather than on stored objects (docs/early-warning.md, "Trends"); the other criteria then
// apply to the indicator.

const stixType = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*-?$/, 'must be a STIX type name')
  .min(3)
  .max(250);
const nonEmpty = <T extends z.ZodType>(item: T, max: number) => z.array(item).min(1).max(max);

export const alertFilterSchema = z
  .object({
    types: nonEmpty(stixType, 100).optional(),
    labels: nonEmpty(z.string().min(1).max(250), 100).optional(),
    min_confidence: z.number().int().min(0).max(100).optional(),
    /** Object types in an indicator's STIX pattern: ipv4-addr, domain-name, url, file, ... */
    observable_types: nonEmpty(stixType, 100).optional(),
    cpe_prefixes: nonEmpty(
      z
        .string()
        .regex(/^cpe:2\.3:[aho*-]/i, 'must be a CPE 2.3 formatted string prefix, e.g. cpe:2.3:a:vendor:product')
        .max(500),
      1000,
    ).optional(),
    /** PAP:CLEAR/GREEN only (automatic blocking): PAP:AMBER and PAP:RED content never matches. */
    pap: z.enum(['clear', 'green']).optional(),
    /** Fire when the indicator's window holds aggregates of at least this many organisations, summed across the federation. */
    min_sighting_orgs: z.number().int().min(1).max(1_000_000).optional(),
    /** Fire when the indicator's window holds more sightings than the one before (GET /trends' "rising"); false: no criterion. */
    rising: z.boolean().optional(),
    /** The window of the trend criteria: one UTC hour or day bucket of the aggregates; hour unless given. */
    sighting_window: z.enum(['hour', 'day']).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const trend = isTrendFilter(f);
    if (f.sighting_window && !trend)
      ctx.addIssue({
        code: 'custom',
        path: ['sighting_window'],
        message: 'is the window of min_sighting_orgs or rising: give one of them',
      });
    if (trend && f.cpe_prefixes)
      ctx.addIssue({
        code: 'custom',
        path: ['cpe_prefixes'],
        message: 'alerts on vulnerabilities; min_sighting_orgs and rising on indicators',
      });
    if (trend && f.types && !f.types.includes('indicator'))
      ctx.addIssue({ code: 'custom', path: ['types'], message: 'must include indicator with min_sighting_orgs or rising' });
  });

export type AlertFilter = z.infer<typeof alertFilterSchema>;

/** Does the filter fire on trends (an indicator's sighting aggregates) rather than on stored objects? */
export function isTrendFilter(f: Pick<AlertFilter, 'min_sighting_orgs' | 'rising'>): boolean {
  return f.min_sighting_orgs !== undefined || f.rising === true;
}

/** The figures of an indicator's window a trend filter looks at. */
export type TrendFigures = { organisations: number; rising: boolean };

/** Do the figures meet the filter's trend criteria? */
export function meetsTrend(f: AlertFilter, t: TrendFigures): boolean {
  if (!isTrendFilter(f)) return false;
  if (f.min_sighting_orgs !== undefined && t.organisations < f.min_sighting_orgs) return false;
  return !(f.rising === true && !t.rising);
}

/** The parts of a stored version the filter looks at. */
export type Candidate = {
  type: string;
  labels: unknown;
  confidence: unknown;
  pattern: unknown;
  pattern_type: unknown;
  /** null: no PAP marking. */
  pap: number | null;
};

export const PAP_LIMIT = { clear: 0, green: 1 } as const;

/** The object types an indicator's STIX pattern names; none for other objects and other pattern languages. */
export function patternObjectTypes(c: Pick<Candidate, 'type' | 'pattern' | 'pattern_type'>): string[] {
  if (c.type !== 'indicator' || c.pattern_type !== 'stix' || typeof c.pattern !== 'string') return [];
  const parsed = parsePattern(c.pattern);
  return parsed.ok ? parsed.objectTypes : [];
}

/** Does the version itself pass the filter? (The CPE watchlist is checked by the matcher, on stored relationships.) */
export function matchesOwnProperties(f: AlertFilter, c: Candidate): boolean {
  if (f.cpe_prefixes && c.type !== 'vulnerability') return false;
  if (f.types && !f.types.includes(c.type)) return false;
  if (f.labels) {
    const labels = Array.isArray(c.labels) ? c.labels : [];
    if (!f.labels.some((l) => labels.includes(l))) return false;
  }
  if (f.min_confidence !== undefined && !(typeof c.confidence === 'number' && c.confidence >= f.min_confidence)) return false;
  if (f.pap && c.pap !== null && c.pap > PAP_LIMIT[f.pap]) return false;
  if (f.observable_types) {
    const named = patternObjectTypes(c);
    if (!f.observable_types.some((t) => named.includes(t))) return false;
  }
  return true;
}

/** CPE 2.3 names compare case-insensitively; a prefix matches a product, a vendor, or one exact version. */
export function cpeMatches(prefixes: readonly string[], cpe: string): boolean {
  const name = cpe.toLowerCase();
  return prefixes.some((p) => name.startsWith(p.toLowerCase()));
}
