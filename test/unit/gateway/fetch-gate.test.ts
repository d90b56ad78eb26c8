// The gateway's admission of storers fetching an upload (services/gateway/source.ts FetchGate), and which
// upload of a file a fetch reads when several are under way (SpoolRegistry).
import test from 'ava';
import { FetchGate, SpoolRegistry, type UploadSource } from '../../../services/gateway/source.js';

const tick = () => new Promise((r) => setImmediate(r));

test('at most `limit` fetches run; a failed one lets a waiting one in, one that ends well keeps its slot', async (t) => {
  const gate = new FetchGate(2);
  const signal = new AbortController().signal;
  const a = await gate.enter(signal);
  await gate.enter(signal); // b: ends well, keeps its slot
  let cAdmitted = false;
  const c = gate.enter(signal).then((s) => ((cAdmitted = true), s));
  await tick();
  t.false(cAdmitted, 'a third fetch waits');
  t.is(gate.queued, 1);
  a.failed();
  const cSlot = await c;
  t.true(cAdmitted, 'the failed fetch gave its slot to the waiting one');
  cSlot.failed();
  cSlot.failed(); // giving a slot back twice gives back one
  const d = await gate.enter(signal);
  let eAdmitted = false;
  void gate.enter(signal).then(() => (eAdmitted = true), () => undefined);
  await tick();
  t.false(eAdmitted, 'the double failed() did not open a second slot');
  d.failed();
  await tick();
  t.true(eAdmitted);
});

test('raise lets one more in; close refuses the waiting ones; abort withdraws a waiting one', async (t) => {
  const gate = new FetchGate(1);
  const signal = new AbortController().signal;
  await gate.enter(signal);
  const second = gate.enter(signal);
  gate.raise();
  await t.notThrowsAsync(second);
  const ac = new AbortController();
  const aborted = gate.enter(ac.signal);
  const refused = gate.enter(signal);
  await tick();
  t.is(gate.queued, 2);
  ac.abort();
  await t.throwsAsync(aborted, { message: /cancelled/ });
  t.is(gate.queued, 1);
  gate.close();
  await t.throwsAsync(refused, { message: /upload is over/ });
  await t.throwsAsync(gate.enter(signal), { message: /upload is over/ });
});

test('uploads of one file at once: fetches read a checked source first, then one still arriving, never a failed one while another serves', (t) => {
  const registry = new SpoolRegistry();
  const filehash = new Uint8Array(32).fill(7);
  const source = (name: string, state: { failed: boolean; checked: boolean }): UploadSource & { name: string } => ({
    name,
    filehash,
    size: 10,
    chunkSize: 4096,
    pieces: async function* () {},
    failed: () => state.failed,
    checked: () => state.checked,
  });
  const first = { failed: false, checked: false };
  const second = { failed: false, checked: false };
  const releaseFirst = registry.add(source('first', first), 4);
  t.true(registry.streaming(filehash), 'an unchecked body is arriving');
  const releaseSecond = registry.add(source('second', second), 4);
  const served = () => (registry.get(filehash) as ReturnType<typeof source> | undefined)?.name;
  t.is(served(), 'first', 'both arriving: the first');
  second.checked = true;
  t.is(served(), 'second', 'a checked source before one still arriving');
  first.failed = true;
  second.checked = false;
  t.is(served(), 'second', 'a failed source is passed over');
  second.failed = true;
  t.is(served(), 'first', 'all failed: the first, whose failure the fetch reports');
  t.false(registry.streaming(filehash), 'no body still arriving');
  releaseFirst();
  t.is(served(), 'second');
  releaseSecond();
  t.is(registry.get(filehash), undefined, 'released: not served');
  t.is(registry.size, 0);
});
