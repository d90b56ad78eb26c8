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

/** The gateway path, each segment percent-encoded ('/' inside a key kept as a separator). */
export function gatewayPath(u: WolkUri): string {
  let p = `/wolk/${encodeURIComponent(u.owner)}`;
  if (u.collection !== undefined) p += `/${encodeURIComponent(u.collection)}/`;
  if (u.key !== undefined) p += u.key.split('/').map(encodeURIComponent).join('/');
  return p;
}
