// `npm run bench -- crypto`: the crypto core's figures (issue: Crypto core), each beside its baseline.
import type { BenchContext } from './harness.js';
import { benchMerkle } from './crypto/merkle.js';
import { benchSignatures } from './crypto/vrf.js';
import { benchSmt } from './crypto/smt.js';

export async function run(ctx: BenchContext): Promise<void> {
  await benchMerkle(ctx);
  await benchSignatures(ctx);
  await benchSmt(ctx);
}
