// Small DOM helpers for the console: elements, shortened ids with a copy button, numbers, states.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

/** An element with attributes (on* are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** A hex id shortened to its first and last characters, the whole of it in a tooltip and a copy button. */
export function hexId(value: string, o: { label?: string; href?: string } = {}): HTMLElement {
  const short = value.length > 16 ? `${value.slice(0, 8)}…${value.slice(-6)}` : value || '—';
  const text = o.href ? h('a', { href: o.href, class: 'mono', title: value }, short) : h('span', { class: 'mono', title: value }, short);
  if (!value) return text;
  const button = h('button', { type: 'button', class: 'copy', 'aria-label': `copy ${o.label ?? 'id'} ${value}`, title: 'copy' }, 'copy');
  button.addEventListener('click', () => {
    void navigator.clipboard?.writeText(value).then(
      () => flash(button, 'copied'),
      () => flash(button, 'select and copy'),
    );
  });
  return h('span', { class: 'hexid' }, text, button);
}

function flash(b: HTMLElement, text: string): void {
  const before = b.textContent;
  b.textContent = text;
  setTimeout(() => (b.textContent = before), 1200);
}

const integer = new Intl.NumberFormat('en-US');
export const num = (n: number | string | bigint): string => (typeof n === 'string' ? (/^\d+$/.test(n) ? integer.format(BigInt(n)) : n) : integer.format(n));

export function bytes(n: number | string): string {
  const v = Number(n);
  if (!Number.isFinite(v)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = v;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${x.toFixed(x < 10 ? 2 : 1)} ${units[i]}`;
}

export const percent = (ppm: number): string => `${(ppm / 10_000).toFixed(ppm % 10_000 === 0 ? 0 : 2)} %`;

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export const empty = (text: string): HTMLElement => h('p', { class: 'empty' }, text);

/** A readable error: what failed and what the gateway said. */
export function errorBox(what: string, err: unknown): HTMLElement {
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, what), ' ', err instanceof Error ? err.message : String(err));
}

export const badge = (text: string, kind: 'ok' | 'bad' | 'warn' | 'muted'): HTMLElement => h('span', { class: `badge ${kind}` }, text);

export function table(caption: string, head: string[], rows: (Child | Child[])[][], o: { empty?: string } = {}): HTMLElement {
  if (rows.length === 0) return empty(o.empty ?? `No ${caption.toLowerCase()} yet.`);
  return h(
    'div',
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    // At phone width the rows become stacked cards (style.css), each cell labelled by its column
    // (data-label); the explicit roles keep it a table to assistive technology, which drops the
    // implicit ones once `display` changes.
    h(
      'table',
      { role: 'table' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, head.map((c) => h('th', { scope: 'col', role: 'columnheader' }, c)))),
      h('tbody', { role: 'rowgroup' }, rows.map((r) => h('tr', { role: 'row' }, r.map((c, i) => h('td', { role: 'cell', 'data-label': head[i] ?? '' }, h('div', {}, c)))))),
    ),
  );
}

export function dl(pairs: [string, Child | Child[]][]): HTMLElement {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function card(title: string, ...body: (Child | Child[])[]): HTMLElement {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...body);
}

const SVG = 'http://www.w3.org/2000/svg';
function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

/** A bar chart as inline SVG: one bar per point, the y axis from 0 to the largest value. */
export function barChart(title: string, points: { x: string; y: number; label: string }[], o: { unit: string }): HTMLElement {
  if (points.length === 0) return empty(`No data for ${title.toLowerCase()} yet.`);
  const W = 600;
  const H = 160;
  const pad = { l: 64, r: 8, t: 10, b: 22 };
  const max = Math.max(...points.map((p) => p.y), 1);
  const bw = (W - pad.l - pad.r) / points.length;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${points.length} points, up to ${Math.round(max)} ${o.unit}`, class: 'chart' }, s('title', {}, title));
  for (const t of [0, 0.5, 1]) {
    svg.append(s('line', { x1: pad.l, x2: W - pad.r, y1: y(max * t), y2: y(max * t), class: 'grid' }));
    svg.append(s('text', { x: pad.l - 6, y: y(max * t) + 4, 'text-anchor': 'end', class: 'axis' }, `${Math.round(max * t)}${t === 1 ? ` ${o.unit}` : ''}`));
  }
  points.forEach((p, i) => {
    const top = y(p.y);
    svg.append(s('rect', { x: pad.l + i * bw + 1, y: top, width: Math.max(1, bw - 2), height: Math.max(0, H - pad.b - top), class: 'bar' }, s('title', {}, p.label)));
  });
  svg.append(s('text', { x: pad.l, y: H - 6, class: 'axis' }, points[0]!.x));
  svg.append(s('text', { x: W - pad.r, y: H - 6, 'text-anchor': 'end', class: 'axis' }, points.at(-1)!.x));
  return h('figure', { class: 'chart-wrap' }, svg as unknown as Node, h('figcaption', {}, title));
}

/** A line chart of reputation (0–100 %) over rounds. */
export function lineChart(title: string, points: { x: number; y: number }[]): HTMLElement {
  // The points as data too ("round:ppm ..."), for whoever checks the chart against the chain.
  const data = points.map((p) => `${p.x}:${p.y}`).join(' ');
  if (points.length < 2) return h('span', { class: 'muted', 'data-points': data }, points.length === 1 ? `one audit: ${percent(points[0]!.y)}` : 'no audits yet');
  const W = 160;
  const H = 36;
  const xs = points.map((p) => p.x);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${(((p.x - x0) / (x1 - x0)) * (W - 4) + 2).toFixed(1)},${(H - 2 - (p.y / 1_000_000) * (H - 4)).toFixed(1)}`).join(' ');
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'spark', role: 'img', 'data-points': data, 'aria-label': `${title}: from ${percent(points[0]!.y)} to ${percent(points.at(-1)!.y)} over ${points.length} audits` }, s('title', {}, title), s('path', { d, class: 'line' })) as unknown as HTMLElement;
}
