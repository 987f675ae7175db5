// Hash-chained, signed recordings on a real filesystem: intact when untouched; one flipped byte, an edited
// chain entry or a foreign signature is `tampered` and names where; no .sig is `unfinished` with the chunks
// still checked; rotation spreads the cast over several files with one chain. Writes are batched: lines reach
// the cast by the end of the event-loop turn, chain lines only after a sync of the cast that covers them.
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CastWriter } from '../../../src/audit/recording/asciicast.js';
import { ChainedFile, type ChainOptions } from '../../../src/audit/recording/chain.js';
import type { ChainEntry } from '../../../src/audit/recording/format.js';
import { describeRecordingKey } from '../../../src/audit/recording/signing-key.js';
import { verifyRecording } from '../../../src/audit/recording/verify.js';

const newKey = () => describeRecordingKey(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const key = newKey();

/** A recording of `lines` lines of about 100 bytes, closed (signed) unless `open`. */
function record(t: Test, options: Partial<ChainOptions> & { lines?: number; open?: boolean } = {}) {
  const base = join(t.testdir(), 'rec');
  const file = new ChainedFile(base, { id: 'r-0001', chunkBytes: 1024, ...options });
  const cast = new CastWriter(file, { width: 80, height: 24, startedAt: new Date(), title: 't', recordInput: false });
  for (let i = 0; i < (options.lines ?? 100); i++) cast.output(Buffer.from(`line ${i} ${'x'.repeat(80)}\r\n`));
  cast.end();
  if (options.open) file.flushChunk();
  else file.close(key);
  return base;
}

/** The end of the current event-loop turn, when buffered lines have reached the cast. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const chainEntries = (base: string): ChainEntry[] => readFileSync(`${base}.chain`, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as ChainEntry);

function flipByte(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] ^= 0x01;
  writeFileSync(file, bytes);
}

t.test('an untouched recording is intact; every line is JSON', async (t) => {
  const base = record(t);
  const entries = chainEntries(base);
  t.ok(entries.length >= 8, `${entries.length} chunks`);
  t.same(entries.map((e) => e.chunk), entries.map((_, i) => i + 1));
  const cast = readFileSync(`${base}.cast`, 'utf8');
  for (const line of cast.trimEnd().split('\n')) JSON.parse(line);
  t.same(await verifyRecording(base, key.publicKey), { status: 'intact', chunks: entries.length, bytes: Buffer.byteLength(cast) });
  t.equal(statSync(`${base}.cast`).mode & 0o777, 0o600);
  t.throws(() => new ChainedFile(base, { id: 'r-0001' }), /EEXIST/, 'an id is never reused');
});

t.test('a flipped byte names its chunk', async (t) => {
  const base = record(t);
  const entries = chainEntries(base);
  for (const k of [1, 4, entries.length]) {
    const entry = entries[k - 1];
    flipByte(`${base}.cast`, entry.offset + 7);
    t.match(await verifyRecording(base, key.publicKey), { status: 'tampered', chunk: k, file: 'rec.cast', reason: /hash/ }, `chunk ${k}`);
    flipByte(`${base}.cast`, entry.offset + 7);
  }
  t.match(await verifyRecording(base, key.publicKey), { status: 'intact' }, 'flipped back');
});

t.test('bytes appended to a signed recording are tampering', async (t) => {
  const base = record(t);
  appendFileSync(`${base}.cast`, '[99,"o","injected"]\n');
  t.match(await verifyRecording(base, key.publicKey), { status: 'tampered', file: 'rec.cast', reason: /after the last chunk/ });
});

t.test('an edited chain entry is tampering', async (t) => {
  const base = record(t);
  const text = readFileSync(`${base}.chain`, 'utf8').split('\n');
  const third = JSON.parse(text[3]) as ChainEntry;
  text[3] = JSON.stringify({ ...third, hash: third.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) });
  writeFileSync(`${base}.chain`, text.join('\n'));
  t.match(await verifyRecording(base, key.publicKey), { status: 'tampered', chunk: 3 });
  text[3] = JSON.stringify({ ...third, length: third.length + 1 });
  writeFileSync(`${base}.chain`, text.join('\n'));
  t.match(await verifyRecording(base, key.publicKey), { status: 'tampered', chunk: 3 });
  text.splice(3, 1);
  writeFileSync(`${base}.chain`, text.join('\n'));
  t.match(await verifyRecording(base, key.publicKey), { status: 'tampered', chunk: 3 }, 'an entry removed');
});

t.test('without a .sig the recording is unfinished, its chunks still checked', async (t) => {
  const base = record(t);
  const chunks = chainEntries(base).length;
  writeFileSync(`${base}.sig`, readFileSync(`${base}.sig`).subarray(0, 40));
  t.match(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks, unverifiedTail: 0, signature: 'unreadable' });
  rmSync(`${base}.sig`);
  t.match(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks, unverifiedTail: 0, signature: 'missing' });
  flipByte(`${base}.cast`, chainEntries(base)[1].offset);
  t.match(await verifyRecording(base, key.publicKey), { status: 'tampered', chunk: 2 });
});

t.test('a killed gateway leaves an unfinished recording with an unverified tail', async (t) => {
  const base = join(t.testdir(), 'rec');
  const file = new ChainedFile(base, { id: 'r-0002', chunkBytes: 1000, syncIntervalMs: 0 });
  for (let i = 0; i < 25; i++) file.write('y'.repeat(99));
  await turn();
  // 2 chunks of 1000 bytes, synced at once, 500 pending; then a chain line torn by the crash.
  appendFileSync(`${base}.chain`, '{"chunk":3,"fi');
  t.same(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks: 2, file: 'rec.cast', lastGoodOffset: 2000, unverifiedTail: 500, signature: 'missing' });
  file.abandon();
});

t.test('a signature by another key, or over other values, is tampering', async (t) => {
  const base = record(t);
  const other = newKey();
  const result = await verifyRecording(base, other.publicKey);
  t.match(result, { status: 'tampered', file: 'rec.sig', reason: /signature.*another key/ });

  const sig = JSON.parse(readFileSync(`${base}.sig`, 'utf8')) as Record<string, unknown>;
  writeFileSync(`${base}.sig`, JSON.stringify({ ...sig, bytes: (sig.bytes as number) + 1 }));
  t.match(await verifyRecording(base, key.publicKey), { status: 'tampered', reason: /signature does not verify/ });

  // Signed with another key while claiming ours: the fingerprint matches, the signature does not.
  const dir = join(base, '..');
  const file = new ChainedFile(join(dir, 'forged'), { id: 'r-0009' });
  file.write('[0.1,"o","hi"]');
  file.close({ privateKey: other.privateKey, fingerprint: key.fingerprint });
  t.match(await verifyRecording(join(dir, 'forged'), key.publicKey), { status: 'tampered', file: 'forged.sig', reason: /signature does not verify/ });
});

t.test('rotation: several cast files, one chain; a flipped byte in part 2 names that file', async (t) => {
  const base = record(t, { lines: 300, rotateBytes: 8 * 1024, chunkBytes: 2048 });
  const files = [...new Set(chainEntries(base).map((e) => e.file))];
  t.ok(files.length >= 3, `${files.length} files`);
  t.same(files.slice(0, 3), ['rec.cast', 'rec.1.cast', 'rec.2.cast']);
  for (const f of files) t.ok(statSync(join(base, '..', f)).size <= 8 * 1024 + 2048);
  t.match(await verifyRecording(base, key.publicKey), { status: 'intact' });
  const second = chainEntries(base).filter((e) => e.file === 'rec.2.cast');
  flipByte(`${base}.2.cast`, second[1].offset + 3);
  t.match(await verifyRecording(base, key.publicKey), { status: 'tampered', chunk: second[1].chunk, file: 'rec.2.cast' });
});

t.test('rotation without a .sig: the tail counts the later parts', async (t) => {
  const base = join(t.testdir(), 'rec');
  const file = new ChainedFile(base, { id: 'r-0003', chunkBytes: 100_000, rotateBytes: 1000 });
  for (let i = 0; i < 10; i++) file.write('z'.repeat(99)); // 1000 bytes: a chunk closes, the next line starts part 1
  file.write('z'.repeat(49));
  await turn();
  t.same(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks: 1, file: 'rec.cast', lastGoodOffset: 1000, unverifiedTail: 50, signature: 'missing' });
  file.close(key);
  t.same(await verifyRecording(base, key.publicKey), { status: 'intact', chunks: 2, bytes: 1050 });
});

t.test('chain lines wait for the sync of the cast: a crash before it leaves an intact prefix', async (t) => {
  const base = join(t.testdir(), 'rec');
  const file = new ChainedFile(base, { id: 'r-0004', chunkBytes: 1000, syncIntervalMs: 60 });
  t.teardown(() => file.abandon());
  for (let i = 0; i < 25; i++) file.write('y'.repeat(99));
  t.equal(statSync(`${base}.cast`).size, 2000, 'closed chunks are written, the last 500 bytes still buffered');
  await turn();
  t.equal(statSync(`${base}.cast`).size, 2500, 'in the cast by the end of the turn');
  t.same(chainEntries(base), [], 'the first chunks wait for the sync');
  // What a gateway killed now leaves: every byte an unverified tail, nothing tampered.
  t.same(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks: 0, file: 'rec.cast', lastGoodOffset: 0, unverifiedTail: 2500, signature: 'missing' });
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.same(chainEntries(base).map((e) => [e.offset, e.length]), [[0, 1000], [1000, 1000]], 'the timer syncs a quiet recording');
  t.same(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks: 2, file: 'rec.cast', lastGoodOffset: 2000, unverifiedTail: 500, signature: 'missing' });
  file.flushChunk();
  t.same(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks: 3, file: 'rec.cast', lastGoodOffset: 2500, unverifiedTail: 0, signature: 'missing' });
});

t.test('syncBytes: a busy recording syncs without waiting for the interval', async (t) => {
  const base = join(t.testdir(), 'rec');
  const file = new ChainedFile(base, { id: 'r-0005', chunkBytes: 1000, syncIntervalMs: 60_000, syncBytes: 3000 });
  for (let i = 0; i < 35; i++) file.write('y'.repeat(99));
  t.same(chainEntries(base).map((e) => e.chunk), [1, 2, 3], 'synced once 3000 bytes of chunks waited');
  t.equal(statSync(`${base}.cast`).size, 3000, 'the chunks they vouch for are in the cast');
  file.close(key);
  t.same(await verifyRecording(base, key.publicKey), { status: 'intact', chunks: 4, bytes: 3500 });
});

t.test('abandon() writes what is buffered and the chain lines of closed chunks', async (t) => {
  const base = join(t.testdir(), 'rec');
  const file = new ChainedFile(base, { id: 'r-0006', chunkBytes: 1000 });
  for (let i = 0; i < 25; i++) file.write('y'.repeat(99));
  file.abandon();
  file.abandon();
  t.throws(() => file.write('late'), /closed/);
  t.same(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks: 2, file: 'rec.cast', lastGoodOffset: 2000, unverifiedTail: 500, signature: 'missing' });
});

t.test('a write that fails fails the recording: every later call throws, abandon() still closes', async (t) => {
  const base = join(t.testdir(), 'rec');
  const file = new ChainedFile(base, { id: 'r-0007', chunkBytes: 500, rotateBytes: 1000 });
  writeFileSync(`${base}.1.cast`, ''); // the next part cannot be created
  for (let i = 0; i < 10; i++) file.write('z'.repeat(99));
  t.throws(() => file.write('z'), /EEXIST/, 'the write that needs the next part');
  t.throws(() => file.write('z'), /EEXIST/, 'and every later one');
  t.throws(() => file.flushChunk(), /EEXIST/);
  t.throws(() => file.close(key), /EEXIST/);
  file.abandon();
  t.same(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks: 2, file: 'rec.cast', lastGoodOffset: 1000, unverifiedTail: 0, signature: 'missing' });
});

t.test('a disk full at the end of the turn or at the timer\'s sync is thrown by the next call, never by the timer', async (t) => {
  const real = await import('node:fs');
  let full = false;
  const enospc = (): never => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  const { ChainedFile: MockedFile } = await t.mockImport<typeof import('../../../src/audit/recording/chain.js')>('../../../src/audit/recording/chain.js', {
    'node:fs': { ...real, writeSync: (...args: Parameters<typeof real.writeSync>) => (full ? enospc() : real.writeSync(...args)) },
  });
  for (const when of ['turn', 'timer'] as const) {
    const base = join(t.testdir(), when);
    const file = new MockedFile(base, { id: 'r-0008', chunkBytes: 1000, syncIntervalMs: 30 });
    for (let i = 0; i < (when === 'turn' ? 5 : 10); i++) file.write('y'.repeat(99));
    full = true;
    await new Promise((resolve) => setTimeout(resolve, 80));
    full = false;
    t.throws(() => file.write('y'), /ENOSPC/, `${when}: the next write throws`);
    t.throws(() => file.close(key), /ENOSPC/, `${when}: and so does close`);
    file.abandon();
    t.match(await verifyRecording(base, key.publicKey), { status: 'unfinished', chunks: 0, signature: 'missing' }, `${when}: unfinished`);
  }
});
