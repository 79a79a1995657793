// Lexer for the STIX 2.1 patterning language, following the lexer rules of the
// official ANTLR grammar (STIXPattern.g4, STIX 2.1 revision). Keywords are
// case-sensitive there, so `and` is an identifier, not the AND operator.

export type TokenKind =
  | 'AND'
  | 'OR'
  | 'NOT'
  | 'FOLLOWEDBY'
  | 'LIKE'
  | 'MATCHES'
  | 'ISSUPERSET'
  | 'ISSUBSET'
  | 'EXISTS'
  | 'LAST'
  | 'IN'
  | 'START'
  | 'STOP'
  | 'SECONDS'
  | 'WITHIN'
  | 'REPEATS'
  | 'TIMES'
  | 'Bool'
  | 'Ident'
  | 'IdentHyphen'
  | 'String'
  | 'Int'
  | 'Float'
  | 'Timestamp'
  | 'Hex'
  | 'Binary'
  | 'EQ'
  | 'NEQ'
  | 'LT'
  | 'LE'
  | 'GT'
  | 'GE'
  | '['
  | ']'
  | '('
  | ')'
  | ':'
  | '.'
  | ','
  | '+'
  | '-'
  | '^'
  | '/'
  | '*'
  | 'EOF'
  | 'Error';

export type Token = {
  kind: TokenKind;
  /** Source text of the token (with quotes and prefixes for literals). */
  text: string;
  line: number;
  column: number;
  /** Decoded content of String literals. */
  value?: string;
  /** Only for kind 'Error': what went wrong at line/column. */
  message?: string;
};

const KEYWORDS: ReadonlySet<string> = new Set([
  'AND',
  'OR',
  'NOT',
  'FOLLOWEDBY',
  'LIKE',
  'MATCHES',
  'ISSUPERSET',
  'ISSUBSET',
  'EXISTS',
  'LAST',
  'IN',
  'START',
  'STOP',
  'SECONDS',
  'WITHIN',
  'REPEATS',
  'TIMES',
]);

// The grammar's WS rule: ASCII and Unicode spaces are skipped between tokens.
const SPACES =
  ' \t\r\n\u000B\u000C\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005' +
  '\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

const PUNCTUATION: Readonly<Record<string, TokenKind>> = {
  '[': '[',
  ']': ']',
  '(': '(',
  ')': ')',
  ':': ':',
  '.': '.',
  ',': ',',
  '+': '+',
  '-': '-',
  '^': '^',
  '/': '/',
  '*': '*',
  '<': 'LT',
  '>': 'GT',
  '=': 'EQ',
};

const TWO_CHAR_OPERATORS: Readonly<Record<string, TokenKind>> = {
  '==': 'EQ',
  '!=': 'NEQ',
  '<>': 'NEQ',
  '<=': 'LE',
  '>=': 'GE',
};

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9';
const isIdentStart = (ch: string | undefined): boolean =>
  ch !== undefined && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_');
const isIdentPart = (ch: string | undefined): boolean => isIdentStart(ch) || isDigit(ch) || ch === '-';
const isHexDigit = (ch: string): boolean => isDigit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
const isBase64Char = (ch: string): boolean => (isIdentStart(ch) && ch !== '_') || isDigit(ch) || ch === '+' || ch === '/';

// Loops rather than regular expressions so that megabyte-sized literals cannot
// exhaust the regexp engine's backtracking stack.
function isValidHex(content: string): boolean {
  if (content.length % 2 !== 0) return false;
  for (const ch of content) if (!isHexDigit(ch)) return false;
  return true;
}

// The 2.1 grammar requires at least one 4-character group, padding only at the end.
function isValidBase64(content: string): boolean {
  if (content.length === 0 || content.length % 4 !== 0) return false;
  const padding = content.endsWith('==') ? 2 : content.endsWith('=') ? 1 : 0;
  for (let i = 0; i < content.length - padding; i++) if (!isBase64Char(content.charAt(i))) return false;
  return true;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;

/** RFC 3339 date-time in UTC ('Z'), with calendar checks (no 30 February). */
export function isValidTimestamp(content: string): boolean {
  if (content.length > 200) return false; // bounded before the regexp sees it
  const m = TIMESTAMP.exec(content);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  // Second 60 is a leap second: both RFC 3339 and the grammar allow it.
  return days !== undefined && day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 60;
}

type TypedLiteral = { kind: TokenKind; name: string; hint: string; valid: (content: string) => boolean };

const TYPED_LITERALS: Readonly<Record<string, TypedLiteral>> = {
  t: { kind: 'Timestamp', name: 'timestamp', hint: "RFC 3339 UTC, e.g. t'2016-06-01T00:00:00Z'", valid: isValidTimestamp },
  h: { kind: 'Hex', name: 'hex', hint: 'an even number of hex digits', valid: isValidHex },
  b: { kind: 'Binary', name: 'binary', hint: 'non-empty, padded base64', valid: isValidBase64 },
};

function showChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `'${ch}'`;
}

/**
 * Splits a pattern into tokens. Never throws: the first lexical error becomes an
 * 'Error' token that ends the list, so the parser reports whichever problem comes
 * first in the text; otherwise the list ends with 'EOF'.
 */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let column = 1;

  // Advances one UTF-16 unit, counting \n, \r\n and a lone \r as one line break.
  const step = (): void => {
    const ch = src.charCodeAt(pos++);
    if (ch === 10 || (ch === 13 && src.charCodeAt(pos) !== 10)) {
      line++;
      column = 1;
    } else if (ch !== 13) {
      column++;
    }
  };
  const stepTo = (end: number): void => {
    while (pos < end) step();
  };

  while (pos < src.length) {
    const ch = src.charAt(pos);
    if (SPACES.includes(ch)) {
      step();
      continue;
    }
    const start = pos;
    const at = { line, column };
    const push = (kind: TokenKind, extra?: Partial<Token>): void => {
      tokens.push({ kind, text: src.slice(start, pos), ...at, ...extra });
    };
    const fail = (message: string, where: { line: number; column: number } = at): Token[] => {
      tokens.push({ kind: 'Error', text: src.slice(start, pos), ...where, message });
      return tokens;
    };

    if (ch === '/' && src.charAt(pos + 1) === '*') {
      const end = src.indexOf('*/', pos + 2);
      if (end < 0) return fail('unterminated comment');
      stepTo(end + 2);
    } else if (ch === '/' && src.charAt(pos + 1) === '/') {
      while (pos < src.length && src.charAt(pos) !== '\n' && src.charAt(pos) !== '\r') step();
    } else if (isIdentStart(ch)) {
      while (isIdentPart(src.charAt(pos))) step();
      const text = src.slice(start, pos);
      const typed = TYPED_LITERALS[text];
      if (typed !== undefined && src.charAt(pos) === "'") {
        // t'…', h'…' and b'…': the content never holds a quote, so the next one closes it.
        const close = src.indexOf("'", pos + 1);
        if (close < 0) return fail(`unterminated ${typed.name} literal`);
        stepTo(close + 1);
        if (!typed.valid(src.slice(start + 2, close))) {
          const shown = pos - start > 60 ? `${src.slice(start, start + 57)}...` : src.slice(start, pos);
          return fail(`invalid ${typed.name} literal ${shown} (expected ${typed.hint})`);
        }
        push(typed.kind);
      } else if (text.includes('-')) {
        push('IdentHyphen');
      } else if (KEYWORDS.has(text)) {
        push(text as TokenKind);
      } else {
        push(text === 'true' || text === 'false' ? 'Bool' : 'Ident');
      }
    } else if (ch === "'") {
      step();
      const parts: string[] = [];
      let from = pos;
      for (;;) {
        if (pos >= src.length) return fail('unterminated string literal');
        const c = src.charAt(pos);
        if (c === "'") break;
        if (c === '\\') {
          const escaped = src.charAt(pos + 1);
          // The grammar only knows \' and \\; any other backslash is an error.
          if (escaped !== "'" && escaped !== '\\') {
            const where = { line, column };
            return fail(`invalid escape sequence '\\${escaped}' in string literal (only \\' and \\\\ are allowed)`, where);
          }
          parts.push(src.slice(from, pos), escaped);
          step();
          step();
          from = pos;
        } else {
          step();
        }
      }
      parts.push(src.slice(from, pos));
      step();
      push('String', { value: parts.join('') });
    } else if (
      isDigit(ch) ||
      ((ch === '+' || ch === '-') && (isDigit(src.charAt(pos + 1)) || (src.charAt(pos + 1) === '.' && isDigit(src.charAt(pos + 2))))) ||
      (ch === '.' && isDigit(src.charAt(pos + 1)))
    ) {
      // IntPos/IntNegLiteral: [+-]? ('0' | [1-9][0-9]*); Float: [+-]? [0-9]* '.' [0-9]+
      if (ch === '+' || ch === '-') step();
      const digitsStart = pos;
      while (isDigit(src.charAt(pos))) step();
      const digits = src.slice(digitsStart, pos);
      if (src.charAt(pos) === '.' && isDigit(src.charAt(pos + 1))) {
        step();
        while (isDigit(src.charAt(pos))) step();
        push('Float');
      } else if (digits.length > 1 && digits.startsWith('0')) {
        return fail(`invalid integer literal '${src.slice(start, pos)}' (leading zeros are not allowed)`);
      } else {
        push('Int');
      }
    } else if (TWO_CHAR_OPERATORS[src.slice(pos, pos + 2)] !== undefined) {
      const kind = TWO_CHAR_OPERATORS[src.slice(pos, pos + 2)] as TokenKind;
      stepTo(pos + 2);
      push(kind);
    } else if (PUNCTUATION[ch] !== undefined) {
      step();
      push(PUNCTUATION[ch]);
    } else {
      const cp = String.fromCodePoint(src.codePointAt(pos) ?? 0);
      return fail(`unexpected character ${showChar(cp)}`);
    }
  }
  tokens.push({ kind: 'EOF', text: '', line, column });
  return tokens;
}
