// Which objects leak other objects' ids, and through which properties (tlp.md: "References
// leak ids"). Links are withheld whenever they point at a hidden object; containers unless the
// collection relaxes the rule.

export type RefKind = 'link' | 'container';

const LINKS: Record<string, readonly string[]> = {
  relationship: ['source_ref', 'target_ref'],
  sighting: ['sighting_of_ref', 'observed_data_refs', 'where_sighted_refs'],
};

const CONTAINERS = new Set(['report', 'grouping', 'note', 'opinion']);

function ids(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The ids an object points at that decide whether it may be served, and of which kind. */
export function objectReferences(object: Record<string, unknown>): { kind: RefKind | null; refs: string[] } {
  const type = object.type;
  if (typeof type !== 'string') return { kind: null, refs: [] };
  const link = LINKS[type];
  if (link) return { kind: 'link', refs: [...new Set(link.flatMap((p) => ids(object[p])))] };
  if (CONTAINERS.has(type)) return { kind: 'container', refs: [...new Set(ids(object.object_refs))] };
  return { kind: null, refs: [] };
}
