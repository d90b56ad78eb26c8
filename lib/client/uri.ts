// wolk://OWNER/COLLECTION/KEY URIs and the gateway paths they map to.
export interface WolkUri {
  readonly owner: string;
  readonly collection?: string;
  readonly key?: string;
}

export function parseWolkUri(uri: string): WolkUri {
  const m = /^wolk:\/\/([^/]+)(?:\/([^/]+)(?:\/(.*))?)?$/.exec(uri);
  if (!m) throw new Error(`expected wolk://OWNER/COLLECTION/KEY, got "${uri}"`);
  return { owner: m[1]!, ...(m[2] !== undefined ? { collection: m[2] } : {}), ...(m[3] ? { key: m[3] } : {}) };
}

/**
 * One path segment, percent-encoded. A segment that is exactly "." or ".." (valid in keys and
 * collection names) is sent as %2E / %2E%2E: the gateway decodes it back, while URL normalisation
 * (RFC 3986 §5.2.4, the WHATWG URL parser) would otherwise remove it, so that the path signed and the
 * path sent would name another key. The request must still be sent without normalisation (WHATWG
 * treats %2E as a dot too): lib/client/transport.ts sends the path exactly as built here.
 */
function segment(s: string): string {
  if (s === '.') return '%2E';
  if (s === '..') return '%2E%2E';
  return encodeURIComponent(s);
}

/** The gateway path, each segment percent-encoded ('/' inside a key kept as a separator). */
export function gatewayPath(u: WolkUri): string {
  let p = `/wolk/${segment(u.owner)}`;
  if (u.collection !== undefined) p += `/${segment(u.collection)}/`;
  if (u.key !== undefined) p += u.key.split('/').map(segment).join('/');
  return p;
}
