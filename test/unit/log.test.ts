import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLog } from '../../src/log.ts';

describe('the log', () => {
  it("writes an error's name, message, code and stack, never the query parameters it carries", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _e, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const child = createLog({ logLevel: 'info' }, sink);
    const err = Object.assign(new Error('duplicate key'), {
      code: '23505',
      params: ['{"objects":["secret bundle"]}', Buffer.from('token-hash')],
    });
    child.error({ err }, 'unhandled error');
    const entry = JSON.parse(lines[0]!);
    expect(entry.err).toMatchObject({ type: 'Error', message: 'duplicate key', code: '23505' });
    expect(entry.err.stack).toContain('duplicate key');
    expect(lines[0]).not.toContain('secret bundle');
    expect(entry.err).not.toHaveProperty('params');
  });
});
