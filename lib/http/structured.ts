// RFC 8941 Structured Field Values as RFC 9421 (Signature-Input, Signature) and RFC 9530
// (Content-Digest) use them. Parsing and serializing are done by the `structured-headers` package
// (RFC 8941 / RFC 9651, checked against the httpwg structured-field test suite upstream); this module
// only maps its tuples onto named shapes and its errors onto StructuredFieldError, so the
// authentication path does not depend on a hand-written parser.
import {
  DisplayString,
  ParseError,
  SerializeError,
  Token,
  parseDictionary as sfParseDictionary,
  serializeBareItem as sfSerializeBareItem,
  serializeInnerList as sfSerializeInnerList,
  serializeItem as sfSerializeItem,
  serializeParameters as sfSerializeParameters,
  type BareItem as SfBareItem,
  type InnerList as SfInnerList,
  type Item as SfItem,
  type Parameters as SfParameters,
} from 'structured-headers';

export { DisplayString, Token };

export class StructuredFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StructuredFieldError';
  }
}

/**
 * A bare item: integers and decimals are numbers (RFC 8941 integers have at most 15 digits, so they
 * are exact), byte sequences Uint8Array, tokens Token. RFC 9651's Date and Display String parse too.
 */
export type BareItem = number | string | Token | Uint8Array | boolean | Date | DisplayString;

export type Parameters = ReadonlyMap<string, BareItem>;

export interface Item {
  readonly value: BareItem;
  readonly params: Parameters;
}

export interface InnerList {
  readonly items: readonly Item[];
  readonly params: Parameters;
}

export type DictMember = Item | InnerList;

export function isInnerList(m: DictMember): m is InnerList {
  return 'items' in m;
}

function fromSfBare(v: SfBareItem): BareItem {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return v as BareItem;
}

function fromSfParams(p: SfParameters): Map<string, BareItem> {
  const out = new Map<string, BareItem>();
  for (const [k, v] of p) out.set(k, fromSfBare(v));
  return out;
}

function fromSfItem(i: SfItem): Item {
  return { value: fromSfBare(i[0]), params: fromSfParams(i[1]) };
}

function toSfParams(p: Parameters): SfParameters {
  return new Map([...p].map(([k, v]) => [k, v as SfBareItem]));
}

function toSfItem(i: Item): SfItem {
  return [i.value as SfBareItem, toSfParams(i.params)];
}

function rethrow(err: unknown, field?: string): never {
  if (err instanceof ParseError || err instanceof SerializeError || err instanceof TypeError) {
    throw new StructuredFieldError(`structured field: ${err.message}${field === undefined ? '' : ` in "${field}"`}`);
  }
  throw err;
}

/** Parses an RFC 8941 dictionary (§4.2.2; e.g. Signature-Input, Signature, Content-Digest). Throws StructuredFieldError. */
export function parseDictionary(field: string): Map<string, DictMember> {
  let dict;
  try {
    dict = sfParseDictionary(field);
  } catch (err) {
    rethrow(err, field);
  }
  const out = new Map<string, DictMember>();
  for (const [k, member] of dict) {
    const [value, params] = member;
    out.set(k, Array.isArray(value) ? { items: (value as SfItem[]).map(fromSfItem), params: fromSfParams(params) } : fromSfItem(member as SfItem));
  }
  return out;
}

/** §4.1.3.1 serialization of a bare item. */
export function serializeBareItem(v: BareItem): string {
  try {
    return sfSerializeBareItem(v as SfBareItem);
  } catch (err) {
    rethrow(err);
  }
}

/** §4.1.1.2 serialization of parameters (in insertion order). */
export function serializeParams(params: Parameters): string {
  try {
    return sfSerializeParameters(toSfParams(params));
  } catch (err) {
    rethrow(err);
  }
}

export function serializeItem(item: Item): string {
  try {
    return sfSerializeItem(toSfItem(item));
  } catch (err) {
    rethrow(err);
  }
}

/** §4.1.1.1 serialization of an inner list: what RFC 9421 §2.3 needs to rebuild "@signature-params". */
export function serializeInnerList(list: InnerList): string {
  const sf: SfInnerList = [list.items.map(toSfItem), toSfParams(list.params)];
  try {
    return sfSerializeInnerList(sf);
  } catch (err) {
    rethrow(err);
  }
}
