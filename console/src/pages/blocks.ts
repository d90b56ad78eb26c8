// Blocks and transactions: one block's header, certificate (voters, weights, threshold), transactions
// and chunk commitments; search by round, block hash or transaction id. Live (server-sent events, as the
// network page): #/blocks follows the chain and shows each newest block as it is finalized; a given
// block stays (it is final) under a list of the blocks finalized since the page was opened.
import { getJson, type BlockView } from '../api.js';
import { followBlocks, type LatestBlock } from '../live.js';
import { ago, badge, card, dl, empty, errorBox, h, hexId, num, table } from '../ui.js';

/** Blocks listed as "finalized since" on a given block's page. */
const NEWER_SHOWN = 8;

export async function blocksPage(root: HTMLElement, args: string[], _q: URLSearchParams, signal: AbortSignal): Promise<void> {
  root.append(h('h1', {}, 'Blocks and transactions'));
  const form = h(
    'form',
    { class: 'inline-form' },
    h('label', { for: 'block-q' }, 'Round, block hash or transaction id'),
    h('input', { id: 'block-q', name: 'q', type: 'text', autocomplete: 'off', spellcheck: 'false', value: args[0] === 'search' ? (args[1] ?? '') : (args[0] ?? '') }),
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = (form.querySelector('input') as HTMLInputElement).value.trim();
    if (v) location.hash = `#/blocks/search/${encodeURIComponent(v)}`;
  });
  root.append(form);
  const out = h('div', {});
  root.append(out);

  let target = args[0];
  let highlight: string | undefined;
  if (target === 'search') {
    const q = args[1] ?? '';
    try {
      const r = await getJson<{ kind: 'block' | 'tx'; round: string; txid?: string }>(`/console/api/search?q=${encodeURIComponent(q)}`, signal);
      target = r.round;
      highlight = r.txid;
      if (r.kind === 'tx') out.append(h('p', { class: 'note', role: 'status' }, `Transaction found in round ${num(r.round)}.`));
    } catch (err) {
      out.append(errorBox(`Nothing found for "${q}":`, err));
      return;
    }
  }
  if (!target) return followTip(out, signal);
  let b: BlockView;
  try {
    b = await getJson<BlockView>(`/console/api/blocks/${encodeURIComponent(target)}`, signal);
  } catch (err) {
    out.append(errorBox(`Block ${target}:`, err));
    return;
  }
  out.append(...blockView(b, highlight));
  // The block is final and does not change; what is new is listed above it as it comes.
  const shown = BigInt(b.round);
  const newer: LatestBlock[] = [];
  const list = h('div', {});
  const drawNewer = () =>
    list.replaceChildren(
      newer.length === 0
        ? empty('No block finalized since this page was opened.')
        : table(
            'Blocks finalized since',
            ['Round', 'Block', 'Transactions', 'Finalized'],
            newer.map((n) => [h('a', { href: `#/blocks/${n.round}` }, num(n.round)), hexId(n.hash, { label: 'block hash' }), n.txs, ago(n.timestampMs)]),
          ),
    );
  drawNewer();
  const refresh = async (latest: LatestBlock | undefined) => {
    if (!latest || BigInt(latest.round) <= shown || newer.some((n) => n.round === latest.round)) return;
    newer.unshift(latest);
    if (newer.length > NEWER_SHOWN) newer.pop();
    drawNewer();
  };
  out.before(followBlocks({ refresh, asOf: () => `round ${num(b.round)}`, signal }));
  out.append(card('Newer blocks', h('p', { class: 'muted' }, 'Blocks finalized since this page was opened, newest first, as they come.'), list));
}

/** #/blocks: the newest finalized block, replaced by the next one as it is finalized. */
async function followTip(out: HTMLElement, signal: AbortSignal): Promise<void> {
  const tipRound = async () => (await getJson<{ tip: { round: string } }>('/console/api/network', signal)).tip.round;
  let round: string;
  try {
    round = await tipRound();
  } catch {
    return void out.append(empty('Enter a round, a block hash or a transaction id above.'));
  }
  const body = h('div', {});
  out.append(h('p', { class: 'muted' }, 'Following the chain: the newest finalized block, replaced by the next as it comes. Open a round to keep it on screen.'), body);
  const show = async (r: string) => body.replaceChildren(...blockView(await getJson<BlockView>(`/console/api/blocks/${encodeURIComponent(r)}`, signal), undefined));
  try {
    await show(round);
  } catch (err) {
    return void out.append(errorBox(`Block ${round}:`, err));
  }
  const refresh = async (latest: LatestBlock | undefined) => {
    const next = latest?.round ?? (await tipRound());
    if (BigInt(next) <= BigInt(round)) return;
    await show(next);
    round = next;
  };
  out.before(followBlocks({ refresh, asOf: () => `round ${num(round)}`, signal }));
}

function blockView(b: BlockView, highlight: string | undefined): HTMLElement[] {
  const round = BigInt(b.round);
  const navRow = h(
    'p',
    { class: 'pager' },
    round > 1n ? h('a', { href: `#/blocks/${round - 1n}` }, `← round ${num(String(round - 1n))}`) : null,
    h('span', { 'data-testid': 'block-round' }, `Round ${num(b.round)}`),
    h('a', { href: `#/blocks/${round + 1n}` }, `round ${num(String(round + 1n))} →`),
  );
  const hd = b.header;
  const header = card(
    'Header',
    dl([
      ['Block hash', hexId(b.hash, { label: 'block hash' })],
      ['Previous block', hexId(hd.previousHash, { label: 'previous hash', href: `#/blocks/${round - 1n}` })],
      ['Time', new Date(hd.timestampMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')],
      ['Proposer', hexId(hd.proposer, { label: 'proposer id' })],
      ['State root', hexId(hd.stateRoot, { label: 'state root' })],
      ['Transactions root', hexId(hd.txRoot, { label: 'tx root' })],
      ['New chunks hash', hexId(hd.newChunksHash, { label: 'new chunks hash' })],
      ['Chunk commitments hash', hexId(hd.chunkCommitmentsHash, { label: 'chunk commitments hash' })],
      ['Seed', hexId(hd.seed, { label: 'seed' })],
    ]),
  );
  const c = b.certificate;
  const reached = c.threshold === null ? badge('threshold unknown (no genesis)', 'muted') : c.weight >= c.threshold ? badge(`weight ${c.weight} ≥ threshold ${c.threshold}`, 'ok') : badge(`weight ${c.weight} < threshold ${c.threshold}`, 'bad');
  const cert = card(
    'Certificate',
    h('p', {}, `Round ${num(c.round)}, period ${c.period}: ${c.votes.length} cert votes, total weight ${c.weight}. `, reached),
    table('Cert votes', ['Voter', 'Step', 'Weight'], c.votes.map((v) => [hexId(v.voter, { label: 'voter id' }), v.step === 2 ? 'cert' : String(v.step), v.weight]), { empty: 'This block has no certificate votes.' }),
    c.equivocations ? h('p', { class: 'warn' }, `${c.equivocations} equivocation pair(s) recorded.`) : null,
  );
  const txs = card(
    `Transactions (${b.txs.length})`,
    table(
      'Transactions',
      ['Id', 'Kind', 'What', 'Sender', 'Nonce'],
      b.txs.map((t) => [h('span', { class: t.id === highlight ? 'hit' : '', 'data-txid': t.id }, hexId(t.id, { label: 'transaction id' })), t.kind, t.what, hexId(t.sender, { label: 'sender' }), t.nonce]),
      { empty: 'No transactions in this block.' },
    ),
  );
  const ch = b.chunks;
  const chunks = card(
    'Chunk commitments',
    h('p', { class: 'muted' }, `${ch.chunkIds} block chunk(s); ${ch.files.length} new file(s) with their storers' commitments.`),
    table(
      'New files',
      ['File hash', 'Size', 'Storers (replica roots)'],
      ch.files.map((f) => [hexId(f.filehash, { label: 'file hash' }), num(f.size), h('ul', { class: 'plain' }, f.storers.map((s) => h('li', {}, hexId(s.storer, { label: 'storer id' }), ' → ', hexId(s.replicaRoot, { label: 'replica root' }))))]),
      { empty: 'No new files in this block.' },
    ),
    ch.chunkCommitments.length ? table('Block chunk commitments', ['Storer', 'Replica root', 'Weight'], ch.chunkCommitments.map((s) => [hexId(s.storer, { label: 'storer id' }), hexId(s.replicaRoot, { label: 'replica root' }), s.weight])) : null,
    // Chunk sets of earlier blocks that this block's Repairs restored (docs/repair.md §9).
    ch.repairedChunkSets.length
      ? table('Restored chunk sets', ['Block', 'Chunks', 'New storers (replica roots)'], ch.repairedChunkSets.map((r) => [num(r.round), num(r.chunkIds), h('ul', { class: 'plain' }, r.storers.map((s) => h('li', {}, hexId(s.storer, { label: 'storer id' }), ' → ', hexId(s.replicaRoot, { label: 'replica root' }))))]))
      : null,
  );
  return [navRow, header, cert, txs, chunks];
}
