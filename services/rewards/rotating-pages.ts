// Reading a long per-storer listing a window at a time (the repairer's ListStorerKeys and
// ListStorerChunkSets, docs/repair.md §2, §9). A storer that is no longer live stays named in every
// chunk set it leaves with N or more live commitments, so its listing grows with the blocks of its life
// and never shrinks: reading only its first pages on every scan would never reach the sets after them.
// Each read returns up to `maxPages` pages starting where the previous read of the same listing stopped,
// and starts over after the last page, so every entry is seen within ⌈pages / maxPages⌉ scans.
export interface Page<T> {
  readonly items: readonly T[];
  /** The token of the next page; empty after the last. */
  readonly next: string;
}

export function rotatingPager<T>(maxPages: number, page: (listing: string, token: string, signal?: AbortSignal) => Promise<Page<T>>): (listing: string, signal?: AbortSignal) => Promise<T[]> {
  if (!Number.isInteger(maxPages) || maxPages < 1) throw new RangeError(`rotatingPager: maxPages must be a positive integer, got ${maxPages}`);
  /** Where the next read of each listing starts (absent or empty: the first page). */
  const cursor = new Map<string, string>();
  return async (listing, signal) => {
    let token = cursor.get(listing) ?? '';
    const out: T[] = [];
    for (let n = 0; n < maxPages; n++) {
      const r = await page(listing, token, signal);
      out.push(...r.items);
      token = r.next;
      if (token === '') break;
    }
    // A read that failed part-way throws before this: the next one starts where this one did.
    if (token === '') cursor.delete(listing);
    else cursor.set(listing, token);
    return out;
  };
}
