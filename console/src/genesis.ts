// The network's genesis, which certificates are checked against. The first one the gateway hands over is
// pinned in this browser (localStorage) with its fingerprint; a later different one is refused until
// the user imports the right file, so a gateway cannot swap committees under a user who checked once.
// An imported genesis is the user's own word: it is used even when the gateway serves another one
// (which the result then says), or a dishonest gateway could make the import useless.
import { getJson } from './api.js';
import { sha256, validateGenesis, type Genesis } from './wolk.js';

const KEY = 'wolk.console.genesis';
/** Set when the pinned genesis was imported by the user rather than taken from a gateway. */
const IMPORTED = 'wolk.console.genesis.imported';

export interface PinnedGenesis {
  readonly genesis: Genesis;
  readonly fingerprint: string;
  readonly source: 'pinned' | 'first-use' | 'imported';
  /** The fingerprint of the gateway's genesis when it is not the imported one. */
  readonly servedDiffers?: string;
}

export function fingerprintOf(g: Genesis): string {
  return Array.from(sha256(new TextEncoder().encode(JSON.stringify(g))), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function loadGenesis(signal?: AbortSignal): Promise<PinnedGenesis> {
  const served = validateGenesis(await getJson<unknown>('/console/api/genesis', signal), 'the gateway\'s genesis');
  const stored = localStorage.getItem(KEY);
  if (stored) {
    const pinned = validateGenesis(JSON.parse(stored), 'the pinned genesis');
    const fp = fingerprintOf(pinned);
    const servedFp = fingerprintOf(served);
    const imported = localStorage.getItem(IMPORTED) === fp;
    if (fp !== servedFp && !imported) throw new Error(`the gateway's genesis (${servedFp.slice(0, 16)}…) differs from the one pinned in this browser (${fp.slice(0, 16)}…); import the network's genesis.json if it really changed`);
    return { genesis: pinned, fingerprint: fp, source: imported ? 'imported' : 'pinned', ...(fp !== servedFp ? { servedDiffers: servedFp } : {}) };
  }
  localStorage.setItem(KEY, JSON.stringify(served));
  localStorage.removeItem(IMPORTED);
  return { genesis: served, fingerprint: fingerprintOf(served), source: 'first-use' };
}

export function importGenesis(text: string): PinnedGenesis {
  const g = validateGenesis(JSON.parse(text), 'the imported genesis');
  localStorage.setItem(KEY, JSON.stringify(g));
  localStorage.setItem(IMPORTED, fingerprintOf(g));
  return { genesis: g, fingerprint: fingerprintOf(g), source: 'imported' };
}
