import { describe, expect, it } from 'vitest';
import {
  alertFilterSchema,
  cpeMatches,
  isTrendFilter,
  matchesOwnProperties,
  meetsTrend,
  patternObjectTypes,
} from '../../../src/services/alert-filter.ts';
import type { Candidate } from '../../../src/services/alert-filter.ts';

const ioc = (over: Partial<Candidate> = {}): Candidate => ({
  type: 'indicator',
  labels: ['ransomware'],
  confidence: 80,
  pattern: "[ipv4-addr:value = '198.51.100.7']",
  pattern_type: 'stix',
  pap: null,
  ...over,
});

describe('alertFilterSchema', () => {
  it('takes every criterion', () => {
    const f = {
      types: ['indicator'],
      labels: ['x'],
      min_confidence: 50,
      observable_types: ['ipv4-addr'],
      cpe_prefixes: ['cpe:2.3:a:acme'],
      pap: 'green',
    };
    expect(alertFilterSchema.parse(f)).toEqual(f);
    expect(alertFilterSchema.parse({})).toEqual({});
  });
  it.each([
    [{ unknown: 1 }, ''],
    [{ min_confidence: 101 }, 'min_confidence'],
    [{ min_confidence: 1.5 }, 'min_confidence'],
    [{ cpe_prefixes: ['acme pacs'] }, 'cpe_prefixes'],
    [{ cpe_prefixes: ['cpe:/a:acme'] }, 'cpe_prefixes'],
    [{ types: [] }, 'types'],
    [{ types: ['Indicator'] }, 'types'],
    [{ pap: 'amber' }, 'pap'],
    [{ min_sighting_orgs: 0 }, 'min_sighting_orgs'],
    [{ rising: 1 }, 'rising'],
    [{ min_sighting_orgs: 3, sighting_window: 'week' }, 'sighting_window'],
    [{ sighting_window: 'day' }, 'sighting_window'],
    [{ rising: false, sighting_window: 'day' }, 'sighting_window'],
    [{ min_sighting_orgs: 3, cpe_prefixes: ['cpe:2.3:a:acme'] }, 'cpe_prefixes'],
    [{ rising: true, types: ['vulnerability'] }, 'types'],
  ])('refuses %j', (f, path) => {
    const r = alertFilterSchema.safeParse(f);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path.join('.')).toContain(path);
  });
});

describe('matchesOwnProperties', () => {
  it('applies each criterion, all together', () => {
    expect(matchesOwnProperties({}, ioc())).toBe(true);
    expect(matchesOwnProperties({ types: ['malware'] }, ioc())).toBe(false);
    expect(matchesOwnProperties({ labels: ['phishing', 'ransomware'] }, ioc())).toBe(true);
    expect(matchesOwnProperties({ labels: ['phishing'] }, ioc())).toBe(false);
    expect(matchesOwnProperties({ labels: ['x'] }, ioc({ labels: undefined }))).toBe(false);
    expect(matchesOwnProperties({ min_confidence: 80 }, ioc())).toBe(true);
    expect(matchesOwnProperties({ min_confidence: 81 }, ioc())).toBe(false);
    expect(matchesOwnProperties({ min_confidence: 0 }, ioc({ confidence: undefined }))).toBe(false);
    expect(matchesOwnProperties({ min_confidence: 10 }, ioc({ confidence: '90' }))).toBe(false);
    expect(matchesOwnProperties({ observable_types: ['ipv4-addr'] }, ioc())).toBe(true);
    expect(matchesOwnProperties({ observable_types: ['domain-name'] }, ioc())).toBe(false);
    expect(matchesOwnProperties({ observable_types: ['ipv4-addr'] }, ioc({ pattern_type: 'sigma' }))).toBe(false);
    expect(matchesOwnProperties({ types: ['indicator'], labels: ['ransomware'], min_confidence: 90 }, ioc())).toBe(false);
  });
  it('pap: PAP:AMBER and PAP:RED never match a PAP:GREEN filter; unmarked content does', () => {
    expect([0, 1, 2, 3, null].map((pap) => matchesOwnProperties({ pap: 'green' }, ioc({ pap })))).toEqual([true, true, false, false, true]);
    expect([0, 1, 2, 3, null].map((pap) => matchesOwnProperties({ pap: 'clear' }, ioc({ pap })))).toEqual([
      true,
      false,
      false,
      false,
      true,
    ]);
  });
  it('a CPE watchlist matches vulnerabilities only', () => {
    expect(matchesOwnProperties({ cpe_prefixes: ['cpe:2.3:a:x'] }, ioc())).toBe(false);
    expect(matchesOwnProperties({ cpe_prefixes: ['cpe:2.3:a:x'] }, ioc({ type: 'vulnerability' }))).toBe(true);
  });
});

describe('patternObjectTypes and cpeMatches', () => {
  it('names the object types of a STIX pattern', () => {
    expect(patternObjectTypes(ioc({ pattern: "[ipv4-addr:value = '1.2.3.4'] OR [domain-name:value = 'a.example']" })).sort()).toEqual([
      'domain-name',
      'ipv4-addr',
    ]);
    expect(patternObjectTypes(ioc({ pattern: 'not a pattern' }))).toEqual([]);
    expect(patternObjectTypes(ioc({ type: 'malware' }))).toEqual([]);
  });
  it('compares CPE names by prefix, case-insensitively', () => {
    const cpe = 'cpe:2.3:a:Acme:PACS:4.2:*:*:*:*:*:*:*';
    expect(cpeMatches(['cpe:2.3:a:acme:pacs'], cpe)).toBe(true);
    expect(cpeMatches(['cpe:2.3:a:acme:'], cpe)).toBe(true);
    expect(cpeMatches(['cpe:2.3:a:acme:pacs:4.2:'], cpe)).toBe(true);
    expect(cpeMatches(['cpe:2.3:a:acme:pacs:4.3'], cpe)).toBe(false);
    expect(cpeMatches(['cpe:2.3:a:other', 'cpe:2.3:h:acme'], cpe)).toBe(false);
  });
});

describe('trend criteria', () => {
  it('make a trend filter, with or beside the other criteria', () => {
    const f = alertFilterSchema.parse({ min_sighting_orgs: 3, rising: true, sighting_window: 'day', types: ['indicator'], labels: ['x'] });
    expect(isTrendFilter(f)).toBe(true);
    expect(isTrendFilter({ rising: true })).toBe(true);
    expect(isTrendFilter({ rising: false })).toBe(false);
    expect(isTrendFilter({})).toBe(false);
  });
  it('hold when every one given does', () => {
    expect(meetsTrend({ min_sighting_orgs: 3 }, { organisations: 3, rising: false })).toBe(true);
    expect(meetsTrend({ min_sighting_orgs: 3 }, { organisations: 2, rising: true })).toBe(false);
    expect(meetsTrend({ rising: true }, { organisations: 0, rising: true })).toBe(true);
    expect(meetsTrend({ rising: true }, { organisations: 9, rising: false })).toBe(false);
    expect(meetsTrend({ min_sighting_orgs: 2, rising: true }, { organisations: 2, rising: false })).toBe(false);
    expect(meetsTrend({ rising: false }, { organisations: 9, rising: true })).toBe(false);
  });
});
