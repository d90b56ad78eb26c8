// lib/smt's proofs in the wire form of chain.proto's SmtProof (a bitmap of non-default siblings, plus,
// for an absent key whose path ends at another key's leaf, that leaf). One conversion used by the
// consensus node that serves proofs and by every client that checks them.
import type { SmtProof as PbSmtProof } from '../../gen/wolk/common/v1/chain.js';
import { EMPTY, valueHash, type SmtProof } from '../smt/index.js';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export function smtProofToProto(key: Uint8Array, value: Uint8Array | null, root: Uint8Array, p: SmtProof): PbSmtProof {
  const bitmap = Buffer.alloc(32);
  const siblings: Buffer[] = [];
  p.siblings.forEach((s, d) => {
    if (!same(s, EMPTY)) {
      bitmap[d >> 3]! |= 0x80 >> (d & 7);
      siblings.push(Buffer.from(s));
    }
  });
  const out: PbSmtProof = { key: Buffer.from(key), value: value === null ? undefined : Buffer.from(value), bitmap, siblings, root: Buffer.from(root) };
  if (value === null && p.leaf !== null) {
    out.otherKey = Buffer.from(p.leaf.key);
    out.otherValueHash = Buffer.from(p.leaf.valueHash);
  }
  return out;
}

/** The proto proof as lib/smt's (leaf value hash as lib/smt defines it). Null when malformed. */
export function smtProofFromProto(p: PbSmtProof): SmtProof | null {
  if (p.bitmap.length !== 32 || p.key.length !== 32) return null;
  let depth = 0;
  for (let d = 0; d < 256; d++) if (p.bitmap[d >> 3]! & (0x80 >> (d & 7))) depth = d + 1;
  const siblings: Uint8Array[] = [];
  let next = 0;
  for (let d = 0; d < depth; d++) {
    if (p.bitmap[d >> 3]! & (0x80 >> (d & 7))) {
      const s = p.siblings[next++];
      if (!s || s.length !== 32) return null;
      siblings.push(new Uint8Array(s));
    } else siblings.push(EMPTY);
  }
  if (next !== p.siblings.length) return null;
  if (p.value !== undefined) {
    if (p.otherKey !== undefined || p.otherValueHash !== undefined) return null;
    return { siblings, leaf: { key: new Uint8Array(p.key), valueHash: valueHash(new Uint8Array(p.value)) } };
  }
  if (p.otherKey === undefined && p.otherValueHash === undefined) return { siblings, leaf: null };
  if (p.otherKey?.length !== 32 || p.otherValueHash?.length !== 32 || same(p.otherKey, p.key)) return null;
  return { siblings, leaf: { key: new Uint8Array(p.otherKey), valueHash: new Uint8Array(p.otherValueHash) } };
}
