// Files and keys: wolk://owner/collection/key → its record, its N storers with their commitments and
// latest audits, and Verify: the SMT proof and the certificate checked here, in the browser, by lib/'s
// own verifyProofJson (what `wolk proof` runs) against the network's genesis. Live (server-sent events,
// as the network page): the record, the storers' reputation and latest audits, and a collection's
// listing are read again as blocks are finalized (at most every 3 s: each read asks the indexer).
import { getJson, type FileView } from '../api.js';
import { followBlocks } from '../live.js';
import { loadGenesis, importGenesis, type PinnedGenesis } from '../genesis.js';
import { badge, card, dl, errorBox, h, hexId, num, percent, table, bytes, empty } from '../ui.js';
import { FileHasher, gatewayPath, verifyProofJson, type ProofReport } from '../wolk.js';

export async function filesPage(root: HTMLElement, _args: string[], query: URLSearchParams, signal: AbortSignal): Promise<void> {
  root.append(h('h1', {}, 'Files and keys'));
  const uri = query.get('uri') ?? '';
  const form = h(
    'form',
    { class: 'inline-form' },
    h('label', { for: 'file-uri' }, 'Key or collection'),
    h('input', { id: 'file-uri', name: 'uri', type: 'text', placeholder: 'wolk://owner/collection/key', value: uri, autocomplete: 'off', spellcheck: 'false' }),
    h('button', { type: 'submit' }, 'Look up'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = (form.querySelector('input') as HTMLInputElement).value.trim();
    location.hash = `#/files?uri=${encodeURIComponent(v)}`;
  });
  root.append(form);
  if (!uri) return void root.append(empty('Enter a wolk:// address: a key (wolk://alice/photos/cat.jpg) shows its storers and can be verified; a collection (wolk://alice/photos/) lists its keys.'));
  const m = /^wolk:\/\/([^/]+)\/([^/]+)\/(.*)$/.exec(uri.trim());
  if (!m) return void root.append(errorBox('Not a wolk:// address:', `expected wolk://OWNER/COLLECTION/KEY or wolk://OWNER/COLLECTION/, got "${uri}"`));
  const [, owner, collection, key] = m as unknown as [string, string, string, string];
  if (key === '') return listing(root, owner, collection, signal);
  let f: FileView;
  try {
    f = await getJson<FileView>(`/console/api/file?uri=${encodeURIComponent(uri.trim())}`, signal);
  } catch (err) {
    return void root.append(errorBox(`Could not look up ${uri}:`, err));
  }
  const verifyOut = h('div', { class: 'verify-out', role: 'status', 'aria-live': 'polite', 'data-testid': 'verify-result' });
  const verifyButton = h('button', { type: 'button', class: 'primary' }, 'Verify');
  // Verify checks the record as shown when it is clicked.
  verifyButton.addEventListener('click', () => void verify(f, verifyOut, verifyButton));
  const record = h('div', {}, recordView(f));
  const storers = h('div', {}, storersView(f));
  root.append(
    card(
      'Record',
      record,
      h('div', { class: 'verify' }, verifyButton, h('p', { class: 'muted' }, `Checks, in this browser, that the key's record is in the state of a certified block (the sparse-Merkle proof, the block hash and every cert vote against the network's genesis) and, up to ${bytes(BYTE_CHECK_LIMIT)}, that the bytes the gateway serves hash to the proven file hash.`), verifyOut),
    ),
    storers,
  );
  const refresh = async () => {
    const next = await getJson<FileView>(`/console/api/file?uri=${encodeURIComponent(uri.trim())}`, signal);
    f = next;
    record.replaceChildren(recordView(next));
    storers.replaceChildren(storersView(next));
  };
  root.querySelector('form')?.after(followBlocks({ refresh, asOf: () => `round ${num(f.asOfRound)}`, signal, minIntervalMs: 3000 }));
}

function recordView(f: FileView): HTMLElement {
  return dl([
    ['Address', h('span', { class: 'mono' }, f.uri)],
    ['File hash', hexId(f.filehash, { label: 'file hash' })],
    ['Size', `${bytes(f.size)} (${num(f.size)} bytes, chunks of ${num(f.chunkSize)})`],
    ['Content type', f.contentType || 'application/octet-stream'],
    ['Written in round', h('a', { href: `#/blocks/${f.round}` }, num(f.round))],
    ['Transaction', hexId(f.txid, { label: 'transaction id', href: `#/blocks/search/${f.txid}` })],
    ['As of round', h('span', { 'data-testid': 'file-as-of' }, num(f.asOfRound))],
  ]);
}

function storersView(f: FileView): HTMLElement {
  return card(
    `Storers (${f.storers.length})`,
    f.indexerError ? h('p', { class: 'warn' }, `The indexer did not answer (${f.indexerError}): endpoints and reputation are missing.`) : null,
    table(
      'Storers of this file',
      ['Storer', 'Endpoint', 'Reputation', 'Replica root (commitment)', 'Weight', 'Latest audits'],
      f.storers.map((s) => [
        hexId(s.id, { label: 'storer id', href: '#/storers' }),
        s.endpoint ? h('span', { class: 'mono' }, s.endpoint) : '—',
        s.reputationPpm === null ? '—' : percent(s.reputationPpm),
        hexId(s.replicaRoot, { label: 'replica root' }),
        s.weight,
        s.latestAudits.length === 0
          ? h('span', { class: 'muted', 'data-audits': s.id }, 'not audited yet')
          : h(
              'ul',
              { class: 'plain', 'data-audits': s.id },
              s.latestAudits.map((a) =>
                h(
                  'li',
                  { 'data-audited-round': a.auditedRound, 'data-reward-round': a.round, 'data-tally': `${a.valid}/${a.invalid}/${a.unreachable}` },
                  `round ${a.auditedRound}: `,
                  a.invalid + a.unreachable === 0 ? badge(`${a.valid} passed`, 'ok') : badge(`${a.valid} passed, ${a.invalid} invalid, ${a.unreachable} unreachable`, 'bad'),
                ),
              ),
            ),
      ]),
    ),
  );
}

async function listing(root: HTMLElement, owner: string, collection: string, signal: AbortSignal): Promise<void> {
  const box = h('div', {});
  root.append(box);
  let asOf: string | undefined;
  const read = async () => {
    const l = await getJson<{ keys: { key: string; filehash: string; size: number | string; round: string }[]; round: string }>(`${gatewayPath({ owner, collection })}?limit=200`, signal);
    asOf = l.round;
    box.replaceChildren(
      card(
        `wolk://${owner}/${collection}/`,
        h('p', { class: 'muted' }, `As of round ${num(l.round)}; the first ${l.keys.length} keys.`),
        table('Keys', ['Key', 'Size', 'File hash', 'Round'], l.keys.map((k) => [h('a', { href: `#/files?uri=${encodeURIComponent(`wolk://${owner}/${collection}/${k.key}`)}` }, k.key), bytes(k.size), hexId(k.filehash, { label: 'file hash' }), num(k.round)]), { empty: 'This collection has no keys.' }),
      ),
    );
  };
  try {
    await read();
  } catch (err) {
    return void box.replaceChildren(errorBox(`Could not list wolk://${owner}/${collection}/:`, err));
  }
  box.before(followBlocks({ refresh: read, asOf: () => (asOf ? `round ${num(asOf)}` : undefined), signal, minIntervalMs: 3000 }));
}

/** Verify also downloads and hashes the bytes of files up to this size; larger ones say they were not. */
const BYTE_CHECK_LIMIT = 32 * 1024 * 1024;

type BytesCheck = { checked: true; size: number } | { checked: false; why: string };

async function verify(f: FileView, out: HTMLElement, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  out.className = 'verify-out';
  out.replaceChildren(h('p', {}, 'Fetching the proof and checking it…'));
  try {
    if (f.key.split('/').some((s) => s === '.' || s === '..')) throw new Error('a key with "." or ".." segments cannot be fetched by a browser unchanged (it would resolve them); use `wolk proof`');
    let pinned: PinnedGenesis;
    try {
      pinned = await loadGenesis();
    } catch (err) {
      out.className = 'verify-out bad';
      out.replaceChildren(h('p', {}, h('strong', {}, 'Not checked: '), (err as Error).message), genesisImport(f, out, button));
      return;
    }
    const path = gatewayPath({ owner: f.owner, collection: f.collection, key: f.key });
    const res = await fetch(`${path}?proof`, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`the gateway answered ${res.status} for the proof`);
    const j = (await res.json()) as { proof: string; parentHeader?: string };
    const report = verifyProofJson(f.owner, f.collection, f.key, j.proof, { genesis: pinned.genesis, parentHeader: j.parentHeader });
    if (!report.verified) return show(out, report, pinned);
    // The record card shows the gateway's account of the key; it must be what was just proven.
    if (report.filehash !== f.filehash || String(report.size) !== f.size) {
      return refuse(out, `the record this page shows (file ${f.filehash.slice(0, 16)}…, ${num(f.size)} bytes) is not the proven one (file ${report.filehash.slice(0, 16)}…, ${num(report.size)} bytes): the gateway misreported the key`, pinned);
    }
    let bytesCheck: BytesCheck;
    if (report.size > BYTE_CHECK_LIMIT) bytesCheck = { checked: false, why: `the file is larger than ${bytes(BYTE_CHECK_LIMIT)}; \`wolk get\` checks the bytes of any size` };
    else {
      out.replaceChildren(h('p', {}, `The proof holds; downloading the ${bytes(report.size)} to hash them…`));
      const got = await hashDownload(path, report.size, f.chunkSize);
      if (got.filehash !== report.filehash) {
        return refuse(out, `the bytes the gateway served (${num(got.size)} bytes, file hash ${got.filehash.slice(0, 16)}…) do not hash to the proven file ${report.filehash.slice(0, 16)}…`, pinned);
      }
      bytesCheck = { checked: true, size: got.size };
    }
    show(out, report, pinned, bytesCheck);
  } catch (err) {
    out.className = 'verify-out bad';
    out.replaceChildren(h('p', {}, h('strong', {}, 'Not verified: '), (err as Error).message));
  } finally {
    button.disabled = false;
  }
}

/** The file's bytes as the gateway serves them, hashed as lib/merkle does; reads at most size + 1 bytes. */
async function hashDownload(path: string, size: number, chunkSize: number): Promise<{ filehash: string; size: number }> {
  const res = await fetch(path, { headers: { accept: '*/*' } });
  if (!res.ok || !res.body) throw new Error(`the gateway answered ${res.status} for the file's bytes`);
  const hasher = new FileHasher({ chunkSize });
  const reader = res.body.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    hasher.update(value);
    if (n > size) {
      await reader.cancel();
      break;
    }
  }
  const d = hasher.digest();
  return { filehash: Array.from(d.filehash, (b) => b.toString(16).padStart(2, '0')).join(''), size: n };
}

const genesisNote = (g: PinnedGenesis): string =>
  `genesis ${g.fingerprint.slice(0, 16)}… (${g.source === 'first-use' ? 'pinned in this browser now, on first use' : g.source === 'imported' ? 'imported by you' : 'pinned in this browser earlier'})${g.servedDiffers ? `; this gateway serves another genesis (${g.servedDiffers.slice(0, 16)}…), which was not used` : ''}`;

function refuse(out: HTMLElement, reason: string, g: PinnedGenesis): void {
  out.className = 'verify-out bad';
  out.replaceChildren(h('p', { class: 'verdict' }, '✘ Not verified'), h('p', {}, `${reason}.`), h('p', { class: 'muted' }, `Checked against ${genesisNote(g)}.`));
}

function show(out: HTMLElement, r: ProofReport, g: PinnedGenesis, b?: BytesCheck): void {
  if (r.verified) {
    out.className = 'verify-out ok';
    out.replaceChildren(
      h('p', { class: 'verdict' }, '✔ Verified'),
      h('p', {}, `${r.uri} is file ${r.filehash.slice(0, 16)}… of ${num(r.size)} bytes in the state of round ${num(r.round)} (state root ${r.stateRoot.slice(0, 16)}…): the sparse-Merkle proof leads to that root, the block header hashes to the certified block, and its ${r.certVotes} cert votes (weight ${r.certWeight}) are valid signatures and VRF credentials of the genesis committee reaching the cert threshold.`),
      b?.checked
        ? h('p', { 'data-testid': 'bytes-check' }, `The ${num(b.size)} bytes the gateway serves for it hash to that file hash.`)
        : h('p', { 'data-testid': 'bytes-check', class: 'warn' }, `The bytes were not checked: ${b?.why ?? 'not asked'}.`),
      h('p', { class: 'muted' }, `Checked in this browser against ${genesisNote(g)}. Nothing the gateway said was taken on trust except the genesis pin.`),
    );
  } else {
    out.className = 'verify-out bad';
    out.replaceChildren(
      h('p', { class: 'verdict' }, '✘ Not verified'),
      h('p', {}, `${r.reason ?? 'the proof did not check'}. `, `State proof: ${r.stateProof ? 'holds' : 'fails'}; certificate: ${r.certificate ? 'holds' : 'fails'}; quorum of the genesis committee: ${r.quorum === null ? 'not checked' : r.quorum ? 'holds' : 'fails'}.`),
      h('p', { class: 'muted' }, `Checked against ${genesisNote(g)}.`),
    );
  }
}

function genesisImport(f: FileView, out: HTMLElement, button: HTMLButtonElement): HTMLElement {
  const input = h('input', { id: 'genesis-file', type: 'file', accept: 'application/json,.json' });
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return;
    void file.text().then((t) => {
      try {
        importGenesis(t);
        void verify(f, out, button);
      } catch (err) {
        out.append(errorBox('That genesis file was refused:', err));
      }
    });
  });
  return h('p', {}, h('label', { for: 'genesis-file' }, 'Import the network\'s genesis.json: '), input);
}
