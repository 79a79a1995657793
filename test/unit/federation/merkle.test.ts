import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leafHash, leafHashOf, merkleTree, rootFromPath, SignedTree } from '../../../src/federation/merkle.ts';

// The reference vectors of RFC 6962's Merkle tree, as Certificate Transparency's own test suite
// publishes them (merkle_tree_test: eight leaves of 0 to 16 bytes and the root of each prefix).
const LEAF_DATA = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const LEAVES = LEAF_DATA.map((hex) => leafHash(Buffer.from(hex, 'hex')));

/** RFC 9162 §2.1.1's definition, word for word: MTH(D[n]) = HASH(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])). */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(referenceRoot(leaves.slice(0, k)))
    .update(referenceRoot(leaves.slice(k)))
    .digest();
}

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));

describe('Merkle trees (RFC 9162 §2.1)', () => {
  it("give RFC 6962's reference roots for trees of 1 to 8 leaves", () => {
    for (let n = 1; n <= 8; n++) expect(merkleTree(LEAVES.slice(0, n)).root.toString('hex')).toBe(ROOTS[n - 1]);
  });

  it('hash a leaf as SHA-256(0x00 ‖ data), so that no leaf can pass for an interior node', () => {
    expect(leafHash(Buffer.from('')).toString('hex')).toBe(
      createHash('sha256')
        .update(Buffer.from([0]))
        .digest('hex'),
    );
  });

  it('hash a head and a text as the leaf of their UTF-8 bytes, whatever the text holds and however long', () => {
    const head = Buffer.from('0123456789abcdef');
    const texts = ['', '{"a":1}', 'é€𝄞 mixed', 'x'.repeat(70_000), '€'.repeat(22_000), `${'y'.repeat(65_000)}𝄞`];
    for (const text of texts) expect(leafHashOf(head, text).equals(leafHash(Buffer.concat([head, Buffer.from(text, 'utf8')])))).toBe(true);
  });

  it("lead every leaf's audit path to the root, for every size up to 70 and for 1,024 leaves", () => {
    for (const n of [...Array.from({ length: 70 }, (_, i) => i + 1), 1000, 1024]) {
      const leaves = leavesOf(n);
      const { root, paths } = merkleTree(leaves);
      expect(root.equals(referenceRoot(leaves))).toBe(true);
      for (let i = 0; i < n; i++) expect(rootFromPath(i, n, leaves[i]!, paths[i]!)?.equals(root)).toBe(true);
      expect(Math.max(...paths.map((p) => p.length))).toBe(Math.ceil(Math.log2(n)));
    }
  });

  it('lead nowhere else with another leaf, another index, or one hash of the path added, dropped or altered', () => {
    const leaves = leavesOf(13);
    const { root, paths } = merkleTree(leaves);
    for (let i = 0; i < 13; i++) {
      const path = paths[i]!;
      const reaches = (index: number, size: number, leaf: Buffer, p: Buffer[]) => rootFromPath(index, size, leaf, p)?.equals(root) ?? false;
      expect(reaches(i, 13, leaves[(i + 1) % 13]!, path)).toBe(false);
      expect(reaches((i + 1) % 13, 13, leaves[i]!, path)).toBe(false);
      expect(reaches(i, 13, leaves[i]!, [...path, path[0]!])).toBe(false);
      expect(reaches(i, 13, leaves[i]!, path.slice(1))).toBe(false);
      for (let j = 0; j < path.length; j++) {
        const altered = path.map((h, k) => (k === j ? Buffer.from(h.map((b, at) => (at === 0 ? b ^ 1 : b))) : h));
        expect(reaches(i, 13, leaves[i]!, altered)).toBe(false);
      }
    }
    expect(rootFromPath(13, 13, leaves[0]!, paths[0]!)).toBeUndefined();
    expect(rootFromPath(-1, 13, leaves[0]!, paths[0]!)).toBeUndefined();
    expect(() => merkleTree([])).toThrow(RangeError);
  });

  it('check the leaves of a signed tree in any order, each against what earlier leaves proved, and never take an altered one', () => {
    for (const n of [1, 2, 7, 64, 100]) {
      const leaves = leavesOf(n);
      const { root, paths } = merkleTree(leaves);
      const tree = new SignedTree(root, n);
      const order = Array.from({ length: n }, (_, i) => (i * 37) % n);
      const altered = (i: number) => leafHash(Buffer.from(`altered ${i}`));
      for (const i of new Set(order)) {
        // Refused before and after its own leaf is proved: a refusal teaches the tree nothing.
        expect(tree.includes(i, altered(i), paths[i]!)).toBe(false);
        expect(tree.includes(i, leaves[i]!, paths[i]!)).toBe(true);
        expect(tree.includes(i, altered(i), paths[i]!)).toBe(false);
      }
      expect(new SignedTree(leafHash(Buffer.from('another root')), n).includes(0, leaves[0]!, paths[0]!)).toBe(false);
    }
  });
});
