// Whose request this is, by address: what the per-address rate limit (rate-limit.ts) and the per-address
// share of upload slots (slots.ts) count. The socket's peer, unless that peer is a proxy the operator
// listed in WOLK_TRUSTED_PROXIES: then the nearest X-Forwarded-For entry that is not itself a trusted
// proxy. X-Forwarded-For from anyone else is ignored, or a client could name a fresh address per request.
import { BlockList, isIP } from 'node:net';

/** ::ffff:192.0.2.1 and 192.0.2.1 are one client (a dual-stack socket reports the first). */
export function normaliseAddress(a: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return (m ? m[1]! : a).toLowerCase();
}

/** Which peers are trusted proxies: addresses and CIDR ranges (as lib/config/env.ts checked them). */
export interface TrustedProxies {
  has(address: string): boolean;
  readonly size: number;
}

export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const e of entries) {
    const [ip, prefix] = e.split('/') as [string, string | undefined];
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(normaliseAddress(ip), family);
    else list.addSubnet(normaliseAddress(ip), Number(prefix), family);
  }
  return {
    size: entries.length,
    has: (address) => {
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
  const socket = peer ? normaliseAddress(peer) : 'unknown';
  if (trusted.size === 0 || !trusted.has(socket) || forwardedFor === undefined) return socket;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((s) => normaliseAddress(s.trim()))
    .filter((s) => isIP(s) !== 0);
  // Right to left: each trusted proxy appended the address it received the request from.
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted.has(hops[i]!)) return hops[i]!;
  return hops[0] ?? socket;
}
