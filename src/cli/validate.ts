import type { Command } from 'commander';
import { validateStixObject } from '../stix/validate.ts';
import { CliError } from './admin-client.ts';
import { readStixInput } from './stix-input.ts';

export type Invalid = { index: number; id: string | null; message: string };
export type ValidationReport = { file: string; total: number; valid: number; invalid: Invalid[] };

/** Each object through the node's own validator: the messages are the node's, word for word. */
export function validateObjects(file: string, objects: unknown[]): ValidationReport {
  const invalid: Invalid[] = [];
  objects.forEach((object, index) => {
    const result = validateStixObject(object);
    if (!result.ok) invalid.push({ index, id: result.id, message: result.message });
  });
  return { file, total: objects.length, valid: objects.length - invalid.length, invalid };
}

/** `objects[3] indicator--…: pattern: …`: its place in the bundle, its id, the node's message. */
export const invalidLine = (i: Invalid) => `objects[${i.index}] ${i.id ?? '(no id)'}: ${i.message}`;

export function describeInvalid(r: ValidationReport): string {
  const lines = r.invalid.map(invalidLine);
  lines.push(`${r.file}: ${r.total} objects, ${r.valid} valid, ${r.invalid.length} invalid`);
  return lines.join('\n');
}

/** `vigil validate <file|->`: STIX 2.1 validation offline, no node needed. Exit 1 when any object is invalid. */
export function validateCommand(program: Command, json: () => boolean): void {
  program
    .command('validate <bundle>')
    .description("check a STIX bundle (a file, or - for stdin) with the node's own STIX 2.1 validator, offline")
    .action((file: string) => {
      const input = readStixInput(file);
      const report = validateObjects(input.name, input.objects);
      process.stdout.write(json() ? `${JSON.stringify(report, null, 2)}\n` : `${describeInvalid(report)}\n`);
      if (report.invalid.length > 0) throw new CliError(`${report.invalid.length} of ${report.total} objects are invalid`, 1);
    });
}
