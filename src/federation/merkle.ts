import { createHash, hash } from 'node:crypto';

// The Merkle tree of RFC 9162 (Certificate Transparency 2.0, §2.1): leaves and interior nodes
// hashed with distinct prefixes (0x00, 0x01), so no leaf can pass for a node, and an inclusion
// proof (the audit path) that lets a holder of one leaf check it against the signed root
// without any other leaf. Used by origin signatures over a batch (origin-signature.ts).

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const HASH_BYTES = 32;

export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(data).digest();
}

/**
 * Where leafHashOf writes a leaf's input before hashing it in one shot: one buffer for every leaf
 * up to 64 KB, rather than an encoding, a copy and a Hash object per leaf. Safe to share: nothing
 * awaits between writing it and hashing it.
 */
const leafScratch = Buffer.alloc(64 * 1024);

/** leafHash of `head` followed by the UTF-8 bytes of `text` (an origin leaf: salt, canonical JSON). */
export function leafHashOf(head: Buffer, text: string): Buffer {
  const start = LEAF.length + head.length;
  // At most 3 UTF-8 bytes per UTF-16 code unit: count exactly only when that might not fit.
  let input = leafScratch;
  if (start + text.length * 3 > input.length) {
    const size = start + Buffer.byteLength(text, 'utf8');
    if (size > input.length) input = Buffer.allocUnsafe(size); // a rare large leaf: its own buffer
  }
  LEAF.copy(input, 0);
  head.copy(input, LEAF.length);
  const end = start + input.write(text, start, 'utf8');
  return hash('sha256', input.subarray(0, end), 'buffer');
}

const pair = Buffer.alloc(1 + 2 * HASH_BYTES);
pair[0] = 1;

/** HASH(0x01 ‖ left ‖ right): one-shot hash() is twice as fast as a Hash object for 65 bytes. */
function nodeHash(left: Buffer, right: Buffer): Buffer {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES)
    return createHash('sha256').update(NODE).update(left).update(right).digest();
  left.copy(pair, 1);
  right.copy(pair, 1 + HASH_BYTES);
  return hash('sha256', pair, 'buffer');
}

/** The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The root of the tree over `leaves` (leaf hashes) and, for each leaf, its audit path (RFC 9162
 * §2.1.3.1), bottom up. One pass: every interior node is hashed once.
 */
export function merkleTree(leaves: readonly Buffer[]): { root: Buffer; paths: Buffer[][] } {
  if (leaves.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const paths: Buffer[][] = leaves.map(() => []);
  const build = (from: number, to: number): Buffer => {
    if (to - from === 1) return leaves[from]!;
    const k = split(to - from);
    const left = build(from, from + k);
    const right = build(from + k, to);
    for (let i = from; i < from + k; i++) paths[i]!.push(right);
    for (let i = from + k; i < to; i++) paths[i]!.push(left);
    return nodeHash(left, right);
  };
  return { root: build(0, leaves.length), paths };
}

/**
 * An audit path, bottom up: its node hashes, or any list that gives them one by one (a path
 * still in base64url, decoded only as far as a walk goes).
 */
export type AuditPath = { readonly length: number; at(i: number): Buffer | undefined };

/** An audit path whose hashes are base64url text (checked as such by the caller), each decoded when a walk reaches it. */
export function encodedPath(hashes: readonly string[]): AuditPath {
  return { length: hashes.length, at: (i) => Buffer.from(hashes[i]!, 'base64url') };
}

/**
 * Walks a leaf's audit path up (RFC 9162 §2.1.3.2), calling `reached` with each node hash it
 * computes, bottom up, until `reached` answers true. Answers the node where it stopped (the
 * root, when nothing stopped it sooner), or undefined when the path cannot belong to a leaf at
 * `index` of a tree of `size` leaves.
 */
function walk(index: number, size: number, leaf: Buffer, path: AuditPath, reached: (node: Buffer) => boolean): Buffer | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (let i = 0; i < path.length; i++) {
    if (sn === 0) return undefined;
    const p = path.at(i)!;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
    if (reached(r)) return r;
  }
  return sn === 0 ? r : undefined;
}

/** The root a leaf's audit path leads to (RFC 9162 §2.1.3.2), or undefined when it cannot be a path of that leaf. */
export function rootFromPath(index: number, size: number, leaf: Buffer, path: AuditPath): Buffer | undefined {
  return walk(index, size, leaf, path, () => false);
}

/**
 * A signed tree whose leaves are checked one by one: every node hash on a path already shown to
 * lead to the root is remembered, and the next leaf's walk stops at the first of them it
 * reaches. Sound because the hash chain alone proves inclusion: a node whose hash is one of the
 * tree's holds, below it, the leaf it was computed from (short of a SHA-256 collision). A page's
 * thousand consecutive leaves of one batch cost about two hashes each, not ten.
 */
export class SignedTree {
  readonly #size: number;
  readonly #known: Set<string>;
  constructor(root: Buffer, size: number) {
    this.#size = size;
    this.#known = new Set([root.toString('latin1')]);
  }

  includes(index: number, leaf: Buffer, path: AuditPath): boolean {
    const walked: string[] = [];
    const stop = walk(index, this.#size, leaf, path, (node) => {
      const key = node.toString('latin1');
      if (this.#known.has(key)) return true;
      walked.push(key);
      return false;
    });
    if (!stop || !this.#known.has(stop.toString('latin1'))) return false;
    for (const key of walked) this.#known.add(key);
    return true;
  }
}
