// A storer that the genesis does not list joins the network by registering itself on chain: with
// WOLK_GENESIS and WOLK_CONSENSUS set and no node record for its key yet, it submits a RegisterNode
// (its VRF key, its advertised endpoint, WOLK_STAKE locked from its balance, the storer role) signed
// with its node key, and waits until the record is final. A record whose endpoint differs from the
// advertised one is moved with an UpdateNode; one without the storer role gets it. From the first
// round after that block, the chain's storer registry weighs it (lib/chain/storer-registry.ts).
// A refusal (e.g. the stake exceeds the balance) is logged once with the chain's reason; nothing retries it.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { NodeRole, type NodeRecord } from '../../gen/wolk/common/v1/node.js';
import type { Transaction } from '../../gen/wolk/common/v1/tx.js';
import { ConsensusServiceClient, type GetAccountResponse, type SubmitTxResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { signTransaction } from '../../lib/client/tx.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import type { Logger } from '../../lib/log/logger.js';

export interface SelfRegistration {
  readonly key: NodeKey;
  readonly chainId: string;
  /** HOST:PORT other nodes reach this storer at (WOLK_ADVERTISE or the listen address). */
  readonly endpoint: () => string;
  readonly stake: bigint;
  readonly consensus: readonly string[];
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly pollMs?: number;
}

export type RegistrationOutcome = 'registered' | 'refused' | 'stopped';

const CODE_INVALID_ARGUMENT = 3;
const CODE_FAILED_PRECONDITION = 9;

function unary<T>(f: (md: Metadata, o: { deadline: number }, cb: (err: ServiceError | null, res: T) => void) => unknown, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => f(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))));
}

/** Registers (or updates) this storer's node record; resolves once the chain holds it as wanted. */
export async function registerSelf(o: SelfRegistration): Promise<RegistrationOutcome> {
  const clients = o.consensus.map((e) => new ConsensusServiceClient(e, credentials.createInsecure()));
  const pollMs = o.pollMs ?? 1000;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      o.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  // Each consensus node in turn until one answers.
  async function any<T>(f: (c: ConsensusServiceClient) => Promise<T>): Promise<T> {
    let last: unknown = new Error('no consensus endpoint');
    for (const c of clients) {
      try {
        return await f(c);
      } catch (err) {
        last = err;
        const code = (err as ServiceError).code;
        if (code === CODE_FAILED_PRECONDITION || code === CODE_INVALID_ARGUMENT) throw err; // a verdict, not an outage
      }
    }
    throw last;
  }
  let submittedAt = 0;
  let submittedNonce = -1n;
  try {
    while (!o.signal.aborted) {
      let account: GetAccountResponse['account'];
      try {
        account = (await any((c) => unary<GetAccountResponse>((md, opt, cb) => c.getAccount({ publicKey: Buffer.from(o.key.signPublicKey) }, md, opt, cb)))).account;
      } catch (err) {
        o.logger.debug('registration: consensus not reachable yet', { error: (err as Error).message });
        await sleep(pollMs);
        continue;
      }
      const node: NodeRecord | undefined = account?.node;
      const endpoint = o.endpoint();
      const wanted = node !== undefined && node.roles.includes(NodeRole.NODE_ROLE_STORER) && node.endpoint === endpoint;
      if (wanted) {
        if (submittedAt > 0) o.logger.info('registered on chain as a storer', { endpoint, stake: node!.stake.toString() });
        return 'registered';
      }
      const nonce = account?.nonce ?? 0n;
      // Submit once per nonce; again if nothing changed for a while (the transaction may have been dropped).
      if (nonce !== submittedNonce || Date.now() - submittedAt > 30_000) {
        const body: Transaction['body'] =
          node === undefined
            ? { $case: 'registerNode', value: { vrfPublicKey: Buffer.from(o.key.vrfPublicKey), endpoint, stake: o.stake, roles: [NodeRole.NODE_ROLE_STORER] } }
            : {
                $case: 'updateNode',
                value: {
                  endpoint,
                  roles: { roles: [...new Set([...node.roles, NodeRole.NODE_ROLE_STORER])].sort((a, b) => a - b) },
                },
              };
        const tx: Transaction = { sender: Buffer.from(o.key.signPublicKey), nonce, fee: 0n, chainId: o.chainId, body };
        const stx = signTransaction(tx, { publicKey: o.key.signPublicKey, secretKey: o.key.signSecretKey });
        try {
          await any((c) => unary<SubmitTxResponse>((md, opt, cb) => c.submitTx({ tx: stx }, md, opt, cb)));
          submittedAt = Date.now();
          submittedNonce = nonce;
          o.logger.info(node === undefined ? 'registration submitted (RegisterNode)' : 'registration update submitted (UpdateNode)', { endpoint, stake: o.stake.toString(), nonce: nonce.toString() });
        } catch (err) {
          const code = (err as ServiceError).code;
          if (code === CODE_FAILED_PRECONDITION || code === CODE_INVALID_ARGUMENT) {
            o.logger.error('the chain refused this storer\'s registration: it is not a storer until that is fixed', { reason: (err as ServiceError).details ?? (err as Error).message });
            return 'refused';
          }
          o.logger.debug('registration: submit failed, trying again', { error: (err as Error).message });
        }
      }
      await sleep(pollMs);
    }
    return 'stopped';
  } finally {
    for (const c of clients) c.close();
  }
}
