import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { MAX_PATTERN_DEPTH, parsePattern } from '../../../src/stix/pattern.ts';
import { isValidTimestamp, tokenize } from '../../../src/stix/pattern-lexer.ts';

// Patterns are written with String.raw so that backslashes appear exactly as in
// the pattern text (i.e. after JSON decoding), as the spec prints them.
const VALID: string[] = [
  // STIX 2.1 specification, section 9.9 (pattern examples)
  String.raw`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
  String.raw`[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']`,
  String.raw`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']`,
  String.raw`[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
  String.raw`[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar'] WITHIN 300 SECONDS`,
  String.raw`[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']`,
  String.raw`[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00']`,
  String.raw`[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']`,
  String.raw`[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]`,
  String.raw`[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']`,
  String.raw`[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']`,
  String.raw`[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS`,
  String.raw`[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']`,
  String.raw`[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']`,
  String.raw`[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']`,
  String.raw`[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\CurrentVersion\\Run\\CryptoLocker_0388']`,
  String.raw`[(file:name = 'pdf.exe' OR file:size = 371712) AND file:created = t'2014-01-13T07:03:17Z']`,
  String.raw`[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']`,
  String.raw`[x-usb-device:usbdrive.serial_number = '575833314133343231313937']`,
  String.raw`[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS`,
  String.raw`[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']`,
  String.raw`([file:name = 'foo.dll'] AND [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']`,
  String.raw`[file:name = 'foo.dll'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
  // Real-world indicator shapes
  String.raw`[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']`,
  String.raw`[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' OR file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']`,
  String.raw`[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32']`,
  String.raw`[ipv6-addr:value ISSUBSET '2001:db8::/32']`,
  String.raw`[ipv4-addr:value ISSUPERSET '198.51.100.7']`,
  String.raw`[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS`,
  String.raw`[x509-certificate:issuer = 'CN=Example Root CA, O=Example, C=US' ] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
  String.raw`[url:value MATCHES '^https?://[a-z0-9.-]+\\.example\\.com/']`,
  String.raw`[file:name LIKE 'invoice%.exe']`,
  String.raw`[file:name NOT LIKE '%.tmp']`,
  String.raw`[network-traffic:dst_port IN (80, 443, 8080)]`,
  String.raw`[ipv4-addr:value NOT IN ('10.0.0.1', '10.0.0.2')]`,
  String.raw`[file:size IN ()]`,
  String.raw`[process:pid IN (1, -1, 2.5, 'x', true, h'00', b'AAAA', t'2020-01-01T00:00:00Z')]`,
  String.raw`[EXISTS windows-registry-key:values]`,
  String.raw`[EXISTS file:extensions.'x-acme-ext'.score AND file:name = 'a.exe']`,
  String.raw`[file:name NOT = 'explorer.exe']`,
  String.raw`[file:name != 'a' AND file:name <> 'b' AND file:name == 'c']`,
  String.raw`[file:size >= 1024 AND file:size < 2048 AND file:size <= 4096 AND file:size > -1]`,
  String.raw`[file:size NOT > 100]`,
  String.raw`[file:is_encrypted = false OR file:x_flag = true]`,
  String.raw`[file:extensions.'x-foo'.bar = 'baz']`,
  String.raw`[file:extensions.'ntfs-ext'.alternate_data_streams[0].name = 'Zone.Identifier']`,
  String.raw`[email-message:body_multipart[-1].content_type = 'text/plain' AND email-message:to_refs[+0].value = 'a@example.com']`,
  String.raw`[file:'name' = 'quoted first component']`,
  String.raw`[artifact:payload_bin = b'SGVsbG8=' OR artifact:payload_bin = b'SGk=' OR artifact:payload_bin = b'SGVsbG8h']`,
  String.raw`[file:magic_number_hex = h'' OR file:magic_number_hex = h'4D5A']`,
  String.raw`[file:created > t'2016-02-29T23:59:60.123456Z']`,
  String.raw`[file:name = 'it\'s']`,
  String.raw`[file:name = 'back\\slash']`,
  String.raw`[file:name = '']`,
  String.raw`[file:name = 'line one
line two']`,
  String.raw`[file:size = 1] WITHIN 0.5 SECONDS`,
  String.raw`[file:size = .5 OR file:size = +3 OR file:size = -0.25]`,
  String.raw`[file:name = 'a'] FOLLOWEDBY [file:name = 'b'] OR [file:name = 'c'] AND [file:name = 'd']`,
  String.raw`(([file:name = 'a'] FOLLOWEDBY [file:name = 'b']) REPEATS 2 TIMES) WITHIN 60 SECONDS`,
  String.raw`[file:name = 'a'] REPEATS 2 TIMES WITHIN 60 SECONDS START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
  String.raw`[((file:name = 'a') OR (file:name = 'b' AND (file:size = 1)))]`,
  String.raw`[file:name = 'a']REPEATS 5TIMES`,
  `\t[ file:name\n  =\r\n 'a' ]\u00a0 AND\u3000[file:name = 'b']  `,
  String.raw`/* leading comment */ [file:name = 'a'] // trailing comment`,
  String.raw`[file:name /* inline */ = 'a']`,
];

type Invalid = { pattern: string; message: string; line: number; column: number };

const INVALID: Invalid[] = [
  { pattern: '', message: "expected '[' or '(' but found end of input", line: 1, column: 1 },
  { pattern: '   \n  ', message: "expected '[' or '(' but found end of input", line: 2, column: 3 },
  { pattern: "file:name = 'a'", message: "expected '[' or '(' but found 'file'", line: 1, column: 1 },
  // The grammar's only quote escape is \' : SQL-style '' ends the string.
  { pattern: "[file:name = 'it''s']", message: "expected ']' but found string literal 's'", line: 1, column: 18 },
  { pattern: "[file:name = 'a' AND]", message: "expected object path, '(' or 'EXISTS' but found ']'", line: 1, column: 21 },
  { pattern: "[file:name = 'a' FOLLOWEDBY file:name = 'b']", message: "expected ']' but found 'FOLLOWEDBY'", line: 1, column: 18 },
  { pattern: "[file:name = 'a'", message: "expected ']' but found end of input", line: 1, column: 17 },
  { pattern: "[file:name = 'a]", message: 'unterminated string literal', line: 1, column: 14 },
  { pattern: String.raw`[file:name = 'a\.b']`, message: String.raw`invalid escape sequence '\.' in string literal`, line: 1, column: 16 },
  { pattern: "[file:name = 'a'] AND", message: "expected '[' or '(' but found end of input", line: 1, column: 22 },
  { pattern: "[file:name = 'a'] [file:name = 'b']", message: "but found '['", line: 1, column: 19 },
  { pattern: "[file:name = 'a'] and [file:name = 'b']", message: "but found 'and'", line: 1, column: 19 },
  { pattern: "[file:name = 'a'] within 5 seconds", message: "but found 'within'", line: 1, column: 19 },
  { pattern: '[]', message: "expected object path, '(' or 'EXISTS' but found ']'", line: 1, column: 2 },
  { pattern: '()', message: "expected '[' or '(' but found ')'", line: 1, column: 2 },
  { pattern: "([file:name = 'a']", message: "expected ')' but found end of input", line: 1, column: 19 },
  { pattern: "[(file:name = 'a']", message: "expected ')' but found ']'", line: 1, column: 18 },
  { pattern: "[File:name = 'a']", message: "invalid object type 'File'", line: 1, column: 2 },
  { pattern: "[ab:name = 'a']", message: "invalid object type 'ab'", line: 1, column: 2 },
  { pattern: "[x--foo:name = 'a']", message: "invalid object type 'x--foo'", line: 1, column: 2 },
  { pattern: "[file_x:name = 'a']", message: "invalid object type 'file_x'", line: 1, column: 2 },
  { pattern: "[file name = 'a']", message: "expected ':' but found 'name'", line: 1, column: 7 },
  { pattern: "[file:x-foo = 'a']", message: "expected property name but found 'x-foo' (quote names containing '-')", line: 1, column: 7 },
  { pattern: "[file:extensions.x-foo.bar = 'a']", message: "expected property name but found 'x-foo'", line: 1, column: 18 },
  { pattern: "[file:hashes[x] = 'a']", message: "expected list index or '*' but found 'x'", line: 1, column: 14 },
  { pattern: "[file:hashes[1.5] = 'a']", message: "expected list index or '*' but found '1.5'", line: 1, column: 14 },
  { pattern: "[file:name.START = 'a']", message: "expected property name but found 'START'", line: 1, column: 12 },
  { pattern: "[NOT file:name = 'a']", message: "expected object path, '(' or 'EXISTS' but found 'NOT'", line: 1, column: 2 },
  // STIX 2.1's grammar has `EXISTS objectPath` only, without a NOT form.
  { pattern: '[NOT EXISTS file:name]', message: "but found 'NOT'", line: 1, column: 2 },
  { pattern: "[file:name 'a']", message: 'expected comparison operator but found string literal', line: 1, column: 12 },
  { pattern: "[file:name NOT NOT = 'a']", message: "expected comparison operator but found 'NOT'", line: 1, column: 16 },
  { pattern: "[file:name ~ 'a']", message: "unexpected character '~'", line: 1, column: 12 },
  { pattern: '[file:name = "a"]', message: `unexpected character '"'`, line: 1, column: 14 },
  { pattern: '[file:name = \u0001]', message: 'unexpected character U+0001', line: 1, column: 14 },
  { pattern: "[file:name ! 'a']", message: "unexpected character '!'", line: 1, column: 12 },
  { pattern: '[file:name = ]', message: "expected literal but found ']'", line: 1, column: 14 },
  { pattern: '[file:size > true]', message: 'expected orderable literal', line: 1, column: 14 },
  { pattern: '[file:name LIKE 5]', message: "expected string literal but found '5'", line: 1, column: 17 },
  { pattern: "[file:name MATCHES h'00']", message: "expected string literal but found 'h'00''", line: 1, column: 20 },
  { pattern: "[file:name IN 'a']", message: "expected '(' to start a set of values but found string literal 'a'", line: 1, column: 15 },
  { pattern: "[file:name IN ('a' 'b')]", message: "expected ',' or ')' but found string literal 'b'", line: 1, column: 20 },
  { pattern: "[file:name IN ('a',)]", message: "expected literal but found ')'", line: 1, column: 20 },
  { pattern: '[file:size = 007]', message: "invalid integer literal '007'", line: 1, column: 14 },
  { pattern: '[file:size = 1.]', message: "expected ']' but found '.'", line: 1, column: 15 },
  { pattern: '[file:size = - 1]', message: "expected literal but found '-'", line: 1, column: 14 },
  {
    pattern: "[file:created = t'2016-02-30T00:00:00Z']",
    message: "invalid timestamp literal t'2016-02-30T00:00:00Z'",
    line: 1,
    column: 17,
  },
  { pattern: "[file:created = t'2015-02-29T00:00:00Z']", message: 'invalid timestamp literal', line: 1, column: 17 },
  { pattern: "[file:created = t'2016-13-01T00:00:00Z']", message: 'invalid timestamp literal', line: 1, column: 17 },
  { pattern: "[file:created = t'2016-06-01T24:00:00Z']", message: 'invalid timestamp literal', line: 1, column: 17 },
  { pattern: "[file:created = t'2016-06-01 00:00:00Z']", message: 'invalid timestamp literal', line: 1, column: 17 },
  { pattern: "[file:created = t'2016-06-01T00:00:00+01:00']", message: 'invalid timestamp literal', line: 1, column: 17 },
  { pattern: "[file:created = t'2016-06-01T00:00:00z']", message: 'invalid timestamp literal', line: 1, column: 17 },
  { pattern: "[file:created = t'2016-06-01T00:00:00Z]", message: 'unterminated timestamp literal', line: 1, column: 17 },
  { pattern: "[file:magic_number_hex = h'abc']", message: "invalid hex literal h'abc'", line: 1, column: 26 },
  { pattern: "[file:magic_number_hex = h'zz']", message: 'invalid hex literal', line: 1, column: 26 },
  { pattern: "[artifact:payload_bin = b'abc']", message: "invalid binary literal b'abc'", line: 1, column: 25 },
  { pattern: "[artifact:payload_bin = b'']", message: 'invalid binary literal', line: 1, column: 25 },
  { pattern: "[artifact:payload_bin = b'ab=c']", message: 'invalid binary literal', line: 1, column: 25 },
  { pattern: "[artifact:payload_bin = b'a===']", message: 'invalid binary literal', line: 1, column: 25 },
  { pattern: "[file:name = 'a'] REPEATS 0 TIMES", message: "expected positive integer but found '0'", line: 1, column: 27 },
  { pattern: "[file:name = 'a'] REPEATS 1.5 TIMES", message: "expected positive integer but found '1.5'", line: 1, column: 27 },
  { pattern: "[file:name = 'a'] REPEATS 5", message: "expected 'TIMES' but found end of input", line: 1, column: 28 },
  { pattern: "[file:name = 'a'] WITHIN -5 SECONDS", message: "expected positive number of seconds but found '-5'", line: 1, column: 26 },
  { pattern: "[file:name = 'a'] WITHIN 0.0 SECONDS", message: 'expected positive number of seconds', line: 1, column: 26 },
  { pattern: "[file:name = 'a'] WITHIN 5 MINUTES", message: "expected 'SECONDS' but found 'MINUTES'", line: 1, column: 28 },
  { pattern: "[file:name = 'a'] START t'2016-06-01T00:00:00Z'", message: "expected 'STOP' but found end of input", line: 1, column: 48 },
  {
    pattern: "[file:name = 'a'] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'",
    message: 'expected timestamp literal but found string literal',
    line: 1,
    column: 25,
  },
  { pattern: "[file:name = 'a'] FOLLOWEDBY", message: "expected '[' or '(' but found end of input", line: 1, column: 29 },
  { pattern: "[file:name = 'a'] /* never closed", message: 'unterminated comment', line: 1, column: 19 },
  // Positions are counted in lines (\n, \r\n or \r) and 1-based columns.
  { pattern: "[file:name = 'a']\nAND\n[file:name = 'b'", message: "expected ']' but found end of input", line: 3, column: 17 },
  { pattern: "[file:name = 'a']\r\nAND\r\n  [file:name ? 'b']", message: "unexpected character '?'", line: 3, column: 14 },
  { pattern: "[file:name = 'multi\nline' AND file:size = 007]", message: "invalid integer literal '007'", line: 2, column: 23 },
  // The earliest problem wins, even when a lexical error follows it.
  { pattern: "[file:name] = 'a", message: "expected comparison operator but found ']'", line: 1, column: 11 },
];

describe('parsePattern: valid STIX 2.1 patterns', () => {
  it.each(VALID)('%s', (pattern) => {
    expect(parsePattern(pattern)).toMatchObject({ ok: true });
  });
});

describe('parsePattern: invalid patterns', () => {
  it.each(INVALID)('$pattern', ({ pattern, message, line, column }) => {
    const result = parsePattern(pattern);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain(message);
    expect({ line: result.line, column: result.column }).toEqual({ line, column });
  });
});

describe('parsePattern: precedence and nesting', () => {
  it('accepts exactly the maximum nesting depth and rejects one level more', () => {
    const nested = (depth: number): string => `${'('.repeat(depth)}[file:name = 'a']${')'.repeat(depth)}`;
    expect(parsePattern(nested(MAX_PATTERN_DEPTH))).toMatchObject({ ok: true });
    expect(parsePattern(nested(MAX_PATTERN_DEPTH + 1))).toEqual({
      ok: false,
      message: `expression nested too deeply (more than ${MAX_PATTERN_DEPTH} levels of parentheses)`,
      line: 1,
      column: MAX_PATTERN_DEPTH + 1,
    });
  });

  it('counts comparison parentheses towards the same depth limit', () => {
    const inner = `${'('.repeat(150)}file:name = 'a'${')'.repeat(150)}`;
    const result = parsePattern(`${'('.repeat(60)}[${inner}]${')'.repeat(60)}`);
    expect(result).toMatchObject({ ok: false, line: 1, column: 60 + 1 + 141 });
  });

  it('reports, rather than overflows on, pathological nesting', () => {
    expect(parsePattern('('.repeat(1_000_000))).toMatchObject({ ok: false, column: MAX_PATTERN_DEPTH + 1 });
    expect(parsePattern(`[${'('.repeat(1_000_000)}`)).toMatchObject({ ok: false, column: MAX_PATTERN_DEPTH + 2 });
  });

  it('parses long flat AND / OR / FOLLOWEDBY chains iteratively', () => {
    const comparisons = Array.from({ length: 50_000 }, (_, i) => `ipv4-addr:value = '10.0.${(i >> 8) & 255}.${i & 255}'`);
    expect(parsePattern(`[${comparisons.join(' OR ')}]`)).toMatchObject({ ok: true });
    const observations = Array.from({ length: 20_000 }, (_, i) => `[file:size = ${i}]`);
    expect(parsePattern(observations.join(' FOLLOWEDBY '))).toMatchObject({ ok: true });
  });

  it('handles a multi-megabyte string literal', () => {
    expect(parsePattern(`[file:name = '${'a\\\\'.repeat(1_000_000)}']`)).toMatchObject({ ok: true });
    expect(parsePattern(`[artifact:payload_bin = b'${'QUFB'.repeat(500_000)}']`)).toMatchObject({ ok: true });
  });

  it('binds a qualifier to the observation expression it follows', () => {
    // A qualifier after AND-ed expressions applies to the last one only, so it
    // may be followed by further operators without parentheses.
    expect(parsePattern('[a-b:c = 1] AND [a-b:c = 2] WITHIN 5 SECONDS OR [a-b:c = 3]')).toMatchObject({ ok: true });
    expect(parsePattern('[a-b:c = 1] WITHIN 5 SECONDS REPEATS 2 TIMES')).toMatchObject({ ok: true });
  });
});

describe('parsePattern: robustness', () => {
  it('never throws, even for non-string input', () => {
    for (const value of [undefined, null, 42, {}, ['[file:name = 1]']]) {
      expect(parsePattern(value as unknown as string)).toMatchObject({ ok: false, line: 1, column: 1 });
    }
  });

  it('never throws on random token soup and always reports a 1-based position', () => {
    const pieces = [
      '[',
      ']',
      '(',
      ')',
      'file',
      ':',
      'name',
      '.',
      "'x'",
      "'",
      '\\',
      '=',
      '!=',
      '<',
      '>=',
      'IN',
      'LIKE',
      'NOT',
      'AND',
      'OR',
      'FOLLOWEDBY',
      'EXISTS',
      'WITHIN',
      '5',
      '-1',
      '.5',
      'SECONDS',
      'REPEATS',
      'TIMES',
      'START',
      'STOP',
      "t'2016-06-01T00:00:00Z'",
      "h'ff'",
      "b'AA=='",
      'true',
      ',',
      '*',
      ' ',
      '\n',
      '/*',
      '*/',
      '//',
      'ipv4-addr',
      '\u0000',
      '😀',
    ];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      const length = random(30);
      const pattern = Array.from({ length }, () => pieces[random(pieces.length)]).join(random(2) === 0 ? ' ' : '');
      const result = parsePattern(pattern);
      if (!result.ok) {
        expect(result.line).toBeGreaterThanOrEqual(1);
        expect(result.column).toBeGreaterThanOrEqual(1);
        expect(result.message.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('pattern lexer', () => {
  it('follows the grammar for keywords, identifiers and literals', () => {
    const kinds = tokenize("AND ANDROID and x-AND true truex t'2016-06-01T00:00:00Z' t 'a' 0 -0 +7 1.5 .5 == <> <=").map(
      (token) => token.kind,
    );
    expect(kinds).toEqual([
      'AND',
      'Ident',
      'Ident',
      'IdentHyphen',
      'Bool',
      'Ident',
      'Timestamp',
      'Ident',
      'String',
      'Int',
      'Int',
      'Int',
      'Float',
      'Float',
      'EQ',
      'NEQ',
      'LE',
      'EOF',
    ]);
  });

  it('decodes the two string escapes', () => {
    expect(tokenize(String.raw`'it\'s a \\ path'`)[0]).toMatchObject({ kind: 'String', value: String.raw`it's a \ path` });
  });

  it('validates RFC 3339 UTC timestamps, including leap days and leap seconds', () => {
    expect(isValidTimestamp('2016-02-29T00:00:00Z')).toBe(true);
    expect(isValidTimestamp('2000-02-29T00:00:00Z')).toBe(true);
    expect(isValidTimestamp('1900-02-29T00:00:00Z')).toBe(false);
    expect(isValidTimestamp('2016-12-31T23:59:60Z')).toBe(true);
    expect(isValidTimestamp('2016-04-31T00:00:00Z')).toBe(false);
    expect(isValidTimestamp('2016-06-01T00:60:00Z')).toBe(false);
    expect(isValidTimestamp('2016-06-01T00:00:00.Z')).toBe(false);
    expect(isValidTimestamp('2016-00-01T00:00:00Z')).toBe(false);
    expect(isValidTimestamp('2016-06-00T00:00:00Z')).toBe(false);
  });
});

// Every STIX-patterned indicator in the OASIS example bundles must parse.
const EXAMPLES_DIR = fileURLToPath(new URL('../../fixtures/stix/oasis-examples/', import.meta.url));

type ExampleIndicator = { file: string; id: string; pattern: string };

function exampleIndicators(): ExampleIndicator[] {
  const found: ExampleIndicator[] = [];
  const files = readdirSync(EXAMPLES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort();
  for (const file of files) {
    const bundle: unknown = JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8'));
    const objects = (bundle as { objects?: unknown }).objects;
    if (!Array.isArray(objects)) continue;
    for (const object of objects as Array<Record<string, unknown>>) {
      if (object.type !== 'indicator' || typeof object.pattern !== 'string') continue;
      if (object.pattern_type !== undefined && object.pattern_type !== 'stix') continue;
      found.push({ file, id: String(object.id), pattern: object.pattern });
    }
  }
  return found;
}

const EXAMPLES = exampleIndicators();

describe('parsePattern: OASIS example bundles', () => {
  it('finds the example indicators', () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(EXAMPLES)('$file $id', ({ pattern }) => {
    expect(parsePattern(pattern)).toMatchObject({ ok: true });
  });
});

describe('parsePattern: the object types a pattern names', () => {
  it('lists each type once, in order of first use, across observations', () => {
    const result = parsePattern(
      "[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'x.example'] AND [file:hashes.'SHA-256' = 'ab'] AND [ipv4-addr:value = '10.0.0.1']",
    );
    expect(result).toEqual({ ok: true, objectTypes: ['ipv4-addr', 'domain-name', 'file'] });
  });
});
