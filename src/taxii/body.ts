import { isUtf8 } from 'node:buffer';
import { VigilError } from '../errors.ts';
import { JsonLimitScanner } from './json-limits.ts';
import type { JsonLimits } from './json-limits.ts';

/**
 * The bytes of request bodies this process holds at once (REQUEST_BYTES_IN_FLIGHT): a body is
 * held whole while PostgreSQL parses it, which takes PostgreSQL two to three times its size.
 * Six writers each sending a 95 MB bundle at once took a node to 1.3 GB and PostgreSQL from
 * 0.3 to 5.4 GB. One body is always taken when none is held, whatever its size (its API root's
 * max_content_length bounds it), so the budget limits how many come at once, never which.
 */
export class BodyBudget {
  #held = 0;
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }

  /** Holds `bytes` more, or answers false when that would pass the budget. */
  take(bytes: number, alreadyHeld: number): boolean {
    if (this.#held > alreadyHeld && this.#held + bytes > this.max) return false;
    this.#held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#held -= bytes;
  }

  get held(): number {
    return this.#held;
  }
}

/** A body's bytes, and the budget it holds them under until `release` (idempotent). */
export type HeldBody = { body: Buffer; release(): void };

const busy = (budget: BodyBudget) =>
  new VigilError(
    'unavailable',
    `this node is already taking in ${budget.held} octets of request bodies (REQUEST_BYTES_IN_FLIGHT is ${budget.max}): send this request again shortly`,
  );

/**
 * Holds a body that another reader takes in whole (a console form), by its declared length, or
 * `undeclared` octets without one: answers the release, or throws the 503 of a spent budget.
 */
export function holdWhole(budget: BodyBudget, req: Request, undeclared: number): () => void {
  const bytes = declaredLength(req) ?? undeclared;
  if (!budget.take(bytes, 0)) throw busy(budget);
  let given = false;
  return () => {
    if (!given) budget.give(bytes);
    given = true;
  };
}

/** The request's Content-Length, when it declares a well-formed one. */
function declaredLength(req: Request): number | undefined {
  const text = req.headers.get('content-length');
  return text !== null && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The first buffer a body with a declared length gets; it doubles as bytes arrive, up to that length. */
const FIRST_CAPACITY = 65_536;

/**
 * Reads a request body, counting bytes as they stream in, so a body over `limit` is refused
 * (413) without being held whole, whatever its Content-Length said; `inspect` sees each chunk as
 * it arrives (JSON limits), and may refuse the body there. With a declared length the bytes are
 * gathered in one buffer that doubles as they arrive, up to that length: a 40 MB bundle is held
 * about once, not as its chunks plus their concatenation, and a length declared but never sent
 * reserves nothing.
 */
export async function readBody(req: Request, limit: number, inspect?: (chunk: Uint8Array) => void): Promise<Buffer> {
  return (await readHeldBody(req, limit, inspect)).body;
}

/**
 * readBody, holding the body's bytes under `budget` (taken as they are declared or arrive) until
 * the caller releases them: a 503 when the budget is spent, before the bytes are held. Held by
 * its declared length, a body is admitted whole or not at all: held as they arrived, six 95 MB
 * bodies sent at once each took a share and all six were refused. The price: a declared length
 * holds its share while the client is slow to send it (at most the server's request timeout).
 */
async function readHeldBody(req: Request, limit: number, inspect?: (chunk: Uint8Array) => void, budget?: BodyBudget): Promise<HeldBody> {
  let held = 0;
  const hold = (bytes: number): boolean => {
    if (!budget) return true;
    if (!budget.take(bytes, held)) return false;
    held += bytes;
    return true;
  };
  const release = () => {
    budget?.give(held);
    held = 0;
  };
  try {
    return { body: await readHolding(req, limit, hold, inspect, budget), release };
  } catch (err) {
    release();
    throw err;
  }
}

async function readHolding(
  req: Request,
  limit: number,
  hold: (bytes: number) => boolean,
  inspect: ((chunk: Uint8Array) => void) | undefined,
  budget: BodyBudget | undefined,
): Promise<Buffer> {
  const tooLarge = () => new VigilError('payload-too-large', `the body exceeds this API root's max_content_length of ${limit} octets`);
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge();
  // A declared length is held before a byte is read; an undeclared one as its bytes arrive.
  if (declared !== undefined && !hold(declared)) throw busy(budget!);
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  let whole = declared !== undefined ? Buffer.allocUnsafe(Math.min(declared, FIRST_CAPACITY)) : undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  // A body refused by `inspect` is read to its end (and dropped): a client still sending gets
  // the answer, not a connection closed under it. The size limit still holds while it drains.
  let refused: unknown;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > limit) throw tooLarge();
      if (refused === undefined && declared === undefined && !hold(value.byteLength)) {
        refused = busy(budget!);
        chunks.length = 0;
      }
      if (refused !== undefined) {
        size += value.byteLength;
        continue;
      }
      try {
        inspect?.(value);
      } catch (err) {
        refused = err;
        whole = undefined;
        chunks.length = 0;
        size += value.byteLength;
        continue;
      }
      if (whole && declared !== undefined && size + value.byteLength <= declared) {
        if (size + value.byteLength > whole.length) {
          const grown = Buffer.allocUnsafe(Math.min(declared, Math.max(2 * whole.length, size + value.byteLength)));
          whole.copy(grown, 0, 0, size);
          whole = grown;
        }
        whole.set(value, size);
      } else {
        // More than the declared length (the server's HTTP parser normally refuses that): keep chunks.
        if (whole) chunks.push(whole.subarray(0, size));
        whole = undefined;
        chunks.push(value);
      }
      size += value.byteLength;
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
  if (refused !== undefined) throw refused;
  return whole ? whole.subarray(0, size) : Buffer.concat(chunks, size);
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The body's bytes, refused unless they are UTF-8 (RFC 8259 §8.1), without a leading byte order
 * mark (which JSON parsers may ignore, and PostgreSQL's does not): PostgreSQL gets them as they
 * are. With `limits`, a JSON body past them is refused as it streams in (json-limits.ts).
 */
export async function readUtf8Body(req: Request, limit: number, limits?: JsonLimits): Promise<Buffer> {
  const scanner = limits ? new JsonLimitScanner(limits) : undefined;
  return utf8(await readBody(req, limit, scanner ? (chunk) => scanner.push(chunk) : undefined));
}

function utf8(bytes: Buffer): Buffer {
  if (!isUtf8(bytes)) throw new VigilError('invalid-json', 'the body is not valid UTF-8');
  return bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
}

/**
 * readUtf8Body of a JSON body checked against `limits`, with the most elements any top-level
 * array of it holds: an upper bound on a TAXII envelope's or bundle's `objects`, known before it
 * is parsed.
 */
export async function readJsonBody(
  req: Request,
  limit: number,
  limits: JsonLimits,
  budget?: BodyBudget,
): Promise<HeldBody & { objectsAtMost: number }> {
  const scanner = new JsonLimitScanner(limits);
  const held = await readHeldBody(req, limit, (chunk) => scanner.push(chunk), budget);
  try {
    return { body: utf8(held.body), release: held.release, objectsAtMost: scanner.arrayElementsAtMost };
  } catch (err) {
    held.release();
    throw err;
  }
}

export async function readBodyText(req: Request, limit: number, limits?: JsonLimits): Promise<string> {
  return (await readUtf8Body(req, limit, limits)).toString('utf8');
}
