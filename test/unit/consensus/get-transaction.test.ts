// GetTransaction on a real in-process consensus node (a one-node chain), through the generated client:
// a transaction is pending or included (round, position) once submitted, one refused at SubmitTx is
// rejected with the reason and the cause (its nonce spent), an id the node never saw is NOT_FOUND.
import test from 'ava';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ConsensusServiceClient, RejectionCause, type GetStatusResponse, type GetTransactionResponse, type SubmitTxResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { txId } from '../../../lib/chain/tx-bytes.js';
import { keyFromSeed } from '../../../lib/client/keys.js';
import { setNameTransaction, signTransaction } from '../../../lib/client/tx.js';
import { createConsensusNode } from '../../../services/consensus/node.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { startInProcess } from '../../helpers/service.js';

const seeded = testRandom('unit/consensus/get-transaction.test.ts');
logSeedOnFailure(test);

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;
function call<Req, Res>(method: Unary<Req, Res>, req: Req): Promise<{ err: ServiceError | null; res: Res | undefined }> {
  return new Promise((resolve) => method(req, new Metadata(), { deadline: Date.now() + 20_000 }, (err, res) => resolve({ err, res })));
}

test('GetTransaction: pending or included, rejected with reason and cause, NOT_FOUND when unknown', async (t) => {
  t.timeout(90_000);
  const node = await startInProcess('consensus', createConsensusNode);
  const client = new ConsensusServiceClient(node.endpoints['grpc']!, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await node.close();
  });
  const getTx = client.getTransaction.bind(client) as Unary<{ txId: Buffer }, GetTransactionResponse>;
  const submit = client.submitTx.bind(client) as Unary<{ tx: SignedTransaction }, SubmitTxResponse>;
  const chain = (await call(client.getStatus.bind(client) as Unary<object, GetStatusResponse>, {})).res!.chainId;

  const key = keyFromSeed(seeded.bytes(32));
  const name = `t${seeded.hex(4)}`;
  const first = signTransaction(setNameTransaction(name, key.publicKey, 0n, chain), key);
  const sent = await call(submit, { tx: first });
  t.is(sent.err, null, sent.err?.details);
  t.deepEqual(new Uint8Array(sent.res!.txId), txId(first));

  const now = await call(getTx, { txId: Buffer.from(txId(first)) });
  t.is(now.err, null, now.err?.details);
  t.true(now.res?.state?.$case === 'pending' || now.res?.state?.$case === 'included', `just submitted: ${now.res?.state?.$case}`);
  const included = await pollUntil(async () => (await call(getTx, { txId: Buffer.from(txId(first)) })).res, {
    what: 'the claim included in a block',
    deadlineMs: 60_000,
    until: (r) => r?.state?.$case === 'included',
    describe: (r) => JSON.stringify(r?.state?.$case),
  });
  const at = included!.state!.$case === 'included' ? included!.state!.value : undefined;
  t.true((at?.round ?? 0n) >= 1n);
  t.is(at?.index, 0, 'the only transaction of its block');
  t.true((included?.round ?? 0n) >= (at?.round ?? 0n));

  // The same nonce again, in another transaction: refused at SubmitTx, then remembered.
  const again = signTransaction(setNameTransaction(`${name}b`, key.publicKey, 0n, chain), key);
  const refused = await call(submit, { tx: again });
  t.is(refused.err?.code, status.FAILED_PRECONDITION);
  const r = await call(getTx, { txId: Buffer.from(txId(again)) });
  t.is(r.err, null, r.err?.details);
  t.is(r.res?.state?.$case, 'rejected');
  const rej = r.res?.state?.$case === 'rejected' ? r.res.state.value : undefined;
  t.is(rej?.cause, RejectionCause.REJECTION_CAUSE_NONCE_USED);
  t.regex(rej?.reason ?? '', /nonce 0 was already used/);

  const unknown = await call(getTx, { txId: Buffer.from(seeded.bytes(32)) });
  t.is(unknown.err?.code, status.NOT_FOUND);
  t.regex(unknown.err?.details ?? '', /is unknown to this node/);
  const short = await call(getTx, { txId: Buffer.alloc(5) });
  t.is(short.err?.code, status.INVALID_ARGUMENT);
});
