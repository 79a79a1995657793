import { VigilError } from '../errors.ts';

/**
 * Reads a request body as text, counting bytes as they stream in, so a body over `limit` is
 * refused (413) without being held whole, whatever its Content-Length said.
 */
export async function readBodyText(req: Request, limit: number): Promise<string> {
  const tooLarge = () => new VigilError('payload-too-large', `the body exceeds this API root's max_content_length of ${limit} octets`);
  const declared = req.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) throw tooLarge();
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new VigilError('invalid-json', 'the body is not valid UTF-8');
  }
}
