import { classifyMarkingDefinition } from './markings.ts';
import { RED } from './levels.ts';
import type { Level } from './levels.ts';
import { TLP_IDS } from './tlp-ids.ts';

// MISP's STIX 2.1 export (misp-stix) writes TLP tags it knows as marking references, and any other
// tag as a label: older exporters left `tlp:clear` and `tlp:amber+strict` as labels, and a tag on
// an event marks its report or grouping only, not the attributes MISP meant it for. Here an object
// without a TLP marking gets one from the most specific TLP statement MISP made about it: its own
// `tlp:*` labels, else its event's TLP (the report or grouping that lists it in object_refs).

const TLP1 = {
  white: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  green: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  amber: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  red: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
};

/** The marking each MISP TLP tag gets, the one misp-stix writes for it (TLP 2.0's for clear and amber+strict). */
export const MISP_TLP_TAGS: ReadonlyMap<string, string> = new Map([
  ['tlp:white', TLP1.white],
  ['tlp:clear', 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487'],
  ['tlp:green', TLP1.green],
  ['tlp:amber', TLP1.amber],
  ['tlp:amber+strict', 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003'],
  ['tlp:red', TLP1.red],
]);

/** A TLP statement: the marking that says it, and its level. */
type Statement = { ref: string; level: Level };
type StixObject = Record<string, unknown>;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const stricter = (a: Statement | undefined, b: Statement | undefined) => (!a || (b && b.level > a.level) ? b : a);

/** The marking references of an object, object-level and granular. */
function markingRefs(o: StixObject): string[] {
  const granular = Array.isArray(o.granular_markings)
    ? o.granular_markings.map((g) => (g && typeof g === 'object' ? (g as StixObject).marking_ref : undefined))
    : [];
  return [...strings(o.object_marking_refs), ...strings(granular)];
}

/**
 * The TLP level of a `tlp:*` label: known tags by their level; any other `tlp:` label (a tag of
 * MISP's taxonomy this node has no level for, such as tlp:ex:chr) as RED, the strictest it serves.
 */
function labelStatement(label: string): Statement | undefined {
  const tag = label.trim().toLowerCase();
  if (!tag.startsWith('tlp:')) return undefined;
  const ref = MISP_TLP_TAGS.get(tag) ?? TLP1.red;
  return { ref, level: ref === TLP1.red ? RED : TLP_IDS.get(ref)! };
}

/** What the page's objects say about TLP: the object's own marking (strictest), else its own tlp labels (strictest). */
function statements(objects: StixObject[]) {
  const definitions = new Map<string, StixObject>();
  for (const o of objects) if (o.type === 'marking-definition' && typeof o.id === 'string') definitions.set(o.id, o);
  const marked = (o: StixObject): Statement | undefined =>
    markingRefs(o).reduce<Statement | undefined>((s, ref) => {
      const known = TLP_IDS.get(ref);
      if (known !== undefined) return stricter(s, { ref, level: known });
      // A TLP-looking definition of the exporter's own: what it marks is denied here, and RED to what it covers.
      const def = definitions.get(ref);
      return def && classifyMarkingDefinition(def).kind === 'unknown-tlp' ? stricter(s, { ref, level: RED }) : s;
    }, undefined);
  const labelled = (o: StixObject): Statement | undefined =>
    strings(o.labels).reduce<Statement | undefined>((s, l) => stricter(s, labelStatement(l)), undefined);
  return { marked, labelled };
}

/**
 * The page's objects, each without a TLP marking given the marking of the most specific TLP
 * statement MISP made about it (its labels, else its event's), appended to its
 * object_marking_refs; other objects are returned as they came. Marking definitions are never
 * touched. Objects about which MISP said nothing stay unmarked: the source's default level applies.
 */
export function markMispTlp(objects: StixObject[]): StixObject[] {
  const { marked, labelled } = statements(objects);
  const byEvent = new Map<string, Statement>();
  for (const o of objects) {
    if (o.type !== 'report' && o.type !== 'grouping') continue;
    const event = marked(o) ?? labelled(o);
    if (!event) continue;
    for (const ref of strings(o.object_refs)) {
      const s = stricter(byEvent.get(ref), event);
      if (s) byEvent.set(ref, s);
    }
  }
  return objects.map((o) => {
    if (o.type === 'marking-definition' || marked(o)) return o;
    const s = labelled(o) ?? (typeof o.id === 'string' ? byEvent.get(o.id) : undefined);
    return s ? { ...o, object_marking_refs: [...strings(o.object_marking_refs), s.ref] } : o;
  });
}
