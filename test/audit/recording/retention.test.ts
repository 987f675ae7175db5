// Retention on real recordings in a temp directory: expired ones go by their policy's days (the default
// for a policy not configured), the size cap removes the oldest signed first and never an open recording
// still being written, and nothing goes while within limits.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CastWriter } from '../../../src/audit/recording/asciicast.js';
import { ChainedFile } from '../../../src/audit/recording/chain.js';
import { applyRetention, effectiveSizeCap, fileSystemBytes, listRecordings } from '../../../src/audit/recording/retention.js';
import { describeRecordingKey } from '../../../src/audit/recording/signing-key.js';
import { verifyRecording } from '../../../src/audit/recording/verify.js';

const key = describeRecordingKey(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);

interface Made {
  id: string;
  /** Days before NOW its files were last written. */
  age: number;
  policy?: string;
  open?: boolean;
  /** Lines of about 100 bytes; with rotateBytes 4 KiB, 100 lines make three cast parts. */
  lines?: number;
}

function make(dir: string, r: Made): void {
  const file = new ChainedFile(join(dir, r.id), { id: r.id, chunkBytes: 1024, rotateBytes: 4096, ...(r.policy ? { policy: r.policy } : {}) });
  const cast = new CastWriter(file, { width: 80, height: 24, startedAt: new Date(NOW - r.age * DAY), title: r.id, recordInput: false });
  for (let i = 0; i < (r.lines ?? 100); i++) cast.output(Buffer.from(`line ${i} ${'x'.repeat(80)}\r\n`));
  cast.end();
  if (r.open) file.flushChunk();
  else file.close(key);
  const when = new Date(NOW - r.age * DAY);
  for (const name of readdirSync(dir)) if (name.startsWith(`${r.id}.`)) utimesSync(join(dir, name), when, when);
}

const days: Record<string, number> = { short: 30, long: 1000 };
const rules = (maxTotalBytes = 1e12) => ({ retentionDays: (p: string) => days[p], maxTotalBytes, now: () => NOW });

t.test('recordings are grouped by their chain, parts and policy included', async (t) => {
  const dir = t.testdir();
  make(dir, { id: 's1-1', age: 1, policy: 'short' });
  make(dir, { id: 's1-10', age: 1, lines: 5 }); // an id that starts like the first's files
  const list = (await listRecordings(dir)).sort((a, b) => a.id.localeCompare(b.id));
  t.same(list.map((r) => [r.id, r.policy, r.signed, r.files.length]), [['s1-1', 'short', true, 5], ['s1-10', undefined, true, 3]]);
  t.ok(existsSync(join(dir, 's1-1.2.cast')), 'the first recording rotated');
  t.equal((await verifyRecording(join(dir, 's1-1'), key.publicKey)).status, 'intact', 'a policy in the chain header does not disturb verify');
});

t.test('expired recordings are deleted by their policy days; unknown policies keep 365 days', async (t) => {
  const dir = t.testdir();
  make(dir, { id: 'a-1', age: 40, policy: 'short' }); // expired
  make(dir, { id: 'b-1', age: 20, policy: 'short' });
  make(dir, { id: 'c-1', age: 400, policy: 'long' });
  make(dir, { id: 'd-1', age: 400, policy: 'gone' }); // expired under the default
  make(dir, { id: 'e-1', age: 300, policy: 'gone' });
  make(dir, { id: 'f-1', age: 366 }); // no policy in the header: default, expired
  const { deleted, failed } = await applyRetention(dir, rules());
  t.same(failed, []);
  t.same(deleted.map((d) => [d.id, d.policy, d.reason, d.ageDays]).sort(), [['a-1', 'short', 'expired', 40], ['d-1', 'gone', 'expired', 400], ['f-1', undefined, 'expired', 366]]);
  t.ok(deleted.every((d) => d.bytes > 9000), 'bytes are every file of the recording');
  t.same([...new Set(readdirSync(dir).map((n) => n.split('.')[0]))].sort(), ['b-1', 'c-1', 'e-1'], 'every file of the expired ones is gone');
});

t.test('the size cap deletes the oldest signed recordings first, never an open recent one', async (t) => {
  const dir = t.testdir();
  make(dir, { id: 'open-old', age: 5, open: true }); // unsigned and idle for days: abandoned, may go after signed ones
  make(dir, { id: 'open-now', age: 0, open: true }); // unsigned, written just now: being recorded
  make(dir, { id: 'signed-3', age: 3 });
  make(dir, { id: 'signed-2', age: 2 });
  make(dir, { id: 'signed-1', age: 1 });
  const each = (await listRecordings(dir)).find((r) => r.id === 'signed-1')!.bytes;
  // Room for about two and a half recordings: three of five must go.
  const { deleted } = await applyRetention(dir, rules(Math.floor(each * 2.5)));
  t.same(deleted.map((d) => [d.id, d.reason]), [['signed-3', 'size-cap'], ['signed-2', 'size-cap'], ['signed-1', 'size-cap']]);

  // Still over: the abandoned one goes, the one being written stays even though the cap is not met.
  const again = await applyRetention(dir, rules(1));
  t.same(again.deleted.map((d) => d.id), ['open-old']);
  t.same((await listRecordings(dir)).map((r) => r.id), ['open-now']);
});

t.test('nothing is deleted within limits', async (t) => {
  const dir = t.testdir();
  make(dir, { id: 'x-1', age: 29, policy: 'short' });
  make(dir, { id: 'x-2', age: 364 });
  const before = readdirSync(dir).sort();
  const { deleted } = await applyRetention(dir, rules(10 * 1024 * 1024));
  t.same(deleted, []);
  t.same(readdirSync(dir).sort(), before);
});

t.test('the size cap shrinks to three quarters of a file system too small for it', async (t) => {
  const gib = 2 ** 30;
  t.equal(effectiveSizeCap(10 * gib, 252 * gib), 10 * gib, 'a large disk: the configured cap');
  t.equal(effectiveSizeCap(10 * gib, 1.6 * gib), Math.floor(1.2 * gib), "an appliance's 1.6 GiB data partition: 1.2 GiB");
  t.equal(effectiveSizeCap(10 * gib, Infinity), 10 * gib, 'an unknown file system size changes nothing');
  const size = await fileSystemBytes(t.testdir());
  t.ok(size > 0 && Number.isFinite(size), 'the test directory has a file system of a known size');
  t.equal(await fileSystemBytes('/no/such/directory'), Infinity);
});
