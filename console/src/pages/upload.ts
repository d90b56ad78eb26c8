// Upload from the browser: a key kept in this browser, a name claimed with it, and a file hashed,
// signed and sent with the same lib/ code `wolk claim` and `wolk put` use (docs/http-api.md "Signing",
// "Upload") with a progress bar: a file of RESUMABLE_MIN_BYTES or more (what `wolk put` sends resumably)
// as a tus 1.0 upload through lib/client/tus.ts, which survives a broken connection (retried from the
// gateway's offset) and a reload (the same file chosen again resumes); a smaller one as one signed PUT.
import { createHash } from 'node:crypto';
import { ApiError, getJson, type NameView } from '../api.js';
import { createKey, exportKey, forgetKey, importKey, loadKey, type BrowserKey } from '../keystore.js';
import { blobFile, gatewayOffersTus, localStore, xhrTransport } from '../resumable.js';
import { card, errorBox, h, hexId, num, bytes } from '../ui.js';
import { COLLECTION_RE, FileHasher, NAME_RE, RESUMABLE_MIN_BYTES, SignedTransaction, gatewayPath, setKeyTransaction, setNameTransaction, signTransaction, signWolkRequest, uploadTus } from '../wolk.js';

/**
 * Bytes per PATCH of a resumable upload. Reverse proxies in front of a gateway often cap a request's
 * body (nginx: 1 MiB by default, others 100 MiB); pieces keep each request small, and a cut costs at
 * most the piece in flight (the gateway keeps what arrived of it too).
 */
const PATCH_BYTES = 4 * 1024 * 1024;


interface ChainInfo {
  chainId: string;
  chunkSize: number;
}

export function uploadPage(root: HTMLElement): void {
  root.append(h('h1', {}, 'Upload'));
  const keyCard = h('div', {});
  const nameCard = h('div', {});
  const fileCard = h('div', {});
  root.append(keyCard, nameCard, fileCard);
  const redraw = () => {
    const key = loadKey();
    keyCard.replaceChildren(keySection(key, redraw));
    nameCard.replaceChildren(key ? nameSection(key) : h('span'));
    fileCard.replaceChildren(key ? fileSection(key) : h('span'));
  };
  redraw();
}

function keySection(key: BrowserKey | undefined, redraw: () => void): HTMLElement {
  if (!key) {
    const text = h('textarea', { id: 'key-import', rows: 3, spellcheck: 'false', placeholder: '64 hex characters, or the contents of ~/.wolk/key.json' });
    const out = h('div', { role: 'status', 'aria-live': 'polite' });
    return card(
      '1. Your key',
      h('p', {}, 'Uploads are signed with an Ed25519 key kept in this browser only (localStorage); it is never sent anywhere. Create one, or import the key of ', h('code', {}, 'wolk keygen'), '.'),
      h('button', { type: 'button', class: 'primary', onclick: () => (createKey(), redraw()) }, 'Create a key in this browser'),
      h('div', { class: 'field' }, h('label', { for: 'key-import' }, 'Or import a key'), text),
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            try {
              importKey(text.value);
              redraw();
            } catch (err) {
              out.replaceChildren(errorBox('Key not imported:', err));
            }
          },
        },
        'Import key',
      ),
      out,
    );
  }
  const exported = h('pre', { class: 'secret', hidden: true }, exportKey(key));
  return card(
    '1. Your key',
    h('p', {}, 'Public key (your owner id): ', hexId(key.publicHex, { label: 'public key' })),
    h('p', { class: 'muted' }, 'The secret key stays in this browser. Export it to keep a copy; forgetting it here cannot be undone.'),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => (exported.hidden = !exported.hidden) }, 'Show / hide key file'), h('button', { type: 'button', class: 'danger', onclick: () => (confirm('Forget this key in this browser? Without a copy, names it owns cannot be written again.') ? (forgetKey(), redraw()) : undefined) }, 'Forget key')),
    exported,
  );
}

async function signedPut(path: string, body: Uint8Array, key: BrowserKey, headers: Record<string, string>, onProgress?: (sent: number, total: number) => void): Promise<{ status: number; body: Record<string, unknown> }> {
  const sha = createHash('sha256').update(body).digest() as unknown as Uint8Array;
  const auth = signWolkRequest({ method: 'PUT', path, bodySha256: sha, key });
  return xhrPut(path, body, { ...auth, ...headers }, onProgress);
}

function xhrPut(path: string, body: Uint8Array | Blob, headers: Record<string, string>, onProgress?: (sent: number, total: number) => void): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('PUT', path);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    if (onProgress) x.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.total));
    x.addEventListener('load', () => {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = x.responseText ? (JSON.parse(x.responseText) as Record<string, unknown>) : {};
      } catch {
        parsed = { detail: x.responseText.slice(0, 200) };
      }
      if (x.status >= 400) reject(new ApiError(x.status, `${x.status} ${String(parsed['title'] ?? '')}: ${String(parsed['detail'] ?? '')}`));
      else resolve({ status: x.status, body: parsed });
    });
    x.addEventListener('error', () => reject(new ApiError(0, 'the upload could not reach the gateway')));
    x.send(body instanceof Blob ? body : new Blob([body as Uint8Array<ArrayBuffer>]));
  });
}

async function nonceOf(key: BrowserKey): Promise<bigint> {
  return BigInt((await getJson<{ nonce: string }>(`/accounts/${key.publicHex}`)).nonce);
}

function nameSection(key: BrowserKey): HTMLElement {
  const input = h('input', { id: 'owner-name', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'alice', value: localStorage.getItem('wolk.console.name') ?? '' });
  const out = h('div', { role: 'status', 'aria-live': 'polite', 'data-testid': 'name-status' });
  const check = async (claim: boolean) => {
    const name = input.value.trim();
    if (!NAME_RE.test(name)) return void out.replaceChildren(errorBox('Not a valid name:', '1–63 of a-z, 0-9 and -, not starting or ending with -'));
    localStorage.setItem('wolk.console.name', name);
    out.replaceChildren(h('p', {}, 'Checking…'));
    try {
      const owner = await getJson<NameView>(`/console/api/names/${encodeURIComponent(name)}`);
      if (owner.claimed && owner.owner === key.publicHex) return void out.replaceChildren(h('p', { class: 'okline' }, `✔ ${name} is yours.`));
      if (owner.claimed) return void out.replaceChildren(errorBox(`${name} belongs to another key:`, owner.owner));
      if (!claim) return void out.replaceChildren(h('p', {}, `${name} is free. Claim it to write under wolk://${name}/.`));
      out.replaceChildren(h('p', {}, `Claiming ${name} (a SetName transaction; it takes a few rounds)…`));
      const chain = await getJson<ChainInfo>('/chain');
      const stx = signTransaction(setNameTransaction(name, key.publicKey, await nonceOf(key), chain.chainId), key);
      const body = SignedTransaction.encode(stx).finish();
      await signedPut(gatewayPath({ owner: name }), body, key, { 'content-type': 'application/x-protobuf' });
      out.replaceChildren(h('p', { class: 'okline' }, `✔ ${name} is yours.`));
    } catch (err) {
      out.replaceChildren(errorBox(`Could not claim ${name}:`, err));
    }
  };
  return card(
    '2. Your name',
    h('p', {}, 'Files live under a name bound to your key on chain (first claim wins).'),
    h('div', { class: 'field' }, h('label', { for: 'owner-name' }, 'Name'), input),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => void check(false) }, 'Check'), h('button', { type: 'button', class: 'primary', onclick: () => void check(true) }, 'Claim')),
    out,
  );
}

function fileSection(key: BrowserKey): HTMLElement {
  const collection = h('input', { id: 'up-collection', type: 'text', autocomplete: 'off', spellcheck: 'false', value: 'uploads' });
  const keyInput = h('input', { id: 'up-key', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'defaults to the file name' });
  const file = h('input', { id: 'up-file', type: 'file' });
  const bar = h('progress', { id: 'up-progress', max: 100, value: 0, 'aria-label': 'upload progress' });
  const phase = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'upload-status' }, 'Choose a file.');
  const out = h('div', { 'data-testid': 'upload-result' });
  // What the resumable upload said as it went (a lost connection, where it resumed).
  const log = h('ul', { class: 'plain muted', 'aria-label': 'upload log', 'data-testid': 'upload-log' });
  const go = h('button', { type: 'button', class: 'primary' }, 'Upload');
  go.addEventListener('click', () => void upload());

  async function upload(): Promise<void> {
    out.replaceChildren();
    const owner = localStorage.getItem('wolk.console.name') ?? '';
    const f = file.files?.[0];
    const col = collection.value.trim();
    const k = keyInput.value.trim() || f?.name || '';
    if (!NAME_RE.test(owner)) return void out.replaceChildren(errorBox('No name:', 'check or claim your name in step 2 first'));
    if (!f) return void out.replaceChildren(errorBox('No file:', 'choose a file to upload'));
    if (!COLLECTION_RE.test(col)) return void out.replaceChildren(errorBox('Not a valid collection:', '1–63 of a-z, 0-9, ".", "_" and "-"'));
    if (!k || k.split('/').some((s) => s === '.' || s === '..' || s === '')) return void out.replaceChildren(errorBox('Not a valid key:', 'a key needs characters between its slashes and no "." or ".." segments (use `wolk put` for those)'));
    go.disabled = true;
    log.replaceChildren();
    try {
      const [chain, settings] = await Promise.all([getJson<ChainInfo>('/chain'), getJson<{ chunkSize: number }>(`${gatewayPath({ owner, collection: col })}?settings`)]);
      const chunkSize = settings.chunkSize || chain.chunkSize;
      const contentType = f.type || 'application/octet-stream';
      const uri = `wolk://${owner}/${col}/${k}`;
      const resumable = f.size >= RESUMABLE_MIN_BYTES && (await gatewayOffersTus());
      const progress = (done: number, total: number, what: 'hashing' | 'uploading' | 'waiting') => {
        if (what === 'hashing') {
          bar.value = (done / Math.max(1, total)) * 20;
          phase.textContent = `Hashing: ${bytes(done)} of ${bytes(total)}`;
        } else if (what === 'uploading') {
          bar.value = 20 + (done / Math.max(1, total)) * 60;
          phase.textContent = `Uploading${resumable ? ' (resumable)' : ''}: ${bytes(done)} of ${bytes(total)}`;
        } else {
          bar.value = 80;
          phase.textContent = 'Sent; storers are committing and the block is being certified…';
        }
      };
      let r: { status: number; body: Record<string, unknown> };
      let filehash: string;
      let size: number;
      let how = '';
      if (resumable) {
        log.append(h('li', {}, `Sent as a resumable upload: a broken connection is retried from what the gateway holds, and choosing this file again after a reload continues it.`));
        const t = await uploadTus(xhrTransport(f), blobFile(f), localStore(uri, f), key, uri, { chunkSize: async () => chunkSize, chainId: async () => chain.chainId, nonce: () => nonceOf(key) }, {
          contentType,
          onProgress: progress,
          say: (line) => log.append(h('li', {}, line.charAt(0).toUpperCase() + line.slice(1))),
          patchBytes: PATCH_BYTES,
          rerun: 'Upload the same file again',
        });
        r = t;
        how = ` (resumable upload${t.resumedAt > 0 ? `, resumed at ${bytes(t.resumedAt)}` : ''}${t.retries > 0 ? `, ${t.retries} broken connection(s) recovered` : ''})`;
        filehash = t.filehash;
        size = t.size;
      } else {
        const hasher = new FileHasher({ chunkSize });
        const sha = createHash('sha256');
        const reader = f.stream().getReader();
        let hashed = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          hasher.update(value);
          sha.update(value);
          hashed += value.length;
          progress(hashed, f.size, 'hashing');
        }
        const d = hasher.digest();
        const tx = setKeyTransaction({ owner, collection: col, key: k, file: { filehash: d.filehash as Buffer, size: BigInt(d.size), chunkSize: d.chunkSize }, contentType }, key.publicKey, await nonceOf(key), chain.chainId);
        const stx = signTransaction(tx, key);
        const path = gatewayPath({ owner, collection: col, key: k });
        const auth = signWolkRequest({ method: 'PUT', path, bodySha256: sha.digest() as unknown as Uint8Array, key });
        const txB64 = btoa(String.fromCharCode(...SignedTransaction.encode(stx).finish()));
        phase.textContent = 'Uploading…';
        r = await xhrPut(path, f, { ...auth, 'content-type': contentType, 'wolk-transaction': txB64 }, (sent, total) => progress(sent, total, sent < total ? 'uploading' : 'waiting'));
        filehash = Array.from(d.filehash, (b) => b.toString(16).padStart(2, '0')).join('');
        size = d.size;
      }
      bar.value = 100;
      const final = r.status === 201 || r.status === 200;
      phase.textContent = final ? `Final in round ${String(r.body['round'])}.` : 'Accepted; not final yet.';
      out.replaceChildren(
        h('p', { class: final ? 'okline' : '' }, final ? '✔ Stored: ' : 'Accepted: ', h('a', { href: `#/files?uri=${encodeURIComponent(uri)}` }, uri)),
        h('p', {}, `${num(size)} bytes${how}, file hash `, hexId(filehash, { label: 'file hash' }), final ? ` in round ${String(r.body['round'])}, on ${(r.body['storers'] as string[] | undefined)?.length ?? 0} storers.` : ` — follow it at ${String(r.body['status'] ?? '')}.`),
      );
    } catch (err) {
      phase.textContent = 'Failed.';
      out.replaceChildren(errorBox('Upload failed:', err));
    } finally {
      go.disabled = false;
    }
  }

  return card(
    '3. A file',
    h('p', {}, `Signed with your key and sent as one PUT, or from ${bytes(RESUMABLE_MIN_BYTES)} as a resumable upload that survives a broken connection; the gateway answers once N storers hold it and its SetKey is final.`),
    h('div', { class: 'grid2' }, h('div', { class: 'field' }, h('label', { for: 'up-collection' }, 'Collection'), collection), h('div', { class: 'field' }, h('label', { for: 'up-key' }, 'Key'), keyInput)),
    h('div', { class: 'field' }, h('label', { for: 'up-file' }, 'File'), file),
    go,
    h('div', { class: 'progress' }, bar),
    phase,
    log,
    out,
  );
}
