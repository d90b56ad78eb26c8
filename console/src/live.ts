// Live updates for a page from the gateway's server-sent events (/console/api/events, one `block`
// event per finalized block): the page's data reloaded on each block, one reload at a time and at most
// one per `minIntervalMs`; a status line that says whether the page is live or, when the gateway stops
// answering or a reload fails, since when and as of what the figures are (then stale, but kept on the
// page rather than replaced by an error); a reload once it answers again.
import { ago, h, num } from './ui.js';

/** A finalized block as the gateway announces it (the `block` event). */
export interface LatestBlock {
  readonly round: string;
  readonly hash: string;
  readonly timestampMs: number;
  readonly txs: number;
}

export interface LiveOptions {
  /** Reloads the page's data (`latest`: the newest finalized block announced); throws when it could not (the page keeps what it shows). */
  readonly refresh: (latest: LatestBlock | undefined) => Promise<void>;
  /** What the figures on the page are as of (for the stale notice), e.g. "round 1,234". */
  readonly asOf: () => string | undefined;
  readonly signal: AbortSignal;
  readonly minIntervalMs?: number;
}

/** Starts following and returns the status line to put on the page. */
export function followBlocks(o: LiveOptions): HTMLElement {
  // Only connection changes are announced (role=status); the per-block note beside it is not, or a
  // screen reader would read every block.
  const state = h('span', { role: 'status' }, 'Connecting to live updates…');
  const last = h('span', { class: 'last-block' });
  const line = h('p', { class: 'live' }, state, ' ', last);
  let lostAt: number | null = null;
  let failedAt: number | null = null;
  let latest: LatestBlock | undefined;
  const set = (text: string, kind: 'ok' | 'warn') => {
    if (state.textContent !== text) state.textContent = text;
    line.className = `live ${kind}`;
  };
  const stale = () => {
    const asOf = o.asOf();
    return asOf ? `: the figures below are as of ${asOf} and may be out of date` : '';
  };
  const reload = coalesce(
    async () => {
      try {
        await o.refresh(latest);
        failedAt = null;
        if (lostAt === null) set('Live: the page updates on every finalized block.', 'ok');
      } catch (err) {
        if (o.signal.aborted) return;
        failedAt ??= Date.now();
        set(`Could not read the latest figures since ${new Date(failedAt).toLocaleTimeString()} (${(err as Error).message})${stale()}. Trying again on the next block…`, 'warn');
      }
    },
    o.signal,
    o.minIntervalMs ?? 0,
  );
  const events = new EventSource('/console/api/events');
  o.signal.addEventListener('abort', () => events.close(), { once: true });
  events.addEventListener('open', () => {
    if (failedAt === null) set('Live: the page updates on every finalized block.', 'ok');
    if (lostAt !== null) reload();
    lostAt = null;
  });
  events.addEventListener('error', () => {
    lostAt ??= Date.now();
    last.textContent = '';
    set(`The gateway stopped answering at ${new Date(lostAt).toLocaleTimeString()}${stale()}. Reconnecting every few seconds…`, 'warn');
  });
  events.addEventListener('block', (e) => {
    const b = JSON.parse((e as MessageEvent<string>).data) as LatestBlock;
    latest = b;
    last.textContent = `Round ${num(b.round)} finalized ${ago(Date.now())}.`;
    reload();
  });
  return line;
}

/** `fn` run one call at a time: calls while one runs make one more run, started minIntervalMs after the last start. */
function coalesce(fn: () => Promise<void>, signal: AbortSignal, minIntervalMs: number): () => void {
  let running = false;
  let again = false;
  let startedAt = 0;
  const run = (): void => {
    if (signal.aborted) return;
    if (running) return void (again = true);
    const wait = startedAt + minIntervalMs - Date.now();
    if (wait > 0) {
      running = true;
      setTimeout(() => {
        running = false;
        run();
      }, wait);
      return;
    }
    running = true;
    startedAt = Date.now();
    void fn().finally(() => {
      running = false;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return run;
}
