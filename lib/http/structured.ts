// The subset of RFC 8941 Structured Field Values that RFC 9421 (Signature-Input, Signature) and
// RFC 9530 (Content-Digest) use: dictionaries whose members are inner lists or byte sequences, with
// parameters whose values are integers, strings, tokens, booleans or byte sequences.
//
// Parsing follows RFC 8941 §4.2 (strict: anything malformed throws StructuredFieldError); serializing
// follows §4.1, which is what RFC 9421 §2.3 needs to rebuild "@signature-params" exactly.

export class StructuredFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StructuredFieldError';
  }
}

export type BareItem = bigint | string | Token | Uint8Array | boolean;

/** An RFC 8941 token (distinct from a string: serialized without quotes). */
export class Token {
  constructor(readonly value: string) {}
}

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

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw new StructuredFieldError(`structured field: ${what} at position ${this.i} of "${this.s}"`);
  }
  peek(): string {
    return this.s[this.i] ?? '';
  }
  eof(): boolean {
    return this.i >= this.s.length;
  }
  skipSP(): void {
    while (this.peek() === ' ') this.i++;
  }
  skipOWS(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }

  // §4.2.3.3
  key(): string {
    const c = this.peek();
    if (!/[a-z*]/.test(c)) this.fail('expected a key');
    const start = this.i;
    while (/[a-z0-9_\-.*]/.test(this.peek()) && !this.eof()) this.i++;
    return this.s.slice(start, this.i);
  }

  // §4.2.3
  bareItem(): BareItem {
    const c = this.peek();
    if (c === '-' || /[0-9]/.test(c)) return this.integer();
    if (c === '"') return this.string();
    if (c === ':') return this.bytes();
    if (c === '?') return this.boolean();
    if (/[A-Za-z*]/.test(c)) return this.token();
    return this.fail('expected an item');
  }

  integer(): bigint {
    const m = /^-?[0-9]{1,15}/.exec(this.s.slice(this.i));
    if (!m) this.fail('expected an integer');
    if (this.s[this.i + m[0].length] === '.') this.fail('decimals are not accepted here');
    this.i += m[0].length;
    return BigInt(m[0]);
  }

  string(): string {
    this.i++; // opening quote
    let out = '';
    for (;;) {
      if (this.eof()) this.fail('unterminated string');
      const c = this.s[this.i++]!;
      if (c === '\\') {
        const n = this.s[this.i++];
        if (n !== '"' && n !== '\\') this.fail('bad escape in string');
        out += n;
      } else if (c === '"') {
        return out;
      } else {
        const code = c.charCodeAt(0);
        if (code < 0x20 || code > 0x7e) this.fail('non-printable character in string');
        out += c;
      }
    }
  }

  token(): Token {
    const start = this.i;
    this.i++;
    while (/[A-Za-z0-9!#$%&'*+\-.^_`|~:/]/.test(this.peek()) && !this.eof()) this.i++;
    return new Token(this.s.slice(start, this.i));
  }

  bytes(): Uint8Array {
    this.i++;
    const end = this.s.indexOf(':', this.i);
    if (end < 0) this.fail('unterminated byte sequence');
    const b64 = this.s.slice(this.i, end);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) this.fail('byte sequence is not base64');
    this.i = end + 1;
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }

  boolean(): boolean {
    this.i++;
    const c = this.s[this.i++];
    if (c === '1') return true;
    if (c === '0') return false;
    return this.fail('expected ?0 or ?1');
  }

  // §4.2.3.2
  params(): Map<string, BareItem> {
    const out = new Map<string, BareItem>();
    while (this.peek() === ';') {
      this.i++;
      this.skipSP();
      const k = this.key();
      let v: BareItem = true;
      if (this.peek() === '=') {
        this.i++;
        v = this.bareItem();
      }
      out.set(k, v);
    }
    return out;
  }

  item(): Item {
    const value = this.bareItem();
    return { value, params: this.params() };
  }

  // §4.2.1.2
  innerList(): InnerList {
    this.i++; // (
    const items: Item[] = [];
    for (;;) {
      this.skipSP();
      if (this.peek() === ')') {
        this.i++;
        return { items, params: this.params() };
      }
      if (this.eof()) this.fail('unterminated inner list');
      items.push(this.item());
      const c = this.peek();
      if (c !== ' ' && c !== ')') this.fail('expected space or ) in inner list');
    }
  }

  // §4.2.2
  dictionary(): Map<string, DictMember> {
    const out = new Map<string, DictMember>();
    this.skipSP();
    if (this.eof()) return out;
    for (;;) {
      const k = this.key();
      let m: DictMember;
      if (this.peek() === '=') {
        this.i++;
        m = this.peek() === '(' ? this.innerList() : this.item();
      } else {
        m = { value: true, params: this.params() };
      }
      out.set(k, m);
      this.skipOWS();
      if (this.eof()) return out;
      if (this.peek() !== ',') this.fail('expected , between dictionary members');
      this.i++;
      this.skipOWS();
      if (this.eof()) this.fail('trailing comma');
    }
  }
}

/** Parses an RFC 8941 dictionary (e.g. Signature-Input, Signature, Content-Digest). */
export function parseDictionary(field: string): Map<string, DictMember> {
  return new Parser(field.trim()).dictionary();
}

/** §4.1.3.1 serialization of a bare item. */
export function serializeBareItem(v: BareItem): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '?1' : '?0';
  if (v instanceof Token) return v.value;
  if (v instanceof Uint8Array) return `:${Buffer.from(v).toString('base64')}:`;
  if (!/^[\x20-\x7e]*$/.test(v)) throw new StructuredFieldError(`structured field: string has non-printable characters: ${JSON.stringify(v)}`);
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function serializeParams(params: Parameters): string {
  let out = '';
  for (const [k, v] of params) out += v === true ? `;${k}` : `;${k}=${serializeBareItem(v)}`;
  return out;
}

export function serializeItem(item: Item): string {
  return serializeBareItem(item.value) + serializeParams(item.params);
}

export function serializeInnerList(list: InnerList): string {
  return `(${list.items.map(serializeItem).join(' ')})${serializeParams(list.params)}`;
}
