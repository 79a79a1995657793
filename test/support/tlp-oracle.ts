// The TLP property tests' oracle: docs/tlp.md restated in plain values, importing nothing of src/
// (the implementation must never be its own oracle).

export const CLEAR = 0;
export const GREEN = 1;
export const AMBER = 2;
export const AMBER_STRICT = 3;
export const RED = 4;
export const DENY = 5;
export const LEVEL_NAMES = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED', 'DENY'] as const;

/** tlp.md's alias table: every id under which a TLP level arrives. */
export const ALIASES: Record<string, number> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': CLEAR, // TLP 1.0 WHITE
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': CLEAR, // TLP 2.0 CLEAR
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': GREEN,
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': GREEN,
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': AMBER,
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': AMBER,
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': AMBER_STRICT,
  'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37': AMBER_STRICT, // OpenCTI
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': RED,
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': RED,
};
