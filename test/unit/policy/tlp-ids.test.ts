import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AMBER, AMBER_STRICT, CLEAR, GREEN, RED, levelOf } from '../../../src/policy/levels.ts';
import type { Level } from '../../../src/policy/levels.ts';
import { classifyMarkingDefinition } from '../../../src/policy/markings.ts';
import { objectsToShip } from '../../../src/policy/shipped-markings.ts';
import { TLP2_EXTENSION_ID, TLP_IDS } from '../../../src/policy/tlp-ids.ts';
import { TLP1_MARKINGS, TLP2_EXTENSION_ID as VALIDATOR_TLP2_EXTENSION_ID } from '../../../src/stix/meta-objects.ts';

// tlp.md (the project's TLP reference): one closed alias table, pinned against the JSON of the
// markings in test/fixtures/stix/tlp-markings.json.

type Md = Record<string, any> & { id: string; type: string };

const fixtureUrl = new URL('../../fixtures/stix/tlp-markings.json', import.meta.url);
const shippedUrl = new URL('../../../src/policy/tlp-markings.json', import.meta.url);
const fixture = JSON.parse(readFileSync(fixtureUrl, 'utf8')) as { objects: Md[] };
const markings = fixture.objects.filter((o) => o.type === 'marking-definition');

const OPENCTI_AMBER_STRICT = 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37';

/** The level a marking says it is, from its own words: TLP 1.0 `definition.tlp` or the TLP 2.0 extension. */
function statedLevel(md: Md): Level {
  const word: string = md.definition_type === 'tlp' ? md.definition.tlp : md.extensions[TLP2_EXTENSION_ID].tlp_2_0;
  const level = levelOf(word === 'white' ? 'CLEAR' : word);
  if (level === undefined) throw new Error(`no level for ${word}`);
  return level;
}

/** The level its name says: TLP:WHITE is TLP:CLEAR. */
function namedLevel(md: Md): Level {
  const name = (md.name as string).replace(/^TLP:/, '');
  return levelOf(name === 'WHITE' ? 'CLEAR' : name)!;
}

describe('the TLP alias table (tlp-ids.ts)', () => {
  it('holds the nine marking definitions of test/fixtures/stix/tlp-markings.json', () => {
    expect(markings).toHaveLength(9);
    expect(new Set(markings.map((m) => m.id)).size).toBe(9);
  });

  it.each(markings.map((m) => [m.name as string, m] as const))('maps %s to the level its definition and name say', (_name, md) => {
    expect(statedLevel(md)).toBe(namedLevel(md));
    expect(TLP_IDS.get(md.id)).toBe(statedLevel(md));
  });

  it('pins the ids of tlp.md, level by level', () => {
    const byLevel = (level: Level) =>
      [...TLP_IDS]
        .filter(([, l]) => l === level)
        .map(([id]) => id)
        .sort();
    expect(byLevel(CLEAR)).toEqual([
      'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
      'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
    ]);
    expect(byLevel(GREEN)).toEqual([
      'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
      'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
    ]);
    expect(byLevel(AMBER)).toEqual([
      'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
      'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
    ]);
    expect(byLevel(AMBER_STRICT)).toEqual([OPENCTI_AMBER_STRICT, 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003']);
    expect(byLevel(RED)).toEqual([
      'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
      'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
    ]);
  });

  it("maps OpenCTI's own TLP:AMBER+STRICT id to AMBER+STRICT", () => {
    expect(TLP_IDS.get(OPENCTI_AMBER_STRICT)).toBe(AMBER_STRICT);
    expect(markings.some((m) => m.id === OPENCTI_AMBER_STRICT)).toBe(false);
  });

  it('holds nothing else: the fixture markings and the OpenCTI id, exactly', () => {
    expect([...TLP_IDS.keys()].sort()).toEqual([...markings.map((m) => m.id), OPENCTI_AMBER_STRICT].sort());
  });

  it('agrees with the validator on the TLP 1.0 ids and the TLP 2.0 extension id', () => {
    for (const [id, word] of TLP1_MARKINGS) expect(TLP_IDS.get(id)).toBe(levelOf(word === 'white' ? 'CLEAR' : word));
    const tlp1 = markings
      .filter((m) => m.definition_type === 'tlp')
      .map((m) => m.id)
      .sort();
    expect([...TLP1_MARKINGS.keys()].sort()).toEqual(tlp1);
    expect(VALIDATOR_TLP2_EXTENSION_ID).toBe(TLP2_EXTENSION_ID);
    const extension = fixture.objects.filter((o) => o.type === 'extension-definition');
    expect(extension.map((e) => e.id)).toEqual([TLP2_EXTENSION_ID]);
  });

  it('classifies every fixture marking as the TLP level of the table', () => {
    for (const md of markings) expect(classifyMarkingDefinition(md)).toEqual({ kind: 'tlp', level: statedLevel(md) });
  });
});

describe('the marking definitions the node ships (src/policy/tlp-markings.json)', () => {
  it('is the fixture file, byte for byte', () => {
    expect(readFileSync(shippedUrl).equals(readFileSync(fixtureUrl))).toBe(true);
    expect(JSON.parse(readFileSync(shippedUrl, 'utf8'))).toEqual(fixture);
  });

  it('ships the extension definition first, then the TLP 2.0 markings referenced, each as in the fixture file', () => {
    const green = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb';
    const red = 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1';
    const byId = new Map(fixture.objects.map((o) => [o.id, o]));
    expect(objectsToShip([red, green, red])).toEqual([byId.get(TLP2_EXTENSION_ID), byId.get(green), byId.get(red)]);
  });

  it('ships nothing for TLP 1.0 ids (predefined by STIX), the OpenCTI id or unknown ids', () => {
    expect(
      objectsToShip([...TLP1_MARKINGS.keys(), OPENCTI_AMBER_STRICT, 'marking-definition--00000000-0000-4000-8000-000000000000']),
    ).toEqual([]);
    expect(objectsToShip([])).toEqual([]);
  });

  it('can ship every TLP 2.0 marking of the table', () => {
    const tlp2 = markings.filter((m) => m.extensions).map((m) => m.id);
    expect(tlp2).toHaveLength(5);
    expect(objectsToShip(tlp2).map((o) => o.id)).toEqual([TLP2_EXTENSION_ID, ...[...tlp2].sort()]);
  });
});
