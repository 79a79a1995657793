// Recursive-descent parser for the STIX 2.1 patterning language (spec section 9),
// following the parser rules of the official ANTLR grammar STIXPattern.g4. It
// validates, and lists the pattern's comparisons (patternComparisons): no
// syntax tree is built beyond that.
//
// The grammar's left-recursive rules become loops, which gives the same
// left-associativity and precedence: FOLLOWEDBY < OR < AND for observation
// expressions, OR < AND inside brackets, and qualifiers bind to the single
// observation expression they follow.

import { tokenize } from './pattern-lexer.ts';
import type { Token, TokenKind } from './pattern-lexer.ts';

/** On success, the object types the pattern's comparisons name (ipv4-addr, file, ...), in order of first use. */
export type PatternResult = { ok: true; objectTypes: string[] } | { ok: false; message: string; line: number; column: number };

/**
 * Parentheses may nest this deep (observation and comparison levels together);
 * deeper input is reported as an error instead of risking a stack overflow.
 */
export const MAX_PATTERN_DEPTH = 200;

// Same as the JSON schema's `type` rule: 3-250 chars, lowercase, single hyphens.
const STIX_TYPE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*-?$/;

const LITERALS: ReadonlySet<TokenKind> = new Set(['Int', 'Float', 'String', 'Binary', 'Hex', 'Timestamp', 'Bool']);
const ORDERING: ReadonlySet<TokenKind> = new Set(['GT', 'LT', 'GE', 'LE']);
const STRING_OPERATORS: ReadonlySet<TokenKind> = new Set(['LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET']);

/** A step of an object path: a property name (quoted ones decoded), a list index, or `*`. */
export type PathStep = string | number;

/** One comparison of a pattern, as written: `file:hashes.'SHA-256' = '…'` is type file, path [hashes, SHA-256]. */
export type Comparison = {
  objectType: string;
  path: PathStep[];
  /** The operator's token kind: EQ, NEQ, IN, ISSUBSET, LIKE, …, or EXISTS. */
  operator: TokenKind;
  negated: boolean;
  /** The string literals compared with (several for IN); other literals are left out. */
  strings: string[];
  /**
   * True when this comparison alone matching makes the whole pattern match: it is joined to the
   * rest by OR only (within and across observation expressions), under no AND, FOLLOWEDBY or
   * qualifier (WITHIN, REPEATS, START … STOP), and is not negated.
   */
  sufficient: boolean;
};

/** Marks comparisons that sit under AND, FOLLOWEDBY or a qualifier: none of them is enough alone. */
function joined(parts: Comparison[][]): Comparison[] {
  const all = parts.flat();
  for (const c of all) c.sufficient = false;
  return all;
}

// Thrown inside the parser only; parsePattern turns it into a result.
class PatternSyntaxError extends Error {
  line: number;
  column: number;
  constructor(message: string, line: number, column: number) {
    super(message);
    this.line = line;
    this.column = column;
  }
}

function describe(token: Token): string {
  if (token.kind === 'EOF') return 'end of input';
  const text = token.text.length > 40 ? `${token.text.slice(0, 37)}...` : token.text;
  return token.kind === 'String' ? `string literal ${text}` : `'${text}'`;
}

class Parser {
  tokens: Token[];
  index = 0;
  depth = 0;
  objectTypes = new Set<string>();

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  peek(): Token {
    // tokenize() always ends the list with EOF or Error, and index never passes it.
    return this.tokens[this.index] ?? (this.tokens[this.tokens.length - 1] as Token);
  }

  next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }

  /** Reports a lexical error where one stopped the token list, else "expected … but found …". */
  fail(token: Token, expected: string, hint = ''): never {
    if (token.kind === 'Error') throw new PatternSyntaxError(token.message ?? 'invalid token', token.line, token.column);
    throw new PatternSyntaxError(`expected ${expected} but found ${describe(token)}${hint}`, token.line, token.column);
  }

  expect(kind: TokenKind, expected: string): Token {
    const token = this.next();
    if (token.kind !== kind) this.fail(token, expected);
    return token;
  }

  enter(token: Token): void {
    if (++this.depth > MAX_PATTERN_DEPTH) {
      throw new PatternSyntaxError(
        `expression nested too deeply (more than ${MAX_PATTERN_DEPTH} levels of parentheses)`,
        token.line,
        token.column,
      );
    }
  }

  // pattern : observationExpressions EOF
  pattern(): Comparison[] {
    const comparisons = this.observationExpressions();
    const token = this.peek();
    if (token.kind !== 'EOF') this.fail(token, "'AND', 'OR', 'FOLLOWEDBY', a qualifier or end of input");
    return comparisons;
  }

  // observationExpressions : observationExpressions FOLLOWEDBY observationExpressions | observationExpressionOr
  observationExpressions(): Comparison[] {
    const parts = [this.observationExpressionOr()];
    while (this.peek().kind === 'FOLLOWEDBY') {
      this.next();
      parts.push(this.observationExpressionOr());
    }
    return parts.length > 1 ? joined(parts) : parts[0]!;
  }

  observationExpressionOr(): Comparison[] {
    const parts = [this.observationExpressionAnd()];
    while (this.peek().kind === 'OR') {
      this.next();
      parts.push(this.observationExpressionAnd());
    }
    return parts.flat();
  }

  observationExpressionAnd(): Comparison[] {
    const parts = [this.observationExpression()];
    while (this.peek().kind === 'AND') {
      this.next();
      parts.push(this.observationExpression());
    }
    return parts.length > 1 ? joined(parts) : parts[0]!;
  }

  // observationExpression : '[' comparisonExpression ']' | '(' observationExpressions ')'
  //                       | observationExpression (startStop | within | repeated)Qualifier
  observationExpression(): Comparison[] {
    const token = this.next();
    let comparisons: Comparison[] = [];
    if (token.kind === '[') {
      comparisons = this.comparisonExpression();
      this.expect(']', "']'");
    } else if (token.kind === '(') {
      this.enter(token);
      comparisons = this.observationExpressions();
      this.expect(')', "')'");
      this.depth--;
    } else {
      this.fail(token, "'[' or '('");
    }
    for (;;) {
      const kind = this.peek().kind;
      if (kind === 'START') this.startStopQualifier();
      else if (kind === 'WITHIN') this.withinQualifier();
      else if (kind === 'REPEATS') this.repeatedQualifier();
      else return comparisons;
      joined([comparisons]);
    }
  }

  // startStopQualifier : START TimestampLiteral STOP TimestampLiteral
  startStopQualifier(): void {
    this.next();
    this.expect('Timestamp', 'timestamp literal');
    this.expect('STOP', "'STOP'");
    this.expect('Timestamp', 'timestamp literal');
  }

  // withinQualifier : WITHIN (IntPosLiteral | FloatPosLiteral) SECONDS
  withinQualifier(): void {
    this.next();
    const token = this.next();
    // Negative numbers are not FloatPos/IntPosLiteral; 0 passes the grammar but
    // the spec asks for a positive duration.
    if ((token.kind !== 'Int' && token.kind !== 'Float') || !(Number(token.text) > 0)) {
      this.fail(token, 'positive number of seconds');
    }
    this.expect('SECONDS', "'SECONDS'");
  }

  // repeatedQualifier : REPEATS IntPosLiteral TIMES
  repeatedQualifier(): void {
    this.next();
    const token = this.next();
    // As for WITHIN: IntPosLiteral, and the spec asks for a positive count.
    if (token.kind !== 'Int' || !(Number(token.text) > 0)) {
      this.fail(token, 'positive integer');
    }
    this.expect('TIMES', "'TIMES'");
  }

  comparisonExpression(): Comparison[] {
    const parts = [this.comparisonExpressionAnd()];
    while (this.peek().kind === 'OR') {
      this.next();
      parts.push(this.comparisonExpressionAnd());
    }
    return parts.flat();
  }

  comparisonExpressionAnd(): Comparison[] {
    const parts = [this.propTest()];
    while (this.peek().kind === 'AND') {
      this.next();
      parts.push(this.propTest());
    }
    return parts.length > 1 ? joined(parts) : parts[0]!;
  }

  // propTest : objectPath NOT? operator literal | '(' comparisonExpression ')' | EXISTS objectPath
  propTest(): Comparison[] {
    const token = this.peek();
    if (token.kind === '(') {
      this.next();
      this.enter(token);
      const inner = this.comparisonExpression();
      this.expect(')', "')'");
      this.depth--;
      return inner;
    }
    if (token.kind === 'EXISTS') {
      // The 2.1 grammar has no NOT before EXISTS, so `NOT EXISTS x:y` is rejected.
      this.next();
      const { objectType, path } = this.objectPath();
      return [{ objectType, path, operator: 'EXISTS', negated: false, strings: [], sufficient: true }];
    }
    if (token.kind !== 'Ident' && token.kind !== 'IdentHyphen') this.fail(token, "object path, '(' or 'EXISTS'");
    const { objectType, path } = this.objectPath();
    const negated = this.peek().kind === 'NOT';
    if (negated) this.next();
    const operator = this.next();
    let strings: string[];
    if (operator.kind === 'EQ' || operator.kind === 'NEQ') {
      strings = stringsOf([this.literal(true)]);
    } else if (ORDERING.has(operator.kind)) {
      strings = stringsOf([this.literal(false)]);
    } else if (operator.kind === 'IN') {
      strings = stringsOf(this.setLiteral());
    } else if (STRING_OPERATORS.has(operator.kind)) {
      strings = stringsOf([this.expect('String', 'string literal')]);
    } else {
      this.fail(operator, 'comparison operator');
    }
    return [{ objectType, path, operator: operator.kind, negated, strings, sufficient: !negated }];
  }

  // objectPath : objectType ':' firstPathComponent objectPathComponent?
  objectPath(): { objectType: string; path: PathStep[] } {
    const type = this.next();
    if (type.kind !== 'Ident' && type.kind !== 'IdentHyphen') this.fail(type, 'object type');
    if (type.text.length < 3 || type.text.length > 250 || !STIX_TYPE.test(type.text)) {
      throw new PatternSyntaxError(
        `invalid object type '${type.text.slice(0, 60)}' (a STIX type name has 3 to 250 characters a-z, 0-9 and single hyphens, starting with a letter)`,
        type.line,
        type.column,
      );
    }
    this.objectTypes.add(type.text);
    this.expect(':', "':'");
    const path: PathStep[] = [this.propertyName(this.next())];
    for (;;) {
      const kind = this.peek().kind;
      if (kind === '.') {
        this.next();
        path.push(this.propertyName(this.next()));
      } else if (kind === '[') {
        this.next();
        const index = this.next();
        if (index.kind !== 'Int' && index.kind !== '*') this.fail(index, "list index or '*'");
        path.push(index.kind === 'Int' ? Number(index.text) : '*');
        this.expect(']', "']'");
      } else {
        return { objectType: type.text, path };
      }
    }
  }

  // Path keys are IdentifierWithoutHyphen or StringLiteral: 'x-foo' must be quoted.
  propertyName(token: Token): string {
    if (token.kind === 'Ident') return token.text;
    if (token.kind === 'String') return token.value ?? '';
    this.fail(token, 'property name', token.kind === 'IdentHyphen' ? " (quote names containing '-')" : '');
  }

  // primitiveLiteral : orderableLiteral | BoolLiteral
  literal(allowBool: boolean): Token {
    const token = this.next();
    if (!LITERALS.has(token.kind)) this.fail(token, 'literal');
    if (token.kind === 'Bool' && !allowBool) this.fail(token, 'orderable literal (number, string, binary, hex or timestamp)');
    return token;
  }

  // setLiteral : '(' ')' | '(' primitiveLiteral (',' primitiveLiteral)* ')'
  setLiteral(): Token[] {
    const open = this.next();
    if (open.kind !== '(') this.fail(open, "'(' to start a set of values");
    if (this.peek().kind === ')') {
      this.next();
      return [];
    }
    const members = [this.literal(true)];
    while (this.peek().kind === ',') {
      this.next();
      members.push(this.literal(true));
    }
    this.expect(')', "',' or ')'");
    return members;
  }
}

function stringsOf(tokens: Token[]): string[] {
  return tokens.flatMap((t) => (t.kind === 'String' ? [t.value ?? ''] : []));
}

type Parsed = { ok: true; objectTypes: string[]; comparisons: Comparison[] } | Extract<PatternResult, { ok: false }>;

function parse(pattern: string): Parsed {
  try {
    const parser = new Parser(tokenize(pattern));
    const comparisons = parser.pattern();
    return { ok: true, objectTypes: [...parser.objectTypes], comparisons };
  } catch (error) {
    if (error instanceof PatternSyntaxError) {
      return { ok: false, message: error.message, line: error.line, column: error.column };
    }
    // Defensive: a bug here must surface as an invalid pattern, not a crash of the caller.
    return { ok: false, message: `internal pattern parser error: ${String(error)}`, line: 1, column: 1 };
  }
}

/**
 * The latest patterns parsed, so that validating an indicator and taking its feed values, a few
 * statements apart, parse it once. Bounded in entries and in the size of what it keeps.
 */
const recent = new Map<string, Parsed>();
const RECENT_ENTRIES = 2048;
const RECENT_MAX_LENGTH = 4096;

function parsed(pattern: string): Parsed {
  const hit = recent.get(pattern);
  if (hit) return hit;
  const result = parse(pattern);
  if (pattern.length <= RECENT_MAX_LENGTH) {
    if (recent.size >= RECENT_ENTRIES) recent.delete(recent.keys().next().value!);
    recent.set(pattern, result);
  }
  return result;
}

/**
 * Checks a pattern against the STIX 2.1 patterning grammar. Never throws, for
 * any input: errors come back with a 1-based line and column of the offending
 * token.
 */
export function parsePattern(pattern: string): PatternResult {
  // Callers pass values read from untrusted JSON, which may not be strings at all.
  if (typeof pattern !== 'string') return { ok: false, message: 'pattern must be a string', line: 1, column: 1 };
  const r = parsed(pattern);
  return r.ok ? { ok: true, objectTypes: [...r.objectTypes] } : r;
}

/**
 * The comparisons of a well-formed pattern, in source order, each marked whether it alone is
 * enough for the pattern to match; undefined for a pattern parsePattern refuses. Never throws.
 * The same parse as parsePattern's: callers must not change what they get.
 */
export function patternComparisons(pattern: string): readonly Comparison[] | undefined {
  if (typeof pattern !== 'string') return undefined;
  const r = parsed(pattern);
  return r.ok ? r.comparisons : undefined;
}
