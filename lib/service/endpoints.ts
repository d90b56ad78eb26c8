// A service's configured endpoints (options.ts EndpointSource) as a started EndpointSet
// (lib/net/endpoints.ts): resolved with the service's DNS settings, refreshed until close().
import { dnsResolver, endpointSet, type EndpointSet } from '../net/endpoints.js';
import type { Logger } from '../log/logger.js';
import type { CommonOptions, EndpointSource } from './options.js';

export async function startEndpoints(options: CommonOptions, source: EndpointSource, logger: Logger, o: { readonly exclude?: string } = {}): Promise<EndpointSet> {
  const set = endpointSet({
    static: source.static,
    srv: source.srv,
    what: source.what,
    refreshMs: options.discovery.srvRefreshMs,
    ...(source.srv !== undefined ? { resolver: dnsResolver(options.discovery.dnsServers) } : {}),
    ...(o.exclude !== undefined ? { exclude: o.exclude } : {}),
    logger: logger.child({ module: 'endpoints' }),
  });
  await set.start();
  return set;
}
