import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readStixInput } from '../../src/cli/stix-input.ts';
import { validateObjects } from '../../src/cli/validate.ts';
import { validateStixObject } from '../../src/stix/validate.ts';
import { VALID_OBJECTS, valid } from './stix/helpers.ts';

// `vigil validate`: offline, the node's own validator, as a real child process (no node, no
// database, no network: VIGIL_URL points nowhere and no token is given).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'vigil.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'vigil-validate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Run = { code: number; stdout: string; stderr: string };

function vigil(args: string[], stdin?: string): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'ADMIN_TOKEN') env[k] = v;
  env['VIGIL_URL'] = 'http://127.0.0.1:9';
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end(stdin ?? '');
  });
}

function file(name: string, content: unknown): string {
  const p = path.join(tmp, name);
  writeFileSync(p, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content));
  return p;
}

const badPattern = valid('indicator', { pattern: "[ipv4-addr:value = '1.2.3.4'" });
const noId = valid('malware', { id: undefined });
const bundle = (objects: unknown[]) => ({ type: 'bundle', id: 'bundle--0b1f7a43-1d5e-4f4a-9d7e-2a8c0c6f5b11', objects });

describe('validateObjects', () => {
  it("reports each invalid object with its index, id and the node's own message", () => {
    const report = validateObjects('x.json', [VALID_OBJECTS[0], badPattern, noId, 'not an object']);
    expect(report).toMatchObject({ file: 'x.json', total: 4, valid: 1 });
    const node = (o: unknown) => (validateStixObject(o) as { message: string }).message;
    expect(report.invalid).toEqual([
      { index: 1, id: badPattern['id'], message: node(badPattern) },
      { index: 2, id: null, message: 'id: is required' },
      { index: 3, id: null, message: 'object: must be a JSON object' },
    ]);
    expect(report.invalid[0]!.message).toMatch(/^pattern: /);
  });
});

describe('readStixInput', () => {
  it.each([
    ['not a bundle', 'indicator.json', JSON.stringify(badPattern), "indicator.json is not a STIX bundle (its type is 'indicator')"],
    ['a JSON list', 'list.json', '[]', 'list.json is not a STIX bundle'],
    ['objects not a list', 'objects.json', JSON.stringify({ type: 'bundle', objects: {} }), 'objects.json: objects must be a list'],
    ['not UTF-8', 'latin1.json', Buffer.from([0x7b, 0xe9, 0x7d]), 'latin1.json is not UTF-8 text'],
  ])('refuses %s with a usage error (exit 2) naming the file', (_, name, content, message) => {
    const p = file(name, content);
    expect(() => readStixInput(p)).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) }));
  });

  it('takes a bundle, an envelope, and a bundle without objects', () => {
    expect(readStixInput(file('b.json', bundle([badPattern]))).objects).toEqual([badPattern]);
    expect(readStixInput(file('e.json', { more: false, objects: [noId] })).objects).toEqual([noId]);
    expect(readStixInput(file('empty.json', { type: 'bundle', id: 'bundle--0b1f7a43-1d5e-4f4a-9d7e-2a8c0c6f5b11' })).objects).toEqual([]);
  });
});

describe.concurrent('vigil validate', () => {
  it('exits 0 on a bundle of valid objects of every type, with no node running', async () => {
    const r = await vigil(['validate', path.join(ROOT, 'test/fixtures/stix/valid-objects.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${VALID_OBJECTS.length} objects, ${VALID_OBJECTS.length} valid, 0 invalid`);
  });

  it('exits 1 and prints index, id and message of each invalid object; --json for scripts', async () => {
    const f = file('mixed.json', bundle([VALID_OBJECTS[0], badPattern, noId]));
    const text = await vigil(['validate', f]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`objects[1] ${badPattern['id']}: pattern: `);
    expect(text.stdout).toContain('objects[2] (no id): id: is required');
    expect(text.stdout).toContain('3 objects, 1 valid, 2 invalid');
    expect(text.stderr).toContain('2 of 3 objects are invalid');

    const json = await vigil(['--json', 'validate', f]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      total: 3,
      valid: 1,
      invalid: [
        { index: 1, id: badPattern['id'] },
        { index: 2, id: null },
      ],
    });
  });

  it('reads stdin with -, and takes a TAXII envelope too', async () => {
    const r = await vigil(['validate', '-'], JSON.stringify({ more: false, objects: [badPattern] }));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('objects[0] ');
    expect(r.stdout).toContain('stdin: 1 objects, 0 valid, 1 invalid');
  });

  it('exits 2 on a file that is not JSON, naming it, without a stack trace', async () => {
    const r = await vigil(['validate', file('broken.json', '{"type": "bundle", "objects": [')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('broken.json is not JSON');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on a file that cannot be read', async () => {
    const r = await vigil(['validate', path.join(tmp, 'missing.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read');
    expect(r.stderr).toContain('missing.json');
  });
});
