import { randomUUID } from 'node:crypto';
import { indicator } from './stix.ts';
import type { StixObject } from './stix.ts';
import { TLP1 } from '../fixtures/tlp-ids.ts';

/** A statement marking-definition, as MITRE marks ATT&CK with its copyright. */
export function statement(text: string): StixObject {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: `marking-definition--${randomUUID()}`,
    created: '2017-06-01T00:00:00.000Z',
    definition_type: 'statement',
    definition: { statement: text },
  };
}

export function relationship(source: string, target: string, over: Partial<StixObject> = {}): StixObject {
  return {
    type: 'relationship',
    spec_version: '2.1',
    id: `relationship--${randomUUID()}`,
    created: '2024-01-01T00:00:00.000Z',
    modified: '2024-01-01T00:00:00.000Z',
    relationship_type: 'indicates',
    source_ref: source,
    target_ref: target,
    ...over,
  };
}

/** A bundle shaped like MITRE's: objects marked with a statement, the definition (and its author) last. */
export function lateDefinitionBundle(size: number): StixObject[] {
  const mark = statement('Copyright 2024, The Example Corporation.');
  const author: StixObject = {
    type: 'identity',
    spec_version: '2.1',
    id: `identity--${randomUUID()}`,
    created: '2017-06-01T00:00:00.000Z',
    modified: '2017-06-01T00:00:00.000Z',
    name: 'The Example Corporation',
    identity_class: 'organization',
    object_marking_refs: [mark.id],
  };
  const indicators = Array.from({ length: Math.ceil((size - 2) / 2) }, (_, i) =>
    indicator({
      object_marking_refs: [mark.id],
      created_by_ref: author.id,
      name: `indicator ${i}`,
      ...(i % 7 === 0 ? { object_marking_refs: [mark.id, TLP1.green] } : {}),
    }),
  );
  const relationships = Array.from({ length: size - 2 - indicators.length }, (_, i) =>
    relationship(indicators[i]!.id, indicators[(i + 1) % indicators.length]!.id, {
      object_marking_refs: [mark.id],
      created_by_ref: author.id,
    }),
  );
  return [...indicators, ...relationships, author, mark];
}
