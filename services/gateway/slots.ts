// Upload slots (issue 24.3): a gateway runs at most `total` uploads at once, and no one owner or
// client address may hold all of them. Without shares, 16 signed PUTs that send a few bytes and stall
// (anyone can claim a name for free) took every slot and refused everyone else's uploads until the
// stalled bodies timed out. With them, one owner holds at most half the slots and one address at most
// three quarters, so others always find one; the body idle timeout (spool.ts) frees what a stalled
// client holds.

/** Fractions of the slots one owner / one client address may hold at once. */
export const OWNER_SHARE = 1 / 2;
export const ADDRESS_SHARE = 3 / 4;

export interface SlotHolder {
  readonly owner: string;
  /** The client's address as the socket sees it. */
  readonly address: string;
}

export type SlotRefusal = { readonly scope: 'gateway' | 'owner' | 'address'; readonly held: number; readonly limit: number };

export interface UploadSlots {
  /** A slot for `who`, or why not. `release` is idempotent. */
  take(who: SlotHolder): { readonly release: () => void } | SlotRefusal;
  readonly active: number;
}

export function createUploadSlots(total: number): UploadSlots {
  const perOwner = Math.max(1, Math.floor(total * OWNER_SHARE));
  const perAddress = Math.max(1, Math.floor(total * ADDRESS_SHARE));
  const byOwner = new Map<string, number>();
  const byAddress = new Map<string, number>();
  let active = 0;
  const bump = (m: Map<string, number>, k: string, by: number) => {
    const n = (m.get(k) ?? 0) + by;
    if (n > 0) m.set(k, n);
    else m.delete(k);
  };
  return {
    get active() {
      return active;
    },
    take(who) {
      if (active >= total) return { scope: 'gateway', held: active, limit: total };
      const owner = byOwner.get(who.owner) ?? 0;
      if (owner >= perOwner) return { scope: 'owner', held: owner, limit: perOwner };
      const address = byAddress.get(who.address) ?? 0;
      if (address >= perAddress) return { scope: 'address', held: address, limit: perAddress };
      active++;
      bump(byOwner, who.owner, 1);
      bump(byAddress, who.address, 1);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          active--;
          bump(byOwner, who.owner, -1);
          bump(byAddress, who.address, -1);
        },
      };
    },
  };
}

/** A refusal in words a user can act on. */
export function slotRefusalText(r: SlotRefusal, who: SlotHolder, total: number): string {
  if (r.scope === 'gateway') return `this gateway is serving ${r.held} uploads, its most at once; retry shortly`;
  if (r.scope === 'owner') return `wolk://${who.owner} already has ${r.held} uploads in progress, the most one owner may have at once on this gateway (of ${total}); retry when one ends`;
  return `your address (${who.address}) already has ${r.held} uploads in progress, the most one client may have at once on this gateway (of ${total}); retry when one ends`;
}
