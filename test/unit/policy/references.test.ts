import { describe, expect, it } from 'vitest';
import { objectReferences } from '../../../src/policy/references.ts';

// tlp.md, "References leak ids": links (relationship, sighting) and containers (report,
// grouping, note, opinion) and the properties through which they point.

const A = 'indicator--0b1a6f3e-5c6d-4e7f-8a9b-0c1d2e3f4a5b';
const B = 'malware--1c2b3a4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const C = 'identity--2d3c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a';
const D = 'observed-data--3e4d5c6b-7a8f-4e9d-8c1b-2a3f4e5d6c7b';

describe('objectReferences', () => {
  it('reads a relationship as a link through source_ref and target_ref', () => {
    expect(objectReferences({ type: 'relationship', source_ref: A, target_ref: B, created_by_ref: C })).toEqual({
      kind: 'link',
      refs: [A, B],
    });
  });

  it('reads a sighting as a link through sighting_of_ref, observed_data_refs and where_sighted_refs', () => {
    expect(objectReferences({ type: 'sighting', sighting_of_ref: A, observed_data_refs: [D], where_sighted_refs: [C, C] })).toEqual({
      kind: 'link',
      refs: [A, D, C],
    });
    expect(objectReferences({ type: 'sighting', sighting_of_ref: A })).toEqual({ kind: 'link', refs: [A] });
  });

  it('reads reports, groupings, notes and opinions as containers through object_refs', () => {
    for (const type of ['report', 'grouping', 'note', 'opinion']) {
      expect(objectReferences({ type, object_refs: [A, B, A] }), type).toEqual({ kind: 'container', refs: [A, B] });
    }
  });

  it('deduplicates, and ignores what is not an id string', () => {
    expect(objectReferences({ type: 'relationship', source_ref: A, target_ref: A })).toEqual({ kind: 'link', refs: [A] });
    expect(objectReferences({ type: 'report', object_refs: [A, 7, null, B] })).toEqual({ kind: 'container', refs: [A, B] });
    expect(objectReferences({ type: 'report' })).toEqual({ kind: 'container', refs: [] });
  });

  it('gives other objects no references that decide anything, whatever _ref properties they have', () => {
    expect(objectReferences({ type: 'indicator', created_by_ref: C, object_marking_refs: [] })).toEqual({ kind: null, refs: [] });
    expect(objectReferences({ type: 'malware-analysis', sample_ref: A })).toEqual({ kind: null, refs: [] });
    expect(objectReferences({ type: 'observed-data', object_refs: [A] })).toEqual({ kind: null, refs: [] });
    expect(objectReferences({})).toEqual({ kind: null, refs: [] });
  });
});
