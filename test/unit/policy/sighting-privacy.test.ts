import { describe, expect, it } from 'vitest';
import { planPublication, safeDelta } from '../../../src/policy/sighting-privacy.ts';
import type { WaitingReport } from '../../../src/policy/sighting-privacy.ts';

let seq = 0;
const r = (org: string, hour: string, over: Partial<WaitingReport> = {}): WaitingReport => ({
  seq: String(++seq),
  org_key: `org:${org}`,
  shareable: false,
  hour_start: `2025-03-01T${hour}:00:00.000000Z`,
  hour_closed: true,
  ...over,
});

describe('the privacy rule of sighting aggregates', () => {
  it('takes a delta of enough organisations, or of shareable reports only', () => {
    expect(safeDelta([], 3)).toBe(false);
    expect(safeDelta([r('A', '10'), r('A', '10'), r('B', '10')], 3)).toBe(false);
    expect(safeDelta([r('A', '10'), r('B', '10'), r('C', '10')], 3)).toBe(true);
    expect(safeDelta([r('A', '10', { shareable: true })], 3)).toBe(true);
    expect(safeDelta([r('A', '10', { shareable: true }), r('B', '10')], 3)).toBe(false);
  });

  it('publishes an hour safe on its own in its hour and day; a lone report elsewhere waits', () => {
    const lone = r('A', '03');
    const hour = [r('B', '05'), r('C', '05'), r('D', '05')];
    const plan = planPublication([lone, ...hour], 3);
    expect(plan.hours).toEqual(['2025-03-01T05:00:00.000000Z']);
    expect(plan.intoHours).toEqual(hour.map((x) => x.seq));
    expect(plan.intoDay).toEqual([]);
  });

  it('publishes the rest of a day in the day alone when it is safe together and its hours are over', () => {
    const spread = [r('A', '03'), r('B', '04'), r('C', '05')];
    expect(planPublication(spread, 3)).toMatchObject({ hours: [], intoHours: [], intoDay: spread.map((x) => x.seq), again: null });
  });

  it('keeps reports of an hour not yet over out of the day, and looks again when it ends', () => {
    const spread = [r('A', '03'), r('B', '04'), r('C', '05', { hour_closed: false })];
    expect(planPublication(spread, 3)).toMatchObject({ intoDay: [], again: '2025-03-01T06:00:00.000Z' });
  });
});
