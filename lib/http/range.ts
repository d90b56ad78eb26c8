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
  const start = Number(m[1]);
  if (!Number.isSafeInteger(start)) return { kind: 'unsatisfiable' };
  if (start >= size) return { kind: 'unsatisfiable' };
  let end = m[2] === '' ? size - 1 : Number(m[2]);
  if (!Number.isSafeInteger(end) || end < start) return m[2] !== '' && end < start ? { kind: 'none' } : { kind: 'unsatisfiable' };
  end = Math.min(end, size - 1);
  return { kind: 'range', start, end };
}

export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}
