// Tests of the A/B updater on plain files: an install writes only the other slot, its kernel and a
// one-try entry (exact text), removing the old entry first so a failure midway leaves only the booted
// slot bootable; status, blessing and rollback rename entries the way systemd-boot expects.
import { generateKeyPairSync } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { BundleError, openBundle, writeBundle, type VerifiedBundle } from '../../../src/system/firmware/bundle.js';
import {
  blessBootedSlot,
  firmwareStatus,
  installBundle,
  parseEntryName,
  renderBootEntry,
  rollback,
  type FirmwareLayout,
  type Slot,
} from '../../../src/system/firmware/updater.js';
import { errorOf } from '../../helpers/errors.js';
import { treeSnapshot } from '../../helpers/tree.js';

const keys = generateKeyPairSync('ed25519');
const NEW_ROOT = Buffer.from('EROFS-ROOT-v2 '.repeat(10000));
const OLD_A = Buffer.from('OLD-ROOT-A '.repeat(20000));
const OLD_B = Buffer.from('OLD-ROOT-B '.repeat(20000));

function entryText(slot: Slot, version: string): string {
  return `title Gatehouse ${version} (slot ${slot})\nsort-key appliance\nversion ${version}\nlinux /${slot}/vmlinuz\ninitrd /${slot}/initrd.img\noptions root=PARTLABEL=root-${slot} rootfstype=erofs ro console=ttyS0,115200 appliance.slot=${slot} panic=5\n`;
}

/** An appliance booted from `booted`, with the given entries; slot devices are files holding old data. */
function appliance(t: Test, booted: Slot, entries: Record<string, string>, extra: Record<string, unknown> = {}): { root: string; layout: FirmwareLayout } {
  const root = t.testdir({
    proc: { cmdline: `BOOT_IMAGE=/vmlinuz root=PARTLABEL=root-${booted} ro appliance.slot=${booted} panic=5\n` },
    efi: { loader: { 'loader.conf': 'timeout 0\n', entries }, a: { vmlinuz: 'OLD-KERNEL-A', 'initrd.img': 'OLD-INITRD-A' } },
    dev: { 'root-a': OLD_A, 'root-b': OLD_B },
    bundle: { 'root.erofs': NEW_ROOT, vmlinuz: 'NEW-KERNEL', 'initrd.img': 'NEW-INITRD' },
    ...extra,
  });
  const layout: FirmwareLayout = { cmdlineFile: join(root, 'proc', 'cmdline'), esp: join(root, 'efi'), slotDevice: (slot) => join(root, 'dev', `root-${slot}`) };
  return { root, layout };
}

async function bundleIn(t: Test, root: string, version = '2.0.0'): Promise<VerifiedBundle> {
  const dir = join(root, 'bundle');
  await writeBundle(join(dir, 'update.zip'), { version, arch: 'x86_64', files: { 'root.erofs': join(dir, 'root.erofs'), vmlinuz: join(dir, 'vmlinuz'), 'initrd.img': join(dir, 'initrd.img') } }, keys.privateKey);
  const bundle = await openBundle(join(dir, 'update.zip'), [keys.publicKey], { arch: 'x86_64', currentVersion: '1.0.0', allowOlder: true });
  t.teardown(() => bundle.close());
  return bundle;
}

async function entryNames(root: string): Promise<string[]> {
  return (await readdir(join(root, 'efi', 'loader', 'entries'))).sort();
}

t.test('parseEntryName', async (t) => {
  t.same(parseEntryName('a.conf'), { slot: 'a' });
  t.same(parseEntryName('b+1.conf'), { slot: 'b', triesLeft: 1 });
  t.same(parseEntryName('b+0-1.conf'), { slot: 'b', triesLeft: 0, triesDone: 1 });
  for (const junk of ['c.conf', 'a', 'a.conf.tmp', '.a+1.conf.1234.tmp', 'a+.conf', 'a+1-.conf', 'a-1.conf', 'loader.conf', 'A.conf']) t.equal(parseEntryName(junk), undefined, junk);
  fc.assert(
    fc.property(fc.constantFrom<Slot>('a', 'b'), fc.option(fc.nat(999)), fc.option(fc.nat(999)), (slot, left, done) => {
      const name = `${slot}${left === null ? '' : `+${left}${done === null ? '' : `-${done}`}`}.conf`;
      const expected: Record<string, unknown> = { slot };
      if (left !== null) expected.triesLeft = left;
      if (left !== null && done !== null) expected.triesDone = done;
      t.same(parseEntryName(name), expected);
    }),
  );
});

t.test('install from slot a writes slot b, its kernel and a one-try entry, and leaves a alone', async (t) => {
  const { root, layout } = appliance(t, 'a', { 'a.conf': entryText('a', '1.0.0'), 'b+0-1.conf': entryText('b', '0.9.0') });
  const bundle = await bundleIn(t, root);
  const beforeA = { device: await readFile(join(root, 'dev', 'root-a')), dir: await treeSnapshot(join(root, 'efi', 'a')) };
  const steps: string[] = [];
  const result = await installBundle(layout, bundle, (step) => steps.push(step));
  t.same(result, { slot: 'b', version: '2.0.0' });
  t.same(await readFile(join(root, 'dev', 'root-b')), NEW_ROOT, 'the regular file standing in for the device is cut to the image');
  t.equal(await readFile(join(root, 'efi', 'b', 'vmlinuz'), 'utf8'), 'NEW-KERNEL');
  t.equal(await readFile(join(root, 'efi', 'b', 'initrd.img'), 'utf8'), 'NEW-INITRD');
  t.same(await entryNames(root), ['a.conf', 'b+1.conf'], 'the old b entry is gone, no temporary file is left');
  t.equal(
    await readFile(join(root, 'efi', 'loader', 'entries', 'b+1.conf'), 'utf8'),
    'title Gatehouse 2.0.0 (slot b)\nsort-key appliance\nversion 2.0.0\nlinux /b/vmlinuz\ninitrd /b/initrd.img\n' +
      'options root=PARTLABEL=root-b rootfstype=erofs ro console=ttyS0,115200 appliance.slot=b panic=5\n',
  );
  t.equal(await readFile(join(root, 'efi', 'loader', 'entries', 'a.conf'), 'utf8'), entryText('a', '1.0.0'), "a's entry untouched");
  t.same(await readFile(join(root, 'dev', 'root-a')), beforeA.device, "a's root untouched");
  t.same(await treeSnapshot(join(root, 'efi', 'a')), beforeA.dir, "a's kernel untouched");
  t.equal(await readFile(join(root, 'efi', 'loader', 'loader.conf'), 'utf8'), 'timeout 0\n', 'loader.conf untouched (no default)');
  t.equal(steps[0], 'removing the boot entry of slot b', 'the entry is removed first');
  t.ok(steps.includes('verifying slot b'));
  t.equal(steps.at(-1), 'writing the boot entry of slot b', 'the entry is written last');

  const status = await firmwareStatus(layout);
  t.same(status, {
    booted: 'a',
    slots: [
      { slot: 'a', blessed: true, booted: true, entry: 'a.conf', version: '1.0.0' },
      { slot: 'b', blessed: false, booted: false, entry: 'b+1.conf', triesLeft: 1, version: '2.0.0' },
    ],
  });
});

t.test('kernel options are appended to the entry', async (t) => {
  t.equal(renderBootEntry('a', '1.2.3', ' systemd.show_status=error quiet '), entryText('a', '1.2.3').replace('panic=5\n', 'panic=5 systemd.show_status=error quiet\n'));
  t.throws(() => renderBootEntry('a', '1.2.3', 'x\ninitrd /evil'), /one line/);
});

t.test('a power cut while writing the root: the old b entry is already gone, only a can boot', async (t) => {
  const { root, layout } = appliance(t, 'a', { 'a.conf': entryText('a', '1.0.0'), 'b.conf': entryText('b', '1.1.0') });
  const real = await bundleIn(t, root);
  const failing: VerifiedBundle = {
    ...real,
    open: async (name) => {
      if (name !== 'root.erofs') return real.open(name);
      return Readable.from(
        (async function* () {
          yield NEW_ROOT.subarray(0, 50000);
          throw new Error('power cut');
        })(),
      );
    },
  };
  t.match((await errorOf(installBundle(layout, failing))).message, 'power cut');
  t.same(await entryNames(root), ['a.conf'], 'no entry for b');
  t.equal((await readFile(join(root, 'dev', 'root-b'))).subarray(0, 50000).toString(), NEW_ROOT.subarray(0, 50000).toString(), 'b is half written');
  t.same(await readFile(join(root, 'dev', 'root-a')), OLD_A);
  t.same((await firmwareStatus(layout)).slots[1], { slot: 'b', blessed: false, booted: false });
});

t.test('an unusable target device: nothing bootable is left in b', async (t) => {
  for (const [what, extra] of [
    ['a directory', { dev: { 'root-a': OLD_A, 'root-b': {} } }],
    ['missing', { dev: { 'root-a': OLD_A } }],
  ] as const) {
    const { root, layout } = appliance(t, 'a', { 'a.conf': entryText('a', '1.0.0'), 'b+1.conf': entryText('b', '1.1.0') }, extra);
    const bundle = await bundleIn(t, root);
    const err = await errorOf(installBundle(layout, bundle));
    t.match(err.message, what === 'missing' ? /ENOENT/ : /neither a block device nor a file/, what);
    t.same(await entryNames(root), ['a.conf'], `${what}: no entry for b`);
  }
});

t.test('a kernel that fails its hash on the way to the ESP: no entry for b', async (t) => {
  const { root, layout } = appliance(t, 'a', { 'a.conf': entryText('a', '1.0.0') });
  const real = await bundleIn(t, root);
  // What a bundle file changed after openBundle verified it gives: the entry stream fails at its end.
  const altered: VerifiedBundle = {
    ...real,
    open: async (name) => {
      if (name !== 'vmlinuz') return real.open(name);
      return Readable.from(
        (async function* () {
          yield Buffer.from('NEW-KER');
          throw new BundleError('hash mismatch: vmlinuz does not match its SHA-256 in the signed manifest');
        })(),
      );
    },
  };
  t.match((await errorOf(installBundle(layout, altered))).message, /^hash mismatch: vmlinuz/);
  t.same(await entryNames(root), ['a.conf']);
  t.same(await readdir(join(root, 'efi', 'b')), [], 'no kernel and no temporary file left');
});

t.test('a forced downgrade marks the booted entry bad so that the new slot is tried', async (t) => {
  const { root, layout } = appliance(t, 'a', { 'a.conf': entryText('a', '3.0.0') });
  await installBundle(layout, await bundleIn(t, root, '2.0.0'));
  t.same(await entryNames(root), ['a+0-1.conf', 'b+1.conf']);
});

t.test('install is refused, writing nothing, unless the booted slot has a blessed entry to fall back to', async (t) => {
  for (const [entries, why] of [
    [{ 'a+0-1.conf': entryText('a', '1.0.0'), 'b.conf': entryText('b', '0.9.0') }, /^slot a is still on trial \(a\+0-1\.conf\)/],
    [{ 'b.conf': entryText('b', '0.9.0') }, /^slot a is booted but has no boot entry/],
  ] as const) {
    const { root, layout } = appliance(t, 'a', entries);
    const bundle = await bundleIn(t, root);
    const before = await treeSnapshot(root);
    t.match((await errorOf(installBundle(layout, bundle))).message, why);
    t.same(await treeSnapshot(root), before, 'nothing changed');
  }
});

t.test('status needs appliance.slot= on the kernel command line', async (t) => {
  const { root, layout } = appliance(t, 'a', {}, { proc: { cmdline: 'root=/dev/sda1 ro\n' } });
  t.match((await errorOf(firmwareStatus(layout))).message, /has no appliance\.slot=/);
  t.ok(root);
});

t.test('bless renames the booted slot entry to <slot>.conf, and is idempotent', async (t) => {
  for (const counted of ['b+1.conf', 'b+0-1.conf', 'b+2-1.conf']) {
    const { root, layout } = appliance(t, 'b', { 'a.conf': entryText('a', '1.0.0'), [counted]: entryText('b', '2.0.0') });
    await blessBootedSlot(layout);
    t.same(await entryNames(root), ['a.conf', 'b.conf'], counted);
    t.equal(await readFile(join(root, 'efi', 'loader', 'entries', 'b.conf'), 'utf8'), entryText('b', '2.0.0'));
    await blessBootedSlot(layout);
    t.same(await entryNames(root), ['a.conf', 'b.conf'], 'again: unchanged');
  }
  const { layout } = appliance(t, 'b', { 'a.conf': entryText('a', '1.0.0') });
  t.match((await errorOf(blessBootedSlot(layout))).message, /no boot entry to bless/);
});

t.test('rollback from b marks b bad so a boots next', async (t) => {
  const { root, layout } = appliance(t, 'b', { 'a.conf': entryText('a', '1.0.0'), 'b.conf': entryText('b', '2.0.0') });
  t.same(await rollback(layout), { slot: 'a' });
  t.same(await entryNames(root), ['a.conf', 'b+0-1.conf']);
  const status = await firmwareStatus(layout);
  t.match(status.slots, [
    { slot: 'a', blessed: true, booted: false },
    { slot: 'b', blessed: false, booted: true, triesLeft: 0, triesDone: 1 },
  ]);
});

t.test('rollback is refused, changing nothing, when the other slot has no good entry', async (t) => {
  const cases: Record<string, string>[] = [{ 'b.conf': entryText('b', '2.0.0') }, { 'a+0-2.conf': entryText('a', '1.0.0'), 'b.conf': entryText('b', '2.0.0') }];
  for (const entries of cases) {
    const { root, layout } = appliance(t, 'b', entries);
    const before = await treeSnapshot(root);
    t.match((await errorOf(rollback(layout))).message, /^slot a('s boot entry is marked bad| has no boot entry)/);
    t.same(await treeSnapshot(root), before);
  }
});
