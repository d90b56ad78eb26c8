// Of the GetStatus answers of several consensus nodes, asked at once, the most advanced one (highest
// finalized round). A node that fell behind (restarted, partitioned, slow under load) would hand out
// an old tip: an old seed round for an upload, a late start for an audit.

/** The answer with the highest finalized_round and its index, or undefined when none was fulfilled. */
export function mostAdvanced<T extends { readonly finalizedRound: bigint }>(answers: readonly PromiseSettledResult<T>[]): { index: number; status: T } | undefined {
  let best: { index: number; status: T } | undefined;
  answers.forEach((a, index) => {
    if (a.status === 'fulfilled' && (!best || a.value.finalizedRound > best.status.finalizedRound)) best = { index, status: a.value };
  });
  return best;
}
