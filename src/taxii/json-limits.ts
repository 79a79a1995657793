import { VigilError } from '../errors.ts';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, isSpace, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from '../stix/json-bytes.ts';

/**
 * What a JSON request body may hold, checked on its bytes as they stream in, before any parser
 * sees them: a hostile body (100,000 nested arrays in 200 KB, a million members) is refused with
 * a 4xx instead of exhausting PostgreSQL's stack or PGlite's thread.
 */
export type JsonLimits = {
  /** Nesting of objects and arrays (a STIX bundle's objects sit at depth 3). */
  maxDepth: number;
  /** Members of any one JSON object. */
  maxMembers: number;
  /** UTF-8 bytes of any one string (a name or a value), escapes counted as written. */
  maxStringBytes: number;
  /** Elements of the body's top-level arrays, such as a bundle's or an envelope's `objects`. */
  maxObjects: number;
};

const OBJECT = 1;
const ARRAY = 2;

/**
 * A JSON number here is an IEEE 754 double (I-JSON, RFC 7493 §2.2): 17 significant digits and an
 * exponent within ±324 say all there is to say. PostgreSQL's parser takes far more (1e131071 is a
 * 131,072-digit value: 8 bytes in, 128 KB out) and fails past it; such a token is refused here.
 */
const MAX_NUMBER_CHARS = 400;
const MAX_EXPONENT = 400;

/** Digits, sign, decimal point and exponent: what a JSON number token is made of. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/**
 * A scanner of JSON bytes that only tracks structure (strings, nesting, members, elements): it
 * does not check syntax, which the parser after it does. Feed it chunk after chunk; it throws
 * the request's error at the first byte past a limit.
 */
export class JsonLimitScanner {
  private readonly limits: JsonLimits;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private stringBytes = 0;
  /** Within a number token: its length so far, and its exponent's digits (after e/E) so far. */
  private inNumber = false;
  private numberChars = 0;
  private inExponent = false;
  private exponent = 0;
  /** Per open container (index = depth): its kind, members or elements so far, and whether a value started in it. */
  private readonly kinds: Uint8Array;
  private readonly counts: Float64Array;
  private readonly started: Uint8Array;

  constructor(limits: JsonLimits) {
    this.limits = limits;
    this.kinds = new Uint8Array(limits.maxDepth + 2);
    this.counts = new Float64Array(limits.maxDepth + 2);
    this.started = new Uint8Array(limits.maxDepth + 2);
  }

  push(bytes: Uint8Array): void {
    const { limits } = this;
    // A Buffer's indexOf is a native memchr; a plain Uint8Array's is a loop several times slower.
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Where the chunk's next backslash is, at or after the byte scanned (past its end when there is none).
    let backslashAt = -1;
    for (let i = 0; i < chunk.length; i++) {
      if (this.inString && !this.escaped) {
        // Most of a bundle's bytes sit inside strings: the run up to the next quote or backslash
        // is found by native searches, and counted at once, not byte by byte.
        if (backslashAt < i) backslashAt = chunk.indexOf(BACKSLASH, i) >>> 0;
        const quoteAt = chunk.indexOf(QUOTE, i) >>> 0;
        const end = Math.min(quoteAt, backslashAt, chunk.length);
        if (end > i) {
          this.stringBytes += end - i;
          if (this.stringBytes > limits.maxStringBytes) throw this.stringTooLong();
          i = end - 1;
          continue;
        }
      }
      const c = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          continue;
        }
        if (++this.stringBytes > limits.maxStringBytes) throw this.stringTooLong();
        continue;
      }
      if (this.inNumber) {
        if (isNumberChar(c)) {
          this.numberPart(c);
          continue;
        }
        this.inNumber = false;
      }
      if (isSpace(c)) continue;
      switch (c) {
        case QUOTE:
          this.value();
          this.inString = true;
          this.stringBytes = 0;
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          this.value();
          if (++this.depth > limits.maxDepth) {
            throw new VigilError(
              'unprocessable',
              `the body nests objects and arrays deeper than ${limits.maxDepth} levels (JSON_MAX_DEPTH)`,
            );
          }
          this.kinds[this.depth] = c === OPEN_OBJECT ? OBJECT : ARRAY;
          this.counts[this.depth] = 0;
          this.started[this.depth] = 0;
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          if (this.depth > 0) {
            if (this.kinds[this.depth] === ARRAY && this.started[this.depth]) this.element();
            this.depth--;
          }
          break;
        case COLON:
          if (this.kinds[this.depth] === OBJECT && ++this.counts[this.depth]! > limits.maxMembers) {
            throw new VigilError('unprocessable', `an object in the body has more than ${limits.maxMembers} members (JSON_MAX_MEMBERS)`);
          }
          // The member's value starts next: the container's `started` concerns arrays only.
          break;
        case COMMA:
          if (this.kinds[this.depth] === ARRAY) {
            this.element();
            this.started[this.depth] = 0;
          }
          break;
        default:
          // A number or a literal (true, false, null): a value.
          this.value();
          if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
            this.inNumber = true;
            this.numberChars = 0;
            this.inExponent = false;
            this.exponent = 0;
            this.numberPart(c);
          }
      }
    }
  }

  private numberPart(c: number): void {
    if (++this.numberChars > MAX_NUMBER_CHARS) throw this.numberTooLarge();
    if (c === 0x65 || c === 0x45) this.inExponent = true;
    else if (this.inExponent && c >= 0x30 && c <= 0x39) {
      this.exponent = this.exponent * 10 + (c - 0x30);
      if (this.exponent > MAX_EXPONENT) throw this.numberTooLarge();
    }
  }

  private stringTooLong(): VigilError {
    return new VigilError(
      'unprocessable',
      `a string in the body is longer than ${this.limits.maxStringBytes} bytes (JSON_MAX_STRING_BYTES)`,
    );
  }

  private numberTooLarge(): VigilError {
    return new VigilError(
      'unprocessable',
      `a number in the body is out of range: JSON numbers here are IEEE 754 doubles (at most ${MAX_NUMBER_CHARS} characters, exponents within ±${MAX_EXPONENT})`,
    );
  }

  /** A value begins in the current container. */
  private value(): void {
    if (this.depth > 0) this.started[this.depth] = 1;
  }

  /** The most elements any array of the top level holds (a body's `objects` holds no more). */
  arrayElementsAtMost = 0;

  /** An element of the current array ended. Only the top level's arrays (depth 2) are counted. */
  private element(): void {
    if (this.depth !== 2) return;
    const n = ++this.counts[this.depth]!;
    if (n > this.arrayElementsAtMost) this.arrayElementsAtMost = n;
    if (n > this.limits.maxObjects) {
      throw new VigilError('payload-too-large', `the body holds more than ${this.limits.maxObjects} objects (REQUEST_MAX_OBJECTS)`);
    }
  }
}
