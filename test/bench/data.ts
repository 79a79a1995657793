import { AMBER, AMBER_STRICT, CLEAR, GREEN, RED } from '../../src/policy/levels.ts';
import { createRng } from './prng.ts';
import type { Rng } from './prng.ts';

/** One generated object version: its JSON text, and what the bulk loader stores beside it. */
export type Doc = { id: string; type: string; json: string; level: number; refIds: string[] };

// TLP 2.0 and 1.0 ids from src/policy/tlp-ids.ts, weighted so a GREEN client sees about half.
const MARKINGS: { refs: string[]; level: number; weight: number }[] = [
  { refs: ['marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487'], level: CLEAR, weight: 15 },
  { refs: ['marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9'], level: CLEAR, weight: 5 },
  { refs: ['marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'], level: GREEN, weight: 25 },
  { refs: ['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da'], level: GREEN, weight: 10 },
  { refs: ['marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421'], level: AMBER, weight: 25 },
  { refs: ['marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003'], level: AMBER_STRICT, weight: 5 },
  { refs: ['marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1'], level: RED, weight: 5 },
  // Unmarked: the collection's default level (AMBER unless set).
  { refs: [], level: AMBER, weight: 10 },
];
const TOTAL_WEIGHT = MARKINGS.reduce((s, m) => s + m.weight, 0);

function marking(rng: Rng): { refs: string[]; level: number } {
  let w = rng.int(TOTAL_WEIGHT);
  for (const m of MARKINGS) if ((w -= m.weight) < 0) return m;
  return MARKINGS[0]!;
}

const TLDS = ['com', 'net', 'org', 'info', 'ru', 'cn', 'io'] as const;
const WORDS = ['update', 'secure', 'login', 'cdn', 'mail', 'portal', 'sync', 'cloud', 'files', 'auth', 'verify', 'health'] as const;

function domain(rng: Rng): string {
  return `${rng.pick(WORDS)}-${rng.hex(6)}.${rng.pick(TLDS)}`;
}

/** A real STIX pattern: an IPv4 address, a domain, a URL or a file hash. */
function pattern(rng: Rng): { pattern: string; name: string } {
  switch (rng.int(5)) {
    case 0:
      return { pattern: `[ipv4-addr:value = '${10 + rng.int(200)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}']`, name: 'C2 address' };
    case 1:
      return { pattern: `[domain-name:value = '${domain(rng)}']`, name: 'Malicious domain' };
    case 2:
      return { pattern: `[url:value = 'https://${domain(rng)}/${rng.pick(WORDS)}/${rng.hex(10)}.php']`, name: 'Phishing URL' };
    case 3:
      return { pattern: `[file:hashes.'SHA-256' = '${rng.hex(64)}']`, name: 'Malware sample' };
    default:
      return { pattern: `[file:hashes.MD5 = '${rng.hex(32)}' OR file:hashes.'SHA-1' = '${rng.hex(40)}']`, name: 'Dropper' };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export type GenerateOptions = {
  seed: number;
  /** Pads each indicator's description to about this many characters (the analyst bundle). */
  pad?: number;
  /** Share of objects that are a new version of an id emitted before. */
  newVersionShare?: number;
};

const EPOCH = Date.UTC(2024, 0, 1);

/**
 * An endless, deterministic stream of object versions: indicators (most), malware, and
 * `indicates` relationships between them, with mixed TLP markings and several versions per id.
 */
export function* generate(opts: GenerateOptions): Generator<Doc> {
  const rng = createRng(opts.seed);
  const share = opts.newVersionShare ?? 0.2;
  const recent: { base: Record<string, unknown>; level: number; versions: number }[] = [];
  const malware: string[] = [];
  for (let i = 0; ; i++) {
    const now = EPOCH + i * 1000;
    if (recent.length > 50 && rng.next() < share) {
      // A later version of a recent indicator: same id and markings, later `modified`.
      const r = recent[rng.int(recent.length)]!;
      r.versions += 1;
      const object = { ...r.base, modified: iso(now), confidence: Math.min(100, 40 + r.versions * 10) };
      yield { id: r.base.id as string, type: 'indicator', json: JSON.stringify(object), level: r.level, refIds: [] };
      continue;
    }
    const m = marking(rng);
    const common = {
      spec_version: '2.1',
      created: iso(now),
      modified: iso(now),
      ...(m.refs.length ? { object_marking_refs: m.refs } : {}),
    };
    const roll = rng.next();
    if (roll < 0.03 || malware.length === 0) {
      const id = `malware--${rng.uuid()}`;
      malware.push(id);
      if (malware.length > 200) malware.shift();
      yield {
        id,
        type: 'malware',
        json: JSON.stringify({ type: 'malware', id, ...common, name: `${rng.pick(WORDS)}bot`, is_family: true }),
        level: m.level,
        refIds: [],
      };
    } else if (roll < 0.13 && recent.length > 0) {
      const id = `relationship--${rng.uuid()}`;
      const source = recent[rng.int(recent.length)]!.base.id as string;
      const target = malware[rng.int(malware.length)]!;
      const object = { type: 'relationship', id, ...common, relationship_type: 'indicates', source_ref: source, target_ref: target };
      yield { id, type: 'relationship', json: JSON.stringify(object), level: m.level, refIds: [source, target] };
    } else {
      const id = `indicator--${rng.uuid()}`;
      const p = pattern(rng);
      const description = opts.pad
        ? {
            description: `Observed in campaign ${rng.hex(8)}. ${'Lorem ipsum dolor sit amet. '.repeat(Math.ceil(opts.pad / 28))}`.slice(
              0,
              opts.pad,
            ),
          }
        : {};
      const base = {
        type: 'indicator',
        id,
        ...common,
        name: p.name,
        ...description,
        indicator_types: ['malicious-activity'],
        pattern: p.pattern,
        pattern_type: 'stix',
        valid_from: iso(now),
      };
      recent.push({ base, level: m.level, versions: 1 });
      if (recent.length > 500) recent.shift();
      yield { id, type: 'indicator', json: JSON.stringify(base), level: m.level, refIds: [] };
    }
  }
}

/** The next `n` documents of a stream. */
export function take(stream: Iterator<Doc>, n: number): Doc[] {
  const out: Doc[] = [];
  for (let i = 0; i < n; i++) out.push(stream.next().value as Doc);
  return out;
}
