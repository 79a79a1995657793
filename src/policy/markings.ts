import { CLEAR, DENY } from './levels.ts';
import type { Level, Pap } from './levels.ts';
import { TLP2_EXTENSION_ID, TLP_IDS } from './tlp-ids.ts';

/** What a marking-definition object is, as far as sharing goes. */
export type MarkingKind =
  | { kind: 'tlp'; level: Level }
  | { kind: 'unknown-tlp' }
  | { kind: 'pap'; pap: Pap }
  | { kind: 'iep' }
  | { kind: 'statement' }
  | { kind: 'other' };

const PAP_BY_NAME: Record<string, Pap> = { CLEAR: 0, WHITE: 0, GREEN: 1, AMBER: 2, RED: 3 };

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

/**
 * Classifies a stored marking-definition object. A TLP-looking definition (definition_type
 * "tlp", a "TLP:" name, or the TLP 2.0 extension) that is not in the alias table is unknown TLP.
 */
export function classifyMarkingDefinition(md: Record<string, unknown>): MarkingKind {
  const id = text(md.id);
  const known = TLP_IDS.get(id);
  if (known !== undefined) return { kind: 'tlp', level: known };
  const type = text(md.definition_type).toLowerCase();
  const name = text(md.name).toUpperCase();
  const extensions = md.extensions && typeof md.extensions === 'object' ? (md.extensions as Record<string, unknown>) : {};
  if (type === 'tlp' || /^TLP\s*[:\s]/.test(name) || TLP2_EXTENSION_ID in extensions) return { kind: 'unknown-tlp' };
  const definition = md.definition && typeof md.definition === 'object' ? (md.definition as Record<string, unknown>) : {};
  const papText = (text(definition.pap) || text(definition.PAP) || (name.startsWith('PAP') ? name : '')).toUpperCase();
  if (type === 'pap' || papText.startsWith('PAP')) {
    // A PAP level we do not know is taken as the strictest: it may never loosen a restriction.
    const pap = PAP_BY_NAME[papText.replace(/^PAP\s*[:\s]\s*/, '')] ?? 3;
    return { kind: 'pap', pap };
  }
  if (type === 'iep' || name.startsWith('IEP')) return { kind: 'iep' };
  if (type === 'statement') return { kind: 'statement' };
  return { kind: 'other' };
}

export type Resolution = {
  /** The object's own effective TLP level (before the per-id rule raises it). */
  level: Level;
  /** The strictest PAP marking, if any. */
  pap: Pap | null;
  /** Why an object was denied, for the status. */
  reason?: string;
  /**
   * The marking ids no definition is known for yet: the object is withheld until they arrive
   * (a later request, a peer's page), then resolved again. Absent when every marking resolved.
   */
  unresolved?: string[];
};

const UNKNOWN_TLP = 'looks like TLP but is not a known TLP marking';

/** Why a version with a known reason is withheld, as the admin's listing names it. */
export function denyCause(reason: string): 'unknown-tlp-marking' | 'refused-marking' {
  return reason.endsWith(UNKNOWN_TLP) ? 'unknown-tlp-marking' : 'refused-marking';
}

/** What the status of a request whose versions waited says once they are released. */
export const RELEASED_NOTE = 'released: every marking-definition it waited for is known now, and it is served at its level';

/** The text every waiting reason holds, whatever the definitions (waitingReason). */
export const WAITING_MARK = 'withheld until marking-definition';

/** The reason a version waiting for marking definitions gives, in statuses and the admin's listing. */
export function waitingReason(unresolved: readonly string[]): string {
  const s = unresolved.length > 1 ? 's' : '';
  return `${WAITING_MARK}${s} ${unresolved.join(', ')} ${s ? 'are' : 'is'} known: no such marking-definition in this request or this collection yet`;
}

/**
 * The effective level of one object version: the strictest TLP among all its markings (object
 * and granular); none gives `defaultLevel`. An unknown TLP-like marking makes it DENY for good; a
 * reference that resolves to nothing makes it DENY until the definition is known: never
 * "unmarked".
 */
export function resolveMarkings(refs: readonly string[], definitions: ReadonlyMap<string, MarkingKind>, defaultLevel: Level): Resolution {
  let tlp: Level | undefined;
  let pap: Pap | null = null;
  const unresolved: string[] = [];
  for (const ref of refs) {
    const known = TLP_IDS.get(ref);
    const kind: MarkingKind | undefined = known !== undefined ? { kind: 'tlp', level: known } : definitions.get(ref);
    if (!kind) unresolved.push(ref);
    else if (kind.kind === 'unknown-tlp') return { level: DENY, pap, reason: `marking ${ref} ${UNKNOWN_TLP}` };
    else if (kind.kind === 'tlp') tlp = tlp === undefined ? kind.level : (Math.max(tlp, kind.level) as Level);
    else if (kind.kind === 'pap') pap = pap === null ? kind.pap : (Math.max(pap, kind.pap) as Pap);
  }
  if (unresolved.length > 0) return { level: DENY, pap, reason: waitingReason(unresolved), unresolved };
  return { level: tlp ?? defaultLevel, pap };
}

/** Marking definitions are served to whoever sees what they mark: unmarked ones are CLEAR. */
export function defaultLevelFor(type: string, collectionDefault: Level): Level {
  return type === 'marking-definition' ? CLEAR : collectionDefault;
}
