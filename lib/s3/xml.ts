// The little XML S3 speaks: escaping for the answers this endpoint writes, and a reader for the two
// request bodies it accepts (CreateBucketConfiguration, CompleteMultipartUpload), which are flat
// enough that a tag scanner suffices; anything else is MalformedXML, never a crash.
import { S3Error } from './errors.js';

export function xmlEscape(s: string): string {
  // Characters XML 1.0 cannot carry at all are written as U+FFFD rather than producing a broken document.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
}

export function xmlUnescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#\d+);/g, (_m, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const n = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    if (!(n > 0 && n <= 0x10ffff)) throw new S3Error('MalformedXML', `bad character reference &${e};`);
    return String.fromCodePoint(n);
  });
}

/** An element `<name>…</name>` per item, text escaped; undefined items left out. */
export function el(name: string, value: string | number | undefined): string {
  return value === undefined ? '' : `<${name}>${xmlEscape(String(value))}</${name}>`;
}

export const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * The parts of a CompleteMultipartUpload body: [{partNumber, etag}] in document order.
 * <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…</CompleteMultipartUpload>
 */
export function parseCompleteMultipart(body: string): { partNumber: number; etag: string }[] {
  if (!/<CompleteMultipartUpload[\s>]/.test(body)) throw new S3Error('MalformedXML', 'expected a <CompleteMultipartUpload> document');
  const parts: { partNumber: number; etag: string }[] = [];
  const re = /<Part>([\s\S]*?)<\/Part>/g;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const inner = m[1]!;
    const n = /<PartNumber>\s*(\d{1,5})\s*<\/PartNumber>/.exec(inner);
    const e = /<ETag>([\s\S]*?)<\/ETag>/.exec(inner);
    if (!n || !e) throw new S3Error('MalformedXML', 'every <Part> needs <PartNumber> and <ETag>');
    parts.push({ partNumber: Number(n[1]), etag: xmlUnescape(e[1]!).trim().replace(/^"|"$/g, '') });
  }
  if (parts.length === 0) throw new S3Error('MalformedXML', 'a CompleteMultipartUpload names at least one part');
  return parts;
}
