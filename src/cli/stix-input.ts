import { readFileSync } from 'node:fs';
import { CliError } from './admin-client.ts';

export type StixInput = { name: string; objects: unknown[] };

/**
 * The objects of a STIX bundle or a TAXII envelope, from a file or `-` (stdin). Anything that
 * cannot be read, is not UTF-8 JSON, or is neither a bundle nor an envelope is a usage error (2).
 */
export function readStixInput(file: string): StixInput {
  const { name, json } = readJsonInput(file);
  return { name, objects: objectsOf(name, json) };
}

/** JSON from a file or `-` (stdin): anything that cannot be read, or is not UTF-8 JSON, is a usage error (2). */
export function readJsonInput(file: string): { name: string; json: unknown } {
  const name = file === '-' ? 'stdin' : file;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    throw new CliError(`cannot read ${name}: ${(err as Error).message}`, 2);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${name} is not UTF-8 text`, 2);
  }
  try {
    return { name, json: JSON.parse(text) };
  } catch (err) {
    throw new CliError(`${name} is not JSON: ${(err as Error).message}`, 2);
  }
}

function objectsOf(name: string, json: unknown): unknown[] {
  const expected = 'expected a STIX bundle ({"type": "bundle", "objects": [...]}) or a TAXII envelope ({"objects": [...]})';
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CliError(`${name} is not a STIX bundle: ${expected}`, 2);
  const record = json as Record<string, unknown>;
  const isBundle = record['type'] === 'bundle';
  // A TAXII envelope (§3.7) has no type; `more` and `next` may come along from a saved page.
  const isEnvelope = record['type'] === undefined && Object.hasOwn(record, 'objects');
  if (!isBundle && !isEnvelope) {
    const type = typeof record['type'] === 'string' ? ` (its type is '${record['type']}')` : '';
    throw new CliError(`${name} is not a STIX bundle${type}: ${expected}`, 2);
  }
  const objects = record['objects'];
  if (objects === undefined) return [];
  if (!Array.isArray(objects)) throw new CliError(`${name}: objects must be a list of STIX objects`, 2);
  return objects;
}
