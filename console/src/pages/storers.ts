// Storers: stake, reputation (now, and after each audit since the console started watching), balance,
// audits passed and failed, files held, and whether the storer answers right now; read again as blocks
// are finalized (at most every 3 s).
import { getJson, type StorersView } from '../api.js';
import { followBlocks } from '../live.js';
import { badge, card, h, hexId, lineChart, num, percent, table, bytes } from '../ui.js';

export async function storersPage(root: HTMLElement, _args: string[], _q: URLSearchParams, signal: AbortSignal): Promise<void> {
  root.append(h('h1', {}, 'Storers'));
  const body = h('div', {}, h('p', { class: 'loading' }, 'Asking the indexer and every storer…'));
  root.append(body);
  // A failed first read is the page's error (main.ts shows it); a failed later one keeps the table and
  // says so in the live line.
  const refresh = async () => body.replaceChildren(...view(await getJson<StorersView>('/console/api/storers', signal)));
  try {
    await refresh();
  } catch (err) {
    body.remove();
    throw err;
  }
  const asOf = () => body.querySelector('[data-watched-to]')?.getAttribute('data-watched-to') ?? undefined;
  // Every storer is asked GetInfo on each read: at most one read every 3 s however fast blocks come.
  body.before(followBlocks({ refresh, asOf, signal, minIntervalMs: 3000 }));
}

function view(v: StorersView): HTMLElement[] {
  const live = v.storers.filter((s) => s.live).length;
  return [
    h('p', { class: 'muted', 'data-watched-to': `round ${num(v.watchedTo)}` }, `${v.storers.length} storers registered, ${live} answering now. Audits and files are counted from the blocks of rounds ${num(v.watchedFrom)}–${num(v.watchedTo)}${v.historyFromGenesis ? ' (the whole chain)' : ''}; stake, balance and reputation are the indexer's as of its last block.`),
    card(
      'Registered storers',
      table(
        'Storers',
        ['Storer', 'Live', 'Stake', 'Balance', 'Reputation', 'Reputation over time', 'Audits passed / failed', 'Files', 'Stored'],
        v.storers.map((s) => [
          h('span', { 'data-storer': s.id }, hexId(s.id, { label: 'storer id' }), h('br', {}), h('small', { class: 'mono muted' }, s.endpoint)),
          s.live ? badge('live', 'ok') : badge('not answering', 'bad'),
          num(s.stake),
          num(s.balance),
          percent(s.reputationPpm),
          h('span', { 'data-reputation-of': s.id }, lineChart(`Reputation of ${s.id.slice(0, 8)}`, s.reputation.map((p) => ({ x: Number(p.round), y: p.ppm })))),
          h('span', { 'data-audit-totals': `${s.audits.valid}/${s.audits.invalid}/${s.audits.unreachable}`, 'data-of': s.id }, h('span', { class: 'pass' }, num(s.audits.valid)), ' / ', h('span', { class: s.audits.invalid + s.audits.unreachable > 0 ? 'fail' : '' }, num(s.audits.invalid + s.audits.unreachable)), s.audits.unreachable ? h('small', { class: 'muted' }, ` (${s.audits.unreachable} unreachable)`) : null),
          h('span', { 'data-files': s.id }, num(s.filesCommitted)),
          s.stored ? `${num(s.stored.files)} files, ${bytes(s.stored.bytesUsed)}` : '—',
        ]),
        { empty: 'The indexer knows no storer yet.' },
      ),
    ),
  ];
}
