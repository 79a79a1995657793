import { MIMEType } from 'node:util';
import Negotiator from 'negotiator';
import { VigilError } from '../errors.ts';

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

/** Accept headers decided so far: a node's clients send a handful of them, each on every request. */
const decided = new Map<string, boolean>();
const DECIDED_MAX = 256;

function acceptable(accept: string): boolean {
  let ok = decided.get(accept);
  if (ok === undefined) {
    ok = new Negotiator({ headers: { accept } }).mediaType([TAXII_MEDIA_TYPE]) !== undefined;
    // Bounded: headers made up by the thousand start the table again rather than grow it.
    if (decided.size >= DECIDED_MAX) decided.clear();
    if (accept.length <= 512) decided.set(accept, ok);
  }
  return ok;
}

/**
 * TAXII 2.1 §1.6.8: serves `application/taxii+json;version=2.1`, `application/taxii+json` and
 * wildcards, with lists and q-values parsed by negotiator. A missing Accept is a 406.
 */
export function assertAcceptable(accept: string | undefined): void {
  if (!accept || !acceptable(accept)) {
    throw new VigilError('not-acceptable', `this server answers only with ${TAXII_MEDIA_TYPE}; send it (or */*) in Accept`);
  }
}

export type BodyKind = 'envelope' | 'bundle';

/** What a POST body is: a TAXII envelope, or (for analysts' tools) a STIX bundle. Else 415. */
export function bodyKind(contentType: string | undefined): BodyKind {
  let mime: MIMEType | undefined;
  try {
    mime = contentType ? new MIMEType(contentType) : undefined;
  } catch {
    mime = undefined;
  }
  const version = mime?.params.get('version');
  if (mime && (version === null || version === '2.1')) {
    if (mime.essence === 'application/taxii+json') return 'envelope';
    if (mime.essence === 'application/stix+json') return 'bundle';
  }
  throw new VigilError('unsupported-media-type', `POST a TAXII envelope as ${TAXII_MEDIA_TYPE} or a STIX bundle as ${STIX_MEDIA_TYPE}`);
}
