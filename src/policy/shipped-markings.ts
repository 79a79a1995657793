import { readFileSync } from 'node:fs';
import { TLP2_EXTENSION_ID, TLP_IDS } from './tlp-ids.ts';

type StixObject = Record<string, unknown> & { id: string; type: string };

// TLP 2.0 is not predefined by STIX: the node ships its marking definitions (and the extension
// definition they use) into a collection with the first object that references them.
const bundle = JSON.parse(readFileSync(new URL('./tlp-markings.json', import.meta.url), 'utf8')) as { objects: StixObject[] };
const byId = new Map(bundle.objects.map((o) => [o.id, o]));

function isTlp2(id: string): boolean {
  const md = byId.get(id);
  return md !== undefined && TLP_IDS.has(id) && md.extensions !== undefined;
}

/** The objects to ship before objects that reference these marking ids (extension first). */
export function objectsToShip(referenced: Iterable<string>): StixObject[] {
  const tlp2 = [...new Set(referenced)].filter(isTlp2).sort();
  if (tlp2.length === 0) return [];
  return [byId.get(TLP2_EXTENSION_ID)!, ...tlp2.map((id) => byId.get(id)!)];
}
