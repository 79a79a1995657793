import { describe, expect, it } from 'vitest';
import { AMBER, AMBER_STRICT, CLEAR, DENY, GREEN, RED } from '../../../src/policy/levels.ts';
import type { Level } from '../../../src/policy/levels.ts';
import { classifyMarkingDefinition, defaultLevelFor, resolveMarkings } from '../../../src/policy/markings.ts';
import type { MarkingKind } from '../../../src/policy/markings.ts';
import { TLP2_EXTENSION_ID } from '../../../src/policy/tlp-ids.ts';
import { OPENCTI_AMBER_STRICT, TLP1, TLP2 } from '../../fixtures/tlp-ids.ts';

// shared/reference/tlp.md: "The marking definitions" and "Several markings".

const UNKNOWN_ID = 'marking-definition--0c9a1a43-3d2b-4c31-9f41-6d9c1e6a0b77';

function md(over: Record<string, unknown>): Record<string, unknown> {
  return { type: 'marking-definition', spec_version: '2.1', id: UNKNOWN_ID, created: '2024-01-01T00:00:00.000Z', ...over };
}

describe('classifyMarkingDefinition', () => {
  it('knows the alias table by id whatever the object says', () => {
    expect(classifyMarkingDefinition(md({ id: TLP1.green, definition_type: 'tlp', definition: { tlp: 'green' } }))).toEqual({
      kind: 'tlp',
      level: GREEN,
    });
    expect(classifyMarkingDefinition(md({ id: TLP2.amberStrict, name: 'TLP:AMBER+STRICT' }))).toEqual({ kind: 'tlp', level: AMBER_STRICT });
    expect(
      classifyMarkingDefinition(md({ id: OPENCTI_AMBER_STRICT, definition_type: 'statement', definition: { statement: 'x' } })),
    ).toEqual({ kind: 'tlp', level: AMBER_STRICT });
    // The id decides, not the name: a known id never becomes something else.
    expect(classifyMarkingDefinition(md({ id: TLP1.red, name: 'PAP:CLEAR', definition_type: 'pap' }))).toEqual({ kind: 'tlp', level: RED });
  });

  it('calls a definition_type "tlp" marking with an unknown id unknown TLP', () => {
    expect(classifyMarkingDefinition(md({ definition_type: 'tlp', definition: { tlp: 'green' } }))).toEqual({ kind: 'unknown-tlp' });
    expect(classifyMarkingDefinition(md({ definition_type: ' TLP ', definition: { tlp: 'white' } }))).toEqual({ kind: 'unknown-tlp' });
  });

  it('calls a "TLP:" name with an unknown id unknown TLP, whatever its definition_type', () => {
    for (const name of ['TLP:PURPLE', 'tlp:green', 'TLP: AMBER', 'TLP:CLEAR', ' TLP:RED ']) {
      expect(classifyMarkingDefinition(md({ name, definition_type: 'statement', definition: { statement: 'x' } })), name).toEqual({
        kind: 'unknown-tlp',
      });
    }
  });

  it('calls a TLP 2.0 extension marking with an unknown id unknown TLP', () => {
    const ext = { [TLP2_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: 'green' } };
    expect(classifyMarkingDefinition(md({ name: 'Community green', extensions: ext }))).toEqual({ kind: 'unknown-tlp' });
    expect(classifyMarkingDefinition(md({ extensions: ext }))).toEqual({ kind: 'unknown-tlp' });
  });

  it('does not take a name merely starting with TLP for TLP', () => {
    expect(classifyMarkingDefinition(md({ name: 'TLPX internal', definition_type: 'statement', definition: { statement: 'x' } }))).toEqual({
      kind: 'statement',
    });
  });

  it('reads PAP by definition_type or by name', () => {
    expect(classifyMarkingDefinition(md({ definition_type: 'pap', definition: { pap: 'red' } }))).toEqual({ kind: 'pap', pap: 3 });
    expect(classifyMarkingDefinition(md({ definition_type: 'pap', name: 'PAP:AMBER', definition: { pap: 'amber' } }))).toEqual({
      kind: 'pap',
      pap: 2,
    });
    expect(classifyMarkingDefinition(md({ definition_type: 'statement', name: 'PAP:GREEN', definition: { statement: 'x' } }))).toEqual({
      kind: 'pap',
      pap: 1,
    });
    expect(classifyMarkingDefinition(md({ name: 'PAP:CLEAR', definition_type: 'x', definition: {} }))).toEqual({ kind: 'pap', pap: 0 });
    expect(classifyMarkingDefinition(md({ name: 'PAP:WHITE', definition_type: 'x', definition: {} }))).toEqual({ kind: 'pap', pap: 0 });
    expect(classifyMarkingDefinition(md({ definition_type: 'PAP', definition: { PAP: 'PAP:RED' } }))).toEqual({ kind: 'pap', pap: 3 });
  });

  it('takes a PAP marking of no known level as the strictest, PAP:RED, so it never loosens a restriction', () => {
    expect(classifyMarkingDefinition(md({ definition_type: 'pap', definition: { pap: 'purple' } }))).toEqual({ kind: 'pap', pap: 3 });
  });

  it('reads IEP by definition_type or by name', () => {
    expect(classifyMarkingDefinition(md({ definition_type: 'iep', definition: {} }))).toEqual({ kind: 'iep' });
    expect(classifyMarkingDefinition(md({ definition_type: 'x', name: 'IEP:HANDLING', definition: {} }))).toEqual({ kind: 'iep' });
  });

  it('reads a statement, and anything else as other', () => {
    expect(classifyMarkingDefinition(md({ definition_type: 'statement', definition: { statement: 'Copyright 2024' } }))).toEqual({
      kind: 'statement',
    });
    expect(classifyMarkingDefinition(md({ definition_type: 'x-acme', definition: { level: 3 } }))).toEqual({ kind: 'other' });
    expect(
      classifyMarkingDefinition(
        md({ extensions: { 'extension-definition--1f9a5e6c-2f2c-4c7a-8f0a-2a0f5c2b9e11': { extension_type: 'property-extension' } } }),
      ),
    ).toEqual({ kind: 'other' });
    expect(classifyMarkingDefinition({})).toEqual({ kind: 'other' });
  });
});

describe('resolveMarkings', () => {
  const STATEMENT = 'marking-definition--a1111111-1111-4111-8111-111111111111';
  const PAP_GREEN = 'marking-definition--a2222222-2222-4222-8222-222222222222';
  const PAP_RED = 'marking-definition--a3333333-3333-4333-8333-333333333333';
  const IEP = 'marking-definition--a4444444-4444-4444-8444-444444444444';
  const PURPLE = 'marking-definition--a5555555-5555-4555-8555-555555555555';
  const OTHER = 'marking-definition--a6666666-6666-4666-8666-666666666666';
  const PAP_CLEAR = 'marking-definition--a7777777-7777-4777-8777-777777777777';
  const defs = new Map<string, MarkingKind>([
    [STATEMENT, { kind: 'statement' }],
    [PAP_CLEAR, { kind: 'pap', pap: 0 }],
    [PAP_GREEN, { kind: 'pap', pap: 1 }],
    [PAP_RED, { kind: 'pap', pap: 3 }],
    [IEP, { kind: 'iep' }],
    [PURPLE, { kind: 'unknown-tlp' }],
    [OTHER, { kind: 'other' }],
  ]);
  const resolve = (refs: string[], defaultLevel: Level = AMBER) => resolveMarkings(refs, defs, defaultLevel);

  it('gives each TLP id its level without needing a stored definition', () => {
    const cases: [string, Level][] = [
      [TLP1.white, CLEAR],
      [TLP1.green, GREEN],
      [TLP1.amber, AMBER],
      [TLP1.red, RED],
      [TLP2.clear, CLEAR],
      [TLP2.green, GREEN],
      [TLP2.amber, AMBER],
      [TLP2.amberStrict, AMBER_STRICT],
      [TLP2.red, RED],
      [OPENCTI_AMBER_STRICT, AMBER_STRICT],
    ];
    for (const [id, level] of cases) expect(resolveMarkings([id], new Map(), RED), id).toEqual({ level, pap: null });
  });

  it('takes the strictest TLP across object and granular markings, in any order', () => {
    expect(resolve([TLP1.white, TLP1.green])).toEqual({ level: GREEN, pap: null });
    expect(resolve([TLP2.red, TLP1.white])).toEqual({ level: RED, pap: null });
    expect(resolve([TLP1.amber, TLP2.amberStrict, TLP2.clear])).toEqual({ level: AMBER_STRICT, pap: null });
    // TLP 1.0 and TLP 2.0 ids of one level agree.
    expect(resolve([TLP1.green, TLP2.green])).toEqual({ level: GREEN, pap: null });
  });

  it('gives an unmarked object the default level', () => {
    expect(resolve([], AMBER)).toEqual({ level: AMBER, pap: null });
    expect(resolve([], GREEN)).toEqual({ level: GREEN, pap: null });
    expect(resolve([], CLEAR)).toEqual({ level: CLEAR, pap: null });
  });

  it('gives an object with only non-TLP markings the default level: they do not loosen it', () => {
    expect(resolve([STATEMENT, IEP, OTHER, PAP_CLEAR], AMBER)).toEqual({ level: AMBER, pap: 0 });
    expect(resolve([PAP_CLEAR], RED)).toEqual({ level: RED, pap: 0 });
  });

  it('keeps the TLP level whatever PAP, IEP or statement markings sit beside it', () => {
    expect(resolve([TLP1.red, PAP_CLEAR, STATEMENT, IEP], CLEAR)).toEqual({ level: RED, pap: 0 });
    expect(resolve([PAP_CLEAR, TLP1.amber, OTHER], CLEAR)).toEqual({ level: AMBER, pap: 0 });
  });

  it('keeps the strictest PAP', () => {
    expect(resolve([PAP_GREEN, TLP1.green, PAP_RED, PAP_CLEAR])).toEqual({ level: GREEN, pap: 3 });
    expect(resolve([PAP_CLEAR, PAP_GREEN])).toEqual({ level: AMBER, pap: 1 });
  });

  it('denies an object with an unknown TLP-like marking, whatever else it carries, and says why', () => {
    for (const refs of [[PURPLE], [TLP1.white, PURPLE], [PURPLE, TLP1.red]]) {
      const r = resolve(refs, CLEAR);
      expect(r.level).toBe(DENY);
      expect(r.reason).toContain(PURPLE);
      expect(r.reason).toMatch(/TLP/);
    }
  });

  it('denies an object whose marking reference resolves to nothing, never treating it as unmarked, and names what it waits for', () => {
    const r = resolve([TLP1.white, UNKNOWN_ID], CLEAR);
    expect(r.level).toBe(DENY);
    expect(r.unresolved).toEqual([UNKNOWN_ID]);
    expect(r.reason).toBe(
      `withheld until marking-definition ${UNKNOWN_ID} is known: no such marking-definition in this request or this collection yet`,
    );
  });

  it('lists every marking it waits for, whatever resolves beside them', () => {
    const other = 'marking-definition--00000000-0000-4000-8000-000000000001';
    const r = resolve([UNKNOWN_ID, TLP1.red, other, STATEMENT], CLEAR);
    expect(r).toMatchObject({ level: DENY, unresolved: [UNKNOWN_ID, other] });
    expect(r.reason).toContain(`marking-definitions ${UNKNOWN_ID}, ${other} are known`);
  });

  it('denies for good, waiting for nothing, when an unknown TLP-like marking sits beside a missing one', () => {
    for (const refs of [
      [UNKNOWN_ID, PURPLE],
      [PURPLE, UNKNOWN_ID],
    ]) {
      const r = resolve(refs, CLEAR);
      expect(r.level).toBe(DENY);
      expect(r.unresolved).toBeUndefined();
      expect(r.reason).toContain(PURPLE);
    }
  });

  it('never resolves a TLP 1.0 lookalike id by its shape', () => {
    const lookalike = TLP1.white.replace(/9dc9$/, '9dc8');
    expect(resolveMarkings([lookalike], new Map(), CLEAR).level).toBe(DENY);
  });
});

describe('defaultLevelFor', () => {
  it('makes unmarked marking definitions CLEAR and everything else the collection default', () => {
    expect(defaultLevelFor('marking-definition', RED)).toBe(CLEAR);
    expect(defaultLevelFor('indicator', RED)).toBe(RED);
    expect(defaultLevelFor('extension-definition', AMBER)).toBe(AMBER);
  });
});
