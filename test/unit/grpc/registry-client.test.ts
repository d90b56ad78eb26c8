// The chain registry client (lib/chain/registry-client.ts) retries a round no consensus node proves
// yet; close() ends that retry loop and the calls in flight at once (it used to sleep on through its
// backoff, calling closed clients).
import test from 'ava';
import { deadEndpoint } from '../../helpers/ports.js';
import { chainRegistry } from '../../../lib/chain/registry-client.js';

test('with every node down the lookup fails naming them; close() ends a lookup that is retrying', async (t) => {
  const dead = await deadEndpoint();
  const once = chainRegistry([dead], { attempts: 1, timeoutMs: 2000 });
  const err = await t.throwsAsync(once.at(3));
  t.regex(err.message, new RegExp(`no consensus node proved the registry at round 3 \\(.*${dead.replace(/\./g, '\\.')}`));
  once.close();

  const reg = chainRegistry([dead], { attempts: 1000, timeoutMs: 2000 });
  const lookup = reg.at(3);
  lookup.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300)); // a few passes have failed and it is backing off
  const closedAt = Date.now();
  reg.close();
  const e = await t.throwsAsync(lookup);
  t.true(Date.now() - closedAt < 1000, `ended ${Date.now() - closedAt} ms after close()`);
  t.regex(e.message, /closed/);
});
