// Range requests (RFC 9110 §14): one byte range per request, enough for a player to seek. Multiple
// ranges (multipart/byteranges) are not served: we answer the whole representation instead, which
// §14.2 allows ("a server MAY ignore the Range header field").

export type RangeResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'range'; readonly start: number; readonly end: number } // inclusive end
  | { readonly kind: 'unsatisfiable' };

/** Parses a Range header for a representation of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // Syntactically invalid or multi-range: ignored (§14.2).
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'none' };
  if (m[1] === '') {
    // suffix-range: the last N bytes (§14.1.1)
    const n = Number(m[2]);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  // Positions are compared as BigInt: a client may send more digits than a double holds exactly.
  const first = BigInt(m[1]!);
  const last = m[2] === '' ? null : BigInt(m[2]!);
  // last-pos < first-pos: not a valid range-spec, so the field is ignored (§14.1.1, §14.2), even when
  // first-pos is past the end (an invalid range is never "unsatisfiable": found by test/unit/fuzz).
  if (last !== null && last < first) return { kind: 'none' };
  if (first >= BigInt(size)) return { kind: 'unsatisfiable' };
  const start = Number(first);
  if (last === null) return { kind: 'range', start, end: size - 1 };
  // A last-pos at or beyond the end means "to the end" (§14.1.1): clipped, never refused.
  return { kind: 'range', start, end: last >= BigInt(size) ? size - 1 : Number(last) };
}

export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}
