// Listing a collection's keys from consensus state until the indexer serves ListKeys: the finalized
// blocks are scanned (StreamBlocks, no follow) for SetKey transactions of the collection, the latest
// per key winning. Linear in the chain's length: fine for a devnet, the indexer's job beyond that.
import type { StreamBlocksResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { ChainError, type Chain } from './chain.js';
import type { Clients } from './rpc.js';

export interface ListedKey {
  readonly key: string;
  readonly filehash: string;
  readonly size: string;
  readonly contentType: string;
  readonly round: string;
}

export async function listKeys(chain: Chain, clients: Clients, owner: string, collection: string, timeoutMs = 15_000): Promise<ListedKey[]> {
  const endpoint = chain.endpoints[0]!;
  const client = clients.consensusNode(endpoint);
  const call = client.streamBlocks({ fromRound: 0n, follow: false }, { deadline: Date.now() + timeoutMs });
  const found = new Map<string, ListedKey>();
  try {
    for await (const msg of call as AsyncIterable<StreamBlocksResponse>) {
      const block = msg.block?.block;
      const round = block?.header?.round ?? 0n;
      for (const stx of block?.txs ?? []) {
        const body = stx.tx?.body;
        if (body?.$case !== 'setKey' || body.value.owner !== owner || body.value.collection !== collection) continue;
        const f = body.value.file;
        found.set(body.value.key, {
          key: body.value.key,
          filehash: Buffer.from(f?.filehash ?? []).toString('hex'),
          size: (f?.size ?? 0n).toString(),
          contentType: body.value.contentType,
          round: round.toString(),
        });
      }
    }
  } catch (err) {
    throw new ChainError('unavailable', `StreamBlocks from ${endpoint}: ${(err as Error).message}`);
  }
  return [...found.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
