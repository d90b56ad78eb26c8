// Blocks and transactions: one block's header, certificate (voters, weights, threshold), transactions
// and chunk commitments; search by round, block hash or transaction id.
import { getJson, type BlockView } from '../api.js';
import { badge, card, dl, empty, errorBox, h, hexId, num, table } from '../ui.js';

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
  if (!target) {
    const tip = await getJson<{ tip: { round: string } }>('/console/api/network', signal).catch(() => undefined);
    if (!tip) return void out.append(empty('Enter a round, a block hash or a transaction id above.'));
    target = tip.tip.round;
  }
  let b: BlockView;
  try {
    b = await getJson<BlockView>(`/console/api/blocks/${encodeURIComponent(target)}`, signal);
  } catch (err) {
    out.append(errorBox(`Block ${target}:`, err));
    return;
  }
  out.append(...blockView(b, highlight));
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
  );
  return [navRow, header, cert, txs, chunks];
}
