import { describe, expect, it } from 'vitest';
import { assertAcceptable } from '../../../src/taxii/media.ts';

const refused = (accept: string | undefined) => {
  try {
    assertAcceptable(accept);
    return false;
  } catch (err) {
    expect((err as { code?: string }).code).toBe('not-acceptable');
    return true;
  }
};

describe('assertAcceptable', () => {
  const good = [
    'application/taxii+json;version=2.1',
    'application/taxii+json',
    '*/*',
    'application/*',
    'text/html, application/taxii+json;q=0.5',
  ];
  const bad = ['application/json', 'application/taxii+json;version=2.0', 'text/html', 'application/taxii+json;q=0', ''];

  it('serves the TAXII media type, its wildcards and lists, and nothing else', () => {
    for (const accept of good) expect(refused(accept), accept).toBe(false);
    for (const accept of bad) expect(refused(accept), accept).toBe(true);
    expect(refused(undefined)).toBe(true);
  });

  it('answers a header asked again as the first time, however many other headers came between', () => {
    for (let round = 0; round < 3; round++) {
      for (const accept of good) expect(refused(accept), accept).toBe(false);
      for (const accept of bad) expect(refused(accept), accept).toBe(true);
      // More distinct headers than the decisions kept.
      for (let i = 0; i < 300; i++) expect(refused(`application/x-${round}-${i}`)).toBe(true);
    }
  });
});
