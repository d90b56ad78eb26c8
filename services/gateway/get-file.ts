// The read flow, GET and HEAD /wolk/{owner}/{collection}/{key} (docs/http-api.md "Reads"): the key's
// record from consensus (proof checked), then the bytes from the storers that committed, verified
// chunk by chunk before they reach the client (read.ts); `?proof` answers the record with everything
// an offline verifier needs.
import { GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { BlockHeader } from '../../gen/wolk/common/v1/chain.js';
import { pathStateKey } from '../../lib/chain/state-keys.js';
import { sendJson } from '../../lib/http/problem.js';
import { contentRange, parseRange } from '../../lib/http/range.js';
import { hex, type ApiContext, type Routed } from './context.js';
import { HttpProblem, problem } from './problems.js';
import { readVerified, ReadFailed, storerOrder } from './read.js';
import { keyRecord } from './records.js';
import { header } from './request.js';
import type { FilePath } from './put-file.js';

export async function getFile(ctx: ApiContext, r: Routed, p: FilePath): Promise<void> {
  const { req, res, signal } = r;
  const { record, proof } = await keyRecord(ctx, p.owner, p.collection, p.key);
  const file = record.file!;
  const filehash = hex(file.filehash);
  if (r.query.has('proof')) {
    // The parent's header too: its seed is what the certificate's credentials were drawn with, so a
    // client holding the genesis can check the cert votes' sortition weights reach the quorum.
    const round = proof.response.header?.round ?? 0n;
    const parent = round > 0n ? await ctx.chain.block(round - 1n).catch(() => null) : null;
    const parentHeader = parent?.block?.header ? Buffer.from(BlockHeader.encode(parent.block.header).finish()).toString('base64') : undefined;
    return sendJson(res, 200, {
      uri: `wolk://${p.owner}/${p.collection}/${p.key}`,
      stateKey: hex(pathStateKey(p.owner, p.collection, p.key)),
      round: proof.round.toString(),
      stateRoot: hex(proof.response.header?.stateRoot ?? new Uint8Array()),
      record: { filehash, size: file.size.toString(), chunkSize: file.chunkSize, contentType: record.contentType, txid: hex(record.txId), round: record.round.toString(), storers: record.commitments.map((c) => hex(c.storerId)) },
      // The whole GetStateProofResponse (SMT proof, header, certificate), base64 protobuf: what an
      // offline verifier checks (lib/client/proof.ts).
      proof: Buffer.from(GetStateProofResponse.encode(proof.response).finish()).toString('base64'),
      ...(parentHeader ? { parentHeader } : {}),
    });
  }
  const size = Number(file.size);
  const etag = `"${filehash}"`;
  const base: Record<string, string> = {
    etag,
    'content-type': record.contentType || 'application/octet-stream',
    'accept-ranges': 'bytes',
    'wolk-round': record.round.toString(),
  };
  if (header(req, 'if-none-match')?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    res.writeHead(304, base);
    res.end();
    return;
  }
  const range = parseRange(header(req, 'range'), size);
  if (range.kind === 'unsatisfiable') {
    throw new HttpProblem({ type: '/problems/range-not-satisfiable', title: 'Range Not Satisfiable', status: 416, detail: `the file has ${size} bytes` }, { 'content-range': `bytes */${size}` });
  }
  const [start, end] = range.kind === 'range' ? [range.start, range.end] : [0, size - 1];
  const length = Math.max(0, end - start + 1);
  const headers = { ...base, 'content-length': String(length), ...(range.kind === 'range' ? { 'content-range': contentRange(start, end, size) } : {}) };
  if (req.method === 'HEAD' || length === 0) {
    res.writeHead(range.kind === 'range' ? 206 : 200, headers);
    res.end();
    return;
  }
  // Best reputation first when the indexer ranks the file's storers; commitment order otherwise; a
  // storer that failed a read lately after the others.
  const ranked = ctx.indexer ? await ctx.indexer.fileLocations(file.filehash).catch((err: unknown) => (ctx.logger.debug('no storer ranking from the indexer', { error: err }), null)) : null;
  const endpoints: string[] = [];
  for (const c of storerOrder(record.commitments.map((x) => hex(x.storerId)), ranked)) {
    const e = (await ctx.registry.endpointOf(c.id)) ?? c.indexedEndpoint;
    if (e) endpoints.push(e);
  }
  if (endpoints.length === 0) throw problem(503, 'no-storers', 'Service Unavailable', 'no storer of this file can be reached');
  const ordered = ctx.storerFailures.order(endpoints);
  let started = false;
  const write = async (bytes: Buffer) => {
    if (!started) {
      res.writeHead(range.kind === 'range' ? 206 : 200, headers);
      started = true;
    }
    if (!res.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  };
  try {
    await readVerified(ctx.clients, ctx.logger, { filehash: file.filehash, size, chunkSize: file.chunkSize, start, end, endpoints: ordered, write, signal, failures: ctx.storerFailures });
    res.end();
  } catch (err) {
    if (err instanceof ReadFailed && !started) throw err;
    ctx.logger.warn('read failed mid-stream', { error: err });
    res.destroy();
  }
}
