// The Wolk web console (docs/console.md): one page, five views chosen by the URL's hash, each reading
// the gateway's /console/api/... and, for proofs and uploads, running lib/'s own code in the browser.
import { h, errorBox } from './ui.js';
import { networkPage } from './pages/network.js';
import { blocksPage } from './pages/blocks.js';
import { storersPage } from './pages/storers.js';
import { filesPage } from './pages/files.js';
import { uploadPage } from './pages/upload.js';

/** A view renders into `root` and returns what stops its live updates. */
export type Page = (root: HTMLElement, args: string[], query: URLSearchParams, signal: AbortSignal) => Promise<void> | void;

const PAGES: { id: string; title: string; page: Page }[] = [
  { id: 'network', title: 'Network', page: networkPage },
  { id: 'blocks', title: 'Blocks', page: blocksPage },
  { id: 'storers', title: 'Storers', page: storersPage },
  { id: 'files', title: 'Files', page: filesPage },
  { id: 'upload', title: 'Upload', page: uploadPage },
];

let current: AbortController | undefined;

function parseHash(): { id: string; args: string[]; query: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q] = raw.split('?', 2) as [string, string | undefined];
  // A hand-typed address may hold a malformed %-escape: keep such a part as typed rather than throw.
  const [id, ...args] = path.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { id: id || 'network', args, query: new URLSearchParams(q ?? '') };
}

async function render(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const { id, args, query } = parseHash();
  const entry = PAGES.find((p) => p.id === id);
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav.tabs a')) {
    if (a.dataset['page'] === (entry?.id ?? '')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = document.getElementById('main')!;
  main.replaceChildren();
  const root = h('div', { class: 'page' });
  main.append(root);
  document.title = `${entry?.title ?? 'Not found'} · Wolk console`;
  if (!entry) {
    main.setAttribute('aria-busy', 'false');
    root.append(h('h1', {}, 'Not found'), h('p', {}, 'There is no page ', h('code', {}, location.hash), '. ', h('a', { href: '#/network' }, 'Go to the network overview.')));
    return;
  }
  // Busy until the page has its data (or its error): assistive technology waits, and so do tests.
  main.setAttribute('aria-busy', 'true');
  try {
    await entry.page(root, args, query, controller.signal);
  } catch (err) {
    if ((err as Error).name === 'AbortError' || controller.signal.aborted) return;
    root.append(errorBox(`The ${entry.title.toLowerCase()} page failed:`, err));
  } finally {
    if (current === controller) main.setAttribute('aria-busy', 'false');
  }
}

function shell(): void {
  const search = h('form', { class: 'search', role: 'search', onsubmit: (e: Event) => onSearch(e) }, h('label', { for: 'q', class: 'sr-only' }, 'Search by round, block hash or transaction id'), h('input', { id: 'q', name: 'q', type: 'search', placeholder: 'round, block hash or tx id', autocomplete: 'off', spellcheck: 'false' }), h('button', { type: 'submit' }, 'Search'));
  const header = h(
    'header',
    { class: 'top' },
    h('a', { class: 'skip', href: '#main' , onclick: (e: Event) => { e.preventDefault(); document.getElementById('main')?.focus(); } }, 'Skip to content'),
    h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'W'), h('span', {}, 'Wolk console')),
    h('nav', { class: 'tabs', 'aria-label': 'Pages' }, PAGES.map((p) => h('a', { href: `#/${p.id}`, 'data-page': p.id }, p.title))),
    search,
  );
  document.body.replaceChildren(header, h('main', { id: 'main', tabindex: -1 }));
}

function onSearch(e: Event): void {
  e.preventDefault();
  const input = document.getElementById('q') as HTMLInputElement;
  const q = input.value.trim();
  if (q) location.hash = `#/blocks/search/${encodeURIComponent(q)}`;
}

shell();
window.addEventListener('hashchange', () => void render());
void render();
