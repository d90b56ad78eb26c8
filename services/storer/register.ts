// A storer that the genesis does not list joins the network by registering itself on chain: with
// WOLK_GENESIS and WOLK_CONSENSUS set and no node record for its key yet, it submits a RegisterNode
// (its VRF key, its advertised endpoint, WOLK_STAKE locked from its balance, the storer role) signed
// with its node key, and waits until the record is final. A record whose endpoint differs from the
// advertised one is moved with an UpdateNode; one without the storer role gets it. From the first
// round after that block, the chain's storer registry weighs it (lib/chain/storer-registry.ts).
// A refusal (a verdict, lib/grpc/errors.ts isVerdict: e.g. the stake exceeds the balance) is logged once with the
// chain's reason; nothing retries it. An outage moves on to the next consensus node, then polls again.
import { credentials } from '@grpc/grpc-js';
import { NodeRole, type NodeRecord } from '../../gen/wolk/common/v1/node.js';
import type { Transaction } from '../../gen/wolk/common/v1/tx.js';
import { ConsensusServiceClient, type GetAccountResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { signTransaction } from '../../lib/client/tx.js';
import { ClientPool, failover, toRpcError, unaryCall } from '../../lib/grpc/client.js';
import { isVerdict } from '../../lib/grpc/errors.js';
import { sleep } from '../../lib/grpc/retry.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import type { Logger } from '../../lib/log/logger.js';
import { toEndpoints, type EndpointsLike } from '../../lib/net/endpoints.js';
import { signerOf } from '../../lib/identity/node-key.js';

export interface SelfRegistration {
  readonly key: NodeKey;
  readonly chainId: string;
  /** HOST:PORT other nodes reach this storer at (WOLK_ADVERTISE or the listen address). */
  readonly endpoint: () => string;
  readonly stake: bigint;
  /** Read at each call (an EndpointSet follows DNS with WOLK_CONSENSUS_SRV). */
  readonly consensus: EndpointsLike;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly pollMs?: number;
}

export type RegistrationOutcome = 'registered' | 'refused' | 'stopped';

const TIMEOUT_MS = 5000;

/** Registers (or updates) this storer's node record; resolves once the chain holds it as wanted. */
export async function registerSelf(o: SelfRegistration): Promise<RegistrationOutcome> {
  const consensus = toEndpoints(o.consensus);
  const clients = new ClientPool((e) => new ConsensusServiceClient(e, credentials.createInsecure()));
  const pollMs = o.pollMs ?? 1000;
  // Each consensus node in turn until one answers; a verdict is thrown at once.
  const any = async <T>(f: (c: ConsensusServiceClient, endpoint: string) => Promise<T>): Promise<T> =>
    (await failover(consensus.current(), (endpoint) => f(clients.get(endpoint), endpoint), { signal: o.signal, whenEmpty: () => consensus.emptyReason() })).value;
  let submittedAt = 0;
  let submittedNonce = -1n;
  try {
    while (!o.signal.aborted) {
      let account: GetAccountResponse['account'];
      try {
        account = (await any((c, endpoint) => unaryCall(c.getAccount.bind(c), { publicKey: Buffer.from(o.key.signPublicKey) }, { endpoint, timeoutMs: TIMEOUT_MS, signal: o.signal }))).account;
      } catch (err) {
        o.logger.debug('registration: consensus not reachable yet', { error: (err as Error).message });
        await sleep(pollMs, o.signal);
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
        const stx = signTransaction(tx, signerOf(o.key));
        try {
          await any((c, endpoint) => unaryCall(c.submitTx.bind(c), { tx: stx }, { endpoint, timeoutMs: TIMEOUT_MS, signal: o.signal }));
          submittedAt = Date.now();
          submittedNonce = nonce;
          o.logger.info(node === undefined ? 'registration submitted (RegisterNode)' : 'registration update submitted (UpdateNode)', { endpoint, stake: o.stake.toString(), nonce: nonce.toString() });
        } catch (err) {
          if (isVerdict(err)) {
            o.logger.error('the chain refused this storer\'s registration: it is not a storer until that is fixed', { reason: toRpcError(err).details });
            return 'refused';
          }
          o.logger.debug('registration: submit failed, trying again', { error: (err as Error).message });
        }
      }
      await sleep(pollMs, o.signal);
    }
    return 'stopped';
  } finally {
    clients.close();
  }
}
