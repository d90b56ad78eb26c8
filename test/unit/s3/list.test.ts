// ListObjectsV2 paging (lib/s3/list.ts): walking every page with any max-keys gives exactly the keys and
// common prefixes of one unpaged listing, each once, in S3's order (UTF-8 bytes), for seeded key sets.
import test from 'ava';
import { compareKeys, listPage } from '../../../lib/s3/list.js';
import { S3Error } from '../../../lib/s3/errors.js';
import { logSeedOnFailure, testPrng } from '../../helpers/seed.js';

logSeedOnFailure(test);

/** The unpaged answer, computed the plain way: filter by prefix, roll up at the first delimiter after it. */
function model(keys: string[], prefix: string, delimiter: string) {
  const contents: string[] = [];
  const prefixes = new Set<string>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const i = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
    if (i >= 0) prefixes.add(k.slice(0, i + delimiter.length));
    else contents.push(k);
  }
  return { contents, prefixes: [...prefixes] };
}

test('paging through every page equals the unpaged listing (seeded keys, prefixes, delimiters, page sizes)', async (t) => {
  const prng = testPrng('unit/s3/list');
  const parts = ['a', 'b', 'photos', 'img', 'x y', 'é', '日', '🙂', '2024', '-'];
  for (let round = 0; round < 40; round++) {
    const keys = new Set<string>();
    const n = 1 + (prng.next() % 60);
    while (keys.size < n) {
      const depth = 1 + (prng.next() % 3);
      keys.add(Array.from({ length: depth }, () => parts[prng.next() % parts.length]).join(['/', '/', '-'][prng.next() % 3]!));
    }
    const sorted = [...keys].sort(compareKeys);
    const prefix = ['', 'a', 'photos/', 'b/', '日'][prng.next() % 5]!;
    const delimiter = ['', '/', '-'][prng.next() % 3]!;
    const maxKeys = 1 + (prng.next() % 7);
    const want = model(sorted, prefix, delimiter);
    const got = { contents: [] as string[], prefixes: [] as string[] };
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await listPage(
        sorted.map((key) => ({ key })),
        { prefix, delimiter, maxKeys, ...(token !== undefined ? { continuationToken: token } : {}) },
      );
      t.true(page.contents.length + page.commonPrefixes.length <= maxKeys);
      got.contents.push(...page.contents.map((e) => e.key));
      got.prefixes.push(...page.commonPrefixes);
      token = page.isTruncated ? page.nextContinuationToken : undefined;
      if (page.isTruncated) t.truthy(page.nextContinuationToken, 'a truncated page carries a token');
      t.true(++pages < 200, 'paging ends');
    } while (token !== undefined);
    t.deepEqual(got, want, `keys ${JSON.stringify(sorted)} prefix ${JSON.stringify(prefix)} delimiter ${JSON.stringify(delimiter)} max-keys ${maxKeys}`);
  }
});

test('StartAfter skips up to and including the key; a forged token is InvalidArgument', async (t) => {
  const keys = ['a', 'b', 'c', 'd'].map((key) => ({ key }));
  const page = await listPage(keys, { prefix: '', delimiter: '', maxKeys: 2, startAfter: 'b' });
  t.deepEqual(page.contents.map((e) => e.key), ['c', 'd']);
  t.false(page.isTruncated);
  const err = await t.throwsAsync(listPage(keys, { prefix: '', delimiter: '', maxKeys: 2, continuationToken: 'not a token!' }), { instanceOf: S3Error });
  t.is(err!.code, 'InvalidArgument');
});

test('keys sort by UTF-8 bytes, as S3 does, not by UTF-16 units', (t) => {
  // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F642 (F0 …) in bytes, after it in UTF-16 units.
  t.true(compareKeys('\uff5e', '🙂') < 0);
  t.true('\uff5e' > '🙂');
});
