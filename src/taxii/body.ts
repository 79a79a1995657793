import { isUtf8 } from 'node:buffer';
import { VigilError } from '../errors.ts';

/**
 * Reads a request body, counting bytes as they stream in, so a body over `limit` is refused
 * (413) without being held whole, whatever its Content-Length said. When the length is declared
 * the bytes are copied into one buffer of that size as they arrive: a 40 MB bundle is held once,
 * not as its chunks plus their concatenation.
 */
export async function readBody(req: Request, limit: number): Promise<Buffer> {
  const tooLarge = () => new VigilError('payload-too-large', `the body exceeds this API root's max_content_length of ${limit} octets`);
  const declaredText = req.headers.get('content-length');
  const declared = declaredText !== null && /^\d+$/.test(declaredText) ? Number(declaredText) : undefined;
  if (declared !== undefined && declared > limit) throw tooLarge();
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  let whole = declared !== undefined ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    if (whole && size + value.byteLength <= whole.length) whole.set(value, size);
    else {
      // More than the declared length (the server's HTTP parser normally refuses that): keep chunks.
      if (whole) chunks.push(whole.subarray(0, size));
      whole = undefined;
      chunks.push(value);
    }
    size += value.byteLength;
  }
  return whole ? whole.subarray(0, size) : Buffer.concat(chunks, size);
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The body's bytes, refused unless they are UTF-8 (RFC 8259 §8.1), without a leading byte order
 * mark (which JSON parsers may ignore, and PostgreSQL's does not): PostgreSQL gets them as they are.
 */
export async function readUtf8Body(req: Request, limit: number): Promise<Buffer> {
  const bytes = await readBody(req, limit);
  if (!isUtf8(bytes)) throw new VigilError('invalid-json', 'the body is not valid UTF-8');
  return bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
}

export async function readBodyText(req: Request, limit: number): Promise<string> {
  return (await readUtf8Body(req, limit)).toString('utf8');
}
