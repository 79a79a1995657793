import { createPublicKey, randomFillSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { ALGORITHM } from './keyring.ts';
import type { Keyring } from './keyring.ts';
import { canonicalJson } from './canonical-json.ts';
import { encodedPath, leafHashOf, merkleTree, SignedTree } from './merkle.ts';
import { thumbprint } from './pinned-keys.ts';

// The node where an object version enters the federation signs it, so that a node three hops
// away can check who originated it and that no relay altered it. Two forms, both over the
// object's canonical JSON (RFC 8785), both verified everywhere:
//
// - one object: `<header>..<signature>`, a detached compact JWS (RFC 7515, appendix F) over the
//   canonical JSON, typ `vigil-origin+jws`;
// - a batch: `<header>.<payload>.<signature>~<salt>~<index>~<path>`. The origin signs once, a
//   compact JWS (typ `vigil-origin-batch+jws`) over `{"root", "size"}`: the root of an RFC 9162
//   Merkle tree whose leaves are SHA-256(0x00 ‖ salt ‖ canonical JSON), one per version, each
//   with 16 random bytes of salt. Each version carries its own salt, its leaf's index and its
//   audit path, enough to check it alone. A receiver sees the other leaves only as salted
//   hashes: without their salts, which travel only with the versions themselves, nothing withheld
//   by TLP can be confirmed from them, not even a guessed value. Signing once per batch and
//   checking once per batch a page holds is what makes ingest and catch-up cheap (one Ed25519
//   verification is ~0.17 ms, more than storing the object).

const OBJECT_TYP = 'vigil-origin+jws';
const BATCH_TYP = 'vigil-origin-batch+jws';

/** The most versions one batch signature covers: audit paths of at most 10 hashes (~440 characters). */
export const MAX_BATCH_LEAVES = 1024;

const SALT_BYTES = 16;

/**
 * Salts are cut from a block of random bytes drawn 256 salts at a time: one draw per object was
 * half the cost of making its leaf. A block is never refilled, only replaced, so a salt handed
 * out never changes.
 */
let saltBlock = Buffer.alloc(0);
let saltAt = 0;
function freshSalt(): Buffer {
  if (saltAt + SALT_BYTES > saltBlock.length) {
    saltBlock = randomFillSync(Buffer.allocUnsafe(256 * SALT_BYTES));
    saltAt = 0;
  }
  saltAt += SALT_BYTES;
  return saltBlock.subarray(saltAt - SALT_BYTES, saltAt);
}

/** The object's canonical JSON (RFC 8785), what its origin signature covers; throws OriginSignatureError when it has none. */
export function canonicalText(object: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalJson(object);
  } catch {
    text = undefined; // a value JSON has no form for (a BigInt, a cycle)
  }
  if (text === undefined) throw new OriginSignatureError('the object has no canonical JSON form');
  return text;
}

function canonicalBytes(object: unknown): Uint8Array {
  return Buffer.from(canonicalText(object), 'utf8');
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

function header(kid: string, nodeId: string, typ: string): string {
  return b64(Buffer.from(JSON.stringify({ alg: ALGORITHM, kid, iss: nodeId, typ })));
}

function signWith(header: string, key: KeyObject, object: unknown): string {
  const input = `${header}.${b64(canonicalBytes(object))}`;
  return `${header}..${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/**
 * One object's signature, detached. Signed with node:crypto directly, synchronously (WebCrypto's
 * asynchronous path took several seconds for 25,000 objects). Verified by verifyOrigin.
 */
export function signOrigin(keyring: Keyring, object: unknown): string {
  const { kid, key } = keyring.signingKeyObject();
  return signWith(header(kid, keyring.nodeId, OBJECT_TYP), key, object);
}

/** A version's leaf in a batch: its salt and SHA-256(0x00 ‖ salt ‖ canonical JSON). */
export type OriginLeaf = { salt: Buffer; hash: Buffer };

/** Throws when the object has no canonical JSON form (which fails that object alone). */
export function originLeaf(object: unknown, salt: Buffer = freshSalt()): OriginLeaf {
  return { salt, hash: leafHashOf(salt, canonicalText(object)) };
}

/**
 * How versions the signing node took in from outside the federation (a TAXII server's feed or a
 * MISP's events, which sign nothing) entered it: signed in the batch's payload beside root and size. The signer
 * vouches only that it received these versions from `url` at `at`, not for their content.
 */
export type Intake = { kind: 'taxii' | 'misp'; url: string; at: string };

/** What a batch signs besides its tree. */
export type OriginClaims = { intake?: Intake };

/** Signs leaves as batches of at most MAX_BATCH_LEAVES: each leaf's signature string, in order. */
function signLeavesWith(header: string, key: KeyObject, leaves: readonly OriginLeaf[], claims: OriginClaims = {}): string[] {
  const signatures: string[] = [];
  for (let from = 0; from < leaves.length; from += MAX_BATCH_LEAVES) {
    const batch = leaves.slice(from, from + MAX_BATCH_LEAVES);
    const { root, paths } = merkleTree(batch.map((l) => l.hash));
    // An interior node is on the path of every leaf below it: encoded once, not once a leaf.
    const encoded = new Map<Buffer, string>();
    const text = (node: Buffer) => {
      let t = encoded.get(node);
      if (t === undefined) encoded.set(node, (t = b64(node)));
      return t;
    };
    const payload = b64(Buffer.from(JSON.stringify({ root: b64(root), size: batch.length, ...claims })));
    const jws = `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`), key).toString('base64url')}`;
    for (const [i, leaf] of batch.entries()) signatures.push(`${jws}~${b64(leaf.salt)}~${i}~${paths[i]!.map(text).join('.')}`);
  }
  return signatures;
}

export function signOriginBatch(keyring: Keyring, leaves: readonly OriginLeaf[], claims?: OriginClaims): string[] {
  const { kid, key } = keyring.signingKeyObject();
  return signLeavesWith(header(kid, keyring.nodeId, BATCH_TYP), key, leaves, claims);
}

export class OriginSignatureError extends Error {
  override name = 'OriginSignatureError';
}

/** Thumbprint and key object of a JWK, computed once: a pulled page checks a thousand signatures. */
const verifiers = new Map<string, { kid: string; key: KeyObject }>();

async function verifier(jwk: JWK): Promise<{ kid: string; key: KeyObject } | undefined> {
  const id = JSON.stringify(jwk);
  let v = verifiers.get(id);
  if (!v) {
    try {
      v = { kid: await thumbprint(jwk), key: createPublicKey({ key: jwk as never, format: 'jwk' }) };
    } catch {
      return undefined; // not a usable key: it verifies nothing
    }
    if (verifiers.size > 1000) verifiers.clear();
    verifiers.set(id, v);
  }
  return v;
}

const B64 = /^[A-Za-z0-9_-]+$/;
const HASH_B64 = /^[A-Za-z0-9_-]{43}$/;
const SALT_B64 = /^[A-Za-z0-9_-]{22}$/;
const INDEX = /^(0|[1-9]\d{0,9})$/;
/** An audit path: empty, or up to 64 hashes joined by dots (no batch needs more: 2^64 leaves). */
const PATH_B64 = /^(?:[A-Za-z0-9_-]{43}(?:\.[A-Za-z0-9_-]{43}){0,63})?$/;

function readJson(part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // told below
  }
  throw new OriginSignatureError(`unreadable ${what}`);
}

/** The header's key, once the header names this origin node, the one algorithm and the form's typ. */
async function headerKey(protectedHeader: string, typ: string, originNode: string, keys: JWK[]): Promise<KeyObject> {
  const h = readJson(protectedHeader, 'header');
  if (h.alg !== ALGORITHM || h.iss !== originNode) throw new OriginSignatureError(`not signed by '${originNode}' with ${ALGORITHM}`);
  if (h.typ !== typ) throw new OriginSignatureError(`not a ${typ}`);
  // What jose refused as a JWS: critical extensions it does not know, an unencoded payload.
  if (h.crit !== undefined || h.b64 !== undefined) throw new OriginSignatureError('unsupported JWS header parameters');
  let key: KeyObject | undefined;
  for (const k of keys) {
    const v = await verifier(k);
    if (v && v.kid === h.kid && v.key.asymmetricKeyType === 'ed25519') key = v.key;
  }
  if (!key) throw new OriginSignatureError(`key ${String(h.kid)} is not listed for '${originNode}'`);
  return key;
}

/**
 * What a batch's signature says, checked once: the root and size it signed. A page holds up to a
 * thousand versions of a few batches; `batches` (one per page) keeps each check's outcome.
 */
export type BatchChecks = Map<string, Promise<{ tree: SignedTree; intake: Intake | undefined }>>;

/** The intake claim of a batch payload: absent, or well formed. */
function intakeClaim(claims: Record<string, unknown>): Intake | undefined {
  const v = claims.intake;
  if (v === undefined) return undefined;
  const i = (v ?? {}) as Record<string, unknown>;
  if (typeof v !== 'object' || (i.kind !== 'taxii' && i.kind !== 'misp') || typeof i.url !== 'string' || typeof i.at !== 'string')
    throw new OriginSignatureError('the batch payload has an unreadable intake claim');
  return { kind: i.kind, url: i.url, at: i.at };
}

/**
 * The intake claim a stored signature carries, read without checking it (the node checked it, or
 * made it, when the version arrived): for the admin's provenance view. Undefined when none.
 */
export function readIntake(signature: string | null): Intake | undefined {
  if (!signature?.includes('~')) return undefined;
  try {
    return intakeClaim(readJson(signature.split('.')[1] ?? '', 'payload'));
  } catch {
    return undefined;
  }
}

function checkBatch(
  jws: string,
  originNode: string,
  keys: JWK[],
  batches: BatchChecks,
): Promise<{ tree: SignedTree; intake: Intake | undefined }> {
  const id = `${originNode}\u0000${jws}`;
  let check = batches.get(id);
  if (!check) {
    check = (async () => {
      const [protectedHeader, payload, sig, extra] = jws.split('.');
      if (!protectedHeader || !payload || !sig || extra !== undefined || ![protectedHeader, payload, sig].every((p) => B64.test(p)))
        throw new OriginSignatureError('not a compact JWS');
      const key = await headerKey(protectedHeader, BATCH_TYP, originNode, keys);
      const claims = readJson(payload, 'payload');
      const size = claims.size;
      if (typeof claims.root !== 'string' || !HASH_B64.test(claims.root) || !Number.isSafeInteger(size) || (size as number) < 1)
        throw new OriginSignatureError('the batch payload is not {root, size}');
      if (!(await verifyAsync(Buffer.from(`${protectedHeader}.${payload}`), key, Buffer.from(sig, 'base64url'))))
        throw new OriginSignatureError('the batch does not match its origin signature');
      return { tree: new SignedTree(Buffer.from(claims.root, 'base64url'), size as number), intake: intakeClaim(claims) };
    })();
    check.catch(() => {}); // told to each version that awaits it
    batches.set(id, check);
  }
  return check;
}

async function verifyInBatch(
  signature: string,
  object: unknown,
  originNode: string,
  keys: JWK[],
  batches: BatchChecks,
  text: string | undefined,
): Promise<Intake | undefined> {
  const [jws, salt, index, path, extra] = signature.split('~');
  if (!jws || salt === undefined || index === undefined || path === undefined || extra !== undefined)
    throw new OriginSignatureError('not a batch origin signature');
  if (!SALT_B64.test(salt) || !INDEX.test(index) || !PATH_B64.test(path))
    throw new OriginSignatureError('unreadable salt, index or audit path');
  const batch = checkBatch(jws, originNode, keys, batches);
  const leaf = { hash: leafHashOf(Buffer.from(salt, 'base64url'), text ?? canonicalText(object)) };
  const { tree, intake } = await batch;
  // A walk stops at the first node an earlier leaf of the batch reached: most hashes of a path are never decoded.
  if (!tree.includes(Number(index), leaf.hash, encodedPath(path === '' ? [] : path.split('.'))))
    throw new OriginSignatureError('the object does not match its origin signature');
  return intake;
}

/**
 * Checks an origin signature, of either form, against the keys listed for `originNode` (from
 * the trust list). Ed25519 only, verified with node:crypto on the thread pool: many may be
 * awaited at once. Checks of one page share `batches`, so each batch is verified once. Resolves
 * to the signed intake claim when `originNode` took the version in from outside the federation.
 * `text`: the object's canonicalText, when the caller has it already.
 */
export async function verifyOrigin(
  signature: string,
  object: unknown,
  originNode: string,
  keys: JWK[],
  batches: BatchChecks = new Map(),
  text?: string,
): Promise<Intake | undefined> {
  if (signature.includes('~')) return verifyInBatch(signature, object, originNode, keys, batches, text);
  const [protectedHeader, empty, sig, extra] = signature.split('.');
  if (!protectedHeader || empty !== '' || !sig || extra !== undefined) throw new OriginSignatureError('not a detached compact JWS');
  const key = await headerKey(protectedHeader, OBJECT_TYP, originNode, keys);
  const input = Buffer.from(`${protectedHeader}.${b64(text === undefined ? canonicalBytes(object) : Buffer.from(text, 'utf8'))}`);
  if (!(await verifyAsync(input, key, Buffer.from(sig, 'base64url'))))
    throw new OriginSignatureError('the object does not match its origin signature');
  return undefined;
}

/**
 * Ed25519 verification on libuv's thread pool (node:crypto's callback form), not the event loop:
 * a page's checks run beside each other, and beside the store of the page before.
 */
function verifyAsync(data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(null, data, key, signature, (err, valid) => resolve(!err && valid));
    } catch {
      resolve(false); // a malformed signature verifies nothing
    }
  });
}

/** How long a signer keeps the active key before asking the keyring again (a rotation's delay). */
const KEY_RECHECK_MS = 1000;

/** Signs as the origin node: one object (`sign`), or the leaves of a batch (`signLeaves`). */
export type OriginSigner = {
  nodeId: string;
  sign(object: unknown): string;
  signLeaves(leaves: readonly OriginLeaf[], claims?: OriginClaims): string[];
};

/**
 * What ingest needs to sign the versions that enter the federation here. It asks the keyring for
 * the active key at most once a second, not per batch: each ask reads the keyring file's status.
 */
export function originSigner(keyring: Keyring): OriginSigner {
  const nodeId = keyring.nodeId;
  let checked = -Infinity;
  let active: { kid: string; key: KeyObject } | undefined;
  const current = () => {
    const now = performance.now();
    if (!active || now - checked > KEY_RECHECK_MS) {
      active = keyring.signingKeyObject();
      checked = now;
    }
    return active;
  };
  return {
    nodeId,
    sign(object) {
      const { kid, key } = current();
      return signWith(header(kid, nodeId, OBJECT_TYP), key, object);
    },
    signLeaves(leaves, claims) {
      const { kid, key } = current();
      return signLeavesWith(header(kid, nodeId, BATCH_TYP), key, leaves, claims);
    },
  };
}
