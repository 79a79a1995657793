import { describe, expect, it } from 'vitest';
import { feedSource, feedValue, MAX_VALUE_LENGTH, patternValues } from '../../../src/stix/feed-values.ts';
import { patternComparisons } from '../../../src/stix/pattern.ts';

// What goes on a block list from a STIX pattern or an SCO (docs/feeds.md): only values whose
// presence alone makes the pattern match, each checked and normalised, never a line break.

const values = (pattern: string) => patternValues(pattern).map((v) => `${v.kind} ${v.value}`);

describe('patternComparisons', () => {
  it('lists each comparison with its path, operator and strings', () => {
    expect(patternComparisons("[file:hashes.'SHA-256' = 'AB' OR url:value IN ('http://a.example/', 'http://b.example/')]")).toEqual([
      { objectType: 'file', path: ['hashes', 'SHA-256'], operator: 'EQ', negated: false, strings: ['AB'], sufficient: true },
      {
        objectType: 'url',
        path: ['value'],
        operator: 'IN',
        negated: false,
        strings: ['http://a.example/', 'http://b.example/'],
        sufficient: true,
      },
    ]);
  });

  it('marks comparisons under AND, FOLLOWEDBY, a qualifier or NOT as not enough alone', () => {
    const sufficient = (p: string) => patternComparisons(p)!.map((c) => c.sufficient);
    expect(sufficient("[a-b:value = '1' AND a-b:value = '2']")).toEqual([false, false]);
    expect(sufficient("[a-b:value = '1'] AND [a-b:value = '2']")).toEqual([false, false]);
    expect(sufficient("[a-b:value = '1'] FOLLOWEDBY [a-b:value = '2']")).toEqual([false, false]);
    expect(sufficient("[a-b:value = '1'] REPEATS 2 TIMES OR [a-b:value = '2']")).toEqual([false, true]);
    expect(sufficient("([a-b:value = '1'] OR [a-b:value = '2']) WITHIN 5 SECONDS")).toEqual([false, false]);
    expect(sufficient("[a-b:value = '1'] START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'")).toEqual([false]);
    expect(sufficient("[a-b:value NOT = '1' OR (a-b:value = '2' OR a-b:value = '3')]")).toEqual([false, true, true]);
    expect(sufficient("[a-b:value = '1' OR a-b:value = '2' AND a-b:value = '3']")).toEqual([true, false, false]);
  });

  it('gives nothing for a pattern the grammar refuses', () => {
    expect(patternComparisons("[ipv4-addr:value = '1.2.3.4'")).toBeUndefined();
  });
});

describe('patternValues', () => {
  it('takes equality on addresses, domains, URLs and SHA-256 and MD5 hashes, in any of their key spellings', () => {
    expect(
      values(
        "[ipv4-addr:value = '198.51.100.7'] OR [ipv6-addr:value = '2001:DB8:0:0:0:0:0:1'] OR [domain-name:value = 'Evil.EXAMPLE.com.'] " +
          "OR [url:value = 'https://evil.example.com/a?b=1,c=\"2\"'] OR [file:hashes.'SHA-256' = '" +
          'A'.repeat(64) +
          "' OR file:hashes.SHA256 = '" +
          'b'.repeat(64) +
          "' OR file:hashes.sha256 = '" +
          'c'.repeat(64) +
          "' OR file:hashes.MD5 = '" +
          'D'.repeat(32) +
          "']",
      ),
    ).toEqual([
      'ipv4 198.51.100.7',
      'ipv6 2001:db8::1',
      'domain evil.example.com',
      'url https://evil.example.com/a?b=1,c="2"',
      `sha256 ${'a'.repeat(64)}`,
      `sha256 ${'b'.repeat(64)}`,
      `sha256 ${'c'.repeat(64)}`,
      `md5 ${'d'.repeat(32)}`,
    ]);
  });

  it('takes ISSUBSET a network on addresses as a CIDR line, with host bits cleared', () => {
    expect(values("[ipv4-addr:value ISSUBSET '198.51.100.77/24' OR ipv6-addr:value ISSUBSET '2001:db8::1/32']")).toEqual([
      'ipv4 198.51.100.0/24',
      'ipv6 2001:db8::/32',
    ]);
    expect(values("[ipv4-addr:value ISSUBSET '198.51.100.7']")).toEqual([]);
  });

  it('takes each member of IN, and a value once', () => {
    expect(values("[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2', '192.0.2.1')] OR [ipv4-addr:value = '192.0.2.2']")).toEqual([
      'ipv4 192.0.2.1',
      'ipv4 192.0.2.2',
    ]);
  });

  it('takes nothing where the value alone does not make the pattern match', () => {
    expect(values("[ipv4-addr:value = '192.0.2.1' AND network-traffic:dst_port = 443]")).toEqual([]);
    expect(values("[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [domain-name:value = 'a.example']")).toEqual([]);
    expect(values("[ipv4-addr:value = '192.0.2.1'] REPEATS 3 TIMES")).toEqual([]);
    expect(values("[ipv4-addr:value != '192.0.2.1']")).toEqual([]);
    expect(values("[ipv4-addr:value NOT = '192.0.2.1']")).toEqual([]);
    expect(values("[domain-name:value LIKE '%.example.com']")).toEqual([]);
    expect(values("[network-traffic:dst_ref.value = '192.0.2.1']")).toEqual([]);
    expect(values("[file:hashes.'SHA-1' = '" + 'a'.repeat(40) + "']")).toEqual([]);
  });

  it('never lets a value with a line break, a control character or a space through', () => {
    const hostile = [
      '192.0.2.1\n10.0.0.0/8',
      'evil.example.com\r\nexample.org',
      'evil.example.com\u0000',
      'evil.example.com\u2028x.example',
      'evil.example.com #comment',
      'http://evil.example.com/\u0085x',
      'http://evil.example.com/\u200b',
      '\tevil.example.com',
    ];
    for (const raw of hostile) {
      const literal = raw.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
      expect(values(`[domain-name:value = '${literal}'] OR [url:value = '${literal}'] OR [ipv4-addr:value = '${literal}']`)).toEqual([]);
    }
  });

  it('refuses values that are not what their path says', () => {
    for (const [kind, raw] of [
      ['ipv4', '256.1.1.1'],
      ['ipv4', '01.2.3.4'],
      ['ipv4', '1.2.3.4/33'],
      ['ipv4', '1.2.3.4/24/8'],
      ['ipv4', '2001:db8::1'],
      ['ipv6', '192.0.2.1'],
      ['ipv6', 'fe80::1%eth0'],
      ['ipv6', '2001:db8::1/129'],
      ['domain', 'com'],
      ['domain', '*.evil.example.com'],
      ['domain', '192.0.2.1'],
      ['domain', 'a..example'],
      ['domain', `${'a'.repeat(64)}.example`],
      ['url', 'evil.example.com/path'],
      ['url', 'javascript:alert(1)'],
      ['url', `http://evil.example.com/${'a'.repeat(MAX_VALUE_LENGTH)}`],
      ['sha256', 'a'.repeat(63)],
      ['sha256', 'g'.repeat(64)],
      ['md5', 'a'.repeat(64)],
    ] as const) {
      expect(feedValue(kind, raw), `${kind} ${raw}`).toBeUndefined();
    }
  });

  it('normalises what it keeps', () => {
    expect(feedValue('domain', 'BÜCHER.example')).toBe('xn--bcher-kva.example');
    expect(feedValue('ipv6', '2001:0DB8:0000:0000:0001:0000:0000:0001')).toBe('2001:db8::1:0:0:1');
    expect(feedValue('ipv6', '::FFFF:192.0.2.1')).toBe('::ffff:c000:201');
    expect(feedValue('ipv4', '192.0.2.1/32')).toBe('192.0.2.1');
    expect(feedValue('ipv4', '10.1.2.3/0')).toBe('0.0.0.0/0');
  });
});

describe('feedSource', () => {
  const indicator = {
    type: 'indicator',
    id: 'indicator--7c6f4d3e-0f3a-4a39-8d57-4f6b0bd3b1a1',
    pattern: "[ipv4-addr:value = '198.51.100.7']",
    pattern_type: 'stix',
    valid_until: '2030-01-01T00:00:00Z',
    confidence: 80,
  };

  it('gives an indicator its values, end of validity and confidence', () => {
    expect(feedSource(indicator)).toEqual({
      values: [{ kind: 'ipv4', value: '198.51.100.7' }],
      validUntil: '2030-01-01T00:00:00Z',
      confidence: 80,
    });
  });

  it('gives nothing for a revoked indicator, or one in another pattern language', () => {
    expect(feedSource({ ...indicator, revoked: true })).toBeUndefined();
    expect(feedSource({ ...indicator, pattern_type: 'sigma' })).toBeUndefined();
    const { pattern_type: _, ...untyped } = indicator;
    expect(feedSource({ ...untyped, spec_version: '2.1' })).toBeUndefined();
  });

  it('reads a STIX 2.0 indicator, which has no pattern_type, as a STIX pattern', () => {
    const { pattern_type: _, ...legacy } = indicator;
    expect(feedSource({ ...legacy, labels: ['malicious-activity'] })?.values).toEqual([{ kind: 'ipv4', value: '198.51.100.7' }]);
  });

  it('gives SCOs their values, and nothing for a defanged one', () => {
    expect(feedSource({ type: 'domain-name', value: 'Evil.Example.com' })).toEqual({
      values: [{ kind: 'domain', value: 'evil.example.com' }],
      validUntil: null,
      confidence: null,
    });
    expect(
      feedSource({ type: 'file', hashes: { 'SHA-256': 'A'.repeat(64), MD5: 'b'.repeat(32), 'SHA-1': 'c'.repeat(40) } })?.values,
    ).toEqual([
      { kind: 'sha256', value: 'a'.repeat(64) },
      { kind: 'md5', value: 'b'.repeat(32) },
    ]);
    expect(feedSource({ type: 'url', value: 'hxxp://evil.example.com/', defanged: true })).toBeUndefined();
    expect(feedSource({ type: 'malware', name: 'x' })).toBeUndefined();
  });

  it('takes a very long pattern of many values in well under a second', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `ipv4-addr:value = '10.${(i >> 8) & 255}.${i & 255}.1'`).join(' OR ');
    const start = performance.now();
    expect(patternValues(`[${many}]`)).toHaveLength(5000);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
