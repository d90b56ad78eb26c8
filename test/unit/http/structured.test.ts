// RFC 8941 structured fields as the authentication path parses them (lib/http/structured.ts over the
// `structured-headers` package). Each case is a rule of RFC 8941 §4.2 written out by hand; the
// hand-written parser this replaced got the ones marked "was wrong" wrong.
import test from 'ava';
import { Token, isInnerList, parseDictionary, serializeInnerList, StructuredFieldError } from '../../../lib/http/structured.js';
import { parseContentDigest, SignatureError } from '../../../lib/http/signatures.js';

const valid: readonly [string, string, unknown][] = [
  ['integer member', 'a=1', 1],
  ['negative integer', 'a=-42', -42],
  ['15-digit integer (the largest allowed)', 'a=999999999999999', 999_999_999_999_999],
  ['decimal (was wrong: refused)', 'a=1.5', 1.5],
  ['string with escapes', 'a="say \\"hi\\" \\\\"', 'say "hi" \\'],
  ['token with : and /', 'a=foo:bar/baz', 'foo:bar/baz'],
  ['boolean true member without a value', 'a', true],
  ['boolean ?0', 'a=?0', false],
  ['trailing OWS after the last member (§4.2.2 discards OWS)', 'a=1\t', 1],
  ['OWS around commas', 'b=2 ,\ta=1', 1],
  ['a repeated key keeps the last value', 'a=1, a=2', 2],
];

for (const [name, field, want] of valid) {
  test(`parses: ${name}`, (t) => {
    const m = parseDictionary(field).get('a');
    t.truthy(m, `no member "a" in ${JSON.stringify(field)}`);
    if (!m || isInnerList(m)) return t.fail('expected an item');
    t.deepEqual(m.value instanceof Token ? m.value.toString() : m.value, want);
  });
}

const invalid: readonly [string, string][] = [
  ['leading HTAB (was wrong: accepted; only SP is discarded first)', '\ta=1'],
  ['uppercase key', 'A=1'],
  ['16-digit integer', 'a=1234567890123456'],
  ['decimal with 4 fraction digits', 'a=1.1234'],
  ['decimal ending in a period', 'a=1.'],
  ['trailing comma', 'a=1,'],
  ['non-ASCII in a string', 'a="é"'],
  ['bad escape in a string', 'a="\\x"'],
  ['unterminated string', 'a="abc'],
  ['boolean other than ?0/?1', 'a=?2'],
  ['space inside a byte sequence', 'a=:AA AA:'],
  ['unterminated inner list', 'a=(1 2'],
  ['garbage after an inner list', 'a=(1 2)x'],
  ['two inner lists without a comma', 'a=(1)(2)'],
];

for (const [name, field] of invalid) {
  test(`refuses: ${name}`, (t) => {
    t.throws(() => parseDictionary(field), { instanceOf: StructuredFieldError }, JSON.stringify(field));
  });
}

test('byte sequences come back as bytes', (t) => {
  const m = parseDictionary('sha-256=:YWJj:').get('sha-256');
  if (!m || isInnerList(m)) return t.fail('expected an item');
  t.true(m.value instanceof Uint8Array);
  t.is(Buffer.from(m.value as Uint8Array).toString('utf8'), 'abc');
});

test('an inner list serializes back to what RFC 9421 signs ("@signature-params")', (t) => {
  const list = '("@method" "@path" "content-digest");created=1700000000;nonce="abcdefghijklmnop";keyid="k";alg="ed25519"';
  const m = parseDictionary(`wolk=${list}`).get('wolk');
  if (!m || !isInnerList(m)) return t.fail('expected an inner list');
  t.deepEqual(m.items.map((i) => i.value), ['@method', '@path', 'content-digest']);
  t.is(m.params.get('created'), 1_700_000_000);
  t.is(serializeInnerList(m), list);
});

test('Content-Digest: a malformed field is a SignatureError naming the header, other algorithms are ignored', (t) => {
  for (const bad of ['sha-256=:AAAA:', 'sha-256=garbage', '((((']) {
    const err = t.throws(() => parseContentDigest(bad), { instanceOf: SignatureError }, bad);
    t.regex(err?.message ?? '', /Content-Digest/);
  }
  t.is(parseContentDigest('unixsum=1.5'), null, 'a field with only other algorithms has no sha-256 digest');
  const digest = parseContentDigest(`sha-512=:${Buffer.alloc(64).toString('base64')}:, sha-256=:${Buffer.alloc(32, 7).toString('base64')}:`);
  t.deepEqual(digest && Buffer.from(digest), Buffer.alloc(32, 7));
});
