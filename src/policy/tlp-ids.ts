import { AMBER, AMBER_STRICT, CLEAR, GREEN, RED } from './levels.ts';
import type { Level } from './levels.ts';

// The closed alias table (shared/reference/tlp.md): every id under which a TLP level arrives.
// Nothing else is a TLP marking; a TLP-like marking with another id is denied, never ignored.
export const TLP_IDS: ReadonlyMap<string, Level> = new Map<string, Level>([
  // TLP 1.0, predefined by STIX 2.1 (TLP:WHITE is CLEAR; OpenCTI uses it for TLP:CLEAR too)
  ['marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9', CLEAR],
  ['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da', GREEN],
  ['marking-definition--f88d31f6-486f-44da-b317-01333bde0b82', AMBER],
  ['marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed', RED],
  // TLP 2.0, the OASIS extension
  ['marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487', CLEAR],
  ['marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb', GREEN],
  ['marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421', AMBER],
  ['marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003', AMBER_STRICT],
  ['marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1', RED],
  // OpenCTI's own TLP:AMBER+STRICT
  ['marking-definition--826578e1-40ad-459f-bc73-ede076f81f37', AMBER_STRICT],
]);

export const TLP2_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

/** The TLP 2.0 marking of each level (CLEAR … RED), as the node marks what it publishes itself. */
export const TLP2_MARKING_OF_LEVEL: readonly string[] = [
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
];
