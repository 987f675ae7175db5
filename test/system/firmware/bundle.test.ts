// Tests of upgrade bundles: a written bundle opens; a bad signature, an unknown key, an altered or
// truncated file, another architecture and an older or equal version are refused before anything is
// written, each with a message saying what is wrong; the entry streams re-check what they deliver.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import yauzl from 'yauzl';
import { BundleError, keyFingerprint, openBundle, writeBundle, type BundleManifest } from '../../../src/system/firmware/bundle.js';
import { errorOf } from '../../helpers/errors.js';
import { treeSnapshot } from '../../helpers/tree.js';

const trusted = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const expectX86 = { arch: 'x86_64' as const, currentVersion: '1.0.0', allowOlder: false };

const ROOT = Buffer.from('EROFS-ROOT-v2 '.repeat(20000));
const KERNEL = Buffer.from('KERNEL-v2 '.repeat(300));
const INITRD = Buffer.from('INITRD-v2 '.repeat(500));

/** A bundle at <dir>/update.zip with the files above. */
async function makeBundle(
  t: Test,
  opts: { version?: string; arch?: BundleManifest['arch']; key?: KeyObject } = {},
): Promise<{ dir: string; path: string; manifest: BundleManifest }> {
  const dir = t.testdir({ 'root.erofs': ROOT, vmlinuz: KERNEL, 'initrd.img': INITRD });
  const path = join(dir, 'update.zip');
  const manifest = await writeBundle(
    path,
    { version: opts.version ?? '2.0.0', arch: opts.arch ?? 'x86_64', files: { 'root.erofs': join(dir, 'root.erofs'), vmlinuz: join(dir, 'vmlinuz'), 'initrd.img': join(dir, 'initrd.img') } },
    opts.key ?? trusted.privateKey,
  );
  return { dir, path, manifest };
}

/** Replaces the first occurrence of `from` in the file by `to` (same length). */
async function patch(path: string, from: string, to: string): Promise<void> {
  const bytes = await readFile(path);
  const at = bytes.indexOf(from);
  if (at < 0 || from.length !== to.length) throw new Error(`cannot patch ${from}`);
  bytes.write(to, at);
  await writeFile(path, bytes);
}

/** The refusal openBundle gives, checking that the directory holding the bundle is unchanged. */
async function refusal(t: Test, dir: string, path: string, keys: KeyObject[], expect = expectX86): Promise<Error> {
  const before = await treeSnapshot(dir);
  const err = await errorOf(openBundle(path, keys, expect));
  t.same(await treeSnapshot(dir), before, 'nothing written');
  t.type(err, BundleError);
  return err;
}

t.test('a written bundle opens, with its manifest and signer', async (t) => {
  const { path, manifest } = await makeBundle(t);
  t.match(manifest, { format: 'gatehouse-bundle-v1', version: '2.0.0', arch: 'x86_64', files: { 'root.erofs': { size: ROOT.length }, vmlinuz: { size: KERNEL.length } } });
  const bundle = await openBundle(path, [stranger.publicKey, trusted.publicKey], expectX86);
  t.same(bundle.manifest, manifest);
  t.equal(bundle.keyFingerprint, keyFingerprint(trusted.publicKey));
  t.equal(keyFingerprint(trusted.privateKey), keyFingerprint(trusted.publicKey), 'the fingerprint of either half of a key is the same');
  const chunks: Buffer[] = [];
  for await (const chunk of await bundle.open('vmlinuz')) chunks.push(chunk as Buffer);
  t.same(Buffer.concat(chunks), KERNEL);
  await bundle.close();
});

t.test('the bundle is a zip of stored entries: the manifest, its signature and signer, then the files', async (t) => {
  const { path } = await makeBundle(t);
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false });
  const entries: string[] = [];
  for await (const entry of zip.eachEntry()) entries.push(`${entry.fileName} ${entry.compressionMethod}`);
  zip.close();
  t.same(entries, ['manifest.json 0', 'manifest.sig 0', 'manifest.key 0', 'root.erofs 0', 'vmlinuz 0', 'initrd.img 0']);
});

t.test('refused: signed by a key the appliance does not trust', async (t) => {
  const { dir, path } = await makeBundle(t, { key: stranger.privateKey });
  const err = await refusal(t, dir, path, [trusted.publicKey]);
  t.match(err.message, /^unknown key: the bundle is signed by SHA256:/);
  t.match(err.message, keyFingerprint(stranger.publicKey));
});

t.test('refused: no trusted key at all', async (t) => {
  const { dir, path } = await makeBundle(t);
  t.match((await refusal(t, dir, path, [])).message, /^unknown key/);
});

t.test('refused: a byte of manifest.json changed (bad signature)', async (t) => {
  const { dir, path } = await makeBundle(t);
  await patch(path, '"version": "2.0.0"', '"version": "9.0.0"');
  t.match((await refusal(t, dir, path, [trusted.publicKey])).message, /^bad signature: manifest\.json does not match/);
});

t.test('refused: the signature itself damaged', async (t) => {
  const { dir, path } = await makeBundle(t);
  const sig = (await readFile(path)).toString('latin1').match(/manifest\.sig([A-Za-z0-9+/]{10})/);
  t.ok(sig);
  const original = sig![1];
  const flipped = (original[0] === 'A' ? 'B' : 'A') + original.slice(1);
  await patch(path, `manifest.sig${original}`, `manifest.sig${flipped}`);
  t.match((await refusal(t, dir, path, [trusted.publicKey])).message, /^bad signature/);
});

t.test('refused: a byte of root.erofs changed (hash mismatch)', async (t) => {
  const { dir, path } = await makeBundle(t);
  const bytes = await readFile(path);
  const at = bytes.indexOf('EROFS-ROOT-v2') + 7 * 14 * 1000;
  bytes[at] ^= 0x01;
  await writeFile(path, bytes);
  t.equal((await refusal(t, dir, path, [trusted.publicKey])).message, 'hash mismatch: root.erofs does not match its SHA-256 in the signed manifest');
});

t.test('refused: the bundle file truncated', async (t) => {
  const size = (await readFile((await makeBundle(t)).path)).length;
  for (const keep of [0, 100, Math.floor(size / 2), size - 30]) {
    const { dir, path } = await makeBundle(t);
    await truncate(path, keep);
    t.match((await refusal(t, dir, path, [trusted.publicKey])).message, /^truncated or damaged: the bundle is not a complete zip/, `cut to ${keep} bytes`);
  }
});

t.test('refused: another architecture', async (t) => {
  const { dir, path } = await makeBundle(t, { arch: 'aarch64' });
  t.equal((await refusal(t, dir, path, [trusted.publicKey])).message, 'wrong architecture: the bundle is for aarch64, this appliance is x86_64');
});

t.test('refused: an older or equal version, unless allowed', async (t) => {
  const { dir, path } = await makeBundle(t, { version: '1.9.10' });
  const running = { ...expectX86, currentVersion: '1.10.0' };
  t.match((await refusal(t, dir, path, [trusted.publicKey], running)).message, /^older version: the bundle has 1\.9\.10, the appliance runs 1\.10\.0/);
  t.match((await refusal(t, dir, path, [trusted.publicKey], { ...running, currentVersion: '1.9.10' })).message, /^version 1\.9\.10 is already running/);
  const forced = await openBundle(path, [trusted.publicKey], { ...running, allowOlder: true });
  t.equal(forced.manifest.version, '1.9.10');
  await forced.close();
  const same = await openBundle(path, [trusted.publicKey], { ...running, currentVersion: '1.9.10', allowOlder: true });
  await same.close();
  const newer = await openBundle(path, [trusted.publicKey], { ...running, currentVersion: '1.9.9' });
  await newer.close();
});

t.test('refused: not a zip at all', async (t) => {
  const dir = t.testdir({ 'update.zip': 'this is not a zip' });
  t.match((await refusal(t, dir, join(dir, 'update.zip'), [trusted.publicKey])).message, /^truncated or damaged/);
});

t.test('an entry stream re-checks its hash: a bundle changed after it was verified fails', async (t) => {
  const { path } = await makeBundle(t);
  const bundle = await openBundle(path, [trusted.publicKey], expectX86);
  const bytes = await readFile(path);
  bytes[bytes.indexOf('EROFS-ROOT-v2') + 5000] ^= 0x01;
  await writeFile(path, bytes);
  const err = await errorOf(
    (async () => {
      for await (const chunk of await bundle.open('root.erofs')) void chunk;
    })(),
  );
  t.type(err, BundleError);
  t.match(err.message, /^hash mismatch: root\.erofs/);
  await bundle.close();
});

t.test('writeBundle refuses a version that is not x.y.z and a key that is not an Ed25519 private key', async (t) => {
  const dir = t.testdir({ f: 'x' });
  const files = { 'root.erofs': join(dir, 'f'), vmlinuz: join(dir, 'f'), 'initrd.img': join(dir, 'f') };
  t.match((await errorOf(writeBundle(join(dir, 'o.zip'), { version: '2.0', arch: 'x86_64', files }, trusted.privateKey))).message, /not a version of the form x\.y\.z/);
  t.match((await errorOf(writeBundle(join(dir, 'o.zip'), { version: '2.0.0', arch: 'x86_64', files }, trusted.publicKey))).message, /Ed25519 private key/);
});
