// A set of gRPC endpoints from a static list and/or a DNS SRV name (RFC 2782; a Kubernetes headless
// Service publishes one record per pod), re-resolved periodically. The one home of SRV discovery:
// consensus peers (WOLK_PEERS / WOLK_PEERS_SRV) and every client of consensus (WOLK_CONSENSUS /
// WOLK_CONSENSUS_SRV) and of storers (the gateway's WOLK_STORERS / WOLK_STORERS_SRV) use it.
//
// The set is the static list followed by the SRV targets (host:port of each record, in the order the
// server answered, duplicates removed): callers read current() at each call, so pods added or removed
// in DNS are used without a restart. Priority and weight are not used: every target is a member.
//
// A failed lookup (timeout, SERVFAIL, NXDOMAIN, no records) is logged and the last good set is kept: a
// DNS hiccup never empties the set. Pods start before DNS lists their peers (a StatefulSet's pods
// start in parallel, and a headless Service's records follow the pods), so a name that resolves to
// nothing at start-up is not fatal: start() waits a bounded time for the first answer, then returns
// with a logged warning, and lookups are retried every `retryMs` (doubling up to `refreshMs`) until one
// succeeds; meanwhile calls fail as unavailable (no endpoints yet) and are retried by their callers.
import { Resolver } from 'node:dns/promises';
import type { SrvRecord } from 'node:dns';
import type { Logger } from '../log/logger.js';

/** What the set needs of a resolver: node:dns/promises `Resolver` has it (servers set with setServers). */
export interface SrvResolver {
  resolveSrv(name: string): Promise<SrvRecord[]>;
}

/** Endpoints read at call time; an EndpointSet, or fixed ones (fixedEndpoints). */
export interface Endpoints {
  /** The endpoints now (a snapshot: later changes make a new array). */
  current(): readonly string[];
  /** Why current() is empty, for errors: names the variables and the last lookup failure. */
  emptyReason(): string;
}

/** A fixed list, or endpoints read at call time. */
export type EndpointsLike = readonly string[] | Endpoints;

export interface EndpointSetOptions {
  /** HOST:PORT endpoints that are always members (WOLK_CONSENSUS, ...). */
  readonly static?: readonly string[];
  /** SRV name whose targets are members too (WOLK_CONSENSUS_SRV, ...); undefined: the static list alone. */
  readonly srv?: string | undefined;
  /** An endpoint never included (a consensus node's own advertised address). */
  readonly exclude?: string;
  /** Re-resolution period (default 30 s). */
  readonly refreshMs?: number;
  /** First wait after a failed lookup while the SRV name has given nothing yet (default 1 s; doubles up to refreshMs). */
  readonly retryMs?: number;
  /** How long start() waits for the first answer before it goes on with what it has (default 5 s). */
  readonly startWaitMs?: number;
  /** Default: a node:dns/promises Resolver on the system's servers (dnsResolver). */
  readonly resolver?: SrvResolver;
  readonly logger: Logger;
  /** The variables this set comes from, named in logs and errors ("WOLK_CONSENSUS / WOLK_CONSENSUS_SRV"). */
  readonly what: string;
}

export interface EndpointSet extends Endpoints {
  readonly srv: string | undefined;
  /** Resolves the SRV name once (bounded by startWaitMs) and starts the periodic refresh; no-op without one. */
  start(): Promise<void>;
  stop(): void;
  /** One lookup now; resolves when the set is updated (or the failure logged). */
  refresh(): Promise<void>;
  /** Called with the new set and what left it, after every change. Returns the unsubscribe. */
  onChange(listener: (current: readonly string[], removed: readonly string[]) => void): () => void;
}

/** The default lookup timeout per try and tries per lookup (c-ares defaults are 5 s × 4). */
const LOOKUP_TIMEOUT_MS = 2000;
const LOOKUP_TRIES = 2;

/**
 * A resolver on `servers` (IP or IP:PORT, e.g. WOLK_DNS_SERVERS; [::1]:53 for IPv6 with a port), or on
 * the system's (/etc/resolv.conf) when none are given.
 */
export function dnsResolver(servers?: readonly string[]): SrvResolver {
  const r = new Resolver({ timeout: LOOKUP_TIMEOUT_MS, tries: LOOKUP_TRIES });
  if (servers && servers.length > 0) r.setServers([...servers]);
  return r;
}

export function fixedEndpoints(list: readonly string[]): Endpoints {
  const frozen = Object.freeze([...list]);
  return { current: () => frozen, emptyReason: () => 'no endpoint configured' };
}

export function toEndpoints(e: EndpointsLike): Endpoints {
  return Array.isArray(e) ? fixedEndpoints(e as readonly string[]) : (e as Endpoints);
}

/** Whether `e` changes over time (an EndpointSet), so that pools can follow it (ClientPool.follow). */
export function isEndpointSet(e: EndpointsLike): e is EndpointSet {
  return !Array.isArray(e) && typeof (e as Partial<EndpointSet>).onChange === 'function';
}

/** host:port of an SRV record (the target's trailing dot dropped; IPv6 literals bracketed). */
export function srvEndpoint(r: SrvRecord): string {
  const host = r.name.replace(/\.$/, '');
  return `${host.includes(':') ? `[${host}]` : host}:${r.port}`;
}

export function endpointSet(o: EndpointSetOptions): EndpointSet {
  const staticList = [...new Set(o.static ?? [])].filter((e) => e !== o.exclude);
  const refreshMs = o.refreshMs ?? 30_000;
  const retryMs = Math.min(o.retryMs ?? 1000, refreshMs);
  const log = o.logger;
  let resolver = o.resolver;
  let current: readonly string[] = Object.freeze([...staticList]);
  /** Targets of the last successful lookup; undefined until one succeeds. */
  let found: readonly string[] | undefined;
  let lastError: string | undefined;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<void> | undefined;
  const listeners = new Set<(current: readonly string[], removed: readonly string[]) => void>();

  const set = (targets: readonly string[]) => {
    const next = [...new Set([...staticList, ...targets])].filter((e) => e !== o.exclude);
    const same = next.length === current.length && next.every((e, i) => e === current[i]);
    if (same) return;
    const removed = current.filter((e) => !next.includes(e));
    const added = next.filter((e) => !current.includes(e));
    current = Object.freeze(next);
    log.info('endpoints changed', { from: o.what, srv: o.srv, added, removed, count: next.length });
    for (const l of listeners) {
      try {
        l(current, removed);
      } catch (err) {
        log.error('an endpoint change listener failed', { from: o.what, error: err });
      }
    }
  };

  const lookup = async (): Promise<void> => {
    const name = o.srv!;
    try {
      resolver ??= dnsResolver();
      const records = await resolver.resolveSrv(name);
      if (records.length === 0) throw Object.assign(new Error('no SRV records'), { code: 'ENODATA' });
      const targets = [...new Set(records.map(srvEndpoint))];
      if (found === undefined || failures > 0) log.info('SRV name resolved', { from: o.what, srv: name, targets: targets.length });
      found = targets;
      failures = 0;
      lastError = undefined;
      set(targets);
    } catch (err) {
      failures++;
      const e = err as NodeJS.ErrnoException;
      lastError = `${e.code ?? 'error'}: ${e.message}`;
      // Loud while there is nothing to use; quieter (still a warning) when the last good set stays.
      log.warn(found === undefined ? 'SRV lookup failed; no endpoints from it yet, retrying' : 'SRV lookup failed; keeping the last good endpoints', {
        from: o.what,
        srv: name,
        error: lastError,
        keeping: current.length,
        failures,
      });
    }
  };

  const refresh = (): Promise<void> => {
    if (o.srv === undefined) return Promise.resolve();
    inFlight ??= lookup().finally(() => (inFlight = undefined));
    return inFlight;
  };

  const schedule = () => {
    if (!running) return;
    // Until the name has answered once, retry sooner (doubling); then every refreshMs.
    const wait = found === undefined ? Math.min(refreshMs, retryMs * 2 ** Math.min(Math.max(failures - 1, 0), 20)) : refreshMs;
    clearTimeout(timer); // one timer, even after a stop() and start() while a lookup ran
    timer = setTimeout(() => void refresh().then(schedule), wait);
    timer.unref();
  };

  return {
    srv: o.srv,
    current: () => current,
    async start() {
      if (o.srv === undefined || running) return;
      running = true;
      const startWaitMs = o.startWaitMs ?? 5000;
      let waited: NodeJS.Timeout | undefined;
      const first = refresh();
      const timedOut = await Promise.race([
        first.then(() => false),
        new Promise<boolean>((resolve) => {
          waited = setTimeout(() => resolve(true), startWaitMs);
          waited.unref();
        }),
      ]);
      clearTimeout(waited);
      if (timedOut) log.warn('SRV lookup still running at start-up; going on without it', { from: o.what, srv: o.srv, waitedMs: startWaitMs });
      if (current.length === 0) {
        log.warn(`no endpoints yet from ${o.what}: calls fail as unavailable until ${o.srv} resolves (retried with backoff)`, { srv: o.srv, error: lastError ?? null });
      }
      // The periodic refresh starts after the first lookup ends (it may still be running after a timeout).
      void first.then(schedule);
    },
    stop() {
      running = false;
      clearTimeout(timer);
      timer = undefined;
    },
    refresh,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emptyReason() {
      if (o.srv === undefined) return `${o.what}: none configured`;
      return `${o.what}: ${o.srv} has not resolved to any endpoint yet${lastError ? ` (last lookup: ${lastError})` : ''}`;
    },
  };
}
