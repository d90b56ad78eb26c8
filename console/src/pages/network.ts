// Network: the tip, round times over the last rounds, finalized tx/s, the mempool, and every validator
// with its own status and its cert votes; refreshed on every finalized block (server-sent events).
import { getJson, type NetworkView } from '../api.js';
import { followBlocks } from '../live.js';
import { ago, badge, barChart, card, empty, h, hexId, num, table } from '../ui.js';

export async function networkPage(root: HTMLElement, _args: string[], _q: URLSearchParams, signal: AbortSignal): Promise<void> {
  root.append(h('h1', {}, 'Network'));
  const body = h('div', { class: 'network' }, h('p', { class: 'loading' }, 'Loading the chain…'));
  root.append(body);
  // A failed first read is the page's error (main.ts shows it); a failed later one keeps the figures
  // and says so in the live line.
  const refresh = async () => body.replaceChildren(...view(await getJson<NetworkView>('/console/api/network', signal)));
  try {
    await refresh();
  } catch (err) {
    body.remove();
    throw err;
  }
  const asOf = () => {
    const round = body.querySelector('[data-testid=tip-round]')?.textContent;
    return round ? `round ${round}` : undefined;
  };
  body.before(followBlocks({ refresh, asOf, signal }));
}

function view(n: NetworkView): HTMLElement[] {
  const last = n.rounds.at(-1);
  const times = n.rounds.filter((r) => r.roundMs !== null).map((r) => r.roundMs!);
  const median = times.length ? [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]! : null;
  const stats = h(
    'div',
    { class: 'stats' },
    stat('Finalized round', h('a', { href: `#/blocks/${n.tip.round}`, 'data-testid': 'tip-round' }, num(n.tip.round))),
    stat('Tip block', hexId(n.tip.hash, { label: 'block hash', href: `#/blocks/${n.tip.hash}` })),
    stat('Median round time', median === null ? '—' : `${num(median)} ms`),
    stat('Finalized tx/s', `${n.txPerSecond.toFixed(2)}`, `over the last ${n.windowRounds} rounds`),
    stat('Mempool', num(n.mempool), 'transactions waiting (largest of the nodes)'),
    stat('Chain', h('span', { class: 'mono' }, n.chainId), last ? `last block ${ago(last.timestampMs)}` : undefined),
  );
  const chart = card(
    'Round time',
    barChart(
      `Time between finalized blocks, rounds ${n.rounds[1]?.round ?? '–'} to ${last?.round ?? '–'}`,
      n.rounds.filter((r) => r.roundMs !== null).map((r) => ({ x: `round ${r.round}`, y: r.roundMs!, label: `round ${r.round}: ${r.roundMs} ms, ${r.txs} tx` })),
      { unit: 'ms' },
    ),
  );
  const validators = card(
    'Validators',
    h('p', { class: 'muted' }, `Each consensus node's own status, and its cert votes in the certificates of the last ${n.voteWindow} blocks.`),
    table(
      'Validators',
      ['Node', 'Status', 'Stake', 'Round · period', 'Cert votes', 'Mempool', 'Peers'],
      n.validators.map((v) => [
        v.id ? hexId(v.id, { label: 'node id' }) : h('span', { class: 'mono' }, v.endpoint),
        v.live ? badge('live', 'ok') : h('span', {}, badge('down', 'bad'), ' ', h('small', {}, v.error ?? '')),
        v.stake ?? '—',
        v.live ? `${num(v.currentRound ?? '0')} · ${v.currentPeriod}` : '—',
        v.votes ? `${v.votes.inWindow} of ${n.voteWindow}${v.votes.lastRound ? ` (last ${v.votes.lastRound})` : ''}` : '—',
        v.live ? num(v.mempool ?? 0) : '—',
        v.live ? `${v.peersConnected}/${v.peers}` : '—',
      ]),
      { empty: 'This gateway knows no consensus node.' },
    ),
  );
  const recent = card(
    'Latest blocks',
    n.rounds.length === 0
      ? empty('No finalized block yet.')
      : table(
          'Latest blocks',
          ['Round', 'Block', 'Transactions', 'Cert voters', 'Round time'],
          [...n.rounds].reverse().slice(0, 8).map((r) => [h('a', { href: `#/blocks/${r.round}` }, num(r.round)), hexId(r.hash, { label: 'block hash' }), r.txs, r.voters, r.roundMs === null ? '—' : `${num(r.roundMs)} ms`]),
        ),
  );
  return [stats, chart, validators, recent];
}

function stat(label: string, value: Node | string, note?: string): HTMLElement {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), note ? h('div', { class: 'stat-note' }, note) : null);
}
