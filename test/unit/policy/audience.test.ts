import { describe, expect, it } from 'vitest';
import { clientAudience } from '../../../src/policy/audience.ts';
import { AMBER, AMBER_STRICT, CLEAR, GREEN } from '../../../src/policy/levels.ts';

// tlp.md: AMBER+STRICT goes to clients of the node's own organisation only, with clearance
// AMBER+STRICT; RED only to named recipients.

describe('clientAudience', () => {
  it('gives a client its clearance as its highest level', () => {
    expect(clientAudience(CLEAR, false, false)).toEqual({ kind: 'client', maxLevel: CLEAR, red: false });
    expect(clientAudience(GREEN, false, false)).toEqual({ kind: 'client', maxLevel: GREEN, red: false });
    expect(clientAudience(AMBER, false, false)).toEqual({ kind: 'client', maxLevel: AMBER, red: false });
  });

  it('gives AMBER+STRICT clearance outside the own organisation AMBER only', () => {
    expect(clientAudience(AMBER_STRICT, false, false)).toEqual({ kind: 'client', maxLevel: AMBER, red: false });
    expect(clientAudience(AMBER_STRICT, true, false)).toEqual({ kind: 'client', maxLevel: AMBER_STRICT, red: false });
  });

  it('does not raise a lower clearance for the own organisation', () => {
    expect(clientAudience(AMBER, true, false)).toEqual({ kind: 'client', maxLevel: AMBER, red: false });
    expect(clientAudience(GREEN, true, false)).toEqual({ kind: 'client', maxLevel: GREEN, red: false });
  });

  it('adds RED only for a named recipient, whatever the clearance', () => {
    expect(clientAudience(CLEAR, false, true)).toEqual({ kind: 'client', maxLevel: CLEAR, red: true });
    expect(clientAudience(AMBER_STRICT, true, true)).toEqual({ kind: 'client', maxLevel: AMBER_STRICT, red: true });
  });
});
