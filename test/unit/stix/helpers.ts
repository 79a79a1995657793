// Shared fixtures for the STIX unit tests: one valid object of every STIX 2.1 type.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { validateStixObject } from '../../../src/stix/validate.ts';

export type Json = Record<string, unknown>;

const bundle = JSON.parse(readFileSync(new URL('../../fixtures/stix/valid-objects.json', import.meta.url), 'utf8')) as { objects: Json[] };

export const VALID_OBJECTS: readonly Json[] = bundle.objects;

/** A fresh copy of the first valid fixture of `type`, with `changes` applied (undefined deletes). */
export function valid(type: string, changes: Json = {}): Json {
  const found = VALID_OBJECTS.find((o) => o['type'] === type);
  if (!found) throw new Error(`no fixture of type ${type}`);
  const copy = structuredClone(found);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete copy[key];
    else copy[key] = value;
  }
  return copy;
}

/** Asserts the object is rejected with a message containing every fragment; returns the message. */
export function expectInvalid(object: unknown, ...fragments: string[]): string {
  const result = validateStixObject(object);
  if (result.ok) throw new Error(`expected a failure, got ok for ${JSON.stringify(object).slice(0, 200)}`);
  for (const fragment of fragments) expect(result.message).toContain(fragment);
  return result.message;
}

export function expectValid(object: unknown): void {
  const result = validateStixObject(object);
  expect(result.ok ? 'ok' : result.message).toBe('ok');
}
