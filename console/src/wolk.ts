// Everything the console takes from lib/: proof verification (the same functions `wolk proof` runs),
// transaction and request signing (the same as `wolk put` / `wolk claim`), hashing a file into its
// filehash, resumable (tus) uploads (the same protocol code as `wolk put`), and the wolk:// path rules. Bundled for the browser by console/build.mjs.
export { verifyProofJson, type ProofReport } from '../../lib/client/client.js';
export { signWolkRequest } from '../../lib/client/signing.js';
export { offersTus, RESUMABLE_MIN_BYTES, uploadTus, type TusResult, type TusSaved, type TusStore, type TusTransport } from '../../lib/client/tus.js';
export { setKeyTransaction, setNameTransaction, signTransaction } from '../../lib/client/tx.js';
export { gatewayPath, parseWolkUri } from '../../lib/client/uri.js';
export { keyFromSeed } from '../../lib/client/keys.js';
export { validateGenesis, type Genesis } from '../../lib/chain/genesis.js';
export { FileHasher } from '../../lib/merkle/file.js';
export { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
export { GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
export { sha256 } from '../../lib/crypto/hash.js';
export { COLLECTION_RE, NAME_RE } from '../../lib/chain/state-keys.js';
